// The agent integrations under their deploy users (deploy/nats/permissions.conf) against a
// real nats-server: `jobgate hook claude-code` as `claude-hook` and `jobgate mcp-proxy` as
// `mcp-proxy` do all their work (submit, watch decision records, wait for an approval,
// create, write and read the MCP tool store) with exactly those permissions, and neither
// user can publish on audit subjects, read the JOBS stream or see other subjects' jobs;
// the hook cannot write the tool store.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nats/nats.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "policy/policy.h"
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
snapshot: agent-permissions-test
defaults:
  decision: deny
  reason: "No rule covers this job"
rules:
  - id: allow-agent-work
    match: {topics: ["job.agent.>"]}
    decision: allow
  - id: hold-terraform
    match: {topics: ["job.agent.shell.exec"], command: {program: terraform}}
    decision: require_approval
    approver_role: approver
  - id: allow-mcp-reads
    match: {topics: ["job.mcp-bridge.read.*"], risk_tags_none: [write, destructive]}
    decision: allow
)";

// The deploy config's users and permissions, verbatim (appended: nats-server resolves
// `include` relative to the including file).
std::string PermissionsInclude() {
  auto text = policy::ReadFile(std::string(JOBGATE_SOURCE_DIR) + "/deploy/nats/permissions.conf");
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? *text : "";
}

// A connection as `user` that waits for the server's permissions violation naming
// `subject` after `act` did something with it.
bool Refused(const NatsServer& server, const std::string& user, const std::string& password,
             const std::string& subject,
             const std::function<void(natsConnection*)>& act) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, server.url(user, password).c_str()) != NATS_OK) return false;
  act(nc);
  natsConnection_Flush(nc);
  const bool refused = WaitFor([&] {
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    return text != nullptr &&
           std::string(text).find("Permissions Violation") != std::string::npos &&
           std::string(text).find(subject) != std::string::npos;
  });
  natsConnection_Destroy(nc);
  return refused;
}

bool RefusedToPublish(const NatsServer& server, const std::string& user,
                      const std::string& password, const std::string& subject) {
  return Refused(server, user, password, subject, [&](natsConnection* nc) {
    natsConnection_PublishString(nc, subject.c_str(), "x");
  });
}

bool RefusedToSubscribe(const NatsServer& server, const std::string& user,
                        const std::string& password, const std::string& subject) {
  natsSubscription* sub = nullptr;
  const bool refused = Refused(server, user, password, subject, [&](natsConnection* nc) {
    natsConnection_SubscribeSync(&sub, nc, subject.c_str());
  });
  natsSubscription_Destroy(sub);
  return refused;
}

// Runs the jobgate binary with `args` and `input` on stdin; its stdout.
std::string RunJobgate(std::vector<std::string> args, const std::string& input) {
  args.insert(args.begin(), JOBGATE_BINARY);
  return ::jobgate::testing::RunWithInput(std::move(args), input).out;
}

class AgentPermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string config = dir_.WriteFile(
        "gate.yaml", "api:\n  tokens:\n    - {name: dana, roles: [approver], token: dana-token}\n");
    gate_ = std::make_unique<GateProcess>(
        server_.url("jobgate", "gate-password"),
        std::vector<std::string>{"--config", config, "--policy",
                                 dir_.WriteFile("policy.yaml", kPolicy)},
        dir_);
    ASSERT_TRUE(gate_->WaitReady()) << gate_->process().Log();
  }

  // The hook's answer (permissionDecision) to `tool` with `input`, run as claude-hook.
  std::string Hook(const std::string& tool, const std::string& input, const std::string& id,
                   const std::vector<std::string>& extra = {}) const {
    const std::string payload = R"({"session_id":"s1","cwd":"/w","hook_event_name":"PreToolUse",)"
                                R"("tool_name":")" + tool + R"(","tool_input":)" + input +
                                R"(,"tool_use_id":")" + id + R"("})";
    std::vector<std::string> args = {"hook", "claude-code", "--nats",
                                     server_.url("claude-hook", "hook-password"), "--timeout",
                                     "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string out = RunJobgate(args, payload);
    google::protobuf::Struct parsed;
    if (!subjects::FromJson(out, &parsed).ok() ||
        parsed.fields().count("hookSpecificOutput") == 0) {
      return "unreadable: " + out;
    }
    const auto& specific = parsed.fields().at("hookSpecificOutput").struct_value().fields();
    return specific.at("permissionDecision").string_value() + ": " +
           specific.at("permissionDecisionReason").string_value();
  }

  std::string Log() const { return dir_.path() + "/server.jsonl"; }

  NatsServer server_{PermissionsInclude()};
  TempDir dir_;
  std::unique_ptr<GateProcess> gate_;
};

