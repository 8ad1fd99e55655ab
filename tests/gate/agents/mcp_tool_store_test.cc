// The MCP tool store's rules (first sight, same, changed, accepted, concurrent writers),
// its record format and keys; the proxy's forwarded line and the hook's answer when the
// gate redacted a call; the hook's MCP classes.
#include "gate/agents/mcp_tool_store.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gate/agents/claude_hook.h"
#include "gate/agents/mcp_mapping.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

using google::protobuf::Struct;

TEST(McpToolStoreTest, KeysKeepAnyNameAndGroupByServer) {
  EXPECT_EQ(McpToolKey("a", "b"), "61.62");
  EXPECT_EQ(McpToolKeyPrefix("a"), "61.");
  EXPECT_NE(McpToolKey("a.b", "c"), McpToolKey("a", "b.c"));
  const std::string key = McpToolKey("srv with spaces/*>", "tool.name\xff");
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef."), std::string::npos) << key;
  EXPECT_EQ(key.rfind(McpToolKeyPrefix("srv with spaces/*>"), 0), 0u);
}

TEST(McpToolStoreTest, RecordJsonRoundTrips) {
  McpToolRecord record;
  record.server = "files";
  record.tool = "read_file";
  record.fingerprint = std::string(64, 'a');
  record.tool_class = "read";
  record.first_seen_unix_ms = 1'780'000'000'123;
  record.pending_fingerprint = std::string(64, 'b');
  record.pending_class = "destructive";
  record.changed_unix_ms = 1'780'000'100'000;
  auto parsed = ParseMcpToolRecord(McpToolRecordJson(record));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->server, "files");
  EXPECT_EQ(parsed->tool, "read_file");
  EXPECT_EQ(parsed->fingerprint, record.fingerprint);
  EXPECT_EQ(parsed->tool_class, "read");
  EXPECT_EQ(parsed->first_seen_unix_ms, record.first_seen_unix_ms);
  EXPECT_EQ(parsed->pending_fingerprint, record.pending_fingerprint);
  EXPECT_EQ(parsed->pending_class, "destructive");
  EXPECT_EQ(parsed->changed_unix_ms, record.changed_unix_ms);
  EXPECT_FALSE(ParseMcpToolRecord("not json").ok());
  EXPECT_FALSE(ParseMcpToolRecord("{}").ok());
  EXPECT_FALSE(ParseMcpToolRecord("[1]").ok());
}

