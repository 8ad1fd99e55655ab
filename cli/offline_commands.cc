// The offline verbs: check, eval, test, simulate. They need no running gate: each reads
// files, uses the policy library, prints, and returns an exit code (0 ok, 1 the policy or
// a test failed, 2 usage or unreadable input).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "base/duration.h"
#include "cli/commands.h"
#include "gate/approvals/approvals.h"
#include "gate/core/decisions.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_lifecycle.h"
#include "policy/analysis/secrets.h"
#include "policy/policy.h"
#include "policy/tooling/simulate.h"
#include "policy/tooling/suite.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

namespace fs = std::filesystem;
using policy::CompileFile;
using policy::CompileResult;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A job from a file: JSON (the wire format) or YAML with the same field names.
Result<v1::Job> ReadJobFile(const std::string& path) {
  auto text = policy::ReadFile(path);
  if (!text.ok()) return text.status();
  const size_t first = text->find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (*text)[first] == '{') {
    auto job = subjects::DecodeJob(*text, subjects::BodyFormat::kJson);
    if (!job.ok()) return InvalidArgument(path + ": " + job.status().message());
    return job;
  }
  auto job = policy::JobFromYaml(*text);
  if (!job.ok()) return InvalidArgument(path + ": " + job.status().message());
  return job;
}

int RunCheck(const std::vector<std::string>& paths, bool quiet) {
  int failed = 0;
  for (const auto& path : paths) {
    CompileResult result = CompileFile(path);
    std::vector<policy::Diagnostic> errors = result.errors;
    if (result.ok()) {
      auto example_errors = result.policy->CheckExamples();
      errors.insert(errors.end(), example_errors.begin(), example_errors.end());
    }
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    if (!errors.empty()) {
      ++failed;
    } else if (!quiet) {
      std::cout << path << ": ok (" << result.policy->rule_count() << " rules, "
                << result.policy->hash() << ")\n";
    }
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

// The job_hash the gate would record for `job`: the digest of the job as judged — the
// policy's redactions applied, then every secret the detectors find scrubbed, as on
// audit.decisions (gate/core/dispatcher.cc PlanRoute).
std::string JudgedJobDigest(const policy::Policy& policy, const v1::Job& job) {
  v1::Job judged = job;
  policy::Evaluation evaluation;
  policy.Evaluate(judged, &evaluation);
  v1::Decision scratch;
  policy.Redact(evaluation, &judged, &scratch);
  if (policy::SecretScanner::Default().ContainsSecret(judged)) {
    policy::SecretScanner::Default().RedactJob(&judged, nullptr);
  }
  return JobDigest(judged);
}

int RunEval(const std::string& policy_path, const std::string& job_path,
            const std::string& session_path, bool explain) {
  CompileResult compiled = CompileFile(policy_path);
  if (!compiled.ok()) {
    std::cerr << compiled.ErrorText();
    return kExitFailed;
  }
  auto job = ReadJobFile(job_path);
  if (!job.ok()) {
    std::cerr << job.status().message() << "\n";
    return kExitUsage;
  }
  if (job->tenant_id().empty()) job->set_tenant_id("default");
  const int64_t now = NowUnixMs();
  v1::SessionState session;
  policy::SessionContext context;
  if (!session_path.empty()) {
    auto text = policy::ReadFile(session_path);
    auto read =
        text.ok() ? policy::SessionFromYaml(*text, now) : Result<v1::SessionState>(text.status());
    if (!read.ok()) {
      std::cerr << session_path << ": " << read.status().message() << "\n";
      return kExitUsage;
    }
    session = std::move(*read);
    context = policy::SessionContext{&session, now};
  }
  v1::Decision decision = compiled.policy->Decide(*job, {NewDecisionId(), now}, context);
  if (context.state != nullptr && session.status() == v1::SessionState::TERMINATED) {
    policy::DecideTerminated(session, &decision);
  }
  decision.set_job_hash(JudgedJobDigest(*compiled.policy, *job));
  std::cout << subjects::DecisionToJson(decision, /*pretty=*/true) << "\n";
  if (explain) {
    // The explanation goes to stderr so stdout stays one JSON document for tools.
    std::cerr << "\nrules considered (" << compiled.policy->rule_count() << "):\n";
    for (const auto& e : compiled.policy->Explain(*job, context)) {
      std::cerr << "  " << (e.matched ? "MATCH   " : "no match") << "  " << e.rule_id << " ("
                << policy::VerdictName(e.decision) << ", line " << e.line << ")";
      if (!e.matched) std::cerr << ": " << e.failed_condition;
      std::cerr << "\n";
    }
    if (decision.matched_rule().empty()) {
      std::cerr << "no rule matched: defaults decided " << policy::VerdictName(decision.decision())
                << "\n";
    } else {
      std::cerr << "decided by '" << decision.matched_rule() << "': the strictest decision among "
                << decision.matched_rules_size() << " matching rule(s)\n";
    }
  }
  return kExitOk;
}

// Suite files under `path`: the file itself, or every *_test.yaml below a directory.
std::vector<std::string> FindSuites(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && name.size() > 10 &&
          (name.ends_with("_test.yaml") || name.ends_with("_test.yml"))) {
        out.push_back(entry.path().string());
      }
    }
    std::sort(out.begin(), out.end());
  } else {
    out.push_back(path);
  }
  return out;
}

