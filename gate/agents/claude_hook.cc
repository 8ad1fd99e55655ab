#include "gate/agents/claude_hook.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <cstdint>

#include "base/json.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kMaxJobIdBytes = 128;
constexpr size_t kMaxTopicTokenBytes = 128;
constexpr size_t kMaxReasonBytes = 4000;

const Value* Field(const Struct& object, const char* key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

// `*out` = object[key] when it is a string; "" when absent or null. Other types are an error.
Status OptionalString(const Struct& object, const char* where, const char* key,
                      std::string* out) {
  out->clear();
  const Value* value = Field(object, key);
  if (value == nullptr || value->kind_case() == Value::kNullValue) return Status::Ok();
  if (value->kind_case() != Value::kStringValue) {
    return InvalidArgument(std::string(where) + "." + key + " must be a string");
  }
  *out = value->string_value();
  return Status::Ok();
}

Status RequiredString(const Struct& object, const char* where, const char* key,
                      std::string* out) {
  JOBGATE_RETURN_IF_ERROR(OptionalString(object, where, key, out));
  if (out->empty()) return InvalidArgument(std::string(where) + "." + key + " is missing");
  return Status::Ok();
}

void SetString(Struct* args, const char* key, std::string value) {
  (*args->mutable_fields())[key].set_string_value(std::move(value));
}

void SetNumber(Struct* args, const char* key, double value) {
  (*args->mutable_fields())[key].set_number_value(value);
}

// Lines a text adds or removes: its newlines, plus one for an unterminated last line.
uint64_t LineCount(std::string_view text) {
  if (text.empty()) return 0;
  const auto newlines = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
  return newlines + (text.back() == '\n' ? 0 : 1);
}

// One subject token from a tool name: bytes outside [A-Za-z0-9_-] become '_', at most
// kMaxTopicTokenBytes, never empty. The exact name travels in the claude.tool label.
std::string SubjectToken(std::string_view name) {
  std::string token;
  for (const char c : name.substr(0, kMaxTopicTokenBytes)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
    token += keep ? c : '_';
  }
  return token.empty() ? "_" : token;
}

// A job id from a tool_use_id: the same byte rule plus '.', ':'; at most kMaxJobIdBytes.
std::string JobIdFrom(std::string_view tool_use_id) {
  std::string id = "claude-";
  for (const char c : tool_use_id.substr(0, kMaxJobIdBytes)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.' || c == ':';
    id += keep ? c : '_';
  }
  return id;
}

// `root` joined with a relative `filter` ("src" + "**/*.ts" -> "src/**/*.ts").
std::string JoinPath(std::string_view root, std::string_view filter) {
  if (filter.empty()) return std::string(root);
  if (filter.front() == '/' || filter.front() == '~' || root.empty()) return std::string(filter);
  std::string joined(root);
  if (joined.back() != '/') joined += '/';
  joined += filter;
  return joined;
}

struct Mapped {
  const char* topic;
  const char* capability;
};

Status MapShell(const Struct& input, const std::string& cwd, const HookIdentity& identity,
                Struct* args) {
  std::string command;
  JOBGATE_RETURN_IF_ERROR(RequiredString(input, "tool_input", "command", &command));
  SetString(args, "command", std::move(command));
  if (!cwd.empty()) SetString(args, "cwd", cwd);
  if (!identity.workspace.empty() && identity.workspace != cwd) {
    SetString(args, "workspace", identity.workspace);
  }
  return Status::Ok();
}

// Read, NotebookRead, LS: the one path they read.
Status MapRead(const Struct& input, const char* key, Struct* args) {
  std::string path;
  JOBGATE_RETURN_IF_ERROR(RequiredString(input, "tool_input", key, &path));
  SetString(args, "path", std::move(path));
  return Status::Ok();
}

// Grep and Glob search under `path` (the cwd when absent). Grep reads the files its `glob`
// selects, so that selection joined to the root is a path too ("/repo/**/.env" meets the
// secret-file globs); Glob only lists names, so only its root is.
Status MapSearch(const Struct& input, const std::string& cwd, bool reads_contents, Struct* args) {
  std::string root, pattern, filter;
  JOBGATE_RETURN_IF_ERROR(OptionalString(input, "tool_input", "path", &root));
  JOBGATE_RETURN_IF_ERROR(RequiredString(input, "tool_input", "pattern", &pattern));
  if (reads_contents) JOBGATE_RETURN_IF_ERROR(OptionalString(input, "tool_input", "glob", &filter));
  if (root.empty()) root = cwd.empty() ? "." : cwd;
  SetString(args, "pattern", std::move(pattern));
  if (filter.empty()) {
    SetString(args, "path", std::move(root));
    return Status::Ok();
  }
  auto* paths = (*args->mutable_fields())["path"].mutable_list_value();
  paths->add_values()->set_string_value(JoinPath(root, filter));
  paths->add_values()->set_string_value(std::move(root));
  return Status::Ok();
}

// Write, Edit, MultiEdit, NotebookEdit: the path and the size of the change in lines
// (added plus removed).
Status MapWrite(const std::string& tool, const Struct& input, Struct* args) {
  std::string path, text;
  uint64_t lines = 0;
  if (tool == "NotebookEdit") {
    JOBGATE_RETURN_IF_ERROR(RequiredString(input, "tool_input", "notebook_path", &path));
    JOBGATE_RETURN_IF_ERROR(OptionalString(input, "tool_input", "new_source", &text));
    lines = LineCount(text);
  } else {
    JOBGATE_RETURN_IF_ERROR(RequiredString(input, "tool_input", "file_path", &path));
  }
  if (tool == "Write") {
    JOBGATE_RETURN_IF_ERROR(OptionalString(input, "tool_input", "content", &text));
    lines = LineCount(text);
    SetNumber(args, "bytes", static_cast<double>(text.size()));
  } else if (tool == "Edit") {
    std::string old_text;
    JOBGATE_RETURN_IF_ERROR(OptionalString(input, "tool_input", "old_string", &old_text));
    JOBGATE_RETURN_IF_ERROR(OptionalString(input, "tool_input", "new_string", &text));
    lines = LineCount(old_text) + LineCount(text);
  } else if (tool == "MultiEdit") {
    const Value* edits = Field(input, "edits");
    if (edits == nullptr || edits->kind_case() != Value::kListValue) {
      return InvalidArgument("tool_input.edits must be a list");
    }
    for (const Value& edit : edits->list_value().values()) {
      if (edit.kind_case() != Value::kStructValue) {
        return InvalidArgument("tool_input.edits[] must be objects");
      }
      std::string old_text;
      JOBGATE_RETURN_IF_ERROR(OptionalString(edit.struct_value(), "edits[]", "old_string", &old_text));
      JOBGATE_RETURN_IF_ERROR(OptionalString(edit.struct_value(), "edits[]", "new_string", &text));
      lines += LineCount(old_text) + LineCount(text);
    }
  }
  SetString(args, "path", std::move(path));
  SetNumber(args, "diff_lines", static_cast<double>(lines));
  return Status::Ok();
}

Status MapWeb(const std::string& tool, const Struct& input, Struct* args) {
  std::string text;
  if (tool == "WebFetch") {
    JOBGATE_RETURN_IF_ERROR(RequiredString(input, "tool_input", "url", &text));
    SetString(args, "url", std::move(text));
    SetString(args, "method", "GET");
    return Status::Ok();
  }
  // WebSearch runs on the model provider's side: there is no URL, only the query and the
  // domains it is limited to.
  JOBGATE_RETURN_IF_ERROR(RequiredString(input, "tool_input", "query", &text));
  SetString(args, "query", std::move(text));
  for (const char* key : {"allowed_domains", "blocked_domains"}) {
    if (const Value* value = Field(input, key); value != nullptr) (*args->mutable_fields())[key] = *value;
  }
  return Status::Ok();
}

// Splits "mcp__<server>__<tool>"; false when `name` is not of that shape.
bool SplitMcpName(std::string_view name, std::string_view* server, std::string_view* tool) {
  constexpr std::string_view kPrefix = "mcp__";
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view rest = name.substr(kPrefix.size());
  const size_t split = rest.find("__");
  if (split == std::string_view::npos || split == 0 || split + 2 >= rest.size()) return false;
  *server = rest.substr(0, split);
  *tool = rest.substr(split + 2);
  return true;
}

// tool_input as the job's arguments (a non-object input becomes {"input": value}).
void CopyInput(const Value* input, Struct* args) {
  if (input == nullptr || input->kind_case() == Value::kNullValue) return;
  if (input->kind_case() == Value::kStructValue) {
    *args = input->struct_value();
  } else {
    (*args->mutable_fields())["input"] = *input;
  }
}

// Fills the topic, capability, labels and args of `job` for `tool`.
Status MapTool(const std::string& tool, const Value* input_value, const std::string& cwd,
               const HookIdentity& identity, v1::Job* job) {
  static const Struct kEmpty;
  const bool object_input = input_value != nullptr && input_value->kind_case() == Value::kStructValue;
  const Struct& input = object_input ? input_value->struct_value() : kEmpty;
  const bool known = tool == "Bash" || tool == "Read" || tool == "NotebookRead" || tool == "LS" ||
                     tool == "Grep" || tool == "Glob" || tool == "Write" || tool == "Edit" ||
                     tool == "MultiEdit" || tool == "NotebookEdit" || tool == "WebFetch" ||
                     tool == "WebSearch";
  if (known && !object_input) return InvalidArgument("tool_input of " + tool + " must be an object");
  Struct* args = job->mutable_args();
  Mapped mapped{nullptr, nullptr};
  Status status;
  if (tool == "Bash") {
    mapped = {"job.agent.shell.exec", "shell.exec"};
    status = MapShell(input, cwd, identity, args);
  } else if (tool == "Read" || tool == "NotebookRead" || tool == "LS") {
    mapped = {"job.agent.fs.read", "fs.read"};
    status = MapRead(input, tool == "Read" ? "file_path" : tool == "LS" ? "path" : "notebook_path", args);
  } else if (tool == "Grep" || tool == "Glob") {
    mapped = {"job.agent.fs.read", "fs.read"};
    status = MapSearch(input, cwd, tool == "Grep", args);
  } else if (tool == "Write" || tool == "Edit" || tool == "MultiEdit" || tool == "NotebookEdit") {
    mapped = {"job.agent.fs.write", "fs.write"};
    status = MapWrite(tool, input, args);
  } else if (tool == "WebFetch" || tool == "WebSearch") {
    mapped = {"job.agent.http.request", "http.request"};
    status = MapWeb(tool, input, args);
  }
  if (!status.ok()) return InvalidArgument(tool + ": " + status.message());
  if (mapped.topic != nullptr) {
    job->set_topic(mapped.topic);
    job->set_capability(mapped.capability);
    return Status::Ok();
  }
  std::string_view server, mcp_tool;
  if (SplitMcpName(tool, &server, &mcp_tool)) {
    // The hook cannot see the server's readOnlyHint: every MCP call is judged as a write.
    job->set_topic("job.mcp-bridge.write." + SubjectToken(mcp_tool));
    job->add_risk_tags("write");
    auto& labels = *job->mutable_labels();
    labels["mcp.server"] = std::string(server);
    labels["mcp.tool"] = std::string(mcp_tool);
    labels["mcp.action"] = "write";
  } else {
    job->set_topic("job.agent.tool." + SubjectToken(tool));
  }
  CopyInput(input_value, args);
  return Status::Ok();
}

std::string Cut(std::string_view text) {
  if (text.size() <= kMaxReasonBytes) return std::string(text);
  return std::string(text.substr(0, kMaxReasonBytes)) + "...";
}

// "jobgate DENY (rule deny-rm-broad): Recursive delete of a broad target".
std::string DecisionReason(const v1::Decision& decision) {
  std::string reason = "jobgate ";
  reason += policy::VerdictName(decision.decision());
  reason += decision.matched_rule().empty() ? std::string(" (policy defaults)")
                                            : " (rule " + decision.matched_rule() + ")";
  if (!decision.reason().empty()) reason += ": " + decision.reason();
  return reason;
}

}  // namespace

