// The policy lifecycle's logic on the in-memory store with fake seams: publish guards,
// conflicts, rollback, shadow, reload failures, bootstrap. The same lifecycle against
// JetStream KV and running gates is in policy_lifecycle_integration_test.cc.
#include "gate/lifecycle/policy_lifecycle.h"

#include <gtest/gtest.h>

#include <utility>

#include "gate/lifecycle/snapshot_signing.h"
#include "policy/analysis/secrets.h"
#include "policy/policy.h"
#include "tests/support/test_keys.h"

namespace jobgate::gate {
namespace {

// The results of the reloads a lifecycle reports, in order.
class ReloadRecorder final : public LifecycleObserver {
 public:
  void OnReload(std::string_view result) override { results.emplace_back(result); }
  std::vector<std::string> results;
};

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return {}; }
  int64_t UnixMillis() const override { return ++millis_; }

 private:
  mutable int64_t millis_ = 1'790'000'000'000;
};

class FixedJobs final : public RecentJobs {
 public:
  Result<std::vector<v1::Job>> Fetch(size_t max_jobs) override {
    std::vector<v1::Job> out(jobs.begin(), jobs.begin() + std::min(max_jobs, jobs.size()));
    return out;
  }
  std::vector<v1::Job> jobs;
};

class RecordingSink final : public PolicyEventSink {
 public:
  void Emit(const v1::PolicyEvent& event) override { events.push_back(event); }
  std::vector<v1::PolicyEvent> events;
};

// allow reads; `prod` decides what prod writes get.
std::string PolicyYaml(const std::string& prod_decision, const std::string& extra = "") {
  return "defaults: {decision: deny}\nrules:\n"
         "  - {id: reads, match: {risk_tags: [read]}, decision: allow}\n"
         "  - {id: prod, match: {environment: prod, risk_tags: [write]}, decision: " +
         prod_decision + "}\n" + extra;
}

v1::Job MakeJob(const std::string& id, const std::string& env, const std::string& tag) {
  v1::Job job;
  job.set_job_id(id);
  job.set_environment(env);
  job.add_risk_tags(tag);
  return job;
}

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest()
      : lifecycle_(&store_, &active_, &jobs_, &sink_, &clock_, LifecycleOptions{0.05, 1000, "r1"}) {
    // 300 recent jobs: 290 reads, 10 prod writes (3.3%, under the 5% flip guard).
    for (int i = 0; i < 300; ++i) {
      jobs_.jobs.push_back(i < 290 ? MakeJob("r" + std::to_string(i), "dev", "read")
                                   : MakeJob("w" + std::to_string(i), "prod", "write"));
    }
  }

  PublishOutcome Publish(const std::string& name, const std::string& yaml,
                         bool allow_loosening = false, bool force = false) {
    v1::PublishRequest request;
    request.set_snapshot(name);
    request.set_policy(yaml);
    request.set_note("test");
    request.set_allow_loosening(allow_loosening);
    request.set_force(force);
    return lifecycle_.Publish(request, Caller{"alice"});
  }

  v1::Verdict Enforced(const v1::Job& job) { return active_.Get()->Decide(job).decision(); }

  InMemorySnapshotStore store_;
  ActivePolicy active_;
  FixedJobs jobs_;
  RecordingSink sink_;
  FakeClock clock_;
  PolicyLifecycle lifecycle_;
};

TEST_F(LifecycleTest, StartFailsClosedWithoutAnyPolicy) {
  const Status s = lifecycle_.Start("", "");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(active_.Get(), nullptr);
}

TEST_F(LifecycleTest, StartBootstrapsTheFirstSnapshot) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  ASSERT_NE(active_.Get(), nullptr);
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_EQ(store_.GetActive()->name(), "v1");
  EXPECT_EQ(sink_.events.back().kind(), "publish");
  EXPECT_EQ(sink_.events.back().actor(), "bootstrap:r1");
}

TEST_F(LifecycleTest, StartPrefersTheStoreOverTheBootstrapFile) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  ASSERT_TRUE(Publish("v2", PolicyYaml("deny")).status.ok());
  ActivePolicy other_active;
  PolicyLifecycle restarted(&store_, &other_active, &jobs_, &sink_, &clock_, {});
  ASSERT_TRUE(restarted.Start(PolicyYaml("allow"), "bootstrap").ok());
  EXPECT_EQ(other_active.Get()->snapshot_name(), "v2");
  EXPECT_FALSE(store_.GetSnapshot("bootstrap").ok());
}

