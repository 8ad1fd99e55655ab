// The offline verbs, run as a user runs them: the real binary, real files, exit codes
// and output checked.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

RunResult RunJobgate(const std::string& args) {
  const std::string command = std::string(JOBGATE_BINARY) + " " + args + " 2>&1";
  RunResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string Src(const std::string& rel) { return std::string(JOBGATE_SOURCE_DIR) + "/" + rel; }

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("jobgate-cli-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

  fs::path dir_;
};

TEST_F(CliTest, CheckAcceptsTheSeedAndExamplePolicies) {
  const RunResult r =
      RunJobgate("check " + Src("tests/policy/testdata/seed000_policy.yaml") + " " +
                 Src("tests/policy/testdata/seed001_policy.yaml") + " " +
                 Src("examples/policy.yaml") + " " + Src("examples/policy-candidate.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok (4 rules, sha256:"), std::string::npos) << r.output;
}

TEST_F(CliTest, CheckReportsFileLineColAndFails) {
  const std::string bad = Write("bad.yaml",
                                "rules:\n"
                                "  - id: a\n"
                                "    match:\n"
                                "      topics: ['job..x']\n"
                                "      risk_tag: [write]\n"
                                "    decision: deny\n");
  const RunResult r = RunJobgate("check " + bad);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(bad + ":4:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(bad + ":5:7: unknown key 'risk_tag' in match; did you mean 'risk_tags'?"),
            std::string::npos)
      << r.output;
}

TEST_F(CliTest, CheckRunsRuleExamples) {
  const std::string p = Write("p.yaml",
                              "rules:\n"
                              "  - id: a\n"
                              "    match: {environment: prod}\n"
                              "    decision: deny\n"
                              "    examples: {match: [{environment: dev}]}\n");
  const RunResult r = RunJobgate("check " + p);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(p + ":5:24: rule 'a' does not match its example"), std::string::npos)
      << r.output;
}

TEST_F(CliTest, CheckOfAMissingFileFails) {
  const RunResult r = RunJobgate("check " + (dir_ / "missing.yaml").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("missing.yaml:1:1: cannot read"), std::string::npos) << r.output;
}

TEST_F(CliTest, EvalAnswersTheSeedSimulateRequest) {
  const RunResult r =
      RunJobgate("eval --policy " + Src("tests/policy/testdata/seed001_policy.yaml") + " --job " +
                 Src("tests/policy/testdata/seed001_job.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"decision\": \"REQUIRE_APPROVAL\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"reason\": \"Prod writes require human approval\""), std::string::npos);
  EXPECT_NE(r.output.find("\"matched_rule\": \"require-approval-prod-write\""), std::string::npos);
  EXPECT_NE(r.output.find("\"snapshot_hash\": \"sha256:"), std::string::npos);
  EXPECT_NE(r.output.find("\"decision_id\": \""), std::string::npos);
}

TEST_F(CliTest, EvalExplainShowsEveryRule) {
  const RunResult r = RunJobgate("eval --explain --policy " + Src("examples/policy.yaml") +
                                 " --job " + Src("examples/jobs/read-dotenv.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("MATCH     deny-secret-reads"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no match  require-approval-prod-write"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rules considered (10)"), std::string::npos) << r.output;
}

TEST_F(CliTest, EvalAcceptsYamlJobsAndRefusesBadOnes) {
  const std::string job = Write("job.yaml", "topic: job.db.migrate\nenvironment: prod\n");
  EXPECT_EQ(RunJobgate("eval --policy " + Src("examples/policy.yaml") + " --job " + job).exit_code,
            0);
  const std::string bad = Write("bad.json", "{\"job_id\": 1, \"nope\": true}");
  const RunResult r = RunJobgate("eval --policy " + Src("examples/policy.yaml") + " --job " + bad);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.json"), std::string::npos) << r.output;
}

TEST_F(CliTest, TestRunsTheExampleSuite) {
  const std::string junit = (dir_ / "junit.xml").string();
  const RunResult r = RunJobgate("test " + Src("examples") + " --coverage --junit " + junit);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("13 passed, 0 failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("10/10 rules matched by some case"), std::string::npos) << r.output;
  std::ifstream in(junit);
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("<testsuite name="), std::string::npos) << xml;
  EXPECT_NE(xml.find("tests=\"13\" failures=\"0\""), std::string::npos) << xml;
}

TEST_F(CliTest, TestReportsFailuresExpectedVersusGot) {
  fs::copy_file(Src("examples/policy.yaml"), dir_ / "policy.yaml");
  Write("p_test.yaml",
        "policy: policy.yaml\n"
        "cases:\n"
        "  - name: passes\n"
        "    job: {topic: job.mcp-bridge.read.get_ticket}\n"
        "    expect: {decision: allow}\n"
        "  - name: wrong decision and constraint\n"
        "    job: {topic: job.mcp-bridge.read.get_ticket}\n"
        "    expect: {decision: deny, matched_rule: other, constraints: {max_runtime_sec: 5}}\n");
  const std::string junit = (dir_ / "j.xml").string();
  const RunResult r = RunJobgate("test " + dir_.string() + " --coverage --junit " + junit);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("p_test.yaml:6: FAIL wrong decision and constraint"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("decision: expected DENY, got ALLOW"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("matched_rule: expected \"other\", got \"allow-mcp-reads\""),
            std::string::npos);
  EXPECT_NE(r.output.find("constraints.max_runtime_sec: expected {\"max_runtime_sec\":5}, got "
                          "{\"max_runtime_sec\":900}"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("never matched:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 passed, 1 failed"), std::string::npos) << r.output;
}

TEST_F(CliTest, TestWithABrokenPolicyFails) {
  Write("broken.yaml", "rules: [{id: a}]\n");
  Write("b_test.yaml", "policy: broken.yaml\ncases: []\n");
  const RunResult r = RunJobgate("test " + dir_.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("broken.yaml:1:9: rule 'a' needs a 'decision'"), std::string::npos)
      << r.output;
}

TEST_F(CliTest, SimulateShowsMixAndLooseningFlips) {
  const RunResult r =
      RunJobgate("simulate --policy " + Src("examples/policy-candidate.yaml") + " --baseline " +
                 Src("examples/policy.yaml") + " --jobs " + Src("examples/traffic.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1000 jobs"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("LOOSENING"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("decisions/s"), std::string::npos) << r.output;
  const RunResult gate = RunJobgate(
      "simulate --fail-on-loosening --policy " + Src("examples/policy-candidate.yaml") +
      " --baseline " + Src("examples/policy.yaml") + " --jobs " + Src("examples/traffic.jsonl"));
  EXPECT_EQ(gate.exit_code, 1);
}

TEST_F(CliTest, SimulateJsonAndUnreadableLines) {
  const std::string jobs = Write("jobs.jsonl",
                                 "{\"job_id\":\"a\",\"topic\":\"job.mcp-bridge.read.x\"}\n"
                                 "\n"
                                 "not json\n"
                                 "{\"job_id\":\"b\",\"topic\":\"job.other\"}\n");
  const RunResult r = RunJobgate("simulate --json --policy " + Src("examples/policy.yaml") +
                                 " --baseline " + Src("examples/policy.yaml") + " --jobs " + jobs);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("jobs.jsonl:3:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"jobs\": 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"unreadable_lines\": 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"flipped\": 0"), std::string::npos) << r.output;
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunJobgate("").exit_code, 2);
  EXPECT_EQ(RunJobgate("eval --policy x").exit_code, 2);
  EXPECT_EQ(RunJobgate("frobnicate").exit_code, 2);
}

}  // namespace
