#include "gate/agents/mcp_mapping.h"

#include <spdlog/fmt/fmt.h>

#include <cmath>

#include "gate/agents/claude_hook.h"
#include "base/json.h"
#include "base/hash.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kMaxTopicTokenBytes = 128;
constexpr size_t kMaxToolErrorBytes = 4000;

const Value* Field(const Struct& object, const char* key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

// The id as JSON text; false when it is not a string, a number or null.
bool IdJson(const Value& id, std::string* out) {
  out->clear();
  switch (id.kind_case()) {
    case Value::kStringValue:
      AppendJsonString(id.string_value(), out);
      return true;
    case Value::kNumberValue: {
      const double n = id.number_value();
      if (std::isfinite(n) && std::trunc(n) == n && std::fabs(n) < 9.2e18) {
        *out = fmt::format("{}", static_cast<int64_t>(n));
      } else {
        *out = fmt::format("{}", n);
      }
      return true;
    }
    case Value::kNullValue:
      *out = "null";
      return true;
    default:
      return false;
  }
}

// A hint's value: the boolean when present and boolean, else `fallback`.
bool Hint(const Struct* annotations, const char* key, bool fallback) {
  if (annotations == nullptr) return fallback;
  const Value* value = Field(*annotations, key);
  if (value == nullptr || value->kind_case() != Value::kBoolValue) return fallback;
  return value->bool_value();
}

std::string Cut(std::string_view text) {
  if (text.size() <= kMaxToolErrorBytes) return std::string(text);
  return std::string(text.substr(0, kMaxToolErrorBytes)) + "...";
}

// `value` as JSON with object keys in byte order, numbers as %.17g.
void AppendCanonicalJson(const Value& value, std::string* out) {
  switch (value.kind_case()) {
    case Value::kStructValue: {
      std::map<std::string_view, const Value*> sorted;
      for (const auto& [key, field] : value.struct_value().fields()) sorted[key] = &field;
      *out += '{';
      bool first = true;
      for (const auto& [key, field] : sorted) {
        if (!first) *out += ',';
        first = false;
        AppendJsonString(key, out);
        *out += ':';
        AppendCanonicalJson(*field, out);
      }
      *out += '}';
      return;
    }
    case Value::kListValue: {
      *out += '[';
      bool first = true;
      for (const Value& item : value.list_value().values()) {
        if (!first) *out += ',';
        first = false;
        AppendCanonicalJson(item, out);
      }
      *out += ']';
      return;
    }
    case Value::kStringValue:
      AppendJsonString(value.string_value(), out);
      return;
    case Value::kNumberValue:
      *out += fmt::format("{:.17g}", value.number_value());
      return;
    case Value::kBoolValue:
      *out += value.bool_value() ? "true" : "false";
      return;
    default:
      *out += "null";
      return;
  }
}

RpcParse Fail(int code, std::string message, std::string id_json = "") {
  RpcParse parse;
  parse.error.code = code;
  parse.error.message = std::move(message);
  parse.error.id_json = std::move(id_json);
  return parse;
}

}  // namespace

RpcParse ParseRpcLine(std::string_view line) {
  Value root;
  if (Status s = subjects::FromJson(line, &root); !s.ok()) {
    return Fail(kRpcParseError, "Parse error: " + s.message());
  }
  if (root.kind_case() == Value::kListValue) {
    return Fail(kRpcInvalidRequest, "Invalid Request: JSON-RPC batches are not supported");
  }
  if (root.kind_case() != Value::kStructValue) {
    return Fail(kRpcInvalidRequest, "Invalid Request: not a JSON-RPC message object");
  }
  RpcParse parse;
  RpcMessage& message = parse.message;
  message.object = std::move(*root.mutable_struct_value());
  const Struct& object = message.object;
  std::string id_json;
  const Value* id = Field(object, "id");
  if (id != nullptr && !IdJson(*id, &id_json)) {
    return Fail(kRpcInvalidRequest, "Invalid Request: id must be a string or a number");
  }
  const Value* version = Field(object, "jsonrpc");
  if (version == nullptr || version->kind_case() != Value::kStringValue ||
      version->string_value() != "2.0") {
    return Fail(kRpcInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"", id_json);
  }
  message.id_json = id_json;
  const Value* method = Field(object, "method");
  if (method != nullptr) {
    if (method->kind_case() != Value::kStringValue || method->string_value().empty()) {
      return Fail(kRpcInvalidRequest, "Invalid Request: method must be a string", id_json);
    }
    message.method = method->string_value();
    message.kind = id == nullptr ? RpcKind::kNotification : RpcKind::kRequest;
    if (Field(object, "result") != nullptr || Field(object, "error") != nullptr) {
      return Fail(kRpcInvalidRequest, "Invalid Request: a request has no result or error", id_json);
    }
    parse.ok = true;
    return parse;
  }
  const bool has_result = Field(object, "result") != nullptr;
  const bool has_error = Field(object, "error") != nullptr;
  if (id == nullptr || has_result == has_error) {
    return Fail(kRpcInvalidRequest,
                "Invalid Request: neither a request, a notification nor a response", id_json);
  }
  message.kind = RpcKind::kResponse;
  parse.ok = true;
  return parse;
}

