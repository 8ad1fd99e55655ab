// Fuzz target: the policy loader. Compiles arbitrary bytes as policy YAML; when they
// compile, evaluates fixed jobs against the policy (Evaluate, Decide, Explain, Redact),
// runs the rules' own examples and checks that the hash is stable across a recompile.
// Invariants: Compile never crashes; a compiled policy has a sha256 hash; compiling the
// same text twice gives the same hash; Evaluate and Explain agree on which rules match.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace {

using jobgate::policy::Compile;
using jobgate::v1::Job;

std::vector<Job> LoadJobs() {
  std::vector<Job> jobs;
  for (const char* name :
       {"agent-shell", "drop-table", "mcp-read", "prod-migrate", "read-dotenv"}) {
    auto job = jobgate::subjects::DecodeJob(
        jobgate::fuzz::ReadSourceFile(std::string("examples/jobs/") + name + ".json"),
        jobgate::subjects::BodyFormat::kJson);
    if (!job.ok()) jobgate::fuzz::FuzzCheckFailed("example job decodes", name);
    jobs.push_back(std::move(*job));
  }
  // One job with a secret in its args, so redaction paths run.
  Job secret = jobs.back();
  (*secret.mutable_labels())["token"] = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
  jobs.push_back(std::move(secret));
  return jobs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Job> jobs = LoadJobs();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = Compile(text);
  if (!result.ok()) {
    FUZZ_CHECK(!result.errors.empty(), "a failed compile names no error");
    (void)result.ErrorText();
    return 0;
  }
  const auto& policy = *result.policy;
  FUZZ_CHECK(policy.hash().rfind("sha256:", 0) == 0, policy.hash());
  const auto again = Compile(text);
  FUZZ_CHECK(again.ok() && again.policy->hash() == policy.hash(), "hash not stable");

  (void)policy.CheckExamples();
  jobgate::policy::Evaluation eval;
  for (const Job& job : jobs) {
    policy.Evaluate(job, &eval);
    const auto decision = policy.Decide(job);
    FUZZ_CHECK(decision.decision() == eval.verdict, job.job_id());
    (void)jobgate::subjects::DecisionToJson(decision);
    if (policy.rule_count() <= 200) {
      // The index must find exactly the rules a brute-force walk finds (unless
      // evaluation failed, which is DENY with an error).
      const auto explained = policy.Explain(job);
      if (eval.error.empty()) {
        std::vector<bool> indexed(explained.size(), false);
        for (uint32_t m : eval.matched) indexed[m] = true;
        for (size_t i = 0; i < explained.size(); ++i) {
          FUZZ_CHECK(indexed[i] == explained[i].matched,
                     job.job_id() + ": rule " + explained[i].rule_id + " explain says " +
                         (explained[i].matched ? "match" : "no match") + ", evaluate disagrees");
        }
      }
    }
    Job copy = job;
    jobgate::v1::Decision with_redactions = decision;
    (void)policy.Redact(eval, &copy, &with_redactions);
  }
  return 0;
}
