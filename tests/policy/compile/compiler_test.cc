// Policy loading: both seed policies load unchanged; every bad policy is refused with
// FILE:LINE:COL and a useful message.
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

using testing::CompileErrors;
using testing::MustCompile;

std::string TestData(const std::string& name) {
  return std::string(JOBGATE_SOURCE_DIR) + "/tests/policy/testdata/" + name;
}

TEST(CompilerTest, SeedPoliciesLoadUnchanged) {
  for (const char* name : {"seed000_policy.yaml", "seed001_policy.yaml"}) {
    CompileResult r = CompileFile(TestData(name));
    EXPECT_TRUE(r.ok()) << r.ErrorText();
  }
}

TEST(CompilerTest, NameIsAcceptedForIdAndDecisionsAreCaseInsensitive) {
  auto p = MustCompile("rules:\n- name: a\n  match: {}\n  decision: Require_Approval\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rule_id(0), "a");
  EXPECT_EQ(p->rule_decision(0), v1::REQUIRE_APPROVAL);
}

TEST(CompilerTest, UnknownKeyWithHint) {
  const std::string errors = CompileErrors(
      "rules:\n"
      "  - id: a\n"
      "    match:\n"
      "      risk_tag: [write]\n"
      "    decision: deny\n");
  EXPECT_NE(errors.find("test.yaml:4:7: unknown key 'risk_tag' in match; did you mean "
                        "'risk_tags'?"),
            std::string::npos)
      << errors;
}

TEST(CompilerTest, UnknownTopLevelAndRuleKeys) {
  const std::string errors = CompileErrors(
      "rulez: []\n"
      "rules:\n"
      "  - id: a\n"
      "    match: {}\n"
      "    decison: deny\n");
  EXPECT_NE(errors.find("test.yaml:1:1: unknown key 'rulez' in the policy; did you mean 'rules'?"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("test.yaml:5:5: unknown key 'decison'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("needs a 'decision'"), std::string::npos) << errors;
}

TEST(CompilerTest, InvalidSubjectPatterns) {
  const std::string errors = CompileErrors(
      "rules:\n"
      "  - id: a\n"
      "    match: {topics: ['job..x']}\n"
      "    decision: deny\n"
      "  - id: b\n"
      "    match:\n"
      "      topics:\n"
      "        - job.ok\n"
      "        - job.>.x\n"
      "    decision: deny\n");
  EXPECT_NE(errors.find("test.yaml:3:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("empty token"), std::string::npos) << errors;
  EXPECT_NE(errors.find("test.yaml:9:11: invalid subject pattern in topics: '>' must be the last"),
            std::string::npos)
      << errors;
}

TEST(CompilerTest, InvalidRegexAndGlob) {
  const std::string errors = CompileErrors(
      "rules:\n"
      "  - id: a\n"
      "    match:\n"
      "      args: {path: {regex: '(unclosed'}}\n"
      "    decision: deny\n"
      "  - id: b\n"
      "    match:\n"
      "      labels: {x: {glob: '[abc'}}\n"
      "    decision: deny\n");
  EXPECT_NE(errors.find("test.yaml:4:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("invalid regex in args.path"), std::string::npos) << errors;
  EXPECT_NE(errors.find("test.yaml:8:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("invalid glob in labels.x"), std::string::npos) << errors;
}

TEST(CompilerTest, BackreferencesAreRefused) {
  // RE2 has no backtracking features, so no policy can make evaluation hang.
  const std::string errors = CompileErrors(
      "rules:\n  - id: a\n    match: {args: {x: {regex: '(a)\\1'}}}\n    decision: deny\n");
  EXPECT_NE(errors.find("invalid regex"), std::string::npos) << errors;
}

TEST(CompilerTest, DuplicateIdsAndKeys) {
  const std::string errors = CompileErrors(
      "rules:\n"
      "  - id: a\n    match: {}\n    decision: deny\n"
      "  - id: a\n    match: {}\n    decision: allow\n"
      "  - id: b\n    match: {}\n    decision: allow\n    decision: deny\n");
  EXPECT_NE(errors.find("test.yaml:5:9: duplicate rule id 'a'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("duplicate key 'decision'"), std::string::npos) << errors;
}

TEST(CompilerTest, NonsensicalLimits) {
  const std::string errors = CompileErrors(
      "rules:\n"
      "  - id: a\n"
      "    match: {}\n"
      "    decision: allow_with_constraints\n"
      "    constraints: {max_runtime_sec: -5, max_retries: lots, redaction_level: strikt}\n"
      "    risk_score: 101\n"
      "  - id: t\n"
      "    match: {}\n"
      "    decision: throttle\n"
      "    rate: {limit: 0, period: 0s}\n");
  EXPECT_NE(errors.find("max_runtime_sec must be between 1 and"), std::string::npos) << errors;
  EXPECT_NE(errors.find("max_retries must be a whole number, got 'lots'"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("did you mean 'strict'?"), std::string::npos) << errors;
  EXPECT_NE(errors.find("risk_score must be between 0 and 100"), std::string::npos) << errors;
  EXPECT_NE(errors.find("rate.limit must be between 1"), std::string::npos) << errors;
  EXPECT_NE(errors.find("rate.period must be a positive duration"), std::string::npos) << errors;
}

TEST(CompilerTest, ThrottleNeedsRateAndRateNeedsThrottle) {
  EXPECT_NE(CompileErrors("rules:\n  - id: t\n    match: {}\n    decision: throttle\n")
                .find("has no 'rate'"),
            std::string::npos);
  EXPECT_NE(CompileErrors("rules:\n  - id: t\n    match: {}\n    decision: allow\n"
                          "    rate: {limit: 1, period: 1s}\n")
                .find("'rate' only applies"),
            std::string::npos);
}

TEST(CompilerTest, RateKeyMustBeAJobField) {
  EXPECT_NE(CompileErrors("rules:\n  - id: t\n    match: {}\n    decision: throttle\n"
                          "    rate: {limit: 1, period: 1m, key: actor.agentid}\n")
                .find("did you mean 'actor.agent_id'?"),
            std::string::npos);
}

TEST(CompilerTest, UnknownDecisionAndOperator) {
  const std::string errors = CompileErrors(
      "rules:\n"
      "  - id: a\n"
      "    match: {environment: {nin: [prod]}}\n"
      "    decision: permit\n");
  EXPECT_NE(errors.find("unknown decision 'permit'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("unknown key 'nin' in environment; did you mean 'in'?"), std::string::npos)
      << errors;
}

TEST(CompilerTest, EmptyInListsAreRefused) {
  EXPECT_NE(CompileErrors("rules:\n  - id: a\n    match: {environment: {in: []}}\n"
                          "    decision: deny\n")
                .find("can never match"),
            std::string::npos);
}

TEST(CompilerTest, InvalidYamlHasPosition) {
  const std::string errors = CompileErrors("rules:\n  - id: a\n    match: {topics: [\n");
  EXPECT_NE(errors.find("test.yaml:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("invalid YAML"), std::string::npos) << errors;
}

TEST(CompilerTest, EmptyAndWrongShapes) {
  EXPECT_NE(CompileErrors("").find("empty policy"), std::string::npos);
  EXPECT_NE(CompileErrors("- a\n- b\n").find("must be a mapping"), std::string::npos);
  EXPECT_NE(CompileErrors("rules: {a: 1}\n").find("'rules' must be a list"), std::string::npos);
  EXPECT_NE(CompileErrors("version: v9\nrules: []\n").find("unsupported policy version"),
            std::string::npos);
  EXPECT_NE(CompileErrors("rules:\n  - id: a\n    decision: deny\n").find("needs a 'match'"),
            std::string::npos);
}

TEST(CompilerTest, NestedArgsNeedDottedPaths) {
  EXPECT_NE(CompileErrors("rules:\n  - id: a\n    match: {args: {env: {TOKEN: x}}}\n"
                          "    decision: deny\n")
                .find("dotted path"),
            std::string::npos);
}

TEST(CompilerTest, ReadFailureIsADiagnostic) {
  CompileResult r = CompileFile("/nonexistent/policy.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].ToString(),
            "/nonexistent/policy.yaml:1:1: cannot read "
            "'/nonexistent/policy.yaml'");
}

TEST(CompilerTest, ExamplesAreChecked) {
  auto p = MustCompile(
      "rules:\n"
      "  - id: prod\n"
      "    match: {environment: prod}\n"
      "    decision: deny\n"
      "    examples:\n"
      "      match:\n"
      "        - {environment: prod}\n"
      "        - {environment: staging}\n"
      "      no_match:\n"
      "        - {environment: dev}\n"
      "        - {environment: prod}\n");
  ASSERT_TRUE(p);
  const auto errors = p->CheckExamples();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].ToString(),
            "test.yaml:8:11: rule 'prod' does not match its example: environment is "
            "\"staging\"; wanted {\"in\":[\"prod\"]}");
  EXPECT_EQ(errors[1].ToString(), "test.yaml:11:11: rule 'prod' matches its no_match example");
}

TEST(CompilerTest, ExampleJobsWithUnknownFieldsAreRefused) {
  EXPECT_NE(CompileErrors("rules:\n  - id: a\n    match: {}\n    decision: deny\n"
                          "    examples: {match: [{enviroment: prod}]}\n")
                .find("example job"),
            std::string::npos);
}

}  // namespace
}  // namespace jobgate::policy
