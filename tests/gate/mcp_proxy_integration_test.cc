// `jobgate mcp-proxy` as an MCP client runs it (the real binary, JSON-RPC lines on its
// stdin and stdout) in front of a small stdio MCP server written for the test
// (testdata/mcp_test_server.py, which logs every tools/call it receives), against a real
// nats-server and a gate whose policy allows reads, denies destructive tools and holds
// writes. The server's log proves it never saw a refused call; a gate or NATS that is
// down, and thousands of malformed lines, are each answered within the timeout.
#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "subjects/codec.h"
#include "tests/gate/mcp_test_session.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FreePort;
using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;
using Clock = std::chrono::steady_clock;
using mcp_test::Call;
using mcp_test::IsToolError;
using mcp_test::LoggedCalls;
using mcp_test::ProxySession;

constexpr char kPolicy[] = R"(version: v1
snapshot: mcp-proxy-test
defaults:
  decision: deny
  reason: "No rule covers this job"
rules:
  - id: deny-destructive
    match:
      topics: ["job.mcp-bridge.>"]
      risk_tags: [destructive]
    decision: deny
    reason: "Destructive MCP tools are refused"
  - id: allow-mcp-reads
    match:
      topics: ["job.mcp-bridge.read.*"]
      risk_tags_none: [write, destructive]
    decision: allow
  - id: hold-mcp-writes
    match:
      topics: ["job.mcp-bridge.write.*"]
      risk_tags: [write]
    decision: require_approval
    reason: "MCP writes need a human"
    approver_role: approver
)";

class McpProxyTest : public ::testing::Test {
 protected:
  void StartGate() {
    const std::string config = dir_.WriteFile(
        "gate.yaml",
        "api:\n  tokens:\n    - {name: dana, roles: [approver, viewer], token: dana-token}\n");
    gate_ = std::make_unique<GateProcess>(
        server_.url(),
        std::vector<std::string>{"--config", config, "--policy",
                                 dir_.WriteFile("policy.yaml", kPolicy)},
        dir_);
    ASSERT_TRUE(gate_->WaitReady()) << gate_->process().Log();
  }

  std::vector<std::string> Flags(std::vector<std::string> extra = {}) const {
    std::vector<std::string> flags = {"--nats", server_.url(),   "--timeout",
                                      "20",     "--server-name", "testsrv"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
  }

  std::string Log() const { return dir_.path() + "/server-calls.jsonl"; }

  void Initialize(ProxySession& session) {
    session.Send(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    ASSERT_NE(session.AnswerTo("0"), "");
    session.Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  }

  NatsServer server_;
  TempDir dir_;
  std::unique_ptr<GateProcess> gate_;
};

TEST_F(McpProxyTest, OnlyAllowedCallsReachTheServer) {
  StartGate();
  ProxySession session(Flags(), Log());
  Initialize(session);
  session.Send(R"({"jsonrpc":"2.0","id":"list","method":"tools/list"})");
  ASSERT_NE(session.AnswerTo("\"list\"").find("read_file"), std::string::npos);

  session.Send(Call(1, "read_file", R"({"path":"/etc/hosts"})"));
  const std::string read = session.AnswerTo("1");
  EXPECT_FALSE(IsToolError(read)) << read;
  EXPECT_NE(read.find("ran read_file"), std::string::npos) << read;

  session.Send(Call(2, "delete_all"));
  const std::string destructive = session.AnswerTo("2");
  EXPECT_TRUE(IsToolError(destructive)) << destructive;
  EXPECT_NE(destructive.find("deny-destructive"), std::string::npos) << destructive;

  session.Send(Call(3, "write_note", R"({"text":"hi"})"));
  const std::string held = session.AnswerTo("3");
  EXPECT_TRUE(IsToolError(held)) << held;
  EXPECT_NE(held.find("held for approval"), std::string::npos) << held;

  // No annotations: the specification's defaults make it a destructive write.
  session.Send(Call(4, "plain"));
  const std::string plain = session.AnswerTo("4");
  EXPECT_TRUE(IsToolError(plain)) << plain;
  EXPECT_NE(plain.find("deny-destructive"), std::string::npos) << plain;

  // A tool the server never listed is destructive too.
  session.Send(Call(5, "unknown_tool"));
  EXPECT_TRUE(IsToolError(session.AnswerTo("5")));

  // The server answering with a line that is not JSON: the client gets a parse error.
  session.Send(Call(6, "garbage"));
  const std::string garbage = session.ReadLine();
  EXPECT_NE(garbage.find("-32700"), std::string::npos) << garbage;

  EXPECT_EQ(session.CloseAndWait(), 3);  // the server's own exit code
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"read_file", "garbage"}));
  JetStreamClient client(server_.url());
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.mcp-bridge.>"), 6);
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.mcp-bridge.read.>"), 2);
}

