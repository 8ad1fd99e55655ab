// NatsRecentJobs against a real AUDIT stream: the newest judged jobs, oldest first, each
// once by its original record, found behind a long tail of other audit messages, within
// the count, bytes and age caps.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_lifecycle.h"
#include "jobgate/v1/jobgate.pb.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::WaitFor;

std::string Record(const std::string& job_id, bool resolution = false) {
  v1::DecisionRecord record;
  record.mutable_decision()->set_decision(v1::ALLOW);
  record.mutable_job()->set_tenant_id("acme");
  record.mutable_job()->set_job_id(job_id);
  if (resolution) record.mutable_approval()->set_outcome("APPROVED");
  return record.SerializeAsString();
}

std::vector<std::string> Ids(const std::vector<v1::Job>& jobs) {
  std::vector<std::string> ids;
  for (const auto& job : jobs) ids.push_back(job.job_id());
  return ids;
}

std::vector<std::string> Range(int from, int to) {
  std::vector<std::string> ids;
  for (int i = from; i < to; ++i) ids.push_back("j" + std::to_string(i));
  return ids;
}

class RecentJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NatsConnectOptions options;
    options.servers = {server_.url()};
    auto connection = NatsConnection::Connect(options, /*wait=*/true);
    ASSERT_TRUE(connection.ok()) << connection.status().ToString();
    connection_ = std::move(*connection);
    ASSERT_TRUE(connection_
                    ->EnsureStream({.name = "AUDIT",
                                    .subjects = {"audit.decisions.>", "audit.denied.>"}})
                    .ok());
    // 300 judged jobs; j250 judged again later (a redelivery past the duplicate window)
    // and j299 approved; then 1,500 other audit messages, more than a first span.
    JetStreamClient client(server_.url());
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(client.Publish("audit.decisions.db", Record("j" + std::to_string(i))).ok());
    }
    ASSERT_TRUE(client.Publish("audit.decisions.db", Record("j250")).ok());
    ASSERT_TRUE(client.Publish("audit.decisions.db", Record("j299", true)).ok());
    for (int i = 0; i < 1500; ++i) {
      ASSERT_TRUE(client.Publish("audit.denied.db", Record("d" + std::to_string(i))).ok());
    }
  }

  Result<std::vector<v1::Job>> Fetch(size_t max_jobs, RecentJobsOptions options = {}) {
    NatsRecentJobs recent(connection_.get(), std::move(options));
    return recent.Fetch(max_jobs);
  }

  NatsServer server_;
  std::unique_ptr<NatsConnection> connection_;
};

TEST_F(RecentJobsTest, TheNewestJobsOldestFirstEachOnce) {
  auto jobs = Fetch(100);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  EXPECT_EQ(Ids(*jobs), Range(200, 300));
  auto all = Fetch(10000);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Ids(*all), Range(0, 300));
}

TEST_F(RecentJobsTest, TheBytesCapLeavesOutTheOldest) {
  RecentJobsOptions options;
  options.max_bytes = 10 * Record("j100").size();
  auto jobs = Fetch(100, options);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  EXPECT_EQ(Ids(*jobs), Range(290, 300));
}

TEST_F(RecentJobsTest, TheWindowLeavesOutOlderRecords) {
  RecentJobsOptions options;
  options.window = std::chrono::milliseconds(1);
  // Once a millisecond has passed since the last record, none is recent enough.
  EXPECT_TRUE(WaitFor([&] {
    auto jobs = Fetch(100, options);
    return jobs.ok() && jobs->empty();
  }));
}

}  // namespace
}  // namespace jobgate::gate