TEST_F(LifecycleTest, PublishSwapsPolicyAndRecordsTheEvent) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  const PublishOutcome out = Publish("v2", PolicyYaml("deny"));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(out.response.published());
  EXPECT_EQ(out.response.previous(), "v1");
  EXPECT_EQ(out.response.snapshot().parent(), "v1");
  EXPECT_EQ(out.response.simulation().jobs(), 300);
  EXPECT_EQ(out.response.simulation().flipped(), 10);  // prod writes: approval -> deny
  EXPECT_EQ(out.response.simulation().loosened(), 0);
  EXPECT_EQ(Enforced(MakeJob("x", "prod", "write")), v1::DENY);
  EXPECT_EQ(active_.Get()->snapshot_name(), "v2");

  const v1::PolicyEvent& event = sink_.events.back();
  EXPECT_EQ(event.kind(), "publish");
  EXPECT_EQ(event.actor(), "alice");
  EXPECT_EQ(event.from_snapshot(), "v1");
  EXPECT_EQ(event.to_snapshot(), "v2");
  EXPECT_EQ(event.to_hash(), active_.Get()->hash());
  EXPECT_EQ(event.simulation().flipped(), 10);
}

TEST_F(LifecycleTest, InvalidPolicyIsRefusedWithPositionsAndTheOldOneStays) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  const PublishOutcome out = Publish("v2", "rules:\n  - id: a\n    match: {risk_tag: [x]}\n");
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.code, "invalid_policy");
  bool positioned = false;
  for (const auto& e : out.errors) positioned |= e.rfind("v2:3:13: unknown key 'risk_tag'", 0) == 0;
  EXPECT_TRUE(positioned) << ::testing::PrintToString(out.errors);
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_FALSE(store_.GetSnapshot("v2").ok());
  EXPECT_EQ(sink_.events.back().kind(), "refused");
}

TEST_F(LifecycleTest, LooseningIsRefusedUnlessAllowed) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  const PublishOutcome refused = Publish("v2", PolicyYaml("allow"));
  EXPECT_EQ(refused.code, "loosening");
  EXPECT_EQ(refused.response.simulation().loosened(), 10);
  ASSERT_EQ(refused.response.simulation().flips_size(), 1);
  EXPECT_EQ(refused.response.simulation().flips(0).from(), v1::REQUIRE_APPROVAL);
  EXPECT_EQ(refused.response.simulation().flips(0).to(), v1::ALLOW);
  EXPECT_TRUE(refused.response.simulation().flips(0).loosening());
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_EQ(sink_.events.back().kind(), "refused");
  EXPECT_EQ(sink_.events.back().simulation().loosened(), 10);

  const PublishOutcome allowed = Publish("v2", PolicyYaml("allow"), /*allow_loosening=*/true);
  ASSERT_TRUE(allowed.status.ok()) << allowed.status.ToString();
  EXPECT_EQ(Enforced(MakeJob("x", "prod", "write")), v1::ALLOW);
}

TEST_F(LifecycleTest, LargeFlipsNeedForce) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  // Tightening reads flips 97% of jobs (ALLOW -> DENY): not loosening, but too many.
  const std::string tighter =
      "defaults: {decision: deny}\nrules:\n"
      "  - {id: prod, match: {environment: prod, risk_tags: [write]}, decision: "
      "require_approval}\n";
  EXPECT_EQ(Publish("v2", tighter).code, "too_many_flips");
  EXPECT_TRUE(Publish("v2", tighter, false, /*force=*/true).status.ok());
}

TEST_F(LifecycleTest, RuleExamplesAndTestSuitesGatePublish) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  const std::string with_bad_example =
      PolicyYaml("require_approval",
                 "  - id: ex\n    match: {environment: staging}\n    decision: deny\n"
                 "    examples: {match: [{environment: prod}]}\n");
  const PublishOutcome bad_example = Publish("v2", with_bad_example);
  EXPECT_EQ(bad_example.code, "tests_failed");

  v1::PublishRequest request;
  request.set_snapshot("v3");
  request.set_policy(PolicyYaml("require_approval"));
  request.add_tests(
      "cases:\n  - name: prod write\n    job: {environment: prod, risk_tags: [write]}\n"
      "    expect: {decision: deny}\n");
  const PublishOutcome failed = lifecycle_.Publish(request, Caller{"alice"});
  EXPECT_EQ(failed.code, "tests_failed");
  ASSERT_EQ(failed.errors.size(), 1u);
  EXPECT_NE(failed.errors[0].find("expected DENY, got REQUIRE_APPROVAL"), std::string::npos)
      << failed.errors[0];
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
}

