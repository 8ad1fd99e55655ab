// The policy lifecycle end to end: two `jobgate run` processes on one real nats-server,
// driven through the HTTP API and NATS request-reply as operators would.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nats/nats.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "jobgate/v1/jobgate.pb.h"
#include "base/hash.h"
#include "policy/policy.h"
#include "subjects/codec.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

// v1 holds prod writes for approval; the others change that.
std::string PolicyYaml(const std::string& prod_write_decision) {
  return "defaults: {decision: deny}\nrules:\n"
         "  - {id: reads, match: {topics: ['job.read.>']}, decision: allow}\n"
         "  - {id: prod-writes, match: {topics: ['job.db.>'], environment: prod}, decision: " +
         prod_write_decision + "}\n";
}

constexpr char kAdminToken[] = "admin-token-for-tests";
constexpr char kViewerToken[] = "viewer-token-for-tests";

struct Answer {
  int status = 0;
  std::string body;
};

Answer Post(const GateProcess& gate, const std::string& path, const std::string& body,
            const std::string& token) {
  httplib::Client client("127.0.0.1", gate.http_port());
  client.set_read_timeout(60);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", std::string("Bearer ") + token);
  auto r = client.Post(path.c_str(), headers, body, "application/json");
  return r ? Answer{r->status, r->body} : Answer{};
}

Answer Get(const GateProcess& gate, const std::string& path, const std::string& token) {
  httplib::Client client("127.0.0.1", gate.http_port());
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", std::string("Bearer ") + token);
  auto r = client.Get(path.c_str(), headers);
  return r ? Answer{r->status, r->body} : Answer{};
}

std::string PublishBody(const std::string& name, const std::string& yaml,
                        const std::string& extra = "") {
  v1::PublishRequest request;
  request.set_snapshot(name);
  request.set_policy(yaml);
  request.set_note("integration test");
  std::string json = subjects::ToJson(request);
  if (!extra.empty()) json.insert(json.size() - 1, "," + extra);
  return json;
}

// True when `gate` reports `snapshot` of `yaml` as its active policy
// (jobgate_policy_info{hash,snapshot} = 1; Prometheus prints labels sorted).
bool EnforcesPolicy(const GateProcess& gate, const std::string& snapshot, const std::string& yaml) {
  auto compiled = policy::Compile(yaml);
  if (!compiled.ok()) return false;
  return gate.Metric("jobgate_policy_info{hash=\"" + compiled.policy->hash() + "\",snapshot=\"" +
                     snapshot + "\"}") == 1;
}

class LifecycleIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_file_ = dir_.WriteFile("policy.yaml", "snapshot: v1\n" + PolicyYaml("require_approval"));
    config_file_ = dir_.WriteFile("config.yaml",
                                  "api:\n  tokens:\n"
                                  "    - {name: admin, roles: [policy-admin], token_sha256: \"" +
                                      jobgate::Sha256Hex(kAdminToken) +
                                      "\"}\n"
                                      "    - {name: viewer, roles: [viewer], token: \"" +
                                      kViewerToken +
                                      "\"}\n"
                                      "lifecycle: {recheck_interval: 2s}\n");
    a_ = StartGate("gate-a");
    b_ = StartGate("gate-b");
    ASSERT_TRUE(a_->WaitReady()) << a_->process().Log();
    ASSERT_TRUE(b_->WaitReady()) << b_->process().Log();
  }

  std::unique_ptr<GateProcess> StartGate(const std::string& name) {
    return std::make_unique<GateProcess>(
        server_.url(), std::vector<std::string>{"--config", config_file_, "--policy", policy_file_},
        dir_, name);
  }

  // Publishes `n` prod writes so publish has recent jobs to simulate on, and waits until
  // both gates handled them.
  void SendProdWrites(int n) {
    JetStreamClient client(server_.url());
    for (int i = 0; i < n; ++i) {
      v1::Job job;
      job.set_job_id("w-" + std::to_string(sent_++));
      job.set_environment("prod");
      ASSERT_TRUE(client.Publish("job.db.write", job.SerializeAsString()).ok());
    }
    ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") >= sent_; }));
  }

  NatsServer server_;
  TempDir dir_;
  std::string policy_file_;
  std::string config_file_;
  std::unique_ptr<GateProcess> a_;
  std::unique_ptr<GateProcess> b_;
  int sent_ = 0;
};

