#include "gate/core/dispatcher.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/hash.h"
#include "gate/core/deferred.h"
#include "gate/core/job_digest.h"
#include "policy/analysis/secrets.h"
#include "policy/session.h"
#include "subjects/codec.h"
#include "subjects/headers.h"

namespace jobgate::gate {
namespace {

// Protobuf wire format, for composing DispatchedJob and DecisionRecord from parts
// serialized once: a length-delimited field is tag, length, bytes, and concatenated
// fields parse as one message.
void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendField(uint32_t field, std::string_view bytes, std::string* out) {
  AppendVarint((uint64_t{field} << 3) | 2, out);  // wire type 2: length-delimited
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

// `text` as the gate may write it to a log or an audit record: any secret redacted.
std::string Scrubbed(std::string_view text) {
  const policy::SecretScanner& scanner = policy::SecretScanner::Default();
  return scanner.Contains(text) ? scanner.Redact(text, "", nullptr) : std::string(text);
}

void SetTimestamp(int64_t unix_ms, google::protobuf::Timestamp* ts) {
  ts->set_seconds(unix_ms / 1000);
  ts->set_nanos(static_cast<int32_t>((unix_ms % 1000) * 1'000'000));
}

}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options, Bus* bus, const Clock* clock,
                       const ActivePolicy* policy, RateLimiter* limiter,
                       metrics::GateMetrics* metrics, DispatcherSeams seams)
    : options_(std::move(options)),
      bus_(bus),
      clock_(clock),
      policy_(policy),
      limiter_(limiter),
      metrics_(metrics),
      seams_(seams),
      binding_{options_.prefixes.job, options_.tenant_from} {}

Result<Dispatcher::BatchStats> Dispatcher::RunOnce() {
  // Fail closed: without a policy nothing is fetched.
  if (policy_->Get() == nullptr) return FailedPrecondition("no active policy");
  // Nor without current session state.
  if (seams_.sessions != nullptr) {
    if (Status ready = seams_.sessions->Ready(); !ready.ok()) {
      if (seams_.session_metrics != nullptr) {
        seams_.session_metrics->store_errors.Add({{"kind", "stale"}}).Increment();
      }
      return FailedPrecondition("session state not current: " + ready.message());
    }
  }

  batch_.clear();
  JOBGATE_RETURN_IF_ERROR(bus_->Fetch(options_.batch_size, options_.fetch_timeout, &batch_));
  BatchStats stats;
  stats.fetched = batch_.size();
  if (batch_.empty()) return stats;
  // One snapshot for the whole batch, read after the fetch returned: a job that arrives
  // after a swap is judged by the new snapshot; a swap mid-batch applies from the next.
  const std::shared_ptr<const policy::Policy> policy = policy_->Get();
  if (policy == nullptr) {
    // Withdrawn while the fetch waited: nothing is judged without a policy (fail closed).
    for (const auto& message : batch_) {
      if (!message->NakWithDelay(options_.retry_delay).ok() && metrics_ != nullptr) {
        metrics_->publish_errors.Add({{"kind", "nak"}}).Increment();
      }
    }
    batch_.clear();
    return FailedPrecondition("no active policy");
  }
  const std::shared_ptr<const policy::Policy> shadow =
      seams_.shadow != nullptr ? seams_.shadow->Get() : nullptr;
  const auto received_at = clock_->Now();
  // (jobgate_queue_pending comes from consumer info, sampled by the daemon every second.)
  if (metrics_ != nullptr) metrics_->jobs_received.Increment(static_cast<double>(batch_.size()));

  plans_.assign(batch_.size(), Plan{});
  if (admitted_.size() < batch_.size()) admitted_.resize(batch_.size());
  outbound_used_ = 0;
  holds_used_ = 0;
  pending_sessions_used_ = 0;
  pending_index_.clear();
  session_changes_.clear();
  session_change_slots_.clear();
  // Three phases: bind every message to its arrival, claim the admitted jobs' ids in one
  // round trip, judge what is left.
  for (size_t i = 0; i < batch_.size(); ++i) {
    plans_[i].received_at = received_at;
    AdmitMessage(*batch_[i], &admitted_[i], &plans_[i]);
  }
  if (seams_.job_ids != nullptr) ClaimJobIds();
  for (size_t i = 0; i < batch_.size(); ++i) {
    if (plans_[i].kind != Plan::Kind::kJudge) continue;
    job_.Swap(&admitted_[i]);  // the next batch decodes into job_'s old allocations
    PlanMessage(*policy, shadow.get(), *batch_[i], &plans_[i]);
  }
  if (pending_sessions_used_ > 0) FlushSessions();
  if (holds_used_ > 0) HoldAndRoute();
  bus_->PublishBatch(std::span<const OutboundMessage>(outbound_.data(), outbound_used_),
                     options_.publish_timeout, &results_);
  for (size_t i = 0; i < batch_.size(); ++i) Finish(policy, *batch_[i], plans_[i], &stats);
  if (seams_.decision_stats != nullptr) seams_.decision_stats->Add(batch_counts_);
  if (seams_.recent_denials != nullptr) seams_.recent_denials->Add(&batch_denials_);
  batch_counts_ = DecisionCounts{};
  batch_denials_.clear();
  batch_.clear();
  return stats;
}

void Dispatcher::PlanRejection(InboundMessage& message, std::string reason, std::string error,
                               Plan* plan) {
  rejected_.Clear();
  rejected_.set_reason(std::move(reason));
  rejected_.set_error(std::move(error));
  PlanRejection(message, &rejected_, plan);
}

void Dispatcher::PlanRejection(InboundMessage& message, v1::RejectedMessage* rejected_in,
                               Plan* plan) {
  plan->kind = Plan::Kind::kReject;
  const std::string body_sha = jobgate::Sha256Hex(message.data());
  v1::RejectedMessage& rejected = *rejected_in;
  std::string reason = rejected.reason();
  // The record is audit: no field of it carries a secret raw (the error may quote the
  // body; claimed and bound values, ids and the subject are the sender's text).
  rejected.set_error(Scrubbed(rejected.error()));
  rejected.set_subject(Scrubbed(message.subject()));
  if (!rejected.claimed().empty()) rejected.set_claimed(Scrubbed(rejected.claimed()));
  if (!rejected.bound().empty()) rejected.set_bound(Scrubbed(rejected.bound()));
  if (!rejected.job_id().empty()) rejected.set_job_id(Scrubbed(rejected.job_id()));
  if (!rejected.tenant_id().empty()) rejected.set_tenant_id(Scrubbed(rejected.tenant_id()));
  rejected.set_size(message.data().size());
  rejected.set_body_sha256(body_sha);
  SetTimestamp(clock_->UnixMillis(), rejected.mutable_rejected_at());
  rejected.SerializeToString(&body_);
  const std::string msg_id =
      subjects::RejectionMessageId(message.subject(), message.header(subjects::kMsgIdHeader),
                                   message.stream_sequence(), body_sha);
  OutboundMessage& out = NextOutbound(plan);
  out.subject.assign(options_.prefixes.rejected);
  out.msg_id = msg_id;
  out.headers.clear();
  out.body.swap(body_);
  spdlog::debug("rejected message on {}: {}: {}", rejected.subject(), reason, rejected.error());
  plan->reject_reason = std::move(reason);
}

OutboundMessage& Dispatcher::NextOutbound(Plan* plan) {
  if (plan->outbound_count == 0) plan->first_outbound = outbound_used_;
  ++plan->outbound_count;
  if (outbound_used_ == outbound_.size()) outbound_.emplace_back();
  return outbound_[outbound_used_++];
}

void Dispatcher::JudgeShadow(const policy::Policy& policy, const policy::Policy& shadow) {
  shadow.Evaluate(job_, &shadow_evaluation_);
  v1::ShadowResult* result = decision_.mutable_shadow();
  result->set_decision(shadow_evaluation_.verdict);
  result->set_matched_rule(
      shadow_evaluation_.deciding_rule >= 0
          ? shadow.rule_id(static_cast<size_t>(shadow_evaluation_.deciding_rule))
          : std::string());
  result->set_snapshot(shadow.snapshot_name());
  result->set_snapshot_hash(shadow.hash());
  if (shadow_evaluation_.verdict != decision_.decision() && seams_.policy_metrics != nullptr) {
    seams_.policy_metrics->shadow_disagreements
        .Add({{"from", std::string(policy::VerdictName(decision_.decision()))},
              {"to", std::string(policy::VerdictName(shadow_evaluation_.verdict))}})
        .Increment();
  }
}

void Dispatcher::AdmitMessage(InboundMessage& message, v1::Job* job, Plan* plan) {
  const std::string_view subject = message.subject();
  if (message.data().size() > options_.max_message_bytes) {
    PlanRejection(message, "too_large",
                  "message of " + std::to_string(message.data().size()) +
                      " bytes exceeds the limit of " + std::to_string(options_.max_message_bytes),
                  plan);
    return;
  }
  const std::string_view rest = subjects::RestOf(subject, options_.prefixes.job);
  if (rest.empty()) {
    PlanRejection(message, "bad_subject",
                  "subject '" + std::string(subject) + "' has nothing after its first token", plan);
    return;
  }
  if (Status decoded = subjects::DecodeJobInto(
          message.data(), subjects::FormatFromContentType(message.header("Content-Type")), job);
      !decoded.ok()) {
    PlanRejection(message, "decode_error", decoded.message(), plan);
    return;
  }
  // A field that picks the route (or the subject it arrived on) cannot be rewritten
  // without sending the job elsewhere: a secret there refuses the job, before binding
  // (whose refusals would quote the field).
  const policy::SecretScanner& scanner = policy::SecretScanner::Default();
  std::string_view routing_field = scanner.RoutingFieldWithSecret(*job);
  if (routing_field.empty() && scanner.Contains(subject)) routing_field = "subject";
  if (!routing_field.empty()) {
    PlanRejection(message, "secret_in_routing_field",
                  "the job's " + std::string(routing_field) +
                      " holds a secret; a routing field is never rewritten, so the job is "
                      "refused",
                  plan);
    return;
  }
  if (Status s = subjects::BindJob(subject, binding_, job, &refusal_); !s.ok()) {
    // Refused before judgement: what the body claimed and what the arrival says.
    rejected_.Clear();
    rejected_.set_reason(refusal_.reason);
    rejected_.set_error(s.message());
    rejected_.set_field(refusal_.field);
    rejected_.set_claimed(refusal_.claimed);
    rejected_.set_bound(refusal_.bound);
    rejected_.set_job_id(job->job_id());
    rejected_.set_tenant_id(job->tenant_id());
    PlanRejection(message, &rejected_, plan);
    return;
  }
  plan->kind = Plan::Kind::kJudge;
}

void Dispatcher::ClaimJobIds() {
  claims_.clear();
  claimed_for_.clear();
  if (digests_.size() < batch_.size()) digests_.resize(batch_.size());
  for (size_t i = 0; i < batch_.size(); ++i) {
    if (plans_[i].kind != Plan::Kind::kJudge) continue;
    digests_[i] = JobDigest(admitted_[i]);
    claims_.push_back(JobIdClaim{admitted_[i].tenant_id(), admitted_[i].job_id(), digests_[i]});
    claimed_for_.push_back(i);
  }
  if (claims_.empty()) return;
  seams_.job_ids->ClaimMany(claims_, &answers_);
  size_t unclaimed = 0;
  const Status* first_error = nullptr;
  for (size_t k = 0; k < claimed_for_.size(); ++k) {
    const size_t i = claimed_for_[k];
    Plan* plan = &plans_[i];
    const v1::Job& job = admitted_[i];
    if (k >= answers_.size() || !answers_[k].ok()) {
      // Fail closed: a job whose id could not be checked is not judged now.
      plan->kind = Plan::Kind::kRetry;
      plan->retry_kind = "job_ids";
      plan->nak_delay = options_.retry_delay;
      ++unclaimed;
      if (first_error == nullptr && k < answers_.size()) first_error = &answers_[k].status();
      continue;
    }
    if (!answers_[k]->conflict) continue;  // first use, or a retry of the same job
    rejected_.Clear();
    rejected_.set_reason("idempotency_conflict");
    rejected_.set_error("job id '" + job.job_id() + "' of tenant '" + job.tenant_id() +
                        "' was first used by a job with other content");
    rejected_.set_job_id(job.job_id());
    rejected_.set_tenant_id(job.tenant_id());
    rejected_.set_job_digest(digests_[i]);
    rejected_.set_first_digest(answers_[k]->first_digest);
    PlanRejection(*batch_[i], &rejected_, plan);
  }
  if (unclaimed > 0) {
    // One line per batch, not per job: a store that is down fails every claim.
    spdlog::warn("{} job(s) left for redelivery: their ids could not be claimed: {}", unclaimed,
                 first_error != nullptr ? first_error->ToString() : "no answer");
  }
}

void Dispatcher::PlanMessage(const policy::Policy& policy, const policy::Policy* shadow,
                             InboundMessage& message, Plan* plan) {
  // The session's history, from the store's in-memory copy (no round trip).
  std::string session;
  std::string session_key;
  SessionPtr session_state;
  if (seams_.sessions != nullptr) {
    session = policy::SessionOf(job_);
    if (!session.empty()) {
      session_key = SessionStoreKey(job_.tenant_id(), session);
      session_state = SessionStateFor(session_key, job_.tenant_id(), session);
    }
  }
  Decide(policy, session_state.get());
  const v1::Verdict verdict = decision_.decision();
  // Recorded before the job's redaction (whose markers would hide its targets) and
  // before anything is published.
  if (!session.empty()) {
    RecordInSession(session_key, session, session_state, job_,
                    static_cast<size_t>(plan - plans_.data()));
  }
  // The decision's own redaction effects apply to every copy of the job.
  policy.Redact(evaluation_, &job_, &decision_);
  if (shadow != nullptr) JudgeShadow(policy, *shadow);

  if (verdict == v1::THROTTLE && limiter_ != nullptr && PlanOverRate(message, plan)) return;
  plan->kind = Plan::Kind::kRoute;
  plan->verdict = verdict;
  plan->deciding_rule = evaluation_.deciding_rule;
  if (verdict == v1::REQUIRE_APPROVAL && seams_.approvals != nullptr) {
    PlanHold(message, plan);
    return;
  }
  PlanRoute(job_, decision_, message, nullptr, plan);
}

void Dispatcher::Decide(const policy::Policy& policy, const v1::SessionState* session_state) {
  const policy::SessionContext session_context{session_state, clock_->UnixMillis()};
  const auto eval_start = clock_->Now();
  policy.Evaluate(job_, session_context, &evaluation_);
  if (metrics_ != nullptr) {
    metrics_->evaluation_seconds.Observe(
        std::chrono::duration<double>(clock_->Now() - eval_start).count());
  }
  decision_ids_.Next(&stamp_.stamp.decision_id);
  stamp_.stamp.evaluated_at_unix_ms = clock_->UnixMillis();
  policy.FillDecision(job_, evaluation_, stamp_.stamp, &decision_);
  if (session_state != nullptr) {
    policy.FillSessionFacts(job_, evaluation_, session_context, &decision_);
    if (session_state->status() == v1::SessionState::TERMINATED) {
      policy::DecideTerminated(*session_state, &decision_);
      if (seams_.session_metrics != nullptr) seams_.session_metrics->jobs_terminated.Increment();
    }
  }
  EnforceableDecision(&decision_);
}

bool Dispatcher::PlanOverRate(InboundMessage& message, Plan* plan) {
  const bool defer = !options_.deferred_prefix.empty();
  if (defer && !decision_.throttle().empty() && message.redelivered()) {
    PlanPark(message, std::string(), plan);
    return true;
  }
  RateLimiter::Admission admission = limiter_->Acquire(job_, decision_.throttle());
  if (admission.admitted) return false;
  if (defer) {
    PlanPark(message, std::move(admission.limiting_rule), plan);
    return true;
  }
  plan->kind = Plan::Kind::kThrottle;
  plan->nak_delay = std::clamp(admission.retry_after, std::chrono::milliseconds(50),
                               std::chrono::milliseconds(60'000));
  plan->reject_reason = std::move(admission.limiting_rule);
  spdlog::debug("job {} over its rate; redelivery in {} ms", job_.job_id(),
                plan->nak_delay.count());
  return true;
}

void Dispatcher::PlanHold(InboundMessage& message, Plan* plan) {
  // Held in the shared store before anything is published (a job is never waiting for
  // approval without a record any replica can serve); the batch's holds are written
  // together once every message is judged (HoldAndRoute).
  // Its record (job, decision, binding) must fit a KV value, or the store refuses it on
  // every redelivery.
  if (options_.max_publish_bytes > 0 &&
      RejectIfUnpublishable(
          message, job_.ByteSizeLong() + decision_.ByteSizeLong() + message.subject().size() + 1024,
          "approval record", plan)) {
    return;
  }
  if (holds_used_ == holds_.size()) holds_.emplace_back();
  PendingHold& hold = holds_[holds_used_++];
  hold.plan = static_cast<size_t>(plan - plans_.data());
  hold.job.Swap(&job_);  // job_'s next decode reuses the held-over allocations
  hold.decision.Swap(&decision_);
}

SessionPtr Dispatcher::SessionStateFor(const std::string& key, const std::string& tenant_id,
                                       const std::string& session) {
  if (pending_sessions_used_ > 0) {
    auto it = pending_index_.find(key);
    if (it != pending_index_.end()) {
      PendingSession& pending = pending_sessions_[it->second];
      if (pending.state == nullptr) Materialize(&pending, tenant_id, session);
      // Not owned: the state lives on session_arena_ until the batch's sessions are released.
      return SessionPtr(SessionPtr(), pending.state);
    }
  }
  return seams_.sessions->FindKey(key);
}

void Dispatcher::Materialize(PendingSession* pending, const std::string& tenant_id,
                             const std::string& session) {
  const int64_t first_at = pending->changes.empty()
                               ? clock_->UnixMillis()
                               : session_changes_[pending->changes.front()].at_unix_ms();
  pending->state = google::protobuf::Arena::CreateMessage<v1::SessionState>(&session_arena_);
  if (pending->base != nullptr) {
    pending->state->CopyFrom(*pending->base);
  } else {
    pending->state->CopyFrom(NewSessionState(tenant_id, session, first_at));
  }
  bool known = pending->base != nullptr;
  for (size_t i : pending->changes) {
    known |= policy::ApplySessionChange(session_changes_[i], options_.session_recording, known,
                                        pending->state);
  }
}

void Dispatcher::RecordInSession(const std::string& key, const std::string& session,
                                 const SessionPtr& current, const v1::Job& judged, size_t plan) {
  const v1::Verdict verdict = decision_.decision();
  const bool terminated = current != nullptr && current->status() == v1::SessionState::TERMINATED;
  if (!policy::IsNotable(verdict) && !terminated) return;  // nothing to record
  auto it = pending_index_.find(key);
  if (it == pending_index_.end()) {
    if (pending_sessions_used_ == pending_sessions_.size()) pending_sessions_.emplace_back();
    PendingSession& fresh = pending_sessions_[pending_sessions_used_];
    fresh.base = current;
    fresh.state = nullptr;
    fresh.known = current != nullptr;
    fresh.was_terminated = terminated;
    fresh.plans.clear();
    fresh.changes.clear();
    fresh.stored = SessionPtr();
    it = pending_index_.emplace(key, pending_sessions_used_++).first;
  }
  PendingSession& pending = pending_sessions_[it->second];
  pending.plans.push_back(plan);
  // The targets are kept in a shared store: none carries a secret raw.
  std::vector<std::string> targets;
  if (policy::IsDenial(verdict) && !terminated) {
    targets = policy::JobTargets(judged);
    for (std::string& target : targets) target = Scrubbed(target);
  }
  v1::SessionChange change =
      policy::DecisionChange(judged.tenant_id(), session, judged, decision_, std::move(targets),
                             current.get(), clock_->UnixMillis());
  // A change that changes nothing (a terminated session touched a moment ago, a
  // redelivered decision) is not written.
  static const v1::SessionState kUnknown;
  const v1::SessionState& view = current != nullptr ? *current : kUnknown;
  if (!policy::SessionChangeMatters(change, options_.session_recording, pending.known, view)) {
    return;
  }
  if (pending.state != nullptr) {
    policy::ApplySessionChange(change, options_.session_recording, pending.known, pending.state);
  }
  pending.known = true;
  pending.changes.push_back(session_changes_.size());
  session_changes_.push_back(std::move(change));
  session_change_slots_.push_back(it->second);
}

void Dispatcher::FlushSessions() {
  // The batch no longer reads its sessions: the store's states it held are let go before
  // the store folds the changes, so the fold can change them in place.
  DropSessionViews();
  if (session_changes_.empty()) {
    ReleaseSessions();
    return;
  }
  seams_.sessions->Apply(session_changes_, &session_results_);
  for (size_t i = 0; i < session_changes_.size(); ++i) {
    Result<SessionPtr>& stored = pending_sessions_[session_change_slots_[i]].stored;
    if (stored.ok()) stored = std::move(session_results_[i]);  // the first failure stays
  }
  bool retried = false;
  for (size_t slot = 0; slot < pending_sessions_used_; ++slot) {
    const PendingSession& pending = pending_sessions_[slot];
    if (!pending.stored.ok()) {
      retried = true;
      if (seams_.session_metrics != nullptr) {
        seams_.session_metrics->store_errors.Add({{"kind", "write"}}).Increment();
      }
      spdlog::warn(
          "{} job(s) of a session left for redelivery: the session could not be "
          "recorded: {}",
          pending.plans.size(), pending.stored.status().ToString());
      for (size_t plan : pending.plans) {
        plans_[plan].kind = Plan::Kind::kRetry;
        plans_[plan].retry_kind = "session_store";
        plans_[plan].nak_delay = options_.retry_delay;
      }
      continue;
    }
    CountTermination(slot);
  }
  ReleaseSessions();
  if (retried) DropRetriedOutbound();
}

void Dispatcher::DropSessionViews() {
  for (size_t slot = 0; slot < pending_sessions_used_; ++slot) {
    pending_sessions_[slot].base = nullptr;
    pending_sessions_[slot].state = nullptr;
  }
  session_arena_.Reset();
}

void Dispatcher::ReleaseSessions() {
  session_results_.clear();
  for (size_t slot = 0; slot < pending_sessions_used_; ++slot) {
    pending_sessions_[slot].stored = SessionPtr();
  }
}

void Dispatcher::CountTermination(size_t slot) {
  const PendingSession& pending = pending_sessions_[slot];
  const SessionPtr& state = *pending.stored;
  if (seams_.session_metrics == nullptr || pending.was_terminated || state == nullptr ||
      state->status() != v1::SessionState::TERMINATED) {
    return;
  }
  for (size_t i = 0; i < session_changes_.size(); ++i) {
    if (session_change_slots_[i] == slot &&
        session_changes_[i].decision().job_id() == state->terminated_job_id()) {
      seams_.session_metrics->terminations.Add({{"by", state->terminated_by()}}).Increment();
      return;
    }
  }
}

void Dispatcher::DropRetriedOutbound() {
  outbound_order_.clear();
  for (size_t i = 0; i < plans_.size(); ++i) {
    if (plans_[i].outbound_count > 0) outbound_order_.push_back(i);
  }
  std::sort(outbound_order_.begin(), outbound_order_.end(), [this](size_t a, size_t b) {
    return plans_[a].first_outbound < plans_[b].first_outbound;
  });
  // Moves each kept job's publishes down over the dropped ones, in order (the ranges are
  // disjoint, so a move never overwrites a publish still to be moved).
  size_t used = 0;
  for (size_t i : outbound_order_) {
    Plan& plan = plans_[i];
    if (plan.kind == Plan::Kind::kRetry) {
      plan.outbound_count = 0;
      continue;
    }
    for (size_t k = 0; k < plan.outbound_count && plan.first_outbound != used; ++k) {
      std::swap(outbound_[used + k], outbound_[plan.first_outbound + k]);
    }
    plan.first_outbound = used;
    used += plan.outbound_count;
  }
  outbound_used_ = used;
}

void Dispatcher::PlanPark(InboundMessage& message, std::string rule, Plan* plan) {
  const v1::Rate* limiting = &decision_.throttle(0);
  for (const v1::Rate& rate : decision_.throttle()) {
    if (rate.rule() == rule) {
      limiting = &rate;
      break;
    }
  }
  std::string msg_id = subjects::MessageId(job_.tenant_id(), job_.job_id(), subjects::kParkTarget);
  // The job waits as it came (its worker may need what it carries), sealed when a key is
  // configured: bound to its park's msg id, so its bytes open for no other job.
  Result<Sealed> sealed = Sealed{};
  if (seams_.park_sealer != nullptr) {
    sealed = seams_.park_sealer->Seal(message.data(), msg_id);
    if (!sealed.ok()) {
      spdlog::error("job {} over its rate not parked: {}", job_.job_id(),
                    sealed.status().ToString());
      plan->kind = Plan::Kind::kRetry;
      plan->retry_kind = "park";
      plan->nak_delay = options_.retry_delay;
      return;
    }
  }
  plan->kind = Plan::Kind::kPark;
  plan->reject_reason = rule.empty() ? limiting->rule() : std::move(rule);
  OutboundMessage& park = NextOutbound(plan);
  park.subject.assign(options_.deferred_prefix)
      .append(".")
      .append(DeferredKeyToken(limiting->rule(), RateKeyValue(job_, limiting->key())));
  park.msg_id = std::move(msg_id);
  park.headers.clear();
  park.headers.emplace_back(subjects::kArrivalSubjectHeader, std::string(message.subject()));
  if (const std::string_view type = message.header(kContentTypeHeader); !type.empty()) {
    park.headers.emplace_back(kContentTypeHeader, std::string(type));
  }
  if (seams_.park_sealer != nullptr) {
    park.headers.emplace_back(subjects::kSealedKeyHeader, std::move(sealed->key_id));
    park.body = std::move(sealed->blob);
  } else {
    park.body.assign(message.data());
  }
  spdlog::debug("job {} over its rate; parked on {}", job_.job_id(), park.subject);
}

bool Dispatcher::RejectIfUnpublishable(InboundMessage& message, size_t bytes, const char* what,
                                       Plan* plan) {
  if (options_.max_publish_bytes == 0 || bytes <= options_.max_publish_bytes) return false;
  PlanRejection(message, "too_large",
                std::string("judged, but its ") + what + " of " + std::to_string(bytes) +
                    " bytes exceeds the server's max_payload of " +
                    std::to_string(options_.max_publish_bytes),
                plan);
  return true;
}

void Dispatcher::HoldAndRoute() {
  // Holds of jobs whose session could not be recorded are not written.
  size_t kept = 0;
  for (size_t i = 0; i < holds_used_; ++i) {
    if (plans_[holds_[i].plan].kind == Plan::Kind::kRetry) continue;
    if (i != kept) std::swap(holds_[kept], holds_[i]);
    ++kept;
  }
  holds_used_ = kept;
  if (holds_used_ == 0) return;
  hold_requests_.clear();
  for (size_t i = 0; i < holds_used_; ++i) {
    hold_requests_.push_back(
        HoldRequest{&holds_[i].job, &holds_[i].decision, batch_[holds_[i].plan]->subject()});
  }
  seams_.approvals->HoldMany(hold_requests_, &held_);
  for (size_t i = 0; i < holds_used_; ++i) {
    PendingHold& hold = holds_[i];
    Plan* plan = &plans_[hold.plan];
    if (!held_[i].ok()) {
      plan->kind = Plan::Kind::kRetry;
      plan->retry_kind = "approval_store";
      plan->nak_delay = options_.retry_delay;
      spdlog::warn("job {} not held for approval, left for redelivery: {}", hold.job.job_id(),
                   held_[i].status().ToString());
      continue;
    }
    PlanRoute(hold.job, hold.decision, *batch_[hold.plan], &*held_[i], plan);
  }
}

void Dispatcher::PlanRoute(const v1::Job& job, const v1::Decision& decision,
                           InboundMessage& message, const Held* held, Plan* plan) {
  const std::string_view subject = message.subject();
  const std::string_view rest = subjects::RestOf(subject, options_.prefixes.job);
  const v1::Verdict verdict = decision.decision();
  // Per-job subjects are written into buffers reused across jobs, not allocated.
  subjects::JoinInto(TargetPrefix(options_.prefixes, verdict), rest, &target_);
  const std::string& target = target_;
  const bool to_worker = policy::RoutesToWorker(verdict);

  job.SerializeToString(&job_bytes_);
  // Copies that are not for a worker never carry a raw secret.
  const std::string* audit_job_bytes = &job_bytes_;
  const v1::Job* audit_job = &job;
  if (policy::SecretScanner::Default().ContainsSecret(job)) {
    scrubbed_job_ = job;
    policy::SecretScanner::Default().RedactJob(&scrubbed_job_, nullptr);
    scrubbed_job_.SerializeToString(&scrubbed_bytes_);
    audit_job_bytes = &scrubbed_bytes_;
    audit_job = &scrubbed_job_;
  }
  decision.SerializeToString(&decision_bytes_);
  // Decision.job_hash (field 19): the digest of the job as the record shows it. Appended
  // to the bytes rather than set on the (shared, const) decision.
  if (decision.job_hash().empty()) AppendField(19, JobDigest(*audit_job), &decision_bytes_);
  subjects::MessageIdPrefix(job.tenant_id(), job.job_id(), &id_prefix_);

  // DispatchedJob {1: job, 2: decision, 3: approval}. A held job whose approval is already
  // resolved (a late redelivery) is not requested again.
  if (held == nullptr || held->request_due) {
    OutboundMessage& dispatch = NextOutbound(plan);
    dispatch.subject.assign(target);
    dispatch.msg_id.assign(id_prefix_).append(subjects::kDispatchTarget);
    SetDecisionHeaders(decision, &dispatch);
    dispatch.body.clear();
    AppendField(1, to_worker ? job_bytes_ : *audit_job_bytes, &dispatch.body);
    AppendField(2, decision_bytes_, &dispatch.body);
    if (held != nullptr) {
      AppendField(3, held->approval.approval().SerializeAsString(), &dispatch.body);
    }
  }

  // DecisionRecord {1: decision, 2: subject, 3: routed_to, 4: job}
  plan->record_outbound = outbound_used_;
  OutboundMessage& record = NextOutbound(plan);
  subjects::JoinInto(options_.prefixes.decisions, rest, &record.subject);
  record.msg_id.assign(id_prefix_).append(subjects::kDecisionTarget);
  record.headers.clear();  // the record's body carries the decision
  record.body.clear();
  AppendField(1, decision_bytes_, &record.body);
  AppendField(2, subject, &record.body);
  AppendField(3, target, &record.body);
  AppendField(4, *audit_job_bytes, &record.body);
  if (verdict == v1::ALERT || verdict == v1::TERMINATE) {
    std::string body_copy = record.body;  // before NextOutbound, which may move `record`
    OutboundMessage& alert = NextOutbound(plan);
    subjects::JoinInto(options_.prefixes.alert, rest, &alert.subject);
    alert.msg_id.assign(id_prefix_).append(subjects::kAlertTarget);
    alert.headers.clear();
    alert.body.swap(body_copy);
  }
  if (options_.max_publish_bytes > 0) {
    const size_t largest = LargestPublish(*plan);
    if (largest > options_.max_publish_bytes) {
      outbound_used_ = plan->first_outbound;  // this plan's messages were the last ones
      plan->outbound_count = 0;
      RejectIfUnpublishable(message, largest, "dispatched copy", plan);
      return;
    }
  }
  spdlog::debug("job {} on {}: {} -> {}", job.job_id(), subject, policy::VerdictName(verdict),
                target);
}

size_t Dispatcher::LargestPublish(const Plan& plan) const {
  // What the server counts against max_payload: headers ("NATS/1.0\r\n", a line per
  // header, "\r\n") and body.
  size_t largest = 0;
  for (size_t i = plan.first_outbound; i < plan.first_outbound + plan.outbound_count; ++i) {
    const OutboundMessage& out = outbound_[i];
    size_t bytes = out.body.size() + 12 + out.msg_id.size() + 15;  // + Nats-Msg-Id line
    for (const auto& [key, value] : out.headers) bytes += key.size() + value.size() + 4;
    largest = std::max(largest, bytes);
  }
  return largest;
}

prometheus::Counter* Dispatcher::DecisionCounter(
    const std::shared_ptr<const policy::Policy>& policy, v1::Verdict verdict, int rule) {
  if (counters_policy_ != policy) {
    counters_policy_ = policy;
    decision_counters_.clear();
  }
  const int64_t key = (int64_t{verdict} << 32) | static_cast<uint32_t>(rule + 1);
  auto [it, inserted] = decision_counters_.try_emplace(key, nullptr);
  if (inserted) {
    const std::string rule_id =
        rule >= 0 && static_cast<size_t>(rule) < policy->rule_count() ? policy->rule_id(rule) : "";
    it->second = &metrics_->decisions.Add(
        {{"decision", std::string(policy::VerdictName(verdict))}, {"rule", rule_id}});
  }
  return it->second;
}

void Dispatcher::Finish(const std::shared_ptr<const policy::Policy>& policy,
                        InboundMessage& message, const Plan& plan, BatchStats* stats) {
  if (plan.kind == Plan::Kind::kRetry) {
    ++stats->retried;
    if (metrics_ != nullptr) metrics_->publish_errors.Add({{"kind", plan.retry_kind}}).Increment();
    if (Status s = message.NakWithDelay(plan.nak_delay); !s.ok() && metrics_ != nullptr) {
      metrics_->publish_errors.Add({{"kind", "nak"}}).Increment();
    }
    return;
  }
  if (plan.kind == Plan::Kind::kThrottle) {
    ++stats->throttled;
    if (metrics_ != nullptr) metrics_->throttled.Add({{"rule", plan.reject_reason}}).Increment();
    if (Status s = message.NakWithDelay(plan.nak_delay); !s.ok()) {
      spdlog::debug("nak of a throttled job failed: {}", s.ToString());
      if (metrics_ != nullptr) metrics_->publish_errors.Add({{"kind", "nak"}}).Increment();
    }
    return;
  }

  size_t failed = 0;
  const Status* first_error = nullptr;
  for (size_t i = plan.first_outbound; i < plan.first_outbound + plan.outbound_count; ++i) {
    if (!results_[i].ok()) {
      ++failed;
      if (first_error == nullptr) first_error = &results_[i];
    }
  }
  if (failed > 0) {
    // Not everything this job needs is stored: leave it for redelivery. Its publishes that
    // did succeed are deduplicated by msg id when it comes back.
    ++stats->retried;
    spdlog::debug("publish failed on {}: {}; left for redelivery", Scrubbed(message.subject()),
                  Scrubbed(first_error->ToString()));
    if (metrics_ != nullptr) {
      metrics_->publish_errors.Add({{"kind", "publish"}}).Increment(static_cast<double>(failed));
    }
    if (Status s = message.NakWithDelay(options_.retry_delay); !s.ok() && metrics_ != nullptr) {
      metrics_->publish_errors.Add({{"kind", "nak"}}).Increment();
    }
    return;
  }

  if (Status s = message.Ack(); !s.ok()) {
    // The message will come back after AckWait; its publishes deduplicate.
    spdlog::debug("ack failed on {}: {}", Scrubbed(message.subject()), s.ToString());
    if (metrics_ != nullptr) metrics_->publish_errors.Add({{"kind", "ack"}}).Increment();
  }
  if (plan.kind == Plan::Kind::kPark) {
    ++stats->parked;
    if (metrics_ != nullptr) metrics_->throttled.Add({{"rule", plan.reject_reason}}).Increment();
    return;
  }
  if (plan.kind == Plan::Kind::kReject) {
    ++stats->rejected;
    batch_counts_.Add(DecisionCounts::kRejected);
    if (metrics_ != nullptr)
      metrics_->rejected_jobs.Add({{"reason", plan.reject_reason}}).Increment();
    return;
  }
  ++stats->dispatched;
  Observe(plan);
  if (metrics_ != nullptr) {
    DecisionCounter(policy, plan.verdict, plan.deciding_rule)->Increment();
    metrics_->dispatch_seconds.Observe(
        std::chrono::duration<double>(clock_->Now() - plan.received_at).count());
  }
}

void Dispatcher::Observe(const Plan& plan) {
  batch_counts_.Add(plan.verdict);
  if (seams_.recent_denials == nullptr) return;
  if (plan.verdict != v1::DENY && plan.verdict != v1::TERMINATE) return;
  if (plan.record_outbound >= outbound_used_) return;
  v1::DecisionRecord record;
  if (!record.ParseFromString(outbound_[plan.record_outbound].body)) return;
  batch_denials_.push_back(RecentDenials::Trimmed(record));
}

}  // namespace jobgate::gate
