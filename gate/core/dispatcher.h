// The dispatch core: fetch a batch of jobs, judge each, route it, ack it.
//
// For every message of a batch: decode (protobuf or JSON), bind it to its arrival
// (subjects/binding.h: the topic is the arrival subject, the tenant the body's or the
// subject token's; a body that contradicts them is refused as topic_mismatch or
// tenant_mismatch, never judged), claim its job id (gate/core/job_ids.h: the same tenant and
// id with other content is refused as idempotency_conflict), evaluate against the active
// policy, and publish
//   * the DispatchedJob (job + decision + constraints) to its target subject:
//       ALLOW, ALLOW_WITH_CONSTRAINTS, ALERT, REDACT, THROTTLE within rate -> worker.<rest>
//       REQUIRE_APPROVAL (held in the approval store first)          -> approval.requests.<rest>
//       DENY, TERMINATE                                              -> audit.denied.<rest>
//   * a DecisionRecord on audit.decisions.<rest>, and for ALERT and TERMINATE a copy on
//     alert.<rest>.
// Only once JetStream acknowledged every publish of a message is that message acked; if
// any publish failed the message is nak'ed for redelivery (never dispatched unjudged).
// Each publish carries a Nats-Msg-Id derived from the job and the target, so a
// redelivered job is not duplicated downstream.
//
// Secrets: the decision's redaction effects (Policy::Redact: REDACT, redact rules) apply
// to every copy; every copy that is not for a worker (decision records, alerts, approval
// requests, denied jobs) is also scrubbed of any secret the detectors find, so the audit
// trail never carries one.
// Sessions: with a session store, a job of a session (policy::SessionOf) is judged with
// its session's history, and a notable decision is recorded in the store before anything
// of the job is published; a write that fails leaves the job for redelivery. A job of a
// terminated session is decided TERMINATE (reason: the original termination) whatever the
// policy says. While the store's copy is not current (SessionStore::Ready) nothing is
// fetched (fail closed): jobs wait in the stream.
// Shadow: when a shadow policy is set, each job is also judged by it, not enforced; the
// shadow's decision travels in the record and disagreements are counted.
//
// A message that cannot be read as a job (undecodable, no job_id, too large, a subject
// with no <rest>) or that is refused before judgement (topic_mismatch, tenant_mismatch,
// idempotency_conflict) becomes a RejectedMessage on audit.rejected and is acked. A job
// whose id the store cannot check is left for redelivery (fail closed).
// A THROTTLE job over its rate is recorded only when it is finally dispatched. Until then,
// with a deferred prefix set (the daemon's default), it is parked: its original bytes are
// published to `<deferred prefix>.<key token>` (gate/core/deferred.h) and the message is acked
// once the stream stored the park, so a flood on one key never fills the job consumer's
// ack window; a park that fails is nak'ed for redelivery like any failed publish. A
// redelivered THROTTLE job is parked without taking a token: it may be parked already
// (the gate stopped between the park and the ack), and its park msg id makes the second
// park a duplicate the stream drops. Without a deferred prefix (the dispatcher that
// re-judges parked jobs) an over-rate job is nak'ed with the delay until a token is due.
// A re-judged parked job is bound to its arrival subject and claims its id again with the
// same digest, which the job-id store answers as a retry, not a conflict.
//
// Ownership: the Dispatcher borrows the bus, clock, policy holder, rate limiter, metrics
// and the optional seams (any may be null); all must outlive it.
// Thread-safety: one thread drives a Dispatcher (RunOnce is not reentrant). Several
// dispatchers may share the ActivePolicy, RateLimiter and GateMetrics.
#pragma once

#include <google/protobuf/arena.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gate/core/active_policy.h"
#include "gate/core/bus.h"
#include "gate/core/job_sealer.h"
#include "gate/core/decision_stats.h"
#include "gate/core/decisions.h"
#include "gate/core/holds.h"
#include "gate/core/job_ids.h"
#include "gate/core/recent_denials.h"
#include "policy/session.h"
#include "gate/core/sessions.h"
#include "gate/core/throttle.h"
#include "jobgate/v1/jobgate.pb.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "base/status.h"
#include "subjects/binding.h"
#include "subjects/subjects.h"
#include "subjects/headers.h"

