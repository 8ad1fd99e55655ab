// The Claude Code hook's pure part (gate/agents/claude_hook.h): recorded PreToolUse payloads of
// every tool type mapped to jobs (and judged by packs/coding-agent.yaml offline), decision
// records mapped to answers, and thousands of generated malformed payloads and reasons:
// each one mapped or refused, never a crash, and every answer valid JSON.
#include "gate/agents/claude_hook.h"

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cli/job_submission.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::vector<std::string> RecordedPayloads() {
  std::ifstream in(std::string(JOBGATE_SOURCE_DIR) +
                   "/tests/gate/testdata/claude_code_pretooluse.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The recorded payload of `tool`.
std::string Recorded(const std::string& tool) {
  for (const std::string& line : RecordedPayloads()) {
    if (line.find("\"tool_name\":\"" + tool + "\"") != std::string::npos) return line;
  }
  ADD_FAILURE() << "no recorded payload for " << tool;
  return "";
}

v1::Job Map(const std::string& payload, const HookIdentity& identity = {}) {
  auto job = JobFromPreToolUse(payload, identity, "claude-fallback");
  EXPECT_TRUE(job.ok()) << job.status().message() << "\n" << payload;
  return job.ok() ? *job : v1::Job();
}

const Value& Arg(const v1::Job& job, const std::string& key) {
  static const Value kMissing;
  auto it = job.args().fields().find(key);
  return it == job.args().fields().end() ? kMissing : it->second;
}

std::string ArgString(const v1::Job& job, const std::string& key) {
  return Arg(job, key).string_value();
}

std::shared_ptr<const policy::Policy> Pack() {
  static const std::shared_ptr<const policy::Policy> pack = [] {
    policy::CompileResult r =
        policy::CompileFile(std::string(JOBGATE_SOURCE_DIR) + "/packs/coding-agent.yaml");
    EXPECT_TRUE(r.ok()) << r.ErrorText();
    return r.policy;
  }();
  return pack;
}

TEST(ClaudeHookMapping, EveryRecordedToolTypeIsCovered) {
  std::vector<std::string> tools;
  for (const std::string& line : RecordedPayloads()) {
    Struct root;
    ASSERT_TRUE(subjects::FromJson(line, &root).ok()) << line;
    tools.push_back(root.fields().at("tool_name").string_value());
  }
  for (const char* tool : {"Bash", "Read", "Grep", "Glob", "Write", "Edit", "MultiEdit",
                           "NotebookEdit", "WebFetch", "WebSearch", "mcp__github__create_issue",
                           "Task", "TodoWrite"}) {
    EXPECT_NE(std::find(tools.begin(), tools.end(), tool), tools.end()) << tool;
  }
}

TEST(ClaudeHookMapping, CommonFields) {
  HookIdentity identity;
  identity.agent_id = "claude-ci";
  identity.owner = "alice";
  identity.team = "web";
  identity.tenant = "acme";
  identity.environment = "dev";
  for (const std::string& line : RecordedPayloads()) {
    v1::Job job = Map(line, identity);
    EXPECT_EQ(job.actor().type(), "agent");
    EXPECT_EQ(job.actor().agent_id(), "claude-ci");
    EXPECT_EQ(job.actor().owner(), "alice");
    EXPECT_EQ(job.actor().team(), "web");
    EXPECT_EQ(job.actor().session_id(), "5f2b8c1e-1d7a-4a6f-9d1e-2b3c4d5e6f70");
    EXPECT_EQ(job.tenant_id(), "acme");
    EXPECT_EQ(job.environment(), "dev");
    EXPECT_EQ(job.job_id().rfind("claude-toolu_01", 0), 0u) << job.job_id();
    EXPECT_FALSE(job.labels().at("claude.tool").empty());
    EXPECT_TRUE(PrepareJobForSubmit(&job).ok()) << job.topic();
  }
}

TEST(ClaudeHookMapping, Bash) {
  HookIdentity identity;
  identity.workspace = "/home/dev";
  v1::Job job = Map(Recorded("Bash"), identity);
  EXPECT_EQ(job.topic(), "job.agent.shell.exec");
  EXPECT_EQ(job.capability(), "shell.exec");
  EXPECT_EQ(ArgString(job, "command"), "npm test -- --watch=false");
  EXPECT_EQ(ArgString(job, "cwd"), "/home/dev/shop");
  EXPECT_EQ(ArgString(job, "workspace"), "/home/dev");
  EXPECT_EQ(job.job_id(), "claude-toolu_01Bash0000000000000000001");
  // The same project root as the cwd adds nothing.
  identity.workspace = "/home/dev/shop";
  EXPECT_EQ(Map(Recorded("Bash"), identity).args().fields().count("workspace"), 0u);
}

TEST(ClaudeHookMapping, Reads) {
  v1::Job read = Map(Recorded("Read"));
  EXPECT_EQ(read.topic(), "job.agent.fs.read");
  EXPECT_EQ(read.capability(), "fs.read");
  EXPECT_EQ(ArgString(read, "path"), "/home/dev/shop/src/cart.ts");

  v1::Job grep = Map(Recorded("Grep"));
  EXPECT_EQ(grep.topic(), "job.agent.fs.read");
  ASSERT_EQ(Arg(grep, "path").list_value().values_size(), 2);
  EXPECT_EQ(Arg(grep, "path").list_value().values(0).string_value(), "/home/dev/shop/src/**/*.ts");
  EXPECT_EQ(Arg(grep, "path").list_value().values(1).string_value(), "/home/dev/shop/src");
  EXPECT_EQ(ArgString(grep, "pattern"), "TODO");

  v1::Job glob = Map(Recorded("Glob"));
  EXPECT_EQ(glob.topic(), "job.agent.fs.read");
  EXPECT_EQ(ArgString(glob, "path"), "/home/dev/shop");  // no path: the cwd
  EXPECT_EQ(ArgString(glob, "pattern"), "**/*.test.ts");
}

TEST(ClaudeHookMapping, WritesCarryTheSizeOfTheChange) {
  v1::Job write = Map(Recorded("Write"));
  EXPECT_EQ(write.topic(), "job.agent.fs.write");
  EXPECT_EQ(write.capability(), "fs.write");
  EXPECT_EQ(ArgString(write, "path"), "/home/dev/shop/src/util/money.ts");
  EXPECT_EQ(Arg(write, "diff_lines").number_value(), 3);
  EXPECT_EQ(Arg(write, "bytes").number_value(), 67);

  v1::Job edit = Map(Recorded("Edit"));
  EXPECT_EQ(edit.topic(), "job.agent.fs.write");
  EXPECT_EQ(Arg(edit, "diff_lines").number_value(), 1 + 2);

  v1::Job multi = Map(Recorded("MultiEdit"));
  EXPECT_EQ(Arg(multi, "diff_lines").number_value(), 2 + 1 + 1 + 2);

  v1::Job notebook = Map(Recorded("NotebookEdit"));
  EXPECT_EQ(notebook.topic(), "job.agent.fs.write");
  EXPECT_EQ(ArgString(notebook, "path"), "/home/dev/shop/analysis.ipynb");
  EXPECT_EQ(Arg(notebook, "diff_lines").number_value(), 2);
}

TEST(ClaudeHookMapping, Web) {
  v1::Job fetch = Map(Recorded("WebFetch"));
  EXPECT_EQ(fetch.topic(), "job.agent.http.request");
  EXPECT_EQ(fetch.capability(), "http.request");
  EXPECT_EQ(ArgString(fetch, "url"), "https://docs.python.org/3/library/json.html");
  EXPECT_EQ(ArgString(fetch, "method"), "GET");

  v1::Job search = Map(Recorded("WebSearch"));
  EXPECT_EQ(search.topic(), "job.agent.http.request");
  EXPECT_EQ(ArgString(search, "query"), "nats jetstream duplicate window");
  EXPECT_EQ(Arg(search, "allowed_domains").list_value().values(0).string_value(), "docs.nats.io");
}

TEST(ClaudeHookMapping, McpToolsAreJudgedAsWrites) {
  v1::Job job = Map(Recorded("mcp__github__create_issue"));
  EXPECT_EQ(job.topic(), "job.mcp-bridge.write.create_issue");
  EXPECT_EQ(job.labels().at("mcp.server"), "github");
  EXPECT_EQ(job.labels().at("mcp.tool"), "create_issue");
  EXPECT_EQ(job.labels().at("mcp.action"), "write");
  ASSERT_EQ(job.risk_tags_size(), 1);
  EXPECT_EQ(job.risk_tags(0), "write");
  EXPECT_EQ(ArgString(job, "title"), "Cart total is off by one");
}

TEST(ClaudeHookMapping, OtherToolsKeepTheirInputAsArgs) {
  v1::Job task = Map(Recorded("Task"));
  EXPECT_EQ(task.topic(), "job.agent.tool.Task");
  EXPECT_EQ(ArgString(task, "subagent_type"), "general-purpose");
  v1::Job todo = Map(Recorded("TodoWrite"));
  EXPECT_EQ(todo.topic(), "job.agent.tool.TodoWrite");
  EXPECT_EQ(Arg(todo, "todos").list_value().values_size(), 1);
  // Names that are not subject tokens become one; the label keeps the name.
  v1::Job odd = Map(R"({"tool_name": "my.tool *>", "tool_input": "text"})");
  EXPECT_EQ(odd.topic(), "job.agent.tool.my_tool___");
  EXPECT_EQ(odd.labels().at("claude.tool"), "my.tool *>");
  EXPECT_EQ(ArgString(odd, "input"), "text");
  EXPECT_EQ(odd.job_id(), "claude-fallback");  // no tool_use_id
  // mcp__ without a server and a tool is an ordinary tool name.
  EXPECT_EQ(Map(R"({"tool_name": "mcp__x", "tool_input": {}})").topic(), "job.agent.tool.mcp__x");
}

TEST(ClaudeHookMapping, TheCodingAgentPackJudgesTheMappedJobs) {
  auto pack = Pack();
  ASSERT_TRUE(pack);
  auto decide = [&](const std::string& payload) { return pack->Decide(Map(payload)).decision(); };
  for (const char* tool : {"Bash", "Read", "Grep", "Glob", "Write", "Edit", "MultiEdit",
                           "NotebookEdit", "Task", "TodoWrite"}) {
    EXPECT_EQ(decide(Recorded(tool)), v1::ALLOW) << tool;
  }
  // docs.python.org is not on the pack's egress allowlist: an alert, which still runs.
  EXPECT_EQ(decide(Recorded("WebFetch")), v1::ALERT);
  // The pack knows no MCP topic: its defaults deny (fail closed).
  EXPECT_EQ(decide(Recorded("mcp__github__create_issue")), v1::DENY);
  const std::string head = R"({"session_id": "s", "cwd": "/home/dev/shop", "tool_use_id": "t",)";
  EXPECT_EQ(decide(head + R"("tool_name": "Bash", "tool_input": {"command": "rm -rf /"}})"),
            v1::DENY);
  EXPECT_EQ(decide(head + R"("tool_name": "Bash", "tool_input": {"command": "terraform apply"}})"),
            v1::REQUIRE_APPROVAL);
  EXPECT_EQ(decide(head + R"("tool_name": "Read", "tool_input": {"file_path": "/home/dev/.ssh/id_rsa"}})"),
            v1::DENY);
  // Grep reads what its glob selects: a search for secrets in the project is a secret read.
  EXPECT_EQ(decide(head + R"("tool_name": "Grep", "tool_input": {"pattern": "KEY", "glob": "**/.env"}})"),
            v1::DENY);
  EXPECT_EQ(decide(head + R"("tool_name": "Write", "tool_input": {"file_path": "/home/dev/shop/.github/workflows/ci.yml", "content": "x"}})"),
            v1::REQUIRE_APPROVAL);
  EXPECT_EQ(decide(head + R"("tool_name": "Edit", "tool_input": {"file_path": "app/.env", "old_string": "a", "new_string": "b"}})"),
            v1::DENY);
}

TEST(ClaudeHookMapping, PayloadsThatCannotBeJudgedAreRefused) {
  for (const char* payload : {
           "", "null", "[]", "\"Bash\"", "{", "{}", R"({"tool_name": 7})",
           R"({"tool_name": ""})", R"({"tool_name": "Bash"})",
           R"({"tool_name": "Bash", "tool_input": "rm -rf /"})",
           R"({"tool_name": "Bash", "tool_input": {"command": ["rm", "-rf", "/"]}})",
           R"({"tool_name": "Bash", "tool_input": {"command": ""}})",
           R"({"tool_name": "Read", "tool_input": {"path": "x"}})",
           R"({"tool_name": "Write", "tool_input": {"file_path": "x", "content": 5}})",
           R"({"tool_name": "MultiEdit", "tool_input": {"file_path": "x", "edits": {}}})",
           R"({"tool_name": "MultiEdit", "tool_input": {"file_path": "x", "edits": [1]}})",
           R"({"tool_name": "WebFetch", "tool_input": {}})",
           R"({"tool_name": "Grep", "tool_input": {"path": "."}})",
           R"({"tool_name": "Bash", "session_id": 1, "tool_input": {"command": "ls"}})",
           R"({"tool_name": "Bash", "cwd": {}, "tool_input": {"command": "ls"}})",
       }) {
    auto job = JobFromPreToolUse(payload, {}, "f");
    EXPECT_FALSE(job.ok()) << payload;
    if (!job.ok()) {
      EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument) << payload;
    }
  }
}

// ---- Decision record -> answer -------------------------------------------------------

v1::DecisionRecord Record(v1::Verdict verdict, const std::string& outcome = "") {
  v1::DecisionRecord record;
  record.mutable_decision()->set_decision(verdict);
  record.mutable_decision()->set_reason("the policy's reason");
  record.mutable_decision()->set_matched_rule("some-rule");
  record.mutable_decision()->set_job_id("claude-t");
  if (!outcome.empty()) {
    record.mutable_approval()->set_outcome(outcome);
    record.mutable_approval()->set_approver("bob");
    record.mutable_approval()->set_reason("looked fine");
  }
  return record;
}

TEST(ClaudeHookAnswer, EachDecision) {
  const std::map<v1::Verdict, Permission> expected = {
      {v1::ALLOW, Permission::kAllow},
      {v1::ALLOW_WITH_CONSTRAINTS, Permission::kAllow},
      {v1::ALERT, Permission::kAllow},
      {v1::REDACT, Permission::kAllow},
      {v1::THROTTLE, Permission::kAllow},
      {v1::REQUIRE_APPROVAL, Permission::kAsk},
      {v1::DENY, Permission::kDeny},
      {v1::TERMINATE, Permission::kDeny},
      {v1::VERDICT_UNSPECIFIED, Permission::kDeny},
      {static_cast<v1::Verdict>(99), Permission::kDeny},
  };
  for (const auto& [verdict, permission] : expected) {
    const HookAnswer answer = AnswerForRecord(Record(verdict));
    EXPECT_EQ(answer.permission, permission) << verdict;
    EXPECT_EQ(answer.stop, verdict == v1::TERMINATE) << verdict;
    EXPECT_NE(answer.reason.find("the policy's reason"), std::string::npos) << answer.reason;
    EXPECT_NE(answer.reason.find("some-rule"), std::string::npos) << answer.reason;
  }
}

TEST(ClaudeHookAnswer, ConstraintsAndHoldsAreInTheReason) {
  v1::DecisionRecord record = Record(v1::ALLOW_WITH_CONSTRAINTS);
  record.mutable_decision()->mutable_constraints()->set_max_runtime_sec(60);
  EXPECT_NE(AnswerForRecord(record).reason.find("\"max_runtime_sec\":60"), std::string::npos)
      << AnswerForRecord(record).reason;
  record = Record(v1::REQUIRE_APPROVAL);
  record.mutable_decision()->set_approver_role("developer");
  const HookAnswer held = AnswerForRecord(record);
  EXPECT_NE(held.reason.find("role developer"), std::string::npos) << held.reason;
  EXPECT_NE(held.reason.find("claude-t"), std::string::npos) << held.reason;
}

TEST(ClaudeHookAnswer, ApprovalOutcomes) {
  EXPECT_TRUE(IsUnresolvedHold(Record(v1::REQUIRE_APPROVAL)));
  EXPECT_TRUE(IsUnresolvedHold(Record(v1::REQUIRE_APPROVAL, "PENDING")));
  EXPECT_TRUE(IsUnresolvedHold(Record(v1::REQUIRE_APPROVAL, "REFUSED")));
  EXPECT_FALSE(IsUnresolvedHold(Record(v1::ALLOW)));
  EXPECT_FALSE(IsUnresolvedHold(Record(v1::DENY)));
  for (const char* outcome : {"APPROVED", "REJECTED", "EXPIRED"}) {
    EXPECT_FALSE(IsUnresolvedHold(Record(v1::REQUIRE_APPROVAL, outcome))) << outcome;
  }
  const HookAnswer approved = AnswerForRecord(Record(v1::REQUIRE_APPROVAL, "APPROVED"));
  EXPECT_EQ(approved.permission, Permission::kAllow);
  EXPECT_NE(approved.reason.find("bob"), std::string::npos);
  EXPECT_EQ(AnswerForRecord(Record(v1::REQUIRE_APPROVAL, "REJECTED")).permission,
            Permission::kDeny);
  EXPECT_EQ(AnswerForRecord(Record(v1::REQUIRE_APPROVAL, "EXPIRED")).permission,
            Permission::kDeny);
}

TEST(ClaudeHookAnswer, Errors) {
  for (Permission p : {Permission::kDeny, Permission::kAsk, Permission::kAllow}) {
    const HookAnswer answer = AnswerForError(p, "connect to NATS: no servers");
    EXPECT_EQ(answer.permission, p);
    EXPECT_NE(answer.reason.find("no servers"), std::string::npos);
    auto parsed = ParsePermission(PermissionName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_FALSE(ParsePermission("block").ok());
}

// Parses the hook output back; fails the test when it is not the documented shape.
Struct ParseOutput(const std::string& json) {
  Struct out;
  const Status s = subjects::FromJson(json, &out);
  EXPECT_TRUE(s.ok()) << s.message() << "\n" << json;
  return out;
}

TEST(ClaudeHookAnswer, OutputShape) {
  HookAnswer answer;
  answer.permission = Permission::kDeny;
  answer.reason = "jobgate DENY (rule r): \"quoted\"\n\ttab \\ back";
  Struct out = ParseOutput(HookOutputJson(answer));
  const Struct& specific = out.fields().at("hookSpecificOutput").struct_value();
  EXPECT_EQ(specific.fields().at("hookEventName").string_value(), "PreToolUse");
  EXPECT_EQ(specific.fields().at("permissionDecision").string_value(), "deny");
  EXPECT_EQ(specific.fields().at("permissionDecisionReason").string_value(), answer.reason);
  EXPECT_EQ(out.fields().count("continue"), 0u);
  answer.stop = true;
  out = ParseOutput(HookOutputJson(answer));
  EXPECT_FALSE(out.fields().at("continue").bool_value());
  EXPECT_EQ(out.fields().at("stopReason").string_value(), answer.reason);
}

TEST(ClaudeHookAnswer, GeneratedReasonsAlwaysGiveValidJson) {
  std::mt19937 random(20261205);
  for (int i = 0; i < 5000; ++i) {
    HookAnswer answer;
    answer.permission = static_cast<Permission>(random() % 3);
    answer.stop = random() % 2 == 0;
    const size_t length = random() % (i % 100 == 0 ? 9000 : 64);
    for (size_t k = 0; k < length; ++k) answer.reason += static_cast<char>(random() % 256);
    const std::string json = HookOutputJson(answer);
    Struct out = ParseOutput(json);
    const Struct& specific = out.fields().at("hookSpecificOutput").struct_value();
    EXPECT_EQ(specific.fields().at("permissionDecision").string_value(),
              PermissionName(answer.permission));
    EXPECT_LE(json.size(), 2 * (3 * 4003 + 400));
  }
  // Valid UTF-8 passes through unchanged.
  HookAnswer answer;
  answer.reason = "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  EXPECT_EQ(ParseOutput(HookOutputJson(answer))
                .fields().at("hookSpecificOutput").struct_value()
                .fields().at("permissionDecisionReason").string_value(),
            answer.reason);
}

// ---- Generated malformed payloads -----------------------------------------------------

// A random JSON value, `depth` levels at most.
Value RandomValue(std::mt19937& random, int depth) {
  Value value;
  switch (random() % (depth > 0 ? 6 : 4)) {
    case 0:
      value.set_null_value(google::protobuf::NULL_VALUE);
      break;
    case 1:
      value.set_bool_value(random() % 2 == 0);
      break;
    case 2:
      value.set_number_value(static_cast<double>(static_cast<int32_t>(random())) / 7);
      break;
    case 3: {
      static const char* const kStrings[] = {"", "ls", "rm -rf /", "/etc/passwd", "../../.env",
                                             "https://x.invalid/", "mcp__a__b", "Bash", "*",
                                             "\xe2\x82\xac", "a\nb", ">"};
      value.set_string_value(kStrings[random() % std::size(kStrings)]);
      break;
    }
    case 4: {
      auto* list = value.mutable_list_value();
      for (int n = random() % 4; n > 0; --n) *list->add_values() = RandomValue(random, depth - 1);
      break;
    }
    default: {
      static const char* const kKeys[] = {"command", "file_path", "path", "pattern", "glob",
                                          "content", "old_string", "new_string", "edits",
                                          "url", "query", "notebook_path", "new_source", "x"};
      auto* fields = value.mutable_struct_value()->mutable_fields();
      for (int n = random() % 5; n > 0; --n) {
        (*fields)[kKeys[random() % std::size(kKeys)]] = RandomValue(random, depth - 1);
      }
    }
  }
  return value;
}

// Checks one payload: it maps to a publishable job or is refused with kInvalidArgument.
void CheckPayload(const std::string& payload, int* mapped, int* refused) {
  auto job = JobFromPreToolUse(payload, {}, "claude-fallback");
  if (!job.ok()) {
    ++*refused;
    ASSERT_EQ(job.status().code(), StatusCode::kInvalidArgument) << payload;
    return;
  }
  ++*mapped;
  v1::Job prepared = *job;
  ASSERT_TRUE(PrepareJobForSubmit(&prepared).ok()) << payload << " -> " << job->topic();
  ASSERT_FALSE(job->job_id().empty());
  ASSERT_EQ(job->actor().type(), "agent");
  std::string wire;
  ASSERT_TRUE(job->SerializeToString(&wire));
}

TEST(ClaudeHookFuzz, MutatedRecordedPayloads) {
  std::mt19937 random(25);
  const std::vector<std::string> recorded = RecordedPayloads();
  static const char* const kTools[] = {"Bash", "Read", "Grep", "Glob", "Write", "Edit",
                                       "MultiEdit", "NotebookEdit", "WebFetch", "WebSearch",
                                       "LS", "NotebookRead", "mcp__s__t", "mcp____", "Other"};
  static const char* const kTop[] = {"tool_name", "tool_input", "session_id", "cwd",
                                     "tool_use_id"};
  int mapped = 0, refused = 0;
  for (int i = 0; i < 6000; ++i) {
    Struct root;
    ASSERT_TRUE(subjects::FromJson(recorded[random() % recorded.size()], &root).ok());
    auto& fields = *root.mutable_fields();
    for (int n = 1 + random() % 3; n > 0; --n) {
      const char* key = kTop[random() % std::size(kTop)];
      switch (random() % 4) {
        case 0:
          fields.erase(key);
          break;
        case 1:
          fields[key] = RandomValue(random, 3);
          break;
        case 2:
          fields["tool_name"].set_string_value(kTools[random() % std::size(kTools)]);
          break;
        default:
          fields["tool_input"] = RandomValue(random, 3);
      }
    }
    CheckPayload(subjects::ToJson(root), &mapped, &refused);
    if (HasFatalFailure()) return;
  }
  std::printf("mutated payloads: %d mapped, %d refused\n", mapped, refused);
  EXPECT_GT(mapped, 500);
  EXPECT_GT(refused, 500);
}

TEST(ClaudeHookFuzz, CorruptedBytes) {
  std::mt19937 random(2025);
  const std::vector<std::string> recorded = RecordedPayloads();
  int mapped = 0, refused = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string payload = recorded[random() % recorded.size()];
    switch (i % 4) {
      case 0:  // truncated
        payload.resize(random() % payload.size());
        break;
      case 1:  // bytes flipped
        for (int n = 1 + random() % 4; n > 0; --n) {
          payload[random() % payload.size()] = static_cast<char>(random() % 256);
        }
        break;
      case 2:  // random bytes
        payload.assign(random() % 200, '\0');
        for (char& c : payload) c = static_cast<char>(random() % 256);
        break;
      default: {  // deep nesting inside tool_input
        const int depth = 50 + random() % 5000;
        payload = R"({"tool_name": "Other", "tool_input": {"x": )" + std::string(depth, '[') +
                  std::string(depth, ']') + "}}";
      }
    }
    CheckPayload(payload, &mapped, &refused);
    if (HasFatalFailure()) return;
  }
  std::printf("corrupted payloads: %d mapped, %d refused\n", mapped, refused);
  EXPECT_GT(refused, 3000);
}

}  // namespace
}  // namespace jobgate::gate
