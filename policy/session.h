// What policy reads of a job's session: the session's notable decisions (denials,
// terminations, holds, alerts, redactions), each with the targets its job touched, so that
// `match.session` conditions (docs/policy.md, "Sessions") can count over a window and
// recognise a denied target reached by another route.
//
// A job belongs to a session when it names one: `actor.session_id`, or, without one,
// `actor.agent_id` (SessionOf). The gate keeps the state of every session in a store
// shared by its replicas (gate/core/sessions.h); the offline tools build it from a file or from
// the decisions they make themselves. Pure: no clock is read here; the caller says what
// time it is.
//
// Thread-safety: the functions are pure; a SessionContext only borrows its state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::policy {

namespace v1 = ::jobgate::v1;

// The session a job belongs to: "session:<actor.session_id>", else
// "agent:<actor.agent_id>", else "" (no session).
std::string SessionOf(const v1::Job& job);

// What a session condition is evaluated against. With no state the session has no
// history: counts are zero and no target was denied.
struct SessionContext {
  const v1::SessionState* state = nullptr;
  int64_t now_unix_ms = 0;
};

// The kinds of target a job can touch, as their prefix in a target string.
inline constexpr std::string_view kPathTarget = "path:";
inline constexpr std::string_view kHostTarget = "host:";
inline constexpr std::string_view kProgramTarget = "program:";

// The targets `job` touches, sorted and unique: "path:<normalized path>" for args.path
// and every path the command line reads, writes or deletes; "host:<host>" for args.url,
// args.host and every host the command line reaches; "program:<name>" for every program
// the command line runs. At most `limit` of them.
std::vector<std::string> JobTargets(const v1::Job& job, size_t limit = 64);

// True when `verdict` counts as a denial for session conditions (DENY, TERMINATE).
bool IsDenial(v1::Verdict verdict);

// True when a decision is worth remembering in the session (every verdict but ALLOW,
// ALLOW_WITH_CONSTRAINTS and THROTTLE).
bool IsNotable(v1::Verdict verdict);

// Appends the event of a decision to `state`, dropping events older than `keep_ms`
// before `now_unix_ms` and the oldest beyond `max_events`; counts it in
// state->decisions.
void RecordSessionEvent(const v1::SessionEvent& event, int64_t now_unix_ms, int64_t keep_ms,
                        size_t max_events, v1::SessionState* state);

// ---- State transitions (the store applies them by compare-and-set) ----
struct SessionRecording {
  int64_t keep_ms = 3600 * 1000;  // events older than this are dropped
  size_t max_events = 64;
  // A terminated session's last_seen is refreshed at most this often by its later jobs
  // (each refresh is a write; its key expires `idle` after the last one).
  int64_t touch_ms = 60'000;
};

// The mutation for a judged job of the session (SessionMutation): records the decision
// as an event with `targets` when it is notable (policy::IsNotable) and not recorded
// before for the same job (a redelivery); a TERMINATE terminates the session. A
// terminated session only has its last_seen refreshed, at most once a touch_ms. Returns
// whether anything changed. The same as ApplySessionChange of its DecisionChange.
bool RecordDecision(const v1::Job& job, const v1::Decision& decision,
                    const std::vector<std::string>& targets, int64_t now_unix_ms,
                    const SessionRecording& options, v1::SessionState* state);

// The session change of a judged job: its decision with `targets`, at `now_unix_ms`,
// carrying the termination the job was judged under when `current` is terminated.
v1::SessionChange DecisionChange(std::string_view tenant_id, std::string_view session,
                                 const v1::Job& job, const v1::Decision& decision,
                                 std::vector<std::string> targets,
                                 const v1::SessionState* current, int64_t now_unix_ms);

// Folds one change of the session log into `state`, at the change's own time (so every
// replica folding the same log reaches the same state). `known` is false when `state`
// is a fresh one made for this change (the session was unknown): a decision judged
// under a termination then terminates it, since the change that ended the session may
// have left the log. Returns whether `state` changed.
bool ApplySessionChange(const v1::SessionChange& change, const SessionRecording& options,
                        bool known, v1::SessionState* state);

// Whether ApplySessionChange would change `state`, without changing it.
bool SessionChangeMatters(const v1::SessionChange& change, const SessionRecording& options,
                          bool known, const v1::SessionState& state);

// Rewrites `decision` (already filled by the policy) for a job of a terminated session:
// TERMINATE, with the original termination as the reason, and session facts saying so.
void DecideTerminated(const v1::SessionState& state, v1::Decision* decision);

// Operator actions. Terminate: ACTIVE -> TERMINATED by "operator:<name>"; false when
// already terminated. Restore: TERMINATED -> ACTIVE with its windows emptied (the
// denials that ended it would end it again); false when active.
bool TerminateByOperator(std::string_view operator_name, std::string_view reason,
                         int64_t now_unix_ms, v1::SessionState* state);
bool RestoreByOperator(std::string_view operator_name, std::string_view reason,
                       int64_t now_unix_ms, v1::SessionState* state);

}  // namespace jobgate::policy