std::string_view ToolClassName(ToolClass tool_class) {
  switch (tool_class) {
    case ToolClass::kRead:
      return "read";
    case ToolClass::kWrite:
      return "write";
    case ToolClass::kDestructive:
      break;
  }
  return "destructive";
}

Result<ToolClass> ParseToolClass(std::string_view name) {
  if (name == "read") return ToolClass::kRead;
  if (name == "write") return ToolClass::kWrite;
  if (name == "destructive") return ToolClass::kDestructive;
  return InvalidArgument("'" + std::string(name) + "' is not read, write or destructive");
}

ToolClass ClassFromToolEntry(const Struct& tool) {
  const Value* annotations = Field(tool, "annotations");
  const Struct* hints = annotations != nullptr && annotations->kind_case() == Value::kStructValue
                            ? &annotations->struct_value()
                            : nullptr;
  if (Hint(hints, "readOnlyHint", false)) return ToolClass::kRead;
  return Hint(hints, "destructiveHint", true) ? ToolClass::kDestructive : ToolClass::kWrite;
}

std::map<std::string, ToolClass> ToolClassesFromListResult(const Struct& result,
                                                           std::string* next_cursor) {
  std::map<std::string, ToolClass> classes;
  next_cursor->clear();
  if (const Value* cursor = Field(result, "nextCursor");
      cursor != nullptr && cursor->kind_case() == Value::kStringValue) {
    *next_cursor = cursor->string_value();
  }
  const Value* tools = Field(result, "tools");
  if (tools == nullptr || tools->kind_case() != Value::kListValue) return classes;
  for (const Value& entry : tools->list_value().values()) {
    if (entry.kind_case() != Value::kStructValue) continue;
    const Value* name = Field(entry.struct_value(), "name");
    if (name == nullptr || name->kind_case() != Value::kStringValue) continue;
    classes[name->string_value()] = ClassFromToolEntry(entry.struct_value());
  }
  return classes;
}

std::map<std::string, std::string> ToolFingerprintsFromListResult(const Struct& result) {
  std::map<std::string, std::string> fingerprints;
  const Value* tools = Field(result, "tools");
  if (tools == nullptr || tools->kind_case() != Value::kListValue) return fingerprints;
  for (const Value& entry : tools->list_value().values()) {
    if (entry.kind_case() != Value::kStructValue) continue;
    const Struct& tool = entry.struct_value();
    const Value* name = Field(tool, "name");
    if (name == nullptr || name->kind_case() != Value::kStringValue) continue;
    std::string canonical;
    for (const char* key : {"description", "inputSchema", "annotations"}) {
      const Value* part = Field(tool, key);
      AppendJsonString(key, &canonical);
      canonical += '=';
      if (part == nullptr) {
        canonical += "absent";
      } else {
        AppendCanonicalJson(*part, &canonical);
      }
      canonical += ';';
    }
    fingerprints[name->string_value()] = jobgate::Sha256Hex(canonical);
  }
  return fingerprints;
}

Result<std::map<std::string, ToolClass>> ParseToolClassOverrides(
    const std::vector<std::string>& specs) {
  std::map<std::string, ToolClass> overrides;
  for (const std::string& spec : specs) {
    const size_t equals = spec.rfind('=');
    if (equals == std::string::npos || equals == 0) {
      return InvalidArgument("--tool-class '" + spec + "' is not NAME=read|write|destructive");
    }
    auto tool_class = ParseToolClass(std::string_view(spec).substr(equals + 1));
    if (!tool_class.ok())
      return InvalidArgument("--tool-class '" + spec + "': " + tool_class.status().message());
    overrides[spec.substr(0, equals)] = *tool_class;
  }
  return overrides;
}

std::string McpSubjectToken(std::string_view name) {
  std::string token;
  for (const char c : name.substr(0, kMaxTopicTokenBytes)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
    token += keep ? c : '_';
  }
  return token.empty() ? "_" : token;
}

Result<std::string> ToolCallName(const RpcMessage& call) {
  const Value* params = Field(call.object, "params");
  if (params == nullptr || params->kind_case() != Value::kStructValue) {
    return InvalidArgument("tools/call needs a params object");
  }
  const Value* name = Field(params->struct_value(), "name");
  if (name == nullptr || name->kind_case() != Value::kStringValue || name->string_value().empty()) {
    return InvalidArgument("tools/call needs params.name, a string");
  }
  return name->string_value();
}

