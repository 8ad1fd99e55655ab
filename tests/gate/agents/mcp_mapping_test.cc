// The MCP gateway's pure mapping: message classification, tool classes from tools/list
// with the specification's defaults, the job of a tools/call, the answers the proxy
// writes, and generated malformed lines by the thousand (each answered, none forwarded).
#include "gate/agents/mcp_mapping.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

using google::protobuf::Struct;

Struct ParseObject(const std::string& json) {
  Struct object;
  EXPECT_TRUE(subjects::FromJson(json, &object).ok()) << json;
  return object;
}

RpcMessage Message(const std::string& line) {
  RpcParse parse = ParseRpcLine(line);
  EXPECT_TRUE(parse.ok) << line << ": " << parse.error.message;
  return parse.message;
}

TEST(McpMappingTest, ClassifiesMessages) {
  EXPECT_EQ(Message(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})").kind, RpcKind::kRequest);
  EXPECT_EQ(Message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").kind,
            RpcKind::kNotification);
  EXPECT_EQ(Message(R"({"jsonrpc":"2.0","id":"a","result":{}})").kind, RpcKind::kResponse);
  EXPECT_EQ(Message(R"({"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}})").kind,
            RpcKind::kResponse);
  EXPECT_EQ(Message(R"({"jsonrpc":"2.0","id":42,"method":"x"})").id_json, "42");
  EXPECT_EQ(Message(R"({"jsonrpc":"2.0","id":"q\"1","method":"x"})").id_json, R"("q\"1")");

  struct Bad {
    const char* line;
    int code;
  };
  for (const Bad& bad : {
           Bad{"", kRpcParseError},
           Bad{"{", kRpcParseError},
           Bad{R"({"jsonrpc":"2.0","id":1,"id":2,"method":"x"})", kRpcParseError},
           Bad{"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}", kRpcParseError},
           Bad{R"({"jsonrpc":"2.0","id":1,"method":"x"} trailing)", kRpcParseError},
           Bad{R"([{"jsonrpc":"2.0","id":1,"method":"tools/call"}])", kRpcInvalidRequest},
           Bad{R"("just a string")", kRpcInvalidRequest},
           Bad{R"({"id":1,"method":"x"})", kRpcInvalidRequest},
           Bad{R"({"jsonrpc":"1.0","id":1,"method":"x"})", kRpcInvalidRequest},
           Bad{R"({"jsonrpc":"2.0","id":{},"method":"x"})", kRpcInvalidRequest},
           Bad{R"({"jsonrpc":"2.0","id":1,"method":7})", kRpcInvalidRequest},
           Bad{R"({"jsonrpc":"2.0","id":1,"method":"x","result":{}})", kRpcInvalidRequest},
           Bad{R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})", kRpcInvalidRequest},
           Bad{R"({"jsonrpc":"2.0","result":{}})", kRpcInvalidRequest},
       }) {
    const RpcParse parse = ParseRpcLine(bad.line);
    EXPECT_FALSE(parse.ok) << bad.line;
    EXPECT_EQ(parse.error.code, bad.code) << bad.line;
  }
  // Deep nesting is refused before protobuf's parser sees it.
  EXPECT_FALSE(ParseRpcLine(std::string(100000, '[')).ok);
}

TEST(McpMappingTest, ToolClassesFollowTheSpecificationDefaults) {
  std::string cursor;
  const auto classes = ToolClassesFromListResult(ParseObject(R"({"tools":[
      {"name":"r","annotations":{"readOnlyHint":true}},
      {"name":"r2","annotations":{"readOnlyHint":true,"destructiveHint":true}},
      {"name":"w","annotations":{"destructiveHint":false}},
      {"name":"d","annotations":{"readOnlyHint":false,"destructiveHint":true}},
      {"name":"plain"},
      {"name":"odd","annotations":{"readOnlyHint":"yes","destructiveHint":0}},
      {"name":7},{"title":"no name"},"not an object"],
      "nextCursor":"page2"})"),
                                                 &cursor);
  EXPECT_EQ(cursor, "page2");
  ASSERT_EQ(classes.size(), 6u);
  EXPECT_EQ(classes.at("r"), ToolClass::kRead);
  EXPECT_EQ(classes.at("r2"), ToolClass::kRead);
  EXPECT_EQ(classes.at("w"), ToolClass::kWrite);
  EXPECT_EQ(classes.at("d"), ToolClass::kDestructive);
  EXPECT_EQ(classes.at("plain"), ToolClass::kDestructive);
  EXPECT_EQ(classes.at("odd"), ToolClass::kDestructive);  // non-boolean hints count as absent
}