TEST_F(LifecycleIntegrationTest, PublishSwitchesBothGatesAndRollbackSwitchesBack) {
  const std::string v2_yaml = PolicyYaml("deny");
  ASSERT_TRUE(EnforcesPolicy(*a_, "v1", PolicyYaml("require_approval")) &&
              EnforcesPolicy(*b_, "v1", PolicyYaml("require_approval")));
  const auto start = std::chrono::steady_clock::now();
  const Answer published =
      Post(*a_, "/api/v1/policy/publish", PublishBody("v2", PolicyYaml("deny")), kAdminToken);
  ASSERT_EQ(published.status, 200) << published.body;
  EXPECT_TRUE(WaitFor(
      [&] { return EnforcesPolicy(*a_, "v2", v2_yaml) && EnforcesPolicy(*b_, "v2", v2_yaml); }));
  const double swap_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("publish -> both replicas enforcing: %.0f ms (includes the publish call)\n", swap_ms);

  // Decisions now name the new snapshot.
  JetStreamClient client(server_.url());
  v1::Job job;
  job.set_job_id("after-publish");
  job.set_environment("prod");
  ASSERT_TRUE(client.Publish("job.db.write", job.SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.denied.>") >= 1; }))
      << "decisions: " << client.Count("AUDIT", "audit.decisions.>")
      << " approvals: " << client.Count("APPROVALS", "approval.requests.>")
      << " work: " << client.Count("WORK", "worker.>") << "\n"
      << a_->process().Log() << b_->process().Log();
  v1::DispatchedJob denied;
  ASSERT_TRUE(denied.ParseFromString(client.ReadAll("AUDIT", "audit.denied.>").back().data));
  EXPECT_EQ(denied.decision().snapshot(), "v2");

  const Answer rolled =
      Post(*b_, "/api/v1/policy/rollback",
           R"({"target_snapshot":"v1","note":"false positive spike"})", kAdminToken);
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  EXPECT_TRUE(WaitFor([&] {
    return EnforcesPolicy(*a_, "v1", PolicyYaml("require_approval")) &&
           EnforcesPolicy(*b_, "v1", PolicyYaml("require_approval"));
  }));

  // The audit trail has the publish and the rollback, with who and why.
  std::vector<std::string> kinds;
  for (const auto& m : client.ReadAll("AUDIT", "audit.policy")) {
    v1::PolicyEvent event;
    ASSERT_TRUE(event.ParseFromString(m.data));
    kinds.push_back(event.kind() + ":" + event.actor() + ":" + event.to_snapshot());
  }
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "publish:admin:v2"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "rollback:admin:v1"), kinds.end());
}

TEST_F(LifecycleIntegrationTest, ConcurrentPublishesOneWinsOneConflicts) {
  Answer through_a, through_b;
  std::thread t1([&] {
    through_a =
        Post(*a_, "/api/v1/policy/publish",
             PublishBody("v2-a", PolicyYaml("deny"), R"("expected_active":"v1")"), kAdminToken);
  });
  std::thread t2([&] {
    through_b = Post(*b_, "/api/v1/policy/publish",
                     PublishBody("v2-b", PolicyYaml("terminate"), R"("expected_active":"v1")"),
                     kAdminToken);
  });
  t1.join();
  t2.join();
  const int ok = (through_a.status == 200) + (through_b.status == 200);
  const int conflict = (through_a.status == 409) + (through_b.status == 409);
  EXPECT_EQ(ok, 1) << through_a.body << "\n" << through_b.body;
  EXPECT_EQ(conflict, 1) << through_a.body << "\n" << through_b.body;
}

TEST_F(LifecycleIntegrationTest, InvalidPolicyIsRefusedAndTheOldOneStays) {
  const Answer r =
      Post(*a_, "/api/v1/policy/publish",
           PublishBody("v2", "rules:\n  - id: a\n    match: {risk_tag: [x]}\n    decision: deny\n"),
           kAdminToken);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("v2:3:13: unknown key 'risk_tag'"), std::string::npos) << r.body;
  EXPECT_TRUE(EnforcesPolicy(*a_, "v1", PolicyYaml("require_approval")));
  EXPECT_TRUE(EnforcesPolicy(*b_, "v1", PolicyYaml("require_approval")));
  EXPECT_EQ(Get(*a_, "/api/v1/policy/snapshots/v2", kViewerToken).status, 404);
}

