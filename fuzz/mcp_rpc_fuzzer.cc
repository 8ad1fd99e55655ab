// Fuzz target: one line from an MCP client through the proxy's pure mapping
// (gate/agents/mcp_mapping.h): StepForClientLine, then, for a judged call, JobFromToolCall in
// every class, and for any message object the tools/list readers.
// Invariants: every line gets one step; an answer is itself a valid JSON-RPC response;
// only a tools/call request with a string name is judged, and it always maps to a job
// on a publishable job.mcp-bridge topic; a forwarded line is never a tools/call.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "gate/agents/mcp_mapping.h"
#include "subjects/subjects.h"

namespace {

using jobgate::gate::ClientAction;
using jobgate::gate::RpcKind;
using jobgate::gate::ToolClass;

void CheckJudged(const jobgate::gate::RpcMessage& message, const std::string& line) {
  if (message.method != "tools/call" || message.kind != RpcKind::kRequest ||
      !jobgate::gate::ToolCallName(message).ok()) {
    jobgate::fuzz::FuzzCheckFailed("only named tools/call requests are judged", line);
  }
  jobgate::gate::McpProxyIdentity identity;
  identity.server_name = "fuzz";
  for (ToolClass tool_class : {ToolClass::kRead, ToolClass::kWrite, ToolClass::kDestructive}) {
    auto job = jobgate::gate::JobFromToolCall(message, tool_class, identity, "mcp-fuzz");
    if (!job.ok()) continue;  // arguments that are not an object
    if (job->topic().rfind("job.mcp-bridge.", 0) != 0 ||
        !jobgate::subjects::IsValidPublishSubject(job->topic())) {
      jobgate::fuzz::FuzzCheckFailed("a call's topic is a publishable mcp-bridge subject",
                                     job->topic());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  const std::string line(reinterpret_cast<const char*>(data), size);
  jobgate::gate::ClientStep step = jobgate::gate::StepForClientLine(line);
  switch (step.action) {
    case ClientAction::kAnswer: {
      const jobgate::gate::RpcParse answer = jobgate::gate::ParseRpcLine(step.answer);
      if (!answer.ok || answer.message.kind != RpcKind::kResponse) {
        jobgate::fuzz::FuzzCheckFailed("an answer is a valid JSON-RPC response", step.answer);
      }
      break;
    }
    case ClientAction::kJudge:
      CheckJudged(step.message, line);
      break;
    case ClientAction::kForward:
      if (step.message.method == "tools/call") {
        jobgate::fuzz::FuzzCheckFailed("a tools/call is never forwarded unjudged", line);
      }
      break;
  }
  if (step.action != ClientAction::kAnswer) {
    auto result = step.message.object.fields().find("result");
    const auto& object = result != step.message.object.fields().end() &&
                                 result->second.kind_case() == google::protobuf::Value::kStructValue
                             ? result->second.struct_value()
                             : step.message.object;
    std::string cursor;
    jobgate::gate::ToolClassesFromListResult(object, &cursor);
    jobgate::gate::ToolFingerprintsFromListResult(object);
  }
  return 0;
}
