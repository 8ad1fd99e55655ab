// The MCP tool store against a real nats-server and gate: a proxy records each tool's
// fingerprint in JetStream KV; a proxy started later in front of the same server name
// whose read_file changed (the test server's version argument) holds that tool's calls
// (the server's log proves they never arrive) until `jobgate mcp tools accept`; the
// Claude Code hook judges a read-only tool of a server a proxy saw as a read; and a
// call the gate redacts reaches the server redacted.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "subjects/codec.h"
#include "tests/gate/mcp_test_session.h"
#include "tests/support/nats_server.h"
#include "tests/support/piped_child.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;
using mcp_test::Call;
using mcp_test::IsToolError;
using mcp_test::LoggedCalls;
using mcp_test::ProxySession;

constexpr char kPolicy[] = R"(version: v1
snapshot: mcp-tools-test
defaults:
  decision: deny
  reason: "No rule covers this job"
rules:
  - id: redact-echo
    match:
      topics: ["job.mcp-bridge.read.echo_args"]
    decision: redact
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

// A 40-byte GitHub token shape the secret scanner detects.
constexpr char kToken[] = "ghp_Zq8LwX3vR7nT2mK9pB4sY6dF1hJ5gC0aE8uQ";

using ProcessRun = ::jobgate::testing::ChildRun;

// Runs the jobgate binary with `args`, `input` on its stdin, and reads its stdout.
ProcessRun RunJobgate(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), JOBGATE_BINARY);
  return ::jobgate::testing::RunWithInput(std::move(args), input);
}

class McpToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
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

  std::string Log(const std::string& name) const { return dir_.path() + "/" + name + ".jsonl"; }

  static void Initialize(ProxySession& session) {
    session.Send(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    ASSERT_NE(session.AnswerTo("0"), "");
    session.Send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    session.Send(R"({"jsonrpc":"2.0","id":"list","method":"tools/list"})");
    ASSERT_NE(session.AnswerTo("\"list\""), "");
  }

  // `jobgate mcp tools list --json` for testsrv.
  std::string ToolsJson() const {
    return RunJobgate(
               {"mcp", "tools", "list", "--json", "--server", "testsrv", "--nats", server_.url()})
        .out;
  }

  int Accept(const std::string& tool) const {
    return RunJobgate({"mcp", "tools", "accept", "--server", "testsrv", "--tool", tool, "--by",
                       "dana", "--nats", server_.url()})
        .exit_code;
  }

  std::string Hook(const std::string& tool, const std::string& id,
                   std::vector<std::string> extra = {}) const {
    const std::string payload = R"({"session_id":"s1","cwd":"/w","hook_event_name":"PreToolUse",)"
                                R"("tool_name":")" +
                                tool + R"(","tool_input":{"path":"a"},"tool_use_id":")" + id +
                                R"("})";
    std::vector<std::string> args = {"hook",        "claude-code", "--nats",
                                     server_.url(), "--timeout",   "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    google::protobuf::Struct out;
    const ProcessRun run = RunJobgate(args, payload);
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_TRUE(subjects::FromJson(run.out, &out).ok()) << run.out;
    return out.fields()
        .at("hookSpecificOutput")
        .struct_value()
        .fields()
        .at("permissionDecision")
        .string_value();
  }

  NatsServer server_;
  TempDir dir_;
  std::unique_ptr<GateProcess> gate_;
};

TEST_F(McpToolsTest, AChangedToolIsHeldAcrossRestartsUntilAccepted) {
  {
    ProxySession first(Flags(), Log("v1"));
    Initialize(first);
    first.Send(Call(1, "read_file"));
    EXPECT_NE(first.AnswerTo("1").find("ran read_file"), std::string::npos);
    EXPECT_EQ(first.CloseAndWait(), 3);
  }
  ASSERT_TRUE(WaitFor([&] { return ToolsJson().find("\"read_file\"") != std::string::npos; }))
      << ToolsJson();
  const std::string recorded = ToolsJson();
  EXPECT_NE(recorded.find(R"("class":"read")"), std::string::npos) << recorded;
  EXPECT_EQ(recorded.find("pending_fingerprint"), std::string::npos) << recorded;

  // Restarted in front of version 2 of the server: read_file's description changed.
  ProxySession second(Flags(), Log("v2"), {"2"});
  Initialize(second);
  second.Send(Call(2, "read_file"));
  const std::string held = second.AnswerTo("2");
  EXPECT_TRUE(IsToolError(held)) << held;
  EXPECT_NE(held.find("changed its description"), std::string::npos) << held;
  EXPECT_NE(held.find("jobgate mcp tools accept --server testsrv --tool read_file"),
            std::string::npos)
      << held;
  second.Send(Call(3, "write_note"));  // an unchanged tool is judged as before (held)
  EXPECT_NE(second.AnswerTo("3").find("held for approval"), std::string::npos);
  EXPECT_TRUE(LoggedCalls(Log("v2")).empty());
  EXPECT_NE(ToolsJson().find("pending_fingerprint"), std::string::npos);
  // The gate recorded the held call, tagged.
  JetStreamClient client(server_.url());
  bool tagged = false;
  for (const auto& message : client.ReadAll("AUDIT", "audit.decisions.mcp-bridge.read.read_file")) {
    tagged = tagged || message.data.find("mcp-tool-changed") != std::string::npos;
  }
  EXPECT_TRUE(tagged);

  EXPECT_EQ(Accept("read_file"), 0);
  EXPECT_NE(Accept("read_file"), 0);  // nothing is pending any more
  second.Send(Call(4, "read_file"));
  EXPECT_NE(second.AnswerTo("4").find("ran read_file"), std::string::npos);
  EXPECT_EQ(second.CloseAndWait(), 3);
  EXPECT_EQ(LoggedCalls(Log("v2")), (std::vector<std::string>{"read_file"}));

  // Version 3, and a proxy that waits for the operator: the call is held, then released
  // by the acceptance.
  ProxySession third(Flags({"--approval-wait", "60"}), Log("v3"), {"3"});
  Initialize(third);
  third.Send(Call(5, "read_file"));
  ASSERT_TRUE(
      WaitFor([&] { return ToolsJson().find("pending_fingerprint") != std::string::npos; }));
  EXPECT_TRUE(LoggedCalls(Log("v3")).empty());
  EXPECT_EQ(Accept("read_file"), 0);
  EXPECT_NE(third.AnswerTo("5").find("ran read_file"), std::string::npos);
  EXPECT_EQ(third.CloseAndWait(), 3);
  EXPECT_EQ(LoggedCalls(Log("v3")), (std::vector<std::string>{"read_file"}));
}

