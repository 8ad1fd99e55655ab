// Fail closed, on a real nats-server with `jobgate run`: with the
// policy store unreachable nothing is dispatched; with its bucket deleted under
// a running gate the gate stops dispatching (and says so) until a policy is
// active again; a snapshot that fails to compile on the gate leaves the
// previous one enforced and is recorded as a reload failure (PolicyEvent on
// audit.policy, jobgate_policy_reloads_total{result=failed}). (A gate that
// never had a policy: GateTest.NoPolicyMeansNotReadyAndNoConsumption; a publish
// that does not compile: LifecycleIntegrationTest.InvalidPolicyIsRefused...)
#include <gtest/gtest.h>

#include "gate/nats/nats_bus.h"
#include "gate/lifecycle/snapshot_store.h"
#include "gate/nats/nats_snapshot_store.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::ConnectGate;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;
using std::chrono::seconds;

constexpr char kPolicy[] = R"(snapshot: v1
defaults: {decision: deny}
rules:
  - {id: reads, match: {topics: ["job.read.>"]}, decision: allow}
)";

// One dispatch worker, so "the dispatcher saw there is no policy" is one log
// line; a re-check of the store every second.
constexpr char kConfig[] = "dispatch: {workers: 1}\nlifecycle: {recheck_interval: 1s}\n";

v1::Job ReadJob(const std::string& id) {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic("job.read.file");
  return job;
}

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<v1::PolicyEvent> PolicyEvents(JetStreamClient& client, const std::string& kind) {
  std::vector<v1::PolicyEvent> out;
  for (const auto& m : client.ReadAll("AUDIT", "audit.policy")) {
    v1::PolicyEvent event;
    if (event.ParseFromString(m.data) && event.kind() == kind) out.push_back(event);
  }
  return out;
}

class FailClosedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_file_ = dir_.WriteFile("policy.yaml", kPolicy);
    config_file_ = dir_.WriteFile("gate.yaml", kConfig);
  }
  std::unique_ptr<GateProcess> StartGate(const std::string& url, const std::string& name) {
    return std::make_unique<GateProcess>(
        url, std::vector<std::string>{"--config", config_file_, "--policy", policy_file_}, dir_,
        name);
  }

  TempDir dir_;
  std::string policy_file_;
  std::string config_file_;
};

// The deploy permissions, except that the gate may not touch its policy bucket:
// the store is there but unreachable for it.
TEST_F(FailClosedTest, PolicyStoreUnreachableAtStartNothingIsDispatched) {
  auto text = policy::ReadFile(std::string(JOBGATE_SOURCE_DIR) + "/deploy/nats/permissions.conf");
  ASSERT_TRUE(text.ok());
  std::string permissions = *text;
  for (const std::string grant :
       {"\"$KV.jobgate-policy.>\", ", "\"$JS.API.DIRECT.GET.KV_jobgate-policy.>\",\n"}) {
    const size_t at = permissions.find(grant);
    ASSERT_NE(at, std::string::npos) << grant;
    permissions.erase(at, grant.size());
  }
  NatsServer server(permissions);
  auto gate = StartGate(server.url("jobgate", "gate-password"), "gate");
  JetStreamClient agent(server.url("agent", "agent-password"));
  JetStreamClient inspector(server.url("jobgate", "gate-password"));
  ASSERT_TRUE(WaitFor([&] { return inspector.Consumer().ok; })) << gate->process().Log();
  ASSERT_TRUE(agent.PublishJob(ReadJob("while-unreachable")).ok());
  // The gate tried again after the job arrived, and still did not start
  // consuming.
  const size_t failures = Occurrences(gate->process().Log(), "start-up step failed");
  ASSERT_TRUE(WaitFor(
      [&] { return Occurrences(gate->process().Log(), "start-up step failed") >= failures + 2; },
      seconds(60)))
      << gate->process().Log();
  std::string body;
  EXPECT_EQ(gate->Get("/readyz", &body), 503) << body;
  const auto state = inspector.Consumer();
  EXPECT_EQ(state.num_pending, 1u);
  EXPECT_EQ(state.num_ack_pending, 0);
  EXPECT_EQ(inspector.Count("WORK"), 0);
  EXPECT_EQ(inspector.Count("AUDIT", "audit.decisions.>"), 0);
}

