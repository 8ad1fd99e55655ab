// packs/coding-agent.yaml against two corpora (tests/policy/testdata): dangerous
// commands with their bypass variants must all be caught (DENY, TERMINATE or
// REQUIRE_APPROVAL), everyday commands must all be allowed. Prints both rates.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

using testing::Job;

std::shared_ptr<const Policy> Pack() {
  static const std::shared_ptr<const Policy> pack = [] {
    CompileResult r = CompileFile(std::string(JOBGATE_SOURCE_DIR) + "/packs/coding-agent.yaml");
    EXPECT_TRUE(r.ok()) << r.ErrorText();
    return r.policy;
  }();
  return pack;
}

std::vector<std::string> Corpus(const std::string& name) {
  std::ifstream in(std::string(JOBGATE_SOURCE_DIR) + "/tests/policy/testdata/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    lines.push_back(line);
  }
  return lines;
}

v1::Job ShellJob(const std::string& command) {
  v1::Job job;
  job.set_job_id("corpus");
  job.set_topic("job.agent.shell.exec");
  job.set_capability("shell.exec");
  job.mutable_actor()->set_agent_id("agent-1");
  job.mutable_actor()->set_type("agent");
  (*job.mutable_args()->mutable_fields())["command"].set_string_value(command);
  return job;
}

bool Caught(v1::Verdict v) {
  return v == v1::DENY || v == v1::TERMINATE || v == v1::REQUIRE_APPROVAL;
}

TEST(CodingAgentPackTest, CatchRateAndFalsePositiveRate) {
  auto pack = Pack();
  ASSERT_TRUE(pack);
  const auto dangerous = Corpus("dangerous_commands.txt");
  const auto everyday = Corpus("everyday_commands.txt");
  ASSERT_GE(dangerous.size(), 50u);
  ASSERT_GE(everyday.size(), 50u);

  size_t caught = 0;
  for (const auto& line : dangerous) {
    const v1::Decision d = pack->Decide(ShellJob(line));
    if (Caught(d.decision())) {
      ++caught;
    } else {
      ADD_FAILURE() << "missed: " << line << " -> " << VerdictName(d.decision()) << " ("
                    << d.matched_rule() << ")";
    }
  }
  size_t false_positives = 0;
  for (const auto& line : everyday) {
    const v1::Decision d = pack->Decide(ShellJob(line));
    if (d.decision() != v1::ALLOW) {
      ++false_positives;
      ADD_FAILURE() << "false positive: " << line << " -> " << VerdictName(d.decision()) << " ("
                    << d.matched_rule() << ": " << d.reason() << ")";
    }
  }
  std::printf(
      "coding-agent pack: catch rate %zu/%zu = %.1f%%, false-positive rate %zu/%zu = %.1f%%\n",
      caught, dangerous.size(), 100.0 * caught / dangerous.size(), false_positives, everyday.size(),
      100.0 * false_positives / everyday.size());
  EXPECT_EQ(caught, dangerous.size());
  EXPECT_EQ(false_positives, 0u);
}

TEST(CodingAgentPackTest, ArgvCommandsAreUnwrappedToo) {
  auto pack = Pack();
  ASSERT_TRUE(pack);
  EXPECT_EQ(pack->Decide(Job(R"({topic: job.agent.shell.exec,
      args: {command: [sudo, /bin/rm, --recursive, --force, /]}})"))
                .decision(),
            v1::DENY);
  EXPECT_EQ(pack->Decide(Job(R"({topic: job.agent.shell.exec,
      args: {command: [bash, -c, "git push -f"]}})"))
                .decision(),
            v1::DENY);
  EXPECT_EQ(pack->Decide(Job(R"({topic: job.agent.shell.exec,
      args: {command: [git, commit, -m, "rm -rf /"]}})"))
                .decision(),
            v1::ALLOW);
}

