// Properties over random policies and random jobs (fixed seeds: deterministic):
//  1. Rule order never matters: any permutation gives identical decisions and hash.
//  2. The indexes find exactly the rules a brute-force check of every rule finds.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "google/protobuf/util/message_differencer.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937& rng() { return rng_; }

  std::string TopicPattern() {
    std::string p = "job";
    const int depth = Int(1, 3);
    for (int i = 0; i < depth; ++i) {
      if (i == depth - 1 && Chance(0.2)) return p + ".>";
      p += "." + (Chance(0.25) ? std::string("*") : Pick(kTokens));
    }
    return p;
  }

  std::string List(const std::vector<std::string>& vocab, int max) {
    std::string out = "[";
    const int n = Int(1, max);
    for (int i = 0; i < n; ++i) out += (i ? ", " : "") + Pick(vocab);
    return out + "]";
  }

  std::string Rule(int index) {
    std::string match;
    auto add = [&](const std::string& cond) { match += (match.empty() ? "" : ", ") + cond; };
    if (Chance(0.6))
      add("topics: [" + TopicPattern() + (Chance(0.2) ? ", " + TopicPattern() : "") + "]");
    if (Chance(0.15)) add("not_topics: [" + TopicPattern() + "]");
    if (Chance(0.4)) {
      add("environment: " + List(kEnvs, 2));
    } else if (Chance(0.1)) {
      add("environment: {not_in: " + List(kEnvs, 2) + "}");
    }
    if (Chance(0.3)) add("risk_tags: " + List(kTags, 2));
    if (Chance(0.2)) add("risk_tags_any: " + List(kTags, 3));
    if (Chance(0.15)) add("risk_tags_none: " + List(kTags, 2));
    if (Chance(0.2)) add("capability: " + List(kCaps, 2));
    if (Chance(0.15)) add("actor: {team: " + List(kTeams, 2) + "}");
    std::string labels;
    if (Chance(0.1)) labels += "tier: {in: [gold, silver]}";
    if (Chance(0.1)) {
      labels += std::string(labels.empty() ? "" : ", ") +
                "owner: {exists: " + (Chance(0.5) ? "true" : "false") + "}";
    }
    if (!labels.empty()) add("labels: {" + labels + "}");
    std::string args;
    if (Chance(0.1)) args += "rows: {gt: " + std::to_string(Int(0, 100)) + "}";
    if (Chance(0.1)) {
      args += std::string(args.empty() ? "" : ", ") + "path: {glob: '**/*.env'}";
    } else if (Chance(0.05)) {
      args += std::string(args.empty() ? "" : ", ") + "path: {regex: 'secret'}";
    }
    if (!args.empty()) add("args: {" + args + "}");
    const std::string decision = Pick(kDecisions);
    std::string rule = "  - id: r" + std::to_string(index) + "\n    match: {" + match +
                       "}\n    decision: " + decision + "\n";
    if (decision == "throttle") rule += "    rate: {limit: 5, period: 1m}\n";
    if (Chance(0.5)) rule += "    risk_score: " + std::to_string(Int(0, 3) * 25) + "\n";
    if (Chance(0.4)) {
      rule += "    constraints: {max_runtime_sec: " + std::to_string(Int(1, 5) * 60) +
              ", network_allowlist: " + List(kHosts, 3) + "}\n";
    }
    return rule;
  }

  std::string JobYaml() {
    std::string topic = "job";
    const int depth = Int(1, 4);
    for (int i = 0; i < depth; ++i) topic += "." + Pick(kTokens);
    std::string job = "{job_id: j, topic: " + topic;
    if (Chance(0.8)) job += ", environment: " + Pick(kEnvs);
    if (Chance(0.8)) job += ", risk_tags: " + List(kTags, 3);
    if (Chance(0.7)) job += ", capability: " + Pick(kCaps);
    if (Chance(0.6)) job += ", actor: {team: " + Pick(kTeams) + "}";
    if (Chance(0.5))
      job += ", labels: {tier: " + Pick(std::vector<std::string>{"gold", "bronze"}) + ", owner: x}";
    if (Chance(0.5)) {
      job += ", args: {rows: " + std::to_string(Int(0, 120)) + ", path: '" +
             Pick(std::vector<std::string>{"a/.env", "a/b/c.env", "src/main.cc", "my-secret"}) +
             "'}";
    }
    return job + "}";
  }

 private:
  std::mt19937 rng_;
  const std::vector<std::string> kTokens = {"db", "agent", "mcp", "read", "write", "exec", "x"};
  const std::vector<std::string> kEnvs = {"prod", "staging", "dev"};
  const std::vector<std::string> kTags = {"read", "write", "prod", "destructive", "medium"};
  const std::vector<std::string> kCaps = {"db.migrate", "shell.exec", "ticket.write"};
  const std::vector<std::string> kTeams = {"payments", "infra", "web"};
  const std::vector<std::string> kHosts = {"a.com", "b.com", "c.com", "d.com"};
  const std::vector<std::string> kDecisions = {
      "allow",    "allow_with_constraints", "alert", "redact",
      "throttle", "require_approval",       "deny",  "terminate"};
};

