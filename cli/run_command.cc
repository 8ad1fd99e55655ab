// The online verbs: `jobgate run` (the daemon) and `jobgate submit` (publish a job and
// optionally wait for its decision).
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/job_submission.h"
#include "gate/core/dispatcher.h"
#include "gate/daemon/config.h"
#include "gate/daemon/daemon.h"
#include "gate/nats/nats_bus.h"
#include "policy/policy.h"
#include "subjects/codec.h"
#include "subjects/subjects.h"

namespace jobgate::gate {
namespace {

// Logs go to stderr: stdout is for results (submit prints the decision JSON there).
void LogToStderr() {
  auto logger = spdlog::stderr_color_mt("jobgate");
  spdlog::set_default_logger(std::move(logger));
}

struct RunFlags {
  std::string config_file;
  std::string nats;
  std::string policy;
  std::string http;
  std::string metrics;
  std::string log_level;
};

// SIGINT/SIGTERM are blocked in every thread and taken by one waiting thread, so the
// daemon's threads (and nats.c's) never run a signal handler.
class SignalWatcher {
 public:
  // Blocks the signals in the calling thread and every thread it creates afterwards.
  SignalWatcher() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }
  ~SignalWatcher() {
    if (thread_.joinable()) {
      done_.store(true);
      pthread_kill(thread_.native_handle(), SIGTERM);  // wakes sigwait
      thread_.join();
    }
  }

  // Calls `on_signal` (once) from the watcher thread when a signal arrives.
  void Start(std::function<void(int)> on_signal) {
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      int signal = 0;
      if (sigwait(&signals_, &signal) == 0 && !done_.load()) on_signal(signal);
    });
  }

 private:
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

int RunDaemon(const RunFlags& flags) {
  GateConfig config;
  if (!flags.config_file.empty()) {
    if (Status s = ApplyConfigFile(flags.config_file, &config); !s.ok()) {
      std::cerr << "jobgate run: " << s.message() << "\n";
      return 2;
    }
  }
  if (!flags.nats.empty()) config.nats.servers = SplitServerList(flags.nats);
  if (!flags.policy.empty()) config.policy_file = flags.policy;
  if (!flags.http.empty()) config.http_address = flags.http;
  if (!flags.metrics.empty()) config.metrics_address = flags.metrics;
  if (!flags.log_level.empty()) config.log_level = flags.log_level;

  LogToStderr();
  const auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    std::cerr << "jobgate run: unknown log level '" << config.log_level << "'\n";
    return 2;
  }
  spdlog::set_level(level);

  SignalWatcher signals;
  Daemon daemon(std::move(config));
  signals.Start([&daemon](int signal) {
    spdlog::info("received {}; stopping", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    daemon.RequestStop();
  });
  return daemon.Run();
}

struct SubmitFlags {
  std::string nats = "nats://127.0.0.1:4222";
  std::string file;
  std::string job_id;
  std::string topic;
  std::string tenant;
  std::string capability;
  std::string environment;
  std::vector<std::string> risk_tags;
  std::vector<std::string> labels;
  std::string agent_id;
  std::string session_id;
  std::string owner;
  std::string team;
  std::string actor_type;
  std::string args_json;
  bool json = false;
  bool wait = false;
  double timeout_sec = 10;
};

// The job `jobgate submit` sends: the --file's job, then each flag over it, checked and
// completed as a publisher should. 0, or the exit code after the error is printed.
int BuildSubmittedJob(const SubmitFlags& flags, v1::Job* job) {
  if (!flags.file.empty()) {
    auto text = policy::ReadFile(flags.file);
    if (!text.ok()) {
      std::cerr << "jobgate submit: " << text.status().message() << "\n";
      return 1;
    }
    if (Status s = subjects::FromJson(*text, job); !s.ok()) {
      std::cerr << "jobgate submit: " << flags.file << ": " << s.message() << "\n";
      return 1;
    }
  }
  if (!flags.job_id.empty()) job->set_job_id(flags.job_id);
  if (!flags.topic.empty()) job->set_topic(flags.topic);
  if (!flags.tenant.empty()) job->set_tenant_id(flags.tenant);
  if (!flags.capability.empty()) job->set_capability(flags.capability);
  if (!flags.environment.empty()) job->set_environment(flags.environment);
  for (const std::string& tag : flags.risk_tags) job->add_risk_tags(tag);
  for (const std::string& label : flags.labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos) {
      std::cerr << "jobgate submit: --label wants KEY=VALUE, got '" << label << "'\n";
      return 2;
    }
    (*job->mutable_labels())[label.substr(0, eq)] = label.substr(eq + 1);
  }
  if (!flags.agent_id.empty()) job->mutable_actor()->set_agent_id(flags.agent_id);
  if (!flags.session_id.empty()) job->mutable_actor()->set_session_id(flags.session_id);
  if (!flags.owner.empty()) job->mutable_actor()->set_owner(flags.owner);
  if (!flags.team.empty()) job->mutable_actor()->set_team(flags.team);
  if (!flags.actor_type.empty()) job->mutable_actor()->set_type(flags.actor_type);
  if (!flags.args_json.empty()) {
    if (Status s = subjects::FromJson(flags.args_json, job->mutable_args()); !s.ok()) {
      std::cerr << "jobgate submit: --args: " << s.message() << "\n";
      return 2;
    }
  }
  if (Status s = PrepareJobForSubmit(job); !s.ok()) {
    std::cerr << "jobgate submit: " << s.message()
              << (job->job_id().empty() || job->topic().empty() ? " (--job-id, --topic or --file)"
                                                                : "")
              << "\n";
    return 2;
  }
  return 0;
}

