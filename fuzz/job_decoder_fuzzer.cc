// Fuzz target: the job decoder and everything a decoded job goes through on the gate's
// path. The bytes are decoded as protobuf and as JSON (subjects::DecodeJob), normalized,
// evaluated against the example policy, and scanned for secrets.
// Invariants: decoding never crashes; the three secret questions agree (ContainsSecret,
// DetectorsIn, RedactJob); after RedactJob no secret is left (ContainsSecret is false);
// Policy::Redact on a REDACT verdict leaves no secret either.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "policy/policy.h"
#include "policy/analysis/secrets.h"
#include "subjects/codec.h"

namespace {

using jobgate::policy::SecretScanner;
using jobgate::subjects::BodyFormat;
using jobgate::v1::Job;

const jobgate::policy::Policy& FixedPolicy() {
  static const auto result = jobgate::policy::Compile(
      jobgate::fuzz::ReadSourceFile("examples/policy.yaml"), {"examples/policy.yaml", ""});
  if (!result.ok())
    jobgate::fuzz::FuzzCheckFailed("examples/policy.yaml compiles", result.ErrorText());
  return *result.policy;
}

const jobgate::policy::Policy& PackPolicy() {
  static const auto result = jobgate::policy::Compile(
      jobgate::fuzz::ReadSourceFile("packs/coding-agent.yaml"), {"packs/coding-agent.yaml", ""});
  if (!result.ok())
    jobgate::fuzz::FuzzCheckFailed("packs/coding-agent.yaml compiles", result.ErrorText());
  return *result.policy;
}

std::string Joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

void Judge(Job job) {
  const SecretScanner& scanner = SecretScanner::Default();
  // A job is judged as the subject it arrived on; the fuzzed topic plays that subject.
  const std::string subject = job.topic().empty() ? "job.fuzz.input" : job.topic();
  if (!jobgate::subjects::NormalizeJob(subject, &job).ok()) return;
  jobgate::policy::Evaluation eval;
  for (const auto* policy : {&FixedPolicy(), &PackPolicy()}) {
    policy->Evaluate(job, &eval);
    jobgate::v1::Decision decision;
    policy->FillDecision(job, eval, {}, &decision);
    (void)jobgate::subjects::DecisionToJson(decision);
    Job copy = job;
    const int replaced = policy->Redact(eval, &copy, &decision);
    if (eval.verdict == jobgate::v1::REDACT && replaced >= 0) {
      FUZZ_CHECK(!scanner.ContainsSecret(copy), "Policy::Redact left a secret (" +
                                                    Joined(scanner.DetectorsIn(copy)) +
                                                    "): " + jobgate::subjects::ToJson(copy));
    }
  }

  const bool contains = scanner.ContainsSecret(job);
  const auto detectors = scanner.DetectorsIn(job);
  FUZZ_CHECK(contains == !detectors.empty(), "ContainsSecret and DetectorsIn disagree");
  std::vector<jobgate::v1::Redaction> redactions;
  Job redacted = job;
  const int found = scanner.RedactJob(&redacted, &redactions);
  FUZZ_CHECK((found > 0) == contains, "RedactJob and ContainsSecret disagree");
  FUZZ_CHECK(found == static_cast<int>(redactions.size()), "one record per secret");
  FUZZ_CHECK(!scanner.ContainsSecret(redacted), "a secret survives RedactJob (" +
                                                    Joined(scanner.DetectorsIn(redacted)) +
                                                    "): " + jobgate::subjects::ToJson(redacted));
  (void)jobgate::subjects::ToJson(job);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field with invalid UTF-8; the fuzzer makes millions.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (BodyFormat format : {BodyFormat::kProtobuf, BodyFormat::kJson}) {
    auto job = jobgate::subjects::DecodeJob(body, format);
    if (job.ok()) Judge(std::move(*job));
  }
  // Auto-detection must pick one of the two.
  (void)jobgate::subjects::DecodeJob(body, BodyFormat::kAuto);
  return 0;
}
