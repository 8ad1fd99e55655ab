// What a job is judged as is where it goes: the dispatcher binds the topic to the arrival
// subject (topic_mismatch), the tenant to the body or a subject token (tenant_mismatch),
// and a job id to the content first seen under it (idempotency_conflict). Unit tests with
// a fake bus, plus generated jobs by the thousand.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "gate/approvals/approvals.h"
#include "gate/core/dispatcher.h"
#include "gate/core/job_ids.h"
#include "subjects/binding.h"
#include "subjects/codec.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FakeBus;
using ::jobgate::testing::FakeClock;
using ::jobgate::testing::Settlement;

// Seed 001's shape: reads allowed, prod writes held, deletes denied, the rest denied.
constexpr char kPolicy[] = R"(version: 1
snapshot: identity-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.mcp-bridge.read.>", "job.acme.read.>", "job.globex.read.>"]}
    decision: allow
  - id: approve-write
    match: {topics: ["job.mcp-bridge.write.>", "job.acme.write.>"]}
    decision: require_approval
  - id: deny-delete
    match: {topics: ["job.mcp-bridge.delete.>", "job.acme.delete.>"]}
    decision: deny
  - id: acme-only
    match: {topics: ["job.acme.tenant.>"], tenants: ["acme"]}
    decision: allow
)";

std::string Json(const std::string& id, const std::string& extra = "") {
  return R"({"job_id": ")" + id + R"(")" + (extra.empty() ? "" : ", " + extra) + "}";
}

v1::RejectedMessage OnlyRejection(const FakeBus& bus) {
  const auto rejected = bus.PublishedOn("audit.rejected");
  EXPECT_EQ(rejected.size(), 1u);
  v1::RejectedMessage r;
  if (!rejected.empty()) {
    EXPECT_TRUE(r.ParseFromString(rejected[0]->body));
  }
  return r;
}

class JobIdentityTest : public ::testing::Test {
 protected:
  JobIdentityTest() : limiter_(&clock_), job_ids_(&clock_, std::chrono::minutes(4)) {
    auto compiled = policy::Compile(kPolicy);
    EXPECT_TRUE(compiled.ok()) << compiled.ErrorText();
    policy_.Set(compiled.policy);
    approvals_ = std::make_unique<ApprovalService>(
        &approval_store_, &approval_publisher_, [this] { return policy_.Get(); }, &clock_,
        ApprovalOptions{});
  }

  Dispatcher::BatchStats Run(subjects::TenantSource tenant_from = subjects::TenantSource::kBody,
                             JobIdStore* job_ids = nullptr) {
    DispatcherOptions options;
    options.tenant_from = tenant_from;
    Dispatcher dispatcher(options, &bus_, &clock_, &policy_, &limiter_, nullptr,
                          DispatcherSeams{nullptr, approvals_.get(), nullptr, job_ids});
    auto stats = dispatcher.RunOnce();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : Dispatcher::BatchStats{};
  }

  size_t Routed() const {
    return bus_.PublishedOn("worker.").size() + bus_.PublishedOn("approval.requests.").size() +
           bus_.PublishedOn("audit.denied.").size();
  }

  FakeClock clock_;
  FakeBus bus_;
  ActivePolicy policy_;
  RateLimiter limiter_;
  InMemoryApprovalStore approval_store_;
  struct NullPublisher final : ApprovalPublisher {
    Status Publish(const OutboundMessage&) override { return Status::Ok(); }
  } approval_publisher_;
  std::unique_ptr<ApprovalService> approvals_;
  InMemoryJobIdStore job_ids_;
};

