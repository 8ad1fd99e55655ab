// `jobgate hook claude-code`: Claude Code's PreToolUse hook. Reads the hook payload on
// stdin, publishes it as a job (gate/agents/claude_hook.h has the mapping), waits for the gate's
// own decision record of it (cli/job_submission.h) and prints Claude's answer.
//
// An mcp__<server>__<tool> call is judged in the class an operator gave it
// (--mcp-tool-class), else the class its record in the MCP tool store (--tools-bucket,
// written by `jobgate mcp-proxy`, gate/agents/mcp_tool_store.h) gives it, else as a write: the
// hook cannot see the server's annotations itself. When the gate's decision redacted the
// call's arguments, an allow carries the redacted input as updatedInput, or the call is
// denied when the tool's input cannot be rebuilt (claude_hook.h UpdatedInputJson).
//
// Whatever happens the process prints exactly one answer on stdout and exits 0 within
// --timeout (+ --approval-wait) and half a second: a watchdog thread answers --on-error
// if the work has not answered by then. Exit codes other than 0 and 2 let Claude run the
// tool, so the hook never returns them (only a command-line error exits 2, which blocks).
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <map>
#include <thread>
#include <vector>

#include "gate/agents/claude_hook.h"
#include "cli/commands.h"
#include "gate/daemon/config.h"
#include "cli/job_submission.h"
#include "gate/agents/mcp_tool_store.h"
#include "gate/nats/nats_mcp_tools.h"
#include "gate/nats/nats_bus.h"
#include "base/hash.h"

namespace jobgate::gate {
namespace {

using Clock = std::chrono::steady_clock;

// Claude Code sends one JSON object; a Write of a large file is the largest. More than
// this is refused rather than read without end.
constexpr size_t kMaxPayloadBytes = 16 << 20;
// The watchdog answers this long after the work's own deadline.
constexpr auto kWatchdogGrace = std::chrono::milliseconds(500);

struct HookFlags {
  std::string nats;
  std::string creds;
  double timeout_sec = 10;
  double approval_wait_sec = 0;
  std::string on_error = "deny";
  std::vector<std::string> mcp_tool_classes;  // mcp__<server>__<tool>=read|write|destructive
  std::map<std::string, ToolClass> mcp_overrides;
  std::string tools_bucket = kMcpToolsBucket;
  HookIdentity identity;
};

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, seconds) * 1000));
}

// Writes the answer and ends the process. The first caller wins; a second one (the
// watchdog racing the work) blocks on the mutex until the process is gone. The process
// ends with _Exit: the answer is out, and tearing down the NATS connection (a flush of up
// to 5 s, nats.c's threads) could only delay Claude.
[[noreturn]] void AnswerAndExit(const HookAnswer& answer) {
  static std::mutex mu;
  mu.lock();
  const std::string out = HookOutputJson(answer) + "\n";
  size_t written = 0;
  while (written < out.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + written, out.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  std::_Exit(0);
}

// Reads stdin to its end, at most kMaxPayloadBytes, until `deadline`.
Result<std::string> ReadStdin(Clock::time_point deadline) {
  std::string payload;
  char buffer[65536];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Status(StatusCode::kDeadlineExceeded, "stdin not closed in time");
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Unavailable("poll stdin failed");
    if (ready == 0) continue;
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Unavailable("read stdin failed");
    if (n == 0) return payload;
    if (payload.size() + static_cast<size_t>(n) > kMaxPayloadBytes) {
      return InvalidArgument("hook input larger than " + std::to_string(kMaxPayloadBytes) +
                             " bytes");
    }
    payload.append(buffer, static_cast<size_t>(n));
  }
}

// A job id for a payload without tool_use_id: 128 random bits from the kernel. Not
// OpenSSL's RAND_bytes: its first call sets up the library's random generator, a
// measurable share of a hook run that nearly always has a tool_use_id.
std::string RandomJobId() {
  unsigned char bytes[16];
  std::string id = "claude-";
  if (::getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
    id += jobgate::Sha256Hex(std::to_string(Clock::now().time_since_epoch().count()) + "/" +
                            std::to_string(::getpid()))
              .substr(0, 32);
    return id;
  }
  jobgate::AppendHex(bytes, sizeof(bytes), &id);
  return id;
}

