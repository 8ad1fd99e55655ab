#include "gate/lifecycle/policy_lifecycle.h"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "gate/core/decisions.h"
#include "gate/lifecycle/snapshot_signing.h"
#include "policy/tooling/simulate.h"
#include "policy/tooling/suite.h"
#include "subjects/api_errors.h"

namespace jobgate::gate {

namespace api_error = subjects::api_error;

namespace {

// How a candidate policy (simulated, not published) is named in its diagnostics.
policy::CompileOptions CandidateOptions() {
  policy::CompileOptions options;
  options.file_name = "candidate";
  return options;
}

using policy::CompileResult;

void FillSummary(const policy::SimulationReport& report, const std::string& baseline,
                 v1::SimulationSummary* out) {
  out->set_jobs(report.jobs);
  out->set_flipped(report.flipped());
  out->set_loosened(report.loosened());
  out->set_flip_share(report.flip_share());
  out->set_baseline(baseline);
  for (const auto& [verdict, n] : report.mix) {
    (*out->mutable_mix())[std::string(policy::VerdictName(verdict))] = n;
  }
  for (const auto& [verdict, n] : report.baseline_mix) {
    (*out->mutable_baseline_mix())[std::string(policy::VerdictName(verdict))] = n;
  }
  for (const auto& [key, cell] : report.flips) {
    v1::FlipCell* c = out->add_flips();
    c->set_from(key.first);
    c->set_to(key.second);
    c->set_count(cell.count);
    c->set_loosening(policy::IsLoosening(key.first, key.second));
    for (const auto& id : cell.example_job_ids) c->add_example_job_ids(id);
  }
}

}  // namespace

PolicyLifecycle::PolicyLifecycle(SnapshotStore* store, ActivePolicy* active,
                                 RecentJobs* recent_jobs, PolicyEventSink* events,
                                 const Clock* clock, LifecycleOptions options)
    : store_(store),
      active_(active),
      recent_jobs_(recent_jobs),
      events_(events),
      clock_(clock),
      options_(std::move(options)) {}

google::protobuf::Timestamp PolicyLifecycle::Now() const {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(clock_->UnixMillis());
}

void PolicyLifecycle::Emit(v1::PolicyEvent event) {
  *event.mutable_at() = Now();
  event.set_replica(options_.replica);
  if (events_ != nullptr) events_->Emit(event);
}

void PolicyLifecycle::set_observer(LifecycleObserver* observer) {
  MutexLock lock(&mu_);
  observer_ = observer;
}

void PolicyLifecycle::set_shadow_holder(ActivePolicy* holder) {
  MutexLock lock(&mu_);
  shadow_holder_ = holder;
}

std::shared_ptr<const policy::Policy> PolicyLifecycle::shadow() const {
  MutexLock lock(&mu_);
  return shadow_;
}

v1::ActiveSnapshot PolicyLifecycle::enforced() const {
  MutexLock lock(&mu_);
  return enforced_;
}

Status PolicyLifecycle::CheckSignature(const v1::PolicySnapshot& snapshot) const {
  if (options_.verify_keys.empty()) return Status::Ok();
  Status verified =
      policy::VerifySnapshotSignature(options_.verify_keys, snapshot.name(), snapshot.hash(),
                                      snapshot.policy(), snapshot.signature());
  if (verified.ok()) return verified;
  return Status(StatusCode::kPermissionDenied,
                "snapshot '" + snapshot.name() + "' refused: " + verified.message());
}

Result<std::shared_ptr<const policy::Policy>> PolicyLifecycle::Load(const std::string& name) {
  {
    MutexLock lock(&mu_);
    auto it = compiled_.find(name);
    if (it != compiled_.end()) return it->second;
  }
  auto snapshot = store_->GetSnapshot(name);
  if (!snapshot.ok()) return snapshot.status();
  if (snapshot->name() != name) {
    return Internal("the record stored as snapshot '" + name + "' names '" + snapshot->name() +
                    "'");
  }
  JOBGATE_RETURN_IF_ERROR(CheckSignature(*snapshot));
  policy::CompileOptions options;
  options.file_name = "snapshot:" + name;
  options.snapshot_name = name;
  CompileResult compiled = policy::Compile(snapshot->policy(), options);
  if (!compiled.ok()) {
    return InvalidArgument("snapshot '" + name + "' does not compile: " + compiled.ErrorText());
  }
  if (compiled.policy->hash() != snapshot->hash()) {
    // Compiled by a jobgate whose canonical form differs, or tampered with: never
    // enforce a policy under a hash it does not have.
    return Internal("snapshot '" + name + "' hashes to " + compiled.policy->hash() +
                    ", stored as " + snapshot->hash());
  }
  MutexLock lock(&mu_);
  compiled_[name] = compiled.policy;
  return compiled.policy;
}

Status PolicyLifecycle::Reconcile(const v1::ActiveSnapshot& pointer) {
  MutexLock reconcile_lock(&reconcile_mu_);
  {
    MutexLock lock(&mu_);
    if (enforced_.name() == pointer.name() && enforced_.hash() == pointer.hash() &&
        shadow_name_ == pointer.shadow() && active_->Get() != nullptr) {
      return Status::Ok();  // already there
    }
  }
  auto report = [&](std::string_view result) {
    LifecycleObserver* observer;
    {
      MutexLock lock(&mu_);
      observer = observer_;
    }
    if (observer != nullptr) observer->OnReload(result);
  };
  auto loaded = Load(pointer.name());
  if (loaded.ok() && (*loaded)->hash() != pointer.hash()) {
    loaded = Internal("the active pointer gives snapshot '" + pointer.name() + "' the hash " +
                      pointer.hash() + "; it hashes to " + (*loaded)->hash());
  }
  if (!loaded.ok()) {
    spdlog::error("policy reload to '{}' failed, keeping '{}': {}", pointer.name(),
                  enforced().name(), loaded.status().message());
    v1::PolicyEvent event;
    event.set_kind("reload_failed");
    event.set_actor(options_.replica);
    event.set_from_snapshot(enforced().name());
    event.set_from_hash(enforced().hash());
    event.set_to_snapshot(pointer.name());
    event.set_to_hash(pointer.hash());
    event.set_error(loaded.status().message());
    Emit(std::move(event));
    report(loaded.status().code() == StatusCode::kPermissionDenied ? "signature_refused"
                                                                   : "failed");
    return loaded.status();
  }
  std::shared_ptr<const policy::Policy> shadow;
  if (!pointer.shadow().empty()) {
    auto shadow_loaded = Load(pointer.shadow());
    if (shadow_loaded.ok()) {
      shadow = *shadow_loaded;
    } else {
      spdlog::warn("shadow snapshot '{}' not loaded: {}", pointer.shadow(),
                   shadow_loaded.status().message());
    }
  }
  const bool changed = enforced().name() != pointer.name();
  active_->Set(*loaded);
  LifecycleObserver* observer;
  bool shadow_changed;
  {
    MutexLock lock(&mu_);
    shadow_changed = shadow_ != shadow;
    enforced_ = pointer;
    shadow_ = shadow;
    shadow_name_ = shadow ? pointer.shadow() : "";
    observer = observer_;
    if (shadow_holder_ != nullptr) shadow_holder_->Set(shadow);
  }
  if (changed) {
    spdlog::info("policy active: snapshot '{}' ({}, {} rules){}", pointer.name(), pointer.hash(),
                 (*loaded)->rule_count(),
                 shadow ? ", shadow '" + pointer.shadow() + "'" : std::string());
  }
  if (observer != nullptr) {
    observer->OnActivated(loaded->get());
    if (shadow_changed) observer->OnShadow(shadow.get());
  }
  report("ok");
  return Status::Ok();
}

Status PolicyLifecycle::Recheck() {
  auto pointer = store_->GetActive();
  if (pointer.ok()) {
    {
      MutexLock lock(&reconcile_mu_);
      confirmed_at_ = clock_->Now();
    }
    return Reconcile(*pointer);
  }
  if (pointer.status().code() == StatusCode::kNotFound) {
    Withdraw("no active snapshot in the store (" + pointer.status().message() + ")");
    return pointer.status();
  }
  bool expired = false;
  {
    MutexLock lock(&reconcile_mu_);
    expired = clock_->Now() - confirmed_at_ > options_.store_grace;
  }
  if (expired) {
    Withdraw("the snapshot store has not answered for over " +
             std::to_string(options_.store_grace.count() / 1000) + " s (" +
             pointer.status().message() + ")");
  }
  return pointer.status();
}

void PolicyLifecycle::Withdraw(const std::string& why) {
  MutexLock reconcile_lock(&reconcile_mu_);
  if (active_->Get() == nullptr) return;
  const v1::ActiveSnapshot was = enforced();
  active_->Set(nullptr);
  LifecycleObserver* observer;
  {
    MutexLock lock(&mu_);
    enforced_.Clear();
    observer = observer_;
  }
  if (observer != nullptr) observer->OnActivated(nullptr);
  spdlog::error(
      "{}: stopped enforcing '{}'; nothing is dispatched until a policy is active "
      "again (fail closed)",
      why, was.name());
  v1::PolicyEvent event;
  event.set_kind("reload_failed");
  event.set_actor(options_.replica);
  event.set_from_snapshot(was.name());
  event.set_from_hash(was.hash());
  event.set_error(why + ": not dispatching");
  Emit(std::move(event));
  if (observer != nullptr) observer->OnReload("failed");
}

Status PolicyLifecycle::Start(const std::string& bootstrap_yaml,
                              const std::string& bootstrap_name) {
  {
    MutexLock lock(&reconcile_mu_);
    confirmed_at_ = clock_->Now();
  }
  auto pointer = store_->GetActive();
  if (pointer.ok()) return Reconcile(*pointer);
  if (pointer.status().code() != StatusCode::kNotFound) return pointer.status();
  if (bootstrap_yaml.empty()) {
    return FailedPrecondition(
        "no active policy in the snapshot store and no --policy to bootstrap one");
  }
  v1::PublishRequest request;
  request.set_snapshot(bootstrap_name);
  request.set_policy(bootstrap_yaml);
  request.set_note("bootstrap from --policy");
  PublishOutcome outcome = Publish(request, Caller{"bootstrap:" + options_.replica});
  if (outcome.status.ok()) return Status::Ok();
  // Another replica may have bootstrapped (or stored this very snapshot) meanwhile.
  if (outcome.status.code() == StatusCode::kConflict ||
      outcome.status.code() == StatusCode::kAlreadyExists) {
    auto again = store_->GetActive();
    if (again.ok()) return Reconcile(*again);
    if (outcome.status.code() == StatusCode::kAlreadyExists) {
      // Stored earlier but never activated (a crash between the two writes): activate.
      auto compiled = policy::Compile(bootstrap_yaml);
      if (compiled.ok()) {
        const std::string name =
            bootstrap_name.empty() ? DefaultSnapshotName(*compiled.policy) : bootstrap_name;
        auto stored = store_->GetSnapshot(name);
        if (stored.ok() && stored->hash() == compiled.policy->hash()) {
          v1::ActiveSnapshot next;
          next.set_name(name);
          next.set_hash(stored->hash());
          next.set_changed_by("bootstrap:" + options_.replica);
          auto moved = MovePointer(v1::ActiveSnapshot(), next);
          if (moved.ok()) return Status::Ok();
          auto latest = store_->GetActive();
          if (latest.ok()) return Reconcile(*latest);
        }
      }
    }
  }
  std::string detail = outcome.status.message();
  for (const auto& e : outcome.errors) detail += "\n" + e;
  return Status(outcome.status.code(), "bootstrap policy refused: " + detail);
}

v1::SimulationSummary PolicyLifecycle::SimulateAgainst(const policy::Policy& candidate,
                                                       const policy::Policy* baseline,
                                                       const std::string& baseline_name) {
  v1::SimulationSummary summary;
  auto jobs = recent_jobs_ != nullptr ? recent_jobs_->Fetch(options_.simulation_jobs)
                                      : Result<std::vector<v1::Job>>(std::vector<v1::Job>{});
  if (!jobs.ok()) {
    spdlog::warn("simulation without recent jobs: {}", jobs.status().message());
    summary.set_baseline(baseline_name);
    return summary;
  }
  policy::Simulator simulator(&candidate, baseline, policy::JobCopies::kScrubbed);
  const auto deadline = clock_->Now() + options_.simulation_time;
  size_t done = 0;
  for (const auto& job : *jobs) {
    // The clock is read every 64 jobs: a job's evaluation is microseconds.
    if (done % 64 == 0 && done > 0 && clock_->Now() > deadline) break;
    simulator.Add(job);
    ++done;
  }
  FillSummary(simulator.report(), baseline_name, &summary);
  if (done < jobs->size()) {
    summary.set_stopped_early(true);
    summary.set_stop_reason("simulated " + std::to_string(done) + " of " +
                            std::to_string(jobs->size()) + " recent jobs within " +
                            std::to_string(options_.simulation_time.count()) + " ms");
  }
  return summary;
}

Result<uint64_t> PolicyLifecycle::MovePointer(const v1::ActiveSnapshot& current,
                                              v1::ActiveSnapshot next) {
  *next.mutable_changed_at() = Now();
  auto revision = store_->SetActive(next, current.revision());
  if (!revision.ok()) return revision.status();
  next.set_revision(*revision);
  // This replica enforces at once; the others follow through their watch.
  Status reconciled = Reconcile(next);
  if (!reconciled.ok()) {
    spdlog::error("pointer moved to '{}' but this replica could not load it: {}", next.name(),
                  reconciled.message());
  }
  return revision;
}

PublishOutcome PolicyLifecycle::Publish(const v1::PublishRequest& request, const Caller& caller) {
  PublishOutcome out;
  PublishCandidate candidate;
  // Refusals before the candidate has a name and a simulation are not events.
  if (!ReadCandidate(request, &candidate, &out)) return out;
  std::optional<PublishRefusal> refusal = CompileCandidate(request, &candidate, &out);
  if (!refusal) refusal = DescribeCandidate(request, caller, candidate, &out);
  if (!refusal) refusal = TestCandidate(request, candidate.compiled.policy, &out);
  if (refusal) return Refuse(std::move(out), std::move(*refusal), request, caller);

  // Compare with what is enforced now, on recent real jobs.
  auto current = store_->GetActive();
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
    out.status = current.status();
    out.code = api_error::kStoreUnavailable;
    return out;
  }
  if (!request.expected_active().empty() &&
      (!current.ok() || current->name() != request.expected_active())) {
    out.status = Conflict("the active snapshot is '" + (current.ok() ? current->name() : "") +
                          "', not the expected '" + request.expected_active() + "'");
    out.code = api_error::kConflict;
    return out;
  }
  refusal = SimulateCandidate(request, candidate, current, &out);
  if (refusal) return Refuse(std::move(out), std::move(*refusal), request, caller);
  if (request.dry_run()) {
    out.status = Status::Ok();
    return out;
  }
  if (!StoreAndActivate(candidate, current, caller, &out)) return out;
  EmitPublished(request, caller, current, out);
  return out;
}

