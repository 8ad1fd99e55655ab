#include "gate/daemon/control_plane.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <utility>

#include "base/mutex.h"
#include "gate/api/activity_api.h"
#include "gate/nats/nats_approval_store.h"
#include "gate/nats/nats_sessions.h"
#include "gate/nats/nats_snapshot_store.h"

namespace jobgate::gate {

// Approval events -> jobgate_approvals_* metrics.
class ControlPlane::ApprovalMetricsObserver final : public ApprovalObserver {
 public:
  explicit ApprovalMetricsObserver(metrics::ApprovalMetrics* m) : m_(m) {}
  // Between sweeps the gauge follows this replica's holds; each sweep and resolution
  // sets it from the shared store, so it is exact across replicas and restarts.
  void OnHeld() override {
    if (m_ != nullptr) m_->approvals_pending.Increment();
  }
  void OnResolved(std::string_view outcome, double wait_seconds) override {
    if (m_ == nullptr) return;
    m_->approval_wait_seconds.Observe(wait_seconds);
    m_->approvals_resolved.Add({{"outcome", std::string(outcome)}}).Increment();
  }
  void OnRefused(std::string_view code) override {
    if (m_ == nullptr) return;
    m_->approvals_resolved.Add({{"outcome", "refused"}}).Increment();
  }
  void OnPendingCount(int64_t pending) override {
    if (m_ != nullptr) m_->approvals_pending.Set(static_cast<double>(pending));
  }

 private:
  metrics::ApprovalMetrics* m_;
};

ControlPlane::ControlPlane(const Deps& deps) : deps_(deps) {}

ControlPlane::~ControlPlane() {
  // Stop inbound work first: request-reply, then the watch thread.
  responder_.reset();
  watch_.reset();
}

namespace {

// Keeps `family` at one series, {snapshot, hash} = 1, for the policy it was last set to,
// and none after it is set to null.
class OneSeriesPerPolicy {
 public:
  explicit OneSeriesPerPolicy(prometheus::Family<prometheus::Gauge>* family) : family_(family) {}
  void Set(const policy::Policy* p) {
    MutexLock lock(&mu_);
    if (gauge_ != nullptr) family_->Remove(gauge_);
    gauge_ = nullptr;
    if (p == nullptr) return;
    gauge_ = &family_->Add({{"snapshot", p->snapshot_name()}, {"hash", p->hash()}});
    gauge_->Set(1);
  }

 private:
  prometheus::Family<prometheus::Gauge>* const family_;
  Mutex mu_;
  prometheus::Gauge* gauge_ GUARDED_BY(mu_) = nullptr;
};

}  // namespace

// Lifecycle events -> jobgate_policy_info, jobgate_shadow_policy_info and
// jobgate_policy_reloads_total. One policy_info series at a time: the enforced snapshot's;
// none while the gate enforces nothing (fail closed). Likewise the shadow's.
class ControlPlane::LifecycleMetricsObserver final : public LifecycleObserver {
 public:
  explicit LifecycleMetricsObserver(metrics::PolicyMetrics* m)
      : m_(m), enforced_(&m->policy_info), shadow_(&m->shadow_policy_info) {}
  void OnActivated(const policy::Policy* policy) override { enforced_.Set(policy); }
  void OnShadow(const policy::Policy* policy) override { shadow_.Set(policy); }
  void OnReload(std::string_view result) override {
    m_->policy_reloads.Add({{"result", std::string(result)}}).Increment();
  }

 private:
  metrics::PolicyMetrics* m_;
  OneSeriesPerPolicy enforced_;
  OneSeriesPerPolicy shadow_;
};

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(const Deps& deps) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane(deps));
  JOBGATE_RETURN_IF_ERROR(cp->OpenLifecycle());
  JOBGATE_RETURN_IF_ERROR(cp->OpenApprovals());
  JOBGATE_RETURN_IF_ERROR(cp->OpenSessions());
  cp->BuildRouter();
  return cp;
}

Status ControlPlane::OpenLifecycle() {
  const GateConfig& config = *deps_.config;
  KvStoreOptions kv;
  kv.replicas = config.jobs_stream.replicas;
  kv.memory_storage = config.jobs_stream.memory_storage;
  auto snapshots = NatsKvSnapshotStore::Open(deps_.connection, kv);
  if (!snapshots.ok()) return snapshots.status();
  snapshot_store_ = std::move(*snapshots);
  // Publish simulates on the judged jobs' scrubbed copies in the decision records: JOBS
  // keeps no job once it is acked.
  RecentJobsOptions recent;
  recent.stream = config.audit_stream.name;
  recent.decisions = config.prefixes.decisions;
  recent.window = config.lifecycle.simulation_window;
  recent.max_bytes = config.lifecycle.simulation_bytes;
  recent_jobs_ = std::make_unique<NatsRecentJobs>(deps_.connection, std::move(recent));
  events_ = std::make_unique<NatsPolicyEventSink>(deps_.connection, config.prefixes.policy_events);

  LifecycleOptions lifecycle_options = config.lifecycle;
  lifecycle_ =
      std::make_unique<PolicyLifecycle>(snapshot_store_.get(), deps_.active, recent_jobs_.get(),
                                        events_.get(), deps_.clock, lifecycle_options);
  lifecycle_->set_shadow_holder(deps_.shadow);
  if (deps_.policy_metrics != nullptr) {
    lifecycle_observer_ = std::make_unique<LifecycleMetricsObserver>(deps_.policy_metrics);
    lifecycle_->set_observer(lifecycle_observer_.get());
  }

  return Status::Ok();
}

