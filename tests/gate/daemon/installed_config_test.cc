// The configuration files shipped for installs load as the gate loads them: the package's
// /etc/jobgate/config.yaml (deploy/config/config.yaml.in with its path filled in) and the
// config.yaml inside the Kubernetes Secret the container image runs with; and the
// Containerfile agrees with deploy/kubernetes/deployment.yaml (user, ports, config path),
// since the image cannot be built on every machine that runs the tests.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "gate/daemon/config.h"

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
  for (size_t at; (at = text.find(var)) != std::string::npos;)
    text.replace(at, var.size(), "/etc/jobgate");
  EXPECT_EQ(text.find('@'), std::string::npos) << "only @JOBGATE_CONFIG_FULL_DIR@ is filled in";
  GateConfig config;
  const Status s = ApplyConfigYaml(text, "config.yaml", &config);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(config.policy_file, "/etc/jobgate/policy.yaml");
  EXPECT_EQ(config.nats.servers, std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(config.http_address, "127.0.0.1:8081");
  EXPECT_EQ(config.metrics_address, "127.0.0.1:9464");
  EXPECT_EQ(config.jobs_stream.retention, StreamSpec::Retention::kWorkQueue);
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
  // HTTPS, with the certificate Secret deployment.yaml mounts at /etc/jobgate/tls.
  EXPECT_EQ(config.http_tls_cert, "/etc/jobgate/tls/tls.crt");
  EXPECT_EQ(config.http_tls_key, "/etc/jobgate/tls/tls.key");
  EXPECT_EQ(config.jobs_stream.retention, StreamSpec::Retention::kWorkQueue);
  const std::string deployment = Read("deploy/kubernetes/deployment.yaml");
  EXPECT_NE(deployment.find("{name: http-tls, mountPath: /etc/jobgate/tls, readOnly: true}"),
            std::string::npos);
  EXPECT_NE(deployment.find("path: /readyz, port: http, scheme: HTTPS"), std::string::npos);
}

TEST(InstalledConfigTest, ContainerfileMatchesTheKubernetesDeployment) {
  const std::string containerfile = Read("Containerfile");
  ASSERT_FALSE(containerfile.empty());
  YAML::Node deployment;
  for (const YAML::Node& doc : YAML::LoadAll(Read("deploy/kubernetes/deployment.yaml"))) {
    if (doc["kind"].as<std::string>() == "Deployment") deployment = doc;
  }
  ASSERT_TRUE(deployment) << "no Deployment in deployment.yaml";
  const YAML::Node pod = deployment["spec"]["template"]["spec"];
  const std::string uid = pod["securityContext"]["runAsUser"].as<std::string>();
  const std::string gid = pod["securityContext"]["runAsGroup"].as<std::string>();
  EXPECT_NE(containerfile.find("\nUSER " + uid + ":" + gid + "\n"), std::string::npos);
  EXPECT_NE(containerfile.find("--uid " + uid + " --gid " + gid), std::string::npos);
  const YAML::Node container = pod["containers"][0];
  std::string ports;
  for (const YAML::Node& port : container["ports"]) {
    ports += (ports.empty() ? "" : " ") + port["containerPort"].as<std::string>();
  }
  EXPECT_NE(containerfile.find("\nEXPOSE " + ports + "\n"), std::string::npos) << ports;
  // The deployment's args replace the image's CMD: the same verb and config path.
  std::string cmd = "CMD [";
  for (const YAML::Node& arg : container["args"]) {
    cmd += (cmd.size() > 5 ? ", \"" : "\"") + arg.as<std::string>() + "\"";
  }
  EXPECT_NE(containerfile.find(cmd + "]"), std::string::npos) << cmd;
  EXPECT_TRUE(container["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  // Where the deployment mounts config and policy, the image has its defaults.
  for (const YAML::Node& mount : container["volumeMounts"]) {
    const std::string path = mount["mountPath"].as<std::string>();
    EXPECT_NE(containerfile.find(" " + path + (path.ends_with(".yaml") ? "" : "/")),
              std::string::npos)
        << path;
  }
}

}  // namespace
}  // namespace jobgate::gate
