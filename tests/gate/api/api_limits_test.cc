// The control API's budgets, before any handler runs: the token and its role are checked
// on the request's head before the body is read, bodies over the route's limit are 413,
// and POST calls are rate limited per token (429 with Retry-After).
#include <gtest/gtest.h>

#include "gate/api/api.h"
#include "gate/api/api_limits.h"
#include "base/hash.h"

namespace jobgate::gate {
namespace {

class ManualClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now; }
  int64_t UnixMillis() const override { return 1'790'000'000'000; }
  std::chrono::steady_clock::time_point now{};
};

ApiToken Token(const std::string& name, const std::string& secret, Role role) {
  return ApiToken{name, jobgate::Sha256Hex(secret), static_cast<uint8_t>(role), {}};
}

class ApiLimitsTest : public ::testing::Test {
 protected:
  ApiLimitsTest()
      : auth_({Token("admin", "admin-secret", Role::kPolicyAdmin),
               Token("viewer", "viewer-secret", Role::kViewer),
               Token("viewer2", "viewer2-secret", Role::kViewer)}),
        router_(&auth_, Limits(), &clock_) {
    auto ok = [this](const ApiRequest&, const Identity&, const std::vector<std::string>&) {
      ++handled_;
      return ApiResponse{200, "{}"};
    };
    router_.Add("POST", "/api/v1/policy/simulate", Role::kViewer, "policy.simulate", ok, nullptr,
                ApiRouter::Body::kPolicy);
    router_.Add("POST", "/api/v1/policy/publish", Role::kPolicyAdmin, "policy.publish", ok,
                nullptr, ApiRouter::Body::kPolicy);
    router_.Add("POST", "/api/v1/approvals/{id}/approve", Role::kViewer, "approvals.approve", ok);
    router_.Add("GET", "/api/v1/approvals", Role::kViewer, "approvals.list", ok);
  }

  static ApiLimits Limits() {
    ApiLimits limits;
    limits.max_body_bytes = 1000;
    limits.max_policy_body_bytes = 100'000;
    limits.calls_per_second = 2;
    limits.burst = 5;
    return limits;
  }

  static ApiRequest Head(const std::string& method, const std::string& path,
                         const std::string& token) {
    return ApiRequest{method, path, {}, "", token.empty() ? "" : "Bearer " + token};
  }

  ManualClock clock_;
  Authenticator auth_;
  ApiRouter router_;
  int handled_ = 0;
};

TEST_F(ApiLimitsTest, TheTokenIsCheckedOnTheHeadWhateverTheBodyDeclares) {
  const uint64_t huge = 300ull << 20;
  auto refusal = router_.Admit(Head("POST", "/api/v1/policy/simulate", ""), huge);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 401);
  refusal = router_.Admit(Head("POST", "/api/v1/policy/simulate", "bad-token"), huge);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 401);
  refusal = router_.Admit(Head("POST", "/api/v1/policy/publish", "viewer-secret"), huge);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 403);
  refusal = router_.Admit(Head("POST", "/api/v1/policy/simulate", "viewer-secret"), huge);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 413);
  EXPECT_NE(refusal->body.find("over this call's limit of 100000"), std::string::npos)
      << refusal->body;
  EXPECT_EQ(handled_, 0);
}

TEST_F(ApiLimitsTest, EachRouteHasTheBodyLimitOfWhatItCarries) {
  EXPECT_FALSE(router_.Admit(Head("POST", "/api/v1/policy/simulate", "viewer-secret"), 100'000));
  auto refusal = router_.Admit(Head("POST", "/api/v1/approvals/a1/approve", "viewer-secret"), 1001);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 413);
  EXPECT_FALSE(router_.Admit(Head("POST", "/api/v1/approvals/a1/approve", "viewer-secret"), 1000));
  EXPECT_EQ(router_.Admit(Head("GET", "/api/v1/nowhere", "viewer-secret"), 0)->status, 404);
  // The same limit holds when the body is known (request-reply, or a lying length).
  ApiRequest request = Head("POST", "/api/v1/approvals/a1/approve", "viewer-secret");
  request.body.assign(1001, 'x');
  EXPECT_EQ(router_.Handle(request).status, 413);
  EXPECT_EQ(router_.HandleNats("policy.simulate", std::string(100'001, ' '),
                               "Bearer viewer-secret")
                .status,
            413);
  EXPECT_EQ(handled_, 0);
}

TEST_F(ApiLimitsTest, PostCallsAreRateLimitedPerTokenWithRetryAfter) {
  const ApiRequest call = Head("POST", "/api/v1/policy/simulate", "viewer-secret");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(router_.Handle(call).status, 200) << i;
  ApiResponse over = router_.Handle(call);
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(over.retry_after_seconds, 1);
  EXPECT_NE(over.body.find("rate_limited"), std::string::npos) << over.body;
  // Another token is not slowed by the first, and reads are not rate limited.
  EXPECT_EQ(router_.Handle(Head("POST", "/api/v1/policy/simulate", "viewer2-secret")).status, 200);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(router_.Handle(Head("GET", "/api/v1/approvals", "viewer-secret")).status, 200);
  }
  // The same bucket over request-reply.
  EXPECT_EQ(router_.HandleNats("policy.simulate", "{}", "Bearer viewer-secret").status, 429);
  // Two calls a second come back.
  clock_.now += std::chrono::milliseconds(500);
  EXPECT_EQ(router_.Handle(call).status, 200);
  EXPECT_EQ(router_.Handle(call).status, 429);
  EXPECT_EQ(handled_, 5 + 1 + 50 + 1);
}

TEST(CallerRateLimiter, RefillsAtTheRateUpToTheBurst) {
  ManualClock clock;
  CallerRateLimiter limiter(&clock, 10, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("a").count(), 0);
  EXPECT_EQ(limiter.Acquire("a").count(), 100);
  clock.now += std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("a").count(), 0);
  EXPECT_GT(limiter.Acquire("a").count(), 0);
  CallerRateLimiter unlimited(&clock, 0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(unlimited.Acquire("a").count(), 0);
}

}  // namespace
}  // namespace jobgate::gate