TEST_F(McpProxyTest, AsksForToolsListWhenTheClientDidNot) {
  StartGate();
  ProxySession session(Flags(), Log());
  Initialize(session);
  // No tools/list from the client: the proxy asks, learns read_file is read-only, and
  // its own request's answer never reaches the client.
  session.Send(Call(1, "read_file"));
  const std::string read = session.ReadLine();
  EXPECT_NE(read.find("ran read_file"), std::string::npos) << read;
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"read_file"}));
}

TEST_F(McpProxyTest, AToolThatChangesIsRefusedForTheSession) {
  StartGate();
  ProxySession session(Flags(), Log());
  Initialize(session);
  session.Send(R"({"jsonrpc":"2.0","id":"l1","method":"tools/list"})");
  ASSERT_NE(session.AnswerTo("\"l1\"").find("Version 1"), std::string::npos);
  session.Send(Call(1, "shapeshifter"));
  EXPECT_FALSE(IsToolError(session.AnswerTo("1")));
  session.Send(R"({"jsonrpc":"2.0","id":"l2","method":"tools/list"})");
  ASSERT_NE(session.AnswerTo("\"l2\"").find("Version 2"), std::string::npos);
  session.Send(Call(2, "shapeshifter"));
  const std::string changed = session.AnswerTo("2");
  EXPECT_TRUE(IsToolError(changed)) << changed;
  EXPECT_NE(changed.find("changed its description"), std::string::npos) << changed;
  session.Send(Call(3, "read_file"));  // unchanged tools still work
  EXPECT_FALSE(IsToolError(session.AnswerTo("3")));
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"shapeshifter", "read_file"}));
  JetStreamClient client(server_.url());
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.mcp-bridge.read.shapeshifter"), 2);
}

TEST_F(McpProxyTest, TheOperatorsClassWinsOverTheHints) {
  StartGate();
  ProxySession session(
      Flags({"--tool-class", "delete_all=read", "--tool-class", "read_file=destructive"}), Log());
  Initialize(session);
  session.Send(Call(1, "delete_all"));
  EXPECT_FALSE(IsToolError(session.AnswerTo("1")));
  session.Send(Call(2, "read_file"));
  EXPECT_TRUE(IsToolError(session.AnswerTo("2")));
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"delete_all"}));
}

TEST_F(McpProxyTest, HeldCallIsForwardedOnceApproved) {
  StartGate();
  ProxySession session(Flags({"--approval-wait", "60"}), Log());
  Initialize(session);
  session.Send(Call(1, "write_note", R"({"text":"hi"})"));
  JetStreamClient client(server_.url());
  ASSERT_TRUE(WaitFor([&] {
    return client.Count("APPROVALS", "approval.requests.mcp-bridge.write.write_note") == 1;
  }));
  EXPECT_TRUE(LoggedCalls(Log()).empty());  // held: not forwarded yet
  httplib::Client http("127.0.0.1", gate_->http_port());
  http.set_read_timeout(30);
  const httplib::Headers auth = {{"Authorization", "Bearer dana-token"}};
  auto list = http.Get("/api/v1/approvals", auth);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200) << list->body;
  const size_t at = list->body.find("mcp-");
  ASSERT_NE(at, std::string::npos) << list->body;
  const std::string job_id = list->body.substr(at, 4 + 32);
  auto approved = http.Post("/api/v1/approvals/" + job_id + "/approve", auth,
                            R"({"reason": "fine"})", "application/json");
  ASSERT_TRUE(approved);
  ASSERT_EQ(approved->status, 200) << approved->body;
  const std::string answer = session.AnswerTo("1");
  EXPECT_NE(answer.find("ran write_note"), std::string::npos) << answer;
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"write_note"}));
}