PublishOutcome PolicyLifecycle::Refuse(PublishOutcome out, PublishRefusal refusal,
                                       const v1::PublishRequest& request, const Caller& caller) {
  out.status = std::move(refusal.status);
  out.code = refusal.code;
  v1::PolicyEvent event;
  event.set_kind("refused");
  event.set_actor(caller.name);
  event.set_note(request.note());
  event.set_to_snapshot(out.response.snapshot().name());
  event.set_to_hash(out.response.snapshot().hash());
  *event.mutable_simulation() = out.response.simulation();
  event.set_error(out.status.message());
  Emit(std::move(event));
  return out;
}

bool PolicyLifecycle::ReadCandidate(const v1::PublishRequest& request, PublishCandidate* candidate,
                                    PublishOutcome* out) {
  candidate->policy_yaml = request.policy();
  if (!candidate->policy_yaml.empty()) return true;
  // Without a policy, publish activates a snapshot already stored under that name
  // (e.g. one stored by a dry run's author, or by a publish that lost a race).
  if (request.snapshot().empty()) {
    out->status =
        InvalidArgument("publish needs 'policy' (YAML), or the name of a stored snapshot");
    out->code = api_error::kInvalidRequest;
    return false;
  }
  auto existing = store_->GetSnapshot(request.snapshot());
  if (!existing.ok()) {
    out->status = existing.status().code() == StatusCode::kNotFound
                      ? InvalidArgument("no 'policy' given and no stored snapshot '" +
                                        request.snapshot() + "' to activate")
                      : existing.status();
    out->code = api_error::kInvalidRequest;
    return false;
  }
  candidate->stored = std::move(*existing);
  candidate->policy_yaml = candidate->stored->policy();
  return true;
}

