// What a job is judged as is where it goes, through the real gate (`jobgate run` on a
// real nats-server with the deploy users of deploy/nats/permissions.conf): a body topic
// other than the arrival subject is refused whatever the decision would be; a body tenant
// other than the subject's is refused when the tenant is bound to the subject; a job id
// reused with other content is refused, across a gate restart and across two replicas.
// docs/reliability.md, "What a job is judged as".
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>
#include <string>
#include <thread>

#include "gate/approvals/approvals.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "subjects/codec.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::StoredMessage;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;
using std::chrono::seconds;

// Seed 001's shape.
constexpr char kPolicy[] = R"(version: 1
snapshot: identity-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.mcp-bridge.read.>", "job.acme.read.>", "job.globex.read.>"]}
    decision: allow
  - id: approve-prod-write
    match: {topics: ["job.mcp-bridge.write.>"], risk_tags: [prod, write]}
    decision: require_approval
    approver_role: support-lead
  - id: deny-delete
    match: {topics: ["job.mcp-bridge.delete.>"]}
    decision: deny
  - id: acme-reads
    match: {topics: ["job.acme.read.>"], tenants: [acme]}
    decision: allow_with_constraints
    constraints: {max_runtime_sec: 30}
)";

std::string PermissionsInclude() {
  auto text = policy::ReadFile(std::string(JOBGATE_SOURCE_DIR) + "/deploy/nats/permissions.conf");
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? *text : "";
}

v1::Job Job(const std::string& id, const std::string& topic = "") {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic(topic);
  job.add_risk_tags("prod");
  job.add_risk_tags("write");
  return job;
}

std::vector<v1::RejectedMessage> Rejections(JetStreamClient& client) {
  std::vector<v1::RejectedMessage> out;
  for (const StoredMessage& m : client.ReadAll("AUDIT", "audit.rejected")) {
    v1::RejectedMessage r;
    EXPECT_TRUE(r.ParseFromString(m.data));
    out.push_back(r);
  }
  return out;
}

class JobIdentityGateTest : public ::testing::Test {
 protected:
  void SetUp() override { policy_file_ = dir_.WriteFile("policy.yaml", kPolicy); }

  std::unique_ptr<GateProcess> StartGate(const NatsServer& server, const std::string& name,
                                         const std::string& config = "") {
    std::vector<std::string> flags = {"--policy", policy_file_};
    if (!config.empty()) {
      flags.push_back("--config");
      flags.push_back(dir_.WriteFile(name + ".yaml", config));
    }
    auto gate = std::make_unique<GateProcess>(server.url("jobgate", "gate-password"), flags, dir_,
                                              name);
    EXPECT_TRUE(gate->WaitReady()) << gate->process().Log();
    return gate;
  }

  // Waits until the gate's consumer has nothing pending or unacknowledged.
  static bool Drained(JetStreamClient& inspector) {
    return WaitFor(
        [&] {
          const auto c = inspector.Consumer();
          return c.ok && c.num_pending == 0 && c.num_ack_pending == 0;
        },
        seconds(60));
  }

  TempDir dir_;
  std::string policy_file_;
};