TEST(McpToolStoreTest, FirstSightSameChangedAccepted) {
  InMemoryMcpToolStore store;
  auto first = CheckTool(store, "files", "read_file", "f1", ToolClass::kRead, 1000);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, ToolState::kFirstSeen);
  EXPECT_EQ(first->record.fingerprint, "f1");
  EXPECT_EQ(first->record.tool_class, "read");
  EXPECT_EQ(first->record.first_seen_unix_ms, 1000);

  auto same = CheckTool(store, "files", "read_file", "f1", ToolClass::kRead, 2000);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->state, ToolState::kSame);
  EXPECT_EQ(same->record.first_seen_unix_ms, 1000);

  // The same tool name on another server is another tool.
  auto other = CheckTool(store, "other", "read_file", "f9", ToolClass::kWrite, 2500);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->state, ToolState::kFirstSeen);

  auto changed = CheckTool(store, "files", "read_file", "f2", ToolClass::kRead, 3000);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->state, ToolState::kChanged);
  EXPECT_TRUE(changed->newly_changed);
  EXPECT_EQ(changed->record.fingerprint, "f1");  // the accepted one is kept
  EXPECT_EQ(changed->record.pending_fingerprint, "f2");
  EXPECT_EQ(changed->record.changed_unix_ms, 3000);
  EXPECT_EQ(EffectiveToolClass(changed->record), ToolClass::kDestructive);

  // Seen again (another proxy, a restart): still changed, alerted once in the store.
  auto again = CheckTool(store, "files", "read_file", "f2", ToolClass::kRead, 4000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, ToolState::kChanged);
  EXPECT_FALSE(again->newly_changed);
  EXPECT_EQ(again->record.changed_unix_ms, 3000);
  // The old version is still the accepted one.
  auto old = CheckTool(store, "files", "read_file", "f1", ToolClass::kRead, 4500);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->state, ToolState::kSame);

  // An operator must name the version they reviewed when they give one.
  auto wrong = AcceptTool(store, "files", "read_file", "f3", "alice", 5000);
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  auto accepted = AcceptTool(store, "files", "read_file", "f2", "alice", 5000);
  ASSERT_TRUE(accepted.ok()) << accepted.status().message();
  EXPECT_EQ(accepted->fingerprint, "f2");
  EXPECT_EQ(accepted->pending_fingerprint, "");
  EXPECT_EQ(accepted->accepted_by, "alice");
  EXPECT_EQ(accepted->first_seen_unix_ms, 1000);
  EXPECT_EQ(EffectiveToolClass(*accepted), ToolClass::kRead);

  auto now_same = CheckTool(store, "files", "read_file", "f2", ToolClass::kRead, 6000);
  ASSERT_TRUE(now_same.ok());
  EXPECT_EQ(now_same->state, ToolState::kSame);
  // Once f2 is accepted, f1 is the change.
  auto back = CheckTool(store, "files", "read_file", "f1", ToolClass::kRead, 7000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, ToolState::kChanged);

  EXPECT_EQ(AcceptTool(store, "files", "nope", "", "alice", 1).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(AcceptTool(store, "other", "read_file", "", "alice", 1).status().code(),
            StatusCode::kFailedPrecondition);

  auto files = store.List("files");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  auto all = store.List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST(McpToolStoreTest, PutIsCompareAndSet) {
  InMemoryMcpToolStore store;
  McpToolRecord record;
  record.server = "s";
  record.tool = "t";
  record.fingerprint = "f";
  auto created = store.Put(record, 0);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(store.Put(record, 0).status().code(), StatusCode::kConflict);
  EXPECT_EQ(store.Put(record, *created + 7).status().code(), StatusCode::kConflict);
  EXPECT_TRUE(store.Put(record, *created).ok());
}

TEST(McpToolStoreTest, ConcurrentFirstSightsRecordOneVersion) {
  InMemoryMcpToolStore store;
  std::vector<std::thread> threads;
  std::vector<ToolState> states(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&store, &states, i] {
      auto check = CheckTool(store, "s", "t", i % 2 == 0 ? "even" : "odd", ToolClass::kWrite, i);
      ASSERT_TRUE(check.ok());
      states[i] = check->state;
    });
  }
  for (auto& thread : threads) thread.join();
  int first = 0;
  for (ToolState state : states) first += state == ToolState::kFirstSeen ? 1 : 0;
  EXPECT_EQ(first, 1);
  auto record = store.Get("s", "t");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_FALSE((*record)->pending_fingerprint.empty());  // the other version is pending
}

TEST(McpToolStoreTest, UnreadableClassIsDestructive) {
  McpToolRecord record;
  record.tool_class = "readish";
  EXPECT_EQ(EffectiveToolClass(record), ToolClass::kDestructive);
  record.tool_class = "write";
  EXPECT_EQ(EffectiveToolClass(record), ToolClass::kWrite);
}

// ---- redaction ---------------------------------------------------------------------

v1::DecisionRecord Redacted(const std::string& args_json) {
  v1::DecisionRecord record;
  record.mutable_decision()->set_decision(v1::REDACT);
  auto* redaction = record.mutable_decision()->add_redactions();
  redaction->set_path("args.token");
  redaction->set_detector("github_token");
  EXPECT_TRUE(subjects::FromJson(args_json, record.mutable_job()->mutable_args()).ok());
  return record;
}

Struct Object(const std::string& json) {
  Struct object;
  EXPECT_TRUE(subjects::FromJson(json, &object).ok()) << json;
  return object;
}

TEST(McpRedactionTest, ProxyForwardsTheRedactedArgumentsNeverTheRaw) {
  const std::string line =
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"post","arguments":{"token":"ghp_raw","n":1}}})";
  RpcParse parse = ParseRpcLine(line);
  ASSERT_TRUE(parse.ok);
  v1::DecisionRecord allow;
  allow.mutable_decision()->set_decision(v1::ALLOW);
  EXPECT_EQ(ForwardedCallLine(parse.message, line, allow), line);  // unchanged bytes

  const std::string forwarded =
      ForwardedCallLine(parse.message, line, Redacted(R"({"token":"[REDACTED]","n":1})"));
  EXPECT_EQ(forwarded.find("ghp_raw"), std::string::npos) << forwarded;
  RpcParse again = ParseRpcLine(forwarded);
  ASSERT_TRUE(again.ok) << forwarded;
  EXPECT_EQ(again.message.id_json, "7");
  EXPECT_EQ(again.message.method, "tools/call");
  const Struct& params = again.message.object.fields().at("params").struct_value();
  EXPECT_EQ(params.fields().at("name").string_value(), "post");
  const Struct& arguments = params.fields().at("arguments").struct_value();
  EXPECT_EQ(arguments.fields().at("token").string_value(), "[REDACTED]");
  EXPECT_EQ(arguments.fields().at("n").number_value(), 1);
}

