#include "gate/nats/nats_snapshot_store.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_util.h"

namespace jobgate::gate {
namespace {

constexpr const char* kActiveKey = "active";

}  // namespace

// --- NatsKvSnapshotStore --------------------------------------------------------------------

struct NatsKvSnapshotStore::Handles {
  NatsPtr<jsCtx> js;
  NatsPtr<kvStore> snapshots;
  NatsPtr<kvStore> pointer;
};

NatsKvSnapshotStore::NatsKvSnapshotStore() : handles_(std::make_unique<Handles>()) {}
NatsKvSnapshotStore::~NatsKvSnapshotStore() = default;

namespace {

template <typename Message>
Status ParseEntry(kvEntry* entry, Message* out, const std::string& what) {
  if (!out->ParseFromArray(kvEntry_Value(entry), kvEntry_ValueLen(entry))) {
    return Internal("corrupt " + what + " in the snapshot store");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<NatsKvSnapshotStore>> NatsKvSnapshotStore::Open(
    NatsConnection* connection, const KvStoreOptions& options) {
  std::unique_ptr<NatsKvSnapshotStore> store(new NatsKvSnapshotStore());
  store->options_ = options;
  auto context = NewJetStreamContext(connection->raw(), options.timeout, "the snapshot store");
  if (!context.ok()) return context.status();
  store->handles_->js = std::move(*context);
  jsCtx* js = store->handles_->js.get();
  // Snapshots keep one revision (they are immutable); the pointer keeps 64 as a trail.
  auto snapshots =
      OpenKvBucket(js, options.snapshots_bucket, 1, options.replicas, options.memory_storage);
  if (!snapshots.ok()) return snapshots.status();
  auto pointer =
      OpenKvBucket(js, options.pointer_bucket, 64, options.replicas, options.memory_storage);
  if (!pointer.ok()) return pointer.status();
  store->handles_->snapshots = std::move(*snapshots);
  store->handles_->pointer = std::move(*pointer);
  return store;
}

Status NatsKvSnapshotStore::PutSnapshot(const v1::PolicySnapshot& snapshot) {
  const std::string name_problem = ValidateSnapshotName(snapshot.name());
  if (!name_problem.empty()) return InvalidArgument(name_problem);
  const std::string data = snapshot.SerializeAsString();
  uint64_t revision = 0;
  const natsStatus s = kvStore_Create(&revision, handles_->snapshots.get(), snapshot.name().c_str(),
                                      data.data(), static_cast<int>(data.size()));
  Status status = KvWriteStatus(s, "store snapshot " + snapshot.name());
  if (status.code() == StatusCode::kConflict) {
    return Status(StatusCode::kAlreadyExists, "snapshot '" + snapshot.name() + "' exists");
  }
  return status;
}

Result<v1::PolicySnapshot> NatsKvSnapshotStore::GetSnapshot(const std::string& name) {
  if (!ValidateSnapshotName(name).empty()) return NotFound("no snapshot '" + name + "'");
  kvEntry* raw = nullptr;
  const natsStatus s = kvStore_Get(&raw, handles_->snapshots.get(), name.c_str());
  if (s == NATS_NOT_FOUND) return NotFound("no snapshot '" + name + "'");
  if (s != NATS_OK) return FromNats(s, "read snapshot " + name);
  NatsPtr<kvEntry> entry(raw);
  v1::PolicySnapshot snapshot;
  JOBGATE_RETURN_IF_ERROR(ParseEntry(entry.get(), &snapshot, "snapshot " + name));
  return snapshot;
}

Result<std::vector<v1::PolicySnapshot>> NatsKvSnapshotStore::ListSnapshots() {
  kvKeysList keys{};
  kvWatchOptions watch_options;
  kvWatchOptions_Init(&watch_options);
  watch_options.Timeout = options_.timeout.count();
  natsStatus s = kvStore_Keys(&keys, handles_->snapshots.get(), &watch_options);
  std::vector<v1::PolicySnapshot> out;
  if (s == NATS_NOT_FOUND) return out;  // empty bucket
  if (s != NATS_OK) return FromNats(s, "list snapshots");
  std::vector<std::string> names(keys.Keys, keys.Keys + keys.Count);
  kvKeysList_Destroy(&keys);
  for (const auto& name : names) {
    auto snapshot = GetSnapshot(name);
    if (snapshot.ok()) out.push_back(std::move(*snapshot));
  }
  SortNewestFirst(&out);
  return out;
}

Result<v1::ActiveSnapshot> NatsKvSnapshotStore::GetActive() {
  kvEntry* raw = nullptr;
  const natsStatus s = kvStore_Get(&raw, handles_->pointer.get(), kActiveKey);
  if (s == NATS_NOT_FOUND) return NotFound("no active snapshot");
  if (s != NATS_OK) {
    Status status = FromNats(s, "read the active snapshot pointer");
    // Reads of a deleted bucket time out like those of an unreachable one: ask.
    jsStreamInfo* info = nullptr;
    const std::string stream = "KV_" + options_.pointer_bucket;
    const natsStatus exists =
        js_GetStreamInfo(&info, handles_->js.get(), stream.c_str(), nullptr, nullptr);
    jsStreamInfo_Destroy(info);
    if (exists == NATS_NOT_FOUND) {
      return NotFound("the bucket " + options_.pointer_bucket + " is gone");
    }
    return status;
  }
  NatsPtr<kvEntry> entry(raw);
  v1::ActiveSnapshot active;
  JOBGATE_RETURN_IF_ERROR(ParseEntry(entry.get(), &active, "active pointer"));
  active.set_revision(kvEntry_Revision(entry.get()));
  return active;
}

Result<uint64_t> NatsKvSnapshotStore::SetActive(const v1::ActiveSnapshot& active,
                                                uint64_t expected_revision) {
  v1::ActiveSnapshot stored = active;
  stored.clear_revision();  // the store's revision is the truth; never persist a copy
  const std::string data = stored.SerializeAsString();
  uint64_t revision = 0;
  natsStatus s;
  if (expected_revision == 0) {
    s = kvStore_Create(&revision, handles_->pointer.get(), kActiveKey, data.data(),
                       static_cast<int>(data.size()));
  } else {
    s = kvStore_Update(&revision, handles_->pointer.get(), kActiveKey, data.data(),
                       static_cast<int>(data.size()), expected_revision);
  }
  Status status = KvWriteStatus(s, "set the active snapshot");
  if (status.code() == StatusCode::kConflict) {
    return Conflict("the active snapshot changed meanwhile; reload and try again");
  }
  if (!status.ok()) return status;
  return revision;
}

class NatsKvSnapshotStore::KvWatch final : public SnapshotStore::Watch {
 public:
  KvWatch(NatsPtr<kvWatcher> watcher, std::function<void(const v1::ActiveSnapshot&)> on_change)
      : watcher_(std::move(watcher)), on_change_(std::move(on_change)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~KvWatch() override {
    stop_.store(true, std::memory_order_release);
    kvWatcher_Stop(watcher_.get());
    thread_.join();
  }

 private:
  void Loop() {
    while (!stop_.load(std::memory_order_acquire)) {
      kvEntry* raw = nullptr;
      const natsStatus s = kvWatcher_Next(&raw, watcher_.get(), 1000);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) {
        if (stop_.load(std::memory_order_acquire)) return;
        // The watcher survives reconnects; other errors end it. The periodic re-check
        // (PolicyLifecycle) still converges.
        if (s == NATS_ILLEGAL_STATE || s == NATS_INVALID_SUBSCRIPTION) {
          spdlog::warn("snapshot pointer watch ended: {}", natsStatus_GetText(s));
          return;
        }
        continue;
      }
      if (raw == nullptr) continue;  // marks the end of the initial values
      NatsPtr<kvEntry> entry(raw);
      if (kvEntry_Operation(entry.get()) != kvOp_Put) continue;
      v1::ActiveSnapshot active;
      if (!active.ParseFromArray(kvEntry_Value(entry.get()), kvEntry_ValueLen(entry.get()))) {
        spdlog::warn("ignoring a corrupt active-snapshot pointer (revision {})",
                     kvEntry_Revision(entry.get()));
        continue;
      }
      active.set_revision(kvEntry_Revision(entry.get()));
      on_change_(active);
    }
  }

  NatsPtr<kvWatcher> watcher_;
  std::function<void(const v1::ActiveSnapshot&)> on_change_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Result<std::unique_ptr<SnapshotStore::Watch>> NatsKvSnapshotStore::WatchActive(
    std::function<void(const v1::ActiveSnapshot&)> on_change) {
  kvWatchOptions watch_options;
  kvWatchOptions_Init(&watch_options);
  watch_options.IgnoreDeletes = true;
  kvWatcher* raw = nullptr;
  const natsStatus s = kvStore_Watch(&raw, handles_->pointer.get(), kActiveKey, &watch_options);
  if (s != NATS_OK) return FromNats(s, "watch the active snapshot pointer");
  return std::unique_ptr<Watch>(
      std::make_unique<KvWatch>(NatsPtr<kvWatcher>(raw), std::move(on_change)));
}

}  // namespace jobgate::gate
