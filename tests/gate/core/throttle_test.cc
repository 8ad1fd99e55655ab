#include "gate/core/throttle.h"

#include <gtest/gtest.h>

#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FakeClock;
using std::chrono::milliseconds;

google::protobuf::RepeatedPtrField<v1::Rate> Rates(uint32_t limit, uint32_t period,
                                                   const std::string& key,
                                                   const std::string& rule = "r") {
  google::protobuf::RepeatedPtrField<v1::Rate> rates;
  v1::Rate* rate = rates.Add();
  rate->set_limit(limit);
  rate->set_period_sec(period);
  rate->set_key(key);
  rate->set_rule(rule);
  return rates;
}

v1::Job Agent(const std::string& id) {
  v1::Job job;
  job.mutable_actor()->set_agent_id(id);
  job.set_tenant_id("t1");
  (*job.mutable_labels())["team"] = "ml";
  return job;
}

TEST(RateKeyValueTest, ReadsNamedFields) {
  const v1::Job job = Agent("a1");
  EXPECT_EQ(RateKeyValue(job, "actor.agent_id"), "a1");
  EXPECT_EQ(RateKeyValue(job, "tenant_id"), "t1");
  EXPECT_EQ(RateKeyValue(job, "labels.team"), "ml");
  EXPECT_EQ(RateKeyValue(job, "labels.none"), "");
  EXPECT_EQ(RateKeyValue(job, "nonsense"), "");
}

TEST(RateLimiterTest, BurstUpToLimitThenWaitsForRefill) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  const auto rates = Rates(3, 3, "actor.agent_id");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire(Agent("a"), rates).admitted);
  auto held = limiter.Acquire(Agent("a"), rates);
  EXPECT_FALSE(held.admitted);
  EXPECT_EQ(held.retry_after, milliseconds(1000));
  EXPECT_EQ(held.limiting_rule, "r");
  clock.Advance(milliseconds(500));
  held = limiter.Acquire(Agent("a"), rates);
  EXPECT_FALSE(held.admitted);
  EXPECT_EQ(held.retry_after, milliseconds(500));
  clock.Advance(milliseconds(500));
  EXPECT_TRUE(limiter.Acquire(Agent("a"), rates).admitted);
}

TEST(RateLimiterTest, KeysHaveSeparateBuckets) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  const auto rates = Rates(1, 60, "actor.agent_id");
  EXPECT_TRUE(limiter.Acquire(Agent("a"), rates).admitted);
  EXPECT_FALSE(limiter.Acquire(Agent("a"), rates).admitted);
  EXPECT_TRUE(limiter.Acquire(Agent("b"), rates).admitted);
}

TEST(RateLimiterTest, AllRatesOrNothing) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  auto rates = Rates(5, 60, "actor.agent_id", "loose");
  *rates.Add() = Rates(1, 60, "tenant_id", "tight")[0];
  EXPECT_TRUE(limiter.Acquire(Agent("a"), rates).admitted);
  const auto held = limiter.Acquire(Agent("a"), rates);
  EXPECT_FALSE(held.admitted);
  EXPECT_EQ(held.limiting_rule, "tight");
  // The loose bucket was not charged for the refused job: 4 tokens left for agent "a".
  const auto loose_only = Rates(5, 60, "actor.agent_id", "loose");
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.Acquire(Agent("a"), loose_only).admitted) << i;
  EXPECT_FALSE(limiter.Acquire(Agent("a"), loose_only).admitted);
}

TEST(RateLimiterTest, NoRatesAdmits) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  EXPECT_TRUE(limiter.Acquire(Agent("a"), {}).admitted);
}

TEST(RateLimiterTest, IdleBucketsAreForgottenPastTheCap) {
  FakeClock clock;
  RateLimiter limiter(&clock, /*max_buckets=*/10);
  const auto rates = Rates(1, 1, "actor.agent_id");
  for (int i = 0; i < 10; ++i) limiter.Acquire(Agent("a" + std::to_string(i)), rates);
  clock.Advance(milliseconds(2000));
  limiter.Acquire(Agent("new"), rates);
  EXPECT_LE(limiter.bucket_count(), 1u);
}

}  // namespace
}  // namespace jobgate::gate
