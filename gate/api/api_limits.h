// Budgets of the control API, the same for HTTP and NATS request-reply, and the per-token
// rate limiter that enforces the call rate.
//
// A call is checked in this order, each before anything it guards is spent: the route
// exists; the token holds the route's role; the body the caller declares fits the route
// (a policy-carrying route may take a policy, every other route a small request); and,
// for a route that changes state or simulates (every POST), the token has a call left
// in its bucket. Over the rate: 429 with Retry-After.
//
// CallerRateLimiter: one token bucket per caller name (API token names are configured,
// so the buckets are bounded by the config). Thread-safe (a mutex over the buckets; the
// critical section is a few arithmetic operations). The clock is the caller's and must
// outlive the limiter.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/mutex.h"
#include "gate/core/bus.h"

namespace jobgate::gate {

struct ApiLimits {
  size_t max_body_bytes = 64u << 10;          // every route that carries no policy
  size_t max_policy_body_bytes = 4u << 20;    // publish and simulate (a candidate policy)
  double calls_per_second = 10;               // per token, on POST routes
  double burst = 40;                          // calls a token may make at once
  // HTTP only: worker threads serving calls, connections waiting for one beyond which
  // new connections are answered 503, and the socket timeouts against slow clients.
  int http_threads = 8;
  int http_queue = 64;
  std::chrono::seconds http_read_timeout{5};
  std::chrono::seconds http_write_timeout{5};
  std::chrono::seconds http_idle_timeout{5};
};

class CallerRateLimiter {
 public:
  CallerRateLimiter(const Clock* clock, double per_second, double burst);

  // Takes a call from `caller`'s bucket: zero when admitted, else how long until the
  // bucket has one.
  std::chrono::milliseconds Acquire(const std::string& caller);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point refilled;
  };
  const Clock* clock_;
  const double per_second_;
  const double burst_;
  Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ GUARDED_BY(mu_);
};

}  // namespace jobgate::gate
