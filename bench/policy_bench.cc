// Evaluation cost against generated policies of 10 to 10,000 rules (bench/benchgen.h
// describes the policy and jobs; bench/run runs these and the Cedar comparison).
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "bench/benchgen.h"
#include "policy/analysis/command.h"
#include "policy/analysis/command_effects.h"
#include "policy/policy.h"
#include "policy/analysis/secrets.h"
#include "subjects/codec.h"

namespace jobgate::policy {
namespace {

std::string GeneratePolicy(int rules) { return bench::GeneratePolicy(rules).yaml; }
v1::Job RealisticJob(int rules) { return bench::RealisticJob(rules); }

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

// Evaluate() over the benchmark job set, one job per iteration in turn: the figure set
// beside Cedar's (bench/cedar/bench.mjs times the same jobs on the same policy).
void BM_EvaluateJobSet(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  auto policy = CompileOrDie(GeneratePolicy(rules));
  const std::vector<v1::Job> jobs = bench::JobSet(rules);
  Evaluation eval;
  for (const auto& job : jobs) policy->Evaluate(job, &eval);
  size_t i = 0;
  for (auto _ : state) {
    policy->Evaluate(jobs[i], &eval);
    benchmark::DoNotOptimize(eval.verdict);
    if (++i == jobs.size()) i = 0;
  }
  state.counters["decisions/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EvaluateJobSet)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// The same with each job read from its JSON text first, as Cedar's figure includes
// turning the request into Cedar values.
void BM_JsonEvaluateJobSet(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  auto policy = CompileOrDie(GeneratePolicy(rules));
  std::vector<std::string> texts;
  for (const auto& job : bench::JobSet(rules)) texts.push_back(subjects::ToJson(job));
  Evaluation eval;
  v1::Job job;
  size_t i = 0;
  for (auto _ : state) {
    job.Clear();
    if (!subjects::FromJson(texts[i], &job).ok()) state.SkipWithError("bad job JSON");
    policy->Evaluate(job, &eval);
    benchmark::DoNotOptimize(eval.verdict);
    if (++i == texts.size()) i = 0;
  }
}
BENCHMARK(BM_JsonEvaluateJobSet)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// Cost growth with job size: Evaluate() at 1,000 rules plus the secret scan every job
// gets, for the realistic job padded to 256 B .. 64 KiB.
void BM_EvaluateScanBySize(benchmark::State& state) {
  auto policy = CompileOrDie(GeneratePolicy(1000));
  const v1::Job job = bench::SizedJob(1000, static_cast<size_t>(state.range(0)));
  const SecretScanner& scanner = SecretScanner::Default();
  Evaluation eval;
  for (auto _ : state) {
    policy->Evaluate(job, &eval);
    benchmark::DoNotOptimize(eval.verdict);
    benchmark::DoNotOptimize(scanner.DetectorsIn(job));
  }
  state.counters["job_bytes"] = static_cast<double>(job.ByteSizeLong());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(job.ByteSizeLong()));
}
BENCHMARK(BM_EvaluateScanBySize)->Arg(256)->Arg(1024)->Arg(4096)->Arg(16384)->Arg(65536);

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

// Command analysis and effects (policy/analysis/command_effects.h) of a typical 100-byte agent
// command line: parse, unwrap, normalize, then classify every effect against a workspace.
constexpr const char* kTypicalCommand =
    "cd src && grep -rn \"TODO\" --include='*.ts' . | head -20 && npm run lint -- --fix > lint.log 2>&1";
void BM_CommandEffects(benchmark::State& state) {
  const std::string line = kTypicalCommand;
  for (auto _ : state) {
    CommandAnalysis a = AnalyzeCommandLine(line);
    benchmark::DoNotOptimize(CommandEffectsOf(a, "/home/dev/proj"));
  }
  state.SetLabel(std::to_string(line.size()) + " bytes");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_CommandEffects);

// Hostile lines stay linear: `x=$y; rm -rf "$x"/a | ...` repeated up to `bytes`.
void BM_CommandEffectsHostile(benchmark::State& state) {
  std::string line;
  while (line.size() < static_cast<size_t>(state.range(0))) {
    line += "x=$y; p=rm; $p -rf \"$x\"/a' b'\\ c | python3 -c 'import os' && ";
  }
  line += "true";
  for (auto _ : state) {
    CommandAnalysis a = AnalyzeCommandLine(line);
    benchmark::DoNotOptimize(CommandEffectsOf(a, "/w"));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_CommandEffectsHostile)->Arg(1024)->Arg(8192)->Arg(65000);

}  // namespace
}  // namespace jobgate::policy

BENCHMARK_MAIN();
