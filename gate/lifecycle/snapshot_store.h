// The policy snapshot store: every published snapshot, and a pointer to the active one.
//
// Snapshots are immutable: PutSnapshot refuses a name that exists. The active pointer
// (and the shadow, which lives in it) changes only by compare-and-set on the store's
// revision, so of two concurrent publishes exactly one wins and the other gets
// kConflict. Replicas learn of changes through WatchActive.
//
// Implementations: NatsKvSnapshotStore (gate/nats/nats_snapshot_store.h, JetStream KV,
// production) and
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

#include "base/mutex.h"
#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::gate {

namespace v1 = ::jobgate::v1;

// Sorts newest first; ties (same millisecond) by name, so the order is total.
void SortNewestFirst(std::vector<v1::PolicySnapshot>* snapshots);

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
  Mutex mu_;
  std::map<std::string, v1::PolicySnapshot> snapshots_ GUARDED_BY(mu_);
  std::vector<std::string> order_ GUARDED_BY(mu_);  // oldest first
  v1::ActiveSnapshot active_ GUARDED_BY(mu_);
  uint64_t revision_ GUARDED_BY(mu_) = 0;  // 0: no pointer
  uint64_t next_watch_id_ GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::function<void(const v1::ActiveSnapshot&)>> watchers_ GUARDED_BY(mu_);
};

}  // namespace jobgate::gate
