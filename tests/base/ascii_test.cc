#include "base/ascii.h"

#include <gtest/gtest.h>

namespace jobgate {
namespace {

TEST(AsciiTest, OnlyUpperCaseLettersFold) {
  EXPECT_EQ(AsciiLower("GitHub.COM:443/Path_X-9"), "github.com:443/path_x-9");
  EXPECT_EQ(AsciiLower(""), "");
  // Bytes outside A-Z stay, UTF-8 and high bytes included, whatever the locale.
  EXPECT_EQ(AsciiLower("\xC3\x89T\xC3\x89 @[`{"), "\xC3\x89t\xC3\x89 @[`{");
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    EXPECT_EQ(AsciiLower(c), (b >= 'A' && b <= 'Z') ? static_cast<char>(b + 32) : c) << b;
  }
  std::string s = "DROP Table";
  AsciiLowerInPlace(&s);
  EXPECT_EQ(s, "drop table");
}

}  // namespace
}  // namespace jobgate
