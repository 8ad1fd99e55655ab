#include "gate/agents/mcp_tool_store.h"

#include <google/protobuf/struct.pb.h>

#include <cmath>

#include "base/hash.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr int kCasAttempts = 8;

std::string Hex(std::string_view text) {
  std::string out;
  jobgate::AppendHex(reinterpret_cast<const unsigned char*>(text.data()), text.size(), &out);
  return out;
}

void SetString(Struct* object, const char* key, const std::string& value) {
  (*object->mutable_fields())[key].set_string_value(value);
}
void SetNumber(Struct* object, const char* key, int64_t value) {
  (*object->mutable_fields())[key].set_number_value(static_cast<double>(value));
}

std::string GetString(const Struct& object, const char* key) {
  auto it = object.fields().find(key);
  if (it == object.fields().end() || it->second.kind_case() != Value::kStringValue) return "";
  return it->second.string_value();
}
int64_t GetNumber(const Struct& object, const char* key) {
  auto it = object.fields().find(key);
  if (it == object.fields().end() || it->second.kind_case() != Value::kNumberValue) return 0;
  const double n = it->second.number_value();
  return std::isfinite(n) ? static_cast<int64_t>(n) : 0;
}

}  // namespace

std::string McpToolKeyPrefix(std::string_view server) { return Hex(server) + "."; }

std::string McpToolKey(std::string_view server, std::string_view tool) {
  std::string key = McpToolKeyPrefix(server);
  key += tool.empty() ? std::string("00") : Hex(tool);
  return key;
}

std::string McpToolRecordJson(const McpToolRecord& record) {
  Struct object;
  SetString(&object, "server", record.server);
  SetString(&object, "tool", record.tool);
  SetString(&object, "fingerprint", record.fingerprint);
  SetString(&object, "class", record.tool_class);
  SetNumber(&object, "first_seen_unix_ms", record.first_seen_unix_ms);
  if (!record.pending_fingerprint.empty()) {
    SetString(&object, "pending_fingerprint", record.pending_fingerprint);
    SetString(&object, "pending_class", record.pending_class);
    SetNumber(&object, "changed_unix_ms", record.changed_unix_ms);
  }
  if (record.accepted_unix_ms != 0) SetNumber(&object, "accepted_unix_ms", record.accepted_unix_ms);
  if (!record.accepted_by.empty()) SetString(&object, "accepted_by", record.accepted_by);
  return subjects::ToJson(object);
}

Result<McpToolRecord> ParseMcpToolRecord(std::string_view json) {
  Struct object;
  if (Status s = subjects::FromJson(json, &object); !s.ok()) {
    return InvalidArgument("not an MCP tool record: " + s.message());
  }
  McpToolRecord record;
  record.server = GetString(object, "server");
  record.tool = GetString(object, "tool");
  record.fingerprint = GetString(object, "fingerprint");
  record.tool_class = GetString(object, "class");
  record.first_seen_unix_ms = GetNumber(object, "first_seen_unix_ms");
  record.pending_fingerprint = GetString(object, "pending_fingerprint");
  record.pending_class = GetString(object, "pending_class");
  record.changed_unix_ms = GetNumber(object, "changed_unix_ms");
  record.accepted_unix_ms = GetNumber(object, "accepted_unix_ms");
  record.accepted_by = GetString(object, "accepted_by");
  if (record.tool.empty() || record.fingerprint.empty()) {
    return InvalidArgument("an MCP tool record needs a tool and a fingerprint");
  }
  return record;
}

Result<std::optional<McpToolRecord>> InMemoryMcpToolStore::Get(std::string_view server,
                                                               std::string_view tool) {
  MutexLock lock(&mu_);
  auto it = records_.find(McpToolKey(server, tool));
  if (it == records_.end()) return std::optional<McpToolRecord>();
  return std::optional<McpToolRecord>(it->second);
}

Result<uint64_t> InMemoryMcpToolStore::Put(const McpToolRecord& record,
                                           uint64_t expected_revision) {
  MutexLock lock(&mu_);
  const std::string key = McpToolKey(record.server, record.tool);
  auto it = records_.find(key);
  const uint64_t current = it == records_.end() ? 0 : it->second.revision;
  if (current != expected_revision) return Conflict("wrong last sequence for " + key);
  McpToolRecord stored = record;
  stored.revision = ++last_revision_;
  records_[key] = stored;
  return stored.revision;
}