// Gives an mcp__ job its tool's class: the operator's override, else the tool store's
// record (one read on `connection`), else the job stays a write.
void ClassifyMcpJob(const HookFlags& flags, NatsConnection* connection, v1::Job* job,
                    std::chrono::milliseconds timeout) {
  std::string server, tool;
  if (!McpToolOfJob(*job, &server, &tool)) return;
  if (auto it = flags.mcp_overrides.find(job->labels().at("claude.tool"));
      it != flags.mcp_overrides.end()) {
    ApplyMcpToolClass(it->second, /*changed=*/false, job);
    return;
  }
  auto store = OpenNatsMcpToolStore(connection, flags.tools_bucket, /*create=*/false, timeout);
  if (!store.ok()) return;  // no proxy recorded anything: a write
  auto record = (*store)->Get(server, tool);
  if (!record.ok() || !record->has_value()) return;
  ApplyMcpToolClass(EffectiveToolClass(**record), !(*record)->pending_fingerprint.empty(), job);
}

// The answer for the record that decided, with the redacted input when the decision
// redacted the call's arguments (a deny when that input cannot be rebuilt).
HookAnswer AnswerWithInput(const v1::DecisionRecord& answered, const v1::DecisionRecord& judged,
                           std::string_view payload) {
  HookAnswer answer = AnswerForRecord(answered);
  if (answer.permission != Permission::kAllow) return answer;
  auto updated = UpdatedInputJson(payload, judged);
  if (!updated.ok()) {
    answer.permission = Permission::kDeny;
    answer.reason = "jobgate: " + updated.status().message() + " (" + answer.reason + ")";
    return answer;
  }
  answer.updated_input_json = std::move(*updated);
  if (!answer.updated_input_json.empty()) answer.reason += "; input redacted by the gate";
  return answer;
}

// Publishes the job, waits for its record (and, held, its approval outcome) and answers.
[[noreturn]] void Judge(const HookFlags& flags, v1::Job job, std::string_view payload,
                        Permission on_error, Clock::time_point deadline) {
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  };
  NatsConnectOptions options;
  options.servers = SplitServerList(flags.nats);
  options.name = "jobgate-hook";
  options.credentials_file = flags.creds;
  options.connect_timeout = std::min(left(), std::chrono::milliseconds(2000));
  auto connection = NatsConnection::Connect(options, /*wait=*/true);
  if (!connection.ok()) AnswerAndExit(AnswerForError(on_error, connection.status().message()));
  ClassifyMcpJob(flags, connection->get(), &job, std::min(left(), std::chrono::milliseconds(2000)));

  SubmitOptions submit;
  submit.watch_decisions = true;
  submit.timeout = left();
  auto submission = PublishJob(**connection, job, submit);
  if (!submission.ok()) AnswerAndExit(AnswerForError(on_error, submission.status().message()));
  if (submission->ack.duplicate) {
    AnswerAndExit(AnswerForError(
        on_error, "job " + job.job_id() + " was already submitted (a repeated tool_use_id)"));
  }
  auto record = NextDecisionRecord(*submission, job, deadline);
  if (!record.ok()) {
    AnswerAndExit(AnswerForError(
        on_error, record.status().code() == StatusCode::kDeadlineExceeded
                      ? "no decision within " + fmt::format("{:g}", flags.timeout_sec) +
                            " s; is a gate running with a policy?"
                      : record.status().message()));
  }
  if (!IsUnresolvedHold(*record) || flags.approval_wait_sec <= 0) {
    AnswerAndExit(AnswerWithInput(*record, *record, payload));
  }
  // Held: wait for an approver's outcome on the same subject.
  const auto approval_deadline = Clock::now() + Millis(flags.approval_wait_sec);
  while (true) {
    auto next = NextDecisionRecord(*submission, job, approval_deadline);
    if (!next.ok()) break;
    if (!IsUnresolvedHold(*next)) AnswerAndExit(AnswerWithInput(*next, *record, payload));
  }
  HookAnswer answer;
  answer.permission = Permission::kDeny;
  answer.reason = "jobgate: not approved within " + fmt::format("{:g}", flags.approval_wait_sec) +
                  " s (job " + job.job_id() + " stays in the approval queue until it expires)";
  AnswerAndExit(answer);
}

