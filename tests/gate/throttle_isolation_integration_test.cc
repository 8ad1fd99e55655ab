// Throttling isolates, against a real gate and nats-server: a flood on one throttled key
// is parked in the deferred stream and leaves the job consumer's window, so another
// tenant's jobs keep flowing; the parked flood drains at its rate, none lost and none
// duplicated, across a gate killed mid-way and two replicas.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

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
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Policy(int limit) {
  return R"(version: 1
snapshot: isolation-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
  - id: throttle-llm
    match: {topics: ["job.llm.>"]}
    decision: throttle
    rate: {limit: )" +
         std::to_string(limit) + R"(, period: 1s, key: tenant_id}
)";
}

v1::Job MakeJob(const std::string& id, const std::string& topic, const std::string& tenant) {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic(topic);
  job.set_tenant_id(tenant);
  job.mutable_actor()->set_agent_id("agent-" + tenant);
  return job;
}

// How many times each job id was dispatched.
std::map<std::string, int> DispatchCounts(const std::vector<StoredMessage>& messages) {
  std::map<std::string, int> counts;
  for (const StoredMessage& m : messages) {
    v1::DispatchedJob d;
    if (d.ParseFromString(m.data)) ++counts[d.job().job_id()];
  }
  return counts;
}

// Joins a thread when the scope ends, also when an assertion returns early.
class JoinOnExit {
 public:
  explicit JoinOnExit(std::thread& thread) : thread_(thread) {}
  ~JoinOnExit() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread& thread_;
};

class ThrottleIsolationTest : public ::testing::Test {
 protected:
  std::unique_ptr<GateProcess> StartGate(const std::string& url, int limit, const std::string& name,
                                         const std::string& config_yaml = "") {
    const std::string policy = dir_.WriteFile("policy.yaml", Policy(limit));
    std::vector<std::string> flags = {"--policy", policy};
    if (!config_yaml.empty()) {
      flags.push_back("--config");
      flags.push_back(dir_.WriteFile(name + ".yaml", config_yaml));
    }
    auto gate = std::make_unique<GateProcess>(url, flags, dir_, name);
    EXPECT_TRUE(gate->WaitReady()) << gate->process().Log();
    return gate;
  }

  TempDir dir_;
};

// The case: 25,000 jobs that one tenant's rule throttles to 1 a second, more
// than the consumer's max_ack_pending (20,000), while another tenant's read jobs are
// published one at a time, each waited for.
TEST_F(ThrottleIsolationTest, AFloodOnOneKeyDelaysOnlyThatKey) {
  constexpr int kFlood = 25000;
  constexpr int kQuiet = 30;
  NatsServer server;
  auto gate = StartGate(server.url(), /*limit=*/1, "gate");
  JetStreamClient client(server.url());

  std::atomic<int> flooded{0};
  std::thread flood([&] {
    JetStreamClient flooder(server.url());
    for (int i = 0; i < kFlood; ++i) {
      ASSERT_TRUE(
          flooder.PublishJob(MakeJob("f-" + std::to_string(i), "job.llm.chat", "flood")).ok());
      flooded.store(i + 1, std::memory_order_relaxed);
    }
  });
  JoinOnExit join_flood(flood);
  ASSERT_TRUE(WaitFor([&] { return flooded.load() >= 2000; }, seconds(60)));

  // Quiet jobs during the flood and after all of it is in the job stream.
  milliseconds slowest{0};
  for (int i = 0; i < kQuiet; ++i) {
    if (i == kQuiet / 2) flood.join();
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        client.PublishJob(MakeJob("q-" + std::to_string(i), "job.read.file", "quiet")).ok());
    ASSERT_TRUE(
        WaitFor([&] { return client.Count("WORK", "worker.read.file") == i + 1; }, seconds(30)))
        << "quiet job " << i << " not routed; " << flooded.load() << " flood jobs published\n"
        << gate->process().Log();
    slowest = std::max(slowest, std::chrono::duration_cast<milliseconds>(
                                    std::chrono::steady_clock::now() - start));
  }
  RecordProperty("slowest_quiet_job_ms", static_cast<int>(slowest.count()));
  std::printf("slowest of %d quiet jobs during a flood of %d: %lld ms\n", kQuiet, kFlood,
              static_cast<long long>(slowest.count()));

  // The whole flood left the job consumer's window: parked (or routed within its rate),
  // each job once.
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto c = client.Consumer();
        return c.ok && c.num_pending == 0 && c.num_ack_pending == 0;
      },
      seconds(120)))
      << gate->process().Log();
  // Counted between two of the flood's tokens (one a second), so the counts agree: each
  // flood job parked or routed, once; only the routed ones decided and recorded.
  int64_t parked = 0, routed = 0, records = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        parked = client.Count("JOBS_DEFERRED");
        routed = client.Count("WORK", "worker.llm.chat");
        records = client.Count("AUDIT", "audit.decisions.llm.chat");
        return parked + routed == kFlood && records == routed;
      },
      seconds(60)))
      << parked << " parked, " << routed << " routed, " << records << " records";
  EXPECT_GT(parked, kFlood - 1000);
  EXPECT_TRUE(WaitFor([&] {
    return gate->Metric("jobgate_queue_pending{stream=\"JOBS_DEFERRED\"}") >= kFlood - 1000;
  })) << "the deferred backlog is not visible in jobgate_queue_pending";
  EXPECT_TRUE(WaitFor([&] { return gate->Metric("jobgate_queue_pending{stream=\"JOBS\"}") == 0; }));
}