// A spoofed topic: a write published with a read's topic in its body was judged as the
// read and dispatched to the write's worker.
TEST_F(JobIdentityTest, ASpoofedTopicIsRefusedWhateverTheDecisionEitherWouldGet) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // {arrival subject (decides hold/deny/allow), body topic (would be allowed)}
      {"job.mcp-bridge.write.update_ticket", "job.mcp-bridge.read.get_ticket"},  // hold
      {"job.mcp-bridge.delete.ticket", "job.mcp-bridge.read.get_ticket"},        // deny
      {"job.mcp-bridge.read.get_ticket", "job.mcp-bridge.write.update_ticket"},  // allow
      {"job.other.thing", "job.mcp-bridge.read.get_ticket"},                     // default
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    bus_.Enqueue(cases[i].first,
                 Json("spoof-" + std::to_string(i), R"("topic": ")" + cases[i].second +
                                                        R"(", "risk_tags": ["prod", "write"])"));
  }
  const auto stats = Run();
  EXPECT_EQ(stats.rejected, cases.size());
  EXPECT_EQ(stats.dispatched, 0u);
  EXPECT_EQ(Routed(), 0u);
  EXPECT_EQ(bus_.PublishedOn("audit.decisions.").size(), 0u);  // never judged
  const auto rejected = bus_.PublishedOn("audit.rejected");
  ASSERT_EQ(rejected.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(bus_.settlement(i).kind, Settlement::Kind::kAck);
    v1::RejectedMessage r;
    ASSERT_TRUE(r.ParseFromString(rejected[i]->body));
    EXPECT_EQ(r.reason(), "topic_mismatch");
    EXPECT_EQ(r.field(), "topic");
    EXPECT_EQ(r.claimed(), cases[i].second);
    EXPECT_EQ(r.bound(), cases[i].first);
    EXPECT_EQ(r.subject(), cases[i].first);
    EXPECT_EQ(r.job_id(), "spoof-" + std::to_string(i));
  }
}

TEST_F(JobIdentityTest, AnEmptyTopicIsFilledAndAnEqualOneAccepted) {
  bus_.Enqueue("job.mcp-bridge.read.a", Json("empty"));
  bus_.Enqueue("job.mcp-bridge.read.b", Json("same", R"("topic": "job.mcp-bridge.read.b")"));
  const auto stats = Run();
  EXPECT_EQ(stats.dispatched, 2u);
  for (const char* rest : {"mcp-bridge.read.a", "mcp-bridge.read.b"}) {
    const auto routed = bus_.PublishedOn(std::string("worker.") + rest);
    ASSERT_EQ(routed.size(), 1u);
    v1::DispatchedJob d;
    ASSERT_TRUE(d.ParseFromString(routed[0]->body));
    EXPECT_EQ(d.job().topic(), std::string("job.") + rest);
    EXPECT_EQ(d.decision().topic(), std::string("job.") + rest);
  }
}

TEST_F(JobIdentityTest, TenantFromTheSubjectTokenRefusesABodyClaimingAnother) {
  bus_.Enqueue("job.acme.tenant.x", Json("t1"));                                 // filled
  bus_.Enqueue("job.acme.tenant.y", Json("t2", R"("tenant_id": "acme")"));       // agrees
  bus_.Enqueue("job.globex.read.z", Json("t3", R"("tenant_id": "acme")"));       // claims acme
  bus_.Enqueue("job.acme.tenant.w", Json("t4", R"("tenant_id": "default")"));    // claims default
  bus_.Enqueue("job.acme", Json("t5"));                                          // no action
  const auto stats = Run(subjects::TenantSource::kSubjectToken);
  EXPECT_EQ(stats.dispatched, 2u);
  EXPECT_EQ(stats.rejected, 3u);
  ASSERT_EQ(bus_.PublishedOn("worker.acme.tenant.").size(), 2u);
  for (const auto* m : bus_.PublishedOn("worker.acme.tenant.")) {
    v1::DispatchedJob d;
    ASSERT_TRUE(d.ParseFromString(m->body));
    EXPECT_EQ(d.job().tenant_id(), "acme");
    EXPECT_EQ(d.decision().matched_rule(), "acme-only");  // judged as acme
  }
  const auto rejected = bus_.PublishedOn("audit.rejected");
  ASSERT_EQ(rejected.size(), 3u);
  std::vector<std::string> reasons;
  for (const auto* m : rejected) {
    v1::RejectedMessage r;
    ASSERT_TRUE(r.ParseFromString(m->body));
    reasons.push_back(r.reason() + ":" + r.claimed() + ">" + r.bound());
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{"tenant_mismatch:acme>globex",
                                               "tenant_mismatch:default>acme",
                                               "bad_subject:>"}));
}

TEST_F(JobIdentityTest, TenantFromTheBodyIsTheDefault) {
  bus_.Enqueue("job.acme.tenant.x", Json("b1", R"("tenant_id": "acme")"));
  bus_.Enqueue("job.acme.tenant.y", Json("b2"));  // tenant "default": acme-only does not match
  Run();
  EXPECT_EQ(bus_.PublishedOn("worker.acme.tenant.x").size(), 1u);
  EXPECT_EQ(bus_.PublishedOn("audit.denied.acme.tenant.y").size(), 1u);
}