Result<v1::Job> JobFromPreToolUse(std::string_view payload, const HookIdentity& identity,
                                  std::string_view fallback_job_id) {
  Struct root;
  if (Status s = subjects::FromJson(payload, &root); !s.ok()) {
    return InvalidArgument("hook input is not a JSON object: " + s.message());
  }
  std::string tool, session, cwd, tool_use_id;
  JOBGATE_RETURN_IF_ERROR(RequiredString(root, "hook input", "tool_name", &tool));
  JOBGATE_RETURN_IF_ERROR(OptionalString(root, "hook input", "session_id", &session));
  JOBGATE_RETURN_IF_ERROR(OptionalString(root, "hook input", "cwd", &cwd));
  JOBGATE_RETURN_IF_ERROR(OptionalString(root, "hook input", "tool_use_id", &tool_use_id));

  v1::Job job;
  job.set_job_id(tool_use_id.empty() ? std::string(fallback_job_id) : JobIdFrom(tool_use_id));
  if (job.job_id().empty()) return InvalidArgument("no tool_use_id and no fallback job id");
  job.set_tenant_id(identity.tenant.empty() ? "default" : identity.tenant);
  if (!identity.environment.empty()) job.set_environment(identity.environment);
  v1::Actor* actor = job.mutable_actor();
  actor->set_type("agent");
  actor->set_agent_id(identity.agent_id);
  actor->set_session_id(session);
  actor->set_owner(identity.owner);
  actor->set_team(identity.team);
  (*job.mutable_labels())["claude.tool"] = tool;
  JOBGATE_RETURN_IF_ERROR(MapTool(tool, Field(root, "tool_input"), cwd, identity, &job));
  return job;
}