TEST_F(FailClosedTest, PolicyBucketDeletedUnderARunningGateStopsDispatchUntilItIsBack) {
  NatsServer server;
  auto gate = StartGate(server.url(), "gate-a");
  ASSERT_TRUE(gate->WaitReady()) << gate->process().Log();
  JetStreamClient client(server.url());
  ASSERT_TRUE(client.PublishJob(ReadJob("before")).ok());
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK") == 1; })) << gate->process().Log();

  ASSERT_TRUE(client.DeleteStream("KV_jobgate-policy").ok());
  // Noticed by the next re-check: not ready, a reload failure recorded and
  // counted, and the dispatcher has seen that there is no policy (no fetch in
  // flight with the old one).
  ASSERT_TRUE(WaitFor([&] { return gate->Get("/readyz") == 503; })) << gate->process().Log();
  ASSERT_TRUE(WaitFor([&] { return !PolicyEvents(client, "reload_failed").empty(); }));
  const v1::PolicyEvent event = PolicyEvents(client, "reload_failed").front();
  EXPECT_EQ(event.from_snapshot(), "v1");
  EXPECT_NE(event.error().find("not dispatching"), std::string::npos) << event.error();
  EXPECT_GE(gate->Metric("jobgate_policy_reloads_total{result=\"failed\"}"), 1);
  // Nothing is enforced, and the policy-info series says so (no series at all).
  EXPECT_EQ(gate->Metric("jobgate_policy_info"), 0);
  // The job worker's own line: it is written when a RunOnce found no policy and fetched
  // nothing, so no fetch is in flight after it (other lines, such as the reload failure,
  // name the missing policy earlier).
  ASSERT_TRUE(WaitFor([&] {
    return Occurrences(gate->process().Log(), "no active policy; retrying") >= 1;
  })) << gate->process().Log();

  ASSERT_TRUE(client.PublishJob(ReadJob("while-gone")).ok());
  // Without a policy the dispatcher fetches nothing: the job waits in JOBS, unacked. It is
  // usually undelivered; under load a pull request the server still held from the last
  // fetch (its expiry runs on the server's clock) may have delivered it, and a job
  // fetched without a policy is nak'ed unjudged. Either way it is not acked.
  auto state = client.Consumer();
  EXPECT_EQ(state.num_pending + static_cast<uint64_t>(state.num_ack_pending), 1u)
      << state.num_pending << " pending, " << state.num_ack_pending << " delivered unacked";
  EXPECT_EQ(client.Count("WORK"), 1);
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.>"), 1);

  // A second gate recreates the bucket and bootstraps the pointer again; the
  // first one follows at its next re-check. The waiting job is dispatched,
  // once.
  auto second = StartGate(server.url(), "gate-b");
  ASSERT_TRUE(second->WaitReady()) << second->process().Log();
  EXPECT_TRUE(gate->WaitReady()) << gate->process().Log();
  EXPECT_TRUE(WaitFor([&] { return gate->Metric("jobgate_policy_info") == 1; }));
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK") == 2; })) << gate->process().Log();
  EXPECT_TRUE(WaitFor([&] {
    const auto c = client.Consumer();
    return c.num_pending == 0 && c.num_ack_pending == 0;
  }));
  EXPECT_EQ(client.Count("WORK", "worker.>"), 2);
}

TEST_F(FailClosedTest, SnapshotThatFailsToCompileKeepsThePreviousAndIsRecorded) {
  NatsServer server;
  auto gate = StartGate(server.url(), "gate");
  ASSERT_TRUE(gate->WaitReady()) << gate->process().Log();
  const std::string v1_hash = policy::Compile(kPolicy).policy->hash();
  const std::string v1_info = "jobgate_policy_info{hash=\"" + v1_hash + "\",snapshot=\"v1\"}";
  ASSERT_EQ(gate->Metric(v1_info), 1);

  // Written to the store directly, past publish's validation (another tool, a
  // newer gate whose policy language this one does not know, a bad restore).
  auto connection = ConnectGate(server);
  ASSERT_NE(connection, nullptr);
  auto store = NatsKvSnapshotStore::Open(connection.get(), {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  v1::PolicySnapshot broken;
  broken.set_name("broken");
  broken.set_policy("rules:\n  - id: x\n    decision: maybe\n");
  broken.set_hash("sha256:0000");
  ASSERT_TRUE((*store)->PutSnapshot(broken).ok());
  auto active = (*store)->GetActive();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  v1::ActiveSnapshot next = *active;
  next.set_name("broken");
  next.set_hash("sha256:0000");
  ASSERT_TRUE((*store)->SetActive(next, active->revision()).ok());

  JetStreamClient client(server.url());
  ASSERT_TRUE(WaitFor([&] { return !PolicyEvents(client, "reload_failed").empty(); }))
      << gate->process().Log();
  const v1::PolicyEvent event = PolicyEvents(client, "reload_failed").front();
  EXPECT_EQ(event.from_snapshot(), "v1");
  EXPECT_EQ(event.to_snapshot(), "broken");
  EXPECT_FALSE(event.error().empty());
  EXPECT_TRUE(WaitFor(
      [&] { return gate->Metric("jobgate_policy_reloads_total{result=\"failed\"}") >= 1; }));
  // The previous snapshot is still enforced, and jobs still flow under it.
  EXPECT_EQ(gate->Metric(v1_info), 1);
  EXPECT_EQ(gate->Get("/readyz"), 200);
  ASSERT_TRUE(client.PublishJob(ReadJob("after-broken")).ok());
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK") == 1; })) << gate->process().Log();
  EXPECT_EQ(client.ReadAll("WORK", "worker.>")[0].headers.at("Jobgate-Snapshot"), "v1");
}

}  // namespace
}  // namespace jobgate::gate