// Waits for the decision record of a submitted job until `deadline` and prints it.
int AwaitDecision(Submission& submission, const v1::Job& job, const SubmitFlags& flags,
                  std::chrono::steady_clock::time_point deadline) {
  auto record = NextDecisionRecord(submission, job, deadline);
  if (record.ok()) {
    std::cout << subjects::ToJson(record->decision(), /*pretty=*/true) << "\n";
    std::cerr << job.job_id() << ": " << policy::VerdictName(record->decision().decision())
              << " -> " << record->routed_to() << "\n";
    return 0;
  }
  if (record.status().code() != StatusCode::kDeadlineExceeded) {
    std::cerr << "jobgate submit: " << record.status().message() << "\n";
    return 1;
  }
  std::cerr << "jobgate submit: no decision for " << job.job_id() << " within " << flags.timeout_sec
            << "s (is a gate running with a policy?)\n";
  return 1;
}

int Submit(const SubmitFlags& flags) {
  v1::Job job;
  if (int code = BuildSubmittedJob(flags, &job); code != 0) return code;

  LogToStderr();
  spdlog::set_level(spdlog::level::warn);
  NatsConnectOptions options;
  options.servers = SplitServerList(flags.nats);
  options.name = "jobgate-submit";
  auto connection = NatsConnection::Connect(options, /*wait=*/true);
  if (!connection.ok()) {
    std::cerr << "jobgate submit: " << connection.status().message() << "\n";
    return 1;
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_sec * 1000));
  SubmitOptions submit_options;
  submit_options.json = flags.json;
  submit_options.watch_decisions = flags.wait;
  submit_options.timeout = std::min(timeout, std::chrono::milliseconds(10000));
  auto submission = PublishJob(**connection, job, submit_options);
  if (!submission.ok()) {
    std::cerr << "jobgate submit: " << submission.status().message() << "\n";
    return 1;
  }
  const PublishAck& ack = submission->ack;
  std::cerr << "submitted " << job.job_id() << " on " << submission->subject << " (stream "
            << ack.stream << " seq " << ack.sequence
            << (ack.duplicate ? ", duplicate: already submitted" : "") << ")\n";
  if (!flags.wait) return 0;
  return AwaitDecision(*submission, job, flags, std::chrono::steady_clock::now() + timeout);
}

}  // namespace

void AddDaemonCommands(CLI::App& app, int* exit_code) {
  auto run_flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run the dispatch gate (the daemon)");
  run->add_option("--config", run_flags->config_file, "YAML configuration file");
  run->add_option("--nats", run_flags->nats, "NATS server URL(s), comma-separated");
  run->add_option("--policy", run_flags->policy, "Policy file for the first snapshot");
  run->add_option("--http", run_flags->http, "HTTP listen address (default 127.0.0.1:8081)");
  run->add_option("--metrics", run_flags->metrics,
                  "Prometheus listen address (default 127.0.0.1:9464; 'off' disables)");
  run->add_option("--log-level", run_flags->log_level, "trace, debug, info, warn, error");
  run->callback([run_flags, exit_code] { *exit_code = RunDaemon(*run_flags); });

  auto submit_flags = std::make_shared<SubmitFlags>();
  CLI::App* submit = app.add_subcommand(
      "submit", "Publish a job to its topic and optionally wait for its decision");
  submit->add_option("--nats", submit_flags->nats, "NATS server URL(s), comma-separated")
      ->capture_default_str();
  submit->add_option("--file", submit_flags->file, "Job as JSON (snake_case field names)");
  submit->add_option("--job-id", submit_flags->job_id, "Job id (the idempotency key)");
  submit->add_option("--topic", submit_flags->topic, "Job subject, e.g. job.db.migrate");
  submit->add_option("--tenant", submit_flags->tenant, "Tenant id (default 'default')");
  submit->add_option("--capability", submit_flags->capability, "Capability");
  submit->add_option("--environment", submit_flags->environment, "Environment");
  submit->add_option("--risk-tag", submit_flags->risk_tags, "Risk tag (repeatable)");
  submit->add_option("--label", submit_flags->labels, "Label KEY=VALUE (repeatable)");
  submit->add_option("--agent-id", submit_flags->agent_id, "actor.agent_id");
  submit->add_option("--session-id", submit_flags->session_id, "actor.session_id");
  submit->add_option("--owner", submit_flags->owner, "actor.owner");
  submit->add_option("--team", submit_flags->team, "actor.team");
  submit->add_option("--actor-type", submit_flags->actor_type, "actor.type");
  submit->add_option("--args", submit_flags->args_json, "Arguments as a JSON object");
  submit->add_flag("--json", submit_flags->json, "Publish JSON instead of protobuf");
  submit->add_flag("--wait", submit_flags->wait, "Wait for the decision record and print it");
  submit->add_option("--timeout", submit_flags->timeout_sec, "Seconds to wait (default 10)");
  submit->callback([submit_flags, exit_code] { *exit_code = Submit(*submit_flags); });
}

}  // namespace jobgate::gate