std::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kAllow:
      return "allow";
    case Permission::kAsk:
      return "ask";
    case Permission::kDeny:
      break;
  }
  return "deny";
}

Result<Permission> ParsePermission(std::string_view name) {
  if (name == "allow") return Permission::kAllow;
  if (name == "ask") return Permission::kAsk;
  if (name == "deny") return Permission::kDeny;
  return InvalidArgument("'" + std::string(name) + "' is not allow, ask or deny");
}

bool McpToolOfJob(const v1::Job& job, std::string* server, std::string* tool) {
  auto server_label = job.labels().find("mcp.server");
  auto tool_label = job.labels().find("mcp.tool");
  if (server_label == job.labels().end() || tool_label == job.labels().end()) return false;
  *server = server_label->second;
  *tool = tool_label->second;
  return true;
}

void ApplyMcpToolClass(ToolClass tool_class, bool changed, v1::Job* job) {
  std::string server, tool;
  if (!McpToolOfJob(*job, &server, &tool)) return;
  const std::string action = tool_class == ToolClass::kRead ? "read" : "write";
  job->set_topic("job.mcp-bridge." + action + "." + SubjectToken(tool));
  auto* tags = job->mutable_risk_tags();
  tags->erase(std::remove_if(tags->begin(), tags->end(),
                             [](const std::string& tag) {
                               return tag == "read" || tag == "write" || tag == "destructive";
                             }),
              tags->end());
  job->add_risk_tags(action);
  if (tool_class == ToolClass::kDestructive) job->add_risk_tags("destructive");
  if (changed) job->add_risk_tags("mcp-tool-changed");
  (*job->mutable_labels())["mcp.action"] = action;
}

