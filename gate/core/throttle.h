// Token buckets for THROTTLE decisions: one bucket per (rule, rate, key value) in this
// gate process.
//
// A THROTTLE decision carries the rates of every matched THROTTLE rule
// (Decision.throttle). A job is admitted only when each of its rates has a token; it then
// takes one from each (all or nothing, so a job held back by one rate does not spend the
// others). A bucket holds `limit` tokens and refills `limit` per `period_sec`, so bursts
// up to the limit pass at once and the long-run rate is limit/period.
//
// Buckets are keyed by the job field the rate names (`actor.agent_id`, `tenant_id`,
// `labels.team`, ...); an empty field value is a key of its own. Several gate processes
// each keep their own buckets, so the cluster-wide rate is up to N times the limit (see
// docs/operations.md).
//
// Thread-safe: a mutex guards the buckets. The clock is the caller's and must outlive
// the limiter.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/mutex.h"
#include "gate/core/bus.h"
#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

namespace v1 = ::jobgate::v1;

// Value of the job field a rate is keyed by ("actor.agent_id" -> job.actor().agent_id()).
// Unknown keys yield "".
std::string RateKeyValue(const v1::Job& job, std::string_view key);

class RateLimiter {
 public:
  // When more than `max_buckets` exist, full (idle) buckets are forgotten.
  explicit RateLimiter(const Clock* clock, size_t max_buckets = 100000);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Admission {
    bool admitted = false;
    // When not admitted: how long until every rate would have a token.
    std::chrono::milliseconds retry_after{0};
    // When not admitted: the rule of the first rate that had no token.
    std::string limiting_rule;
  };

  // Admits `job` under `rates` (taking a token from each) or says how long to wait.
  // No rates: admitted.
  Admission Acquire(const v1::Job& job, const google::protobuf::RepeatedPtrField<v1::Rate>& rates);

  size_t bucket_count() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled_at;
  };

  // Refills `bucket` up to `rate`'s capacity as of `now`. REQUIRES: mu_ held.
  static void Refill(const v1::Rate& rate, std::chrono::steady_clock::time_point now,
                     Bucket* bucket);
  // Drops full buckets once there are too many.
  void EvictIdleLocked(std::chrono::steady_clock::time_point now) REQUIRES(mu_);

  const Clock* const clock_;
  const size_t max_buckets_;
  mutable Mutex mu_;
  // Key: rule, limit, period and key value, '\x1f'-separated. Values hold the rate's
  // limit and period so idle buckets can be judged full.
  struct Entry {
    Bucket bucket;
    v1::Rate rate;
  };
  std::unordered_map<std::string, Entry> buckets_ GUARDED_BY(mu_);
};

}  // namespace jobgate::gate
