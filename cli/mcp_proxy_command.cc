// `jobgate mcp-proxy [flags] -- COMMAND [ARGS...]`: an MCP gateway for stdio servers.
// Starts COMMAND with pipes on its stdin and stdout (stderr is shared), relays
// newline-delimited JSON-RPC both ways, and turns every tools/call from the client into
// a job (gate/agents/mcp_mapping.h) that a running gate judges before the call may reach the
// server (cli/job_submission.h publishes it and reads the gate's decision record).
//
// Fail closed: a call is forwarded only on an admitting decision (or an approval) of the
// gate; a refusal, a hold not approved within --approval-wait, NATS or the gate being
// unreachable, or no decision within --timeout all answer the client with a tool error
// (isError: true) and the call never reaches the server. Lines that are not valid
// JSON-RPC, from either side, are answered to the client with a JSON-RPC error and never
// forwarded. Every wait is bounded, so no call is left unanswered.
//
// Tool fingerprints (gate/agents/mcp_tool_store.h) live in the JetStream KV bucket --tools-bucket,
// shared by every proxy: a tool seen for the first time is recorded as accepted; a tool
// whose description, input schema or annotations differ from the accepted version raises
// an alert (an error log line, and the tagged job's record on audit.decisions) and its
// calls are judged tagged mcp-tool-changed (labels mcp.fingerprint and
// mcp.accepted_fingerprint), and held: forwarded only when the gate admits them and
// once an operator accepts the new version (`jobgate mcp tools accept`), waiting for that
// up to --approval-wait, else refused. The store unreachable: the call is refused.
//
// Threads: the main thread reads the client, one thread reads the server, and each
// tools/call is judged on a thread of its own (at most kMaxCallsInFlight at a time), so a
// held call does not stop the rest of the session. The process exits with the server's
// exit code once the server's stdout closes; SIGTERM and SIGINT are passed to the server.
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "gate/agents/claude_hook.h"
#include "cli/commands.h"
#include "gate/daemon/config.h"
#include "cli/job_submission.h"
#include "gate/agents/mcp_mapping.h"
#include "gate/agents/mcp_tool_store.h"
#include "gate/nats/nats_mcp_tools.h"
#include "gate/nats/nats_bus.h"
#include "base/hash.h"

extern char** environ;

namespace jobgate::gate {
namespace {

using Clock = std::chrono::steady_clock;

// A longer line is answered as a parse error and discarded up to its newline.
constexpr size_t kMaxLineBytes = 16 << 20;
// More tools/call in judgement at once are refused at once (a tool error).
constexpr int kMaxCallsInFlight = 64;
// How often a held call of a changed tool looks for the operator's acceptance.
constexpr auto kAcceptancePoll = std::chrono::milliseconds(200);
// The risk tag of a call of a tool that changed since it was accepted.
constexpr const char* kToolChangedTag = "mcp-tool-changed";
// A tool found matching its accepted version is not read from the store again for this
// long (a call pays no store round trip); a later acceptance of another version is seen
// within it.
constexpr auto kSameFor = std::chrono::seconds(5);
// A failed connection attempt answers the calls that follow within this long.
constexpr auto kConnectRetryAfter = std::chrono::seconds(1);

struct ProxyFlags {
  std::string nats;
  std::string creds;
  double timeout_sec = 10;
  double approval_wait_sec = 0;
  std::vector<std::string> tool_classes;
  std::string tools_bucket = kMcpToolsBucket;
  McpProxyIdentity identity;
  std::vector<std::string> command;
};

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, seconds) * 1000));
}

std::string RandomHex(size_t bytes_wanted) {
  unsigned char bytes[32];
  const size_t n = std::min(bytes_wanted, sizeof(bytes));
  if (RAND_bytes(bytes, static_cast<int>(n)) != 1) {
    return jobgate::Sha256Hex(std::to_string(Clock::now().time_since_epoch().count()) + "/" +
                             std::to_string(::getpid()))
        .substr(0, 2 * n);
  }
  std::string hex;
  jobgate::AppendHex(bytes, n, &hex);
  return hex;
}

