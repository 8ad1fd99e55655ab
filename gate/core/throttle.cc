#include "gate/core/throttle.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace jobgate::gate {

std::string RateKeyValue(const v1::Job& job, std::string_view key) {
  if (key == "tenant_id") return job.tenant_id();
  if (key == "environment") return job.environment();
  if (key == "capability") return job.capability();
  if (key == "topic") return job.topic();
  if (key == "actor.agent_id") return job.actor().agent_id();
  if (key == "actor.session_id") return job.actor().session_id();
  if (key == "actor.owner") return job.actor().owner();
  if (key == "actor.team") return job.actor().team();
  if (key == "actor.type") return job.actor().type();
  constexpr std::string_view kLabels = "labels.";
  if (key.substr(0, kLabels.size()) == kLabels) {
    const auto it = job.labels().find(std::string(key.substr(kLabels.size())));
    return it == job.labels().end() ? std::string() : it->second;
  }
  return {};
}

RateLimiter::RateLimiter(const Clock* clock, size_t max_buckets)
    : clock_(clock), max_buckets_(max_buckets) {}

void RateLimiter::Refill(const v1::Rate& rate, std::chrono::steady_clock::time_point now,
                         Bucket* bucket) {
  const double capacity = rate.limit();
  const double per_second = rate.period_sec() == 0 ? capacity : capacity / rate.period_sec();
  const double elapsed = std::chrono::duration<double>(now - bucket->refilled_at).count();
  if (elapsed > 0) {
    bucket->tokens = std::min(capacity, bucket->tokens + elapsed * per_second);
    bucket->refilled_at = now;
  }
}

RateLimiter::Admission RateLimiter::Acquire(
    const v1::Job& job, const google::protobuf::RepeatedPtrField<v1::Rate>& rates) {
  Admission admission;
  if (rates.empty()) {
    admission.admitted = true;
    return admission;
  }
  const auto now = clock_->Now();
  MutexLock lock(&mu_);
  std::vector<Bucket*> taken;
  taken.reserve(rates.size());
  double longest_wait_sec = 0;
  for (const v1::Rate& rate : rates) {
    if (rate.limit() == 0) continue;  // a rate that allows nothing is a policy bug: ignore
    std::string key = rate.rule();
    key += '\x1f';
    key += std::to_string(rate.limit());
    key += '\x1f';
    key += std::to_string(rate.period_sec());
    key += '\x1f';
    key += RateKeyValue(job, rate.key());
    auto [it, inserted] = buckets_.try_emplace(std::move(key));
    Entry& entry = it->second;
    if (inserted) {
      entry.rate = rate;
      entry.bucket.tokens = rate.limit();
      entry.bucket.refilled_at = now;
    }
    Refill(rate, now, &entry.bucket);
    if (entry.bucket.tokens >= 1.0) {
      taken.push_back(&entry.bucket);
      continue;
    }
    const double per_second =
        rate.period_sec() == 0 ? rate.limit() : double(rate.limit()) / rate.period_sec();
    const double wait = (1.0 - entry.bucket.tokens) / per_second;
    if (admission.limiting_rule.empty()) admission.limiting_rule = rate.rule();
    longest_wait_sec = std::max(longest_wait_sec, wait);
  }
  if (admission.limiting_rule.empty()) {
    for (Bucket* bucket : taken) bucket->tokens -= 1.0;
    admission.admitted = true;
  } else {
    admission.retry_after =
        std::chrono::milliseconds(static_cast<int64_t>(std::ceil(longest_wait_sec * 1000.0)));
  }
  if (buckets_.size() > max_buckets_) EvictIdleLocked(now);
  return admission;
}

void RateLimiter::EvictIdleLocked(std::chrono::steady_clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(it->second.rate, now, &it->second.bucket);
    if (it->second.bucket.tokens >= it->second.rate.limit()) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t RateLimiter::bucket_count() const {
  MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace jobgate::gate