Result<std::string> UpdatedInputJson(std::string_view payload, const v1::DecisionRecord& judged) {
  if (judged.decision().redactions().empty()) return std::string();
  Struct root;
  if (Status s = subjects::FromJson(payload, &root); !s.ok()) {
    return InvalidArgument("hook input is not a JSON object: " + s.message());
  }
  std::string tool;
  JOBGATE_RETURN_IF_ERROR(RequiredString(root, "hook input", "tool_name", &tool));
  const Value* input = Field(root, "tool_input");
  const Struct& args = judged.job().args();
  Struct updated;
  if (tool == "Bash") {
    if (input == nullptr || input->kind_case() != Value::kStructValue) {
      return InvalidArgument("tool_input of Bash must be an object");
    }
    updated = input->struct_value();
    const Value* command = Field(args, "command");
    if (command == nullptr || command->kind_case() != Value::kStringValue) {
      return FailedPrecondition("the gate redacted the command away entirely");
    }
    (*updated.mutable_fields())["command"] = *command;
  } else if (tool == "Read" || tool == "NotebookRead" || tool == "LS" || tool == "Grep" ||
             tool == "Glob" || tool == "Write" || tool == "Edit" || tool == "MultiEdit" ||
             tool == "NotebookEdit" || tool == "WebFetch" || tool == "WebSearch") {
    return FailedPrecondition("the gate redacted part of this " + tool +
                              " call, whose input the hook cannot rewrite; not run");
  } else if (input != nullptr && input->kind_case() == Value::kStructValue) {
    updated = args;  // MCP and other tools: the args are the input
  } else {
    return FailedPrecondition("the gate redacted this " + tool +
                              " call, whose input is not an object; not run");
  }
  return subjects::ToJson(updated);
}

