// The policy lifecycle: publish, rollback, shadow, and keeping this replica's enforced
// policy equal to the store's active snapshot.
//
// Publish validates a candidate (compile, inline rule examples, any test suites sent
// with it), simulates it against recent real jobs next to the active snapshot, refuses
// loosening (unless allow_loosening) and large flips (unless force), stores it, and
// moves the active pointer by compare-and-set: of two concurrent publishes one wins, the
// other gets kConflict. Every replica watches the pointer (and re-checks periodically)
// and swaps its compiled policy atomically; jobs in flight finish on the policy they
// started with. A snapshot that fails to compile on a replica, or (with verify keys)
// whose signature does not verify, leaves the previous one enforced and is reported as
// a reload failure.
//
// Every publish, rollback, shadow change, refusal and failed reload is a PolicyEvent.
//
// Ownership: the caller owns every seam handed in and keeps it alive longer than the
// lifecycle. Thread-safety: all methods are thread-safe; Reconcile may run on the
// store's watch thread while API calls run on HTTP or NATS threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "gate/core/active_policy.h"
#include "gate/core/bus.h"
#include "gate/lifecycle/snapshot_store.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "policy/tooling/snapshot_signature.h"

namespace jobgate::gate {

// Who is calling the API, as established by the caller's token (gate/core/auth.h).
struct Caller {
  std::string name;
};

// Recent jobs for simulation: the jobs the gate judged lately, as its decision records
// show them (production: NatsRecentJobs, reading the AUDIT stream). They are the scrubbed
// copies, so the lifecycle simulates them with redaction markers counted as the secrets
// they replaced (policy::JobCopies::kScrubbed); raw jobs simulate the same.
class RecentJobs {
 public:
  virtual ~RecentJobs() = default;
  // Up to `max_jobs` of the most recent judged jobs, oldest first, each once.
  virtual Result<std::vector<v1::Job>> Fetch(size_t max_jobs) = 0;
};

// Where policy events go (production: a JetStream publish on audit.policy).
class PolicyEventSink {
 public:
  virtual ~PolicyEventSink() = default;
  virtual void Emit(const v1::PolicyEvent& event) = 0;
};

struct LifecycleOptions {
  double max_flip_share = 0.05;     // refuse larger flips unless `force`
  size_t simulation_jobs = 10000;   // recent jobs a publish is simulated on
  std::string replica = "jobgate";  // names this replica in reload events
  // How long Recheck keeps enforcing a policy it cannot confirm (the store unreachable)
  // before it stops enforcing any (fail closed).
  std::chrono::milliseconds store_grace{90'000};
  // How long one simulation over recent jobs may run; past it the simulation stops and
  // says so (SimulationSummary.stopped_early).
  std::chrono::milliseconds simulation_time{10'000};
  // With keys, a snapshot is enforced, shadowed, rolled back to, simulated or published
  // only when its signature verifies under one of them (policy/tooling/snapshot_signature.h):
  // one unsigned or wrongly signed is refused on every path, and on reload it leaves the
  // previous snapshot enforced (reload_failed, reload result "signature_refused").
  std::vector<policy::SnapshotVerifyKey> verify_keys = {};
  // Signs publishes that arrive without a signature (the bootstrap among them). Unset:
  // such publishes are stored unsigned, which verify_keys then refuse.
  std::optional<policy::SnapshotSigningKey> signing_key = {};
  // Only jobs judged within this long are simulated on (0: no limit); the default is how
  // long the jobs stream kept raw jobs when simulation read them there.
  std::chrono::milliseconds simulation_window{7LL * 24 * 3600 * 1000};
  // The most bytes of decision records one simulation reads its jobs from; the oldest
  // jobs are left out first.
  size_t simulation_bytes = 64u << 20;
};

// What Publish answers, also when it refuses: the simulation is filled whenever it ran.
struct PublishOutcome {
  Status status;
  v1::PublishResponse response;
  std::vector<std::string> errors;  // FILE:LINE:COL errors, failing test cases
  std::string_view code;            // a subjects/api_errors.h code (static storage)
};

// The steps of Publish pass these along (policy_lifecycle.cc).
struct PublishCandidate {
  std::string policy_yaml;
  std::optional<v1::PolicySnapshot> stored;  // publishing a snapshot stored before
  policy::CompileResult compiled;
  std::string name;  // the snapshot's name
};
struct PublishRefusal {
  Status status;
  std::string_view code;  // a subjects/api_errors.h code
};

// Metrics hooks. Default implementations do nothing; override what you export. Called
// outside the lifecycle's lock, on the thread that reloaded or published.
class LifecycleObserver {
 public:
  virtual ~LifecycleObserver() = default;
  // After every successful swap of the enforced policy, and with null when the gate
  // stops enforcing any (fail closed).
  virtual void OnActivated(const policy::Policy* policy) {}
  // When the shadow this replica evaluates changes (null: none).
  virtual void OnShadow(const policy::Policy* policy) {}
  // After every reload attempt: "ok", "failed", or "signature_refused" (a snapshot whose
  // signature does not verify against the configured keys).
  virtual void OnReload(std::string_view result) {}
};

class PolicyLifecycle {
 public:
  PolicyLifecycle(SnapshotStore* store, ActivePolicy* active, RecentJobs* recent_jobs,
                  PolicyEventSink* events, const Clock* clock, LifecycleOptions options);

  // Brings this replica onto the store's active snapshot. When the store has none and
  // `bootstrap_yaml` is given, publishes it first (as `bootstrap_name`, or a name from
  // its hash). kFailedPrecondition when there is still no policy: fail closed.
  Status Start(const std::string& bootstrap_yaml, const std::string& bootstrap_name);

  // Makes `pointer` the enforced policy (and shadow) if it is not already. A snapshot
  // that cannot be read or compiled leaves the current one and emits reload_failed.
  Status Reconcile(const v1::ActiveSnapshot& pointer);
  // Reads the pointer and reconciles: the periodic re-check. Fail closed: when the store
  // answers that there is no active pointer (the pointer or its whole bucket was
  // deleted), or has not answered for longer than options.store_grace, this replica
  // stops enforcing any policy (nothing is dispatched) until a re-check finds one again;
  // stopping emits reload_failed. Shorter outages (a leader election) keep the policy.
  Status Recheck();

  PublishOutcome Publish(const v1::PublishRequest& request, const Caller& caller);
  Result<v1::RollbackResponse> Rollback(const v1::RollbackRequest& request, const Caller& caller);
  // Sets (request.snapshot non-empty) or clears the shadow snapshot.
  Result<v1::ActiveSnapshot> SetShadow(const v1::ShadowRequest& request, const Caller& caller);

  Result<v1::SnapshotList> List();
  Result<v1::PolicySnapshot> Show(const std::string& name);
  // One decision for one job: against a candidate YAML, a stored snapshot, or the
  // enforced policy. kInvalidArgument with FILE:LINE:COL errors for a bad candidate.
  Result<v1::Decision> Simulate(const v1::SimulateRequest& request);
  // Simulates a candidate against recent jobs without publishing.
  Result<v1::SimulationSummary> SimulateRecent(const std::string& candidate_yaml);

  // The shadow policy (null when none): evaluated next to the enforced one, not enforced.
  std::shared_ptr<const policy::Policy> shadow() const;
  // Name and hash of the enforced snapshot ("" before Start).
  v1::ActiveSnapshot enforced() const;

  // Where the shadow policy is published for dispatchers (null: nowhere). Set before Start.
  void set_shadow_holder(ActivePolicy* holder);

  // Where activations, shadow changes and reloads are reported (null: nowhere). Borrowed:
  // it must outlive the lifecycle.
  void set_observer(LifecycleObserver* observer);

 private:
  // The steps of Publish, in order. A refusal from a step after ReadCandidate is
  // recorded as a "refused" policy event (Refuse).
  bool ReadCandidate(const v1::PublishRequest& request, PublishCandidate* candidate,
                     PublishOutcome* out);
  std::optional<PublishRefusal> CompileCandidate(const v1::PublishRequest& request,
                                                 PublishCandidate* candidate, PublishOutcome* out);
  // Fills the response's snapshot and signs it (or checks the signature it came with).
  std::optional<PublishRefusal> DescribeCandidate(const v1::PublishRequest& request,
                                                  const Caller& caller,
                                                  const PublishCandidate& candidate,
                                                  PublishOutcome* out);
  // The policy's inline examples and the request's test suites.
  std::optional<PublishRefusal> TestCandidate(const v1::PublishRequest& request,
                                              const std::shared_ptr<const policy::Policy>& compiled,
                                              PublishOutcome* out);
  // Replays recent jobs against the candidate and `current`; the loosening and flip guards.
  std::optional<PublishRefusal> SimulateCandidate(const v1::PublishRequest& request,
                                                  const PublishCandidate& candidate,
                                                  const Result<v1::ActiveSnapshot>& current,
                                                  PublishOutcome* out);
  // Stores the snapshot (unless stored before) and moves the active pointer to it.
  bool StoreAndActivate(const PublishCandidate& candidate,
                        const Result<v1::ActiveSnapshot>& current, const Caller& caller,
                        PublishOutcome* out);
  PublishOutcome Refuse(PublishOutcome out, PublishRefusal refusal,
                        const v1::PublishRequest& request, const Caller& caller);
  void EmitPublished(const v1::PublishRequest& request, const Caller& caller,
                     const Result<v1::ActiveSnapshot>& current, const PublishOutcome& out);

  // Ok when verification is off, or `snapshot`'s signature verifies; else
  // kPermissionDenied naming the snapshot.
  Status CheckSignature(const v1::PolicySnapshot& snapshot) const;
  // Compiles a stored snapshot (cached by name: snapshots are immutable) once its
  // signature is checked.
  Result<std::shared_ptr<const policy::Policy>> Load(const std::string& name);
  // Moves the pointer from `current` to `next` by CAS and reconciles this replica.
  Result<uint64_t> MovePointer(const v1::ActiveSnapshot& current, v1::ActiveSnapshot next);
  // Stops enforcing (fail closed) because of `why`; emits reload_failed once.
  void Withdraw(const std::string& why);
  v1::SimulationSummary SimulateAgainst(const policy::Policy& candidate,
                                        const policy::Policy* baseline,
                                        const std::string& baseline_name);
  void Emit(v1::PolicyEvent event);
  google::protobuf::Timestamp Now() const;

  SnapshotStore* store_;
  ActivePolicy* active_;
  RecentJobs* recent_jobs_;
  PolicyEventSink* events_;
  const Clock* clock_;
  const LifecycleOptions options_;

  mutable Mutex mu_;
  v1::ActiveSnapshot enforced_ GUARDED_BY(mu_);
  std::shared_ptr<const policy::Policy> shadow_ GUARDED_BY(mu_);
  std::string shadow_name_ GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<const policy::Policy>> compiled_ GUARDED_BY(mu_);
  LifecycleObserver* observer_ GUARDED_BY(mu_) = nullptr;
  ActivePolicy* shadow_holder_ GUARDED_BY(mu_) = nullptr;

  // Serialises Reconcile so two notifications cannot swap out of order.
  Mutex reconcile_mu_;
  // When a re-check (or Start) last read the pointer.
  std::chrono::steady_clock::time_point confirmed_at_ GUARDED_BY(reconcile_mu_){};
};

}  // namespace jobgate::gate
