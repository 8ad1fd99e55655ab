// NATS adapters for the policy lifecycle: recent judged jobs read back from the decision
// records of the AUDIT stream (what publish simulates a candidate on), the older reader of
// raw jobs from a jobs stream (`jobgate simulate --from-jobs-stream`), and policy events
// published on audit.policy.
//
// Ownership: each borrows a NatsConnection that must outlive it.
// Thread-safety: each is thread-safe (a Fetch owns its state).
#pragma once

#include <chrono>
#include <string>

#include "gate/nats/nats_bus.h"
#include "gate/lifecycle/policy_lifecycle.h"
#include "subjects/binding.h"

namespace jobgate::gate {

struct RecentJobsOptions {
  std::string stream = "AUDIT";
  std::string decisions = "audit.decisions";  // the records' prefix: `<decisions>.>` is read
  // Only records stored within this long before the call (0: any age).
  std::chrono::milliseconds window{7LL * 24 * 3600 * 1000};
  // The most bytes of decision records whose jobs one Fetch returns; the oldest are left
  // out first.
  size_t max_bytes = 64u << 20;
  std::chrono::milliseconds timeout{10'000};  // the whole read
};

// Reads the jobs of the most recent decision records: the job as judged (bound to its
// subject, scrubbed of secrets). A job counts once, by its original record (the one the
// dispatcher wrote, without an approval): an approval's resolution or a refused approval
// attempt on the same subjects is not a second job, and a job judged again after the
// duplicate window (a redelivery) keeps its first record. Reads backwards from the
// stream's end in spans of sequences (each a short-lived ack-less consumer; messages on
// other subjects are skipped) until it has `max_jobs` jobs, reaches the window's start or the
// stream's first record, or holds `max_bytes`. kDeadlineExceeded when the read does not
// finish within `timeout`; kNotFound when there is no such stream.
class NatsRecentJobs final : public RecentJobs {
 public:
  NatsRecentJobs(NatsConnection* connection, RecentJobsOptions options);
  Result<std::vector<v1::Job>> Fetch(size_t max_jobs) override;

 private:
  NatsConnection* connection_;
  const RecentJobsOptions options_;
};

// Reads the most recent raw jobs retained in a jobs stream of limits retention (a JOBS
// from before it became a work queue, or a copy of traffic), with a short-lived ordered
// consumer. Each is bound to its subject as the dispatcher binds it (`binding`); messages
// that do not decode as jobs, or that the binding refuses, are skipped (they were
// rejected when they came). kFailedPrecondition on a work-queue stream, which keeps no
// judged job.
class NatsStreamJobs final : public RecentJobs {
 public:
  NatsStreamJobs(NatsConnection* connection, std::string stream,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                 subjects::JobBinding binding = {});
  Result<std::vector<v1::Job>> Fetch(size_t max_jobs) override;

 private:
  NatsConnection* connection_;
  const std::string stream_;
  const std::chrono::milliseconds timeout_;
  const subjects::JobBinding binding_;
};

// Publishes each event to JetStream on `subject` (audit.policy), as protobuf. A failed
// publish is logged: the event is also in the gate's log, and the change it records has
// already happened.
class NatsPolicyEventSink final : public PolicyEventSink {
 public:
  NatsPolicyEventSink(NatsConnection* connection, std::string subject);
  void Emit(const v1::PolicyEvent& event) override;

 private:
  NatsConnection* connection_;
  const std::string subject_;
};

}  // namespace jobgate::gate
