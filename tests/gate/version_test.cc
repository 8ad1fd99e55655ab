// `jobgate --version`: the build identity on the first line, then the nats.c and
// protobuf versions of the headers the binary was compiled against.
#include "gate/version.h"

#include <google/protobuf/stubs/common.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "metrics/metrics.h"

namespace jobgate::gate {
namespace {

TEST(VersionTest, SecondLineNamesTheLibrariesBuiltAgainst) {
  const std::string text = VersionText();
  const size_t newline = text.find('\n');
  ASSERT_NE(newline, std::string::npos) << text;
  EXPECT_EQ(text.substr(0, newline), metrics::VersionLine());
  const std::string second = text.substr(newline + 1);
  EXPECT_TRUE(std::regex_match(
      second, std::regex(R"(built with nats\.c \d+\.\d+\.\d+( \(runtime [0-9.]+\))?, )"
                         R"(protobuf \d+\.\d+\.\d+)")))
      << second;
  EXPECT_EQ(second.find('\n'), std::string::npos);
}

TEST(VersionTest, ProtobufVersionIsTheHeaders) {
  const int v = GOOGLE_PROTOBUF_VERSION;
  EXPECT_EQ(ProtobufLibraryVersion(), std::to_string(v / 1000000) + "." +
                                          std::to_string(v / 1000 % 1000) + "." +
                                          std::to_string(v % 1000));
}

}  // namespace
}  // namespace jobgate::gate