int RunTest(const std::vector<std::string>& paths, const std::string& junit_path, bool coverage) {
  std::vector<policy::SuiteResult> results;
  for (const auto& path : paths) {
    const auto suites = FindSuites(path);
    if (suites.empty()) std::cerr << path << ": no *_test.yaml suites found\n";
    for (const auto& suite : suites) results.push_back(policy::RunSuiteFile(suite));
  }
  int passed = 0;
  int failed = 0;
  for (const auto& r : results) {
    for (const auto& e : r.errors) std::cout << e.ToString() << "\n";
    for (const auto& c : r.cases) {
      if (c.passed) continue;
      std::cout << r.suite_path << ":" << c.line << ": FAIL " << c.name << "\n";
      for (const auto& f : c.failures) std::cout << "    " << f << "\n";
    }
    passed += r.passed();
    failed += r.failed();
  }
  if (coverage) {
    for (const auto& r : results) {
      if (!r.policy) continue;
      const auto uncovered = policy::UncoveredRules(r);
      std::cout << "coverage " << r.suite_path << " (" << r.policy_path
                << "): " << r.policy->rule_count() - uncovered.size() << "/"
                << r.policy->rule_count() << " rules matched by some case";
      if (!uncovered.empty()) {
        std::cout << "; never matched:";
        for (const auto& id : uncovered) std::cout << " " << id;
      }
      std::cout << "\n";
    }
  }
  if (!junit_path.empty()) {
    std::ofstream out(junit_path);
    out << policy::ToJUnitXml(results);
    if (!out) {
      std::cerr << "cannot write " << junit_path << "\n";
      return kExitUsage;
    }
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 && !results.empty() ? kExitOk : kExitFailed;
}

// Where simulate reads jobs from: a JSONL file, the decision records of a running
// system's AUDIT stream, or (the older source) a stream that retains raw jobs.
struct JobSource {
  std::string jobs_path;
  bool from_stream = false;
  std::string jobs_stream;  // --from-jobs-stream: raw jobs of a limits-retention stream
  std::string nats_url = "nats://127.0.0.1:4222";
  std::string stream = "AUDIT";
  std::string decisions = "audit.decisions";
  std::string window = "7d";
  size_t limit = 10000;
  // What the jobs are: the audit trail's copies are scrubbed of secrets.
  policy::JobCopies copies() const {
    return from_stream ? policy::JobCopies::kScrubbed : policy::JobCopies::kRaw;
  }
};

// Reads the jobs; reports unreadable JSONL lines on stderr. False when nothing can be read.
bool LoadJobs(const JobSource& source, std::vector<v1::Job>* jobs, int* unreadable) {
  if (source.from_stream || !source.jobs_stream.empty()) {
    std::optional<int64_t> window_ms =
        jobgate::ParseDurationMillis(std::string_view(source.window));
    if (!window_ms) {
      std::cerr << "--window: expected a duration such as 24h or 7d (0: any age)\n";
      return false;
    }
    NatsConnectOptions options;
    options.servers = {source.nats_url};
    auto connection = NatsConnection::Connect(options, /*wait=*/true);
    if (!connection.ok()) {
      std::cerr << connection.status().message() << "\n";
      return false;
    }
    std::unique_ptr<RecentJobs> recent;
    if (source.from_stream) {
      RecentJobsOptions read;
      read.stream = source.stream;
      read.decisions = source.decisions;
      read.window = std::chrono::milliseconds(*window_ms);
      recent = std::make_unique<NatsRecentJobs>(connection->get(), std::move(read));
    } else {
      recent = std::make_unique<NatsStreamJobs>(connection->get(), source.jobs_stream);
    }
    auto fetched = recent->Fetch(source.limit);
    if (!fetched.ok()) {
      std::cerr << fetched.status().message() << "\n";
      return false;
    }
    if (fetched->empty() && source.from_stream) {
      std::cerr << "no decision records on " << source.decisions << ".> in " << source.stream
                << " within " << source.window
                << " (raw jobs retained in a stream are read with --from-jobs-stream NAME)\n";
    }
    *jobs = std::move(*fetched);
    return true;
  }
  std::ifstream in(source.jobs_path);
  if (!in) {
    std::cerr << "cannot read '" << source.jobs_path << "'\n";
    return false;
  }
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto job = subjects::DecodeJob(line, subjects::BodyFormat::kJson);
    if (!job.ok()) {
      if (++*unreadable <= 5) {
        std::cerr << source.jobs_path << ":" << line_no << ": " << job.status().message() << "\n";
      }
      continue;
    }
    jobs->push_back(std::move(*job));
  }
  return true;
}

