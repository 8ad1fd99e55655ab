// NATS adapters for the policy lifecycle: recent jobs read back from the JOBS stream
// (what publish simulates a candidate on), and policy events published on audit.policy.
//
// Ownership: both borrow a NatsConnection that must outlive them.
// Thread-safety: both are thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "gate/nats/nats_bus.h"
#include "gate/policy_lifecycle.h"
#include "subjects/binding.h"

namespace jobgate::gate {

// Reads the most recent jobs retained in `stream` with a short-lived ordered consumer.
// Each is bound to its subject as the dispatcher binds it (`binding`); messages that do
// not decode as jobs, or that the binding refuses, are skipped (they were rejected when
// they came).
class NatsRecentJobs final : public RecentJobs {
 public:
  NatsRecentJobs(NatsConnection* connection, std::string stream,
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
