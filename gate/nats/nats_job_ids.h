// NatsKvJobIdStore: the production JobIdStore (gate/core/job_ids.h), a JetStream KV bucket.
// nats.c stays in the .cc. Used by one thread at a time (one per dispatcher).
#pragma once

#include <memory>

#include "gate/core/job_ids.h"

namespace jobgate::gate {

class NatsConnection;

// JetStream KV bucket `bucket` (history 1, max age `ttl`): key JobIdKey -> digest. A claim
// is a create-if-absent write; a batch's creates go out together and are awaited once; an
// existing key is read back and compared.
class NatsKvJobIdStore final : public JobIdStore {
 public:
  // Opens the bucket, creating it when missing. `connection` must outlive the store.
  static Result<std::unique_ptr<NatsKvJobIdStore>> Open(NatsConnection* connection,
                                                        const JobIdStoreOptions& options);
  ~NatsKvJobIdStore() override;
  void ClaimMany(std::span<const JobIdClaim> claims,
                 std::vector<Result<JobIdAnswer>>* answers) override;

 private:
  NatsKvJobIdStore();
  struct Handles;  // nats.c handles (gate/nats/nats_job_ids.cc)
  std::unique_ptr<Handles> handles_;
  JobIdStoreOptions options_;
};

}  // namespace jobgate::gate
