// Lexical path normalization: the home convention, dot segments, slashes.
#include "policy/analysis/path.h"

#include <gtest/gtest.h>

namespace jobgate::policy {
namespace {

TEST(PathTest, HomeSpellingsBecomeTilde) {
  EXPECT_EQ(NormalizePath("~"), "~");
  EXPECT_EQ(NormalizePath("~/"), "~");
  EXPECT_EQ(NormalizePath("$HOME"), "~");
  EXPECT_EQ(NormalizePath("${HOME}/"), "~");
  EXPECT_EQ(NormalizePath("$HOME/.ssh/id_rsa"), "~/.ssh/id_rsa");
  EXPECT_EQ(NormalizePath("${HOME}//.aws/./credentials"), "~/.aws/credentials");
  EXPECT_EQ(NormalizePath("~alice/x"), "~alice/x");      // another user's home: as written
  EXPECT_EQ(NormalizePath("$HOMEDIR/x"), "$HOMEDIR/x");  // not $HOME
}

TEST(PathTest, DotsAndSlashes) {
  EXPECT_EQ(NormalizePath("/"), "/");
  EXPECT_EQ(NormalizePath("//"), "/");
  EXPECT_EQ(NormalizePath("/."), "/");
  EXPECT_EQ(NormalizePath("/tmp/../"), "/");
  EXPECT_EQ(NormalizePath("/../../etc"), "/etc");  // .. stops at the root
  EXPECT_EQ(NormalizePath("/usr//local/./bin/"), "/usr/local/bin");
  EXPECT_EQ(NormalizePath("."), ".");
  EXPECT_EQ(NormalizePath("./"), ".");
  EXPECT_EQ(NormalizePath("a/.."), ".");
  EXPECT_EQ(NormalizePath(".."), "..");
  EXPECT_EQ(NormalizePath("../../x"), "../../x");
  EXPECT_EQ(NormalizePath("./src/../.env"), ".env");
  EXPECT_EQ(NormalizePath("~/.."), "~/..");
  EXPECT_EQ(NormalizePath("~/a/../../b"), "~/../b");
  EXPECT_EQ(NormalizePath("*"), "*");
  EXPECT_EQ(NormalizePath("./*"), "*");
  EXPECT_EQ(NormalizePath(""), "");
}

}  // namespace
}  // namespace jobgate::policy
