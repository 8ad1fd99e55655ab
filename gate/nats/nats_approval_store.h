// The JetStream side of approvals: NatsKvApprovalStore, the production ApprovalStore
// (a KV bucket of PendingApproval records), and NatsApprovalPublisher, the production
// ApprovalPublisher. The contracts are gate/approvals/approvals.h's; nats.c stays in the .cc.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "gate/approvals/approvals.h"

namespace jobgate::gate {

class NatsConnection;

// JetStream KV: bucket `bucket` maps ApprovalKey -> PendingApproval (protobuf, revision
// not stored: the KV revision is the truth).
class NatsKvApprovalStore final : public ApprovalStore {
 public:
  // Opens the bucket, creating it when missing. `connection` must outlive the store.
  static Result<std::unique_ptr<NatsKvApprovalStore>> Open(NatsConnection* connection,
                                                           const ApprovalStoreOptions& options);
  ~NatsKvApprovalStore() override;

  Result<uint64_t> Create(const v1::PendingApproval& record) override;
  // Publishes every create at once (expected last subject sequence 0, as Create) and waits
  // for all their acks; what did not succeed that way (a key that exists, a timeout) takes
  // the Create path, so the answers are Create's. Concurrent calls take turns.
  void CreateMany(std::span<const v1::PendingApproval* const> records,
                  std::vector<Result<uint64_t>>* revisions) override;
  Result<v1::PendingApproval> Get(std::string_view tenant_id, std::string_view job_id) override;
  Result<uint64_t> Update(const v1::PendingApproval& record, uint64_t expected_revision) override;
  Result<v1::PendingApproval> GetByKey(std::string_view key) override;
  // Pending only: the page's places from the sweep index (brought up to date first), then
  // each of its records by key; one resolved meanwhile drops out of the page. With
  // include_resolved: one pass over the bucket's latest values, in pulled batches, a
  // value parsed only when its place (read from the wire) puts it on the page.
  Result<ApprovalPage> List(const ApprovalListQuery& query) override;
  // From the sweep index, brought up to the bucket's last sequence first: the first call
  // reads each key's latest value once, later calls only the bucket's messages since.
  Result<SweepScan> ScanForSweep(const google::protobuf::Timestamp& now) override;
  Result<int64_t> CountPending() override;

 private:
  struct Handles;
  NatsKvApprovalStore();
  // Brings index_ up to the bucket's last sequence. On an error index_ keeps what it
  // applied (in order), and the next call goes on from there.
  Status SyncIndex() REQUIRES(index_mu_);
  // List's two ways (see List).
  Result<ApprovalPage> ListPendingFromIndex(const ApprovalListQuery& query);
  Result<ApprovalPage> ListFromBucket(const ApprovalListQuery& query);
  std::unique_ptr<Handles> handles_;  // immutable after Open; nats.c handles are thread-safe
  ApprovalStoreOptions options_;

  Mutex index_mu_;
  ApprovalSweepIndex index_ GUARDED_BY(index_mu_);
  bool index_loaded_ GUARDED_BY(index_mu_) = false;  // every key's latest value read
  uint64_t index_through_ GUARDED_BY(index_mu_) = 0;  // the last stream sequence applied
};

// The production publisher: NatsConnection::Publish. `connection` must outlive it.
class NatsApprovalPublisher final : public ApprovalPublisher {
 public:
  explicit NatsApprovalPublisher(NatsConnection* connection,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : connection_(connection), timeout_(timeout) {}
  Status Publish(const OutboundMessage& message) override;

 private:
  NatsConnection* const connection_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace jobgate::gate