std::optional<PublishRefusal> PolicyLifecycle::CompileCandidate(const v1::PublishRequest& request,
                                                                PublishCandidate* candidate,
                                                                PublishOutcome* out) {
  // Compile under the requested name (or the policy's own) so decisions carry it.
  policy::CompileOptions options;
  options.file_name = request.snapshot().empty() ? "policy" : request.snapshot();
  options.snapshot_name = request.snapshot();
  candidate->compiled = policy::Compile(candidate->policy_yaml, options);
  if (!candidate->compiled.ok()) {
    for (const auto& e : candidate->compiled.errors) out->errors.push_back(e.ToString());
    return PublishRefusal{InvalidArgument("the policy does not compile"),
                          api_error::kInvalidPolicy};
  }
  const policy::Policy& compiled = *candidate->compiled.policy;
  candidate->name = request.snapshot().empty() ? DefaultSnapshotName(compiled) : request.snapshot();
  if (const std::string problem = ValidateSnapshotName(candidate->name); !problem.empty()) {
    return PublishRefusal{InvalidArgument(problem), api_error::kInvalidSnapshotName};
  }
  if (!candidate->stored && store_->GetSnapshot(candidate->name).ok()) {
    return PublishRefusal{
        Status(StatusCode::kAlreadyExists, "snapshot '" + candidate->name +
                                               "' exists; snapshots are immutable, name a new one"),
        api_error::kSnapshotExists};
  }
  if (request.snapshot().empty() && compiled.snapshot_name() != candidate->name) {
    options.snapshot_name = candidate->name;
    candidate->compiled = policy::Compile(candidate->policy_yaml, options);
  }
  return std::nullopt;
}

