#include "policy/compile/subject_pattern.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace jobgate::policy {
namespace {

bool Matches(std::string_view pattern, std::string_view subject) {
  std::vector<std::string_view> tokens;
  TokenizeSubject(subject, &tokens);
  return SubjectMatches(pattern, tokens);
}

TEST(SubjectPatternTest, StarIsExactlyOneToken) {
  EXPECT_TRUE(Matches("job.mcp-bridge.read.*", "job.mcp-bridge.read.get_ticket"));
  EXPECT_FALSE(Matches("job.mcp-bridge.read.*", "job.mcp-bridge.read.tickets.search"));
  EXPECT_FALSE(Matches("job.mcp-bridge.read.*", "job.mcp-bridge.read"));
  EXPECT_TRUE(Matches("job.*.read.*", "job.x.read.y"));
}

TEST(SubjectPatternTest, GreaterThanIsOneOrMoreTrailingTokens) {
  EXPECT_TRUE(Matches("job.>", "job.a"));
  EXPECT_TRUE(Matches("job.>", "job.a.b.c"));
  EXPECT_FALSE(Matches("job.>", "job"));
  EXPECT_TRUE(Matches(">", "anything.at.all"));
}

TEST(SubjectPatternTest, LiteralsAreWholeTokens) {
  EXPECT_TRUE(Matches("job.db", "job.db"));
  EXPECT_FALSE(Matches("job.db", "job.dbx"));
  EXPECT_FALSE(Matches("job.db", "job.db.x"));
  EXPECT_FALSE(Matches("job.db.x", "job.db"));
}

TEST(SubjectPatternTest, Validation) {
  EXPECT_EQ(ValidateSubjectPattern("job.a.*"), "");
  EXPECT_EQ(ValidateSubjectPattern("job.>"), "");
  EXPECT_NE(ValidateSubjectPattern("job..x"), "");
  EXPECT_NE(ValidateSubjectPattern("job.>.x"), "");
  EXPECT_NE(ValidateSubjectPattern(".job"), "");
  EXPECT_NE(ValidateSubjectPattern("job."), "");
  EXPECT_NE(ValidateSubjectPattern(""), "");
  EXPECT_NE(ValidateSubjectPattern("job.a*"), "");
  EXPECT_NE(ValidateSubjectPattern("job.a b"), "");
}

TEST(TopicTrieTest, FindsEveryMatchingPattern) {
  TopicTrie trie;
  const std::vector<std::string> patterns = {"job.a.b",   "job.a.*", "job.>", "job.*.b",
                                             "job.a.b.c", "other.>", "*.a.b", ">"};
  for (uint32_t i = 0; i < patterns.size(); ++i) trie.Insert(patterns[i], i);
  for (const char* subject : {"job.a.b", "job.a", "job", "job.a.b.c", "other.a.b", "x"}) {
    std::vector<std::string_view> tokens;
    TokenizeSubject(subject, &tokens);
    std::vector<uint32_t> got;
    trie.Match(tokens, &got);
    std::sort(got.begin(), got.end());
    std::vector<uint32_t> want;
    for (uint32_t i = 0; i < patterns.size(); ++i) {
      if (SubjectMatches(patterns[i], tokens)) want.push_back(i);
    }
    EXPECT_EQ(got, want) << subject;
  }
}

}  // namespace
}  // namespace jobgate::policy