TEST_F(LifecycleTest, SnapshotNamesAreNeverReused) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  EXPECT_EQ(Publish("v1", PolicyYaml("deny")).code, "snapshot_exists");
  EXPECT_EQ(Publish("bad name", PolicyYaml("deny")).code, "invalid_snapshot_name");
}

TEST_F(LifecycleTest, UnnamedPublishUsesThePolicysOwnNameOrItsHash) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  const PublishOutcome named = Publish("", "snapshot: from-yaml\n" + PolicyYaml("deny"));
  ASSERT_TRUE(named.status.ok()) << named.status.ToString();
  EXPECT_EQ(named.response.snapshot().name(), "from-yaml");
  const PublishOutcome hashed = Publish("", PolicyYaml("terminate"), false, true);
  ASSERT_TRUE(hashed.status.ok()) << hashed.status.ToString();
  EXPECT_EQ(hashed.response.snapshot().name().rfind("sha-", 0), 0u);
  EXPECT_EQ(active_.Get()->snapshot_name(), hashed.response.snapshot().name());
}

// Delegates to an in-memory store, but runs `before_first_set` just before the first
// SetActive: the moment a competing replica's publish lands.
class RacingStore final : public SnapshotStore {
 public:
  Status PutSnapshot(const v1::PolicySnapshot& s) override { return inner.PutSnapshot(s); }
  Result<v1::PolicySnapshot> GetSnapshot(const std::string& n) override {
    return inner.GetSnapshot(n);
  }
  Result<std::vector<v1::PolicySnapshot>> ListSnapshots() override { return inner.ListSnapshots(); }
  Result<v1::ActiveSnapshot> GetActive() override { return inner.GetActive(); }
  Result<uint64_t> SetActive(const v1::ActiveSnapshot& a, uint64_t expected) override {
    if (before_first_set) std::exchange(before_first_set, nullptr)();
    return inner.SetActive(a, expected);
  }
  Result<std::unique_ptr<Watch>> WatchActive(
      std::function<void(const v1::ActiveSnapshot&)> fn) override {
    return inner.WatchActive(std::move(fn));
  }
  InMemorySnapshotStore inner;
  std::function<void()> before_first_set;
};

TEST_F(LifecycleTest, ConcurrentPublishesOneWinsTheOtherGetsConflict) {
  RacingStore store;
  ActivePolicy active_a, active_b;
  PolicyLifecycle a(&store, &active_a, &jobs_, &sink_, &clock_, {});
  PolicyLifecycle b(&store.inner, &active_b, &jobs_, &sink_, &clock_, {});
  ASSERT_TRUE(b.Start(PolicyYaml("require_approval"), "v1").ok());
  ASSERT_TRUE(a.Start("", "").ok());

  v1::PublishRequest from_b;
  from_b.set_snapshot("v2-b");
  from_b.set_policy(PolicyYaml("deny"));
  PublishOutcome b_outcome;
  store.before_first_set = [&] { b_outcome = b.Publish(from_b, Caller{"bob"}); };

  v1::PublishRequest from_a;
  from_a.set_snapshot("v2-a");
  from_a.set_policy(PolicyYaml("terminate"));
  const PublishOutcome a_outcome = a.Publish(from_a, Caller{"alice"});

  EXPECT_TRUE(b_outcome.status.ok()) << b_outcome.status.ToString();
  EXPECT_EQ(a_outcome.status.code(), StatusCode::kConflict) << a_outcome.status.ToString();
  EXPECT_EQ(a_outcome.code, "conflict");
  EXPECT_EQ(store.GetActive()->name(), "v2-b");
  EXPECT_TRUE(store.GetSnapshot("v2-a").ok());  // stored, not active: can be rolled back to
}

TEST_F(LifecycleTest, ExpectedActiveMakesConcurrentPublishesConflict) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  v1::PublishRequest a;
  a.set_snapshot("v2-a");
  a.set_policy(PolicyYaml("deny"));
  a.set_expected_active("v1");
  v1::PublishRequest b = a;
  b.set_snapshot("v2-b");
  b.set_policy(PolicyYaml("terminate"));
  EXPECT_TRUE(lifecycle_.Publish(a, Caller{"alice"}).status.ok());
  const PublishOutcome lost = lifecycle_.Publish(b, Caller{"bob"});
  EXPECT_EQ(lost.status.code(), StatusCode::kConflict);
  EXPECT_EQ(lost.code, "conflict");
  EXPECT_EQ(active_.Get()->snapshot_name(), "v2-a");
}