// A spoofed topic, through each decision the arrival subject gets: a body naming a
// read is refused, never judged as the read, and reaches neither worker.> nor
// approval.requests.>.
TEST_F(JobIdentityGateTest, ASpoofedTopicIsRefusedThroughAllowHoldAndDeny) {
  NatsServer server(PermissionsInclude());
  auto gate = StartGate(server, "gate");
  JetStreamClient agent(server.url("agent", "agent-password"));
  JetStreamClient inspector(server.url("jobgate", "gate-password"));
  const std::vector<std::pair<std::string, std::string>> spoofs = {
      {"job.mcp-bridge.write.update_ticket", "job.mcp-bridge.read.get_ticket"},  // held
      {"job.mcp-bridge.delete.ticket", "job.mcp-bridge.read.get_ticket"},        // denied
      {"job.mcp-bridge.read.get_ticket", "job.mcp-bridge.write.update_ticket"},  // allowed
  };
  for (size_t i = 0; i < spoofs.size(); ++i) {
    const v1::Job job = Job("spoof-" + std::to_string(i), spoofs[i].second);
    const bool json = i % 2 == 0;
    ASSERT_TRUE(
        (json ? agent.Publish(spoofs[i].first, subjects::ToJson(job),
                              {{"Content-Type", "application/json"}})
              : agent.Publish(spoofs[i].first, job.SerializeAsString()))
            .ok());
  }
  // An honest job after them flows.
  ASSERT_TRUE(agent.Publish("job.mcp-bridge.read.get_ticket",
                            Job("honest", "job.mcp-bridge.read.get_ticket").SerializeAsString())
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return inspector.Count("WORK") >= 1; })) << gate->process().Log();
  ASSERT_TRUE(Drained(inspector));
  EXPECT_EQ(inspector.Count("WORK"), 1);
  EXPECT_EQ(inspector.Count("WORK", "worker.mcp-bridge.read.get_ticket"), 1);
  EXPECT_EQ(inspector.Count("APPROVALS"), 0);
  EXPECT_EQ(inspector.Count("AUDIT", "audit.denied.>"), 0);
  EXPECT_EQ(inspector.Count("AUDIT", "audit.decisions.>"), 1);  // the honest job's
  const auto rejections = Rejections(inspector);
  ASSERT_EQ(rejections.size(), spoofs.size());
  std::set<std::string> seen;
  for (const v1::RejectedMessage& r : rejections) {
    EXPECT_EQ(r.reason(), "topic_mismatch");
    EXPECT_EQ(r.field(), "topic");
    EXPECT_EQ(r.bound(), r.subject());
    EXPECT_NE(r.claimed(), r.bound());
    seen.insert(r.subject() + " claimed " + r.claimed());
  }
  for (const auto& [subject, topic] : spoofs) {
    EXPECT_EQ(seen.count(subject + " claimed " + topic), 1u) << subject;
  }
  EXPECT_EQ(gate->MetricReaching("jobgate_rejected_jobs_total{reason=\"topic_mismatch\"", 3), 3);
}

// Tenants sharing a bus: each agent user may publish only under job.<its tenant>.>, and
// the gate takes the tenant from that token.
TEST_F(JobIdentityGateTest, TheTenantIsTheSubjectsAndABodyClaimingAnotherIsRefused) {
  NatsServer server(PermissionsInclude());
  auto gate = StartGate(server, "gate", "dispatch: {tenant_from: subject_token}\n");
  JetStreamClient acme(server.url("agent-acme", "acme-password"));
  JetStreamClient inspector(server.url("jobgate", "gate-password"));
  v1::Job claims_globex = Job("claims-globex");
  claims_globex.set_tenant_id("globex");
  ASSERT_TRUE(acme.Publish("job.acme.read.file", claims_globex.SerializeAsString()).ok());
  ASSERT_TRUE(acme.Publish("job.acme.read.file", Job("honest-acme").SerializeAsString()).ok());
  // The server refuses acme's user a subject of globex's.
  EXPECT_FALSE(acme.Publish("job.globex.read.file", Job("cross").SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] { return inspector.Count("WORK") >= 1; })) << gate->process().Log();
  ASSERT_TRUE(Drained(inspector));
  EXPECT_EQ(inspector.Count("WORK"), 1);
  const auto work = inspector.ReadAll("WORK", ">");
  ASSERT_EQ(work.size(), 1u);
  v1::DispatchedJob dispatched;
  ASSERT_TRUE(dispatched.ParseFromString(work[0].data));
  EXPECT_EQ(dispatched.job().job_id(), "honest-acme");
  EXPECT_EQ(dispatched.job().tenant_id(), "acme");
  EXPECT_EQ(dispatched.decision().matched_rule(), "acme-reads");
  const auto rejections = Rejections(inspector);
  ASSERT_EQ(rejections.size(), 1u);
  EXPECT_EQ(rejections[0].reason(), "tenant_mismatch");
  EXPECT_EQ(rejections[0].claimed(), "globex");
  EXPECT_EQ(rejections[0].bound(), "acme");
}

