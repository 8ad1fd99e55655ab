// The build-info metric and `jobgate --version`: the version is the CMake
// project's, the commit is a git commit (or "unknown"), and both surfaces say
// the same.
#include "metrics/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>

#include "gate/version.h"
#include "policy/policy.h"

namespace jobgate::metrics {
namespace {

// The VERSION in the top-level CMakeLists.txt's project() call.
std::string ProjectVersion() {
  auto text = policy::ReadFile(std::string(JOBGATE_SOURCE_DIR) + "/CMakeLists.txt");
  EXPECT_TRUE(text.ok());
  std::smatch match;
  const std::string content = text.ok() ? *text : "";
  EXPECT_TRUE(
      std::regex_search(content, match, std::regex(R"(project\(jobgate VERSION ([0-9.]+))")));
  return match.size() > 1 ? match[1].str() : "";
}

std::string Exposition(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(BuildInfoTest, IdentityComesFromTheBuild) {
  const BuildIdentity build = Build();
  EXPECT_EQ(std::string(build.version), ProjectVersion());
  EXPECT_TRUE(std::regex_match(build.git_commit, std::regex("[0-9a-f]{12}(-dirty)?|unknown")))
      << build.git_commit;
  EXPECT_STRNE(build.build_type, "");
}

TEST(BuildInfoTest, ExportsOneSeriesWithValueOne) {
  prometheus::Registry registry;
  BuildMetrics metrics(registry);
  const BuildIdentity build = Build();
  const std::string text = Exposition(registry);
  EXPECT_NE(text.find("# TYPE jobgate_build_info gauge"), std::string::npos) << text;
  // prometheus-cpp serializes labels sorted by name.
  const std::string series = std::string("jobgate_build_info{build_type=\"") + build.build_type +
                             "\",git_commit=\"" + build.git_commit + "\",version=\"" +
                             build.version + "\"} 1\n";
  EXPECT_NE(text.find(series), std::string::npos) << text;
  EXPECT_EQ(metrics.build_info.Collect().at(0).metric.size(), 1u);
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
  const BuildIdentity build = Build();
  // The identity is the first line; gate/version.h adds the libraries on the second.
  EXPECT_EQ(output.substr(0, output.find('\n') + 1), VersionLine() + "\n");
  EXPECT_EQ(output, gate::VersionText() + "\n");
  EXPECT_NE(output.find(std::string("jobgate ") + build.version), std::string::npos);
  EXPECT_NE(output.find(build.git_commit), std::string::npos);
}

}  // namespace
}  // namespace jobgate::metrics