std::optional<PublishRefusal> PolicyLifecycle::DescribeCandidate(const v1::PublishRequest& request,
                                                                 const Caller& caller,
                                                                 const PublishCandidate& candidate,
                                                                 PublishOutcome* out) {
  const policy::Policy& compiled = *candidate.compiled.policy;
  v1::PolicySnapshot* snapshot = out->response.mutable_snapshot();
  snapshot->set_name(candidate.name);
  snapshot->set_policy(candidate.policy_yaml);
  snapshot->set_hash(compiled.hash());
  snapshot->set_author(caller.name);
  snapshot->set_note(request.note());
  snapshot->set_rule_count(static_cast<uint32_t>(compiled.rule_count()));
  if (candidate.stored) {
    snapshot->set_signature(candidate.stored->signature());
    snapshot->set_signature_key_id(candidate.stored->signature_key_id());
  } else if (!request.signature().empty()) {
    snapshot->set_signature(request.signature());
    snapshot->set_signature_key_id(request.signature_key_id());
  } else if (options_.signing_key) {
    auto signature = policy::SignSnapshot(*options_.signing_key, candidate.name, compiled.hash(),
                                          candidate.policy_yaml);
    if (!signature.ok()) return PublishRefusal{signature.status(), api_error::kSigningFailed};
    snapshot->set_signature(*signature);
    snapshot->set_signature_key_id(options_.signing_key->id());
  }
  if (Status signed_ok = CheckSignature(*snapshot); !signed_ok.ok()) {
    return PublishRefusal{signed_ok, api_error::kBadSignature};
  }
  return std::nullopt;
}