Status ControlPlane::OpenApprovals() {
  const GateConfig& config = *deps_.config;
  ApprovalStoreOptions approval_store_options;
  auto approval_store = NatsKvApprovalStore::Open(deps_.connection, approval_store_options);
  if (!approval_store.ok()) return approval_store.status();
  approval_store_ = std::move(*approval_store);
  approval_publisher_ = std::make_unique<NatsApprovalPublisher>(deps_.connection);
  approval_observer_ = std::make_unique<ApprovalMetricsObserver>(deps_.approval_metrics);
  auto sealer = LoadJobSealer(config.approval_seal_keys);
  if (!sealer.ok()) return sealer.status();
  sealer_ = std::move(*sealer);
  if (sealer_ != nullptr) {
    spdlog::info(
        "held jobs that carry secrets are kept scrubbed, their originals sealed, "
        "and parked over-rate jobs sealed, with approval key {}",
        sealer_->sealing_key_id());
  } else {
    spdlog::warn(
        "no approval key (approvals.seal_keys, {} or {}): a held job that carries a "
        "secret is kept scrubbed only, and reaches its worker scrubbed once approved; "
        "parked over-rate jobs wait in the deferred stream as they came",
        kApprovalKeyEnv, kApprovalKeyFileEnv);
  }
  ApprovalOptions approval_options;
  approval_options.prefixes = config.prefixes;
  approval_options.sealer = sealer_.get();
  approval_options.default_ttl =
      std::chrono::duration_cast<std::chrono::seconds>(config.approval_ttl);
  ActivePolicy* active = deps_.active;
  approvals_ = std::make_unique<ApprovalService>(
      approval_store_.get(), approval_publisher_.get(), [active] { return active->Get(); },
      deps_.clock, approval_options, approval_observer_.get());

  return Status::Ok();
}

Status ControlPlane::OpenSessions() {
  const GateConfig& config = *deps_.config;
  if (config.sessions_enabled) {
    auto sessions = NatsSessionLog::Open(deps_.connection, deps_.clock, config.sessions);
    if (!sessions.ok()) return sessions.status();
    session_store_ = std::move(*sessions);
    session_service_ = std::make_unique<SessionService>(session_store_.get(), events_.get(),
                                                        deps_.clock, deps_.session_metrics);
  } else {
    spdlog::warn(
        "sessions are off (sessions.enabled: false): TERMINATE ends no session and "
        "session conditions see no history");
  }

  return Status::Ok();
}

void ControlPlane::BuildRouter() {
  const GateConfig& config = *deps_.config;
  authenticator_ = std::make_unique<Authenticator>(config.api_tokens);
  if (authenticator_->empty()) {
    spdlog::warn("no API tokens configured (api.tokens): the control API refuses every call");
  }
  router_ = std::make_unique<ApiRouter>(authenticator_.get(), config.api_limits, deps_.clock);
  AddPolicyRoutes(router_.get(), lifecycle_.get());
  AddApprovalRoutes(router_.get(), approvals_.get());
  AddIdentityRoutes(router_.get());
  decision_stats_ = std::make_unique<DecisionStats>(deps_.clock);
  recent_denials_ = std::make_unique<RecentDenials>();
  AddActivityRoutes(router_.get(), decision_stats_.get(), recent_denials_.get());
  if (session_service_ != nullptr) {
    AddSessionRoutes(router_.get(), session_service_.get());
  }
}

Status ControlPlane::StartPolicy(const std::string& bootstrap_yaml) {
  JOBGATE_RETURN_IF_ERROR(lifecycle_->Start(bootstrap_yaml, ""));
  PolicyLifecycle* lifecycle = lifecycle_.get();
  auto watch = snapshot_store_->WatchActive([lifecycle](const v1::ActiveSnapshot& pointer) {
    (void)lifecycle->Reconcile(pointer);  // failures are logged, evented and counted
  });
  if (!watch.ok()) {
    // The periodic re-check still converges, only slower.
    spdlog::warn("cannot watch the active snapshot: {}", watch.status().ToString());
  } else {
    watch_ = std::move(*watch);
  }
  auto responder =
      NatsApiResponder::Start(deps_.connection, router_.get(), deps_.config->prefixes.api);
  if (!responder.ok()) {
    spdlog::warn("request-reply API not served: {}", responder.status().ToString());
  } else {
    responder_ = std::move(*responder);
    spdlog::info("control API on NATS {}.>", deps_.config->prefixes.api);
  }
  // One sweep before dispatch starts: it finishes resolutions a crash left unpublished,
  // expires what fell due while no gate ran, and counts what is pending. It reads each
  // approval's latest value once, into the store's sweep index; the daemon's periodic
  // sweeps follow an interval later and read only what changed since.
  Sweep();
  return Status::Ok();
}

void ControlPlane::Recheck() {
  if (Status s = lifecycle_->Recheck(); !s.ok() && s.code() != StatusCode::kNotFound) {
    spdlog::debug("policy re-check: {}", s.ToString());
  }
}

void ControlPlane::Sweep() {
  if (session_service_ != nullptr) session_service_->UpdateGauges();
  if (auto expired = approvals_->ExpireDue(); !expired.ok()) {
    spdlog::warn("approval sweep: {}", expired.status().ToString());
  } else if (*expired > 0) {
    spdlog::info("{} approval(s) expired", *expired);
  }
}

}  // namespace jobgate::gate