bool IsUnresolvedHold(const v1::DecisionRecord& record) {
  const std::string& outcome = record.approval().outcome();
  if (outcome == "APPROVED" || outcome == "REJECTED" || outcome == "EXPIRED") return false;
  return record.decision().decision() == v1::REQUIRE_APPROVAL || outcome == "PENDING" ||
         outcome == "REFUSED";
}

HookAnswer AnswerForRecord(const v1::DecisionRecord& record) {
  const v1::Decision& decision = record.decision();
  const v1::Approval& approval = record.approval();
  HookAnswer answer;
  const std::string who = approval.approver().empty() ? "" : " by " + approval.approver();
  const std::string why = approval.reason().empty() ? "" : ": " + approval.reason();
  if (approval.outcome() == "APPROVED") {
    answer.permission = Permission::kAllow;
    answer.reason = "jobgate: approved" + who + why;
    return answer;
  }
  if (approval.outcome() == "REJECTED") {
    answer.reason = "jobgate: approval rejected" + who + why;
    return answer;
  }
  if (approval.outcome() == "EXPIRED") {
    answer.reason = "jobgate: the approval request expired unanswered";
    return answer;
  }
  answer.reason = DecisionReason(decision);
  switch (decision.decision()) {
    case v1::ALLOW:
    case v1::ALLOW_WITH_CONSTRAINTS:
    case v1::ALERT:
    case v1::REDACT:
    case v1::THROTTLE:
      answer.permission = Permission::kAllow;
      if (decision.has_constraints() && decision.constraints().ByteSizeLong() > 0) {
        answer.reason += "; constraints " + subjects::ToJson(decision.constraints());
      }
      return answer;
    case v1::REQUIRE_APPROVAL:
      answer.permission = Permission::kAsk;
      answer.reason += "; held for approval" +
                       (decision.approver_role().empty() ? std::string()
                                                         : " by role " + decision.approver_role()) +
                       " as job " + decision.job_id();
      return answer;
    case v1::TERMINATE:
      answer.stop = true;
      return answer;
    default:
      return answer;  // DENY and anything unknown
  }
}

HookAnswer AnswerForError(Permission on_error, std::string_view what) {
  HookAnswer answer;
  answer.permission = on_error;
  answer.reason = "jobgate gave no decision (" + std::string(what) + "); on error: " +
                  std::string(PermissionName(on_error));
  return answer;
}

std::string HookOutputJson(const HookAnswer& answer) {
  const std::string reason = Cut(answer.reason);
  std::string out = R"({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": ")";
  out += PermissionName(answer.permission);
  out += R"(", "permissionDecisionReason": )";
  AppendJsonString(reason, &out);
  if (answer.permission == Permission::kAllow && !answer.updated_input_json.empty()) {
    out += R"(, "updatedInput": )";
    out += answer.updated_input_json;
  }
  out += '}';
  if (answer.stop) {
    out += R"(, "continue": false, "stopReason": )";
    AppendJsonString(reason, &out);
  }
  out += '}';
  return out;
}

}  // namespace jobgate::gate