// Two replicas drain a parked flood at its rate; one is killed mid-way and restarted.
// 10,000 jobs at 400 a second per replica: each job routed exactly once, the deferred
// stream empty at the end.
TEST_F(ThrottleIsolationTest, AParkedFloodDrainsAtItsRateAcrossAGateKill) {
  constexpr int kFlood = 10000;
  constexpr int kRate = 400;
  NatsServer server;
  // Jobs a killed gate had fetched come back after AckWait; keep the test short.
  const std::string config = "consumer: {ack_wait: 2s}\n";
  // The whole flood waits in JOBS before any gate consumes (a first gate creates the
  // streams and stops), so a backlog is parked however fast the publisher is.
  {
    auto setup = StartGate(server.url(), kRate, "gate-setup", config);
    setup->process().Signal(SIGTERM);
    ASSERT_EQ(setup->process().Wait(), 0) << setup->process().Log();
  }
  JetStreamClient client(server.url());
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_TRUE(client.PublishJob(MakeJob("d-" + std::to_string(i), "job.llm.batch", "bulk")).ok());
  }
  const auto start = std::chrono::steady_clock::now();
  auto first = StartGate(server.url(), kRate, "gate-a", config);
  auto second = StartGate(server.url(), kRate, "gate-b", config);
  // Killed mid-way: 3,000 routed, at least 1,000 still parked.
  ASSERT_TRUE(WaitFor(
      [&] {
        return client.Count("WORK", "worker.llm.batch") >= 3000 &&
               client.Count("JOBS_DEFERRED") >= 1000;
      },
      seconds(120)))
      << client.Count("WORK", "worker.llm.batch") << " routed, " << client.Count("JOBS_DEFERRED")
      << " parked\n"
      << first->process().Log();
  first->process().Signal(SIGKILL);
  first->process().Wait();
  const int64_t routed_at_kill = client.Count("WORK", "worker.llm.batch");
  const int64_t parked_at_kill = client.Count("JOBS_DEFERRED");
  EXPECT_LT(routed_at_kill, kFlood);
  auto restarted = StartGate(server.url(), kRate, "gate-a2", config);

  ASSERT_TRUE(
      WaitFor([&] { return client.Count("WORK", "worker.llm.batch") >= kFlood; }, seconds(180)))
      << client.Count("WORK", "worker.llm.batch") << " routed, " << client.Count("JOBS_DEFERRED")
      << " parked\n"
      << second->process().Log() << restarted->process().Log();
  const double drain_sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(WaitFor([&] {
    const auto c = client.Consumer();
    return client.Count("JOBS_DEFERRED") == 0 && c.ok && c.num_pending == 0 &&
           c.num_ack_pending == 0;
  })) << client.Count("JOBS_DEFERRED")
      << " still parked";

  const auto counts = DispatchCounts(client.ReadAll("WORK", "worker.llm.batch"));
  EXPECT_EQ(counts.size(), size_t{kFlood});  // none lost
  int duplicated = 0;
  for (const auto& [id, n] : counts) duplicated += n > 1;
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(client.Count("WORK", "worker.llm.batch"), kFlood);
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.llm.batch"), kFlood);
  // At its rate: no faster than the buckets allow. Three processes, each with a full
  // bucket (kRate) at start, at most two running at once at kRate each.
  EXPECT_GE(drain_sec, double(kFlood - 3 * kRate) / (2 * kRate));
  RecordProperty("drain_ms", static_cast<int>(drain_sec * 1000));
  std::printf(
      "%d jobs at %d/s per replica drained in %.1f s (at the kill: %lld routed, %lld "
      "parked)\n",
      kFlood, kRate, drain_sec, static_cast<long long>(routed_at_kill),
      static_cast<long long>(parked_at_kill));
}

}  // namespace
}  // namespace jobgate::gate
