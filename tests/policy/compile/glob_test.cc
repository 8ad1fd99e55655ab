#include "policy/compile/glob.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <string>
#include <string_view>
#include <vector>

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

TEST(GlobTest, AClosingBracketFirstInAClassIsAMember) {
  EXPECT_TRUE(GlobMatches("[]x]", "]"));
  EXPECT_TRUE(GlobMatches("[]x]", "x"));
  EXPECT_FALSE(GlobMatches("[]x]", "a"));
  EXPECT_FALSE(GlobMatches("[!]x]", "]"));
  EXPECT_FALSE(GlobMatches("[!]x]", "x"));
  EXPECT_TRUE(GlobMatches("[!]x]", "a"));
  EXPECT_TRUE(GlobMatches("[^]]", "a"));
  EXPECT_FALSE(GlobMatches("[^]]", "]"));
}

// Every glob over the syntax characters, up to four long, is refused with an error or
// translated to a regex RE2 compiles: a policy never holds a pattern that fails later.
TEST(GlobTest, EveryShortGlobIsAnErrorOrAValidRegex) {
  constexpr std::string_view kAlphabet = "[]!^a-\\*?{},/.";
  std::vector<std::string> globs = {""};
  size_t checked = 0;
  for (int length = 1; length <= 4; ++length) {
    std::vector<std::string> longer;
    for (const std::string& g : globs) {
      for (char c : kAlphabet) longer.push_back(g + c);
    }
    for (const std::string& glob : longer) {
      std::string error;
      const std::string re = GlobToRegex(glob, &error);
      if (!error.empty()) continue;
      RE2::Options options;
      options.set_log_errors(false);
      RE2 compiled(re, options);
      ASSERT_TRUE(compiled.ok()) << "glob '" << glob << "' -> '" << re << "': " << compiled.error();
      ++checked;
    }
    globs = std::move(longer);
  }
  EXPECT_GT(checked, 10000u);
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