TEST_F(LifecycleTest, RollbackInOneCall) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v41").ok());
  ASSERT_TRUE(Publish("v42", PolicyYaml("allow"), true).status.ok());
  v1::RollbackRequest request;
  request.set_target_snapshot("v41");
  request.set_note("false positive spike");
  auto rolled = lifecycle_.Rollback(request, Caller{"alice"});
  ASSERT_TRUE(rolled.ok()) << rolled.status().ToString();
  EXPECT_EQ(rolled->from_snapshot(), "v42");
  EXPECT_EQ(rolled->to_snapshot(), "v41");
  EXPECT_EQ(active_.Get()->snapshot_name(), "v41");
  EXPECT_EQ(Enforced(MakeJob("x", "prod", "write")), v1::REQUIRE_APPROVAL);
  EXPECT_EQ(sink_.events.back().kind(), "rollback");
  EXPECT_EQ(sink_.events.back().note(), "false positive spike");

  request.set_target_snapshot("v0");
  EXPECT_EQ(lifecycle_.Rollback(request, Caller{"alice"}).status().code(), StatusCode::kNotFound);
}

TEST_F(LifecycleTest, ShadowIsLoadedNotEnforced) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  ASSERT_TRUE(Publish("v2", PolicyYaml("deny")).status.ok());
  v1::RollbackRequest back;
  back.set_target_snapshot("v1");
  ASSERT_TRUE(lifecycle_.Rollback(back, Caller{"alice"}).ok());

  v1::ShadowRequest shadow;
  shadow.set_snapshot("v2");
  auto set = lifecycle_.SetShadow(shadow, Caller{"alice"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_NE(lifecycle_.shadow(), nullptr);
  EXPECT_EQ(lifecycle_.shadow()->snapshot_name(), "v2");
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_EQ(sink_.events.back().kind(), "shadow_set");

  // A publish keeps the shadow.
  ASSERT_TRUE(Publish("v3", PolicyYaml("require_approval",
                                       "  - {id: z, match: {environment: qa}, decision: deny}\n"))
                  .status.ok());
  EXPECT_EQ(lifecycle_.shadow()->snapshot_name(), "v2");

  shadow.set_snapshot("");
  ASSERT_TRUE(lifecycle_.SetShadow(shadow, Caller{"alice"}).ok());
  EXPECT_EQ(lifecycle_.shadow(), nullptr);
  EXPECT_EQ(sink_.events.back().kind(), "shadow_cleared");
}

TEST_F(LifecycleTest, ReloadFailureKeepsThePreviousPolicy) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  // A snapshot that does not compile reaches the store (e.g. written by another tool).
  v1::PolicySnapshot broken;
  broken.set_name("broken");
  broken.set_policy("rules: [{id: a}]\n");
  broken.set_hash("sha256:whatever");
  ASSERT_TRUE(store_.PutSnapshot(broken).ok());
  ReloadRecorder reloads;
  lifecycle_.set_observer(&reloads);
  v1::ActiveSnapshot pointer;
  pointer.set_name("broken");
  pointer.set_hash("sha256:whatever");
  ASSERT_TRUE(store_.SetActive(pointer, store_.GetActive()->revision()).ok());
  EXPECT_FALSE(lifecycle_.Recheck().ok());
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_EQ(lifecycle_.enforced().name(), "v1");
  EXPECT_EQ(sink_.events.back().kind(), "reload_failed");
  EXPECT_EQ(sink_.events.back().to_snapshot(), "broken");
  EXPECT_EQ(reloads.results, std::vector<std::string>{"failed"});
}

TEST_F(LifecycleTest, HashMismatchIsNeverEnforced) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  v1::PolicySnapshot forged;
  forged.set_name("forged");
  forged.set_policy(PolicyYaml("allow"));
  forged.set_hash("sha256:0000");
  ASSERT_TRUE(store_.PutSnapshot(forged).ok());
  v1::RollbackRequest request;
  request.set_target_snapshot("forged");
  EXPECT_EQ(lifecycle_.Rollback(request, Caller{"mallory"}).status().code(), StatusCode::kInternal);
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
}

