#include "gate/api/api_limits.h"

#include <algorithm>
#include <cmath>

namespace jobgate::gate {

CallerRateLimiter::CallerRateLimiter(const Clock* clock, double per_second, double burst)
    : clock_(clock), per_second_(per_second), burst_(std::max(burst, 1.0)) {}

std::chrono::milliseconds CallerRateLimiter::Acquire(const std::string& caller) {
  if (per_second_ <= 0) return std::chrono::milliseconds(0);  // unlimited
  const auto now = clock_->Now();
  MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(caller, Bucket{burst_, now});
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.tokens = std::min(burst_, bucket.tokens + std::max(elapsed, 0.0) * per_second_);
  bucket.refilled = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return std::chrono::milliseconds(0);
  }
  const double wait_seconds = (1 - bucket.tokens) / per_second_;
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait_seconds * 1000)));
}

}  // namespace jobgate::gate