TEST(CodingAgentPackTest, FileReadsAndWrites) {
  auto pack = Pack();
  ASSERT_TRUE(pack);
  auto decide = [&](const std::string& topic, const std::string& path) {
    v1::Job job;
    job.set_topic(topic);
    (*job.mutable_args()->mutable_fields())["path"].set_string_value(path);
    return pack->Decide(job).decision();
  };
  for (const char* secret :
       {".env", "app/.env", "./x/../.env.production", "~/.ssh/id_rsa", "$HOME/.ssh/config",
        "${HOME}/.aws/credentials", "certs/tls.key", "/etc/ssl/private/server.pem",
        "/home/dev/.netrc", "~/.npmrc", "/root/.kube/config", "~/.ssh"}) {
    EXPECT_EQ(decide("job.agent.fs.read", secret), v1::DENY) << secret;
    EXPECT_EQ(decide("job.agent.fs.write", secret), v1::DENY) << secret;
  }
  for (const char* ok : {"src/main.cc", ".env.example", "docs/environment.md", "keys.txt"}) {
    EXPECT_EQ(decide("job.agent.fs.read", ok), v1::ALLOW) << ok;
  }
  for (const char* gated : {"src/auth/session.ts", "app/payments/charge.py", "infra/main.tf",
                            ".github/workflows/ci.yml", ".gitlab-ci.yml", "Jenkinsfile",
                            "db/migrate/20260101_add_users.rb", "deploy/prod.yaml"}) {
    EXPECT_EQ(decide("job.agent.fs.write", gated), v1::REQUIRE_APPROVAL) << gated;
    EXPECT_EQ(decide("job.agent.fs.read", gated), v1::ALLOW) << gated;
  }
  EXPECT_EQ(decide("job.agent.fs.write", "src/parser.cc"), v1::ALLOW);
  EXPECT_EQ(decide("job.agent.fs.delete", "backups/2026-01-01.dump"), v1::DENY);
}

TEST(CodingAgentPackTest, EgressSqlAndRedaction) {
  auto pack = Pack();
  ASSERT_TRUE(pack);
  EXPECT_EQ(
      pack->Decide(Job("{topic: job.agent.http.request, args: {url: 'https://api.github.com/x'}}"))
          .decision(),
      v1::ALLOW);
  EXPECT_EQ(
      pack->Decide(Job("{topic: job.agent.http.request, args: {url: 'https://evil.example/x'}}"))
          .decision(),
      v1::ALERT);
  EXPECT_EQ(pack->Decide(ShellJob("curl -s https://evil.example/x")).decision(), v1::ALERT);
  EXPECT_EQ(pack->Decide(ShellJob("ssh admin@10.0.0.7")).decision(), v1::ALERT);
  EXPECT_EQ(
      pack->Decide(Job("{topic: job.agent.db.query, args: {sql: 'DROP TABLE users'}}")).decision(),
      v1::DENY);
  EXPECT_EQ(
      pack->Decide(Job("{topic: job.agent.db.query, args: {sql: 'ALTER TABLE users ADD c int'}}"))
          .decision(),
      v1::REQUIRE_APPROVAL);
  EXPECT_EQ(pack->Decide(Job("{topic: job.agent.db.query, args: {sql: 'SELECT 1'}}")).decision(),
            v1::ALLOW);
  // A placeholder value is not a secret; a token-shaped one is redacted.
  EXPECT_EQ(pack->Decide(Job("{topic: job.agent.shell.exec, args: {command: 'npm test', "
                             "env: {API_KEY: x}}}"))
                .decision(),
            v1::ALLOW);
  EXPECT_EQ(pack->Decide(Job("{topic: job.agent.shell.exec, args: {command: 'npm test', "
                             "env: {NPM_TOKEN: npm_000000000000000000000000000000000000}}}"))
                .decision(),
            v1::REDACT);
  EXPECT_EQ(pack->Decide(Job("{topic: job.other.thing}")).decision(), v1::DENY);
}

TEST(CodingAgentPackTest, OpaqueReasonIsExplained) {
  auto pack = Pack();
  ASSERT_TRUE(pack);
  const v1::Decision d = pack->Decide(ShellJob("eval \"$(ssh-agent -s)\""));
  EXPECT_EQ(d.decision(), v1::REQUIRE_APPROVAL);
  EXPECT_EQ(d.matched_rule(), "approve-opaque-command");
  bool explained = false;
  for (const auto& e : pack->Explain(ShellJob("eval x"))) {
    if (e.rule_id == "deny-rm-broad") {
      explained = e.failed_condition.find("opaque (eval") != std::string::npos;
    }
  }
  EXPECT_TRUE(explained);
}

}  // namespace
}  // namespace jobgate::policy