int RunSimulate(const std::string& policy_path, const std::string& baseline_path,
                const JobSource& source, bool json, bool fail_on_loosening) {
  CompileResult candidate = CompileFile(policy_path);
  if (!candidate.ok()) {
    std::cerr << candidate.ErrorText();
    return kExitFailed;
  }
  CompileResult baseline;
  if (!baseline_path.empty()) {
    baseline = CompileFile(baseline_path);
    if (!baseline.ok()) {
      std::cerr << baseline.ErrorText();
      return kExitFailed;
    }
  }
  std::vector<v1::Job> jobs;
  int unreadable = 0;
  if (!LoadJobs(source, &jobs, &unreadable)) return kExitUsage;
  policy::Simulator simulator(candidate.policy.get(),
                              baseline.ok() ? baseline.policy.get() : nullptr, source.copies());
  const auto start = std::chrono::steady_clock::now();
  for (const auto& job : jobs) simulator.Add(job);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& report = simulator.report();
  const int evaluations = static_cast<int>(jobs.size()) * (baseline.ok() ? 2 : 1);
  const double per_second = seconds > 0 ? evaluations / seconds : 0;

  if (json) {
    jobgate::JsonValue out = report.ToJson();
    out["unreadable_lines"] = jobgate::JsonValue(unreadable);
    out["candidate"] = jobgate::JsonValue(candidate.policy->hash());
    if (baseline.ok()) out["baseline"] = jobgate::JsonValue(baseline.policy->hash());
    out["evaluations_per_second"] = jobgate::JsonValue(per_second);
    std::cout << out.Dump(2) << "\n";
  } else {
    std::cout << report.ToText();
    if (unreadable > 0) std::cout << "\n" << unreadable << " unreadable line(s) skipped\n";
    std::printf("\n%d evaluations in %.3f s: %.0f decisions/s (%.2f us each)\n", evaluations,
                seconds, per_second, evaluations > 0 ? seconds * 1e6 / evaluations : 0.0);
  }
  if (fail_on_loosening && report.loosened() > 0) return kExitFailed;
  return kExitOk;
}

// `jobgate check`: validate policy files and their rules' examples.
void AddCheckCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("check", "Validate policy files and the examples in their rules");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("POLICY", *paths, "Policy files")->required();
  cmd->add_flag("-q,--quiet", *quiet, "Print only errors");
  cmd->callback([=] { *exit_code = RunCheck(*paths, *quiet); });
}