std::string Assemble(const std::vector<std::string>& rules, const std::string& defaults) {
  std::string yaml = "defaults: {decision: " + defaults + "}\nrules:\n";
  for (const auto& r : rules) yaml += r;
  return yaml;
}

TEST(PropertyTest, RuleOrderNeverChangesAnything) {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    Generator gen(seed);
    std::vector<std::string> rules;
    const int n = gen.Int(1, 40);
    for (int i = 0; i < n; ++i) rules.push_back(gen.Rule(i));
    const std::string defaults = gen.Chance(0.5) ? "deny" : "allow";
    auto original = testing::MustCompile(Assemble(rules, defaults));
    ASSERT_TRUE(original) << "seed " << seed;
    std::vector<v1::Job> jobs;
    for (int j = 0; j < 60; ++j) jobs.push_back(testing::Job(gen.JobYaml()));

    for (int perm = 0; perm < 4; ++perm) {
      std::shuffle(rules.begin(), rules.end(), gen.rng());
      auto shuffled = testing::MustCompile(Assemble(rules, defaults));
      ASSERT_TRUE(shuffled);
      ASSERT_EQ(shuffled->hash(), original->hash()) << "seed " << seed;
      for (const auto& job : jobs) {
        const v1::Decision a = original->Decide(job);
        const v1::Decision b = shuffled->Decide(job);
        ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a, b))
            << "seed " << seed << " job " << job.ShortDebugString() << "\n"
            << a.ShortDebugString() << "\nvs\n"
            << b.ShortDebugString();
      }
    }
  }
}

TEST(PropertyTest, IndexFindsExactlyWhatBruteForceFinds) {
  for (uint32_t seed = 100; seed <= 160; ++seed) {
    Generator gen(seed);
    std::vector<std::string> rules;
    const int n = gen.Int(1, 200);
    for (int i = 0; i < n; ++i) rules.push_back(gen.Rule(i));
    auto p = testing::MustCompile(Assemble(rules, "deny"));
    ASSERT_TRUE(p);
    Evaluation eval;
    for (int j = 0; j < 100; ++j) {
      const v1::Job job = testing::Job(gen.JobYaml());
      p->Evaluate(job, &eval);
      std::vector<uint32_t> indexed = eval.matched;
      std::sort(indexed.begin(), indexed.end());
      std::vector<uint32_t> brute;
      for (uint32_t r = 0; r < p->rule_count(); ++r) {
        if (p->RuleMatches(r, job)) brute.push_back(r);
      }
      ASSERT_EQ(indexed, brute) << "seed " << seed << " job " << job.ShortDebugString();
      // And the verdict is the strictest of the matched rules.
      v1::Verdict strictest = v1::VERDICT_UNSPECIFIED;
      for (uint32_t r : brute) strictest = std::max(strictest, p->rule_decision(r));
      EXPECT_EQ(eval.verdict, brute.empty() ? v1::DENY : strictest);
    }
  }
}

}  // namespace
}  // namespace jobgate::policy
