// The message-id rules of subjects/headers.h.
#include "subjects/headers.h"

#include <gtest/gtest.h>

namespace jobgate::subjects {
namespace {

TEST(MessageIdTest, StablePerJobAndTargetAndDistinctAcrossThem) {
  EXPECT_EQ(MessageId("t", "j", "dispatch"), MessageId("t", "j", "dispatch"));
  EXPECT_NE(MessageId("t", "j", "dispatch"), MessageId("t", "j", "decision"));
  EXPECT_NE(MessageId("t", "j", "dispatch"), MessageId("u", "j", "dispatch"));
  EXPECT_NE(MessageId("t", "ja", "x"), MessageId("t", "j", "ax"));
}

TEST(MessageIdTest, PrefixIsHexThenColonAndSafeWhateverTheJobId) {
  std::string prefix;
  MessageIdPrefix("t", "a job id\nwith\x01bytes", &prefix);
  ASSERT_EQ(prefix.size(), 33u);
  EXPECT_EQ(prefix.find_first_not_of("0123456789abcdef"), 32u);
  EXPECT_EQ(prefix.back(), ':');
  EXPECT_EQ(MessageId("t", "a job id\nwith\x01bytes", kDispatchTarget), prefix + "dispatch");
}

TEST(MessageIdTest, SubmissionAndPlaceholderIds) {
  EXPECT_EQ(SubmissionMessageId("acme", "j1"), "acme:j1");
  EXPECT_EQ(PlaceholderMessageId("abc:decision", "c0ffee", "7"), "abc:decision~c0ffee.7");
}

}  // namespace
}  // namespace jobgate::subjects
