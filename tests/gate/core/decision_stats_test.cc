#include "gate/core/decision_stats.h"

#include <gtest/gtest.h>

#include "jobgate/v1/jobgate.pb.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FakeClock;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

DecisionCounts Counts(std::initializer_list<std::pair<int, uint64_t>> entries) {
  DecisionCounts c;
  for (const auto& [outcome, n] : entries) c.Add(outcome, n);
  return c;
}

// A clock at the start of a minute, so tests know where the minute boundaries are.
FakeClock MinuteAlignedClock() {
  FakeClock clock;
  clock.Advance(milliseconds(60'000 - clock.UnixMillis() % 60'000));
  return clock;
}

TEST(DecisionStats, EmptyIsAllZero) {
  FakeClock clock = MinuteAlignedClock();
  DecisionStats stats(&clock);
  auto s = stats.Read();
  EXPECT_EQ(s.totals.Total(), 0u);
  EXPECT_EQ(s.per_second_last_minute, 0);
  EXPECT_EQ(s.per_second_last_hour, 0);
  EXPECT_EQ(s.minutes.back().start_unix_ms, clock.UnixMillis());
  EXPECT_EQ(s.minutes.front().start_unix_ms, clock.UnixMillis() - 59 * 60'000);
}

TEST(DecisionStats, CountsByOutcomeWithinAMinute) {
  FakeClock clock = MinuteAlignedClock();
  DecisionStats stats(&clock);
  stats.Add(Counts({{v1::ALLOW, 2}, {v1::DENY, 1}}));
  clock.Advance(seconds(30));
  stats.Add(Counts({{v1::ALLOW, 1}, {v1::DENY, 1}, {DecisionCounts::kRejected, 1}}));
  auto s = stats.Read();
  EXPECT_EQ(s.totals.counts[v1::ALLOW], 3u);
  EXPECT_EQ(s.totals.counts[v1::DENY], 2u);
  EXPECT_EQ(s.totals.counts[DecisionCounts::kRejected], 1u);
  EXPECT_EQ(s.minutes.back().counts.Total(), 6u);
  EXPECT_EQ(s.minutes[58].counts.Total(), 0u);
  EXPECT_DOUBLE_EQ(s.per_second_last_minute, 6.0 / 60);
  EXPECT_DOUBLE_EQ(s.per_second_last_hour, 6.0 / 3600);
}

TEST(DecisionStats, MinuteRolloverStartsANewBucket) {
  FakeClock clock = MinuteAlignedClock();
  DecisionStats stats(&clock);
  clock.Advance(seconds(59));
  stats.Add(Counts({{v1::ALLOW, 4}}));
  clock.Advance(seconds(1));  // the next minute begins
  stats.Add(Counts({{v1::DENY, 2}}));
  auto s = stats.Read();
  EXPECT_EQ(s.minutes[58].counts.counts[v1::ALLOW], 4u);
  EXPECT_EQ(s.minutes[58].counts.counts[v1::DENY], 0u);
  EXPECT_EQ(s.minutes[59].counts.counts[v1::DENY], 2u);
  EXPECT_EQ(s.minutes[59].counts.counts[v1::ALLOW], 0u);
  EXPECT_EQ(s.totals.Total(), 6u);
  // At the very start of the minute the whole previous minute is inside the last 60 s.
  EXPECT_DOUBLE_EQ(s.per_second_last_minute, (2.0 + 4.0) / 60);
  clock.Advance(seconds(45));  // three quarters of the previous minute left the window
  EXPECT_DOUBLE_EQ(stats.Read().per_second_last_minute, (2.0 + 4.0 * 0.25) / 60);
}

TEST(DecisionStats, GapsOfSeveralMinutesReadAsZero) {
  FakeClock clock = MinuteAlignedClock();
  DecisionStats stats(&clock);
  stats.Add(Counts({{v1::ALLOW, 1}}));
  clock.Advance(minutes(5));
  stats.Add(Counts({{v1::TERMINATE, 3}}));
  auto s = stats.Read();
  EXPECT_EQ(s.minutes[54].counts.counts[v1::ALLOW], 1u);
  for (int i = 55; i < 59; ++i) EXPECT_EQ(s.minutes[i].counts.Total(), 0u) << i;
  EXPECT_EQ(s.minutes[59].counts.counts[v1::TERMINATE], 3u);
  EXPECT_EQ(s.totals.Total(), 4u);
  EXPECT_DOUBLE_EQ(s.per_second_last_minute, 3.0 / 60);
}

TEST(DecisionStats, AnHourLaterEverythingIsZero) {
  FakeClock clock = MinuteAlignedClock();
  DecisionStats stats(&clock);
  for (int m = 0; m < 60; ++m) {
    stats.Add(Counts({{v1::ALLOW, 1}}));
    clock.Advance(minutes(1));
  }
  // Sixty minutes were counted; the first left the window as this minute began.
  EXPECT_EQ(stats.Read().totals.Total(), 59u);
  clock.Advance(minutes(59));
  auto s = stats.Read();
  EXPECT_EQ(s.totals.Total(), 0u);
  for (const auto& m : s.minutes) EXPECT_EQ(m.counts.Total(), 0u);
  EXPECT_EQ(s.per_second_last_hour, 0);
  // A slot written an hour ago is reused afresh, not added to.
  stats.Add(Counts({{v1::DENY, 1}}));
  s = stats.Read();
  EXPECT_EQ(s.totals.Total(), 1u);
  EXPECT_EQ(s.totals.counts[v1::ALLOW], 0u);
}

TEST(DecisionStats, OutcomeNames) {
  EXPECT_EQ(OutcomeName(v1::ALLOW), "ALLOW");
  EXPECT_EQ(OutcomeName(v1::TERMINATE), "TERMINATE");
  EXPECT_EQ(OutcomeName(DecisionCounts::kRejected), "REJECTED");
}

}  // namespace
}  // namespace jobgate::gate
