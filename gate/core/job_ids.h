// Idempotency with conflict detection: who first used a tenant's job id, and with what.
//
// A job id is the idempotency key of the contract: the same tenant and job id with the
// same content (the same JobDigest) is a retry, deduplicated downstream by the
// Nats-Msg-Ids derived from the id; with other content it is a conflict, refused on
// audit.rejected (idempotency_conflict), never dropped silently by the streams'
// duplicate window. A JobIdStore remembers the digest of the first job seen under each
// (tenant, job id) for at least its TTL, which must exceed the streams' duplicate window
// (the downstream dedup this check protects).
//
// Fail closed: a store that cannot answer makes the caller leave the job for redelivery,
// never let it through unchecked.
//
// Ownership: stores are owned by their caller. Thread-safety: InMemoryJobIdStore is
// thread-safe; a NatsKvJobIdStore is used by one thread at a time (one per dispatcher).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "gate/core/bus.h"
#include "base/status.h"

namespace jobgate::gate {


// One job's claim on its id.
struct JobIdClaim {
  std::string_view tenant_id;
  std::string_view job_id;
  std::string_view digest;  // JobDigest of the job as bound (gate/core/job_digest.h)
};

// What the store says about a claim.
struct JobIdAnswer {
  bool conflict = false;     // the id was first used with another digest
  std::string first_digest;  // the digest first seen under the id (this one when free)
};

// The store key of (tenant, job id): 64 lower-case hex digits of SHA-256 over the tenant,
// a 0x1f separator and the job id. Valid as a KV key whatever the id contains.
std::string JobIdKey(std::string_view tenant_id, std::string_view job_id);

class JobIdStore {
 public:
  virtual ~JobIdStore() = default;
  // Answers every claim, in order: OK when the id was free (it is now claimed with this
  // digest) or claimed before (conflict says whether with another digest); an error when
  // the store could not tell. Claims of one call on the same id are answered as if made
  // one after the other.
  virtual void ClaimMany(std::span<const JobIdClaim> claims,
                         std::vector<Result<JobIdAnswer>>* answers) = 0;
};

// In process, for tests and single-process tools: entries expire `ttl` after their claim
// on `clock` (borrowed; outlives the store).
class InMemoryJobIdStore final : public JobIdStore {
 public:
  InMemoryJobIdStore(const Clock* clock, std::chrono::milliseconds ttl)
      : clock_(clock), ttl_(ttl) {}
  void ClaimMany(std::span<const JobIdClaim> claims,
                 std::vector<Result<JobIdAnswer>>* answers) override;
  // Fails every claim with `status` while it is not OK (a store that cannot be reached).
  void set_failure(Status status);

 private:
  struct Entry {
    std::string digest;
    std::chrono::steady_clock::time_point expires;
  };
  const Clock* const clock_;
  const std::chrono::milliseconds ttl_;
  Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  Status failure_ GUARDED_BY(mu_) = Status::Ok();
};

struct JobIdStoreOptions {
  std::string bucket = "jobgate-job-ids";
  // How long a claim is kept: above the streams' duplicate window (GateConfig defaults it
  // to twice the window). Applies when the bucket is created; an existing bucket keeps its
  // own (a warning is logged when it is shorter).
  std::chrono::milliseconds ttl{240'000};
  int replicas = 1;
  bool memory_storage = false;
  std::chrono::milliseconds timeout{5000};
};

}  // namespace jobgate::gate