TEST(McpRedactionTest, HookAnswersWithTheRedactedInput) {
  const std::string bash =
      R"({"session_id":"s","tool_name":"Bash","tool_input":{"command":"curl -H 'x: ghp_raw' h","description":"d"},"tool_use_id":"t1"})";
  auto none = UpdatedInputJson(bash, v1::DecisionRecord());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
  auto updated = UpdatedInputJson(bash, Redacted(R"({"command":"curl -H 'x: [REDACTED]' h"})"));
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  Struct input = Object(*updated);
  EXPECT_EQ(input.fields().at("command").string_value(), "curl -H 'x: [REDACTED]' h");
  EXPECT_EQ(input.fields().at("description").string_value(), "d");  // kept

  const std::string mcp =
      R"({"session_id":"s","tool_name":"mcp__gh__post","tool_input":{"token":"ghp_raw","n":1},"tool_use_id":"t2"})";
  auto mcp_input = UpdatedInputJson(mcp, Redacted(R"({"token":"[REDACTED]","n":1})"));
  ASSERT_TRUE(mcp_input.ok());
  EXPECT_EQ(mcp_input->find("ghp_raw"), std::string::npos);
  EXPECT_EQ(Object(*mcp_input).fields().at("token").string_value(), "[REDACTED]");

  // File and web tools cannot be rebuilt from their args: refused, never run raw.
  const std::string write =
      R"({"session_id":"s","tool_name":"Write","tool_input":{"file_path":"/x/ghp_raw","content":"c"},"tool_use_id":"t3"})";
  EXPECT_EQ(UpdatedInputJson(write, Redacted(R"({"path":"/x/[REDACTED]"})")).status().code(),
            StatusCode::kFailedPrecondition);

  HookAnswer answer;
  answer.permission = Permission::kAllow;
  answer.reason = "jobgate REDACT";
  answer.updated_input_json = *updated;
  Struct out = Object(HookOutputJson(answer));
  const Struct& specific = out.fields().at("hookSpecificOutput").struct_value();
  EXPECT_EQ(specific.fields().at("permissionDecision").string_value(), "allow");
  EXPECT_EQ(
      specific.fields().at("updatedInput").struct_value().fields().at("command").string_value(),
      "curl -H 'x: [REDACTED]' h");
  answer.permission = Permission::kDeny;  // updatedInput only goes with allow
  out = Object(HookOutputJson(answer));
  EXPECT_EQ(out.fields().at("hookSpecificOutput").struct_value().fields().count("updatedInput"),
            0u);
}

// ---- the hook's MCP classes --------------------------------------------------------

v1::Job McpJob() {
  HookIdentity identity;
  auto job = JobFromPreToolUse(
      R"({"session_id":"s","tool_name":"mcp__files__read_file","tool_input":{"path":"a"},"tool_use_id":"t"})",
      identity, "fallback");
  EXPECT_TRUE(job.ok());
  return *job;
}

TEST(McpHookClassTest, ApplyMcpToolClass) {
  v1::Job job = McpJob();
  EXPECT_EQ(job.topic(), "job.mcp-bridge.write.read_file");  // unknown: a write
  ApplyMcpToolClass(ToolClass::kRead, false, &job);
  EXPECT_EQ(job.topic(), "job.mcp-bridge.read.read_file");
  EXPECT_EQ(std::vector<std::string>(job.risk_tags().begin(), job.risk_tags().end()),
            std::vector<std::string>{"read"});
  EXPECT_EQ(job.labels().at("mcp.action"), "read");
  ApplyMcpToolClass(ToolClass::kDestructive, true, &job);
  EXPECT_EQ(job.topic(), "job.mcp-bridge.write.read_file");
  EXPECT_EQ(std::set<std::string>(job.risk_tags().begin(), job.risk_tags().end()),
            (std::set<std::string>{"write", "destructive", "mcp-tool-changed"}));
  EXPECT_EQ(job.labels().at("mcp.action"), "write");

  HookIdentity identity;
  auto bash = JobFromPreToolUse(
      R"({"session_id":"s","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"b"})",
      identity, "fallback");
  ASSERT_TRUE(bash.ok());
  const std::string topic = bash->topic();
  ApplyMcpToolClass(ToolClass::kRead, false, &*bash);
  EXPECT_EQ(bash->topic(), topic);  // not an MCP job: untouched
}

}  // namespace
}  // namespace jobgate::gate
