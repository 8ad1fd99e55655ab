// jobgate run against a real nats-server: routing, decision records, bad input,
// throttling, redelivery without duplicates, shared consumers, server restarts and
// SIGTERM under load. Each test starts its own server on a free loopback port.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>
#include <thread>

#include "gate/core/dispatcher.h"
#include "jobgate/v1/jobgate.pb.h"
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

constexpr char kPolicy[] = R"(version: 1
snapshot: it-1
defaults:
  decision: deny
  reason: no rule matched
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
  - id: constrain-shell
    match: {topics: ["job.shell.>"]}
    decision: allow_with_constraints
    reason: shell is bounded
    constraints: {max_runtime_sec: 60, max_retries: 1}
  - id: approve-prod-db
    match: {topics: ["job.db.>"], environment: prod}
    decision: require_approval
    approver_role: dba
  - id: alert-net
    match: {topics: ["job.net.>"]}
    decision: alert
  - id: kill-rm
    match: {topics: ["job.rm.>"]}
    decision: terminate
  - id: redact-secret
    match: {topics: ["job.secret.>"]}
    decision: redact
  - id: throttle-llm
    match: {topics: ["job.llm.>"]}
    decision: throttle
    rate: {limit: 2, period: 1s, key: actor.agent_id}
)";

v1::Job MakeJob(const std::string& id, const std::string& topic,
                const std::string& environment = "") {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic(topic);
  job.set_environment(environment);
  job.mutable_actor()->set_agent_id("agent-1");
  // A session of its own: each job's expected decision is its topic's, not the outcome of
  // an earlier job's TERMINATE (sessions are tested in session_integration_test.cc).
  job.mutable_actor()->set_session_id("session-" + id);
  return job;
}

std::map<std::string, StoredMessage> ByJobId(const std::vector<StoredMessage>& messages,
                                             bool records) {
  std::map<std::string, StoredMessage> out;
  for (const StoredMessage& m : messages) {
    std::string id;
    if (records) {
      v1::DecisionRecord r;
      r.ParseFromString(m.data);
      id = r.decision().job_id();
    } else {
      v1::DispatchedJob d;
      d.ParseFromString(m.data);
      id = d.job().job_id();
    }
    out.emplace(id, m);
  }
  return out;
}

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override { policy_file_ = dir_.WriteFile("policy.yaml", kPolicy); }

  std::unique_ptr<GateProcess> StartGate(const std::string& url,
                                         std::vector<std::string> flags = {},
                                         const std::string& name = "gate") {
    flags.insert(flags.begin(), {"--policy", policy_file_});
    auto gate = std::make_unique<GateProcess>(url, flags, dir_, name);
    EXPECT_TRUE(gate->WaitReady()) << gate->process().Log();
    return gate;
  }

  TempDir dir_;
  std::string policy_file_;
};

