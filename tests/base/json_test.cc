// The one JSON string escaper: always valid JSON, whatever the bytes.
#include "base/json.h"

#include <gtest/gtest.h>

namespace jobgate {
namespace {

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(JsonQuote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonQuote("line\nnext\ttab"), R"("line\nnext\ttab")");
  EXPECT_EQ(JsonQuote(std::string("\x01\x7f", 2)), R"("\u0001\u007f")");
}

TEST(JsonStringTest, KeepsWellFormedUtf8AndReplacesTheRest) {
  EXPECT_EQ(JsonQuote("h\xC3\xA9"), "\"h\xC3\xA9\"");
  EXPECT_EQ(JsonQuote("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
  EXPECT_EQ(JsonQuote("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

}  // namespace
}  // namespace jobgate