TEST_F(LifecycleTest, SimulateOneJobAgainstCandidateSnapshotOrActive) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  v1::SimulateRequest request;
  request.set_tenant_id("default");
  *request.mutable_job() = MakeJob("j", "prod", "write");
  auto active = lifecycle_.Simulate(request);
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->decision(), v1::REQUIRE_APPROVAL);
  EXPECT_EQ(active->snapshot(), "v1");
  EXPECT_FALSE(active->decision_id().empty());

  request.set_policy(PolicyYaml("deny"));
  EXPECT_EQ(lifecycle_.Simulate(request)->decision(), v1::DENY);
  request.set_policy("rules: [{id: a}]\n");
  EXPECT_EQ(lifecycle_.Simulate(request).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LifecycleTest, ListAndShow) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("require_approval"), "v1").ok());
  ASSERT_TRUE(Publish("v2", PolicyYaml("deny")).status.ok());
  auto list = lifecycle_.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->snapshots_size(), 2);
  EXPECT_EQ(list->snapshots(0).name(), "v2");
  EXPECT_TRUE(list->snapshots(0).policy().empty());
  EXPECT_EQ(list->active(), "v2");
  auto shown = lifecycle_.Show("v1");
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->policy(), PolicyYaml("require_approval"));
}

// Fail closed when the store stops naming a policy: an InMemorySnapshotStore that can
// be taken down (reads fail) or lose its pointer, and a clock the test moves.
class SteppingClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now; }
  int64_t UnixMillis() const override { return 1'790'000'000'000; }
  std::chrono::steady_clock::time_point now{};
};

class FlakyStore final : public SnapshotStore {
 public:
  Status PutSnapshot(const v1::PolicySnapshot& s) override { return store.PutSnapshot(s); }
  Result<v1::PolicySnapshot> GetSnapshot(const std::string& name) override {
    return store.GetSnapshot(name);
  }
  Result<std::vector<v1::PolicySnapshot>> ListSnapshots() override { return store.ListSnapshots(); }
  Result<v1::ActiveSnapshot> GetActive() override {
    if (down) return Unavailable("store unreachable");
    if (pointer_gone) return NotFound("no active snapshot");
    return store.GetActive();
  }
  Result<uint64_t> SetActive(const v1::ActiveSnapshot& a, uint64_t revision) override {
    return store.SetActive(a, revision);
  }
  Result<std::unique_ptr<Watch>> WatchActive(
      std::function<void(const v1::ActiveSnapshot&)> on_change) override {
    return store.WatchActive(std::move(on_change));
  }
  InMemorySnapshotStore store;
  bool down = false;
  bool pointer_gone = false;
};

class LifecycleFailClosedTest : public ::testing::Test {
 protected:
  LifecycleFailClosedTest() : lifecycle_(&store_, &active_, nullptr, &sink_, &clock_, Options()) {
    lifecycle_.set_observer(&reloads_);
  }
  static LifecycleOptions Options() {
    LifecycleOptions options;
    options.store_grace = std::chrono::seconds(90);
    return options;
  }
  FlakyStore store_;
  ActivePolicy active_;
  RecordingSink sink_;
  SteppingClock clock_;
  PolicyLifecycle lifecycle_;
  ReloadRecorder reloads_;
};

TEST_F(LifecycleFailClosedTest, UnreachableStoreKeepsThePolicyWithinTheGraceThenStops) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("deny"), "v1").ok());
  store_.down = true;
  clock_.now += std::chrono::seconds(60);
  EXPECT_EQ(lifecycle_.Recheck().code(), StatusCode::kUnavailable);
  ASSERT_NE(active_.Get(), nullptr);  // a short outage (a leader election) keeps it
  clock_.now += std::chrono::seconds(31);
  EXPECT_EQ(lifecycle_.Recheck().code(), StatusCode::kUnavailable);
  EXPECT_EQ(active_.Get(), nullptr);
  EXPECT_EQ(lifecycle_.enforced().name(), "");
  ASSERT_EQ(sink_.events.back().kind(), "reload_failed");
  EXPECT_EQ(sink_.events.back().from_snapshot(), "v1");
  EXPECT_NE(sink_.events.back().error().find("not dispatching"), std::string::npos);
  const size_t events = sink_.events.size();
  EXPECT_FALSE(lifecycle_.Recheck().ok());
  EXPECT_EQ(sink_.events.size(), events);                                   // said once
  EXPECT_EQ(reloads_.results, (std::vector<std::string>{"ok", "failed"}));  // start, then the stop

  store_.down = false;  // back: enforced again at the next re-check
  EXPECT_TRUE(lifecycle_.Recheck().ok());
  ASSERT_NE(active_.Get(), nullptr);
  EXPECT_EQ(lifecycle_.enforced().name(), "v1");
  EXPECT_EQ(reloads_.results, (std::vector<std::string>{"ok", "failed", "ok"}));
}