TEST_F(GateTest, RoutesEveryDecisionWithHeadersConstraintsAndRecords) {
  NatsServer server;
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());

  const std::vector<v1::Job> jobs = {
      MakeJob("allow-1", "job.read.file"),
      MakeJob("shell-1", "job.shell.ls"),
      MakeJob("db-1", "job.db.migrate", "prod"),
      MakeJob("net-1", "job.net.curl"),
      MakeJob("rm-1", "job.rm.rf"),
      MakeJob("secret-1", "job.secret.read"),
      MakeJob("llm-1", "job.llm.chat"),
      MakeJob("other-1", "job.misc.thing"),
  };
  for (size_t i = 0; i < jobs.size(); ++i) {
    ASSERT_TRUE(client.PublishJob(jobs[i], /*as_json=*/i % 2 == 1).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") == 8; }))
      << gate->process().Log();

  const auto work = ByJobId(client.ReadAll("WORK", "worker.>"), false);
  const auto approvals = ByJobId(client.ReadAll("APPROVALS", "approval.requests.>"), false);
  const auto denied = ByJobId(client.ReadAll("AUDIT", "audit.denied.>"), false);
  const auto alerts = ByJobId(client.ReadAll("AUDIT", "alert.>"), true);
  const auto records = ByJobId(client.ReadAll("AUDIT", "audit.decisions.>"), true);

  EXPECT_EQ(work.size(), 5u);
  ASSERT_TRUE(work.count("allow-1"));
  EXPECT_EQ(work.at("allow-1").subject, "worker.read.file");
  EXPECT_EQ(work.at("allow-1").headers.at("Jobgate-Decision"), "ALLOW");
  EXPECT_EQ(work.at("allow-1").headers.at("Jobgate-Snapshot"), "it-1");
  EXPECT_EQ(work.at("allow-1").headers.at("Nats-Msg-Id"),
            subjects::MessageId("default", "allow-1", "dispatch"));
  ASSERT_TRUE(work.count("shell-1"));
  v1::DispatchedJob shell;
  ASSERT_TRUE(shell.ParseFromString(work.at("shell-1").data));
  EXPECT_EQ(shell.decision().decision(), v1::ALLOW_WITH_CONSTRAINTS);
  EXPECT_EQ(shell.decision().constraints().max_runtime_sec(), 60u);
  EXPECT_EQ(shell.decision().constraints().max_retries(), 1u);
  EXPECT_EQ(shell.job().topic(), "job.shell.ls");
  EXPECT_EQ(shell.job().tenant_id(), "default");
  EXPECT_EQ(work.at("shell-1").headers.at("Jobgate-Decision-Id"), shell.decision().decision_id());
  EXPECT_EQ(shell.decision().decision_id().size(), 32u);
  ASSERT_TRUE(work.count("net-1"));
  EXPECT_EQ(work.at("net-1").headers.at("Jobgate-Decision"), "ALERT");
  ASSERT_TRUE(work.count("llm-1"));
  EXPECT_EQ(work.at("llm-1").subject, "worker.llm.chat");

  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(approvals.at("db-1").subject, "approval.requests.db.migrate");
  v1::DispatchedJob held;
  ASSERT_TRUE(held.ParseFromString(approvals.at("db-1").data));
  EXPECT_EQ(held.decision().approver_role(), "dba");

  ASSERT_EQ(denied.size(), 2u);
  EXPECT_EQ(denied.at("rm-1").headers.at("Jobgate-Decision"), "TERMINATE");
  EXPECT_EQ(denied.at("other-1").subject, "audit.denied.misc.thing");
  ASSERT_TRUE(work.count("secret-1"));  // REDACT: dispatched with secrets replaced
  v1::DispatchedJob secret;
  ASSERT_TRUE(secret.ParseFromString(work.at("secret-1").data));
  EXPECT_EQ(secret.decision().decision(), v1::REDACT);
  EXPECT_EQ(secret.decision().matched_rule(), "redact-secret");

  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_TRUE(alerts.count("net-1"));
  EXPECT_EQ(alerts.at("rm-1").subject, "alert.rm.rf");

  ASSERT_EQ(records.size(), 8u);
  const std::map<std::string, std::string> routed = {{"allow-1", "worker.read.file"},
                                                     {"shell-1", "worker.shell.ls"},
                                                     {"db-1", "approval.requests.db.migrate"},
                                                     {"net-1", "worker.net.curl"},
                                                     {"rm-1", "audit.denied.rm.rf"},
                                                     {"secret-1", "worker.secret.read"},
                                                     {"llm-1", "worker.llm.chat"},
                                                     {"other-1", "audit.denied.misc.thing"}};
  for (const auto& [id, subject] : routed) {
    v1::DecisionRecord record;
    ASSERT_TRUE(record.ParseFromString(records.at(id).data));
    EXPECT_EQ(record.routed_to(), subject) << id;
    EXPECT_EQ(record.job().job_id(), id);
    EXPECT_EQ(record.decision().snapshot(), "it-1");
    EXPECT_EQ(records.at(id).headers.at("Nats-Msg-Id"), subjects::MessageId("default", id, "decision"));
  }
  EXPECT_TRUE(WaitFor([&] { return client.Consumer().num_ack_pending == 0; }));
}

TEST_F(GateTest, BadInputIsRecordedAndAckedWhileTheNextJobFlows) {
  NatsServer server;
  const std::string config = dir_.WriteFile("gate.yaml", "dispatch: {max_message_bytes: 2048}\n");
  auto gate = StartGate(server.url(), {"--config", config});
  JetStreamClient client(server.url());

  ASSERT_TRUE(client.Publish("job.x.garbage", "{not json").ok());
  ASSERT_TRUE(client.Publish("job.x.proto", std::string("\x0a\xff\xff\xff", 4)).ok());
  ASSERT_TRUE(client.Publish("job.x.noid", R"({"topic": "job.x.noid"})").ok());
  ASSERT_TRUE(client.Publish("job.x.unknown", R"({"job_id": "u", "no_such_field": 1})").ok());
  ASSERT_TRUE(client.Publish("job.x.big", "{\"job_id\": \"" + std::string(4096, 'a') + "\"}").ok());
  ASSERT_TRUE(client.PublishJob(MakeJob("good-1", "job.read.after")).ok());

  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.read.after") == 1; }))
      << gate->process().Log();
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.rejected") == 5; }));
  std::multiset<std::string> reasons;
  for (const StoredMessage& m : client.ReadAll("AUDIT", "audit.rejected")) {
    v1::RejectedMessage rejected;
    ASSERT_TRUE(rejected.ParseFromString(m.data));
    reasons.insert(rejected.reason());
    EXPECT_FALSE(rejected.body_sha256().empty());
    EXPECT_GT(rejected.size(), 0u);
    EXPECT_TRUE(rejected.subject().rfind("job.x.", 0) == 0) << rejected.subject();
    if (rejected.reason() == "too_large") {
      EXPECT_GT(rejected.size(), 4096u);
    }
  }
  EXPECT_EQ(reasons, (std::multiset<std::string>{"decode_error", "decode_error", "decode_error",
                                                 "missing_job_id", "too_large"}));
  EXPECT_TRUE(WaitFor([&] {
    const auto c = client.Consumer();
    return c.num_pending == 0 && c.num_ack_pending == 0;
  }));
  EXPECT_TRUE(gate->process().running());
  EXPECT_EQ(gate->MetricReaching("jobgate_rejected_jobs_total{reason=\"decode_error\"}", 3), 3);
  EXPECT_EQ(gate->MetricReaching("jobgate_rejected_jobs_total", 5), 5);
  EXPECT_EQ(gate->Metric("jobgate_jobs_received_total"), 6);
}

TEST_F(GateTest, ThrottleOverRateIsRedeliveredNotDropped) {
  NatsServer server;
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(client.PublishJob(MakeJob("llm-" + std::to_string(i), "job.llm.chat")).ok());
  }
  // 2 per second per agent: the first two pass at once, the rest over ~2 more seconds.
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.llm.chat") == 6; }))
      << gate->process().Log();
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.llm.chat"), 6);
  EXPECT_EQ(gate->MetricReaching("jobgate_decisions_total{decision=\"THROTTLE\"", 6), 6);
  EXPECT_GT(gate->Metric("jobgate_throttled_total{rule=\"throttle-llm\"}"), 0);
}