TEST_F(LifecycleIntegrationTest, LooseningIsRefusedUnlessAllowed) {
  const std::string v2_yaml = PolicyYaml("allow");
  SendProdWrites(20);
  const Answer refused =
      Post(*a_, "/api/v1/policy/publish", PublishBody("v2", PolicyYaml("allow")), kAdminToken);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_NE(refused.body.find("\"code\": \"loosening\""), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("\"loosened\": \"20\""), std::string::npos) << refused.body;
  EXPECT_TRUE(EnforcesPolicy(*a_, "v1", PolicyYaml("require_approval")));
  const Answer allowed =
      Post(*a_, "/api/v1/policy/publish",
           PublishBody("v2", PolicyYaml("allow"), R"("allow_loosening":true,"force":true)"),
           kAdminToken);
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_TRUE(WaitFor([&] { return EnforcesPolicy(*b_, "v2", v2_yaml); }));
}

TEST_F(LifecycleIntegrationTest, ShadowDisagreementsAreCounted) {
  // Store a stricter snapshot without keeping it active, then shadow it.
  ASSERT_EQ(
      Post(*a_, "/api/v1/policy/publish", PublishBody("strict", PolicyYaml("deny")), kAdminToken)
          .status,
      200);
  ASSERT_EQ(Post(*a_, "/api/v1/policy/rollback", R"({"target_snapshot":"v1"})", kAdminToken).status,
            200);
  ASSERT_EQ(Post(*a_, "/api/v1/policy/shadow", R"({"snapshot":"strict"})", kAdminToken).status,
            200);
  // Both replicas evaluate the shadow before any job is sent.
  const std::string shadow_series = "jobgate_shadow_policy_info{hash=\"" +
                                    policy::Compile(PolicyYaml("deny")).policy->hash() +
                                    "\",snapshot=\"strict\"}";
  ASSERT_TRUE(
      WaitFor([&] { return a_->Metric(shadow_series) == 1 && b_->Metric(shadow_series) == 1; }));
  SendProdWrites(10);
  const auto disagreements = [&] {
    const std::string series =
        "jobgate_shadow_disagreements_total{from=\"REQUIRE_APPROVAL\",to=\"DENY\"}";
    return std::max(0.0, a_->Metric(series)) + std::max(0.0, b_->Metric(series));
  };
  EXPECT_TRUE(WaitFor([&] { return disagreements() >= 10; })) << disagreements();
  // Not enforced: every one of them is waiting for approval.
  JetStreamClient client(server_.url());
  EXPECT_EQ(client.Count("APPROVALS", "approval.requests.>"), 10);
}

TEST_F(LifecycleIntegrationTest, RestartComesBackOnTheStoresSnapshotNotTheBootstrapFile) {
  const std::string v2_yaml = PolicyYaml("deny");
  ASSERT_EQ(Post(*a_, "/api/v1/policy/publish", PublishBody("v2", PolicyYaml("deny")), kAdminToken)
                .status,
            200);
  ASSERT_TRUE(WaitFor([&] { return EnforcesPolicy(*b_, "v2", v2_yaml); }));
  b_->process().Signal(SIGTERM);
  ASSERT_EQ(b_->process().Wait(), 0);
  b_ = StartGate("gate-b-restarted");  // same --policy v1 bootstrap file
  ASSERT_TRUE(b_->WaitReady()) << b_->process().Log();
  EXPECT_TRUE(EnforcesPolicy(*b_, "v2", v2_yaml)) << b_->process().Log();
}

TEST_F(LifecycleIntegrationTest, TokensAndRolesAreRequired) {
  EXPECT_EQ(Get(*a_, "/api/v1/policy/snapshots", "").status, 401);
  EXPECT_EQ(Get(*a_, "/api/v1/policy/snapshots", "wrong").status, 401);
  EXPECT_EQ(Get(*a_, "/api/v1/policy/snapshots", kViewerToken).status, 200);
  EXPECT_EQ(Post(*a_, "/api/v1/policy/publish", PublishBody("v2", PolicyYaml("deny")), kViewerToken)
                .status,
            403);
  EXPECT_EQ(Get(*a_, "/healthz", "").status, 200);  // health needs no token
}

