// The configuration files shipped for installs load as the gate loads them: the package's
// /etc/jobgate/config.yaml (deploy/config/config.yaml.in with its path filled in) and the
// config.yaml inside the Kubernetes Secret the container image runs with.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "gate/config.h"

namespace jobgate::gate {
namespace {

std::string Read(const std::string& rel) {
  std::ifstream in(std::string(JOBGATE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(InstalledConfigTest, PackageConfigLoads) {
  std::string text = Read("deploy/config/config.yaml.in");
  ASSERT_FALSE(text.empty());
  const std::string var = "@JOBGATE_CONFIG_FULL_DIR@";
  for (size_t at; (at = text.find(var)) != std::string::npos;) text.replace(at, var.size(), "/etc/jobgate");
  EXPECT_EQ(text.find('@'), std::string::npos) << "only @JOBGATE_CONFIG_FULL_DIR@ is filled in";
  GateConfig config;
  const Status s = ApplyConfigYaml(text, "config.yaml", &config);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(config.policy_file, "/etc/jobgate/policy.yaml");
  EXPECT_EQ(config.nats.servers, std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(config.http_address, "127.0.0.1:8081");
  EXPECT_EQ(config.metrics_address, "127.0.0.1:9464");
}

TEST(InstalledConfigTest, KubernetesSecretConfigLoadsWithThePathsTheImageUses) {
  const YAML::Node secret = YAML::Load(Read("deploy/kubernetes/config-secret.yaml"));
  const std::string text = secret["stringData"]["config.yaml"].as<std::string>();
  GateConfig config;
  const Status s = ApplyConfigYaml(text, "config-secret.yaml", &config);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // deployment.yaml mounts the policy ConfigMap at /etc/jobgate/policy and exposes 8081
  // and 9464 on all interfaces; Containerfile declares the same.
  EXPECT_EQ(config.policy_file, "/etc/jobgate/policy/policy.yaml");
  EXPECT_EQ(config.http_address, "0.0.0.0:8081");
  EXPECT_EQ(config.metrics_address, "0.0.0.0:9464");
}

}  // namespace
}  // namespace jobgate::gate