TEST_F(GateTest, NoPolicyMeansNotReadyAndNoConsumption) {
  NatsServer server;
  GateProcess gate(server.url(), {}, dir_);
  JetStreamClient client(server.url());
  ASSERT_TRUE(WaitFor([&] { return client.Consumer().ok; })) << gate.process().Log();
  std::string body;
  EXPECT_EQ(gate.Get("/readyz", &body), 503);
  EXPECT_NE(body.find("\"code\": \"NOT_READY\""), std::string::npos) << body;
  EXPECT_NE(body.find("no active policy"), std::string::npos) << body;
  EXPECT_EQ(gate.Get("/healthz"), 200);
  ASSERT_TRUE(client.PublishJob(MakeJob("waits-1", "job.read.x")).ok());
  const auto state = client.Consumer();
  EXPECT_EQ(state.num_pending, 1u);
  EXPECT_EQ(state.num_ack_pending, 0);
  gate.process().Signal(SIGTERM);
  EXPECT_EQ(gate.process().Wait(), 0);
}

TEST_F(GateTest, BadPolicyFailsStartup) {
  NatsServer server;
  const std::string bad = dir_.WriteFile("bad.yaml", "rules:\n  - id: x\n    decision: maybe\n");
  GateProcess gate(server.url(), {"--policy", bad}, dir_);
  EXPECT_EQ(gate.process().Wait(), 1);
  EXPECT_NE(gate.process().Log().find("does not compile"), std::string::npos);
}