std::string Digest(v1::Job job, const std::string& subject) {
  EXPECT_TRUE(subjects::NormalizeJob(subject, &job).ok());
  return JobDigest(job);
}

// Two publishers, one job id, different content, the gate restarted between them: the
// second is refused with both digests, the first's retry is still a retry.
TEST_F(JobIdentityGateTest, AnIdReusedWithOtherContentIsRefusedAcrossARestart) {
  NatsServer server(PermissionsInclude());
  JetStreamClient first(server.url("agent", "agent-password"));
  JetStreamClient second(server.url("agent", "agent-password"));
  JetStreamClient inspector(server.url("jobgate", "gate-password"));
  const std::string subject = "job.mcp-bridge.read.get_ticket";
  v1::Job a = Job("shared-id");
  (*a.mutable_labels())["from"] = "first";
  v1::Job b = Job("shared-id");
  (*b.mutable_labels())["from"] = "second";
  {
    auto gate = StartGate(server, "gate-1");
    ASSERT_TRUE(first.Publish(subject, a.SerializeAsString()).ok());
    ASSERT_TRUE(WaitFor([&] { return inspector.Count("WORK") == 1; })) << gate->process().Log();
    ASSERT_TRUE(Drained(inspector));
    gate->process().Signal(SIGTERM);
    EXPECT_EQ(gate->process().Wait(), 0);
  }
  ASSERT_TRUE(second.Publish(subject, b.SerializeAsString()).ok());
  ASSERT_TRUE(first.Publish(subject, a.SerializeAsString()).ok());  // a retry of the first
  auto gate = StartGate(server, "gate-2");
  ASSERT_TRUE(WaitFor([&] { return inspector.Count("AUDIT", "audit.rejected") >= 1; }))
      << gate->process().Log();
  ASSERT_TRUE(Drained(inspector));
  EXPECT_EQ(inspector.Count("WORK"), 1);
  const auto work = inspector.ReadAll("WORK", ">");
  ASSERT_EQ(work.size(), 1u);
  v1::DispatchedJob dispatched;
  ASSERT_TRUE(dispatched.ParseFromString(work[0].data));
  EXPECT_EQ(dispatched.job().labels().at("from"), "first");
  const auto rejections = Rejections(inspector);
  ASSERT_EQ(rejections.size(), 1u);
  EXPECT_EQ(rejections[0].reason(), "idempotency_conflict");
  EXPECT_EQ(rejections[0].job_id(), "shared-id");
  EXPECT_EQ(rejections[0].tenant_id(), "default");
  EXPECT_EQ(rejections[0].first_digest(), Digest(a, subject));
  EXPECT_EQ(rejections[0].job_digest(), Digest(b, subject));
  EXPECT_EQ(gate->MetricReaching("jobgate_rejected_jobs_total{reason=\"idempotency_conflict\"", 1),
            1);
}