TEST_F(AgentPermissionsTest, TheProxyAndTheHookWorkUnderTheirUsers) {
  // The proxy creates the tool store, records the server's tools and forwards an allowed
  // read; a write (denied by the policy) never reaches the server.
  {
    ProxySession session({"--nats", server_.url("mcp-proxy", "mcp-proxy-password"), "--timeout",
                          "20", "--server-name", "testsrv"},
                         Log());
    session.Send(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    ASSERT_NE(session.AnswerTo("0"), "");
    session.Send(R"({"jsonrpc":"2.0","id":"list","method":"tools/list"})");
    ASSERT_NE(session.AnswerTo("\"list\""), "");
    session.Send(Call(1, "read_file", R"({"path":"/x"})"));
    const std::string read = session.AnswerTo("1");
    EXPECT_FALSE(IsToolError(read)) << read;
    session.Send(Call(2, "write_note", R"({"text":"hi"})"));
    const std::string write = session.AnswerTo("2");
    EXPECT_TRUE(IsToolError(write)) << write;
    session.CloseAndWait();
  }
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"read_file"}));

  // The hook: an allowed Bash call; an MCP tool judged a read because the hook read the
  // class the proxy recorded (a write would be denied by the default).
  EXPECT_EQ(Hook("Bash", R"({"command":"git status"})", "perm-bash").rfind("allow:", 0), 0u);
  EXPECT_EQ(Hook("mcp__testsrv__read_file", R"({"path":"/x"})", "perm-mcp").rfind("allow:", 0), 0u);
  EXPECT_EQ(Hook("mcp__testsrv__write_note", R"({"text":"hi"})", "perm-mcp-w").rfind("deny:", 0),
            0u);
}

TEST_F(AgentPermissionsTest, TheHookWaitsForAnApprovalUnderItsUser) {
  const std::string payload =
      R"({"session_id":"s1","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"Bash",)"
      R"("tool_input":{"command":"terraform apply"},"tool_use_id":"perm-held"})";
  std::string answer;
  std::thread hook([&] {
    answer = RunJobgate({"hook", "claude-code", "--nats",
                         server_.url("claude-hook", "hook-password"), "--timeout", "20",
                         "--approval-wait", "60"},
                        payload);
  });
  JetStreamClient gate_view(server_.url("jobgate", "gate-password"));
  EXPECT_TRUE(WaitFor([&] {
    return gate_view.Count("APPROVALS", "approval.requests.agent.shell.exec") == 1;
  }));
  httplib::Client http("127.0.0.1", gate_->http_port());
  http.set_read_timeout(30);
  auto approved = http.Post("/api/v1/approvals/claude-perm-held/approve",
                            {{"Authorization", "Bearer dana-token"}}, R"({"reason": "fine"})",
                            "application/json");
  hook.join();
  ASSERT_TRUE(approved);
  EXPECT_EQ(approved->status, 200) << approved->body;
  EXPECT_NE(answer.find(R"("permissionDecision": "allow")"), std::string::npos) << answer;
}

