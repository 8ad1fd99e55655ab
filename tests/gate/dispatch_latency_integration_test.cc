// A lone job is decided at once, not after the consumer's fetch timeout: jobs published
// one at a time with idle pauses between them, as a Claude Code hook or an MCP proxy
// publishes them, against a real nats-server and gate. An idle dispatcher waits in a
// pull for one message; it must hand that job on without asking the server for more
// first (a no_wait pull request with an expiry is held by the server until the expiry
// when nothing else is pending).
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <chrono>
#include <string>
#include <thread>

#include "jobgate/v1/jobgate.pb.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::TempDir;
using Clock = std::chrono::steady_clock;

TEST(DispatchLatency, ALoneJobIsDecidedWithoutWaitingForTheFetchTimeout) {
  NatsServer server;
  TempDir dir;
  const std::string config = dir.WriteFile("gate.yaml", "dispatch:\n  fetch_timeout: 1s\n");
  const std::string policy = dir.WriteFile(
      "policy.yaml", "rules: [{id: reads, match: {topics: ['job.read.>']}, decision: allow}]\n");
  GateProcess gate(server.url(), {"--config", config, "--policy", policy}, dir);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();

  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server.url().c_str()), NATS_OK);
  natsSubscription* records = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&records, nc, "audit.decisions.read.file"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(nc), NATS_OK);
  JetStreamClient client(server.url());

  // With the fault, about every other job waited the whole fetch timeout; eight in a row
  // all decided well within it is the behaviour, not luck. Each pause is longer than the
  // fetch timeout, so the dispatchers have gone idle (the scenario, not a synchronization).
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    v1::Job job;
    job.set_job_id("lone-" + std::to_string(i));
    const auto start = Clock::now();
    ASSERT_TRUE(client.Publish("job.read.file", job.SerializeAsString()).ok());
    natsMsg* record = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&record, records, 30'000), NATS_OK) << "job " << i;
    natsMsg_Destroy(record);
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(600)) << "job " << i;
  }
  natsSubscription_Destroy(records);
  natsConnection_Destroy(nc);
}

}  // namespace
}  // namespace jobgate::gate
