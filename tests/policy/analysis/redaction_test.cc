// match.secrets_present and redaction effects (rule `redact.paths`, REDACT decisions).
#include <gtest/gtest.h>

#include "policy/analysis/secrets.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

using testing::CompileErrors;
using testing::Job;
using testing::MustCompile;

// Secret-shaped values are built at run time; the repository holds none.
std::string FakeGithubPat() { return "ghp_" + std::string("aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"); }

const char* kPolicy = R"(
defaults: {decision: allow}
rules:
  - id: no-secrets-to-unknown-hosts
    match:
      secrets_present: true
      args: {url: {glob: "https://*", not_in: ["https://api.github.com"]}}
    decision: deny
    reason: "A secret-bearing request to an unknown host"
  - id: redact-secrets
    match: {secrets_present: [github-pat, aws-access-key-id]}
    decision: redact
  - id: scrub-session
    match: {}
    decision: allow
    redact: {paths: ["labels.session", "args.env.*"]}
)";

TEST(SecretsPresentTest, MatchesWhenDetectorsFire) {
  auto p = MustCompile(kPolicy);
  ASSERT_TRUE(p);
  const std::string pat = FakeGithubPat();
  EXPECT_EQ(p->Decide(Job("{args: {token: " + pat + "}}")).decision(), v1::REDACT);
  EXPECT_EQ(
      p->Decide(Job("{args: {token: " + pat + ", url: 'https://paste.example.com'}}")).decision(),
      v1::DENY);
  EXPECT_EQ(
      p->Decide(Job("{args: {token: " + pat + ", url: 'https://api.github.com'}}")).decision(),
      v1::REDACT);
  EXPECT_EQ(p->Decide(Job("{args: {text: hello}}")).decision(), v1::ALLOW);
}

TEST(SecretsPresentTest, FalseMeansNoSecret) {
  auto p = MustCompile("rules: [{id: clean, match: {secrets_present: false}, decision: allow}]\n");
  EXPECT_EQ(p->Decide(Job("{args: {a: b}}")).decision(), v1::ALLOW);
  EXPECT_EQ(p->Decide(Job("{args: {a: " + FakeGithubPat() + "}}")).decision(), v1::DENY);
}

TEST(SecretsPresentTest, UnknownDetectorHasAHint) {
  const std::string errors =
      CompileErrors("rules: [{id: a, match: {secrets_present: [github-pta]}, decision: deny}]\n");
  EXPECT_NE(errors.find("unknown secret detector 'github-pta'; did you mean 'github-pat'?"),
            std::string::npos)
      << errors;
}

TEST(SecretsPresentTest, ExplainSaysWhichDetectorsFired) {
  auto p = MustCompile(kPolicy);
  const auto explanation = p->Explain(Job("{args: {text: hello}}"));
  EXPECT_EQ(explanation[1].failed_condition,
            "secrets_present: detectors found []; wanted [\"aws-access-key-id\",\"github-pat\"]");
}

TEST(RedactTest, RedactDecisionReplacesEverySecretAndRecordsWhere) {
  auto p = MustCompile(kPolicy);
  const std::string pat = FakeGithubPat();
  v1::Job job = Job("{job_id: j, args: {env: {GH: " + pat + "}, cmd: 'git push https://" + pat +
                    "@github.com/x'}, labels: {session: s-123, team: web}}");
  Evaluation eval;
  p->Evaluate(job, &eval);
  ASSERT_EQ(eval.verdict, v1::REDACT);
  v1::Decision decision;
  p->FillDecision(job, eval, {}, &decision);
  const int replaced = p->Redact(eval, &job, &decision);
  // args.env.GH and labels.session by the path rule, then the scan finds the PAT in cmd.
  EXPECT_EQ(replaced, 3);
  const std::string text = job.DebugString();
  EXPECT_EQ(text.find(pat), std::string::npos) << text;
  EXPECT_EQ(text.find("s-123"), std::string::npos) << text;
  EXPECT_NE(text.find("[REDACTED:github-pat:"), std::string::npos) << text;
  EXPECT_NE(text.find("[REDACTED:path:"), std::string::npos) << text;
  EXPECT_EQ(job.labels().at("team"), "web");
  // Records name path and detector, never the value.
  const std::string decision_text = decision.DebugString();
  EXPECT_EQ(decision_text.find(pat), std::string::npos);
  bool saw_cmd = false, saw_session = false;
  for (const auto& r : decision.redactions()) {
    saw_cmd |= r.path() == "args.cmd" && r.detector() == "github-pat";
    saw_session |= r.path() == "labels.session" && r.detector() == "path";
  }
  EXPECT_TRUE(saw_cmd) << decision_text;
  EXPECT_TRUE(saw_session) << decision_text;
}

TEST(RedactTest, PathRulesApplyWhateverTheDecision) {
  auto p = MustCompile(kPolicy);
  v1::Job job = Job("{args: {env: {A: x, B: 2}}, labels: {session: abc}}");
  Evaluation eval;
  p->Evaluate(job, &eval);
  ASSERT_EQ(eval.verdict, v1::ALLOW);
  v1::Decision decision;
  EXPECT_EQ(p->Redact(eval, &job, &decision), 3);
  EXPECT_EQ(job.args().fields().at("env").struct_value().fields().at("B").string_value().rfind(
                "[REDACTED:path:", 0),
            0u);
  EXPECT_EQ(decision.redactions_size(), 3);
}

TEST(RedactTest, NothingToDoLeavesTheJobAlone) {
  auto p = MustCompile("rules: [{id: a, match: {}, decision: allow}]\n");
  v1::Job job = Job("{args: {token: " + FakeGithubPat() + "}}");
  const std::string before = job.SerializeAsString();
  Evaluation eval;
  p->Evaluate(job, &eval);
  v1::Decision decision;
  EXPECT_EQ(p->Redact(eval, &job, &decision), 0);
  EXPECT_EQ(job.SerializeAsString(), before);
}

TEST(RedactTest, BadRedactPathsAreRefused) {
  EXPECT_NE(
      CompileErrors("rules: [{id: a, match: {}, decision: allow, redact: {paths: [env.X]}}]\n")
          .find("must start with args. or labels., or be payload"),
      std::string::npos);
  EXPECT_NE(CompileErrors("rules: [{id: a, match: {}, decision: allow, redact: {}}]\n")
                .find("redact needs 'paths'"),
            std::string::npos);
}

TEST(RedactTest, HashCoversTheNewKeys) {
  auto a = MustCompile("rules: [{id: a, match: {secrets_present: true}, decision: redact}]\n");
  auto b = MustCompile("rules: [{id: a, match: {secrets_present: false}, decision: redact}]\n");
  auto c = MustCompile(
      "rules: [{id: a, match: {secrets_present: true}, decision: redact, redact: {paths: "
      "[payload]}}]\n");
  EXPECT_NE(a->hash(), b->hash());
  EXPECT_NE(a->hash(), c->hash());
}

}  // namespace
}  // namespace jobgate::policy
