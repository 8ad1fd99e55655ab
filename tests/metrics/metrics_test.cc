// The build-info metric: the version is the CMake project's, the commit is a git commit
// (or "unknown"). tests/cli/version_test.cc checks `jobgate --version` says the same.
#include "metrics/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace jobgate::metrics {
namespace {

// The VERSION in the top-level CMakeLists.txt's project() call.
std::string ProjectVersion() {
  std::ifstream file(std::string(JOBGATE_SOURCE_DIR) + "/CMakeLists.txt");
  EXPECT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  std::smatch match;
  const std::string content = text.str();
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

}  // namespace
}  // namespace jobgate::metrics