TEST_F(LifecycleIntegrationTest, RequestReplyServesTheSameApi) {
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server_.url().c_str()), NATS_OK);
  auto request = [&](const std::string& verb, const std::string& body, const char* token,
                     std::string* status) {
    natsMsg* msg = nullptr;
    natsMsg_Create(&msg, ("jobgate.api." + verb).c_str(), nullptr, body.data(),
                   static_cast<int>(body.size()));
    if (token != nullptr)
      natsMsgHeader_Set(msg, "Authorization", (std::string("Bearer ") + token).c_str());
    natsMsg* reply = nullptr;
    const natsStatus s = natsConnection_RequestMsg(&reply, nc, msg, 10000);
    natsMsg_Destroy(msg);
    std::string data;
    if (s == NATS_OK) {
      const char* code = nullptr;
      natsMsgHeader_Get(reply, "Jobgate-Status", &code);
      *status = code != nullptr ? code : "";
      data.assign(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
      natsMsg_Destroy(reply);
    }
    return data;
  };
  std::string status;
  const std::string list = request("policy.list", "", kViewerToken, &status);
  EXPECT_EQ(status, "200") << list;
  EXPECT_NE(list.find("\"active\": \"v1\""), std::string::npos) << list;
  request("policy.list", "", nullptr, &status);
  EXPECT_EQ(status, "401");
  const std::string decision =
      request("policy.simulate", R"({"job": {"topic": "job.db.x", "environment": "prod"}})",
              kViewerToken, &status);
  EXPECT_EQ(status, "200") << decision;
  EXPECT_NE(decision.find("\"decision\": \"REQUIRE_APPROVAL\""), std::string::npos) << decision;
  natsConnection_Destroy(nc);
}

}  // namespace
}  // namespace jobgate::gate

namespace jobgate::gate {
namespace {

// Resident memory of a process, in MiB (VmHWM: the peak so far).
double PeakRssMiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// Eight levels of ten aliases in a free-form value: 10^8 nodes once walked.
std::string AliasBombPolicy() {
  std::string yaml = "defaults:\n  decision: deny\n  constraints:\n    custom:\n";
  yaml += "      a0: &a0 [lol]\n";
  for (int level = 1; level <= 8; ++level) {
    yaml += "      a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) yaml += (i ? ", *a" : "*a") + std::to_string(level - 1);
    yaml += "]\n";
  }
  return yaml + "rules:\n  - {id: r, match: {topics: ['job.read.>']}, decision: allow}\n";
}

TEST_F(LifecycleIntegrationTest, AliasBombsAreRefusedOnEveryPathAndCostTheGateNothing) {
  const double rss_before = PeakRssMiB(a_->process().pid());
  v1::SimulateRequest simulate;
  simulate.set_policy(AliasBombPolicy());
  simulate.mutable_job()->set_topic("job.read.x");
  const std::string simulate_body = subjects::ToJson(simulate);
  Answer a = Post(*a_, "/api/v1/policy/simulate", simulate_body, kViewerToken);
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(a.body.find("max_nodes"), std::string::npos) << a.body;
  a = Post(*a_, "/api/v1/policy/publish", PublishBody("bomb", AliasBombPolicy()), kAdminToken);
  EXPECT_EQ(a.status / 100, 4) << a.body;
  EXPECT_NE(a.body.find("max_nodes"), std::string::npos) << a.body;
  // The same through request-reply.
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server_.url().c_str()), NATS_OK);
  natsMsg* msg = nullptr;
  natsMsg_Create(&msg, "jobgate.api.policy.simulate", nullptr, simulate_body.data(),
                 static_cast<int>(simulate_body.size()));
  natsMsgHeader_Set(msg, "Authorization", (std::string("Bearer ") + kViewerToken).c_str());
  natsMsg* reply = nullptr;
  ASSERT_EQ(natsConnection_RequestMsg(&reply, nc, msg, 30000), NATS_OK);
  const std::string answer(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
  EXPECT_NE(answer.find("max_nodes"), std::string::npos) << answer;
  natsMsg_Destroy(reply);
  natsMsg_Destroy(msg);
  natsConnection_Destroy(nc);
  // Nothing was walked: the gate's peak memory did not move, and jobs still flow.
  const double rss_after = PeakRssMiB(a_->process().pid());
  std::printf("gate peak RSS %.1f MiB -> %.1f MiB across three alias bombs\n", rss_before,
              rss_after);
  EXPECT_LT(rss_after - rss_before, 100.0);
  SendProdWrites(1);
  EXPECT_TRUE(a_->process().running());
}

}  // namespace
}  // namespace jobgate::gate