TEST_F(LifecycleFailClosedTest, PointerOrBucketGoneStopsEnforcingAtOnce) {
  ASSERT_TRUE(lifecycle_.Start(PolicyYaml("deny"), "v1").ok());
  store_.pointer_gone = true;
  EXPECT_EQ(lifecycle_.Recheck().code(), StatusCode::kNotFound);
  EXPECT_EQ(active_.Get(), nullptr);
  EXPECT_EQ(sink_.events.back().kind(), "reload_failed");
  store_.pointer_gone = false;
  EXPECT_TRUE(lifecycle_.Recheck().ok());
  EXPECT_NE(active_.Get(), nullptr);
}

}  // namespace
}  // namespace jobgate::gate

namespace jobgate::gate {
namespace {

// A clock that moves a millisecond each time it is read.
class TickingClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    now_ += std::chrono::milliseconds(1);
    return now_;
  }
  int64_t UnixMillis() const override { return 1'790'000'000'000; }

 private:
  mutable std::chrono::steady_clock::time_point now_{};
};

TEST(LifecycleBudgetTest, ASimulationPastItsTimeStopsAndSaysSo) {
  InMemorySnapshotStore store;
  ActivePolicy active;
  FixedJobs jobs;
  for (int i = 0; i < 5000; ++i)
    jobs.jobs.push_back(MakeJob("j" + std::to_string(i), "dev", "read"));
  RecordingSink sink;
  TickingClock clock;
  LifecycleOptions options{0.05, 10000, "r1"};
  options.simulation_time = std::chrono::milliseconds(10);
  PolicyLifecycle lifecycle(&store, &active, &jobs, &sink, &clock, options);
  ASSERT_TRUE(lifecycle.Start(PolicyYaml("require_approval"), "v1").ok());
  auto summary = lifecycle.SimulateRecent(PolicyYaml("deny"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_TRUE(summary->stopped_early());
  EXPECT_LT(summary->jobs(), 5000);
  EXPECT_GT(summary->jobs(), 0);
  EXPECT_NE(summary->stop_reason().find("of 5000 recent jobs"), std::string::npos)
      << summary->stop_reason();
}

TEST(LifecycleScrubbedJobsTest, AMarkerInARecentJobCountsAsItsSecret) {
  // Recent jobs are the audit trail's scrubbed copies: a token is there as its marker.
  // A candidate that denies github tokens flips exactly those jobs.
  InMemorySnapshotStore store;
  ActivePolicy active;
  FixedJobs jobs;
  v1::Job raw = MakeJob("t1", "dev", "read");
  (*raw.mutable_args()->mutable_fields())["token"].set_string_value(
      "ghp_" + std::string("Zt8kQ2mW5xR9vB3nL7pJ4hF6dS1gC0aE8yU2"));
  policy::SecretScanner::Default().RedactJob(&raw, nullptr);
  ASSERT_NE(raw.args().fields().at("token").string_value().find("[REDACTED:github-pat:"),
            std::string::npos);
  jobs.jobs = {raw, MakeJob("r1", "dev", "read"), MakeJob("r2", "dev", "read")};
  RecordingSink sink;
  FakeClock clock;
  PolicyLifecycle lifecycle(&store, &active, &jobs, &sink, &clock,
                            LifecycleOptions{0.05, 10, "r1"});
  ASSERT_TRUE(lifecycle.Start(PolicyYaml("require_approval"), "v1").ok());
  auto summary = lifecycle.SimulateRecent(
      PolicyYaml("require_approval",
                 "  - {id: tokens, match: {secrets_present: [github-pat]}, decision: deny}\n"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->jobs(), 3);
  EXPECT_EQ(summary->flipped(), 1);
  ASSERT_EQ(summary->flips_size(), 1);
  EXPECT_EQ(summary->flips(0).from(), v1::ALLOW);
  EXPECT_EQ(summary->flips(0).to(), v1::DENY);
  EXPECT_EQ(summary->flips(0).example_job_ids(0), "t1");
}

TEST(LifecycleBudgetTest, ACandidateWithTooMuchRegexIsRefused) {
  // Each pattern compiles to about 2,000 RE2 instructions; 400 of them are over the
  // default budget of CompileOptions::max_regex_instructions.
  std::string yaml = "defaults: {decision: deny}\nrules:\n";
  for (int i = 0; i < 400; ++i) {
    yaml += "  - {id: r" + std::to_string(i) + ", match: {args: {sql: {regex: '(a|b|c|d|e|f|g|h)" +
            std::to_string(i) + "{1,1000}'}}}, decision: deny}\n";
  }
  const policy::CompileResult result = policy::Compile(yaml);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.ErrorText().find("max_regex_instructions"), std::string::npos)
      << result.ErrorText().substr(0, 500);
}

// With verify keys: no path enforces, shadows or activates a snapshot whose signature is
// missing or does not verify.
class SignedLifecycleTest : public LifecycleTest {
 protected:
  SignedLifecycleTest()
      : signer_(*policy::SnapshotSigningKey::FromPem(testing::NewEd25519KeyPair().private_pem)),
        stranger_(*policy::SnapshotSigningKey::FromPem(testing::NewEd25519KeyPair().private_pem)) {
    LifecycleOptions options{0.05, 1000, "r1"};
    options.verify_keys.push_back(*policy::SnapshotVerifyKey::FromPem(signer_.PublicKeyPem()));
    signed_ =
        std::make_unique<PolicyLifecycle>(&store_, &active_, &jobs_, &sink_, &clock_, options);
    signed_->set_observer(&reloads_);
  }

  v1::PublishRequest Request(const std::string& name, const std::string& yaml,
                             const policy::SnapshotSigningKey* key) {
    v1::PublishRequest request;
    request.set_snapshot(name);
    request.set_policy(yaml);
    request.set_allow_loosening(true);
    request.set_force(true);
    if (key != nullptr) {
      EXPECT_TRUE(SignPublishRequest(*key, &request).ok());
    }
    return request;
  }

  // Stores a snapshot straight into the store (as a writer with bucket access could).
  void PutRaw(const std::string& name, const std::string& yaml,
              const policy::SnapshotSigningKey* key) {
    v1::PolicySnapshot snapshot;
    snapshot.set_name(name);
    snapshot.set_policy(yaml);
    snapshot.set_hash(policy::Compile(yaml).policy->hash());
    if (key != nullptr) {
      snapshot.set_signature(*policy::SignSnapshot(*key, name, snapshot.hash(), yaml));
    }
    ASSERT_TRUE(store_.PutSnapshot(snapshot).ok());
  }

  void PointAt(const std::string& name) {
    v1::ActiveSnapshot pointer;
    pointer.set_name(name);
    pointer.set_hash(store_.GetSnapshot(name)->hash());
    auto current = store_.GetActive();
    ASSERT_TRUE(store_.SetActive(pointer, current.ok() ? current->revision() : 0).ok());
  }

  policy::SnapshotSigningKey signer_;
  policy::SnapshotSigningKey stranger_;
  std::unique_ptr<PolicyLifecycle> signed_;
  ReloadRecorder reloads_;
};

TEST_F(SignedLifecycleTest, SignedPublishIsEnforcedAndKeepsItsSignature) {
  PublishOutcome out = signed_->Publish(Request("v1", PolicyYaml("deny"), &signer_), {"alice"});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_EQ(store_.GetSnapshot("v1")->signature().size(), 64u);
  EXPECT_EQ(store_.GetSnapshot("v1")->signature_key_id(), signer_.id());
  // An unnamed publish signs the name the gate derives.
  out = signed_->Publish(Request("", PolicyYaml("require_approval"), &signer_), {"alice"});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
}

TEST_F(SignedLifecycleTest, UnsignedOrWronglySignedPublishIsRefused) {
  ASSERT_TRUE(signed_->Publish(Request("v1", PolicyYaml("deny"), &signer_), {"alice"}).status.ok());
  PublishOutcome out = signed_->Publish(Request("v2", PolicyYaml("allow"), nullptr), {"alice"});
  EXPECT_EQ(out.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(out.code, "bad_signature");
  out = signed_->Publish(Request("v2", PolicyYaml("allow"), &stranger_), {"alice"});
  EXPECT_EQ(out.code, "bad_signature");
  // A signature made for another name does not carry over.
  v1::PublishRequest moved = Request("v9", PolicyYaml("allow"), &signer_);
  moved.set_snapshot("v2");
  EXPECT_EQ(signed_->Publish(moved, {"alice"}).code, "bad_signature");
  // Nor one made for other policy bytes.
  v1::PublishRequest edited = Request("v2", PolicyYaml("allow"), &signer_);
  edited.set_policy(edited.policy() + "# edited\n");
  EXPECT_EQ(signed_->Publish(edited, {"alice"}).code, "bad_signature");
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_FALSE(store_.GetSnapshot("v2").ok());
}

TEST_F(SignedLifecycleTest, UnsignedSnapshotInTheStoreIsNeverEnforced) {
  ASSERT_TRUE(signed_->Publish(Request("v1", PolicyYaml("deny"), &signer_), {"alice"}).status.ok());
  PutRaw("unsigned", PolicyYaml("allow"), nullptr);
  PutRaw("stranger", PolicyYaml("allow"), &stranger_);
  for (const std::string name : {"unsigned", "stranger"}) {
    reloads_.results.clear();
    PointAt(name);
    EXPECT_EQ(signed_->Reconcile(*store_.GetActive()).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(signed_->Recheck().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(active_.Get()->snapshot_name(), "v1") << name;
    EXPECT_EQ(sink_.events.back().kind(), "reload_failed");
    EXPECT_EQ(sink_.events.back().to_snapshot(), name);
    EXPECT_EQ(reloads_.results,
              (std::vector<std::string>{"signature_refused", "signature_refused"}));
    // Rollback, shadow, activation by name and simulation refuse it too.
    v1::RollbackRequest rollback;
    rollback.set_target_snapshot(name);
    EXPECT_EQ(signed_->Rollback(rollback, {"mallory"}).status().code(),
              StatusCode::kPermissionDenied);
    v1::ShadowRequest shadow;
    shadow.set_snapshot(name);
    EXPECT_FALSE(signed_->SetShadow(shadow, {"mallory"}).ok());
    v1::PublishRequest activate;
    activate.set_snapshot(name);
    activate.set_force(true);
    activate.set_allow_loosening(true);
    EXPECT_EQ(signed_->Publish(activate, {"mallory"}).code, "bad_signature");
    v1::SimulateRequest simulate;
    simulate.set_snapshot(name);
    EXPECT_FALSE(signed_->Simulate(simulate).ok());
  }
  // A fresh replica starting on such a pointer enforces nothing (fail closed).
  ActivePolicy fresh_active;
  LifecycleOptions options{0.05, 1000, "r2"};
  options.verify_keys.push_back(*policy::SnapshotVerifyKey::FromPem(signer_.PublicKeyPem()));
  PolicyLifecycle fresh(&store_, &fresh_active, &jobs_, &sink_, &clock_, options);
  EXPECT_FALSE(fresh.Start(PolicyYaml("allow"), "boot").ok());
  EXPECT_EQ(fresh_active.Get(), nullptr);
  // A correctly signed snapshot written the same way is enforced.
  PutRaw("good", PolicyYaml("require_approval"), &signer_);
  PointAt("good");
  EXPECT_TRUE(signed_->Recheck().ok());
  EXPECT_EQ(active_.Get()->snapshot_name(), "good");
}

TEST_F(SignedLifecycleTest, BootstrapNeedsTheGatesSigningKey) {
  EXPECT_EQ(signed_->Start(PolicyYaml("deny"), "v1").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(active_.Get(), nullptr);
  LifecycleOptions options{0.05, 1000, "r1"};
  options.verify_keys.push_back(*policy::SnapshotVerifyKey::FromPem(signer_.PublicKeyPem()));
  options.signing_key = signer_;
  PolicyLifecycle with_key(&store_, &active_, &jobs_, &sink_, &clock_, options);
  ASSERT_TRUE(with_key.Start(PolicyYaml("deny"), "v1").ok());
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
  EXPECT_EQ(store_.GetSnapshot("v1")->signature_key_id(), signer_.id());
}

TEST_F(SignedLifecycleTest, PointerHashDisagreeingWithTheSnapshotIsNotEnforced) {
  ASSERT_TRUE(signed_->Publish(Request("v1", PolicyYaml("deny"), &signer_), {"alice"}).status.ok());
  PutRaw("v2", PolicyYaml("allow"), &signer_);
  v1::ActiveSnapshot pointer;
  pointer.set_name("v2");
  pointer.set_hash("sha256:1111");
  ASSERT_TRUE(store_.SetActive(pointer, store_.GetActive()->revision()).ok());
  EXPECT_FALSE(signed_->Recheck().ok());
  EXPECT_EQ(active_.Get()->snapshot_name(), "v1");
}

}  // namespace
}  // namespace jobgate::gate
