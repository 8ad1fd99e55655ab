// The control API's routing, auth and bodies, over the in-memory store: the same
// handlers serve HTTP and NATS request-reply (tested end to end in the integration test).
#include "gate/api/api.h"

#include <gtest/gtest.h>

#include "gate/lifecycle/policy_lifecycle.h"
#include "base/hash.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

class TestClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return {}; }
  int64_t UnixMillis() const override { return ++ms_; }
  mutable int64_t ms_ = 1'790'000'000'000;
};

const char* kSeedPolicy = R"(version: v1
rules:
  - id: allow-read
    match:
      topics: ["job.mcp-bridge.read.*"]
      risk_tags: []
    decision: allow
  - id: require-approval-prod-write
    match:
      topics: ["job.mcp-bridge.write.*"]
      risk_tags: ["prod", "write"]
    decision: require_approval
    reason: "Prod writes require human approval"
)";

ApiToken Token(const std::string& name, const std::string& secret, std::vector<Role> roles) {
  ApiToken t{name, jobgate::Sha256Hex(secret), 0, {}};
  for (Role r : roles) t.roles |= static_cast<uint8_t>(r);
  return t;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : auth_({Token("admin", "admin-secret", {Role::kPolicyAdmin}),
               Token("viewer", "viewer-secret", {Role::kViewer}),
               Token("approver", "approver-secret", {Role::kApprover})}),
        lifecycle_(&store_, &active_, nullptr, nullptr, &clock_, {}),
        router_(&auth_) {
    AddPolicyRoutes(&router_, &lifecycle_);
    EXPECT_TRUE(lifecycle_.Start(kSeedPolicy, "v41").ok());
  }

  ApiResponse Call(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& token) {
    ApiRequest request{method, path, {}, body, token.empty() ? "" : "Bearer " + token};
    return router_.Handle(request);
  }

  InMemorySnapshotStore store_;
  ActivePolicy active_;
  TestClock clock_;
  Authenticator auth_;
  PolicyLifecycle lifecycle_;
  ApiRouter router_;
};

TEST_F(ApiTest, NoTokenIs401AndWrongRoleIs403) {
  ApiResponse r = Call("GET", "/api/v1/policy/snapshots", "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("\"code\": \"unauthenticated\""), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", "/api/v1/policy/snapshots", "", "guess").status, 401);
  r = Call("POST", "/api/v1/policy/rollback", R"({"target_snapshot":"v41"})", "viewer-secret");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("lacks the policy-admin role"), std::string::npos) << r.body;
  // Approvers and admins can read.
  EXPECT_EQ(Call("GET", "/api/v1/policy/snapshots", "", "approver-secret").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/policy/snapshots", "", "admin-secret").status, 200);
}

TEST_F(ApiTest, SeedSimulateRequestAnswersTheSeedFields) {
  const ApiResponse r = Call("POST", "/api/v1/policy/simulate", R"({
    "tenant_id": "default",
    "job": {
      "topic": "job.mcp-bridge.write.update_ticket",
      "risk_tags": ["prod", "write"],
      "labels": {"mcp.server": "jira", "mcp.action": "write"}
    }
  })",
                             "viewer-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  v1::Decision d;
  ASSERT_TRUE(subjects::FromJson(r.body, &d).ok()) << r.body;
  EXPECT_EQ(d.decision(), v1::REQUIRE_APPROVAL);
  EXPECT_EQ(d.reason(), "Prod writes require human approval");
  EXPECT_EQ(d.matched_rule(), "require-approval-prod-write");
  EXPECT_EQ(d.snapshot(), "v41");
  EXPECT_NE(r.body.find("\"constraints\""), std::string::npos);  // shape: every field printed
}

TEST_F(ApiTest, PublishThenSeedRollbackBody) {
  const std::string publish = R"({"snapshot": "v42", "note": "tighten prod write controls",
    "policy": "rules: [{id: deny-all, match: {}, decision: deny}]"})";
  ApiResponse r = Call("POST", "/api/v1/policy/publish", publish, "admin-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"published\": true"), std::string::npos) << r.body;
  EXPECT_EQ(active_.Get()->snapshot_name(), "v42");

  r = Call("POST", "/api/v1/policy/rollback",
           R"({"target_snapshot":"v41","note":"rollback due false positive spike"})",
           "admin-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(active_.Get()->snapshot_name(), "v41");

  // The seed's publish body has no policy: it activates the stored snapshot.
  r = Call("POST", "/api/v1/policy/publish", R"({"snapshot":"v42","note":"again"})",
           "admin-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(active_.Get()->snapshot_name(), "v42");
  r = Call("POST", "/api/v1/policy/publish", R"({"snapshot":"v42"})", "admin-secret");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("already_active"), std::string::npos) << r.body;
}