// The first gate may publish but never ack (its user may not publish acks), so every
// job it handles is redelivered and republished; it is then killed with SIGKILL and a
// normal gate takes over. Downstream must hold each job exactly once.
TEST_F(GateTest, RedeliveryAfterCrashBetweenPublishAndAckDoesNotDuplicate) {
  NatsServer server(R"(authorization {
  users = [
    {user: gate, password: gate}
    {user: noack, password: noack, permissions: {publish: {deny: ["$JS.ACK.>"]}}}
  ]
})");
  const std::string config = dir_.WriteFile("gate.yaml", "consumer: {ack_wait: 1s}\n");
  constexpr int kJobs = 50;
  {
    JetStreamClient client(server.url("gate", "gate"));
    auto crashing = StartGate(server.url("noack", "noack"), {"--config", config}, "noack");
    for (int i = 0; i < kJobs; ++i) {
      ASSERT_TRUE(client.PublishJob(MakeJob("r-" + std::to_string(i), "job.read.r")).ok());
    }
    // Everything published downstream, and redelivered at least once: published again.
    ASSERT_TRUE(WaitFor([&] {
      return client.Count("WORK") == kJobs && client.Consumer().num_redelivered > 0;
    })) << crashing->process().Log();
    crashing->process().Signal(SIGKILL);
    ASSERT_EQ(crashing->process().Wait(), 128 + SIGKILL);
  }
  JetStreamClient client(server.url("gate", "gate"));
  auto gate = StartGate(server.url("gate", "gate"), {"--config", config});
  ASSERT_TRUE(WaitFor([&] {
    const auto c = client.Consumer();
    return c.num_pending == 0 && c.num_ack_pending == 0;
  })) << gate->process().Log();
  EXPECT_EQ(client.Count("WORK"), kJobs);
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.>"), kJobs);
  EXPECT_EQ(ByJobId(client.ReadAll("WORK", "worker.>"), false).size(), size_t{kJobs});
}

TEST_F(GateTest, TwoGatesShareTheConsumerAndHandleEachJobOnce) {
  NatsServer server;
  auto first = StartGate(server.url(), {}, "gate-a");
  auto second = StartGate(server.url(), {}, "gate-b");
  JetStreamClient client(server.url());
  constexpr int kJobs = 1000;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(client.PublishJob(MakeJob("s-" + std::to_string(i), "job.read.shared")).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") == kJobs; }))
      << first->process().Log() << second->process().Log();
  EXPECT_TRUE(WaitFor([&] { return client.Consumer().num_ack_pending == 0; }));
  EXPECT_EQ(client.Count("WORK"), kJobs);
  EXPECT_EQ(ByJobId(client.ReadAll("WORK", "worker.>"), false).size(), size_t{kJobs});
}

TEST_F(GateTest, NatsServerRestartMidStreamLosesNothing) {
  NatsServer server;
  // Jobs whose ack died with the server come back after AckWait; keep the test short.
  const std::string config = dir_.WriteFile("gate.yaml", "consumer: {ack_wait: 2s}\n");
  auto gate = StartGate(server.url(), {"--config", config});
  constexpr int kHalf = 300;
  {
    JetStreamClient client(server.url());
    for (int i = 0; i < kHalf; ++i) {
      ASSERT_TRUE(client.PublishJob(MakeJob("a-" + std::to_string(i), "job.read.restart")).ok());
    }
    ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") > 0; }));
  }
  server.Stop();   // clean stop, mid-stream
  server.Start();  // same port, same store
  JetStreamClient client(server.url());
  for (int i = 0; i < kHalf; ++i) {
    ASSERT_TRUE(client.PublishJob(MakeJob("b-" + std::to_string(i), "job.read.restart")).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK") == 2 * kHalf; }, seconds(60)))
      << gate->process().Log();
  EXPECT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") == 2 * kHalf; }));
  EXPECT_TRUE(WaitFor([&] { return client.Consumer().num_ack_pending == 0; }));
  EXPECT_EQ(ByJobId(client.ReadAll("WORK", "worker.>"), false).size(), size_t{2 * kHalf});
  EXPECT_TRUE(gate->WaitReady());
}

TEST_F(GateTest, SigtermUnderLoadFinishesInFlightAndLosesNothing) {
  NatsServer server;
  JetStreamClient client(server.url());
  constexpr int kJobs = 3000;
  auto gate = StartGate(server.url(), {}, "gate-a");
  std::thread publisher([&] {
    for (int i = 0; i < kJobs; ++i) {
      ASSERT_TRUE(client.PublishJob(MakeJob("t-" + std::to_string(i), "job.read.term")).ok());
    }
  });
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") >= 200; }));
  gate->process().Signal(SIGTERM);
  EXPECT_EQ(gate->process().Wait(), 0) << gate->process().Log();
  publisher.join();
  // What the stopped gate dispatched, it also recorded: nothing half-done.
  EXPECT_EQ(client.Count("WORK"), client.Count("AUDIT", "audit.decisions.>"));

  auto successor = StartGate(server.url(), {}, "gate-b");
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK") == kJobs; }, seconds(60)))
      << successor->process().Log();
  EXPECT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") == kJobs; }));
  EXPECT_EQ(ByJobId(client.ReadAll("WORK", "worker.>"), false).size(), size_t{kJobs});
}

}  // namespace
}  // namespace jobgate::gate