// `jobgate eval`: one job's decision.
void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("eval", "Evaluate one job and print the decision JSON");
  auto policy_path = std::make_shared<std::string>();
  auto job_path = std::make_shared<std::string>();
  auto explain = std::make_shared<bool>(false);
  auto session_path = std::make_shared<std::string>();
  cmd->add_option("--policy", *policy_path, "Policy file")->required();
  cmd->add_option("--job", *job_path, "Job file (JSON, or YAML with the same fields)")->required();
  cmd->add_option("--session", *session_path,
                  "The job's session history (YAML or JSON: terminated, events; see "
                  "docs/policy.md, Sessions)");
  cmd->add_flag("--explain", *explain,
                "Also show, on stderr, each rule and why it did or did not match");
  cmd->callback([=] { *exit_code = RunEval(*policy_path, *job_path, *session_path, *explain); });
}

// `jobgate test`: policy test suites.
void AddTestCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("test", "Run policy test suites (*_test.yaml)");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto junit = std::make_shared<std::string>();
  auto coverage = std::make_shared<bool>(false);
  cmd->add_option("PATH", *paths, "Suite files or directories to search")->required();
  cmd->add_option("--junit", *junit, "Write JUnit XML to this file");
  cmd->add_flag("--coverage", *coverage, "List rules that no case matched");
  cmd->callback([=] { *exit_code = RunTest(*paths, *junit, *coverage); });
}

// `jobgate simulate`: a policy over recorded jobs, against a baseline.
void AddSimulateCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "simulate", "Decision mix of a policy over recorded jobs, and flips against a baseline");
  auto policy_path = std::make_shared<std::string>();
  auto baseline_path = std::make_shared<std::string>();
  auto source = std::make_shared<JobSource>();
  auto json = std::make_shared<bool>(false);
  auto fail_on_loosening = std::make_shared<bool>(false);
  cmd->add_option("--policy", *policy_path, "Candidate policy")->required();
  cmd->add_option("--baseline", *baseline_path, "Policy to compare against");
  auto* jobs_option =
      cmd->add_option("--jobs", source->jobs_path, "Jobs, one JSON object per line");
  auto* stream_flag =
      cmd->add_flag("--from-stream", source->from_stream,
                    "Read the jobs a running system judged, from its decision records");
  auto* jobs_stream_option = cmd->add_option(
      "--from-jobs-stream", source->jobs_stream,
      "Read the raw jobs retained in this stream (limits retention, e.g. a JOBS not yet "
      "moved to a work queue)");
  jobs_option->excludes(stream_flag);
  jobs_option->excludes(jobs_stream_option);
  stream_flag->excludes(jobs_stream_option);
  cmd->add_option("--nats", source->nats_url,
                  "NATS server for --from-stream and --from-jobs-stream");
  cmd->add_option("--stream", source->stream, "Stream of the decision records (AUDIT)")
      ->needs(stream_flag);
  cmd->add_option("--decisions", source->decisions,
                  "Subject prefix of the decision records (audit.decisions)")
      ->needs(stream_flag);
  cmd->add_option("--window", source->window, "Only jobs judged within this long (7d; 0: any age)")
      ->needs(stream_flag);
  cmd->add_option("--limit", source->limit, "Most recent jobs to read from a stream");
  cmd->add_flag("--json", *json, "Print the report as JSON");
  cmd->add_flag("--fail-on-loosening", *fail_on_loosening,
                "Exit 1 when any decision flips toward a less strict one");
  cmd->callback([=] {
    if (source->jobs_path.empty() && !source->from_stream && source->jobs_stream.empty()) {
      std::cerr << "simulate needs --jobs FILE, --from-stream or --from-jobs-stream NAME\n";
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = RunSimulate(*policy_path, *baseline_path, *source, *json, *fail_on_loosening);
  });
}

}  // namespace

void AddOfflineCommands(CLI::App& app, int* exit_code) {
  AddCheckCommand(app, exit_code);
  AddEvalCommand(app, exit_code);
  AddTestCommand(app, exit_code);
  AddSimulateCommand(app, exit_code);
}

}  // namespace jobgate::gate
