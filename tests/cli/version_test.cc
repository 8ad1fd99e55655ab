// `jobgate --version`: the build identity on the first line, then the nats.c and
// protobuf versions of the headers the binary was compiled against.
#include "cli/version.h"

#include <google/protobuf/stubs/common.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
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

TEST(BuildInfoTest, VersionFlagPrintsTheSameIdentity) {
  FILE* pipe = popen((std::string(JOBGATE_BINARY) + " --version 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 512> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  const metrics::BuildIdentity build = metrics::Build();
  // The identity is the first line; cli/version.h adds the libraries on the second.
  EXPECT_EQ(output.substr(0, output.find('\n') + 1), metrics::VersionLine() + "\n");
  EXPECT_EQ(output, VersionText() + "\n");
  EXPECT_NE(output.find(std::string("jobgate ") + build.version), std::string::npos);
  EXPECT_NE(output.find(build.git_commit), std::string::npos);
}

}  // namespace
}  // namespace jobgate::gate
