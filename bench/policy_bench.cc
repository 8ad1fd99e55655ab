// Evaluation cost against generated policies of 10 to 10,000 rules.
//
// The generator mimics a large organisation's policy: most rules are scoped to a
// service's topics (`job.svc<k>.<verb>.*`), some to a capability or a risk tag, and a
// fixed handful are broad guards that every job must be checked against (deny
// destructive, regex on SQL, ...). Broad rules stay at 5 whatever the size: they are
// the rules no index can skip, and real policies keep them few.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "policy/policy.h"
#include "policy/secrets.h"

namespace jobgate::policy {
namespace {

std::string GeneratePolicy(int rules, uint32_t seed = 42) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const char* verbs[] = {"read", "write", "exec", "migrate", "delete"};
  const char* decisions[] = {"allow", "allow_with_constraints", "require_approval", "deny",
                             "alert"};
  const int services = std::max(1, rules / 5);
  std::string y = "version: v1\ndefaults: {decision: deny}\nrules:\n";
  const char* broad[] = {
      "    match: {risk_tags_any: [destructive, irreversible]}\n    decision: deny\n",
      "    match: {args: {sql: {regex: '(?i)drop\\s+(table|database)'}}}\n    decision: deny\n",
      "    match: {capability: file.read, args: {path: {glob: '**/.env'}}}\n    decision: deny\n",
      "    match: {environment: {not_in: [prod, staging, dev]}}\n    decision: deny\n",
      "    match: {labels: {sandbox: {absent: true}}, risk_tags_none: [reviewed]}\n"
      "    decision: allow_with_constraints\n    constraints: {max_runtime_sec: 300}\n",
  };
  const int broad_count = std::min(rules, 5);
  for (int i = 0; i < broad_count; ++i) {
    y += "  - id: broad-" + std::to_string(i) + "\n" + broad[i];
  }
  for (int i = broad_count; i < rules; ++i) {
    y += "  - id: rule-" + std::to_string(i) + "\n    match:\n";
    const int kind = pick(100);
    if (kind < 70) {
      y += "      topics: [\"job.svc" + std::to_string(pick(services)) + "." + verbs[pick(5)] +
           ".*\"]\n";
      if (pick(2) == 0)
        y += "      environment: " + std::string(pick(2) ? "prod" : "staging") + "\n";
      if (pick(3) == 0) y += "      risk_tags: [write]\n";
    } else if (kind < 85) {
      y += "      capability: cap" + std::to_string(pick(services)) + "\n";
      if (pick(2) == 0) y += "      actor: {team: team" + std::to_string(pick(20)) + "}\n";
    } else {
      y += "      risk_tags: [tag" + std::to_string(pick(services)) + "]\n";
      if (pick(2) == 0) y += "      labels: {tier: {in: [gold, silver]}}\n";
    }
    const char* decision = decisions[pick(5)];
    y += "    decision: " + std::string(decision) + "\n";
    if (pick(3) == 0) {
      y += "    constraints: {max_runtime_sec: " + std::to_string(60 * (1 + pick(10))) +
           ", network_allowlist: [api.github.com, pypi.org]}\n";
    }
  }
  return y;
}

// A realistic job: a prod write on one service's topic, with actor, labels and args.
v1::Job RealisticJob(int rules) {
  const int services = std::max(1, rules / 5);
  auto job = JobFromYaml(
      "{job_id: job-123, tenant_id: acme, topic: job.svc" + std::to_string(7 % services) +
      ".write.update_item, capability: cap3, environment: prod, risk_tags: [write, prod, tag9],"
      " labels: {tier: gold, mcp.server: jira, sandbox: 'true'},"
      " actor: {agent_id: agent-42, session_id: s-1, owner: alice, team: team3, type: agent},"
      " args: {command: 'npm test -- --watch=false', path: /workspace/src/main.cc,"
      " sql: 'select * from items where id = 7', rows: 12}}");
  return *job;
}

std::shared_ptr<const Policy> CompileOrDie(const std::string& yaml) {
  CompileResult r = Compile(yaml);
  if (!r.ok()) {
    fprintf(stderr, "%s", r.ErrorText().c_str());
    abort();
  }
  return r.policy;
}

// Evaluate(): find every matching rule and the winning decision. The hot path.
void BM_Evaluate(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  auto policy = CompileOrDie(GeneratePolicy(rules));
  const v1::Job job = RealisticJob(rules);
  Evaluation eval;
  policy->Evaluate(job, &eval);  // warm the buffers
  for (auto _ : state) {
    policy->Evaluate(job, &eval);
    benchmark::DoNotOptimize(eval.verdict);
  }
  state.counters["matched"] = static_cast<double>(eval.matched.size());
  state.counters["decisions/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Evaluate)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// Evaluate() + FillDecision(): the full decision message (reason, merged constraints,
// matched rules, snapshot), reusing the message as the gate does.
void BM_Decide(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  auto policy = CompileOrDie(GeneratePolicy(rules));
  const v1::Job job = RealisticJob(rules);
  Evaluation eval;
  v1::Decision decision;
  const DecisionStamp stamp{"0123456789abcdef0123456789abcdef", 1'790'000'000'000};
  for (auto _ : state) {
    policy->Evaluate(job, &eval);
    policy->FillDecision(job, eval, stamp, &decision);
    benchmark::DoNotOptimize(decision);
  }
}
BENCHMARK(BM_Decide)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// The brute-force baseline the indexes replace: check every rule in order.
void BM_BruteForce(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  auto policy = CompileOrDie(GeneratePolicy(rules));
  const v1::Job job = RealisticJob(rules);
  for (auto _ : state) {
    int matched = 0;
    for (size_t i = 0; i < policy->rule_count(); ++i) matched += policy->RuleMatches(i, job);
    benchmark::DoNotOptimize(matched);
  }
}
BENCHMARK(BM_BruteForce)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_Compile(benchmark::State& state) {
  const std::string yaml = GeneratePolicy(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Compile(yaml));
  state.SetLabel(std::to_string(yaml.size() / 1024) + " KiB of YAML");
}
BENCHMARK(BM_Compile)->Arg(10)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// A job of about `bytes` of ordinary text spread over args, labels and payload.
v1::Job TextJob(size_t bytes, bool with_secret) {
  static const char* kWords[] = {"deploy", "service", "config",   "update", "ticket", "review",
                                 "merge",  "branch",  "pipeline", "status", "report", "customer"};
  std::mt19937 rng(7);
  std::string text;
  while (text.size() < bytes) {
    text += kWords[rng() % 12];
    text += (rng() % 8 == 0) ? "\n" : " ";
  }
  if (with_secret) text.replace(text.size() / 2, 40, "ghp_0123456789abcdefghijABCDEFGHIJ456789");
  v1::Job job;
  job.set_job_id("job-1");
  const size_t third = text.size() / 3;
  (*job.mutable_args()->mutable_fields())["command"].set_string_value(text.substr(0, third));
  (*job.mutable_labels())["note"] = text.substr(third, third);
  job.set_payload(text.substr(2 * third));
  return job;
}

// Scanning a job for secrets: the cost REDACT adds per job, by job size.
void BM_ScanJob(benchmark::State& state) {
  const v1::Job job = TextJob(static_cast<size_t>(state.range(0)), state.range(1) != 0);
  const SecretScanner& scanner = SecretScanner::Default();
  for (auto _ : state) benchmark::DoNotOptimize(scanner.DetectorsIn(job));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ScanJob)->ArgsProduct({{1024, 4096, 65536}, {0, 1}})->ArgNames({"bytes", "secret"});

}  // namespace
}  // namespace jobgate::policy

BENCHMARK_MAIN();