// Before the store, the second job below was acked and dropped by the duplicate window.
TEST_F(JobIdentityTest, ASecondJobUnderAUsedIdIsRefusedNotDropped) {
  bus_.Enqueue("job.mcp-bridge.read.a", Json("dup", R"("labels": {"v": "1"})"));
  Run(subjects::TenantSource::kBody, &job_ids_);
  clock_.Advance(std::chrono::seconds(1));
  bus_.Enqueue("job.mcp-bridge.read.a", Json("dup", R"("labels": {"v": "2"})"));
  const auto stats = Run(subjects::TenantSource::kBody, &job_ids_);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(bus_.settlement(1).kind, Settlement::Kind::kAck);
  EXPECT_EQ(bus_.PublishedOn("worker.").size(), 1u);
  const v1::RejectedMessage r = OnlyRejection(bus_);
  EXPECT_EQ(r.reason(), "idempotency_conflict");
  EXPECT_EQ(r.job_id(), "dup");
  EXPECT_EQ(r.tenant_id(), "default");
  auto first = subjects::DecodeJob(Json("dup", R"("labels": {"v": "1"})"),
                                   subjects::BodyFormat::kJson);
  auto second = subjects::DecodeJob(Json("dup", R"("labels": {"v": "2"})"),
                                    subjects::BodyFormat::kJson);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(subjects::NormalizeJob("job.mcp-bridge.read.a", &*first).ok());
  ASSERT_TRUE(subjects::NormalizeJob("job.mcp-bridge.read.a", &*second).ok());
  EXPECT_EQ(r.first_digest(), JobDigest(*first));
  EXPECT_EQ(r.job_digest(), JobDigest(*second));
}

TEST_F(JobIdentityTest, ARetryOfTheSameJobIsDeduplicatedAsBefore) {
  // Same content, JSON then protobuf, in one batch and in the next.
  bus_.Enqueue("job.mcp-bridge.read.a", Json("same", R"("labels": {"v": "1"})"));
  auto job = subjects::DecodeJob(Json("same", R"("labels": {"v": "1"})"),
                                 subjects::BodyFormat::kJson);
  ASSERT_TRUE(job.ok());
  bus_.Enqueue("job.mcp-bridge.read.a", job->SerializeAsString());
  Run(subjects::TenantSource::kBody, &job_ids_);
  bus_.Enqueue("job.mcp-bridge.read.a", Json("same", R"("labels": {"v": "1"})"));
  const auto stats = Run(subjects::TenantSource::kBody, &job_ids_);
  EXPECT_EQ(stats.dispatched, 1u);
  EXPECT_EQ(bus_.PublishedOn("audit.rejected").size(), 0u);
  EXPECT_EQ(bus_.PublishedOn("worker.").size(), 1u);  // the msg ids deduplicate
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(bus_.settlement(i).kind, Settlement::Kind::kAck);
}

TEST_F(JobIdentityTest, IdsAreScopedByTenantAndConflictsWithinOneBatchAreCaught) {
  bus_.Enqueue("job.mcp-bridge.read.a", Json("x", R"("tenant_id": "t1")"));
  bus_.Enqueue("job.mcp-bridge.read.a", Json("x", R"("tenant_id": "t2")"));  // another tenant
  bus_.Enqueue("job.mcp-bridge.read.b", Json("x", R"("tenant_id": "t1")"));  // other content
  const auto stats = Run(subjects::TenantSource::kBody, &job_ids_);
  EXPECT_EQ(stats.dispatched, 2u);
  EXPECT_EQ(OnlyRejection(bus_).reason(), "idempotency_conflict");
  EXPECT_EQ(bus_.settlement(2).kind, Settlement::Kind::kAck);
}

TEST_F(JobIdentityTest, AClaimExpiresAfterItsTtl) {
  bus_.Enqueue("job.mcp-bridge.read.a", Json("old", R"("labels": {"v": "1"})"));
  Run(subjects::TenantSource::kBody, &job_ids_);
  clock_.Advance(std::chrono::minutes(5));
  bus_.Enqueue("job.mcp-bridge.read.b", Json("old", R"("labels": {"v": "2"})"));
  const auto stats = Run(subjects::TenantSource::kBody, &job_ids_);
  EXPECT_EQ(stats.dispatched, 1u);
  EXPECT_EQ(bus_.PublishedOn("audit.rejected").size(), 0u);
}