TEST_F(McpProxyTest, HeldCallNotApprovedInTimeIsAToolError) {
  StartGate();
  ProxySession session(Flags({"--approval-wait", "1"}), Log());
  Initialize(session);
  session.Send(Call(1, "write_note"));
  const std::string answer = session.AnswerTo("1");
  EXPECT_TRUE(IsToolError(answer)) << answer;
  EXPECT_NE(answer.find("not approved within 1 s"), std::string::npos) << answer;
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_TRUE(LoggedCalls(Log()).empty());
}

TEST_F(McpProxyTest, TheServersExitEndsTheProxyWithItsCode) {
  StartGate();
  ProxySession session(Flags(), Log());
  Initialize(session);
  session.Send(Call(1, "exit_now"));
  EXPECT_EQ(session.WaitExit(), 5);  // stdin still open: the server's exit alone ends it
}

TEST_F(McpProxyTest, ABadToolClassIsACommandLineError) {
  ProxySession session({"--nats", server_.url(), "--tool-class", "x=sometimes"}, Log());
  EXPECT_EQ(session.WaitExit(), 2);
}

TEST_F(McpProxyTest, GateDownIsAToolErrorWithinTheTimeout) {
  // The gate ran (its streams exist) and stopped: the job is stored, nobody decides.
  StartGate();
  gate_->process().Signal(SIGTERM);
  ASSERT_GE(gate_->process().Wait(), 0);
  ProxySession session({"--nats", server_.url(), "--timeout", "2", "--server-name", "testsrv"},
                       Log());
  Initialize(session);
  const auto start = Clock::now();
  session.Send(Call(1, "read_file"));
  const std::string answer = session.AnswerTo("1");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_TRUE(IsToolError(answer)) << answer;
  EXPECT_NE(answer.find("no decision within 2 s"), std::string::npos) << answer;
  EXPECT_LT(seconds, 10.0);
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_TRUE(LoggedCalls(Log()).empty());
}

TEST_F(McpProxyTest, NatsDownIsAToolErrorAtOnce) {
  ProxySession session({"--nats", "nats://127.0.0.1:" + std::to_string(FreePort()), "--timeout",
                        "5", "--server-name", "testsrv"},
                       Log());
  Initialize(session);
  const auto start = Clock::now();
  session.Send(Call(1, "read_file"));
  const std::string answer = session.AnswerTo("1");
  EXPECT_TRUE(IsToolError(answer)) << answer;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.5);
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_TRUE(LoggedCalls(Log()).empty());
}

// Lines that are never a valid JSON-RPC message: prefixes of a call (a JSON object cut
// short is never JSON), random bytes, invalid UTF-8 and duplicate keys inside a call.
std::vector<std::string> MalformedLines(size_t count) {
  std::mt19937 random(25);
  const std::string call = Call(77, "delete_all", R"({"path":"/","force":true})");
  std::vector<std::string> lines;
  while (lines.size() < count) {
    std::string line;
    switch (random() % 4) {
      case 0:
        line = call.substr(0, 1 + random() % (call.size() - 1));
        break;
      case 1:
        line = "{";
        for (int i = random() % 40; i > 0; --i) line += static_cast<char>(random() % 256);
        break;
      case 2: {
        line = call;
        line.insert(1 + random() % (call.size() - 2), "\xff");
        break;
      }
      default:
        line =
            R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"read_file","name":"delete_all"}})";
        break;
    }
    // One line each: newlines inside would split it.
    for (char& c : line) {
      if (c == '\n') c = ' ';
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    lines.push_back(line);
  }
  return lines;
}

TEST_F(McpProxyTest, MalformedLinesAreAnsweredAndNeverForwarded) {
  StartGate();
  ProxySession session(Flags(), Log());
  Initialize(session);
  const std::vector<std::string> lines = MalformedLines(2000);
  int answered = 0;
  for (const std::string& line : lines) {
    session.Send(line);
    const std::string answer = session.ReadLine();
    if (answer.find("\"error\":{\"code\":-32") != std::string::npos)
      ++answered;
    else
      ADD_FAILURE() << "line: " << line << "\nanswer: " << answer;
  }
  EXPECT_EQ(answered, static_cast<int>(lines.size()));
  // Still serving.
  session.Send(Call(1, "read_file"));
  EXPECT_NE(session.AnswerTo("1").find("ran read_file"), std::string::npos);
  EXPECT_EQ(session.CloseAndWait(), 3);
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"read_file"}));
}

}  // namespace
}  // namespace jobgate::gate
