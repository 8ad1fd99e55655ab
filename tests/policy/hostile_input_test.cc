// Hostile input against the pure policy library and the job codec (docs/reliability.md,
// "Hostile input"): huge fields, deep nesting, a million labels, invalid UTF-8 and NUL
// bytes, a policy with 100,000 rules, regexes written to backtrack. Each case must
// finish with a definite, fail-closed answer; the assertions are on results, never on
// time. Each test prints what it measured (wall time, growth of the max RSS) so the
// figures in docs/reliability.md can be rerun:
//   build/tests/policy_tests --gtest_filter='HostileInput.*'
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "policy/analysis/secrets.h"
#include "subjects/codec.h"

namespace jobgate::policy {
namespace {

using subjects::BodyFormat;
using subjects::DecodeJob;

// Max RSS of this process so far, in MiB.
double MaxRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Prints wall time and max-RSS growth of a scope when it ends.
class Measure {
 public:
  explicit Measure(std::string what)
      : what_(std::move(what)), start_(std::chrono::steady_clock::now()), rss_(MaxRssMiB()) {}
  ~Measure() {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::printf("[ measured ] %s: %.3f s, max RSS +%.0f MiB (now %.0f MiB)\n", what_.c_str(), s,
                MaxRssMiB() - rss_, MaxRssMiB());
  }
  double rss_growth() const { return MaxRssMiB() - rss_; }