std::optional<PublishRefusal> PolicyLifecycle::TestCandidate(
    const v1::PublishRequest& request, const std::shared_ptr<const policy::Policy>& compiled,
    PublishOutcome* out) {
  for (const auto& e : compiled->CheckExamples()) out->errors.push_back(e.ToString());
  for (int i = 0; i < request.tests_size(); ++i) {
    const auto result =
        policy::RunSuite(request.tests(i), "tests[" + std::to_string(i) + "]", compiled);
    for (const auto& e : result.errors) out->errors.push_back(e.ToString());
    for (const auto& c : result.cases) {
      if (c.passed) continue;
      std::string line = result.suite_path + ": case '" + c.name + "' failed:";
      for (const auto& f : c.failures) line += " " + f + ";";
      out->errors.push_back(line);
    }
  }
  if (out->errors.empty()) return std::nullopt;
  return PublishRefusal{InvalidArgument("the policy's examples or tests fail"),
                        api_error::kTestsFailed};
}

std::optional<PublishRefusal> PolicyLifecycle::SimulateCandidate(
    const v1::PublishRequest& request, const PublishCandidate& candidate,
    const Result<v1::ActiveSnapshot>& current, PublishOutcome* out) {
  std::shared_ptr<const policy::Policy> baseline;
  if (current.ok()) {
    auto loaded = Load(current->name());
    if (loaded.ok()) baseline = *loaded;
    out->response.mutable_snapshot()->set_parent(current->name());
    out->response.set_previous(current->name());
  }
  *out->response.mutable_simulation() = SimulateAgainst(*candidate.compiled.policy, baseline.get(),
                                                        current.ok() ? current->name() : "");
  const v1::SimulationSummary& sim = out->response.simulation();
  if (sim.loosened() > 0 && !request.allow_loosening()) {
    return PublishRefusal{
        FailedPrecondition(std::to_string(sim.loosened()) + " of " + std::to_string(sim.jobs()) +
                           " recent jobs would get a less strict decision; "
                           "set allow_loosening to publish anyway"),
        api_error::kLoosening};
  }
  if (sim.flip_share() > options_.max_flip_share && !request.force()) {
    char share[64];
    std::snprintf(share, sizeof(share), "%.1f%% of recent jobs flip (limit %.1f%%)",
                  100 * sim.flip_share(), 100 * options_.max_flip_share);
    return PublishRefusal{FailedPrecondition(std::string(share) + "; set force to publish anyway"),
                          api_error::kTooManyFlips};
  }
  return std::nullopt;
}