TEST_F(McpToolsTest, TheHookJudgesToolsInTheClassAProxyRecorded) {
  // Before any proxy saw the server, its tools are writes (held: ask).
  EXPECT_EQ(Hook("mcp__testsrv__read_file", "t0"), "ask");
  {
    ProxySession proxy(Flags(), Log("seen"));
    Initialize(proxy);
    // Each call records its tool before it is judged.
    proxy.Send(Call(1, "read_file"));
    EXPECT_NE(proxy.AnswerTo("1").find("ran read_file"), std::string::npos);
    proxy.Send(Call(2, "write_note"));
    EXPECT_NE(proxy.AnswerTo("2"), "");
    EXPECT_EQ(proxy.CloseAndWait(), 3);
  }
  ASSERT_TRUE(WaitFor([&] { return ToolsJson().find("\"write_note\"") != std::string::npos; }));
  JetStreamClient client(server_.url());
  const int64_t reads = client.Count("AUDIT", "audit.decisions.mcp-bridge.read.read_file");
  EXPECT_EQ(Hook("mcp__testsrv__read_file", "t1"), "allow");
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.mcp-bridge.read.read_file"), reads + 1);
  EXPECT_EQ(Hook("mcp__testsrv__write_note", "t2"), "ask");    // recorded as a write
  EXPECT_EQ(Hook("mcp__othersrv__read_file", "t3"), "ask");    // another server: unknown
  EXPECT_EQ(Hook("mcp__testsrv__never_listed", "t4"), "ask");  // unknown: a write
  EXPECT_EQ(Hook("mcp__testsrv__never_listed", "t5",
                 {"--mcp-tool-class", "mcp__testsrv__never_listed=read"}),
            "allow");  // the operator's override
  EXPECT_EQ(
      Hook("mcp__testsrv__read_file", "t6", {"--mcp-tool-class", "mcp__testsrv__read_file=write"}),
      "ask");
}

TEST_F(McpToolsTest, ARedactedCallReachesTheServerRedacted) {
  ProxySession proxy(Flags(), Log("redact"));
  Initialize(proxy);
  proxy.Send(Call(1, "echo_args", std::string(R"({"token":")") + kToken + R"(","n":2})"));
  const std::string answer = proxy.AnswerTo("1");
  EXPECT_FALSE(IsToolError(answer)) << answer;
  EXPECT_NE(answer.find("REDACTED"), std::string::npos) << answer;
  EXPECT_EQ(answer.find(kToken), std::string::npos) << answer;
  EXPECT_EQ(proxy.CloseAndWait(), 3);
  std::ifstream in(Log("redact"));
  const std::string logged((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(logged.find("echo_args"), std::string::npos) << logged;
  EXPECT_EQ(logged.find(kToken), std::string::npos) << logged;
  EXPECT_NE(logged.find("\"n\": 2"), std::string::npos) << logged;
}

TEST_F(McpToolsTest, TheHookRunsARedactedCallWithItsRedactedInput) {
  const std::string payload =
      std::string(R"({"session_id":"s1","cwd":"/w","hook_event_name":"PreToolUse",)") +
      R"("tool_name":"mcp__testsrv__echo_args","tool_input":{"token":")" + kToken +
      R"(","n":2},"tool_use_id":"r1"})";
  const ProcessRun run = RunJobgate({"hook", "claude-code", "--nats", server_.url(), "--timeout",
                                     "20", "--mcp-tool-class", "mcp__testsrv__echo_args=read"},
                                    payload);
  EXPECT_EQ(run.exit_code, 0);
  google::protobuf::Struct out;
  ASSERT_TRUE(subjects::FromJson(run.out, &out).ok()) << run.out;
  const auto& specific = out.fields().at("hookSpecificOutput").struct_value().fields();
  EXPECT_EQ(specific.at("permissionDecision").string_value(), "allow") << run.out;
  ASSERT_EQ(specific.count("updatedInput"), 1u) << run.out;
  const auto& input = specific.at("updatedInput").struct_value().fields();
  EXPECT_NE(input.at("token").string_value().find("REDACTED"), std::string::npos) << run.out;
  EXPECT_EQ(input.at("n").number_value(), 2);
  EXPECT_EQ(run.out.find(kToken), std::string::npos) << run.out;
}

}  // namespace
}  // namespace jobgate::gate