// Two replicas consume the same durable: each of many ids is published by two publishers
// with different content at about the same time. Exactly one of each pair is judged and
// the other refused, whichever replica saw which.
TEST_F(JobIdentityGateTest, TwoReplicasRefuseEveryReuseOnce) {
  NatsServer server(PermissionsInclude());
  auto gate_a = StartGate(server, "gate-a");
  auto gate_b = StartGate(server, "gate-b");
  JetStreamClient inspector(server.url("jobgate", "gate-password"));
  constexpr int kIds = 300;
  auto publish = [&](const std::string& who) {
    JetStreamClient client(server.url("agent", "agent-password"));
    for (int i = 0; i < kIds; ++i) {
      v1::Job job = Job("pair-" + std::to_string(i));
      (*job.mutable_labels())["from"] = who;
      // Reads, holds and denials alike.
      const char* subjects[] = {"job.mcp-bridge.read.x", "job.mcp-bridge.write.x",
                                "job.mcp-bridge.delete.x"};
      ASSERT_TRUE(client.Publish(subjects[i % 3], job.SerializeAsString()).ok());
    }
  };
  std::thread one(publish, "one");
  std::thread two(publish, "two");
  one.join();
  two.join();
  ASSERT_TRUE(WaitFor(
      [&] {
        return inspector.Count("AUDIT", "audit.decisions.>") +
                   inspector.Count("AUDIT", "audit.rejected") >=
               2 * kIds;
      },
      seconds(120)))
      << gate_a->process().Log() << gate_b->process().Log();
  ASSERT_TRUE(Drained(inspector));
  std::map<std::string, int> judged, refused;
  for (const StoredMessage& m : inspector.ReadAll("AUDIT", "audit.decisions.>")) {
    v1::DecisionRecord r;
    ASSERT_TRUE(r.ParseFromString(m.data));
    ++judged[r.job().job_id()];
  }
  for (const v1::RejectedMessage& r : Rejections(inspector)) {
    EXPECT_EQ(r.reason(), "idempotency_conflict");
    EXPECT_NE(r.job_digest(), r.first_digest());
    ++refused[r.job_id()];
  }
  for (int i = 0; i < kIds; ++i) {
    const std::string id = "pair-" + std::to_string(i);
    EXPECT_EQ(judged[id], 1) << id;
    EXPECT_EQ(refused[id], 1) << id;
  }
  EXPECT_EQ(inspector.Count("WORK") + inspector.Count("APPROVALS") +
                inspector.Count("AUDIT", "audit.denied.>"),
            kIds);
  EXPECT_EQ(gate_a->Metric("jobgate_rejected_jobs_total{reason=\"idempotency_conflict\"") +
                gate_b->Metric("jobgate_rejected_jobs_total{reason=\"idempotency_conflict\""),
            kIds);
}

// A job-id bucket the gate's user may not write: the job is left for redelivery again
// and again, never judged, never routed (fail closed).
TEST_F(JobIdentityGateTest, AJobIdStoreTheGateCannotWriteLetsNothingThrough) {
  std::string permissions = PermissionsInclude();
  const std::string grant = "\"$KV.jobgate-job-ids.>\",";
  const size_t at = permissions.find(grant);
  ASSERT_NE(at, std::string::npos);
  permissions.erase(at, grant.size());
  NatsServer server(permissions);
  auto gate = StartGate(server, "gate", "dispatch: {workers: 1, retry_delay: 200ms}\n");
  JetStreamClient agent(server.url("agent", "agent-password"));
  JetStreamClient inspector(server.url("jobgate", "gate-password"));
  ASSERT_TRUE(agent.Publish("job.mcp-bridge.read.x", Job("blocked").SerializeAsString()).ok());
  // Left for redelivery, delivered again, left again.
  const auto refusals = [&] {
    const std::string log = gate->process().Log();
    size_t n = 0;
    for (size_t at = log.find("could not be claimed"); at != std::string::npos;
         at = log.find("could not be claimed", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return refusals() >= 2; }, seconds(60))) << gate->process().Log();
  EXPECT_EQ(inspector.Consumer().num_pending, 0u);  // delivered, never acked
  EXPECT_EQ(inspector.Count("WORK"), 0);
  EXPECT_EQ(inspector.Count("AUDIT", "audit.decisions.>"), 0);
  EXPECT_GE(gate->Metric("jobgate_publish_errors_total{kind=\"job_ids\""), 1);
}

}  // namespace
}  // namespace jobgate::gate