bool PolicyLifecycle::StoreAndActivate(const PublishCandidate& candidate,
                                       const Result<v1::ActiveSnapshot>& current,
                                       const Caller& caller, PublishOutcome* out) {
  const std::string& name = candidate.name;
  const auto& compiled = candidate.compiled.policy;
  v1::PolicySnapshot* snapshot = out->response.mutable_snapshot();
  if (candidate.stored) {
    if (candidate.stored->hash() != compiled->hash()) {
      out->status = Internal("stored snapshot '" + name + "' does not hash to its recorded hash");
      out->code = api_error::kCorruptSnapshot;
      return false;
    }
    if (current.ok() && current->name() == name) {
      out->status = Conflict("snapshot '" + name + "' is already active");
      out->code = api_error::kAlreadyActive;
      return false;
    }
    *snapshot = *candidate.stored;
  } else {
    *snapshot->mutable_created_at() = Now();
    Status put = store_->PutSnapshot(*snapshot);
    if (!put.ok()) {
      out->code = put.code() == StatusCode::kAlreadyExists ? api_error::kSnapshotExists
                                                           : api_error::kStoreUnavailable;
      out->status = std::move(put);
      return false;
    }
  }
  v1::ActiveSnapshot next;
  next.set_name(name);
  next.set_hash(compiled->hash());
  next.set_changed_by(caller.name);
  if (current.ok()) next.set_shadow(current->shadow());
  {
    MutexLock lock(&mu_);
    compiled_[name] = compiled;  // no need to compile it again on reconcile
  }
  auto moved = MovePointer(current.ok() ? *current : v1::ActiveSnapshot(), next);
  if (!moved.ok()) {
    if (moved.status().code() == StatusCode::kConflict) {
      out->code = api_error::kConflict;
      out->status = Conflict("another publish or rollback changed the active snapshot first; '" +
                             name + "' is stored but not active");
    } else {
      out->code = api_error::kStoreUnavailable;
      out->status = moved.status();
    }
    return false;
  }
  out->response.set_published(true);
  out->status = Status::Ok();
  return true;
}

void PolicyLifecycle::EmitPublished(const v1::PublishRequest& request, const Caller& caller,
                                    const Result<v1::ActiveSnapshot>& current,
                                    const PublishOutcome& out) {
  v1::PolicyEvent event;
  event.set_kind("publish");
  event.set_actor(caller.name);
  event.set_note(request.note());
  if (current.ok()) {
    event.set_from_snapshot(current->name());
    event.set_from_hash(current->hash());
  }
  event.set_to_snapshot(out.response.snapshot().name());
  event.set_to_hash(out.response.snapshot().hash());
  *event.mutable_simulation() = out.response.simulation();
  Emit(std::move(event));
}

