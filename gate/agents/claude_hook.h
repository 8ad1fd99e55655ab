// Claude Code's PreToolUse hook, the pure part: a hook payload becomes the job jobgate
// judges, and the gate's decision record becomes the hook's answer. No I/O, no clock, no
// randomness; thread-safe. `jobgate hook claude-code` (cli/hook_command.cc) does the I/O.
//
// Mapping (docs/integrations.md has the table):
//   Bash                              -> job.agent.shell.exec   args.command, args.cwd
//   Read, NotebookRead, LS            -> job.agent.fs.read      args.path
//   Grep, Glob                        -> job.agent.fs.read      args.path (+ the filter)
//   Write, Edit, MultiEdit, NotebookEdit
//                                     -> job.agent.fs.write     args.path, args.diff_lines
//   WebFetch, WebSearch               -> job.agent.http.request args.url | args.query
//   mcp__<server>__<tool>             -> job.mcp-bridge.write.<tool>, labels mcp.*, until
//                                        ApplyMcpToolClass gives the tool's class
//   anything else                     -> job.agent.tool.<name>  args = tool_input
// Every job: actor.type "agent", actor.session_id = session_id, label claude.tool = the
// tool's name, job_id "claude-" + tool_use_id.
// A payload that cannot be judged (not a JSON object, no tool_name, a known tool without
// its required input or with mistyped input) is an error, never a guess.
#pragma once

#include <string>
#include <string_view>

#include "gate/agents/mcp_mapping.h"
#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::gate {

// Who the agent is, from flags or the environment (the payload does not say).
struct HookIdentity {
  std::string agent_id = "claude-code";
  std::string owner;
  std::string team;
  std::string tenant;       // "" -> "default"
  std::string environment;  // job.environment; "" -> unset
  // The project root (CLAUDE_PROJECT_DIR): sent as args.workspace of shell commands when
  // it differs from the payload's cwd, so `cd ..` inside the project stays inside.
  std::string workspace;
};

// Maps one PreToolUse payload (JSON) to a job. `fallback_job_id` is the job id when the
// payload has no tool_use_id. Errors are kInvalidArgument and say what was wrong.
Result<v1::Job> JobFromPreToolUse(std::string_view payload, const HookIdentity& identity,
                                  std::string_view fallback_job_id);

// The server and tool of an `mcp__<server>__<tool>` job (its labels mcp.server and
// mcp.tool); false for any other job.
bool McpToolOfJob(const v1::Job& job, std::string* server, std::string* tool);

// Judges an `mcp__` job as a tool of `tool_class` (as the MCP tool store or an operator's
// override says): topic job.mcp-bridge.<read|write>.<tool>, risk tags read | write (+
// destructive), label mcp.action; `changed` (a version waiting for an operator's
// acceptance) adds the risk tag mcp-tool-changed. Other jobs are left as they are.
void ApplyMcpToolClass(ToolClass tool_class, bool changed, v1::Job* job);

enum class Permission { kAllow, kDeny, kAsk };

// "allow", "deny", "ask".
std::string_view PermissionName(Permission permission);
// The inverse; kInvalidArgument for anything else.
Result<Permission> ParsePermission(std::string_view name);

struct HookAnswer {
  Permission permission = Permission::kDeny;
  std::string reason;
  // TERMINATE: Claude stops the whole turn (`"continue": false`), not only this call.
  bool stop = false;
  // With allow: the tool input Claude runs instead of its own (a JSON object), "" for
  // none. Set when the gate's decision changed the arguments (UpdatedInputJson).
  std::string updated_input_json;
};

// The tool input Claude must run with when the gate's decision changed the job's
// arguments (the decision lists redactions), from the record `judged` that carried the
// decision and `payload`, the hook input. "" when the decision changed nothing. The input
// is the payload's tool_input with what the job's args took from it replaced: for Bash
// its command; for MCP and other tools (whose args are their input) the whole input.
// kFailedPrecondition for tools whose input cannot be rebuilt from their args (file and
// web tools): the caller denies rather than run the raw input.
Result<std::string> UpdatedInputJson(std::string_view payload, const v1::DecisionRecord& judged);

// True when `record` holds its job for approval and says nothing of the outcome yet (the
// hold itself, or a refused approval attempt): another record of the job will follow.
bool IsUnresolvedHold(const v1::DecisionRecord& record);

// The answer for a decision record:
//   ALLOW, ALLOW_WITH_CONSTRAINTS, ALERT, REDACT, THROTTLE (a record means admitted)
//                                     -> allow, the constraints in the reason
//   REQUIRE_APPROVAL, unresolved      -> ask (the local user decides)
//   approval APPROVED                 -> allow; REJECTED, EXPIRED -> deny
//   DENY                              -> deny with the policy's reason
//   TERMINATE                         -> deny, and stop
//   anything else                     -> deny
HookAnswer AnswerForRecord(const v1::DecisionRecord& record);

// The answer when no decision could be had (`what` says why): `on_error`, with a reason
// that says it was not the gate's decision.
HookAnswer AnswerForError(Permission on_error, std::string_view what);

// The hook's stdout: {"hookSpecificOutput": {"hookEventName": "PreToolUse",
// "permissionDecision": ..., "permissionDecisionReason": ...}} (plus "updatedInput" with
// allow and an updated input, and "continue": false and
// "stopReason" when `stop`), one line. The reason is cut to 4,000 bytes and any byte that
// is not UTF-8 becomes U+FFFD, so the output is always valid JSON.
std::string HookOutputJson(const HookAnswer& answer);

}  // namespace jobgate::gate
