// The policy snapshot store: every published snapshot, and a pointer to the active one.
//
// Snapshots are immutable: PutSnapshot refuses a name that exists. The active pointer
// (and the shadow, which lives in it) changes only by compare-and-set on the store's
// revision, so of two concurrent publishes exactly one wins and the other gets
// kConflict. Replicas learn of changes through WatchActive.
//
// Implementations: NatsKvSnapshotStore (JetStream KV, production) and
// InMemorySnapshotStore (tests, single-process tools).
// Thread-safety: every implementation is thread-safe. Watch callbacks run on a thread of
// the store's and must not block for long.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/status.h"

namespace jobgate::gate {

namespace v1 = ::jobgate::v1;

// Empty when `name` can name a snapshot ([A-Za-z0-9_.-], 1..64 bytes, not starting with
// '.' or '-'); else what is wrong with it.
std::string ValidateSnapshotName(const std::string& name);

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;

  // Stores a new snapshot; kAlreadyExists when the name is taken.
  virtual Status PutSnapshot(const v1::PolicySnapshot& snapshot) = 0;
  // kNotFound when there is no such snapshot.
  virtual Result<v1::PolicySnapshot> GetSnapshot(const std::string& name) = 0;
  // Every snapshot, newest first.
  virtual Result<std::vector<v1::PolicySnapshot>> ListSnapshots() = 0;

  // The active pointer with its revision; kNotFound when nothing was ever activated.
  virtual Result<v1::ActiveSnapshot> GetActive() = 0;
  // Sets the pointer if its revision is still `expected_revision` (0: it must not exist
  // yet). kConflict when another writer got there first. Returns the new revision.
  virtual Result<uint64_t> SetActive(const v1::ActiveSnapshot& active,
                                     uint64_t expected_revision) = 0;

  // Calls `on_change` with the current pointer (if any) and then on every change, until
  // the returned handle is destroyed.
  class Watch {
   public:
    virtual ~Watch() = default;
  };
  virtual Result<std::unique_ptr<Watch>> WatchActive(
      std::function<void(const v1::ActiveSnapshot&)> on_change) = 0;
};

class InMemorySnapshotStore final : public SnapshotStore {
 public:
  Status PutSnapshot(const v1::PolicySnapshot& snapshot) override;
  Result<v1::PolicySnapshot> GetSnapshot(const std::string& name) override;
  Result<std::vector<v1::PolicySnapshot>> ListSnapshots() override;
  Result<v1::ActiveSnapshot> GetActive() override;
  Result<uint64_t> SetActive(const v1::ActiveSnapshot& active, uint64_t expected_revision) override;
  // Callbacks run synchronously inside SetActive (and once inside WatchActive).
  Result<std::unique_ptr<Watch>> WatchActive(
      std::function<void(const v1::ActiveSnapshot&)> on_change) override;

 private:
  class MemoryWatch;
  std::mutex mu_;
  std::map<std::string, v1::PolicySnapshot> snapshots_;  // GUARDED_BY(mu_)
  std::vector<std::string> order_;                       // GUARDED_BY(mu_); oldest first
  v1::ActiveSnapshot active_;                            // GUARDED_BY(mu_)
  uint64_t revision_ = 0;                                // GUARDED_BY(mu_); 0: no pointer
  uint64_t next_watch_id_ = 0;                           // GUARDED_BY(mu_)
  std::map<uint64_t, std::function<void(const v1::ActiveSnapshot&)>> watchers_;  // GUARDED_BY(mu_)
};

class NatsConnection;

struct KvStoreOptions {
  std::string snapshots_bucket = "jobgate-snapshots";
  std::string pointer_bucket = "jobgate-policy";
  int replicas = 1;
  bool memory_storage = false;
  std::chrono::milliseconds timeout{5000};
};

// JetStream KV: bucket `snapshots_bucket` maps snapshot name -> PolicySnapshot (protobuf);
// bucket `pointer_bucket` holds key `active` -> ActiveSnapshot, with history so the
// pointer's past values are an audit trail of their own.
class NatsKvSnapshotStore final : public SnapshotStore {
 public:
  // Opens the buckets, creating them when missing. `connection` must outlive the store.
  static Result<std::unique_ptr<NatsKvSnapshotStore>> Open(NatsConnection* connection,
                                                           const KvStoreOptions& options);
  ~NatsKvSnapshotStore() override;

  Status PutSnapshot(const v1::PolicySnapshot& snapshot) override;
  Result<v1::PolicySnapshot> GetSnapshot(const std::string& name) override;
  Result<std::vector<v1::PolicySnapshot>> ListSnapshots() override;
  Result<v1::ActiveSnapshot> GetActive() override;
  Result<uint64_t> SetActive(const v1::ActiveSnapshot& active, uint64_t expected_revision) override;
  Result<std::unique_ptr<Watch>> WatchActive(
      std::function<void(const v1::ActiveSnapshot&)> on_change) override;

 private:
  struct Handles;
  class KvWatch;
  NatsKvSnapshotStore();
  std::unique_ptr<Handles> handles_;
  KvStoreOptions options_;
};

}  // namespace jobgate::gate
