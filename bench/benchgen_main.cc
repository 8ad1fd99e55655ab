// jobgate_benchgen: writes the benchmark policy and jobs (bench/benchgen.h) for bench/run.
//
//   jobgate_benchgen --rules N --out DIR [--jobs 100]
//       DIR/policy-N.yaml   the jobgate policy
//       DIR/policy-N.cedar  the same rules as Cedar policies
//       DIR/jobs-N.jsonl    the job set, one jobgate JSON job a line
//       DIR/expected-N.json jobgate's verdict for every job and whether it dispatches
//   jobgate_benchgen --rules N --rss
//       compiles the policy in this process and prints "rss_before_kb", "rss_after_kb",
//       "rss_trimmed_kb" (after malloc_trim: parse scratch handed back), "heap_kb"
//       (malloc's bytes in use, policy kept alive), "peak_kb" (VmHWM) and "yaml_bytes".
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "bench/benchgen.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace {

long StatusKb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t len = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, len, key) == 0 && line.size() > len && line[len] == ':') {
      return std::atol(line.c_str() + len + 1);
    }
  }
  return -1;
}

bool Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  int rules = 1000;
  int jobs = 100;
  std::string out_dir;
  bool rss = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rules" && i + 1 < argc) {
      rules = std::atoi(argv[++i]);
    } else if (arg == "--jobs" && i + 1 < argc) {
      jobs = std::atoi(argv[++i]);
    } else if (arg == "--out" && i + 1 < argc) {
      out_dir = argv[++i];
    } else if (arg == "--rss") {
      rss = true;
    } else {
      std::fprintf(stderr, "usage: jobgate_benchgen --rules N (--out DIR [--jobs N] | --rss)\n");
      return 2;
    }
  }
  using namespace jobgate;
  if (rss) {
    std::string yaml = bench::GeneratePolicy(rules).yaml;
    const long before = StatusKb("VmRSS");
    policy::CompileResult compiled = policy::Compile(yaml);
    if (!compiled.ok()) {
      std::fprintf(stderr, "%s", compiled.ErrorText().c_str());
      return 1;
    }
    const size_t yaml_bytes = yaml.size();
    std::string().swap(yaml);
    const long after = StatusKb("VmRSS");
    malloc_trim(0);
    const struct mallinfo2 heap = mallinfo2();
    std::printf(
        "rss_before_kb %ld\nrss_after_kb %ld\nrss_trimmed_kb %ld\nheap_kb %zu\npeak_kb "
        "%ld\nyaml_bytes %zu\nrules %zu\n",
        before, after, StatusKb("VmRSS"), (heap.uordblks + heap.hblkhd) / 1024, StatusKb("VmHWM"),
        yaml_bytes, compiled.policy->rule_count());
    return 0;
  }
  if (out_dir.empty()) {
    std::fprintf(stderr, "jobgate_benchgen: --out DIR or --rss\n");
    return 2;
  }
  const bench::GeneratedPolicy generated = bench::GeneratePolicy(rules);
  policy::CompileResult compiled = policy::Compile(generated.yaml);
  if (!compiled.ok()) {
    std::fprintf(stderr, "%s", compiled.ErrorText().c_str());
    return 1;
  }
  const std::string n = std::to_string(rules);
  std::string jsonl;
  std::string expected = "{\"rules\": " + n + ", \"jobs\": [\n";
  int allowed = 0;
  const auto set = bench::JobSet(rules, jobs);
  for (size_t i = 0; i < set.size(); ++i) {
    jsonl += subjects::ToJson(set[i]) + "\n";
    const v1::Decision decision = compiled.policy->Decide(set[i]);
    const bool allow = policy::RoutesToWorker(decision.decision());  // Cedar's Allow
    allowed += allow;
    expected += std::string(i ? ",\n" : "") + "  {\"job_id\": \"" + set[i].job_id() +
                "\", \"verdict\": \"" + std::string(policy::VerdictName(decision.decision())) +
                "\", \"allow\": " + (allow ? "true" : "false") + ", \"matched_rule\": \"" +
                decision.matched_rule() + "\"}";
  }
  expected += "\n]}\n";
  if (!Write(out_dir + "/policy-" + n + ".yaml", generated.yaml) ||
      !Write(out_dir + "/policy-" + n + ".cedar", generated.cedar) ||
      !Write(out_dir + "/jobs-" + n + ".jsonl", jsonl) ||
      !Write(out_dir + "/expected-" + n + ".json", expected)) {
    std::fprintf(stderr, "jobgate_benchgen: cannot write to %s\n", out_dir.c_str());
    return 1;
  }
  std::printf("rules %d\njobs %zu\nallowed %d\n", rules, set.size(), allowed);
  return 0;
}
