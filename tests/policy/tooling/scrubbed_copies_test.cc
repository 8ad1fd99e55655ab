// Judging scrubbed copies (the jobs of the audit trail) as their raw jobs were judged: a
// redaction marker counts as a secret of its detector when the evaluation asks for it
// (Evaluation::markers_are_secrets, Simulator with JobCopies::kScrubbed), and only then.
#include <gtest/gtest.h>

#include "policy/analysis/secrets.h"
#include "policy/tooling/simulate.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

using testing::Job;
using testing::MustCompile;

// Secret-shaped values are built at run time; the repository holds none.
std::string FakeGithubPat() { return "ghp_" + std::string("aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"); }
std::string FakeAwsKeyId() { return "AKIA" + std::string("QX7TZ2LMN4RW8KVB"); }

// The copy the gate records: every secret replaced by its marker.
v1::Job Scrubbed(v1::Job job) {
  SecretScanner::Default().RedactJob(&job, nullptr);
  return job;
}

const char* kPolicy = R"(
defaults: {decision: allow}
rules:
  - id: pat-denied
    match: {secrets_present: [github-pat]}
    decision: deny
  - id: any-secret-redacted
    match: {secrets_present: true}
    decision: redact
  - id: clean-reads
    match: {topics: [job.read], secrets_present: false}
    decision: alert
)";

TEST(MarkedDetectorsTest, NamesTheDetectorOfEveryMarkerWhereverItIs) {
  const v1::Job raw = Job("{topic: job.read, capability: x, args: {token: " + FakeGithubPat() +
                          ", nested: {list: [a, 'key " + FakeAwsKeyId() + "']}}}");
  const SecretScanner& scanner = SecretScanner::Default();
  const std::vector<std::string> found = scanner.DetectorsIn(raw);
  ASSERT_FALSE(found.empty());
  const v1::Job scrubbed = Scrubbed(raw);
  EXPECT_TRUE(scanner.DetectorsIn(scrubbed).empty()) << "markers are never secrets themselves";
  EXPECT_EQ(scanner.MarkedDetectorsIn(scrubbed), found);
  EXPECT_TRUE(scanner.MarkedDetectorsIn(raw).empty());
}

TEST(MarkedDetectorsTest, MapKeysLabelsAndPayloadCarryMarkersToo) {
  v1::Job raw = Job("{labels: {team: web}}");
  (*raw.mutable_labels())[FakeGithubPat()] = "key";
  raw.set_payload("blob " + FakeAwsKeyId() + std::string("\0tail", 5));
  const v1::Job scrubbed = Scrubbed(raw);
  EXPECT_EQ(SecretScanner::Default().MarkedDetectorsIn(scrubbed),
            SecretScanner::Default().DetectorsIn(raw));
}

TEST(MarkedDetectorsTest, PathMarkersAndMalformedOrUnknownMarkersNameNoDetector) {
  const SecretScanner& scanner = SecretScanner::Default();
  EXPECT_TRUE(scanner.MarkedDetectorsIn(Job("{args: {a: '[REDACTED:path:0a1b2c]'}}")).empty());
  EXPECT_TRUE(scanner.MarkedDetectorsIn(Job("{args: {a: '[REDACTED:no-such:0a1b2c]'}}")).empty());
  EXPECT_TRUE(scanner.MarkedDetectorsIn(Job("{args: {a: '[REDACTED:github-pat:0a1b]'}}")).empty());
  EXPECT_TRUE(scanner.MarkedDetectorsIn(Job("{args: {a: '[REDACTED:github-pat:0a1b2c'}}")).empty());
  EXPECT_EQ(scanner.MarkedDetectorsIn(Job("{args: {a: 'x [REDACTED:github-pat:0A1b2c] y'}}")),
            std::vector<std::string>{"github-pat"});
  EXPECT_EQ(scanner.MarkedDetectorsIn(
                Job("{args: {a: '[REDACTED:nesting-too-deep:000000]'}}")),
            std::vector<std::string>{std::string(SecretScanner::kTooDeepDetector)});
}

TEST(ScrubbedCopiesTest, MarkersCountAsSecretsOnlyWhenAsked) {
  auto p = MustCompile(kPolicy);
  ASSERT_TRUE(p);
  const v1::Job raw = Job("{topic: job.read, args: {token: " + FakeGithubPat() + "}}");
  const v1::Job scrubbed = Scrubbed(raw);
  Evaluation eval;
  p->Evaluate(raw, &eval);
  ASSERT_EQ(eval.verdict, v1::DENY);
  // As the gate judges jobs: a marker is text.
  p->Evaluate(scrubbed, &eval);
  EXPECT_EQ(eval.verdict, v1::ALERT);
  // As a simulation over the audit trail judges them: the secret its marker stands for.
  eval.markers_are_secrets = true;
  p->Evaluate(scrubbed, &eval);
  EXPECT_EQ(eval.verdict, v1::DENY);
  p->Evaluate(Job("{topic: job.read, args: {text: hello}}"), &eval);
  EXPECT_EQ(eval.verdict, v1::ALERT);
}

TEST(ScrubbedCopiesTest, SimulationOnScrubbedCopiesMatchesSimulationOnRawJobs) {
  auto candidate = MustCompile(kPolicy);
  auto baseline = MustCompile("defaults: {decision: allow}\nrules: []\n");
  ASSERT_TRUE(candidate && baseline);
  std::vector<v1::Job> raw = {
      Job("{job_id: a, topic: job.read, args: {token: " + FakeGithubPat() + "}}"),
      Job("{job_id: b, topic: job.read, args: {key: " + FakeAwsKeyId() + "}}"),
      Job("{job_id: c, topic: job.read, args: {text: hello}}"),
      Job("{job_id: d, topic: job.write, labels: {auth: " + FakeGithubPat() + "}}"),
  };
  Simulator on_raw(candidate.get(), baseline.get());
  Simulator on_copies(candidate.get(), baseline.get(), JobCopies::kScrubbed);
  Simulator copies_as_text(candidate.get(), baseline.get(), JobCopies::kRaw);
  for (const v1::Job& job : raw) {
    on_raw.Add(job);
    on_copies.Add(Scrubbed(job));
    copies_as_text.Add(Scrubbed(job));
  }
  EXPECT_EQ(on_raw.report().ToJson().Dump(), on_copies.report().ToJson().Dump());
  EXPECT_EQ(on_copies.report().mix.at(v1::DENY), 2);
  EXPECT_EQ(on_copies.report().mix.at(v1::REDACT), 1);
  EXPECT_EQ(on_copies.report().mix.at(v1::ALERT), 1);
  // Read as plain text, the copies would lose every secret rule.
  EXPECT_EQ(copies_as_text.report().mix.count(v1::DENY), 0u);
}

}  // namespace
}  // namespace jobgate::policy
