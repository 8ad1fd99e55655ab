#include "policy/compile/glob.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace jobgate::policy {
namespace {

bool GlobMatches(const std::string& glob, const std::string& value) {
  std::string error;
  const std::string re = GlobToRegex(glob, &error);
  EXPECT_EQ(error, "") << glob;
  RE2 compiled(re);
  EXPECT_TRUE(compiled.ok()) << re;
  return RE2::FullMatch(value, compiled);
}

TEST(GlobTest, StarStaysWithinSegment) {
  EXPECT_TRUE(GlobMatches("*.env", ".env"));
  EXPECT_TRUE(GlobMatches("*.env", "prod.env"));
  EXPECT_FALSE(GlobMatches("*.env", "config/prod.env"));
  EXPECT_TRUE(GlobMatches("db.*", "db.migrate"));
}

TEST(GlobTest, DoubleStarCrossesSegments) {
  EXPECT_TRUE(GlobMatches("**/.env", "a/b/.env"));
  EXPECT_TRUE(GlobMatches("**/.env", ".env"));
  EXPECT_TRUE(GlobMatches("src/**/*.cc", "src/a/b/c.cc"));
  EXPECT_TRUE(GlobMatches("src/**/*.cc", "src/c.cc"));
  EXPECT_TRUE(GlobMatches("secrets/**", "secrets/x/y"));
}

TEST(GlobTest, QuestionClassesAndBraces) {
  EXPECT_TRUE(GlobMatches("v?", "v1"));
  EXPECT_FALSE(GlobMatches("v?", "v12"));
  EXPECT_TRUE(GlobMatches("[a-c]x", "bx"));
  EXPECT_FALSE(GlobMatches("[!a-c]x", "bx"));
  EXPECT_TRUE(GlobMatches("*.{pem,key}", "id.key"));
  EXPECT_FALSE(GlobMatches("*.{pem,key}", "id.pub"));
}

TEST(GlobTest, RegexCharactersAreLiteral) {
  EXPECT_TRUE(GlobMatches("a+b(c).txt", "a+b(c).txt"));
  EXPECT_FALSE(GlobMatches("a.b", "axb"));
  EXPECT_TRUE(GlobMatches("\\*", "*"));
}

TEST(GlobTest, Errors) {
  std::string error;
  GlobToRegex("[abc", &error);
  EXPECT_NE(error, "");
  error.clear();
  GlobToRegex("{a,b", &error);
  EXPECT_NE(error, "");
  error.clear();
  GlobToRegex("a\\", &error);
  EXPECT_NE(error, "");
}

}  // namespace
}  // namespace jobgate::policy