[[noreturn]] void RunHook(const HookFlags& flags, Permission on_error) {
  ::signal(SIGPIPE, SIG_IGN);
  auto logger = spdlog::stderr_color_mt("jobgate-hook");
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(spdlog::level::err);

  const auto start = Clock::now();
  const auto deadline = start + Millis(flags.timeout_sec);
  const auto last_moment = deadline + Millis(flags.approval_wait_sec) + kWatchdogGrace;
  std::thread([on_error, last_moment, timeout = flags.timeout_sec] {
    std::this_thread::sleep_until(last_moment);
    AnswerAndExit(AnswerForError(
        on_error, "no answer within " + fmt::format("{:g}", timeout) + " s (watchdog)"));
  }).detach();

  auto payload = ReadStdin(deadline);
  if (!payload.ok()) AnswerAndExit(AnswerForError(on_error, payload.status().message()));
  auto job = JobFromPreToolUse(*payload, flags.identity, RandomJobId());
  if (!job.ok()) AnswerAndExit(AnswerForError(on_error, job.status().message()));
  if (Status s = PrepareJobForSubmit(&*job); !s.ok()) {
    AnswerAndExit(AnswerForError(on_error, s.message()));
  }
  Judge(flags, std::move(*job), *payload, on_error, deadline);
}

// Flags win over the environment, which wins over the defaults.
void ApplyEnvironment(HookFlags* flags) {
  auto fill = [](std::string* field, const char* name) {
    if (field->empty()) *field = Env(name);
  };
  fill(&flags->nats, "JOBGATE_NATS");
  fill(&flags->creds, "JOBGATE_NATS_CREDS");
  fill(&flags->identity.agent_id, "JOBGATE_AGENT_ID");
  fill(&flags->identity.owner, "JOBGATE_OWNER");
  fill(&flags->identity.team, "JOBGATE_TEAM");
  fill(&flags->identity.tenant, "JOBGATE_TENANT");
  fill(&flags->identity.environment, "JOBGATE_ENVIRONMENT");
  fill(&flags->identity.workspace, "CLAUDE_PROJECT_DIR");
  if (flags->nats.empty()) flags->nats = "nats://127.0.0.1:4222";
  if (flags->identity.agent_id.empty()) flags->identity.agent_id = "claude-code";
}

}  // namespace

void AddHookCommands(CLI::App& app, int* exit_code) {
  auto* hook = app.add_subcommand("hook", "Agent-platform hooks that ask the gate first");
  hook->require_subcommand(1);
  auto flags = std::make_shared<HookFlags>();
  flags->identity.agent_id.clear();
  auto* cmd = hook->add_subcommand(
      "claude-code", "Claude Code PreToolUse hook: payload on stdin, the gate's answer on stdout");
  cmd->add_option("--nats", flags->nats,
                  "NATS server URL(s), comma-separated (env JOBGATE_NATS; default "
                  "nats://127.0.0.1:4222)");
  cmd->add_option("--creds", flags->creds, "NATS credentials file (env JOBGATE_NATS_CREDS)");
  cmd->add_option("--timeout", flags->timeout_sec,
                  "Seconds to wait for the gate's decision (default 10)")
      ->check(CLI::Range(0.001, 3600.0));
  cmd->add_option("--approval-wait", flags->approval_wait_sec,
                  "Seconds to wait for an approver when held (default 0: answer ask)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--on-error", flags->on_error,
                  "Answer when the gate gives no decision: deny (default), ask, allow")
      ->check(CLI::IsMember({"deny", "ask", "allow"}));
  cmd->add_option("--agent-id", flags->identity.agent_id,
                  "actor.agent_id (env JOBGATE_AGENT_ID; default claude-code)");
  cmd->add_option("--owner", flags->identity.owner, "actor.owner (env JOBGATE_OWNER)");
  cmd->add_option("--team", flags->identity.team, "actor.team (env JOBGATE_TEAM)");
  cmd->add_option("--tenant", flags->identity.tenant, "tenant_id (env JOBGATE_TENANT)");
  cmd->add_option("--environment", flags->identity.environment,
                  "job environment (env JOBGATE_ENVIRONMENT)");
  cmd->add_option("--mcp-tool-class", flags->mcp_tool_classes,
                  "mcp__<server>__<tool>=read|write|destructive: an MCP tool's class, over the "
                  "tool store's record")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--tools-bucket", flags->tools_bucket,
                  "JetStream KV bucket where mcp-proxy records MCP tools' classes")
      ->capture_default_str();
  cmd->callback([flags, exit_code] {
    ApplyEnvironment(flags.get());
    auto overrides = ParseToolClassOverrides(flags->mcp_tool_classes);
    if (!overrides.ok()) {
      std::fprintf(stderr, "%s\n", overrides.status().message().c_str());
      *exit_code = 2;
      return;
    }
    flags->mcp_overrides = std::move(*overrides);
    auto on_error = ParsePermission(flags->on_error);
    if (!on_error.ok()) {  // CLI11 checked it already
      *exit_code = 2;
      return;
    }
    RunHook(*flags, *on_error);
  });
}

}  // namespace jobgate::gate