bool WriteAll(int fd, std::string_view data) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

// Newline-delimited lines from a file descriptor, each at most kMaxLineBytes.
class LineReader {
 public:
  enum class Got { kLine, kTooLong, kEnd };
  explicit LineReader(int fd) : fd_(fd) {}

  Got Next(std::string* line) {
    while (true) {
      const size_t newline = buffer_.find('\n', scanned_);
      if (newline != std::string::npos) {
        const bool was_discarding = discarding_;
        discarding_ = false;
        line->assign(buffer_, 0, newline);
        buffer_.erase(0, newline + 1);
        scanned_ = 0;
        if (was_discarding) return Got::kTooLong;
        return Got::kLine;
      }
      scanned_ = buffer_.size();
      if (buffer_.size() > kMaxLineBytes) {  // keep nothing of it; find its end
        discarding_ = true;
        buffer_.clear();
        scanned_ = 0;
      }
      char chunk[65536];
      const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (discarding_) {
          discarding_ = false;
          return Got::kTooLong;
        }
        if (buffer_.empty()) return Got::kEnd;
        line->swap(buffer_);
        buffer_.clear();
        scanned_ = 0;
        return Got::kLine;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
  size_t scanned_ = 0;
  bool discarding_ = false;
};

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::atomic<pid_t> g_child{-1};

void ForwardSignal(int signal) {
  const pid_t child = g_child.load();
  if (child > 0) ::kill(child, signal);
}

class McpProxy {
 public:
  McpProxy(ProxyFlags flags, std::map<std::string, ToolClass> overrides)
      : flags_(std::move(flags)),
        overrides_(std::move(overrides)),
        own_id_prefix_("jobgate-mcp-proxy-" + RandomHex(8) + "-") {}

  // Starts the server and relays until it exits; never returns.
  [[noreturn]] void Run() {
    if (Status s = Spawn(); !s.ok()) {
      spdlog::error("mcp-proxy: {}", s.message());
      std::_Exit(127);
    }
    std::thread([this] { ServerLoop(); }).detach();
    ClientLoop();
    // The client closed its side. Calls still being judged are answered (or forwarded)
    // first, each within its bounded wait; then the proxy closes the server's stdin, and
    // the server's exit ends the process.
    {
      MutexLock lock(&mu_);
      while (in_flight_.load() != 0) changed_.Wait(&mu_);
    }
    {
      MutexLock lock(&server_mu_);
      ::close(server_in_);
      server_in_ = -1;
    }
    while (true) ::pause();
  }

 private:
  Status Spawn() {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      return Unavailable("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::vector<std::string> command = flags_.command;
    std::vector<char*> argv;
    for (std::string& arg : command) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    if (error != 0) {
      return Unavailable("cannot start '" + flags_.command[0] + "': " + std::strerror(error));
    }
    child_ = pid;
    g_child.store(pid);
    {
      MutexLock lock(&server_mu_);  // before any other thread runs; for the analysis
      server_in_ = in[1];
    }
    server_out_ = out[0];
    return Status::Ok();
  }

  void WriteClient(std::string_view line) {
    std::string out(line);
    out += '\n';
    MutexLock lock(&client_mu_);
    WriteAll(STDOUT_FILENO, out);
  }

  void WriteServer(std::string_view line) {
    std::string out(line);
    out += '\n';
    MutexLock lock(&server_mu_);
    if (server_in_ >= 0) WriteAll(server_in_, out);
  }

  void ClientLoop() {
    LineReader reader(STDIN_FILENO);
    std::string line;
    while (true) {
      const LineReader::Got got = reader.Next(&line);
      if (got == LineReader::Got::kEnd) return;
      if (got == LineReader::Got::kTooLong) {
        WriteClient(RpcErrorAnswer("", kRpcParseError, "Parse error: line too long"));
        continue;
      }
      if (Blank(line)) continue;
      ClientStep step = StepForClientLine(line);
      switch (step.action) {
        case ClientAction::kAnswer:
          WriteClient(step.answer);
          break;
        case ClientAction::kForward:
          NoteClientMessage(step.message);
          WriteServer(line);
          break;
        case ClientAction::kJudge:
          StartJudging(std::move(step.message), std::move(line));
          break;
      }
    }
  }

  // Remembers the ids of the client's tools/list requests, to learn from their answers.
  void NoteClientMessage(const RpcMessage& message) {
    if (message.kind != RpcKind::kRequest || message.method != "tools/list") return;
    MutexLock lock(&mu_);
    client_list_ids_.insert(message.id_json);
  }

  void ServerLoop() {
    LineReader reader(server_out_);
    std::string line;
    while (true) {
      const LineReader::Got got = reader.Next(&line);
      if (got == LineReader::Got::kEnd) break;
      if (got == LineReader::Got::kTooLong) {
        WriteClient(
            RpcErrorAnswer("", kRpcParseError, "Parse error: the server sent a line too long"));
        continue;
      }
      if (Blank(line)) continue;
      RpcParse parse = ParseRpcLine(line);
      if (!parse.ok) {
        WriteClient(RpcErrorAnswer("", parse.error.code,
                                   "the server sent an invalid message: " + parse.error.message));
        continue;
      }
      Learned learned = LearnFromServer(parse.message);
      if (!learned.next_request.empty()) {
        // Not from this thread: it must keep reading the server's stdout meanwhile.
        std::thread([this, request = std::move(learned.next_request)] {
          WriteServer(request);
        }).detach();
      }
      if (learned.own) continue;  // the proxy's own request: not for the client
      WriteClient(line);
    }
    ExitWithChild();
  }

  // What the server reader does with a message after LearnFromServer.
  struct Learned {
    bool own = false;          // it answers the proxy's own request: not for the client
    std::string next_request;  // the proxy's next tools/list page to send, or ""
  };

  // Learns tool classes and fingerprints from tools/list answers.
  Learned LearnFromServer(const RpcMessage& message) {
    Learned learned;
    MutexLock lock(&mu_);
    if (message.kind == RpcKind::kNotification &&
        message.method == "notifications/tools/list_changed") {
      listed_ = false;
      return learned;
    }
    if (message.kind != RpcKind::kResponse) return learned;
    learned.own = own_list_ids_.erase(message.id_json) > 0;
    const bool client_list = !learned.own && client_list_ids_.erase(message.id_json) > 0;
    if (!learned.own && !client_list) return learned;
    std::string cursor;
    auto result = message.object.fields().find("result");
    if (result != message.object.fields().end() &&
        result->second.kind_case() == google::protobuf::Value::kStructValue) {
      for (auto& [name, tool_class] :
           ToolClassesFromListResult(result->second.struct_value(), &cursor)) {
        classes_[name] = tool_class;
      }
      NoteFingerprints(result->second.struct_value());
    }
    if (learned.own && !cursor.empty()) {
      learned.next_request = OwnListRequest(cursor);
      return learned;
    }
    if (learned.own) listing_ = false;
    listed_ = true;
    changed_.NotifyAll();
    return learned;
  }

  // Keeps the fingerprint each tool has in the latest listing and checks them against
  // the tool store on a thread of its own (the server reader must not wait for NATS).
  void NoteFingerprints(const google::protobuf::Struct& result) REQUIRES(mu_) {
    auto listed = ToolFingerprintsFromListResult(result);
    std::map<std::string, std::pair<std::string, ToolClass>> to_check;
    for (auto& [name, fingerprint] : listed) {
      fingerprints_[name] = fingerprint;
      auto it = classes_.find(name);
      to_check[name] = {fingerprint, it == classes_.end() ? ToolClass::kDestructive : it->second};
    }
    if (to_check.empty()) return;
    std::thread([this, to_check = std::move(to_check)] {
      const auto deadline = Clock::now() + Millis(flags_.timeout_sec);
      for (const auto& [name, listed] : to_check) {
        auto check = CheckFingerprint(name, listed.first, listed.second, deadline);
        if (!check.ok()) {
          spdlog::error("mcp-proxy: cannot check tool '{}' of server '{}' against {}: {}", name,
                        flags_.identity.server_name, flags_.tools_bucket,
                        check.status().message());
          return;
        }
      }
    }).detach();
  }

  // Checks (and records) one tool's listed fingerprint in the store; logs the alert the
  // first time this proxy sees a version that differs from the accepted one.
  Result<ToolCheck> CheckFingerprint(const std::string& tool, const std::string& fingerprint,
                                     ToolClass tool_class, Clock::time_point deadline) {
    {
      MutexLock lock(&mu_);
      auto it = same_.find(tool);
      if (it != same_.end() && it->second.first == fingerprint &&
          Clock::now() - it->second.second < kSameFor) {
        ToolCheck same;
        same.state = ToolState::kSame;
        return same;
      }
    }
    auto store = Store(deadline);
    if (!store.ok()) return store.status();
    auto check = CheckTool(**store, flags_.identity.server_name, tool, fingerprint, tool_class,
                           NowMillis());
    if (!check.ok()) return check;
    MutexLock lock(&mu_);
    if (check->state != ToolState::kChanged) {
      same_[tool] = {fingerprint, Clock::now()};
      return check;
    }
    same_.erase(tool);
    if (alerted_.insert(tool + "\n" + fingerprint).second) {
      spdlog::error(
          "mcp-proxy ALERT: server '{}' changed tool '{}' (description, input schema or "
          "annotations): accepted fingerprint {}, now {}; its calls are held until an operator "
          "runs `jobgate mcp tools accept --server {} --tool {}`",
          flags_.identity.server_name, tool, check->record.fingerprint, fingerprint,
          flags_.identity.server_name, tool);
    }
    return check;
  }

  // The fingerprint of `tool` in the latest listing, or "" when it was not listed.
  std::string ListedFingerprint(const std::string& tool) {
    MutexLock lock(&mu_);
    auto it = fingerprints_.find(tool);
    return it == fingerprints_.end() ? std::string() : it->second;
  }

  // Waits until `fingerprint` is the accepted version of `tool`, or `deadline`; true when
  // it is.
  bool AwaitAcceptance(const std::string& tool, const std::string& fingerprint,
                       Clock::time_point deadline) {
    while (true) {
      auto store = Store(deadline);
      if (store.ok()) {
        auto record = (*store)->Get(flags_.identity.server_name, tool);
        if (record.ok() && record->has_value() && (*record)->fingerprint == fingerprint) {
          return true;
        }
      }
      if (Clock::now() + kAcceptancePoll > deadline) return false;
      std::this_thread::sleep_for(kAcceptancePoll);
    }
  }

  // The proxy's own tools/list request, recorded as under way. The caller writes it to
  // the server after releasing mu_ (a write can block while the server waits for its
  // stdout to be read, and the server reader needs mu_).
  std::string OwnListRequest(const std::string& cursor) REQUIRES(mu_) {
    std::string id_json = "\"" + own_id_prefix_ + std::to_string(++own_requests_) + "\"";
    own_list_ids_.insert(id_json);
    listing_ = true;
    return ToolsListRequest(id_json, cursor);
  }

  // The class of `tool`: the operator's override, else what tools/list said (asked for
  // here when nobody has asked yet), else destructive.
  ToolClass ClassOf(const std::string& tool, Clock::time_point deadline) {
    if (auto it = overrides_.find(tool); it != overrides_.end()) return it->second;
    std::string request;
    {
      MutexLock lock(&mu_);
      if (!listed_ && !listing_) request = OwnListRequest("");
    }
    if (!request.empty()) WriteServer(request);
    MutexLock lock(&mu_);
    while (!listed_ && changed_.WaitUntil(&mu_, deadline)) {
    }
    auto it = classes_.find(tool);
    return it == classes_.end() ? ToolClass::kDestructive : it->second;
  }

  // The kept NATS connection, connecting when there is none.
  Result<NatsConnection*> Connection(Clock::time_point deadline) {
    MutexLock lock(&nats_mu_);
    if (nats_ != nullptr) {
      if (nats_->connected()) return nats_.get();
      return Unavailable("the NATS connection is down");
    }
    // Callers that queued behind a failed attempt share its failure, not another wait.
    if (!last_connect_error_.ok() && Clock::now() - last_connect_failure_ < kConnectRetryAfter) {
      return last_connect_error_;
    }
    NatsConnectOptions options;
    options.servers = SplitServerList(flags_.nats);
    options.name = "jobgate-mcp-proxy";
    options.credentials_file = flags_.creds;
    options.connect_timeout =
        std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                   std::chrono::milliseconds(1), std::chrono::milliseconds(2000));
    auto connection = NatsConnection::Connect(options, /*wait=*/true);
    if (!connection.ok()) {
      last_connect_error_ = connection.status();
      last_connect_failure_ = Clock::now();
      return connection.status();
    }
    nats_ = std::move(connection).value();
    return nats_.get();
  }

  // The tool store on the kept connection, opened (and its bucket created) when first
  // needed.
  Result<McpToolStore*> Store(Clock::time_point deadline) {
    auto connection = Connection(deadline);
    if (!connection.ok()) return connection.status();
    MutexLock lock(&store_mu_);
    if (store_ == nullptr) {
      auto store = OpenNatsMcpToolStore(*connection, flags_.tools_bucket, /*create=*/true,
                                        std::chrono::milliseconds(2000));
      if (!store.ok()) return store.status();
      store_ = std::move(*store);
    }
    return store_.get();
  }

  void StartJudging(RpcMessage message, std::string line) {
    if (in_flight_.fetch_add(1) >= kMaxCallsInFlight) {
      in_flight_.fetch_sub(1);
      WriteClient(ToolErrorAnswer(message.id_json,
                                  "jobgate: too many tool calls awaiting a decision; not run"));
      return;
    }
    std::thread([this, message = std::move(message), line = std::move(line)] {
      Judge(message, line);
      MutexLock lock(&mu_);
      in_flight_.fetch_sub(1);
      changed_.NotifyAll();
    }).detach();
  }

  void Refuse(const RpcMessage& message, const std::string& why) {
    WriteClient(ToolErrorAnswer(message.id_json, why + " (the call was not run)"));
  }

  void Judge(const RpcMessage& message, const std::string& line) {
    const auto deadline = Clock::now() + Millis(flags_.timeout_sec);
    auto no_decision = [&](const std::string& what) {
      Refuse(message, "jobgate gave no decision (" + what + "); fail closed");
    };
    auto tool = ToolCallName(message);
    if (!tool.ok()) return Refuse(message, "jobgate: " + tool.status().message());
    ToolClass tool_class = ClassOf(*tool, deadline);
    // A listed tool is checked against its accepted version first; a changed one is
    // judged tagged (the gate's record of the call is the audit trail) and held below
    // until accepted, whatever the gate decides.
    const std::string fingerprint = ListedFingerprint(*tool);
    std::string accepted_fingerprint;
    bool changed = false;
    if (!fingerprint.empty()) {
      auto check = CheckFingerprint(*tool, fingerprint, tool_class, deadline);
      if (!check.ok()) {
        return no_decision("cannot check the tool's fingerprint in " + flags_.tools_bucket +
                           ": " + check.status().message());
      }
      changed = check->state == ToolState::kChanged;
      accepted_fingerprint = check->record.fingerprint;
    }
    auto job = JobFromToolCall(message, tool_class, flags_.identity, "mcp-" + RandomHex(16));
    if (!job.ok()) return Refuse(message, "jobgate: " + job.status().message());
    if (!fingerprint.empty()) (*job->mutable_labels())["mcp.fingerprint"] = fingerprint;
    if (changed) {
      job->add_risk_tags(kToolChangedTag);
      (*job->mutable_labels())["mcp.accepted_fingerprint"] = accepted_fingerprint;
    }
    if (Status s = PrepareJobForSubmit(&*job); !s.ok())
      return Refuse(message, "jobgate: " + s.message());
    auto connection = Connection(deadline);
    if (!connection.ok()) return no_decision(connection.status().message());
    SubmitOptions submit;
    submit.watch_decisions = true;
    submit.timeout =
        std::max(std::chrono::milliseconds(1),
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    auto submission = PublishJob(**connection, *job, submit);
    if (!submission.ok()) return no_decision(submission.status().message());
    auto record = NextDecisionRecord(*submission, *job, deadline);
    if (!record.ok()) {
      return no_decision(record.status().code() == StatusCode::kDeadlineExceeded
                             ? fmt::format("no decision within {:g} s", flags_.timeout_sec)
                             : record.status().message());
    }
    const v1::DecisionRecord judged = *record;  // carries the decision and the judged args
    CallVerdict verdict = VerdictForRecord(*record);
    const auto approval_deadline = Clock::now() + Millis(flags_.approval_wait_sec);
    if (verdict.outcome == CallOutcome::kHeld && flags_.approval_wait_sec > 0) {
      while (verdict.outcome == CallOutcome::kHeld) {
        auto next = NextDecisionRecord(*submission, *job, approval_deadline);
        if (!next.ok()) break;
        if (!IsUnresolvedHold(*next)) verdict = VerdictForRecord(*next);
      }
      if (verdict.outcome == CallOutcome::kHeld) {
        verdict.reason += fmt::format("; not approved within {:g} s", flags_.approval_wait_sec);
      }
    }
    if (changed && (verdict.outcome != CallOutcome::kForward ||
                    !AwaitAcceptance(*tool, fingerprint, approval_deadline))) {
      return Refuse(message,
                    "jobgate: tool '" + *tool + "' of server '" + flags_.identity.server_name +
                        "' changed its description, input schema or annotations since it was "
                        "accepted; its calls are held until an operator runs `jobgate mcp "
                        "tools accept --server " +
                        flags_.identity.server_name + " --tool " + *tool + "` (" +
                        verdict.reason + ")");
    }
    switch (verdict.outcome) {
      case CallOutcome::kForward:
        WriteServer(ForwardedCallLine(message, line, judged));
        return;
      case CallOutcome::kHeld:
        return Refuse(message, verdict.reason);
      case CallOutcome::kRefuse:
        return Refuse(message, verdict.reason);
    }
  }

  // Holds client_mu_ until the process is gone: no lock to release.
  [[noreturn]] void ExitWithChild() NO_THREAD_SAFETY_ANALYSIS {
    int status = 0;
    while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
    const int code = WIFEXITED(status)     ? WEXITSTATUS(status)
                     : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                           : 1;
    client_mu_.Lock();  // no judge writes half an answer after this
    std::_Exit(code);
  }

  const ProxyFlags flags_;
  const std::map<std::string, ToolClass> overrides_;
  const std::string own_id_prefix_;
  pid_t child_ = -1;
  int server_out_ = -1;
  Mutex client_mu_;  // serializes lines to the client
  Mutex server_mu_;  // serializes lines to the server
  int server_in_ GUARDED_BY(server_mu_) = -1;
  Mutex mu_;
  CondVar changed_;  // signalled with mu_: listed_ set, or a call finished
  std::map<std::string, ToolClass> classes_ GUARDED_BY(mu_);
  // A tools/list answer was seen since the last list_changed.
  bool listed_ GUARDED_BY(mu_) = false;
  bool listing_ GUARDED_BY(mu_) = false;  // the proxy's own tools/list is under way
  uint64_t own_requests_ GUARDED_BY(mu_) = 0;
  std::set<std::string> own_list_ids_ GUARDED_BY(mu_);
  std::set<std::string> client_list_ids_ GUARDED_BY(mu_);
  std::map<std::string, std::string> fingerprints_ GUARDED_BY(mu_);  // in the latest listing
  std::set<std::string> alerted_ GUARDED_BY(mu_);  // "tool\nfingerprint" alerts logged
  // tool -> the fingerprint last found accepted, and when
  std::map<std::string, std::pair<std::string, Clock::time_point>> same_ GUARDED_BY(mu_);
  Mutex nats_mu_;
  std::unique_ptr<NatsConnection> nats_ GUARDED_BY(nats_mu_);
  Status last_connect_error_ GUARDED_BY(nats_mu_);
  Clock::time_point last_connect_failure_ GUARDED_BY(nats_mu_);
  Mutex store_mu_;
  std::unique_ptr<McpToolStore> store_ GUARDED_BY(store_mu_);
  std::atomic<int> in_flight_{0};
};

[[noreturn]] void RunProxy(ProxyFlags flags, std::map<std::string, ToolClass> overrides) {
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction forward {};
  forward.sa_handler = ForwardSignal;
  sigemptyset(&forward.sa_mask);
  ::sigaction(SIGTERM, &forward, nullptr);
  ::sigaction(SIGINT, &forward, nullptr);
  auto logger = spdlog::stderr_color_mt("jobgate-mcp-proxy");
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(spdlog::level::err);
  // Lives until the process exits (never destroyed: its NATS connection would flush).
  auto* proxy = new McpProxy(std::move(flags), std::move(overrides));
  proxy->Run();
}

// Flags win over the environment, which wins over the defaults.
void ApplyEnvironment(ProxyFlags* flags) {
  auto fill = [](std::string* field, const char* name) {
    if (field->empty()) *field = Env(name);
  };
  fill(&flags->nats, "JOBGATE_NATS");
  fill(&flags->creds, "JOBGATE_NATS_CREDS");
  fill(&flags->identity.owner, "JOBGATE_OWNER");
  fill(&flags->identity.tenant, "JOBGATE_TENANT");
  fill(&flags->identity.environment, "JOBGATE_ENVIRONMENT");
  if (flags->nats.empty()) flags->nats = "nats://127.0.0.1:4222";
  if (flags->identity.server_name.empty()) {
    const std::string& program = flags->command.front();
    const size_t slash = program.rfind('/');
    flags->identity.server_name = slash == std::string::npos ? program : program.substr(slash + 1);
  }
}

}  // namespace

void AddMcpProxyCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ProxyFlags>();
  auto* cmd = app.add_subcommand(
      "mcp-proxy", "MCP gateway for a stdio server: every tools/call judged by the gate first");
  cmd->add_option("--nats", flags->nats,
                  "NATS server URL(s), comma-separated (env JOBGATE_NATS; default "
                  "nats://127.0.0.1:4222)");
  cmd->add_option("--creds", flags->creds, "NATS credentials file (env JOBGATE_NATS_CREDS)");
  cmd->add_option("--server-name", flags->identity.server_name,
                  "label mcp.server (default: the command's file name)");
  cmd->add_option("--environment", flags->identity.environment,
                  "job environment (env JOBGATE_ENVIRONMENT)");
  cmd->add_option("--risk-tag", flags->identity.risk_tags, "a risk tag added to every job")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--tool-class", flags->tool_classes,
                  "NAME=read|write|destructive: a tool's class, over the server's hints")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--tools-bucket", flags->tools_bucket,
                  "JetStream KV bucket of accepted tool fingerprints")
      ->capture_default_str();
  cmd->add_option("--approval-wait", flags->approval_wait_sec,
                  "Seconds to wait for an approver, or for an operator to accept a changed "
                  "tool, when a call is held (default 0)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--timeout", flags->timeout_sec,
                  "Seconds to wait for the gate's decision of a call (default 10)")
      ->check(CLI::Range(0.001, 3600.0));
  cmd->add_option("--owner", flags->identity.owner, "actor.owner (env JOBGATE_OWNER)");
  cmd->add_option("--tenant", flags->identity.tenant, "tenant_id (env JOBGATE_TENANT)");
  cmd->add_option("--agent-id", flags->identity.agent_id, "actor.agent_id (default mcp-proxy)");
  cmd->add_option("command", flags->command, "The MCP server to run, after --")->required();
  cmd->callback([flags, exit_code] {
    ApplyEnvironment(flags.get());
    auto overrides = ParseToolClassOverrides(flags->tool_classes);
    if (!overrides.ok()) {
      std::fprintf(stderr, "%s\n", overrides.status().message().c_str());
      *exit_code = 2;
      return;
    }
    RunProxy(*flags, std::move(overrides).value());
  });
}

}  // namespace jobgate::gate