Result<v1::RollbackResponse> PolicyLifecycle::Rollback(const v1::RollbackRequest& request,
                                                       const Caller& caller) {
  if (request.target_snapshot().empty()) {
    return InvalidArgument("rollback needs 'target_snapshot'");
  }
  auto target = store_->GetSnapshot(request.target_snapshot());
  if (!target.ok()) return target.status();
  // Refuse a target this replica cannot enforce (e.g. stored by a newer jobgate).
  auto loaded = Load(target->name());
  if (!loaded.ok()) return loaded.status();
  auto current = store_->GetActive();
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();

  v1::ActiveSnapshot next;
  next.set_name(target->name());
  next.set_hash(target->hash());
  next.set_changed_by(caller.name);
  if (current.ok()) next.set_shadow(current->shadow());
  auto moved = MovePointer(current.ok() ? *current : v1::ActiveSnapshot(), next);
  if (!moved.ok()) return moved.status();

  v1::RollbackResponse response;
  response.set_from_snapshot(current.ok() ? current->name() : "");
  response.set_to_snapshot(target->name());
  response.set_hash(target->hash());
  v1::PolicyEvent event;
  event.set_kind("rollback");
  event.set_actor(caller.name);
  event.set_note(request.note());
  if (current.ok()) {
    event.set_from_snapshot(current->name());
    event.set_from_hash(current->hash());
  }
  event.set_to_snapshot(target->name());
  event.set_to_hash(target->hash());
  Emit(std::move(event));
  return response;
}

Result<v1::ActiveSnapshot> PolicyLifecycle::SetShadow(const v1::ShadowRequest& request,
                                                      const Caller& caller) {
  auto current = store_->GetActive();
  if (!current.ok()) {
    return current.status().code() == StatusCode::kNotFound
               ? FailedPrecondition("no active snapshot to shadow")
               : current.status();
  }
  std::string hash;
  if (!request.snapshot().empty()) {
    auto loaded = Load(request.snapshot());
    if (!loaded.ok()) return loaded.status();
    hash = (*loaded)->hash();
  }
  v1::ActiveSnapshot next = *current;
  next.set_shadow(request.snapshot());
  next.set_changed_by(caller.name);
  auto moved = MovePointer(*current, next);
  if (!moved.ok()) return moved.status();
  next.set_revision(*moved);

  v1::PolicyEvent event;
  event.set_kind(request.snapshot().empty() ? "shadow_cleared" : "shadow_set");
  event.set_actor(caller.name);
  event.set_note(request.note());
  event.set_from_snapshot(current->name());
  event.set_from_hash(current->hash());
  event.set_to_snapshot(request.snapshot().empty() ? current->shadow() : request.snapshot());
  event.set_to_hash(hash);
  Emit(std::move(event));
  return next;
}

Result<v1::SnapshotList> PolicyLifecycle::List() {
  auto snapshots = store_->ListSnapshots();
  if (!snapshots.ok()) return snapshots.status();
  v1::SnapshotList list;
  for (auto& s : *snapshots) {
    s.clear_policy();  // the listing names snapshots; `show` returns the source
    *list.add_snapshots() = std::move(s);
  }
  auto active = store_->GetActive();
  if (active.ok()) {
    list.set_active(active->name());
    list.set_shadow(active->shadow());
  }
  return list;
}

Result<v1::PolicySnapshot> PolicyLifecycle::Show(const std::string& name) {
  return store_->GetSnapshot(name);
}

Result<v1::Decision> PolicyLifecycle::Simulate(const v1::SimulateRequest& request) {
  std::shared_ptr<const policy::Policy> chosen;
  if (!request.policy().empty()) {
    CompileResult compiled = policy::Compile(request.policy(), CandidateOptions());
    if (!compiled.ok()) return InvalidArgument(compiled.ErrorText());
    chosen = compiled.policy;
  } else if (!request.snapshot().empty()) {
    auto loaded = Load(request.snapshot());
    if (!loaded.ok()) return loaded.status();
    chosen = *loaded;
  } else {
    chosen = active_->Get();
    if (chosen == nullptr) return FailedPrecondition("no active policy");
  }
  v1::Job job = request.job();
  if (job.tenant_id().empty()) {
    job.set_tenant_id(request.tenant_id().empty() ? "default" : request.tenant_id());
  }
  return chosen->Decide(job, {NewDecisionId(), clock_->UnixMillis()});
}

Result<v1::SimulationSummary> PolicyLifecycle::SimulateRecent(const std::string& candidate_yaml) {
  CompileResult compiled = policy::Compile(candidate_yaml, CandidateOptions());
  if (!compiled.ok()) return InvalidArgument(compiled.ErrorText());
  const auto baseline = active_->Get();
  return SimulateAgainst(*compiled.policy, baseline.get(), enforced().name());
}

}  // namespace jobgate::gate