TEST_F(JobIdentityTest, AStoreThatCannotAnswerNeverLetsAJobThrough) {
  job_ids_.set_failure(Unavailable("store down"));
  bus_.Enqueue("job.mcp-bridge.read.a", Json("f1"));
  bus_.Enqueue("job.mcp-bridge.write.b", Json("f2"));
  bus_.Enqueue("job.mcp-bridge.read.c", Json("f3", R"("topic": "job.other")"));
  const auto stats = Run(subjects::TenantSource::kBody, &job_ids_);
  EXPECT_EQ(stats.retried, 2u);
  EXPECT_EQ(stats.rejected, 1u);  // the mismatch needs no store
  EXPECT_EQ(Routed(), 0u);
  EXPECT_EQ(bus_.PublishedOn("audit.decisions.").size(), 0u);
  EXPECT_EQ(bus_.settlement(0).kind, Settlement::Kind::kNak);
  EXPECT_EQ(bus_.settlement(1).kind, Settlement::Kind::kNak);
  EXPECT_EQ(bus_.settlement(2).kind, Settlement::Kind::kAck);

  job_ids_.set_failure(Status::Ok());
  bus_.Enqueue("job.mcp-bridge.read.a", Json("f1"));
  EXPECT_EQ(Run(subjects::TenantSource::kBody, &job_ids_).dispatched, 1u);
}

// ---- generated ---------------------------------------------------------------------------

// Topics close to a subject: the same, empty, or off by one thing a spoofer or a bug
// would produce.
std::string NearTopic(const std::string& subject, std::mt19937_64& rng) {
  static const std::vector<std::string> others = {
      "job.mcp-bridge.read.get_ticket", "job.mcp-bridge.write.update_ticket",
      "job.mcp-bridge.delete.ticket", "job.acme.read.x", "job.acme.write.x", "job.other"};
  switch (rng() % 10) {
    case 0:
    case 1:
      return "";
    case 2:
    case 3:
      return subject;
    case 4:
      return others[rng() % others.size()];
    case 5:
      return subject + ".x";
    case 6:
      return subject.substr(0, subject.rfind('.'));
    case 7: {
      std::string t = subject;
      t[rng() % t.size()] = static_cast<char>('A' + rng() % 26);
      return t;
    }
    case 8:
      return subject + std::string(1, '\0');
    default:
      return " " + subject;
  }
}

std::string Subject(std::mt19937_64& rng) {
  static const std::vector<std::string> tenants = {"mcp-bridge", "acme", "globex", "x"};
  static const std::vector<std::string> verbs = {"read", "write", "delete", "tenant", "other"};
  std::string s = "job." + tenants[rng() % tenants.size()] + "." + verbs[rng() % verbs.size()];
  const int extra = static_cast<int>(rng() % 3);
  for (int i = 0; i < extra; ++i) s += ".t" + std::to_string(rng() % 5);
  return s;
}

