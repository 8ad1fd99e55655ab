// The MCP gateway's pure part: what each newline-delimited JSON-RPC message from the
// client is (forward it, answer it, or judge it first), the class of each tool as the
// server's tools/list annotates it, the job a tools/call becomes, and the JSON-RPC answer
// for a refused call. No I/O, no clock, no randomness; thread-safe.
// `jobgate mcp-proxy` (cli/mcp_proxy_command.cc) does the I/O.
//
// Mapping (docs/integrations.md has the table):
//   tools/call of a read tool   -> job.mcp-bridge.read.<tool>   risk_tags [read]
//   tools/call of a write tool  -> job.mcp-bridge.write.<tool>  risk_tags [write]
//   ... destructive             -> job.mcp-bridge.write.<tool>  risk_tags [write, destructive]
//   labels mcp.server, mcp.tool (exact name), mcp.action (read|write); args = arguments.
// A tool is read when its annotations say readOnlyHint: true; otherwise it is destructive
// unless they say destructiveHint: false (the MCP specification's defaults, 2025-06-18:
// readOnlyHint false, destructiveHint true). A tool the server never listed is
// destructive. An operator's override (ToolClassOverrides) wins over the hints.
//
// Every message is parsed strictly (subjects::FromJson: duplicate keys, invalid UTF-8,
// trailing bytes and nesting past 100 levels are refused), so the server, which receives
// the client's bytes unchanged, cannot read a forwarded message differently.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::gate {

// JSON-RPC error codes (JSON-RPC 2.0, section 5.1).
constexpr int kRpcParseError = -32700;
constexpr int kRpcInvalidRequest = -32600;
constexpr int kRpcInvalidParams = -32602;

enum class RpcKind { kRequest, kNotification, kResponse };

struct RpcMessage {
  RpcKind kind = RpcKind::kNotification;
  std::string method;  // requests and notifications
  // The id as JSON text ("7", "\"abc\""), for answers that must carry it back; "" when
  // the message has none. Integers print as integers (exact up to 2^53).
  std::string id_json;
  google::protobuf::Struct object;  // the whole message
};

// Parses one line. kInvalidArgument with code-worthy detail:
//   not JSON (or not strict JSON, see above)        -> ParseError
//   JSON but not a JSON-RPC 2.0 message object      -> InvalidRequest (batches included:
//                                                       MCP 2025-06-18 has none)
struct RpcParseError {
  int code = kRpcParseError;
  std::string message;
  std::string id_json;  // the id when one could be read, else ""
};
struct RpcParse {
  bool ok = false;
  RpcMessage message;
  RpcParseError error;
};
RpcParse ParseRpcLine(std::string_view line);

enum class ToolClass { kRead, kWrite, kDestructive };

// "read", "write", "destructive"; the inverse is kInvalidArgument for anything else.
std::string_view ToolClassName(ToolClass tool_class);
Result<ToolClass> ParseToolClass(std::string_view name);

// The class of a tool from its tools/list entry (the "annotations" object; absent hints
// take the specification's defaults; a hint that is not a boolean counts as absent).
ToolClass ClassFromToolEntry(const google::protobuf::Struct& tool);

// Tool name -> class for every named entry of a tools/list result ({"tools": [...]}).
// Entries without a string name are skipped. `next_cursor` gets "nextCursor" or "".
std::map<std::string, ToolClass> ToolClassesFromListResult(const google::protobuf::Struct& result,
                                                           std::string* next_cursor);

// Tool name -> fingerprint (SHA-256 hex) of what the server says the tool is: its
// description, inputSchema and annotations, as canonical JSON (object keys sorted), so
// the same content always gives the same fingerprint whatever the key order. Entries
// without a string name are skipped.
std::map<std::string, std::string> ToolFingerprintsFromListResult(
    const google::protobuf::Struct& result);

// `--tool-class NAME=read|write|destructive` values; kInvalidArgument names the bad one.
Result<std::map<std::string, ToolClass>> ParseToolClassOverrides(
    const std::vector<std::string>& specs);

struct McpProxyIdentity {
  std::string server_name;  // label mcp.server
  std::string environment;  // job.environment; "" -> unset
  std::string tenant;       // "" -> "default"
  std::string agent_id = "mcp-proxy";
  std::string owner;
  std::vector<std::string> risk_tags;  // added to every job
};

// The tool name of a tools/call request (params.name); kInvalidArgument when missing.
Result<std::string> ToolCallName(const RpcMessage& call);

// The job for a tools/call request of a tool of `tool_class`. kInvalidArgument when the
// request has no params object, no string params.name, or arguments that are not an
// object or null.
Result<v1::Job> JobFromToolCall(const RpcMessage& call, ToolClass tool_class,
                                const McpProxyIdentity& identity, std::string_view job_id);

// The tool name as one subject token: bytes outside [A-Za-z0-9_-] become '_', at most
// 128 bytes, never empty.
std::string McpSubjectToken(std::string_view name);

// {"jsonrpc":"2.0","id":<id>,"result":{"content":[{"type":"text","text":<text>}],
// "isError":true}}: a tool error the model reads. `id_json` "" -> null.
std::string ToolErrorAnswer(std::string_view id_json, std::string_view text);

// {"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":<message>}}.
std::string RpcErrorAnswer(std::string_view id_json, int code, std::string_view message);

// A tools/list request of the proxy's own, with `id_json` and an optional cursor.
std::string ToolsListRequest(std::string_view id_json, std::string_view cursor);

// What to do with a decision record of a tools/call's job.
enum class CallOutcome { kForward, kRefuse, kHeld };
struct CallVerdict {
  CallOutcome outcome = CallOutcome::kRefuse;
  std::string reason;  // the text of the tool error when refused or held
};
// Admitting decisions and APPROVED -> forward; unresolved holds -> held; the rest refuse.
CallVerdict VerdictForRecord(const v1::DecisionRecord& record);

// The line to forward for an admitted tools/call. `line` (the client's own bytes) unless
// the gate's decision changed the arguments, which it says by listing redactions: then
// the call with params.arguments replaced by the args of the job as `judged` (the record
// that carried the decision) shows them, secrets replaced, serialized anew. The raw
// arguments are never forwarded once the decision redacted any of them.
std::string ForwardedCallLine(const RpcMessage& call, std::string_view line,
                              const v1::DecisionRecord& judged);

// What the proxy does with one line from the client.
enum class ClientAction { kForward, kAnswer, kJudge };
struct ClientStep {
  ClientAction action = ClientAction::kAnswer;
  std::string answer;  // kAnswer: the line to send back to the client (no newline)
  RpcMessage message;  // kForward, kJudge: the parsed message
};
// Requests (other than tools/call), notifications and responses are forwarded;
// tools/call requests are judged; anything unparsable or invalid is answered with a
// JSON-RPC error and never forwarded. Every input gets exactly one step.
ClientStep StepForClientLine(std::string_view line);

}  // namespace jobgate::gate
