// The gate's control plane: everything beside the job path that a running gate needs
// once NATS is up. It owns the snapshot store and the policy lifecycle (publish,
// rollback, shadow, hot reload), the approval store and service, the session store and
// service, the API router with
// the policy and approval routes, and the request-reply responder; it connects their
// events to the metrics.
//
// Ownership: borrows the connection, config, policy holders, clock and metrics (all
// must outlive it). Thread-safety: StartPolicy is called once; Recheck and Sweep from
// one maintenance thread; router() is thread-safe once returned.
#pragma once

#include <memory>
#include <string>

#include "gate/api/api.h"
#include "gate/api/session_service.h"
#include "gate/approvals/approvals.h"
#include "gate/core/auth.h"
#include "gate/core/decision_stats.h"
#include "gate/core/recent_denials.h"
#include "gate/core/sessions.h"
#include "gate/daemon/config.h"
#include "gate/lifecycle/policy_lifecycle.h"
#include "gate/lifecycle/snapshot_store.h"
#include "gate/nats/nats_api.h"
#include "gate/nats/nats_approval_store.h"
#include "gate/nats/nats_lifecycle.h"
#include "gate/nats/nats_sessions.h"
#include "gate/nats/nats_snapshot_store.h"
#include "metrics/metrics.h"

namespace jobgate::gate {

class ControlPlane {
 public:
  struct Deps {
    NatsConnection* connection = nullptr;
    const GateConfig* config = nullptr;
    ActivePolicy* active = nullptr;
    ActivePolicy* shadow = nullptr;
    const Clock* clock = nullptr;
    metrics::PolicyMetrics* policy_metrics = nullptr;
    metrics::ApprovalMetrics* approval_metrics = nullptr;
    metrics::SessionMetrics* session_metrics = nullptr;
  };

  // Opens the KV stores (creating buckets when missing) and builds the services and the
  // router. Nothing is enforced yet: see StartPolicy.
  static Result<std::unique_ptr<ControlPlane>> Open(const Deps& deps);
  ~ControlPlane();

  // Brings this replica onto the store's active snapshot (bootstrapping `bootstrap_yaml`
  // when the store has none), starts watching the pointer and serving request-reply,
  // and releases approvals a crash left unreleased. kFailedPrecondition: no policy.
  Status StartPolicy(const std::string& bootstrap_yaml);
  // The periodic re-check of the active pointer (catches a missed watch update).
  void Recheck();
  // Expires due approvals and retries unpublished resolutions.
  void Sweep();

  const ApiRouter* router() const { return router_.get(); }
  ApprovalService* approvals() { return approvals_.get(); }
  PolicyLifecycle* lifecycle() { return lifecycle_.get(); }
  // Null when sessions are off (GateConfig::sessions_enabled).
  SessionStore* sessions() { return session_store_.get(); }
  SessionService* session_service() { return session_service_.get(); }
  // What the dispatchers tell of their decisions, for GET /api/v1/stats and /denials.
  DecisionStats* decision_stats() { return decision_stats_.get(); }
  RecentDenials* recent_denials() { return recent_denials_.get(); }
  // Seals held jobs and parked over-rate jobs at rest; null when no key is configured.
  const JobSealer* sealer() const { return sealer_.get(); }

 private:
  class ApprovalMetricsObserver;
  class LifecycleMetricsObserver;
  explicit ControlPlane(const Deps& deps);
  // The steps of Open, in order.
  Status OpenLifecycle();  // the snapshot store, recent jobs, policy events, lifecycle
  Status OpenApprovals();  // the approval store and publisher, the sealer, the service
  Status OpenSessions();   // the session log and its service, when sessions are on
  void BuildRouter();      // the authenticator and every route

  Deps deps_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<NatsKvSnapshotStore> snapshot_store_;
  std::unique_ptr<NatsRecentJobs> recent_jobs_;
  std::unique_ptr<NatsPolicyEventSink> events_;
  std::unique_ptr<LifecycleMetricsObserver> lifecycle_observer_;  // outlives lifecycle_
  std::unique_ptr<PolicyLifecycle> lifecycle_;
  std::unique_ptr<JobSealer> sealer_;  // null: no approval key; outlives approvals_
  std::unique_ptr<NatsKvApprovalStore> approval_store_;
  std::unique_ptr<NatsApprovalPublisher> approval_publisher_;
  std::unique_ptr<ApprovalMetricsObserver> approval_observer_;  // outlives approvals_
  std::unique_ptr<ApprovalService> approvals_;
  std::unique_ptr<NatsSessionLog> session_store_;
  std::unique_ptr<SessionService> session_service_;
  std::unique_ptr<DecisionStats> decision_stats_;
  std::unique_ptr<RecentDenials> recent_denials_;
  std::unique_ptr<ApiRouter> router_;
  std::unique_ptr<SnapshotStore::Watch> watch_;
  std::unique_ptr<NatsApiResponder> responder_;
};

}  // namespace jobgate::gate
