// The one duration parser: seconds for policies and suites, milliseconds for the config
// and the CLI.
#include "base/duration.h"

#include <gtest/gtest.h>

namespace jobgate {
namespace {

TEST(DurationTest, SecondsTakeEveryUnitButMillis) {
  EXPECT_EQ(ParseDurationSeconds("90"), 90);
  EXPECT_EQ(ParseDurationSeconds("30s"), 30);
  EXPECT_EQ(ParseDurationSeconds("5m"), 300);
  EXPECT_EQ(ParseDurationSeconds("24h"), 86400);
  EXPECT_EQ(ParseDurationSeconds("7d"), 7 * 86400);
  EXPECT_EQ(ParseDurationSeconds("500ms"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds(""), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("-1s"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("3 weeks"), std::nullopt);
  EXPECT_EQ(ParseDurationSeconds("9223372036854775807d"), std::nullopt);
}

TEST(DurationTest, MillisTakeMillisToo) {
  EXPECT_EQ(ParseDurationMillis("500ms"), 500);
  EXPECT_EQ(ParseDurationMillis("2m"), 120000);
  EXPECT_EQ(ParseDurationMillis("90"), 90000);
  EXPECT_EQ(ParseDurationMillis("7d"), 7 * 86400000LL);
  EXPECT_EQ(ParseDurationMillis("-1s"), std::nullopt);
  EXPECT_EQ(ParseDurationMillis("1x"), std::nullopt);
  EXPECT_EQ(ParseDurationMillis("3 weeks"), std::nullopt);
}

}  // namespace
}  // namespace jobgate
