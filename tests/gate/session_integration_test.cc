// Sessions through two running gates sharing one nats-server: a TERMINATE by whichever
// replica ends the session for both, an operator restores it through the other, the
// state survives a restart of both, and repeated denials end a session.
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include "jobgate/v1/jobgate.pb.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

constexpr char kPolicy[] = R"(snapshot: sessions-it
defaults: {decision: allow}
rules:
  - id: kill-rm
    match: {topics: ["job.rm.>"]}
    decision: terminate
    reason: rm ends the session
  - id: deny-env
    match: {path: {glob: "**/.env"}}
    decision: deny
  - id: three-denials
    match: {session: {denied: {gte: 3, within: 10m}}}
    decision: terminate
  - id: evasion
    match: {session: {denied_target: same}}
    decision: require_approval
)";

v1::Job SessionJob(const std::string& id, const std::string& session, const std::string& path = "") {
  v1::Job job;
  job.set_job_id(id);
  job.mutable_actor()->set_agent_id("agent-" + session);
  job.mutable_actor()->set_session_id(session);
  if (!path.empty()) (*job.mutable_args()->mutable_fields())["path"].set_string_value(path);
  return job;
}

// The decision recorded for `job_id` ("" until its record is stored).
std::string DecisionOf(JetStreamClient& client, const std::string& job_id) {
  for (const auto& m : client.ReadAll("AUDIT", "audit.decisions.>", std::chrono::seconds(5))) {
    v1::DecisionRecord record;
    if (record.ParseFromString(m.data) && record.decision().job_id() == job_id) {
      return v1::Verdict_Name(record.decision().decision());
    }
  }
  return "";
}

std::string AwaitDecision(JetStreamClient& client, const std::string& job_id) {
  std::string decision;
  WaitFor([&] { return !(decision = DecisionOf(client, job_id)).empty(); });
  return decision;
}

// GET /api/v1/sessions/<session> on `gate`: the body of a 200 answer, else "".
std::string SessionOn(const GateProcess& gate, const std::string& session) {
  httplib::Client http("127.0.0.1", gate.http_port());
  auto r = http.Get(("/api/v1/sessions/" + session).c_str(),
                    {{"Authorization", "Bearer admin-token"}});
  return r && r->status == 200 ? r->body : "";
}

int Post(const GateProcess& gate, const std::string& path, std::string* body = nullptr) {
  httplib::Client http("127.0.0.1", gate.http_port());
  http.set_read_timeout(30);
  auto r = http.Post(path.c_str(), {{"Authorization", "Bearer admin-token"}},
                     R"({"reason": "integration test"})", "application/json");
  if (body != nullptr && r) *body = r->body;
  return r ? r->status : 0;
}

class SessionIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = dir_.WriteFile("policy.yaml", kPolicy);
    config_ = dir_.WriteFile("config.yaml",
                             "api:\n  tokens:\n"
                             "    - {name: admin, roles: [policy-admin], token: admin-token}\n");
    StartGates();
  }
  void StartGates() {
    a_ = std::make_unique<GateProcess>(server_.url(),
                                       std::vector<std::string>{"--config", config_, "--policy", policy_},
                                       dir_, "gate-a" + std::to_string(starts_));
    b_ = std::make_unique<GateProcess>(server_.url(),
                                       std::vector<std::string>{"--config", config_, "--policy", policy_},
                                       dir_, "gate-b" + std::to_string(starts_));
    ++starts_;
    ASSERT_TRUE(a_->WaitReady()) << a_->process().Log();
    ASSERT_TRUE(b_->WaitReady()) << b_->process().Log();
  }

  NatsServer server_;
  TempDir dir_;
  std::string policy_, config_;
  std::unique_ptr<GateProcess> a_, b_;
  int starts_ = 0;  // each start logs to files of its own
};