Result<v1::Job> JobFromToolCall(const RpcMessage& call, ToolClass tool_class,
                                const McpProxyIdentity& identity, std::string_view job_id) {
  auto name = ToolCallName(call);
  if (!name.ok()) return name.status();
  const Struct& params = Field(call.object, "params")->struct_value();
  const Value* arguments = Field(params, "arguments");
  if (arguments != nullptr && arguments->kind_case() != Value::kStructValue &&
      arguments->kind_case() != Value::kNullValue) {
    return InvalidArgument("tools/call params.arguments must be an object");
  }
  if (job_id.empty()) return InvalidArgument("no job id");
  v1::Job job;
  job.set_job_id(std::string(job_id));
  job.set_tenant_id(identity.tenant.empty() ? "default" : identity.tenant);
  if (!identity.environment.empty()) job.set_environment(identity.environment);
  const bool read = tool_class == ToolClass::kRead;
  const std::string action = read ? "read" : "write";
  job.set_topic("job.mcp-bridge." + action + "." + McpSubjectToken(*name));
  job.add_risk_tags(action);
  if (tool_class == ToolClass::kDestructive) job.add_risk_tags("destructive");
  for (const std::string& tag : identity.risk_tags) {
    if (!tag.empty()) job.add_risk_tags(tag);
  }
  v1::Actor* actor = job.mutable_actor();
  actor->set_type("agent");
  actor->set_agent_id(identity.agent_id);
  actor->set_owner(identity.owner);
  auto& labels = *job.mutable_labels();
  labels["mcp.server"] = identity.server_name;
  labels["mcp.tool"] = *name;
  labels["mcp.action"] = action;
  if (arguments != nullptr && arguments->kind_case() == Value::kStructValue) {
    *job.mutable_args() = arguments->struct_value();
  }
  return job;
}

std::string ToolErrorAnswer(std::string_view id_json, std::string_view text) {
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += id_json.empty() ? std::string_view("null") : id_json;
  out += R"(,"result":{"content":[{"type":"text","text":)";
  AppendJsonString(Cut(text), &out);
  out += R"(}],"isError":true}})";
  return out;
}

std::string RpcErrorAnswer(std::string_view id_json, int code, std::string_view message) {
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += id_json.empty() ? std::string_view("null") : id_json;
  out += R"(,"error":{"code":)" + std::to_string(code) + R"(,"message":)";
  AppendJsonString(Cut(message), &out);
  out += "}}";
  return out;
}

std::string ToolsListRequest(std::string_view id_json, std::string_view cursor) {
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += id_json;
  out += R"(,"method":"tools/list")";
  if (!cursor.empty()) {
    out += R"(,"params":{"cursor":)";
    AppendJsonString(cursor, &out);
    out += '}';
  }
  out += '}';
  return out;
}

CallVerdict VerdictForRecord(const v1::DecisionRecord& record) {
  // The hook's answer already maps every verdict and approval outcome; the proxy keeps
  // its three outcomes.
  const HookAnswer answer = AnswerForRecord(record);
  CallVerdict verdict;
  verdict.reason = answer.reason;
  switch (answer.permission) {
    case Permission::kAllow:
      verdict.outcome = CallOutcome::kForward;
      break;
    case Permission::kAsk:
      verdict.outcome = CallOutcome::kHeld;
      break;
    case Permission::kDeny:
      verdict.outcome = CallOutcome::kRefuse;
      break;
  }
  return verdict;
}

std::string ForwardedCallLine(const RpcMessage& call, std::string_view line,
                              const v1::DecisionRecord& judged) {
  if (judged.decision().redactions().empty()) return std::string(line);
  Struct object = call.object;
  Value& params = (*object.mutable_fields())["params"];
  *(*params.mutable_struct_value()->mutable_fields())["arguments"].mutable_struct_value() =
      judged.job().args();
  return subjects::ToJson(object);
}

ClientStep StepForClientLine(std::string_view line) {
  ClientStep step;
  RpcParse parse = ParseRpcLine(line);
  if (!parse.ok) {
    step.answer = RpcErrorAnswer(parse.error.id_json, parse.error.code, parse.error.message);
    return step;
  }
  const RpcMessage& message = parse.message;
  if (message.method == "tools/call") {
    if (message.kind != RpcKind::kRequest || message.id_json == "null") {
      step.answer = RpcErrorAnswer("", kRpcInvalidRequest,
                                   "Invalid Request: tools/call must be a request with an id");
      return step;
    }
    if (auto name = ToolCallName(message); !name.ok()) {
      step.answer = RpcErrorAnswer(message.id_json, kRpcInvalidParams,
                                   "Invalid params: " + name.status().message());
      return step;
    }
    step.action = ClientAction::kJudge;
  } else {
    step.action = ClientAction::kForward;
  }
  step.message = std::move(parse.message);
  return step;
}

}  // namespace jobgate::gate