TEST_F(ApiTest, InvalidPolicyAnswersErrorsWithPositions) {
  const ApiResponse r = Call(
      "POST", "/api/v1/policy/publish",
      R"({"snapshot":"v43","policy":"rules:\n  - id: a\n    match: {risk_tag: [x]}\n    decision: deny\n"})",
      "admin-secret");
  EXPECT_EQ(r.status, 400) << r.body;
  v1::ErrorResponse error;
  ASSERT_TRUE(subjects::FromJson(r.body, &error).ok()) << r.body;
  EXPECT_EQ(error.code(), "invalid_policy");
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_EQ(error.details(0),
            "v43:3:13: unknown key 'risk_tag' in match; did you mean 'risk_tags'?");
  EXPECT_EQ(active_.Get()->snapshot_name(), "v41");
}

TEST_F(ApiTest, MalformedBodiesAre400) {
  EXPECT_EQ(Call("POST", "/api/v1/policy/publish", "{not json", "admin-secret").status, 400);
  EXPECT_EQ(
      Call("POST", "/api/v1/policy/publish", R"({"snapshot":"x","nope":1})", "admin-secret").status,
      400);
  EXPECT_EQ(Call("POST", "/api/v1/policy/simulate", "{}", "viewer-secret").status, 400);
}

TEST_F(ApiTest, ShowListAndUnknownRoutes) {
  ApiResponse r = Call("GET", "/api/v1/policy/snapshots/v41", "", "viewer-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("require-approval-prod-write"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/policy/snapshots/v99", "", "viewer-secret").status, 404);
  r = Call("GET", "/api/v1/policy/snapshots", "", "viewer-secret");
  EXPECT_NE(r.body.find("\"active\": \"v41\""), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", "/api/v1/nope", "", "viewer-secret").status, 404);
  EXPECT_EQ(Call("DELETE", "/api/v1/policy/snapshots", "", "viewer-secret").status, 405);
}

TEST_F(ApiTest, RequestReplyUsesTheSameHandlers) {
  ApiResponse r = router_.HandleNats("policy.show", R"({"name":"v41"})", "Bearer viewer-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"name\": \"v41\""), std::string::npos);
  EXPECT_EQ(router_.HandleNats("policy.list", "", "").status, 401);
  EXPECT_EQ(
      router_.HandleNats("policy.rollback", R"({"target_snapshot":"v41"})", "Bearer viewer-secret")
          .status,
      403);
  EXPECT_EQ(router_.HandleNats("policy.nope", "", "Bearer viewer-secret").status, 404);
  const auto verbs = router_.nats_verbs();
  EXPECT_EQ(verbs.size(), 6u);
}

TEST(AuthTest, RolesAndConstantTimeLookup) {
  Authenticator auth({Token("a", "x", {Role::kApprover})});
  auto id = auth.Authenticate("Bearer x");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->name, "a");
  EXPECT_TRUE(id->Has(Role::kApprover));
  EXPECT_TRUE(id->Has(Role::kViewer));
  EXPECT_FALSE(id->Has(Role::kPolicyAdmin));
  EXPECT_EQ(auth.Authenticate("Basic x").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("Bearer ").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authorize("Bearer x", Role::kPolicyAdmin).status().code(),
            StatusCode::kPermissionDenied);
  Authenticator none({});
  EXPECT_EQ(none.Authenticate("Bearer x").status().code(), StatusCode::kUnauthenticated);
  const ApiToken dba = MakeApiToken("d", "h", {"approver", "dba"});
  Authenticator named({dba});
  EXPECT_EQ(dba.roles, static_cast<uint8_t>(Role::kApprover));
  Identity who{"d", dba.roles, dba.named_roles};
  EXPECT_TRUE(who.HasRoleNamed("dba"));
  EXPECT_TRUE(who.HasRoleNamed("approver"));
  EXPECT_TRUE(who.HasRoleNamed("viewer"));
  EXPECT_FALSE(who.HasRoleNamed("sre"));
  Role r;
  EXPECT_TRUE(ParseRole("policy-admin", &r));
  EXPECT_FALSE(ParseRole("root", &r));
}

}  // namespace
}  // namespace jobgate::gate
