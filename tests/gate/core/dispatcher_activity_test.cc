// What a Dispatcher tells its activity seams (gate/core/decision_stats.h,
// gate/core/recent_denials.h): each finished decision counted by outcome once, the DENY and
// TERMINATE records kept trimmed and newest first, nothing for a job left for redelivery.
#include <gtest/gtest.h>

#include "gate/core/dispatcher.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FakeBus;
using ::jobgate::testing::FakeClock;

constexpr char kPolicy[] = R"(version: 1
snapshot: unit-activity
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
  - id: kill-rm
    match: {topics: ["job.rm.>"]}
    decision: terminate
    reason: rm is fatal
)";

std::string JobJson(const std::string& id, const std::string& agent) {
  return R"({"job_id": ")" + id + R"(", "actor": {"agent_id": ")" + agent +
         R"(", "session_id": "s1"}, "args": {"command": "rm -rf /"}})";
}

class DispatcherActivityTest : public ::testing::Test {
 protected:
  DispatcherActivityTest()
      : limiter_(&clock_),
        stats_(&clock_),
        denials_(10),
        dispatcher_(DispatcherOptions{}, &bus_, &clock_, &policy_, &limiter_, nullptr, Seams()) {
    auto compiled = policy::Compile(kPolicy);
    EXPECT_TRUE(compiled.ok()) << compiled.ErrorText();
    policy_.Set(compiled.policy);
  }
  DispatcherSeams Seams() {
    DispatcherSeams seams;
    seams.decision_stats = &stats_;
    seams.recent_denials = &denials_;
    return seams;
  }

  FakeClock clock_;
  FakeBus bus_;
  ActivePolicy policy_;
  RateLimiter limiter_;
  DecisionStats stats_;
  RecentDenials denials_;
  Dispatcher dispatcher_;
};

TEST_F(DispatcherActivityTest, CountsOutcomesAndKeepsDenialsTrimmed) {
  bus_.Enqueue("job.read.file", JobJson("r1", "a1"));
  bus_.Enqueue("job.read.file", JobJson("r2", "a1"));
  bus_.Enqueue("job.rm.rf", JobJson("t1", "a2"));
  bus_.Enqueue("job.other.x", JobJson("d1", "<b>a3</b>"));
  bus_.Enqueue("job.read.file", "{not json");
  ASSERT_TRUE(dispatcher_.RunOnce().ok());

  const auto s = stats_.Read();
  EXPECT_EQ(s.totals.counts[v1::ALLOW], 2u);
  EXPECT_EQ(s.totals.counts[v1::TERMINATE], 1u);
  EXPECT_EQ(s.totals.counts[v1::DENY], 1u);
  EXPECT_EQ(s.totals.counts[DecisionCounts::kRejected], 1u);
  EXPECT_EQ(s.totals.Total(), 5u);

  const auto newest = denials_.Newest(10);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].job().job_id(), "d1");  // the later one of the batch first
  EXPECT_EQ(newest[0].job().actor().agent_id(), "<b>a3</b>");
  EXPECT_EQ(newest[0].decision().decision(), v1::DENY);
  EXPECT_EQ(newest[0].decision().reason(), "no rule matched");
  EXPECT_EQ(newest[0].subject(), "job.other.x");
  EXPECT_EQ(newest[1].job().job_id(), "t1");
  EXPECT_EQ(newest[1].decision().matched_rule(), "kill-rm");
  EXPECT_EQ(newest[1].job().actor().session_id(), "s1");
  EXPECT_FALSE(newest[1].job().has_args());
  EXPECT_FALSE(newest[1].decision().decision_id().empty());
}

TEST_F(DispatcherActivityTest, AJobLeftForRedeliveryIsNotCounted) {
  bus_.fail_publish = [](const std::string& subject) {
    return subject.rfind("audit.decisions.", 0) == 0;
  };
  bus_.Enqueue("job.rm.rf", JobJson("t1", "a2"));
  ASSERT_TRUE(dispatcher_.RunOnce().ok());
  EXPECT_EQ(stats_.Read().totals.Total(), 0u);
  EXPECT_TRUE(denials_.Newest(10).empty());
}

}  // namespace
}  // namespace jobgate::gate
