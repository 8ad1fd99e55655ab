// Subject mapping: where a job arriving on `job.<rest>` goes for each outcome.
//
// The contract (README.md): `<rest>` is the job subject without its job
// prefix, so `job.db.migrate` dispatches to `worker.db.migrate`. Every prefix is
// configurable; the defaults are the contract's.
//
// Pure functions and a plain value type; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace jobgate::subjects {

struct Prefixes {
  std::string job = "job";
  std::string worker = "worker";
  std::string approval = "approval.requests";
  std::string decisions = "audit.decisions";
  std::string denied = "audit.denied";
  std::string rejected = "audit.rejected";     // a full subject, not a prefix
  std::string policy_events = "audit.policy";  // a full subject, not a prefix
  std::string alert = "alert";
  // A full subject, not a prefix: placeholders of audit chain positions whose record the
  // stream dropped as a duplicate (docs/audit.md).
  std::string chain = "audit.chain";
  std::string api = "jobgate.api";
  std::string deferred = "jobgate.deferred";  // parked over-rate jobs (gate/core/deferred.h)
};

// `subject` without `job_prefix` and its dot. A subject outside the prefix loses its
// first token instead, so every job has a non-empty rest when it has two tokens.
// Returns "" for a single-token subject.
std::string_view RestOf(std::string_view subject, std::string_view job_prefix);

// `prefix` + "." + `rest`; just `prefix` when rest is empty.
std::string Join(std::string_view prefix, std::string_view rest);
// The same, written over `out` (whose capacity a caller building one subject per
// message can reuse).
void JoinInto(std::string_view prefix, std::string_view rest, std::string* out);

// True when `subject` is a valid NATS subject for publishing: non-empty tokens, no
// wildcards, no whitespace.
bool IsValidPublishSubject(std::string_view subject);

}  // namespace jobgate::subjects
