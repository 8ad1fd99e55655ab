// The MCP tool store (gate/agents/mcp_tool_store.h) in a JetStream KV bucket: one key per server
// and tool, written by compare-and-set on the key's revision.
#include "gate/nats/nats_mcp_tools.h"

#include <algorithm>
#include <tuple>

#include "gate/agents/mcp_tool_store.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_util.h"

namespace jobgate::gate {
namespace {

class NatsMcpToolStore final : public McpToolStore {
 public:
  NatsMcpToolStore(NatsPtr<jsCtx> js, NatsPtr<kvStore> kv, std::string bucket)
      : js_(std::move(js)), kv_(std::move(kv)), bucket_(std::move(bucket)) {}

  Result<std::optional<McpToolRecord>> Get(std::string_view server,
                                           std::string_view tool) override {
    return Read(McpToolKey(server, tool));
  }

  Result<uint64_t> Put(const McpToolRecord& record, uint64_t expected_revision) override {
    const std::string key = McpToolKey(record.server, record.tool);
    const std::string data = McpToolRecordJson(record);
    uint64_t revision = 0;
    const natsStatus s = expected_revision == 0
                             ? kvStore_Create(&revision, kv_.get(), key.c_str(), data.data(),
                                              static_cast<int>(data.size()))
                             : kvStore_Update(&revision, kv_.get(), key.c_str(), data.data(),
                                              static_cast<int>(data.size()), expected_revision);
    // A create over an existing key fails with "wrong last sequence" too: kConflict.
    Status status = KvWriteStatus(s, "write " + bucket_ + " " + key);
    if (!status.ok()) return status;
    return revision;
  }

  Result<std::vector<McpToolRecord>> List(std::string_view server) override {
    kvWatchOptions options;
    kvWatchOptions_Init(&options);
    kvKeysList keys{};
    const natsStatus s = kvStore_Keys(&keys, kv_.get(), &options);
    std::vector<McpToolRecord> out;
    if (s == NATS_NOT_FOUND) return out;  // an empty bucket
    if (s != NATS_OK) return FromNats(s, "list " + bucket_);
    std::vector<std::string> names(keys.Keys, keys.Keys + keys.Count);
    kvKeysList_Destroy(&keys);
    const std::string prefix = server.empty() ? std::string() : McpToolKeyPrefix(server);
    for (const std::string& key : names) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      auto record = Read(key);
      if (!record.ok()) return record.status();
      if (record->has_value()) out.push_back(std::move(**record));
    }
    std::sort(out.begin(), out.end(), [](const McpToolRecord& a, const McpToolRecord& b) {
      return std::tie(a.server, a.tool) < std::tie(b.server, b.tool);
    });
    return out;
  }

 private:
  Result<std::optional<McpToolRecord>> Read(const std::string& key) {
    kvEntry* raw = nullptr;
    const natsStatus s = kvStore_Get(&raw, kv_.get(), key.c_str());
    if (s == NATS_NOT_FOUND) return std::optional<McpToolRecord>();
    if (s != NATS_OK) return FromNats(s, "read " + bucket_ + " " + key);
    NatsPtr<kvEntry> entry(raw);
    auto record = ParseMcpToolRecord(std::string_view(
        static_cast<const char*>(kvEntry_Value(entry.get())), kvEntry_ValueLen(entry.get())));
    if (!record.ok())
      return InvalidArgument(bucket_ + " " + key + ": " + record.status().message());
    record->revision = kvEntry_Revision(entry.get());
    return std::optional<McpToolRecord>(std::move(*record));
  }

  NatsPtr<jsCtx> js_;
  NatsPtr<kvStore> kv_;
  const std::string bucket_;
};

}  // namespace

Result<std::unique_ptr<McpToolStore>> OpenNatsMcpToolStore(NatsConnection* connection,
                                                           const std::string& bucket, bool create,
                                                           std::chrono::milliseconds timeout) {
  auto js = NewJetStreamContext(connection->raw(), timeout, "the MCP tool store");
  if (!js.ok()) return js.status();
  NatsPtr<kvStore> kv;
  if (create) {
    auto opened = OpenKvBucket(js->get(), bucket, /*history=*/5, /*replicas=*/1,
                               /*memory_storage=*/false);
    if (!opened.ok()) return opened.status();
    kv = std::move(*opened);
  } else {
    kvStore* raw = nullptr;
    const natsStatus s = js_KeyValue(&raw, js->get(), bucket.c_str());
    if (s == NATS_NOT_FOUND) return NotFound("no KV bucket " + bucket);
    if (s != NATS_OK) return FromNats(s, "open KV bucket " + bucket);
    kv.reset(raw);
  }
  return std::unique_ptr<McpToolStore>(new NatsMcpToolStore(std::move(*js), std::move(kv), bucket));
}

}  // namespace jobgate::gate
