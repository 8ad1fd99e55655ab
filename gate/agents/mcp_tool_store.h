// What each MCP server's tools were accepted as: the fingerprint of a tool's description,
// input schema and annotations (gate/agents/mcp_mapping.h ToolFingerprintsFromListResult), the
// tool's class from its annotations, when it was first seen, and a different fingerprint
// seen since that waits for an operator's acceptance. Kept outside any one proxy so that
// a restarted proxy, a proxy on another machine and the Claude Code hook all see the
// same record: production uses the JetStream KV bucket kMcpToolsBucket
// (gate/nats/nats_mcp_tools.cc); tests use InMemoryMcpToolStore.
//
// The rules (CheckTool, AcceptTool) are pure functions of a store and a clock value:
//   never seen                  -> recorded as accepted (first sight is trusted)  kFirstSeen
//   same fingerprint as accepted                                                  kSame
//   another fingerprint         -> recorded as pending (the accepted one is kept)  kChanged
//   an operator accepts         -> pending becomes accepted (with its class)
// Writes are compare-and-set on the store's revision, so two proxies recording the same
// tool at once cannot overwrite each other's record. Thread-safety: the store
// implementations are thread-safe; the functions hold no state.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "gate/agents/mcp_mapping.h"
#include "base/status.h"

namespace jobgate::gate {


// The KV bucket of every tool record (one key per server and tool).
inline constexpr const char* kMcpToolsBucket = "jobgate-mcp-tools";

struct McpToolRecord {
  std::string server;
  std::string tool;
  std::string fingerprint;  // the accepted one (SHA-256 hex)
  std::string tool_class;   // "read" | "write" | "destructive", of the accepted version
  int64_t first_seen_unix_ms = 0;
  std::string pending_fingerprint;  // another version seen since; "" when none
  std::string pending_class;
  int64_t changed_unix_ms = 0;  // when the pending version was first seen
  int64_t accepted_unix_ms = 0;
  std::string accepted_by;  // "" for a first sight
  uint64_t revision = 0;    // the store's revision of the record (filled on read)
};

// The record's key: lower-case hex of the server name, '.', hex of the tool name (KV keys
// allow few characters; hex keeps any name, and every key of one server shares the
// prefix McpToolKeyPrefix(server)).
std::string McpToolKey(std::string_view server, std::string_view tool);
std::string McpToolKeyPrefix(std::string_view server);

// The record as stored (a JSON object, without the revision) and back; kInvalidArgument
// for anything that is not such an object.
std::string McpToolRecordJson(const McpToolRecord& record);
Result<McpToolRecord> ParseMcpToolRecord(std::string_view json);

class McpToolStore {
 public:
  virtual ~McpToolStore() = default;
  // The record of `server`/`tool`, std::nullopt when there is none.
  virtual Result<std::optional<McpToolRecord>> Get(std::string_view server,
                                                   std::string_view tool) = 0;
  // Writes `record` when the key's revision is still `expected_revision` (0: the key must
  // not exist); kConflict when another writer was first. Returns the new revision.
  virtual Result<uint64_t> Put(const McpToolRecord& record, uint64_t expected_revision) = 0;
  // Every record of `server` ("" -> of every server), ordered by server then tool.
  virtual Result<std::vector<McpToolRecord>> List(std::string_view server) = 0;
};

// A store in memory, for tests.
class InMemoryMcpToolStore final : public McpToolStore {
 public:
  Result<std::optional<McpToolRecord>> Get(std::string_view server, std::string_view tool) override;
  Result<uint64_t> Put(const McpToolRecord& record, uint64_t expected_revision) override;
  Result<std::vector<McpToolRecord>> List(std::string_view server) override;

 private:
  Mutex mu_;
  uint64_t last_revision_ GUARDED_BY(mu_) = 0;
  std::map<std::string, McpToolRecord> records_ GUARDED_BY(mu_);  // by key
};

enum class ToolState { kFirstSeen, kSame, kChanged };

struct ToolCheck {
  ToolState state = ToolState::kChanged;
  // For kChanged: true when this check recorded the pending fingerprint (the first time
  // this version was seen), so the caller raises the alert once.
  bool newly_changed = false;
  McpToolRecord record;  // as stored after the check
};

// Compares what a server lists now for `tool` against the store and records it (see the
// file comment). `tool_class` is the class its annotations give now.
Result<ToolCheck> CheckTool(McpToolStore& store, std::string_view server, std::string_view tool,
                            std::string_view fingerprint, ToolClass tool_class, int64_t now_ms);

// Makes the pending fingerprint of `server`/`tool` the accepted one. kNotFound when the
// tool was never seen; kFailedPrecondition when nothing is pending. When
// `expected_fingerprint` is not empty it must equal the pending one (an operator accepts
// the version they reviewed, not one that changed again meanwhile).
Result<McpToolRecord> AcceptTool(McpToolStore& store, std::string_view server,
                                 std::string_view tool, std::string_view expected_fingerprint,
                                 std::string_view accepted_by, int64_t now_ms);

// The class a hook or proxy should judge `server`/`tool` as from its record: the accepted
// class; destructive while another version is pending (or the record's class is
// unreadable).
ToolClass EffectiveToolClass(const McpToolRecord& record);

}  // namespace jobgate::gate
