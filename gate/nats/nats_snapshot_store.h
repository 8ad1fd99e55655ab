// NatsKvSnapshotStore: the production SnapshotStore (gate/lifecycle/snapshot_store.h), on two
// JetStream KV buckets. nats.c stays in the .cc. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gate/lifecycle/snapshot_store.h"

namespace jobgate::gate {

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