Result<std::vector<McpToolRecord>> InMemoryMcpToolStore::List(std::string_view server) {
  MutexLock lock(&mu_);
  std::vector<McpToolRecord> out;
  for (const auto& [key, record] : records_) {
    if (server.empty() || record.server == server) out.push_back(record);
  }
  return out;
}

Result<ToolCheck> CheckTool(McpToolStore& store, std::string_view server, std::string_view tool,
                            std::string_view fingerprint, ToolClass tool_class, int64_t now_ms) {
  if (fingerprint.empty()) return InvalidArgument("no fingerprint for tool " + std::string(tool));
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    auto current = store.Get(server, tool);
    if (!current.ok()) return current.status();
    ToolCheck check;
    if (!current->has_value()) {
      McpToolRecord record;
      record.server = std::string(server);
      record.tool = std::string(tool);
      record.fingerprint = std::string(fingerprint);
      record.tool_class = std::string(ToolClassName(tool_class));
      record.first_seen_unix_ms = now_ms;
      auto revision = store.Put(record, 0);
      if (!revision.ok() && revision.status().code() == StatusCode::kConflict) continue;
      if (!revision.ok()) return revision.status();
      record.revision = *revision;
      check.state = ToolState::kFirstSeen;
      check.record = std::move(record);
      return check;
    }
    McpToolRecord record = std::move(**current);
    if (record.fingerprint == fingerprint) {
      check.state = ToolState::kSame;
      check.record = std::move(record);
      return check;
    }
    check.state = ToolState::kChanged;
    if (record.pending_fingerprint == fingerprint) {
      check.record = std::move(record);
      return check;
    }
    record.pending_fingerprint = std::string(fingerprint);
    record.pending_class = std::string(ToolClassName(tool_class));
    record.changed_unix_ms = now_ms;
    auto revision = store.Put(record, record.revision);
    if (!revision.ok() && revision.status().code() == StatusCode::kConflict) continue;
    if (!revision.ok()) return revision.status();
    record.revision = *revision;
    check.newly_changed = true;
    check.record = std::move(record);
    return check;
  }
  return Unavailable("tool " + std::string(tool) + " of " + std::string(server) +
                     ": too many concurrent writers");
}

Result<McpToolRecord> AcceptTool(McpToolStore& store, std::string_view server,
                                 std::string_view tool, std::string_view expected_fingerprint,
                                 std::string_view accepted_by, int64_t now_ms) {
  const std::string what =
      "tool '" + std::string(tool) + "' of server '" + std::string(server) + "'";
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    auto current = store.Get(server, tool);
    if (!current.ok()) return current.status();
    if (!current->has_value()) return NotFound(what + " was never seen");
    McpToolRecord record = std::move(**current);
    if (record.pending_fingerprint.empty()) {
      return FailedPrecondition(what + " has no change waiting for acceptance");
    }
    if (!expected_fingerprint.empty() && expected_fingerprint != record.pending_fingerprint) {
      return FailedPrecondition(what + " now shows fingerprint " + record.pending_fingerprint +
                                ", not " + std::string(expected_fingerprint));
    }
    record.fingerprint = record.pending_fingerprint;
    record.tool_class = record.pending_class;
    record.pending_fingerprint.clear();
    record.pending_class.clear();
    record.changed_unix_ms = 0;
    record.accepted_unix_ms = now_ms;
    record.accepted_by = std::string(accepted_by);
    auto revision = store.Put(record, record.revision);
    if (!revision.ok() && revision.status().code() == StatusCode::kConflict) continue;
    if (!revision.ok()) return revision.status();
    record.revision = *revision;
    return record;
  }
  return Unavailable(what + ": too many concurrent writers");
}

ToolClass EffectiveToolClass(const McpToolRecord& record) {
  if (!record.pending_fingerprint.empty()) return ToolClass::kDestructive;
  auto parsed = ParseToolClass(record.tool_class);
  return parsed.ok() ? *parsed : ToolClass::kDestructive;
}

}  // namespace jobgate::gate
