// Over-rate jobs parked in the deferred stream on a real nats-server: with an approval key
// they are sealed at rest (no raw secret in JOBS_DEFERRED), and a gate holding the key
// routes them as they came once their rate allows.
#include <gtest/gtest.h>

#include <string>

#include "jobgate/v1/jobgate.pb.h"
#include "subjects/headers.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::StoredMessage;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

// A token shape the secret scanner detects.
constexpr char kToken[] = "ghp_Zq8LwX3vR7nT2mK9pB4sY6dF1hJ5gC0aE8uQ";

constexpr char kPolicy[] = R"(version: 1
snapshot: parked-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: throttle-llm
    match: {topics: ["job.llm.>"]}
    decision: throttle
    rate: {limit: 1, period: 3s, key: actor.agent_id}
)";

v1::Job LlmJob(const std::string& id) {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic("job.llm.chat");
  job.mutable_actor()->set_agent_id("agent-1");
  job.mutable_actor()->set_session_id("session-" + id);
  (*job.mutable_labels())["api_key"] = kToken;
  return job;
}

TEST(DeferralSealingIntegrationTest, ParkedJobsAreSealedAtRestAndRoutedAsTheyCame) {
  NatsServer server;
  TempDir dir;
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string key = dir.WriteFile("approval.key", std::string(64, 'a') + "\n");
  const std::string config =
      dir.WriteFile("config.yaml", "approvals: {seal_keys: [" + key + "]}\n");
  GateProcess gate(server.url(), {"--policy", policy, "--config", config}, dir);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  JetStreamClient client(server.url());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.PublishJob(LlmJob("llm-" + std::to_string(i))).ok());
  }
  // One within the rate; the other two parked while it refills.
  std::vector<StoredMessage> parked;
  ASSERT_TRUE(WaitFor([&] {
    parked = client.ReadAll("JOBS_DEFERRED", ">");
    return parked.size() >= 2;
  })) << gate.process().Log();
  for (const StoredMessage& m : parked) {
    EXPECT_EQ(m.data.find(kToken), std::string::npos) << "a parked job is at rest raw";
    EXPECT_EQ(m.data.find("agent-1"), std::string::npos);
    ASSERT_TRUE(m.headers.count(subjects::kSealedKeyHeader)) << m.subject;
    EXPECT_EQ(m.headers.at(subjects::kSealedKeyHeader).size(), 16u);
  }
  // Routed once the rate allows, each as it came (the worker may need its credential).
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.llm.chat") == 3; },
                      std::chrono::seconds(60)))
      << gate.process().Log();
  for (const StoredMessage& m : client.ReadAll("WORK", "worker.llm.chat")) {
    v1::DispatchedJob routed;
    ASSERT_TRUE(routed.ParseFromString(m.data));
    EXPECT_EQ(routed.job().labels().at("api_key"), kToken);
  }
  EXPECT_TRUE(WaitFor([&] { return client.Count("JOBS_DEFERRED") == 0; }));
}

}  // namespace
}  // namespace jobgate::gate