 private:
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  double rss_;
};

std::shared_ptr<const Policy> LoadPolicy(const std::string& relative) {
  auto r = CompileFile(std::string(JOBGATE_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  return r.policy;
}

const SecretScanner& Scanner() { return SecretScanner::Default(); }

// A credential-shaped value assembled at run time (the repository carries no literals).
std::string FakeGithubToken() { return "ghp_" + std::string(36, 'x').replace(0, 10, "Q7mZ2kP9vL"); }
std::string FakeAwsKeyId() { return std::string("AKIA") + "Q7MZ2KP3VLXW4R5T"; }

v1::Job BaseJob() {
  v1::Job job;
  job.set_job_id("hostile-1");
  job.set_tenant_id("default");
  job.set_topic("job.agent.exec.shell");
  job.set_capability("shell.exec");
  job.set_environment("prod");
  job.mutable_actor()->set_type("agent");
  job.mutable_actor()->set_team("web");
  return job;
}

// ---- huge fields -------------------------------------------------------------------

TEST(HostileInput, HugeFieldsAreJudgedAndScannedWholly) {
  auto example = LoadPolicy("examples/policy.yaml");
  auto pack = LoadPolicy("packs/coding-agent.yaml");
  ASSERT_TRUE(example && pack);
  constexpr size_t kMiB = 1 << 20;
  v1::Job job = BaseJob();
  // A 1 MiB shell command, a 1 MiB label and a 1 MiB payload whose secret is at the very
  // end: nothing is truncated before scanning.
  (*job.mutable_args()->mutable_fields())["command"].set_string_value("echo " +
                                                                      std::string(kMiB, 'a'));
  (*job.mutable_labels())["note"] = std::string(kMiB, 'b');
  job.set_payload(std::string(kMiB, 'c') + " token: " + FakeGithubToken());
  Measure m("1 MiB command + 1 MiB label + 1 MiB payload: evaluate (2 policies), scan, redact");
  EXPECT_NE(example->Decide(job).decision(), v1::VERDICT_UNSPECIFIED);
  const v1::Decision d = pack->Decide(job);
  EXPECT_NE(d.decision(), v1::VERDICT_UNSPECIFIED);
  EXPECT_TRUE(Scanner().ContainsSecret(job));
  v1::Job redacted = job;
  std::vector<v1::Redaction> records;
  EXPECT_EQ(Scanner().RedactJob(&redacted, &records), 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].path(), "payload");
  EXPECT_EQ(redacted.payload().find(FakeGithubToken()), std::string::npos);
  EXPECT_FALSE(Scanner().ContainsSecret(redacted));
}

TEST(HostileInput, HugeJsonStringDecodesOrFailsCleanly) {
  // A JSON body of 8 MiB with one string field: decoded whole (the size limit is the
  // bus's, checked by the gate before decoding).
  const std::string body =
      R"({"job_id":"big","args":{"blob":")" + std::string(8 << 20, 'x') + R"("}})";
  Measure m("8 MiB JSON string field: decode");
  auto job = DecodeJob(body, BodyFormat::kJson);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->args().fields().at("blob").string_value().size(), size_t{8 << 20});
}

// ---- deep nesting ------------------------------------------------------------------

std::string NestedJsonArrays(int depth, const std::string& leaf) {
  std::string j = R"({"job_id":"deep","args":{"a":)";
  j.append(static_cast<size_t>(depth), '[');
  j += leaf;
  j.append(static_cast<size_t>(depth), ']');
  return j + "}}";
}

std::string NestedJsonObjects(int depth, const std::string& leaf) {
  std::string j = R"({"job_id":"deep","args":)";
  for (int i = 0; i < depth; ++i) j += R"({"k":)";
  j += leaf;
  j.append(static_cast<size_t>(depth), '}');
  return j + "}";
}

// A protobuf Job whose args nest `depth` ListValues, built inside out without recursion.
std::string NestedProtobufLists(int depth) {
  auto varint = [](uint64_t v) {
    std::string out;
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
    return out;
  };
  // Sizes from the inside out: Value{list_value(6): ListValue{values(1): Value{...}}}.
  std::vector<uint64_t> value_size(static_cast<size_t>(depth) + 1);
  value_size[0] = 0;  // the innermost Value is empty
  std::vector<uint64_t> list_size(static_cast<size_t>(depth) + 1);
  for (size_t i = 1; i <= static_cast<size_t>(depth); ++i) {
    list_size[i] = 1 + varint(value_size[i - 1]).size() + value_size[i - 1];
    value_size[i] = 1 + varint(list_size[i]).size() + list_size[i];
  }
  std::string value;
  value.reserve(value_size[static_cast<size_t>(depth)]);
  for (size_t i = static_cast<size_t>(depth); i >= 1; --i) {
    value += '\x32' + varint(list_size[i]);       // Value.list_value, field 6, length-delimited
    value += '\x0a' + varint(value_size[i - 1]);  // ListValue.values, field 1
  }
  const std::string entry =
      "\x0a\x01"
      "a"
      "\x12" +
      varint(value.size()) + value;                                // key, value
  const std::string args = "\x0a" + varint(entry.size()) + entry;  // Struct.fields
  return "\x0a\x04"
         "deep"
         "\x4a" +
         varint(args.size()) + args;  // Job.job_id, Job.args (9)
}

TEST(HostileInput, DeeplyNestedJsonIsRefusedWithoutOverflowingTheStack) {
  for (int depth : {1000, 100000}) {
    {
      Measure m("JSON arrays nested " + std::to_string(depth) + " deep: decode");
      auto job = DecodeJob(NestedJsonArrays(depth, "1"), BodyFormat::kJson);
      EXPECT_FALSE(job.ok()) << depth;
    }
    {
      Measure m("JSON objects nested " + std::to_string(depth) + " deep: decode");
      auto job = DecodeJob(NestedJsonObjects(depth, "1"), BodyFormat::kJson);
      EXPECT_FALSE(job.ok()) << depth;
    }
  }
}

TEST(HostileInput, DeeplyNestedProtobufIsRefusedWithoutOverflowingTheStack) {
  Measure m("protobuf ListValue nested 100000 deep: decode");
  const std::string body = NestedProtobufLists(100000);
  auto job = DecodeJob(body, BodyFormat::kProtobuf);
  EXPECT_FALSE(job.ok());  // protobuf's recursion limit (100) refuses it
  // Within the limit it decodes, and the decoder is the one bounding depth.
  EXPECT_TRUE(DecodeJob(NestedProtobufLists(20), BodyFormat::kProtobuf).ok());
}

// Every depth the decoders accept is scanned: a secret at the bottom of the deepest
// nesting that decodes is still found and redacted (fail closed, not skipped).
TEST(HostileInput, SecretAtTheDeepestDecodableNestingIsFound) {
  const std::string leaf = "\"" + FakeAwsKeyId() + "\"";
  int deepest = 0;
  for (int depth = 1; depth <= 200; ++depth) {
    auto job = DecodeJob(NestedJsonArrays(depth, leaf), BodyFormat::kJson);
    if (!job.ok()) break;
    deepest = depth;
    ASSERT_TRUE(Scanner().ContainsSecret(*job)) << "arrays nested " << depth;
    v1::Job copy = *job;
    EXPECT_EQ(Scanner().RedactJob(&copy, nullptr), 1) << depth;
    EXPECT_FALSE(Scanner().ContainsSecret(copy)) << depth;
  }
  std::printf("[ measured ] deepest JSON array nesting that decodes: %d\n", deepest);
  EXPECT_GT(deepest, 10);
  for (int depth = 1; depth <= 200; ++depth) {
    auto job = DecodeJob(NestedJsonObjects(depth, leaf), BodyFormat::kJson);
    if (!job.ok()) break;
    ASSERT_TRUE(Scanner().ContainsSecret(*job)) << "objects nested " << depth;
  }
}

// A job built in process (not decoded) can nest deeper than the scanner walks: it must
// count as carrying a secret, so REDACT/secrets_present fail closed.
TEST(HostileInput, NestingDeeperThanTheScannerWalksFailsClosed) {
  v1::Job job = BaseJob();
  google::protobuf::Value* v = &(*job.mutable_args()->mutable_fields())["a"];
  for (int i = 0; i < 200; ++i) v = v->mutable_list_value()->add_values();
  v->set_string_value("harmless");
  EXPECT_TRUE(Scanner().ContainsSecret(job));
  v1::Job copy = job;
  std::vector<v1::Redaction> records;
  EXPECT_GE(Scanner().RedactJob(&copy, &records), 1);
  EXPECT_FALSE(Scanner().ContainsSecret(copy));
}

// ---- a million labels --------------------------------------------------------------

TEST(HostileInput, AMillionLabels) {
  auto pack = LoadPolicy("packs/coding-agent.yaml");
  ASSERT_TRUE(pack);
  v1::Job job = BaseJob();
  Measure m("1,000,000 labels: build, encode, decode, evaluate, scan");
  auto& labels = *job.mutable_labels();
  for (int i = 0; i < 1000000; ++i) labels["k" + std::to_string(i)] = "v" + std::to_string(i);
  labels["k999999"] = "password=" + FakeGithubToken();
  const std::string wire = job.SerializeAsString();
  auto decoded = DecodeJob(wire, BodyFormat::kProtobuf);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->labels_size(), 1000000);
  EXPECT_NE(pack->Decide(*decoded).decision(), v1::VERDICT_UNSPECIFIED);
  EXPECT_TRUE(Scanner().ContainsSecret(*decoded));
  EXPECT_LT(m.rss_growth(), 4096) << "a million labels took more than 4 GiB";
}

// ---- invalid UTF-8 and NUL bytes ---------------------------------------------------

TEST(HostileInput, InvalidUtf8InStringFieldsIsRefusedByTheDecoder) {
  v1::Job job = BaseJob();
  std::string wire = job.SerializeAsString();
  // labels {key: "k" value: "\xff\xfe"}: a proto3 string must be UTF-8.
  wire += std::string("\x32\x07\x0a\x01k\x12\x02\xff\xfe", 9);
  EXPECT_FALSE(DecodeJob(wire, BodyFormat::kProtobuf).ok());
  // JSON with a raw invalid byte inside a string.
  EXPECT_FALSE(DecodeJob("{\"job_id\":\"x\",\"environment\":\"\xff\"}", BodyFormat::kJson).ok());
}

TEST(HostileInput, SecretsNextToNulAndInvalidUtf8AreFound) {
  auto pack = LoadPolicy("packs/coding-agent.yaml");
  ASSERT_TRUE(pack);
  // Payload is bytes: NUL and invalid UTF-8 around a secret must not hide it.
  const std::string pw = "Zx9!kQ2#mP7vL4&q";
  const struct {
    std::string payload, secret;
  } cases[] = {
      {std::string("\0\xff\xfe", 3) + FakeGithubToken() + std::string("\0", 1), FakeGithubToken()},
      {std::string("binary\0", 7) + "password=" + pw, pw},
      {std::string("\xc3\x28", 2) + FakeAwsKeyId() + "\xff", FakeAwsKeyId()},
  };
  for (const auto& [payload, secret] : cases) {
    v1::Job job = BaseJob();
    job.set_payload(payload);
    EXPECT_TRUE(Scanner().ContainsSecret(job));
    v1::Job copy = job;
    EXPECT_GE(Scanner().RedactJob(&copy, nullptr), 1);
    EXPECT_FALSE(Scanner().ContainsSecret(copy));
    EXPECT_EQ(copy.payload().find(secret), std::string::npos);
    // The pack redacts jobs with secrets: the published copy carries none.
    Evaluation eval;
    pack->Evaluate(job, &eval);
    v1::Decision decision;
    pack->FillDecision(job, eval, {}, &decision);
    v1::Job published = job;
    pack->Redact(eval, &published, &decision);
    EXPECT_FALSE(Scanner().ContainsSecret(published)) << VerdictName(eval.verdict);
  }
  // String fields may hold NUL (valid UTF-8): JSON "\u0000" before a secret.
  auto job = DecodeJob(R"({"job_id":"x","labels":{"t":"a\u0000)" + FakeGithubToken() + R"("}})",
                       BodyFormat::kJson);
  ASSERT_TRUE(job.ok());
  EXPECT_TRUE(Scanner().ContainsSecret(*job));
}

TEST(HostileInput, NulBytesInMatchedFieldsDoNotConfuseTheMatcher) {
  auto example = LoadPolicy("examples/policy.yaml");
  ASSERT_TRUE(example);
  v1::Job job = BaseJob();
  // "job.db.migrate\0.x" is not job.db.migrate: the topic rule must not match.
  job.set_topic(std::string("job.mcp-bridge.read.get_ticket\0.x", 34));
  job.clear_environment();
  const v1::Decision d = example->Decide(job);
  EXPECT_NE(d.matched_rule(), "allow-mcp-reads");
  job.set_environment(std::string("prod\0", 5));
  EXPECT_NE(example->Decide(job).decision(), v1::VERDICT_UNSPECIFIED);
}

// ---- 100,000 rules -----------------------------------------------------------------

TEST(HostileInput, APolicyWithAHundredThousandRules) {
  constexpr int kRules = 100000;
  std::string yaml = "version: v1\nsnapshot: huge\ndefaults: {decision: deny}\nrules:\n";
  yaml.reserve(kRules * 80);
  for (int i = 0; i < kRules; ++i) {
    const std::string n = std::to_string(i);
    yaml += "  - {id: r" + n + ", match: {topics: [job.svc" + n + ".>]";
    if (i % 10 == 0) yaml += ", environment: prod";
    if (i % 1000 == 0) yaml += ", args: {sql: {regex: 'drop\\s+table\\s+t" + n + "'}}";
    yaml += "}, decision: " + std::string(i % 2 ? "allow" : "deny") + "}\n";
  }
  std::shared_ptr<const Policy> policy;
  {
    Measure m("100,000-rule policy (" + std::to_string(yaml.size() >> 20) + " MiB YAML): compile");
    auto r = Compile(yaml);
    ASSERT_TRUE(r.ok()) << r.ErrorText().substr(0, 2000);
    policy = r.policy;
  }
  EXPECT_EQ(policy->rule_count(), size_t{kRules});
  Measure m("100,000-rule policy: 1,000 evaluations");
  Evaluation eval;
  v1::Job job = BaseJob();
  for (int i = 0; i < 1000; ++i) {
    job.set_topic("job.svc" + std::to_string(i * 97) + ".run");
    policy->Evaluate(job, &eval);
    ASSERT_TRUE(eval.error.empty()) << eval.error;
    ASSERT_EQ(eval.matched.size(), (i * 97) % 10 == 0 && (i * 97) % 1000 != 0 ? 1u
                                   : (i * 97) % 10 == 0                       ? 0u
                                                                              : 1u);
  }
  job.set_topic("job.svc99999.run");
  policy->Evaluate(job, &eval);
  EXPECT_EQ(eval.verdict, v1::ALLOW);
  job.set_topic("job.svc3000.run");
  (*job.mutable_args()->mutable_fields())["sql"].set_string_value("drop  table t3000");
  policy->Evaluate(job, &eval);
  EXPECT_EQ(eval.verdict, v1::DENY);
  EXPECT_EQ(eval.deciding_rule, policy->FindRule("r3000"));
}

// ---- regexes written to backtrack --------------------------------------------------

TEST(HostileInput, BacktrackingRegexesRunInLinearTime) {
  auto policy = Compile(R"(version: v1
defaults: {decision: allow}
rules:
  - id: nested-plus
    match: {args: {a: {regex: '^(a+)+$'}}}
    decision: deny
  - id: alternation
    match: {args: {b: {regex: '^(a|aa)+$'}}}
    decision: deny
  - id: counted
    match: {args: {c: {regex: '^(.*a){12}$'}}}
    decision: deny
  - id: optional-run
    match: {args: {d: {regex: '^(a?){30}a{30}$'}}}
    decision: deny
  - id: star-glob
    match: {args: {e: {glob: '*a*a*a*a*a*a*a*a*a*b'}}}
    decision: deny
)");
  ASSERT_TRUE(policy.ok()) << policy.ErrorText();
  constexpr size_t kLen = 100 * 1024;
  auto job_with = [&](const std::string& key, const std::string& value) {
    v1::Job job = BaseJob();
    (*job.mutable_args()->mutable_fields())[key].set_string_value(value);
    return job;
  };
  const std::string as(kLen, 'a');
  const std::string as_then_bang = as + "!";
  Measure m("5 backtracking patterns x 100 KB inputs, 10 evaluations");
  struct Case {
    std::string key, value;
    v1::Verdict want;
  } cases[] = {
      {"a", as_then_bang, v1::ALLOW},
      {"a", as, v1::DENY},
      {"b", as_then_bang, v1::ALLOW},
      {"b", as, v1::DENY},
      {"c", as_then_bang, v1::ALLOW},
      {"c", as, v1::DENY},
      {"d", std::string(30, 'a'), v1::DENY},
      {"d", std::string(29, 'a'), v1::ALLOW},
      {"e", as, v1::ALLOW},
      {"e", as + "b", v1::DENY},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(policy.policy->Decide(job_with(c.key, c.value)).decision(), c.want)
        << c.key << " on " << c.value.size() << " bytes";
  }
}

TEST(HostileInput, SecretScannerOnPathologicalText) {
  // Many near-misses for the generic and private-key detectors in 100 KB.
  std::string assignments;
  while (assignments.size() < 100 * 1024) assignments += "password=short ";
  std::string pem;
  while (pem.size() < 100 * 1024) pem += "-----BEGIN RSA PRIVATE KEY-----\n";
  std::string tokens;
  while (tokens.size() < 100 * 1024) tokens += "ghp_";
  Measure m("secret scan of 3 x 100 KB near-miss texts");
  EXPECT_FALSE(Scanner().Contains(assignments));
  EXPECT_TRUE(Scanner().Contains(pem));  // an unterminated key block is a secret
  EXPECT_FALSE(Scanner().Contains(tokens));
  std::vector<v1::Redaction> records;
  const std::string redacted = Scanner().Redact(pem, "x", &records);
  EXPECT_EQ(redacted.find("PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace jobgate::policy