TEST(McpMappingTest, FingerprintsSeeContentNotKeyOrder) {
  const auto a = ToolFingerprintsFromListResult(ParseObject(
      R"({"tools":[{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{},"b":{}}}}]})"));
  const auto b = ToolFingerprintsFromListResult(ParseObject(
      R"({"tools":[{"inputSchema":{"properties":{"b":{},"a":{}},"type":"object"},"description":"d","name":"t"}]})"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a.at("t"), b.at("t"));
  for (
      const char* changed : {
          R"({"tools":[{"name":"t","description":"d2","inputSchema":{"type":"object","properties":{"a":{},"b":{}}}}]})",
          R"({"tools":[{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{}}}}]})",
          R"({"tools":[{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{},"b":{}}},"annotations":{"readOnlyHint":true}}]})",
          R"({"tools":[{"name":"t","inputSchema":{"type":"object","properties":{"a":{},"b":{}}}}]})",
      }) {
    EXPECT_NE(ToolFingerprintsFromListResult(ParseObject(changed)).at("t"), a.at("t")) << changed;
  }
}

TEST(McpMappingTest, ToolClassOverrides) {
  auto overrides = ParseToolClassOverrides({"a=read", "b=write", "c.d=destructive", "e=f=read"});
  ASSERT_TRUE(overrides.ok());
  EXPECT_EQ(overrides->at("a"), ToolClass::kRead);
  EXPECT_EQ(overrides->at("b"), ToolClass::kWrite);
  EXPECT_EQ(overrides->at("c.d"), ToolClass::kDestructive);
  EXPECT_EQ(overrides->at("e=f"), ToolClass::kRead);
  for (const char* bad : {"a", "=read", "a=", "a=readonly"}) {
    EXPECT_FALSE(ParseToolClassOverrides({bad}).ok()) << bad;
  }
}

TEST(McpMappingTest, ToolCallBecomesAJob) {
  McpProxyIdentity identity;
  identity.server_name = "github";
  identity.environment = "prod";
  identity.risk_tags = {"external"};
  const RpcMessage call = Message(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create.issue/x","arguments":{"title":"t","n":2}}})");
  auto job = JobFromToolCall(call, ToolClass::kDestructive, identity, "mcp-1");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->topic(), "job.mcp-bridge.write.create_issue_x");
  EXPECT_EQ(job->job_id(), "mcp-1");
  EXPECT_EQ(job->tenant_id(), "default");
  EXPECT_EQ(job->environment(), "prod");
  ASSERT_EQ(job->risk_tags_size(), 3);
  EXPECT_EQ(job->risk_tags(0), "write");
  EXPECT_EQ(job->risk_tags(1), "destructive");
  EXPECT_EQ(job->risk_tags(2), "external");
  EXPECT_EQ(job->labels().at("mcp.server"), "github");
  EXPECT_EQ(job->labels().at("mcp.tool"), "create.issue/x");
  EXPECT_EQ(job->labels().at("mcp.action"), "write");
  EXPECT_EQ(job->args().fields().at("title").string_value(), "t");
  EXPECT_EQ(job->actor().type(), "agent");

  auto read = JobFromToolCall(call, ToolClass::kRead, identity, "mcp-2");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->topic(), "job.mcp-bridge.read.create_issue_x");
  EXPECT_EQ(read->labels().at("mcp.action"), "read");
  EXPECT_EQ(read->risk_tags(0), "read");
  EXPECT_EQ(read->risk_tags_size(), 2);

  auto write = JobFromToolCall(call, ToolClass::kWrite, identity, "mcp-3");
  ASSERT_TRUE(write.ok());
  EXPECT_EQ(write->risk_tags_size(), 2);  // write, external

  for (
      const char* bad : {
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})",
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]})",
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":""}})",
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":3}})",
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1]}})",
      }) {
    EXPECT_FALSE(JobFromToolCall(Message(bad), ToolClass::kRead, identity, "mcp-4").ok()) << bad;
  }
}

TEST(McpMappingTest, SubjectTokensAreAlwaysOneValidToken) {
  EXPECT_EQ(McpSubjectToken(""), "_");
  EXPECT_EQ(McpSubjectToken("a.b c>*"), "a_b_c__");
  EXPECT_EQ(McpSubjectToken(std::string(500, 'x')).size(), 128u);
}

