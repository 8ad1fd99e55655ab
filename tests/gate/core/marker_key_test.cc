// The marker key from the environment or a file: installed, refused when misconfigured.
#include "gate/core/marker_key.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "policy/analysis/secrets.h"

namespace jobgate::gate {
namespace {

class MarkerKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv(kMarkerKeyEnv);
    unsetenv(kMarkerKeyFileEnv);
  }
  void TearDown() override { SetUp(); }
};

TEST_F(MarkerKeyTest, NoneSetMeansARandomKey) {
  auto source = InstallMarkerKey();
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(*source, MarkerKeySource::kRandom);
}

TEST_F(MarkerKeyTest, FromTheEnvironmentAndFromAFileGiveTheSameMarkers) {
  setenv(kMarkerKeyEnv, "replica-shared-key-0123456789", 1);
  auto source = InstallMarkerKey();
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ(*source, MarkerKeySource::kEnvironment);
  const std::string from_env = policy::SecretScanner::Marker("d", "s3cret");

  const auto path = std::filesystem::temp_directory_path() / "jobgate-marker-key-test";
  std::ofstream(path) << "replica-shared-key-0123456789\n";
  unsetenv(kMarkerKeyEnv);
  setenv(kMarkerKeyFileEnv, path.c_str(), 1);
  policy::SecretScanner::SetMarkerKey("some-other-key-in-between");
  source = InstallMarkerKey();
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ(*source, MarkerKeySource::kFile);
  EXPECT_EQ(policy::SecretScanner::Marker("d", "s3cret"), from_env);
  std::filesystem::remove(path);
}

TEST_F(MarkerKeyTest, MisconfigurationIsAnErrorThatNeverQuotesTheKey) {
  setenv(kMarkerKeyEnv, "short-key", 1);
  auto source = InstallMarkerKey();
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().message().find("short-key"), std::string::npos);
  setenv(kMarkerKeyFileEnv, "/nonexistent/key", 1);
  EXPECT_FALSE(InstallMarkerKey().ok());  // both set
  unsetenv(kMarkerKeyEnv);
  EXPECT_FALSE(InstallMarkerKey().ok());  // unreadable file
}

}  // namespace
}  // namespace jobgate::gate