// Every generated job is either refused before judgement for the reason its body gives,
// or judged as exactly the subject it is routed from: the decision record's job, the
// decision and the routed subject agree, and the decision is the policy's for a job whose
// topic is that subject.
TEST_F(JobIdentityTest, GeneratedJobsAreJudgedAsTheSubjectTheyAreRoutedFrom) {
  std::mt19937_64 rng(20261205);
  auto compiled = policy::Compile(kPolicy);
  ASSERT_TRUE(compiled.ok());
  const auto& reference = *compiled.policy;
  for (const auto tenant_from :
       {subjects::TenantSource::kBody, subjects::TenantSource::kSubjectToken}) {
    FakeBus bus;
    struct Expected {
      std::string subject;
      v1::Job job;  // as published
    };
    std::vector<Expected> expected;
    for (int i = 0; i < 3000; ++i) {
      Expected e;
      e.subject = Subject(rng);
      e.job.set_job_id("g" + std::string(subjects::TenantSourceName(tenant_from)) +
                       std::to_string(i));
      e.job.set_topic(NearTopic(e.subject, rng));
      if (rng() % 2 == 0) e.job.set_tenant_id(rng() % 2 == 0 ? "acme" : "globex");
      if (rng() % 2 == 0) e.job.add_risk_tags("prod");
      bus.Enqueue(e.subject, e.job.SerializeAsString());
      expected.push_back(std::move(e));
    }
    DispatcherOptions options;
    options.tenant_from = tenant_from;
    options.batch_size = 128;
    InMemoryJobIdStore ids(&clock_, std::chrono::minutes(4));
    Dispatcher dispatcher(options, &bus, &clock_, &policy_, &limiter_, nullptr,
                          DispatcherSeams{nullptr, approvals_.get(), nullptr, &ids});
    while (bus.queued() > 0) ASSERT_TRUE(dispatcher.RunOnce().ok());

    std::map<std::string, v1::DecisionRecord> records;  // by job id
    for (const auto* m : bus.PublishedOn("audit.decisions.")) {
      v1::DecisionRecord r;
      ASSERT_TRUE(r.ParseFromString(m->body));
      EXPECT_TRUE(records.emplace(r.job().job_id(), r).second);
    }
    std::map<std::string, std::string> rejected;  // by body sha: reason
    for (const auto* m : bus.PublishedOn("audit.rejected")) {
      v1::RejectedMessage r;
      ASSERT_TRUE(r.ParseFromString(m->body));
      rejected[r.job_id()] = r.reason();
    }
    size_t judged = 0, refused = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      const Expected& e = expected[i];
      SCOPED_TRACE(e.subject + " body topic '" + e.job.topic() + "'");
      EXPECT_EQ(bus.settlement(i).kind, Settlement::Kind::kAck);
      const std::string rest = e.subject.substr(4);
      const std::string tenant_token = rest.substr(0, rest.find('.'));
      std::string want_reason;
      if (!e.job.topic().empty() && e.job.topic() != e.subject) {
        want_reason = "topic_mismatch";
      } else if (tenant_from == subjects::TenantSource::kSubjectToken &&
                 !e.job.tenant_id().empty() && e.job.tenant_id() != tenant_token) {
        want_reason = "tenant_mismatch";
      }
      auto record = records.find(e.job.job_id());
      if (!want_reason.empty()) {
        ++refused;
        EXPECT_EQ(rejected[e.job.job_id()], want_reason);
        EXPECT_EQ(record, records.end());
        continue;
      }
      ++judged;
      ASSERT_NE(record, records.end());
      const v1::DecisionRecord& r = record->second;
      EXPECT_EQ(r.subject(), e.subject);
      EXPECT_EQ(r.job().topic(), e.subject);
      EXPECT_EQ(r.decision().topic(), e.subject);
      EXPECT_EQ(subjects::RestOf(r.routed_to(), std::string(TargetPrefix(
                                                     options.prefixes, r.decision().decision()))),
                rest);
      v1::Job bound = e.job;
      bound.set_topic(e.subject);
      bound.set_tenant_id(tenant_from == subjects::TenantSource::kSubjectToken ? tenant_token
                          : e.job.tenant_id().empty()                          ? "default"
                                                                               : e.job.tenant_id());
      EXPECT_EQ(r.job().tenant_id(), bound.tenant_id());
      policy::Evaluation eval;
      reference.Evaluate(bound, &eval);
      EXPECT_EQ(r.decision().decision(), eval.verdict);
    }
    EXPECT_EQ(judged + refused, expected.size());
    EXPECT_GT(judged, 500u);
    EXPECT_GT(refused, 1000u);
  }
}

// BindJob alone, on generated strings: a non-empty topic is accepted only when it is the
// subject byte for byte; the bound topic is always the subject.
TEST(BindJobTest, ATopicIsAcceptedOnlyWhenItIsTheSubject) {
  std::mt19937_64 rng(7);
  const std::string alphabet("job.aA*>_-\0\xff ", 13);
  for (int i = 0; i < 20000; ++i) {
    std::string subject = "job.", topic;
    for (int k = rng() % 6; k > 0; --k) subject += alphabet[rng() % alphabet.size()];
    topic = rng() % 3 == 0 ? subject : "";
    for (int k = rng() % 4; k > 0; --k) topic += alphabet[rng() % alphabet.size()];
    v1::Job job;
    job.set_job_id("j");
    job.set_topic(topic);
    subjects::BindingRefusal refusal;
    const Status s = subjects::BindJob(subject, subjects::JobBinding{}, &job, &refusal);
    if (topic.empty() || topic == subject) {
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(job.topic(), subject);
    } else {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(refusal.reason, "topic_mismatch");
      EXPECT_EQ(refusal.claimed, topic);
      EXPECT_EQ(refusal.bound, subject);
    }
  }
}

}  // namespace
}  // namespace jobgate::gate