TEST(McpMappingTest, AnswersAreValidJsonRpc) {
  const std::string error = ToolErrorAnswer("7", "refused \"x\"\n\xff");
  const Struct parsed = ParseObject(error);
  EXPECT_EQ(parsed.fields().at("id").number_value(), 7);
  const auto& result = parsed.fields().at("result").struct_value().fields();
  EXPECT_TRUE(result.at("isError").bool_value());
  EXPECT_EQ(
      result.at("content").list_value().values(0).struct_value().fields().at("text").string_value(),
      "refused \"x\"\n\xef\xbf\xbd");
  const Struct rpc = ParseObject(RpcErrorAnswer("", kRpcParseError, "bad"));
  EXPECT_EQ(rpc.fields().at("id").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(rpc.fields().at("error").struct_value().fields().at("code").number_value(), -32700);
  EXPECT_TRUE(ParseRpcLine(ToolsListRequest("\"own-1\"", "c\"2")).ok);
}

TEST(McpMappingTest, DecisionsBecomeOutcomes) {
  v1::DecisionRecord record;
  record.mutable_decision()->set_decision(v1::ALLOW);
  EXPECT_EQ(VerdictForRecord(record).outcome, CallOutcome::kForward);
  record.mutable_decision()->set_decision(v1::DENY);
  record.mutable_decision()->set_reason("no");
  EXPECT_EQ(VerdictForRecord(record).outcome, CallOutcome::kRefuse);
  EXPECT_NE(VerdictForRecord(record).reason.find("no"), std::string::npos);
  record.mutable_decision()->set_decision(v1::TERMINATE);
  EXPECT_EQ(VerdictForRecord(record).outcome, CallOutcome::kRefuse);
  record.mutable_decision()->set_decision(v1::REQUIRE_APPROVAL);
  EXPECT_EQ(VerdictForRecord(record).outcome, CallOutcome::kHeld);
  record.mutable_approval()->set_outcome("APPROVED");
  EXPECT_EQ(VerdictForRecord(record).outcome, CallOutcome::kForward);
  record.mutable_approval()->set_outcome("REJECTED");
  EXPECT_EQ(VerdictForRecord(record).outcome, CallOutcome::kRefuse);
  record.mutable_approval()->set_outcome("EXPIRED");
  EXPECT_EQ(VerdictForRecord(record).outcome, CallOutcome::kRefuse);
}

TEST(McpMappingTest, ClientSteps) {
  EXPECT_EQ(StepForClientLine(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})").action,
            ClientAction::kForward);
  EXPECT_EQ(StepForClientLine(R"({"jsonrpc":"2.0","id":1,"result":{}})").action,
            ClientAction::kForward);
  EXPECT_EQ(
      StepForClientLine(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}})")
          .action,
      ClientAction::kJudge);
  // A tools/call that could not be answered is never forwarded.
  for (const char* unanswerable : {
           R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}})",
           R"({"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"x"}})",
       }) {
    EXPECT_EQ(StepForClientLine(unanswerable).action, ClientAction::kAnswer) << unanswerable;
  }
  const ClientStep no_name =
      StepForClientLine(R"({"jsonrpc":"2.0","id":"z","method":"tools/call","params":{}})");
  EXPECT_EQ(no_name.action, ClientAction::kAnswer);
  EXPECT_NE(no_name.answer.find(R"("id":"z")"), std::string::npos);
  EXPECT_NE(no_name.answer.find("-32602"), std::string::npos);
}

// Mutations of valid messages: every step is one of the three, an answer is always valid
// JSON-RPC with an error or a tool error, and a line that is not a tools/call request
// with a name is never judged.
TEST(McpMappingTest, GeneratedLinesAlwaysGetOneStep) {
  const std::vector<std::string> seeds = {
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_all","arguments":{"path":"/"}}})",
      R"({"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"cursor":"x"}})",
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})",
      R"({"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"x","annotations":{"readOnlyHint":true}}]}})",
  };
  const std::string alphabet = "{}[]\":,\\ 0123456789.-eEtrufalsn\xff\xc3\x80\x01";
  std::mt19937 random(2025);
  int answered = 0, judged = 0, forwarded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = seeds[random() % seeds.size()];
    for (int edits = 1 + random() % 4; edits > 0; --edits) {
      const size_t at = random() % (line.size() + 1);
      switch (random() % 3) {
        case 0:
          line.insert(at, 1, alphabet[random() % alphabet.size()]);
          break;
        case 1:
          if (at < line.size()) line.erase(at, 1 + random() % 8);
          break;
        default:
          line = line.substr(0, at);
          break;
      }
    }
    const ClientStep step = StepForClientLine(line);
    switch (step.action) {
      case ClientAction::kAnswer: {
        ++answered;
        RpcParse answer = ParseRpcLine(step.answer);
        ASSERT_TRUE(answer.ok) << line << "\n" << step.answer;
        EXPECT_EQ(answer.message.kind, RpcKind::kResponse);
        break;
      }
      case ClientAction::kJudge:
        ++judged;
        EXPECT_EQ(step.message.method, "tools/call");
        EXPECT_EQ(step.message.kind, RpcKind::kRequest);
        EXPECT_TRUE(ToolCallName(step.message).ok());
        break;
      case ClientAction::kForward:
        ++forwarded;
        EXPECT_NE(step.message.method, "tools/call") << line;
        break;
    }
  }
  EXPECT_GT(answered, 10000);
  EXPECT_GT(judged, 0);
  EXPECT_GT(forwarded, 0);
}

}  // namespace
}  // namespace jobgate::gate
