// Shared by the approvals unit and integration tests: policies that hold, deny and allow
// prod database jobs, jobs, identities, and a publisher that records (or fails).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gate/approvals/approvals.h"
#include "gate/core/auth.h"
#include "policy/policy.h"

namespace jobgate::gate::approvals_test {

// Holds prod database jobs for a dba, for one hour.
inline constexpr char kHoldPolicy[] = R"(snapshot: v1
defaults: {decision: allow}
rules:
  - id: prod-db-write
    match: {topics: ["job.db.>"], environment: prod}
    decision: require_approval
    reason: Prod writes require human approval
    approver_role: dba
    approval_ttl: 1h
)";

// A later snapshot that denies what v1 held.
inline constexpr char kDenyPolicy[] = R"(snapshot: v2
defaults: {decision: allow}
rules:
  - id: freeze-db
    match: {topics: ["job.db.>"]}
    decision: deny
    reason: Database freeze
)";

// A later snapshot that still lets the job through (with a constraint).
inline constexpr char kAllowPolicy[] = R"(snapshot: v3
defaults: {decision: allow}
rules:
  - id: constrain-db
    match: {topics: ["job.db.>"]}
    decision: allow_with_constraints
    constraints: {max_runtime_sec: 60}
)";

inline std::shared_ptr<const policy::Policy> CompileOrDie(const char* yaml) {
  policy::CompileResult compiled = policy::Compile(yaml);
  EXPECT_TRUE(compiled.ok()) << compiled.ErrorText();
  return compiled.policy;
}

inline v1::Job DbJob(const std::string& job_id) {
  v1::Job job;
  job.set_job_id(job_id);
  job.set_tenant_id("default");
  job.set_topic("job.db.migrate");
  job.set_environment("prod");
  job.mutable_actor()->set_agent_id("agent-7");
  job.mutable_actor()->set_owner("bob");
  (*job.mutable_labels())["ticket"] = "OPS-1";
  (*job.mutable_args()->mutable_fields())["sql"].set_string_value("ALTER TABLE t ADD c int");
  return job;
}

inline Identity Person(const std::string& name, std::vector<std::string> named_roles = {"dba"}) {
  return Identity{name, static_cast<uint8_t>(Role::kApprover), std::move(named_roles)};
}

inline v1::ApproveRequest Ask(const std::string& job_id, const std::string& reason = "") {
  v1::ApproveRequest request;
  request.set_job_id(job_id);
  request.set_reason(reason);
  return request;
}

// Records every message; `fail_prefix` makes publishes to matching subjects fail.
class RecordingPublisher final : public ApprovalPublisher {
 public:
  Status Publish(const OutboundMessage& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_prefix_.empty() && message.subject.rfind(fail_prefix_, 0) == 0) {
      return Unavailable("injected failure");
    }
    messages_.push_back(message);
    return Status::Ok();
  }
  void FailSubjectsStartingWith(std::string prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_prefix_ = std::move(prefix);
  }
  // Messages on subjects starting with `prefix`, in order.
  std::vector<OutboundMessage> On(const std::string& prefix) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<OutboundMessage> out;
    for (const auto& m : messages_) {
      if (m.subject.rfind(prefix, 0) == 0) out.push_back(m);
    }
    return out;
  }
  // Distinct Nats-Msg-Ids on `prefix`: what a stream with deduplication keeps.
  size_t DistinctOn(const std::string& prefix) const {
    std::map<std::string, int> ids;
    for (const auto& m : On(prefix)) ++ids[m.msg_id];
    return ids.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<OutboundMessage> messages_;  // GUARDED_BY(mu_)
  std::string fail_prefix_;                // GUARDED_BY(mu_)
};

}  // namespace jobgate::gate::approvals_test