namespace jobgate::gate {

struct DispatcherOptions {
  subjects::Prefixes prefixes;
  int batch_size = 256;
  // Dispatch threads, each with its own pull subscription on the durable: while some
  // wait for JetStream (publish acks, approval records), another judges its batch. The
  // waits, not the cores, set the count (docs/operations.md, "Dispatch workers below
  // saturation", has the measurements).
  int workers = 4;
  std::chrono::milliseconds fetch_timeout{500};     // bounds how fast a stop is noticed
  std::chrono::milliseconds publish_timeout{5000};  // for JetStream's publish acks
  std::chrono::milliseconds retry_delay{1000};      // redelivery delay after a failure
  size_t max_message_bytes = 1 << 20;
  // The largest message the server stores (its max_payload, headers included); 0: not
  // known, not checked. A judged job whose copies (job + decision) or approval record
  // would exceed it is rejected as too_large rather than retried against a refusal
  // that cannot change.
  size_t max_publish_bytes = 0;
  // Where a job's tenant comes from (subjects/binding.h).
  subjects::TenantSource tenant_from = subjects::TenantSource::kBody;
  // Non-empty: over-rate THROTTLE jobs are parked under this subject prefix; empty: they
  // are nak'ed with the delay until a token is due.
  std::string deferred_prefix;
  // What a session keeps of its decisions (with a session store).
  policy::SessionRecording session_recording;
};

// DecisionStamp reused between jobs (its id string keeps its capacity).
struct DecisionStampBuffer {
  policy::DecisionStamp stamp;
};

// Optional collaborators of a Dispatcher; each may be null.
struct DispatcherSeams {
  const ActivePolicy* shadow = nullptr;              // the shadow policy (empty: none)
  HoldQueue* approvals = nullptr;                    // holds REQUIRE_APPROVAL jobs
  metrics::PolicyMetrics* policy_metrics = nullptr;  // shadow disagreements
  JobIdStore* job_ids = nullptr;                     // idempotency conflicts (none: unchecked)
  SessionStore* sessions = nullptr;                  // session state (none: no sessions)
  metrics::SessionMetrics* session_metrics = nullptr;
  // Told once per batch of its decisions by outcome, and of its DENY and TERMINATE
  // decision records (trimmed), once they are published and acked.
  DecisionStats* decision_stats = nullptr;
  RecentDenials* recent_denials = nullptr;
  // Seals the bytes of the jobs it parks (gate/core/deferred.h); none: parked as they came.
  const JobSealer* park_sealer = nullptr;
};

class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, Bus* bus, const Clock* clock, const ActivePolicy* policy,
             RateLimiter* limiter, metrics::GateMetrics* metrics, DispatcherSeams seams = {});

  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  struct BatchStats {
    size_t fetched = 0;
    size_t dispatched = 0;  // judged, routed and acked
    size_t rejected = 0;    // recorded on audit.rejected and acked
    size_t throttled = 0;   // over rate, nak'ed with delay
    size_t parked = 0;      // over rate, parked in the deferred stream and acked
    size_t retried = 0;     // a publish, the approval or the job-id store failed: nak'ed
  };

  // Fetches one batch (waiting up to fetch_timeout) and handles all of it. Returns the
  // fetch error when the bus is unavailable; a batch once fetched is always finished.
  // Without an active policy nothing is fetched (fail closed) and the result is
  // kFailedPrecondition.
  Result<BatchStats> RunOnce();

 private:
  struct PendingSession;  // below, with the batch state
  // What to do with one inbound message once its publishes (if any) are acknowledged.
  struct Plan {
    // kJudge: bound and claimed, not judged yet (between the phases of RunOnce).
    enum class Kind { kJudge, kRoute, kReject, kThrottle, kPark, kRetry } kind = Kind::kRoute;
    size_t first_outbound = 0;
    size_t outbound_count = 0;
    std::chrono::milliseconds nak_delay{0};
    v1::Verdict verdict = v1::DENY;  // enforced decision (kRoute)
    int deciding_rule = -1;
    std::string reject_reason;  // kReject; also the throttling rule for kThrottle, kPark
    const char* retry_kind = "";  // kRetry: the publish_errors kind that counts it
    size_t record_outbound = SIZE_MAX;  // kRoute: index of its decision record in outbound_
    std::chrono::steady_clock::time_point received_at;
  };

  // Decodes and binds `message` into `job`; plans its rejection when it cannot be judged,
  // else marks it kJudge.
  void AdmitMessage(InboundMessage& message, v1::Job* job, Plan* plan);
  // Claims the job ids of the batch's admitted jobs together; a conflict is rejected, a
  // claim the store could not answer is left for redelivery.
  void ClaimJobIds();
  // Judges job_ (admitted from `message`) and plans its publishes.
  void PlanMessage(const policy::Policy& policy, const policy::Policy* shadow,
                   InboundMessage& message, Plan* plan);
  // Evaluates job_ (with its session's state, null when it has none) into evaluation_
  // and decision_: stamped, with the session's facts, enforceable.
  void Decide(const policy::Policy& policy, const v1::SessionState* session_state);
  // A THROTTLE verdict over its rate: plans the park of job_ (with a deferred prefix) or
  // its redelivery after the retry delay and returns true; false when the rate admits it.
  bool PlanOverRate(InboundMessage& message, Plan* plan);
  // Keeps job_ and decision_ as one of the batch's holds (HoldAndRoute writes them), or
  // rejects the message when its approval record could not be stored.
  void PlanHold(InboundMessage& message, Plan* plan);
  // The publishes of a judged job: to its target (unless `held` says its approval is
  // resolved already), its decision record, and an alert copy. `held` is null unless
  // the job was held for approval.
  void PlanRoute(const v1::Job& job, const v1::Decision& decision, InboundMessage& message,
                 const Held* held, Plan* plan);
  // Plans the park of job_ (over the rate of `rule`, or of its first rate when no rule is
  // named) under the deferred prefix.
  void PlanPark(InboundMessage& message, std::string rule, Plan* plan);
  // The size the server counts for the largest of `plan`'s planned publishes.
  size_t LargestPublish(const Plan& plan) const;
  // Rejects `message` as too_large when `bytes` do not fit options_.max_publish_bytes.
  bool RejectIfUnpublishable(InboundMessage& message, size_t bytes, const char* what, Plan* plan);
  // Writes the batch's held jobs to the approval store together, then plans their
  // publishes (or their redelivery when the store failed).
  void HoldAndRoute();
  // The state job_'s session is judged by: the batch's own changes to it when it has
  // any (pending_sessions_), else the store's in-memory copy; null when unknown.
  SessionPtr SessionStateFor(const std::string& key, const std::string& tenant_id,
                             const std::string& session);
  // Makes pending.state: its base (or a fresh state) with the batch's changes folded in.
  void Materialize(PendingSession* pending, const std::string& tenant_id,
                   const std::string& session);
  // Records decision_ of `judged` (planned as plans_[plan], judged with the session state
  // `current` from SessionStateFor) in the batch's changes to its session `session` when
  // it changes the session's state; FlushSessions stores them.
  void RecordInSession(const std::string& key, const std::string& session,
                       const SessionPtr& current, const v1::Job& judged, size_t plan);
  // Appends the batch's session changes to the store as one write before anything of the
  // batch is published; the jobs of a session whose change failed become retries.
  void FlushSessions();
  // Lets go of the states the batch read (the store's, and those materialized on
  // session_arena_): the store changes a state that nobody else holds in place rather
  // than copying it.
  void DropSessionViews();
  // Lets go of what the store answered for the batch's sessions.
  void ReleaseSessions();
  // Counts in the metrics a termination the batch's changes to pending_sessions_[slot] made.
  void CountTermination(size_t slot);
  // Removes the planned publishes of jobs that became retries after they were planned.
  void DropRetriedOutbound();
  // Judges job_ with the shadow policy and records the outcome in decision_.
  void JudgeShadow(const policy::Policy& policy, const policy::Policy& shadow);
  void PlanRejection(InboundMessage& message, std::string reason, std::string error, Plan* plan);
  // The same with the record's extra fields (job, values, digests) already set in
  // `rejected`.
  void PlanRejection(InboundMessage& message, v1::RejectedMessage* rejected, Plan* plan);
  // The next free slot of outbound_ (reused between batches), counted in `plan`.
  OutboundMessage& NextOutbound(Plan* plan);
  void Finish(const std::shared_ptr<const policy::Policy>& policy, InboundMessage& message,
              const Plan& plan, BatchStats* stats);
  // Counts a finished plan into batch_counts_ (and batch_denials_) for the seams.
  void Observe(const Plan& plan);
  prometheus::Counter* DecisionCounter(const std::shared_ptr<const policy::Policy>& policy,
                                       v1::Verdict verdict, int rule);

  const DispatcherOptions options_;
  Bus* const bus_;
  const Clock* const clock_;
  const ActivePolicy* const policy_;
  RateLimiter* const limiter_;
  metrics::GateMetrics* const metrics_;
  const DispatcherSeams seams_;
  const subjects::JobBinding binding_;  // from options_: job prefix, tenant source

  // Per-batch buffers, reused so a warm dispatcher allocates little.
  InboundBatch batch_;
  std::vector<Plan> plans_;
  std::vector<OutboundMessage> outbound_;  // slots [0, outbound_used_) are this batch's
  size_t outbound_used_ = 0;
  std::vector<Status> results_;
  std::vector<v1::Job> admitted_;  // admitted_[i]: batch_[i]'s job between the phases
  std::vector<std::string> digests_;
  std::vector<JobIdClaim> claims_;
  std::vector<size_t> claimed_for_;  // claims_[k] is batch_[claimed_for_[k]]'s
  std::vector<Result<JobIdAnswer>> answers_;
  subjects::BindingRefusal refusal_;
  v1::RejectedMessage rejected_;
  policy::Evaluation evaluation_;
  policy::Evaluation shadow_evaluation_;
  v1::Job job_;
  v1::Job scrubbed_job_;        // job_ without secrets, for non-worker copies
  std::string scrubbed_bytes_;  // scrubbed_job_, serialized
  v1::Decision decision_;
  std::string job_bytes_;       // job_, serialized once per job
  std::string decision_bytes_;  // decision_, serialized once per job
  std::string body_;
  std::string id_prefix_;
  std::string target_;  // the job's target subject
  // REQUIRE_APPROVAL jobs of this batch, waiting for HoldAndRoute: slots [0, holds_used_).
  struct PendingHold {
    size_t plan = 0;  // index into plans_ (and batch_: the message it came in)
    v1::Job job;
    v1::Decision decision;
  };
  std::vector<PendingHold> holds_;
  size_t holds_used_ = 0;
  // A session's changes in this batch. A later job of the session in the batch is judged
  // by `state`: `base` with the batch's changes folded in, made only then (most sessions
  // have one job in a batch and are never copied). FlushSessions appends
  // session_changes_ to the store as one write. Slots [0, pending_sessions_used_) are in
  // use.
  struct PendingSession {
    SessionPtr base;  // the store's state before the batch; null when unknown
    // base with the batch's changes so far, on session_arena_; null until a later job
    // of the session in the batch needs it.
    v1::SessionState* state = nullptr;
    bool known = false;           // the store or the batch knows the session
    bool was_terminated = false;  // before this batch
    std::vector<size_t> plans;    // the jobs of the session judged in this batch
    std::vector<size_t> changes;  // its changes, as indexes into session_changes_
    Result<SessionPtr> stored = SessionPtr();  // what the store answered for it
  };
  std::vector<PendingSession> pending_sessions_;
  // The batch's materialized session states: made and dropped together, once a batch.
  google::protobuf::Arena session_arena_;
  size_t pending_sessions_used_ = 0;
  std::unordered_map<std::string, size_t> pending_index_;  // SessionStoreKey -> slot
  std::vector<v1::SessionChange> session_changes_;  // the batch's, in the order made
  std::vector<size_t> session_change_slots_;  // session_changes_[i] is pending_sessions_[slot]
  std::vector<Result<SessionPtr>> session_results_;
  std::vector<size_t> outbound_order_;
  std::vector<HoldRequest> hold_requests_;
  std::vector<Result<Held>> held_;
  DecisionIdSource decision_ids_;
  DecisionStampBuffer stamp_;
  DecisionCounts batch_counts_;                    // this batch's, for decision_stats
  std::vector<v1::DecisionRecord> batch_denials_;  // this batch's, for recent_denials

  // jobgate_decisions_total children by (verdict, deciding rule) for `counters_policy_`.
  std::shared_ptr<const policy::Policy> counters_policy_;
  std::unordered_map<int64_t, prometheus::Counter*> decision_counters_;
};

}  // namespace jobgate::gate