TEST_F(SessionIntegrationTest, TerminateOnOneReplicaEndsTheSessionOnBothUntilRestored) {
  JetStreamClient client(server_.url());
  ASSERT_TRUE(client.Publish("job.rm.rf", SessionJob("kill", "s1").SerializeAsString()).ok());
  ASSERT_EQ(AwaitDecision(client, "kill"), "TERMINATE");
  // Both replicas hold the termination (their watched copies: no round trip per job).
  for (const GateProcess* gate : {a_.get(), b_.get()}) {
    std::string last;
    EXPECT_TRUE(WaitFor([&] {
      last = SessionOn(*gate, "session:s1");
      return last.find("TERMINATED") != std::string::npos &&
             last.find("rule:kill-rm") != std::string::npos;
    })) << last;
  }
  // Twenty later jobs, judged by whichever replica fetches them: none reaches a worker.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        client.Publish("job.read.file", SessionJob("later-" + std::to_string(i), "s1").SerializeAsString())
            .ok());
  }
  ASSERT_TRUE(client.Publish("job.read.file", SessionJob("other", "s2").SerializeAsString()).ok());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(AwaitDecision(client, "later-" + std::to_string(i)), "TERMINATE") << i;
  }
  EXPECT_EQ(AwaitDecision(client, "other"), "ALLOW");
  EXPECT_EQ(client.Count("WORK", "worker.>"), 1);
  EXPECT_EQ(client.Count("AUDIT", "audit.denied.>"), 21);

  std::string body;
  ASSERT_EQ(Post(*b_, "/api/v1/sessions/session:s1/restore", &body), 200) << body;
  EXPECT_EQ(Post(*b_, "/api/v1/sessions/session:s1/restore", &body), 409) << body;
  ASSERT_TRUE(WaitFor([&] {
    const std::string body = SessionOn(*a_, "session:s1");
    return !body.empty() && body.find("TERMINATED") == std::string::npos;
  }));
  ASSERT_TRUE(client.Publish("job.read.file", SessionJob("restored", "s1").SerializeAsString()).ok());
  EXPECT_EQ(AwaitDecision(client, "restored"), "ALLOW");
  // The restore is on the audit trail.
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& m : client.ReadAll("AUDIT", "audit.policy", std::chrono::seconds(5))) {
      if (m.data.find("session_restored") != std::string::npos) return true;
    }
    return false;
  }));
}

TEST_F(SessionIntegrationTest, AnOperatorsTerminationSurvivesARestartOfBothGates) {
  std::string body;
  ASSERT_EQ(Post(*a_, "/api/v1/sessions/s7/terminate", &body), 200) << body;
  a_.reset();
  b_.reset();
  StartGates();
  JetStreamClient client(server_.url());
  ASSERT_TRUE(client.Publish("job.read.file", SessionJob("after-restart", "s7").SerializeAsString()).ok());
  EXPECT_EQ(AwaitDecision(client, "after-restart"), "TERMINATE");
}

TEST_F(SessionIntegrationTest, EvasionEscalatesAndThreeDenialsTerminate) {
  JetStreamClient client(server_.url());
  ASSERT_TRUE(client.Publish("job.read.file", SessionJob("d1", "s3", "/repo/.env").SerializeAsString()).ok());
  ASSERT_EQ(AwaitDecision(client, "d1"), "DENY");
  v1::Job evasion = SessionJob("e1", "s3");
  (*evasion.mutable_args()->mutable_fields())["command"].set_string_value("cp /repo/.env /tmp/x");
  ASSERT_TRUE(client.Publish("job.shell.run", evasion.SerializeAsString()).ok());
  EXPECT_EQ(AwaitDecision(client, "e1"), "REQUIRE_APPROVAL");
  ASSERT_TRUE(client.Publish("job.read.file", SessionJob("d2", "s3", "/a/.env").SerializeAsString()).ok());
  ASSERT_EQ(AwaitDecision(client, "d2"), "DENY");
  ASSERT_TRUE(client.Publish("job.read.file", SessionJob("d3", "s3", "/b/.env").SerializeAsString()).ok());
  ASSERT_EQ(AwaitDecision(client, "d3"), "DENY");
  // Either replica may judge the next job: wait until both copies hold the third denial
  // (replicas share session state through the store's watch, not per job).
  for (const GateProcess* gate : {a_.get(), b_.get()}) {
    std::string last;
    EXPECT_TRUE(WaitFor([&] {
      last = SessionOn(*gate, "session:s3");
      return last.find("\"d3\"") != std::string::npos;
    })) << last;
  }
  ASSERT_TRUE(client.Publish("job.read.file", SessionJob("harmless", "s3").SerializeAsString()).ok());
  EXPECT_EQ(AwaitDecision(client, "harmless"), "TERMINATE");
}

}  // namespace
}  // namespace jobgate::gate