TEST_F(AgentPermissionsTest, APolicyAdminAcceptsAChangedToolTheHookCannot) {
  const std::vector<std::string> flags = {
      "--nats", server_.url("mcp-proxy", "mcp-proxy-password"), "--timeout", "20",
      "--server-name", "testsrv"};
  auto initialize = [](ProxySession& session) {
    session.Send(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    ASSERT_NE(session.AnswerTo("0"), "");
    session.Send(R"({"jsonrpc":"2.0","id":"list","method":"tools/list"})");
    ASSERT_NE(session.AnswerTo("\"list\""), "");
  };
  const std::string admin = server_.url("policy-admin", "admin-password");
  auto tools_json = [&] {
    return RunJobgate({"mcp", "tools", "list", "--json", "--server", "testsrv", "--nats", admin},
                      "");
  };
  {
    // A call records its tool before it is judged.
    ProxySession first(flags, dir_.path() + "/v1.jsonl");
    initialize(first);
    first.Send(Call(0, "read_file", R"({"path":"/x"})"));
    EXPECT_FALSE(IsToolError(first.AnswerTo("0")));
    first.CloseAndWait();
  }
  ASSERT_TRUE(WaitFor([&] { return tools_json().find("\"read_file\"") != std::string::npos; }))
      << tools_json();
  // Version 2 of the server changed read_file: the proxy records it pending and holds it.
  ProxySession second(flags, Log(), {"2"});
  initialize(second);
  second.Send(Call(1, "read_file", R"({"path":"/x"})"));
  EXPECT_TRUE(IsToolError(second.AnswerTo("1")));
  EXPECT_NE(tools_json().find("pending_fingerprint"), std::string::npos);
  // The hook's user reads the store but cannot accept; the operator's user can.
  const std::vector<std::string> accept = {"mcp", "tools", "accept", "--server", "testsrv",
                                           "--tool", "read_file", "--by", "dana", "--nats"};
  auto accept_as = [&](const std::string& url) {
    std::vector<std::string> args = accept;
    args.push_back(url);
    return RunJobgate(args, "");
  };
  EXPECT_EQ(accept_as(server_.url("claude-hook", "hook-password")).find("accepted tool"),
            std::string::npos);
  EXPECT_NE(accept_as(admin).find("accepted tool"), std::string::npos);
  second.Send(Call(2, "read_file", R"({"path":"/x"})"));
  const std::string forwarded = second.AnswerTo("2");
  EXPECT_FALSE(IsToolError(forwarded)) << forwarded;
  second.CloseAndWait();
  EXPECT_EQ(LoggedCalls(Log()), (std::vector<std::string>{"read_file"}));
}

TEST_F(AgentPermissionsTest, NeitherUserReachesAuditJobsOrTheGatesSubjects) {
  for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"claude-hook", "hook-password"}, {"mcp-proxy", "mcp-proxy-password"}}) {
    SCOPED_TRACE(user);
    // No audit record, dispatch or approval outcome of its own making.
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "audit.decisions.agent.shell.exec"));
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "audit.policy"));
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "worker.agent.shell.exec"));
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "jobgate.api.approvals.approve"));
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "job.db.migrate"));
    // JOBS cannot be read: no consumer, no stored message, no live job subject.
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "$JS.API.CONSUMER.CREATE.JOBS"));
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "$JS.API.STREAM.MSG.GET.JOBS"));
    EXPECT_TRUE(RefusedToPublish(server_, user, password, "$JS.API.DIRECT.GET.JOBS"));
    EXPECT_TRUE(RefusedToSubscribe(server_, user, password, "job.>"));
    // Nor the gate's other records.
    EXPECT_TRUE(RefusedToSubscribe(server_, user, password, "audit.>"));
    EXPECT_TRUE(RefusedToSubscribe(server_, user, password, "worker.>"));
  }
  // The proxy submits MCP calls only; the hook only reads the tool store.
  EXPECT_TRUE(
      RefusedToPublish(server_, "mcp-proxy", "mcp-proxy-password", "job.agent.shell.exec"));
  EXPECT_TRUE(
      RefusedToPublish(server_, "claude-hook", "hook-password", "$KV.jobgate-mcp-tools.x"));
  EXPECT_TRUE(RefusedToPublish(server_, "claude-hook", "hook-password",
                               "$JS.API.STREAM.CREATE.KV_jobgate-mcp-tools"));
}

}  // namespace
}  // namespace jobgate::gate
