#include "policy/session.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "policy/compile/model.h"
#include "policy/analysis/path.h"

namespace jobgate::policy {
namespace {

using google::protobuf::Value;
using google::protobuf::util::TimeUtil;

std::string_view StringArg(const v1::Job& job, const char* key) {
  if (!job.has_args()) return {};
  auto it = job.args().fields().find(key);
  if (it == job.args().fields().end() || it->second.kind_case() != Value::kStringValue) return {};
  return it->second.string_value();
}

// args.path made absolute against args.cwd when it is relative and the cwd is known.
std::string AbsolutePath(std::string_view cwd, const std::string& path) {
  if (!path.empty() && path.front() != '/' && !cwd.empty() && cwd.front() == '/') {
    return NormalizePath(std::string(cwd) + "/" + path);
  }
  return path;
}

}  // namespace

std::string SessionOf(const v1::Job& job) {
  if (!job.actor().session_id().empty()) return "session:" + job.actor().session_id();
  if (!job.actor().agent_id().empty()) return "agent:" + job.actor().agent_id();
  return {};
}

bool IsDenial(v1::Verdict verdict) { return verdict == v1::DENY || verdict == v1::TERMINATE; }

bool IsNotable(v1::Verdict verdict) {
  return verdict != v1::ALLOW && verdict != v1::ALLOW_WITH_CONSTRAINTS &&
         verdict != v1::THROTTLE && verdict != v1::VERDICT_UNSPECIFIED;
}

const std::vector<std::string>& ActionAnalysis::Targets(const v1::Job& job) {
  if (targets_done) return targets;
  targets_done = true;
  targets.clear();
  auto add = [this](std::string_view kind, std::string_view value) {
    if (value.empty()) return;
    std::string target(kind);
    target.append(value);
    targets.push_back(std::move(target));
  };
  const std::string_view cwd = StringArg(job, "cwd");
  bool present = false;
  for (const std::string& path : Paths(job, &present)) add(kPathTarget, AbsolutePath(cwd, path));
  const CommandEffects& fx = Effects(job);
  for (const auto* list : {&fx.reads, &fx.writes, &fx.deletes}) {
    for (const PathEffect& e : *list) add(kPathTarget, e.path);
  }
  for (const std::string& host : Hosts(job)) add(kHostTarget, host);
  for (const SimpleCommand& cmd : Command(job).commands) add(kProgramTarget, cmd.program);
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  return targets;
}

std::vector<std::string> JobTargets(const v1::Job& job, size_t limit) {
  ActionAnalysis analysis;
  std::vector<std::string> out = analysis.Targets(job);
  if (out.size() > limit) out.resize(limit);
  return out;
}

void RecordSessionEvent(const v1::SessionEvent& event, int64_t now_unix_ms, int64_t keep_ms,
                        size_t max_events, v1::SessionState* state) {
  auto* events = state->mutable_events();
  const int64_t oldest = now_unix_ms - keep_ms;
  int drop = 0;
  while (drop < events->size() &&
         TimeUtil::TimestampToMilliseconds(events->Get(drop).at()) < oldest) {
    ++drop;
  }
  *events->Add() = event;
  const int excess = events->size() - static_cast<int>(max_events);
  drop = std::max(drop, excess);
  if (drop > 0) events->DeleteSubrange(0, drop);
  (*state->mutable_decisions())[std::string(VerdictName(event.decision()))] += 1;
}

namespace {

bool AlreadyRecorded(const v1::SessionState& state, const std::string& job_id,
                     v1::Verdict verdict) {
  return std::any_of(state.events().begin(), state.events().end(), [&](const v1::SessionEvent& e) {
    return e.job_id() == job_id && e.decision() == verdict;
  });
}

std::string FormatTime(const google::protobuf::Timestamp& at) {
  return TimeUtil::ToString(at);
}

}  // namespace

v1::SessionChange DecisionChange(std::string_view tenant_id, std::string_view session,
                                 const v1::Job& job, const v1::Decision& decision,
                                 std::vector<std::string> targets,
                                 const v1::SessionState* current, int64_t now_unix_ms) {
  v1::SessionChange change;
  change.set_tenant_id(std::string(tenant_id));
  change.set_session(std::string(session));
  change.set_at_unix_ms(now_unix_ms);
  v1::SessionDecision* recorded = change.mutable_decision();
  recorded->set_job_id(job.job_id());
  recorded->set_agent_id(job.actor().agent_id());
  recorded->set_decision(decision.decision());
  recorded->set_rule(decision.matched_rule());
  recorded->set_reason(decision.reason());
  recorded->set_snapshot(decision.snapshot());
  for (std::string& target : targets) recorded->add_targets(std::move(target));
  if (current != nullptr && current->status() == v1::SessionState::TERMINATED) {
    v1::SessionTermination* termination = recorded->mutable_termination();
    termination->set_by(current->terminated_by());
    termination->set_reason(current->terminated_reason());
    *termination->mutable_at() = current->terminated_at();
    termination->set_snapshot(current->terminated_snapshot());
    termination->set_job_id(current->terminated_job_id());
  }
  return change;
}

namespace {

// Folds a judged job's decision that SessionChangeMatters admitted: a terminated session
// has its last_seen refreshed; else the decision becomes an event, and a TERMINATE ends
// the session.
void FoldDecision(const v1::SessionDecision& decision, int64_t now_unix_ms,
                  const SessionRecording& options, v1::SessionState* state) {
  const auto now = TimeUtil::MillisecondsToTimestamp(now_unix_ms);
  if (state->agent_id().empty() && !decision.agent_id().empty()) {
    state->set_agent_id(decision.agent_id());
  }
  *state->mutable_last_seen() = now;
  if (state->status() == v1::SessionState::TERMINATED) return;
  const v1::Verdict verdict = decision.decision();
  v1::SessionEvent event;
  event.set_decision(verdict);
  *event.mutable_at() = now;
  event.set_rule(decision.rule());
  event.set_job_id(decision.job_id());
  *event.mutable_targets() = decision.targets();
  RecordSessionEvent(event, now_unix_ms, options.keep_ms, options.max_events, state);
  if (verdict == v1::TERMINATE) {
    state->set_status(v1::SessionState::TERMINATED);
    state->set_terminated_by("rule:" + decision.rule());
    state->set_terminated_reason(decision.reason());
    *state->mutable_terminated_at() = now;
    state->set_terminated_snapshot(decision.snapshot());
    state->set_terminated_job_id(decision.job_id());
  }
}

// A session first seen through a job judged under its termination: terminated as that
// job was told.
void AdoptTermination(const v1::SessionTermination& termination, v1::SessionState* state) {
  state->set_status(v1::SessionState::TERMINATED);
  state->set_terminated_by(termination.by());
  state->set_terminated_reason(termination.reason());
  *state->mutable_terminated_at() = termination.at();
  state->set_terminated_snapshot(termination.snapshot());
  state->set_terminated_job_id(termination.job_id());
}

}  // namespace

bool SessionChangeMatters(const v1::SessionChange& change, const SessionRecording& options,
                          bool known, const v1::SessionState& state) {
  const bool terminated = state.status() == v1::SessionState::TERMINATED;
  switch (change.change_case()) {
    case v1::SessionChange::kDecision: {
      const v1::SessionDecision& decision = change.decision();
      if (decision.has_termination()) {
        if (!known) return true;
        if (!terminated) return false;
      }
      if (terminated) {
        return change.at_unix_ms() - TimeUtil::TimestampToMilliseconds(state.last_seen()) >=
               options.touch_ms;
      }
      return IsNotable(decision.decision()) &&
             !AlreadyRecorded(state, decision.job_id(), decision.decision());
    }
    case v1::SessionChange::kTerminate:
      return !terminated;
    case v1::SessionChange::kRestore:
      return terminated;
    case v1::SessionChange::CHANGE_NOT_SET:
      return false;
  }
  return false;
}

bool ApplySessionChange(const v1::SessionChange& change, const SessionRecording& options,
                        bool known, v1::SessionState* state) {
  if (!SessionChangeMatters(change, options, known, *state)) return false;
  const int64_t at = change.at_unix_ms();
  switch (change.change_case()) {
    case v1::SessionChange::kDecision: {
      const v1::SessionDecision& decision = change.decision();
      if (decision.has_termination()) {
        // Judged under a termination: it ends an unknown session (whose termination left
        // the log), touches a terminated one, and is stale for one restored since.
        if (!known) {
          AdoptTermination(decision.termination(), state);
          FoldDecision(decision, at, options, state);
          return true;
        }
        if (state->status() != v1::SessionState::TERMINATED) return false;
      }
      FoldDecision(decision, at, options, state);
      return true;
    }
    case v1::SessionChange::kTerminate:
      return TerminateByOperator(change.terminate().operator_name(), change.terminate().reason(),
                                 at, state);
    case v1::SessionChange::kRestore:
      return RestoreByOperator(change.restore().operator_name(), change.restore().reason(), at,
                               state);
    case v1::SessionChange::CHANGE_NOT_SET:
      return false;
  }
  return false;
}

bool RecordDecision(const v1::Job& job, const v1::Decision& decision,
                    const std::vector<std::string>& targets, int64_t now_unix_ms,
                    const SessionRecording& options, v1::SessionState* state) {
  const v1::SessionChange change = DecisionChange(state->tenant_id(), state->session(), job,
                                                  decision, targets, /*current=*/nullptr,
                                                  now_unix_ms);
  return ApplySessionChange(change, options, /*known=*/true, state);
}

void DecideTerminated(const v1::SessionState& state, v1::Decision* decision) {
  decision->set_decision(v1::TERMINATE);
  decision->set_reason("session " + state.session() + " was terminated by " +
                       state.terminated_by() + " at " + FormatTime(state.terminated_at()) +
                       (state.terminated_reason().empty() ? std::string()
                                                          : ": " + state.terminated_reason()));
  decision->set_risk_score(std::max(decision->risk_score(), 100));
  // The job goes to audit.denied: nothing of what would have let it through applies.
  decision->clear_throttle();
  decision->clear_approver_role();
  decision->clear_approval_ttl_sec();
  v1::SessionFacts* facts = decision->mutable_session();
  facts->set_session(state.session());
  facts->set_terminated(true);
}

bool TerminateByOperator(std::string_view operator_name, std::string_view reason,
                         int64_t now_unix_ms, v1::SessionState* state) {
  if (state->status() == v1::SessionState::TERMINATED) return false;
  const auto now = TimeUtil::MillisecondsToTimestamp(now_unix_ms);
  state->set_status(v1::SessionState::TERMINATED);
  state->set_terminated_by("operator:" + std::string(operator_name));
  state->set_terminated_reason(std::string(reason));
  *state->mutable_terminated_at() = now;
  state->clear_terminated_snapshot();
  state->clear_terminated_job_id();
  *state->mutable_last_seen() = now;
  return true;
}

bool RestoreByOperator(std::string_view operator_name, std::string_view reason,
                       int64_t now_unix_ms, v1::SessionState* state) {
  if (state->status() != v1::SessionState::TERMINATED) return false;
  const auto now = TimeUtil::MillisecondsToTimestamp(now_unix_ms);
  state->set_status(v1::SessionState::ACTIVE);
  // A restored session starts its windows afresh: the denials that ended it would
  // otherwise end it again at its next one.
  state->clear_events();
  state->set_restored_by(std::string(operator_name));
  state->set_restored_reason(std::string(reason));
  *state->mutable_restored_at() = now;
  *state->mutable_last_seen() = now;
  return true;
}

}  // namespace jobgate::policy
