// ApprovalService on the in-memory store with a recording publisher and a hand-moved
// clock: holding, the binding rules of approve and reject, expiry, release exactly once,
// and the API routes. The same service on JetStream KV is in
// approvals_integration_test.cc.
#include "gate/approvals/approvals.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "gate/api/api.h"
#include "gate/core/dispatcher.h"
#include "base/hash.h"
#include "subjects/codec.h"
#include "tests/gate/approvals/approvals_test_util.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using approvals_test::Ask;
using approvals_test::CompileOrDie;
using approvals_test::DbJob;
using approvals_test::Person;
using approvals_test::RecordingPublisher;
using google::protobuf::util::TimeUtil;
using Record = v1::PendingApproval;

class CountingObserver final : public ApprovalObserver {
 public:
  void OnHeld() override { ++held; }
  void OnResolved(std::string_view outcome, double wait_seconds) override {
    std::lock_guard<std::mutex> lock(mu);
    resolved[std::string(outcome)]++;
    last_wait_seconds = wait_seconds;
  }
  void OnRefused(std::string_view code) override {
    std::lock_guard<std::mutex> lock(mu);
    refused[std::string(code)]++;
  }
  void OnPendingCount(int64_t n) override { pending = n; }

  std::mutex mu;
  std::atomic<int> held{0};
  std::atomic<int64_t> pending{-1};
  std::map<std::string, int> resolved;  // GUARDED_BY(mu)
  std::map<std::string, int> refused;   // GUARDED_BY(mu)
  double last_wait_seconds = -1;        // GUARDED_BY(mu)
};

class ApprovalsTest : public ::testing::Test {
 protected:
  ApprovalsTest()
      : held_policy_(CompileOrDie(approvals_test::kHoldPolicy)),
        enforced_(held_policy_),
        service_(
            &store_, &publisher_, [this] { return Enforced(); }, &clock_, {}, &observer_) {}

  std::shared_ptr<const policy::Policy> Enforced() {
    std::lock_guard<std::mutex> lock(mu_);
    return enforced_;
  }
  void Enforce(const char* yaml) {
    auto next = CompileOrDie(yaml);
    std::lock_guard<std::mutex> lock(mu_);
    enforced_ = std::move(next);
  }

  // Judges `job` under the held policy and holds it, as the dispatcher does.
  Held HoldJob(const v1::Job& job) {
    v1::Decision decision = held_policy_->Decide(job, {"decision-" + job.job_id(), 1});
    EXPECT_EQ(decision.decision(), v1::REQUIRE_APPROVAL);
    // The lead's FillDecision will fill this from the rule's approval_ttl (1h).
    decision.set_approval_ttl_sec(3600);
    auto held = service_.Hold(job, decision, "job.db.migrate");
    EXPECT_TRUE(held.ok()) << held.status().ToString();
    return held.ok() ? *held : Held{};
  }

  Record Stored(const std::string& job_id) {
    auto record = store_.Get("default", job_id);
    EXPECT_TRUE(record.ok()) << record.status().ToString();
    return record.ok() ? *record : Record{};
  }

  testing::FakeClock clock_;
  InMemoryApprovalStore store_;
  RecordingPublisher publisher_;
  CountingObserver observer_;
  std::shared_ptr<const policy::Policy> held_policy_;
  std::mutex mu_;
  std::shared_ptr<const policy::Policy> enforced_;  // GUARDED_BY(mu_)
  ApprovalService service_;
};

TEST(JobDigestTest, CanonicalWhateverTheInsertionOrder) {
  v1::Job a = DbJob("j1");
  v1::Job b = DbJob("j1");
  (*a.mutable_labels())["x"] = "1";
  (*a.mutable_labels())["y"] = "2";
  (*b.mutable_labels())["y"] = "2";
  (*b.mutable_labels())["x"] = "1";
  (*a.mutable_args()->mutable_fields())["z"].set_number_value(1);
  EXPECT_NE(JobDigest(a), JobDigest(b));
  (*b.mutable_args()->mutable_fields())["z"].set_number_value(1);
  EXPECT_EQ(JobDigest(a), JobDigest(b));
  EXPECT_EQ(JobDigest(a).rfind("sha256:", 0), 0u);
  EXPECT_EQ(JobDigest(a).size(), 7u + 64u);

  // JSON key order does not matter either.
  v1::Job c, d;
  ASSERT_TRUE(subjects::FromJson(R"({"job_id":"j","labels":{"a":"1","b":"2"}})", &c).ok());
  ASSERT_TRUE(subjects::FromJson(R"({"labels":{"b":"2","a":"1"},"job_id":"j"})", &d).ok());
  EXPECT_EQ(JobDigest(c), JobDigest(d));
}

// A record stored by a gate on a newer schema may hold fields this one does not know: they
// are not part of the job as shown, nor of its digest, wherever they sit.
TEST(JobDigestTest, FieldsTheSchemaDoesNotKnowAreNotDigested) {
  const v1::Job plain = DbJob("j1");
  v1::Job top = plain;
  top.GetReflection()->MutableUnknownFields(&top)->AddLengthDelimited(99, "newer");
  v1::Job nested = plain;
  google::protobuf::Value* value = &(*nested.mutable_args()->mutable_fields())["sql"];
  value->GetReflection()->MutableUnknownFields(value)->AddVarint(99, 7);
  EXPECT_EQ(JobDigest(top), JobDigest(plain));
  EXPECT_EQ(JobDigest(nested), JobDigest(plain));
}

TEST(ApprovalKeyTest, SafeForKvAndDistinctPerTenant) {
  const std::string key = ApprovalKey("default", "weird id/with*chars>");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(ApprovalKey("", "j"), ApprovalKey("default", "j"));
  EXPECT_NE(ApprovalKey("a", "bc"), ApprovalKey("ab", "c"));
}

// --- the sweep index ------------------------------------------------------------------------

// A record as the store keeps it: a job with arguments and a decision around the three
// fields the index reads.
Record Stored(const std::string& job_id, Record::Status status, int64_t expires_at_ms,
              bool released = false) {
  Record record;
  *record.mutable_job() = DbJob(job_id);
  record.mutable_decision()->set_decision(v1::REQUIRE_APPROVAL);
  record.mutable_decision()->set_reason("schema changes in prod need a DBA");
  record.set_subject("job.db.migrate");
  record.set_status(status);
  *record.mutable_approval()->mutable_expires_at() =
      TimeUtil::MillisecondsToTimestamp(expires_at_ms);
  record.mutable_approval()->set_job_digest(JobDigest(record.job()));
  record.set_released(released);
  return record;
}

std::string KeyOf(const std::string& job_id) { return ApprovalKey("default", job_id); }

Status Put(ApprovalSweepIndex* index, const Record& record) {
  return index->Put(KeyOf(record.job().job_id()), record.SerializeAsString());
}

TEST(ApprovalSweepIndexTest, PendingCountsAndFallsDueAtItsExpiry) {
  ApprovalSweepIndex index;
  ASSERT_TRUE(Put(&index, Stored("a", Record::PENDING, 10'500)).ok());
  EXPECT_EQ(index.pending(), 1);
  EXPECT_TRUE(index.Scan(10'499).due_keys.empty());
  EXPECT_EQ(index.Scan(10'499).pending, 1);
  // Due at expires_at itself, as Approve and the sweep decide.
  EXPECT_EQ(index.Scan(10'500).due_keys, std::vector<std::string>{KeyOf("a")});
}

TEST(ApprovalSweepIndexTest, OffersThePendingPlacesToAPager) {
  ApprovalSweepIndex index;
  auto held_at = [](Record record, int64_t ms) {
    *record.mutable_approval()->mutable_held_at() = TimeUtil::MillisecondsToTimestamp(ms);
    return record;
  };
  ASSERT_TRUE(Put(&index, held_at(Stored("late", Record::PENDING, 99'000), 3'000)).ok());
  ASSERT_TRUE(Put(&index, held_at(Stored("early", Record::PENDING, 99'000), 1'000)).ok());
  ASSERT_TRUE(Put(&index, held_at(Stored("approved", Record::APPROVED, 99'000), 2'000)).ok());
  ApprovalPager pager(ApprovalListQuery{});
  index.OfferPending(&pager);
  ApprovalPage page = std::move(pager).Finish();
  EXPECT_EQ(page.pending, 2);
  ASSERT_EQ(page.places.size(), 2u);
  EXPECT_EQ(page.places[0].key, KeyOf("early"));
  EXPECT_EQ(page.places[0].held_at_ms, 1'000);
  EXPECT_EQ(page.places[1].key, KeyOf("late"));
  EXPECT_EQ(page.records.size(), 2u);  // empty: the store reads them by key
  EXPECT_FALSE(page.next.has_value());
}

TEST(ApprovalSweepIndexTest, ResolvedIsDueUntilReleasedThenLeaves) {
  ApprovalSweepIndex index;
  ASSERT_TRUE(Put(&index, Stored("a", Record::PENDING, 99'000'000)).ok());
  ASSERT_TRUE(Put(&index, Stored("a", Record::APPROVED, 99'000'000)).ok());
  EXPECT_EQ(index.pending(), 0);
  EXPECT_EQ(index.Scan(0).due_keys, std::vector<std::string>{KeyOf("a")});
  ASSERT_TRUE(Put(&index, Stored("a", Record::APPROVED, 99'000'000, /*released=*/true)).ok());
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(index.Scan(100'000'000).due_keys.empty());
  for (auto status : {Record::REJECTED, Record::EXPIRED}) {
    ASSERT_TRUE(Put(&index, Stored("b", status, 0)).ok());
    EXPECT_EQ(index.Scan(0).due_keys, std::vector<std::string>{KeyOf("b")});
  }
}

TEST(ApprovalSweepIndexTest, ANewValueReplacesTheOldOneAndEraseForgetsIt) {
  ApprovalSweepIndex index;
  ASSERT_TRUE(Put(&index, Stored("a", Record::PENDING, 1'000)).ok());
  ASSERT_TRUE(Put(&index, Stored("a", Record::PENDING, 5'000)).ok());  // counted once
  ASSERT_TRUE(Put(&index, Stored("b", Record::PENDING, 2'000)).ok());
  EXPECT_EQ(index.pending(), 2);
  EXPECT_EQ(index.Scan(3'000).due_keys, std::vector<std::string>{KeyOf("b")});
  index.Erase(KeyOf("b"));
  index.Erase(KeyOf("never-held"));
  EXPECT_EQ(index.pending(), 1);
  EXPECT_TRUE(index.Scan(3'000).due_keys.empty());
  EXPECT_EQ(index.Scan(5'000).due_keys, std::vector<std::string>{KeyOf("a")});
}

TEST(ApprovalSweepIndexTest, ScanIsSoonestExpiryFirstThenByKey) {
  ApprovalSweepIndex index;
  ASSERT_TRUE(Put(&index, Stored("late", Record::PENDING, 3'000)).ok());
  ASSERT_TRUE(Put(&index, Stored("early", Record::PENDING, 1'000)).ok());
  ASSERT_TRUE(Put(&index, Stored("tie-1", Record::PENDING, 2'000)).ok());
  ASSERT_TRUE(Put(&index, Stored("tie-2", Record::PENDING, 2'000)).ok());
  const std::vector<std::string> due = index.Scan(3'000).due_keys;
  ASSERT_EQ(due.size(), 4u);
  EXPECT_EQ(due[0], KeyOf("early"));
  EXPECT_EQ(std::min(due[1], due[2]), due[1]);
  EXPECT_EQ((std::set<std::string>{due[1], due[2]}),
            (std::set<std::string>{KeyOf("tie-1"), KeyOf("tie-2")}));
  EXPECT_EQ(due[3], KeyOf("late"));
}

TEST(ApprovalSweepIndexTest, ReadsTheFieldsWhereverTheyAreOnTheWire) {
  // Protobuf merges repeated occurrences of a message: fields may come in any order, split
  // across occurrences, among fields this reader does not know.
  Record expiry;
  *expiry.mutable_approval()->mutable_expires_at() = TimeUtil::MillisecondsToTimestamp(7'250);
  expiry.mutable_approval()->set_approver("nobody yet");
  Record status;
  status.set_status(Record::PENDING);
  *status.mutable_job() = DbJob("a");
  std::string unknown_field;  // field 99, a length-delimited value
  unknown_field.push_back(static_cast<char>(((99 << 3 | 2) & 0x7f) | 0x80));
  unknown_field.push_back(static_cast<char>((99 << 3 | 2) >> 7));
  unknown_field += std::string(1, '\x03') + "xyz";
  const std::string bytes = status.SerializeAsString() + unknown_field + expiry.SerializeAsString();
  Record parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));  // protobuf agrees the bytes are a record
  ApprovalSweepIndex index;
  ASSERT_TRUE(index.Put(KeyOf("a"), bytes).ok());
  EXPECT_EQ(index.pending(), 1);
  EXPECT_TRUE(index.Scan(7'249).due_keys.empty());
  EXPECT_EQ(index.Scan(7'250).due_keys.size(), 1u);
}

TEST(ApprovalSweepIndexTest, RefusesWhatIsNotAnApprovalRecord) {
  ApprovalSweepIndex index;
  ASSERT_TRUE(Put(&index, Stored("a", Record::PENDING, 1'000)).ok());
  EXPECT_EQ(index.Put("not-a-key", Stored("x", Record::PENDING, 0).SerializeAsString()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Put(std::string(64, 'G'), "").code(), StatusCode::kInvalidArgument);
  // Truncated bytes: the key's old value is no longer known, so it leaves the index.
  const std::string bytes = Stored("a", Record::PENDING, 1'000).SerializeAsString();
  EXPECT_EQ(index.Put(KeyOf("a"), bytes.substr(0, bytes.size() - 3)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.pending(), 0);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Put(KeyOf("a"), "\xff\xff\xff").code(), StatusCode::kInvalidArgument);
}

TEST(ApprovalSweepIndexTest, AgreesWithAFullParseOnEveryKindOfRecord) {
  // The index and the in-memory store (which parses whole records) name the same keys.
  InMemoryApprovalStore store;
  ApprovalSweepIndex index;
  const Record::Status statuses[] = {Record::PENDING, Record::APPROVED, Record::REJECTED,
                                     Record::EXPIRED};
  int n = 0;
  for (Record::Status status : statuses) {
    for (bool released : {false, true}) {
      for (int64_t expires_at_ms : {0, 1'000, 2'000, 3'000}) {
        const Record record = Stored("j" + std::to_string(n++), status, expires_at_ms, released);
        ASSERT_TRUE(store.Create(record).ok());
        ASSERT_TRUE(Put(&index, record).ok());
      }
    }
  }
  for (int64_t now_ms : {0, 1'000, 1'500, 2'999, 3'000}) {
    auto expected = store.ScanForSweep(TimeUtil::MillisecondsToTimestamp(now_ms));
    ASSERT_TRUE(expected.ok());
    const SweepScan got = index.Scan(now_ms);
    EXPECT_EQ(got.due_keys, expected->due_keys) << "now " << now_ms;
    EXPECT_EQ(got.pending, expected->pending);
  }
}

TEST_F(ApprovalsTest, HoldPublishesTheRequestWithItsBinding) {
  const Held held = HoldJob(DbJob("j1"));
  EXPECT_TRUE(held.created);
  ASSERT_TRUE(held.request_due);
  const OutboundMessage message = service_.RequestMessage(held.approval);
  EXPECT_EQ(message.subject, "approval.requests.db.migrate");
  // The dispatcher's msg id for the copy it routes: a redelivery is a duplicate either way.
  EXPECT_EQ(message.msg_id, subjects::MessageId("default", "j1", "dispatch"));
  v1::DispatchedJob request;
  ASSERT_TRUE(request.ParseFromString(message.body));
  EXPECT_EQ(request.job().job_id(), "j1");
  EXPECT_EQ(request.decision().approver_role(), "dba");
  EXPECT_EQ(request.decision().reason(), "Prod writes require human approval");
  EXPECT_EQ(request.approval().outcome(), "PENDING");
  EXPECT_EQ(request.approval().job_digest(), JobDigest(DbJob("j1")));
  EXPECT_EQ(request.approval().held_snapshot(), "v1");
  EXPECT_EQ(request.approval().held_snapshot_hash(), held_policy_->hash());
  EXPECT_EQ(
      TimeUtil::DurationToSeconds(request.approval().expires_at() - request.approval().held_at()),
      3600);
  EXPECT_EQ(observer_.held.load(), 1);
  // Holding is on the job path and does not recount the store; the sweep does, and
  // reports the count every replica agrees on.
  ASSERT_TRUE(service_.ExpireDue().ok());
  EXPECT_EQ(observer_.pending.load(), 1);
}

TEST_F(ApprovalsTest, DefaultTtlIsADay) {
  v1::Decision decision = held_policy_->Decide(DbJob("j1"));
  decision.clear_approval_ttl_sec();
  auto held = service_.Hold(DbJob("j1"), decision, "job.db.migrate");
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(TimeUtil::DurationToSeconds(held->approval.approval().expires_at() -
                                        held->approval.approval().held_at()),
            24 * 3600);
}

TEST_F(ApprovalsTest, RedeliveredJobCreatesNoSecondApproval) {
  const Held first = HoldJob(DbJob("j1"));
  clock_.Advance(std::chrono::seconds(5));
  const Held again = HoldJob(DbJob("j1"));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.approval.revision(), first.approval.revision());
  ASSERT_TRUE(again.request_due);
  // The same request message again: the stream drops the repeat.
  EXPECT_EQ(service_.RequestMessage(again.approval).msg_id,
            service_.RequestMessage(first.approval).msg_id);
  EXPECT_EQ(*service_.CountPending(), 1);
  EXPECT_EQ(observer_.held.load(), 1);
}

TEST_F(ApprovalsTest, HoldManyAnswersEachJobAsHoldWould) {
  const Held before = HoldJob(DbJob("j0"));
  const v1::Job jobs[] = {DbJob("j1"), DbJob("j0"), DbJob("j2"), DbJob("j1")};
  std::vector<v1::Decision> decisions;
  for (const v1::Job& job : jobs) decisions.push_back(held_policy_->Decide(job, {"d", 1}));
  std::vector<HoldRequest> requests;
  for (size_t i = 0; i < 4; ++i) requests.push_back({&jobs[i], &decisions[i], "job.db.migrate"});
  requests.push_back({&jobs[2], &decisions[2], "job"});  // no <rest>

  std::vector<Result<Held>> held;
  service_.HoldMany(requests, &held);
  ASSERT_EQ(held.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(held[i].ok()) << i << ": " << held[i].status().ToString();
    EXPECT_TRUE(held[i]->request_due);
  }
  EXPECT_TRUE(held[0]->created);
  EXPECT_FALSE(held[1]->created);  // held before this batch
  EXPECT_EQ(held[1]->approval.revision(), before.approval.revision());
  EXPECT_TRUE(held[2]->created);
  EXPECT_FALSE(held[3]->created);  // the same job twice in one batch: the first stands
  EXPECT_EQ(held[3]->approval.revision(), held[0]->approval.revision());
  EXPECT_EQ(held[4].status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*service_.CountPending(), 3);
  EXPECT_EQ(observer_.held.load(), 3);
}

TEST_F(ApprovalsTest, HoldRefusesAJobWithoutRest) {
  v1::Decision decision = held_policy_->Decide(DbJob("j1"));
  EXPECT_EQ(service_.Hold(DbJob("j1"), decision, "job").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.Hold(v1::Job{}, decision, "job.db.migrate").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ApprovalsTest, ApproveReleasesToTheWorkerOnce) {
  HoldJob(DbJob("j1"));
  clock_.Advance(std::chrono::seconds(90));
  ApprovalOutcome out = service_.Approve(Ask("j1", "looks fine"), Person("alice"));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.approval.status(), Record::APPROVED);
  EXPECT_TRUE(out.approval.released());
  EXPECT_EQ(Stored("j1").status(), Record::APPROVED);
  EXPECT_TRUE(Stored("j1").released());

  const auto work = publisher_.On("worker.");
  ASSERT_EQ(work.size(), 1u);
  EXPECT_EQ(work[0].subject, "worker.db.migrate");
  v1::DispatchedJob released;
  ASSERT_TRUE(released.ParseFromString(work[0].body));
  EXPECT_EQ(released.job().job_id(), "j1");
  EXPECT_EQ(released.approval().approver(), "alice");
  EXPECT_EQ(released.approval().outcome(), "APPROVED");
  EXPECT_EQ(released.approval().reason(), "looks fine");
  EXPECT_EQ(released.approval().held_snapshot(), "v1");
  EXPECT_EQ(released.approval().job_digest(), JobDigest(DbJob("j1")));
  EXPECT_TRUE(released.approval().has_resolved_at());
  EXPECT_EQ(released.decision().snapshot(), "v1");  // unchanged snapshot: the held decision

  const auto records = publisher_.On("audit.decisions.db.migrate");
  ASSERT_EQ(records.size(), 1u);
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(records[0].body));
  EXPECT_EQ(record.routed_to(), "worker.db.migrate");
  EXPECT_EQ(record.approval().outcome(), "APPROVED");
  EXPECT_TRUE(publisher_.On("audit.denied.").empty());

  {
    std::lock_guard<std::mutex> lock(observer_.mu);
    EXPECT_EQ(observer_.resolved["approved"], 1);
    EXPECT_DOUBLE_EQ(observer_.last_wait_seconds, 90.0);
  }
  EXPECT_EQ(observer_.pending.load(), 0);

  // No replay: a second approval of the released job is refused and publishes nothing.
  ApprovalOutcome again = service_.Approve(Ask("j1"), Person("carol"));
  EXPECT_EQ(again.status.code(), StatusCode::kConflict);
  EXPECT_EQ(again.code, "already_resolved");
  EXPECT_EQ(publisher_.On("worker.").size(), 1u);
}

TEST_F(ApprovalsTest, UnknownJobIsNotFound) {
  ApprovalOutcome out = service_.Approve(Ask("nope"), Person("alice"));
  EXPECT_EQ(out.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(out.code, "not_found");
  EXPECT_EQ(service_.Approve(Ask(""), Person("alice")).code, "invalid_request");
}

TEST_F(ApprovalsTest, RejectDeniesAndRecords) {
  HoldJob(DbJob("j1"));
  ApprovalOutcome out = service_.Reject(Ask("j1", "not during the freeze"), Person("alice"));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.approval.status(), Record::REJECTED);
  EXPECT_TRUE(publisher_.On("worker.").empty());
  const auto denied = publisher_.On("audit.denied.db.migrate");
  ASSERT_EQ(denied.size(), 1u);
  v1::DispatchedJob job;
  ASSERT_TRUE(job.ParseFromString(denied[0].body));
  EXPECT_EQ(job.approval().outcome(), "REJECTED");
  EXPECT_EQ(job.approval().reason(), "not during the freeze");
  const auto records = publisher_.On("audit.decisions.db.migrate");
  ASSERT_EQ(records.size(), 1u);
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(records[0].body));
  EXPECT_EQ(record.routed_to(), "audit.denied.db.migrate");
  EXPECT_EQ(record.approval().approver(), "alice");
  // Rejected stays rejected.
  EXPECT_EQ(service_.Approve(Ask("j1"), Person("carol")).code, "already_resolved");
}

TEST_F(ApprovalsTest, TheOwnerMayRejectButNotApprove) {
  HoldJob(DbJob("j1"));
  EXPECT_EQ(service_.Approve(Ask("j1"), Person("bob")).code, "self_approval");
  EXPECT_TRUE(service_.Reject(Ask("j1"), Person("bob")).status.ok());
}

TEST_F(ApprovalsTest, SelfApprovalIsRefusedAndRecorded) {
  HoldJob(DbJob("j1"));
  for (const char* name : {"bob", "BOB", "agent-7"}) {
    ApprovalOutcome out = service_.Approve(Ask("j1"), Person(name));
    EXPECT_EQ(out.status.code(), StatusCode::kPermissionDenied) << name;
    EXPECT_EQ(out.code, "self_approval") << name;
  }
  EXPECT_EQ(Stored("j1").status(), Record::PENDING);
  EXPECT_TRUE(publisher_.On("worker.").empty());
  const auto records = publisher_.On("audit.decisions.");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(publisher_.DistinctOn("audit.decisions."), 3u);  // one record per attempt
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(records[0].body));
  EXPECT_EQ(record.approval().outcome(), "REFUSED");
  EXPECT_EQ(record.approval().refusal(), "self_approval");
  EXPECT_EQ(record.approval().approver(), "bob");
  std::lock_guard<std::mutex> lock(observer_.mu);
  EXPECT_EQ(observer_.refused["self_approval"], 3);
}

TEST_F(ApprovalsTest, WrongApproverRoleIsRefused) {
  HoldJob(DbJob("j1"));
  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice", {"sre"}));
  EXPECT_EQ(out.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(out.code, "wrong_role");
  EXPECT_EQ(service_.Reject(Ask("j1"), Person("alice", {"sre"})).code, "wrong_role");
  EXPECT_EQ(Stored("j1").status(), Record::PENDING);
  EXPECT_TRUE(service_.Approve(Ask("j1"), Person("alice", {"dba"})).status.ok());
}

TEST_F(ApprovalsTest, TamperedJobIsRefused) {
  HoldJob(DbJob("j1"));
  // Someone with write access to the store edits the held job.
  Record record = Stored("j1");
  (*record.mutable_job()->mutable_args()->mutable_fields())["sql"].set_string_value("DROP TABLE t");
  ASSERT_TRUE(store_.Update(record, record.revision()).ok());

  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice"));
  EXPECT_EQ(out.status.code(), StatusCode::kConflict);
  EXPECT_EQ(out.code, "digest_mismatch");
  EXPECT_TRUE(publisher_.On("worker.").empty());
  ASSERT_EQ(publisher_.On("audit.decisions.").size(), 1u);
  EXPECT_EQ(Stored("j1").status(), Record::PENDING);
}

TEST_F(ApprovalsTest, ApprovalOfAnotherDigestThanReviewedIsRefused) {
  HoldJob(DbJob("j1"));
  v1::ApproveRequest request = Ask("j1");
  request.set_job_digest(JobDigest(DbJob("something else")));
  EXPECT_EQ(service_.Approve(request, Person("alice")).code, "digest_mismatch");
  request.set_job_digest(JobDigest(DbJob("j1")));
  EXPECT_TRUE(service_.Approve(request, Person("alice")).status.ok());
}

TEST_F(ApprovalsTest, ExpiredApprovalsAreResolvedByTheSweep) {
  HoldJob(DbJob("j1"));
  HoldJob(DbJob("j2"));
  clock_.Advance(std::chrono::minutes(59));
  EXPECT_EQ(*service_.ExpireDue(), 0);
  clock_.Advance(std::chrono::minutes(1));
  EXPECT_EQ(*service_.ExpireDue(), 2);
  EXPECT_EQ(*service_.ExpireDue(), 0);  // idempotent
  EXPECT_EQ(Stored("j1").status(), Record::EXPIRED);
  EXPECT_TRUE(Stored("j1").released());
  EXPECT_EQ(publisher_.On("audit.denied.db.migrate").size(), 2u);
  EXPECT_EQ(publisher_.On("audit.decisions.db.migrate").size(), 2u);
  EXPECT_TRUE(publisher_.On("worker.").empty());
  EXPECT_EQ(*service_.CountPending(), 0);
  EXPECT_EQ(observer_.pending.load(), 0);
  EXPECT_EQ(service_.Approve(Ask("j1"), Person("alice")).code, "already_resolved");
  std::lock_guard<std::mutex> lock(observer_.mu);
  EXPECT_EQ(observer_.resolved["expired"], 2);
}

TEST_F(ApprovalsTest, ApprovingPastExpiryExpiresIt) {
  HoldJob(DbJob("j1"));
  clock_.Advance(std::chrono::hours(2));  // no sweep ran yet
  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice"));
  EXPECT_EQ(out.status.code(), StatusCode::kConflict);
  EXPECT_EQ(out.code, "expired");
  EXPECT_EQ(Stored("j1").status(), Record::EXPIRED);
  EXPECT_TRUE(publisher_.On("worker.").empty());
  EXPECT_EQ(publisher_.On("audit.denied.").size(), 1u);
}

TEST_F(ApprovalsTest, StaleSnapshotThatNowDeniesIsAConflict) {
  HoldJob(DbJob("j1"));
  Enforce(approvals_test::kDenyPolicy);
  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice"));
  EXPECT_EQ(out.status.code(), StatusCode::kConflict);
  EXPECT_EQ(out.code, "stale_snapshot");
  EXPECT_NE(out.status.message().find("v2"), std::string::npos) << out.status.message();
  EXPECT_EQ(HttpStatusFor(out.status.code()), 409);
  EXPECT_TRUE(publisher_.On("worker.").empty());
  EXPECT_EQ(Stored("j1").status(), Record::PENDING);

  const auto records = publisher_.On("audit.decisions.");
  ASSERT_EQ(records.size(), 1u);
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(records[0].body));
  EXPECT_EQ(record.approval().refusal(), "stale_snapshot");
  EXPECT_EQ(record.approval().held_snapshot(), "v1");
  EXPECT_EQ(record.decision().decision(), v1::DENY);  // what the enforced snapshot says
  EXPECT_EQ(record.decision().snapshot(), "v2");

  // Rejecting is still possible.
  EXPECT_TRUE(service_.Reject(Ask("j1"), Person("alice")).status.ok());
}

TEST_F(ApprovalsTest, StaleSnapshotThatStillAllowsReleases) {
  HoldJob(DbJob("j1"));
  Enforce(approvals_test::kAllowPolicy);
  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice"));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.approval.released_decision().snapshot(), "v3");
  const auto work = publisher_.On("worker.db.migrate");
  ASSERT_EQ(work.size(), 1u);
  v1::DispatchedJob released;
  ASSERT_TRUE(released.ParseFromString(work[0].body));
  // The worker enforces the current snapshot's constraints; the binding names the held one.
  EXPECT_EQ(released.decision().snapshot(), "v3");
  EXPECT_EQ(released.decision().constraints().max_runtime_sec(), 60u);
  EXPECT_EQ(released.approval().held_snapshot(), "v1");
  EXPECT_EQ(released.approval().held_snapshot_hash(), held_policy_->hash());
}

TEST_F(ApprovalsTest, WithoutAPolicyNothingIsReleased) {
  HoldJob(DbJob("j1"));
  {
    std::lock_guard<std::mutex> lock(mu_);
    enforced_ = nullptr;
  }
  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice"));
  EXPECT_EQ(out.code, "no_policy");
  EXPECT_EQ(out.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(publisher_.On("worker.").empty());
}

TEST_F(ApprovalsTest, ConcurrentApproveAndRejectOneWins) {
  constexpr int kJobs = 25;
  for (int i = 0; i < kJobs; ++i) HoldJob(DbJob("j" + std::to_string(i)));
  std::atomic<int> approved{0}, rejected{0}, lost{0};
  auto run = [&](bool approve) {
    for (int i = 0; i < kJobs; ++i) {
      const auto request = Ask("j" + std::to_string(i));
      ApprovalOutcome out = approve ? service_.Approve(request, Person("alice"))
                                    : service_.Reject(request, Person("carol"));
      if (out.status.ok()) {
        ++(approve ? approved : rejected);
      } else {
        EXPECT_EQ(out.status.code(), StatusCode::kConflict) << out.status.ToString();
        EXPECT_TRUE(out.code == "conflict" || out.code == "already_resolved") << out.code;
        ++lost;
      }
    }
  };
  std::thread a(run, true), b(run, false);
  a.join();
  b.join();
  EXPECT_EQ(approved + rejected, kJobs);
  EXPECT_EQ(lost.load(), kJobs);
  EXPECT_EQ(publisher_.On("worker.").size(), static_cast<size_t>(approved.load()));
  EXPECT_EQ(publisher_.On("audit.denied.").size(), static_cast<size_t>(rejected.load()));
}

TEST_F(ApprovalsTest, ReleasePendingFinishesAnInterruptedRelease) {
  HoldJob(DbJob("j1"));
  publisher_.FailSubjectsStartingWith("worker.");
  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice"));
  // The approval stands; the release did not happen yet.
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_FALSE(out.approval.released());
  EXPECT_EQ(Stored("j1").status(), Record::APPROVED);
  EXPECT_FALSE(Stored("j1").released());
  EXPECT_FALSE(service_.ReleasePending().ok());  // still failing

  publisher_.FailSubjectsStartingWith("");
  EXPECT_EQ(*service_.ReleasePending(), 1);
  EXPECT_EQ(*service_.ReleasePending(), 0);
  EXPECT_TRUE(Stored("j1").released());
  EXPECT_EQ(publisher_.DistinctOn("worker.db.migrate"), 1u);
  // A second approval does not release it again.
  EXPECT_EQ(service_.Approve(Ask("j1"), Person("carol")).code, "already_resolved");
  EXPECT_EQ(publisher_.On("worker.").size(), 1u);
}

TEST_F(ApprovalsTest, ReleaseRetriesRepeatTheSameMessageIds) {
  HoldJob(DbJob("j1"));
  publisher_.FailSubjectsStartingWith("audit.decisions.");  // worker publish succeeds
  ASSERT_TRUE(service_.Approve(Ask("j1"), Person("alice")).status.ok());
  EXPECT_FALSE(Stored("j1").released());
  publisher_.FailSubjectsStartingWith("");
  EXPECT_EQ(*service_.ReleasePending(), 1);
  // Published twice, under one id: a JetStream stream keeps one.
  EXPECT_EQ(publisher_.On("worker.").size(), 2u);
  EXPECT_EQ(publisher_.DistinctOn("worker."), 1u);
}

TEST_F(ApprovalsTest, ListOldestFirstAndWithResolved) {
  HoldJob(DbJob("j1"));
  clock_.Advance(std::chrono::seconds(1));
  HoldJob(DbJob("j2"));
  clock_.Advance(std::chrono::seconds(1));
  HoldJob(DbJob("j3"));
  ASSERT_TRUE(service_.Reject(Ask("j2"), Person("alice")).status.ok());
  auto pending = service_.List(v1::ListApprovalsRequest());
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->approvals_size(), 2);
  EXPECT_EQ(pending->approvals(0).job().job_id(), "j1");
  EXPECT_EQ(pending->approvals(1).job().job_id(), "j3");
  EXPECT_EQ(pending->pending(), 2);
  EXPECT_EQ(pending->next_page_token(), "");
  v1::ListApprovalsRequest with_resolved;
  with_resolved.set_include_resolved(true);
  auto all = service_.List(with_resolved);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->approvals_size(), 3);
  EXPECT_EQ(all->approvals(1).status(), Record::REJECTED);
}

TEST_F(ApprovalsTest, ListPagesFollowTheirTokensToTheEnd) {
  for (int i = 0; i < 5; ++i) {
    HoldJob(DbJob("j" + std::to_string(i)));
    clock_.Advance(std::chrono::seconds(1));
  }
  v1::ListApprovalsRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 3; ++page) {
    auto list = service_.List(request);
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    EXPECT_EQ(list->pending(), 5);  // the whole queue's count, on every page
    for (const Record& record : list->approvals()) seen.push_back(record.job().job_id());
    EXPECT_EQ(list->next_page_token().empty(), page == 2) << "page " << page;
    request.set_page_token(list->next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"j0", "j1", "j2", "j3", "j4"}));
}

TEST_F(ApprovalsTest, ListRefusesBadPageArguments) {
  v1::ListApprovalsRequest request;
  request.set_page_size(-1);
  EXPECT_EQ(service_.List(request).status().code(), StatusCode::kInvalidArgument);
  request.set_page_size(0);
  request.set_page_token("p1.12.not-a-key");
  EXPECT_EQ(service_.List(request).status().code(), StatusCode::kInvalidArgument);
  // Past the maximum is the maximum, as a default is the default: no error.
  for (int i = 0; i < 3; ++i) HoldJob(DbJob("j" + std::to_string(i)));
  request.set_page_token("");
  request.set_page_size(1'000'000);
  auto list = service_.List(request);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->approvals_size(), 3);
}

// --- listing ------------------------------------------------------------------------------

TEST(ApprovalPageTokenTest, RoundTripsAndRefusesWhatItDidNotMake) {
  const ApprovalListCursor cursor{1'700'000'000'123, ApprovalKey("default", "j1")};
  auto decoded = DecodePageToken(EncodePageToken(cursor));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->held_at_ms, cursor.held_at_ms);
  EXPECT_EQ(decoded->key, cursor.key);
  EXPECT_TRUE(DecodePageToken(EncodePageToken({-5, cursor.key})).ok());
  const std::string key = cursor.key;
  const std::vector<std::string> forged = {"",
                                           "p1.",
                                           "p1.12",
                                           "p1.12." + key.substr(1),
                                           "p2.12." + key,
                                           "p1.x." + key,
                                           "p1.12x." + key,
                                           "p1.12." + key + "0",
                                           "p1..",
                                           "p1.." + key};
  for (const std::string& bad : forged) {
    EXPECT_EQ(DecodePageToken(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

// Offers `places` (held_at_ms, job) in the given order and returns the page's jobs.
struct Place {
  int64_t held_at_ms;
  std::string job_id;
  bool pending = true;
};

ApprovalPage PageOf(const std::vector<Place>& places, ApprovalListQuery query, int* parsed) {
  ApprovalPager pager(query);
  for (const Place& place : places) {
    if (pager.Offer(place.held_at_ms, KeyOf(place.job_id), place.pending)) {
      ++*parsed;
      Record record;
      record.mutable_job()->set_job_id(place.job_id);
      pager.Take(std::move(record));
    }
  }
  return std::move(pager).Finish();
}

std::vector<std::string> JobsOf(const ApprovalPage& page) {
  std::vector<std::string> jobs;
  for (const Record& record : page.records) jobs.push_back(record.job().job_id());
  return jobs;
}

TEST(ApprovalPagerTest, WalksEveryApprovalOnceInOrderWhateverTheOfferOrder) {
  std::vector<Place> places;
  for (int i = 0; i < 60; ++i) places.push_back({1000 + (i % 20), "job" + std::to_string(i)});
  std::vector<Place> want = places;
  std::sort(want.begin(), want.end(), [](const Place& a, const Place& b) {
    return a.held_at_ms != b.held_at_ms ? a.held_at_ms < b.held_at_ms
                                        : KeyOf(a.job_id) < KeyOf(b.job_id);
  });
  std::mt19937 random(7);
  for (size_t page_size : {1, 7, 60, 100}) {
    std::shuffle(places.begin(), places.end(), random);
    ApprovalListQuery query;
    query.page_size = page_size;
    std::vector<std::string> seen;
    for (int pages = 0;; ++pages) {
      ASSERT_LT(pages, 61) << "no end to the pages";
      int parsed = 0;
      ApprovalPage page = PageOf(places, query, &parsed);
      EXPECT_LE(page.records.size(), page_size);
      EXPECT_EQ(page.pending, 60);
      for (const std::string& job : JobsOf(page)) seen.push_back(job);
      if (!page.next.has_value()) break;
      EXPECT_EQ(page.records.size(), page_size);
      EXPECT_EQ(page.next->key, KeyOf(page.records.back().job().job_id()));
      query.after = page.next;
    }
    std::vector<std::string> want_jobs;
    for (const Place& place : want) want_jobs.push_back(place.job_id);
    EXPECT_EQ(seen, want_jobs) << "page size " << page_size;
  }
}

TEST(ApprovalPagerTest, ParsesOnlyWhatCanStillMakeThePage) {
  std::vector<Place> oldest_first;
  for (int i = 0; i < 1000; ++i) oldest_first.push_back({i, "j" + std::to_string(i)});
  ApprovalListQuery query;
  query.page_size = 10;
  int parsed = 0;
  ApprovalPage page = PageOf(oldest_first, query, &parsed);
  EXPECT_EQ(parsed, 10);  // the rest are newer than a full page: never handed over
  EXPECT_EQ(JobsOf(page).front(), "j0");
  EXPECT_EQ(JobsOf(page).back(), "j9");
  ASSERT_TRUE(page.next.has_value());
  EXPECT_EQ(page.next->held_at_ms, 9);
}

TEST(ApprovalPagerTest, LeavesResolvedOutUnlessAskedAndCountsPendingOnly) {
  const std::vector<Place> places = {
      {1, "a"}, {2, "b", /*pending=*/false}, {3, "c"}, {4, "d", /*pending=*/false}};
  int parsed = 0;
  ApprovalPage pending_only = PageOf(places, ApprovalListQuery{}, &parsed);
  EXPECT_EQ(JobsOf(pending_only), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(pending_only.pending, 2);
  EXPECT_FALSE(pending_only.next.has_value());
  ApprovalListQuery all;
  all.include_resolved = true;
  ApprovalPage everything = PageOf(places, all, &parsed);
  EXPECT_EQ(JobsOf(everything), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(everything.pending, 2);
}

TEST(ApprovalPagerTest, AnEmptyStoreIsOneEmptyPage) {
  int parsed = 0;
  ApprovalPage page = PageOf({}, ApprovalListQuery{}, &parsed);
  EXPECT_TRUE(page.records.empty());
  EXPECT_EQ(page.pending, 0);
  EXPECT_FALSE(page.next.has_value());
}

// --- routes --------------------------------------------------------------------------------

ApiToken Token(const std::string& name, const std::string& secret,
               const std::vector<std::string>& roles) {
  return MakeApiToken(name, jobgate::Sha256Hex(secret), roles);
}

class ApprovalRoutesTest : public ApprovalsTest {
 protected:
  ApprovalRoutesTest()
      : auth_({Token("alice", "alice-secret", {"approver", "dba"}),
               Token("bob", "bob-secret", {"approver", "dba"}),
               Token("vera", "vera-secret", {"viewer"})}),
        router_(&auth_) {
    AddApprovalRoutes(&router_, &service_);
  }

  ApiResponse Http(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& who, std::map<std::string, std::string> query = {}) {
    ApiRequest request{method, path, std::move(query), body, "Bearer " + who + "-secret"};
    return router_.Handle(request);
  }

  Authenticator auth_;
  ApiRouter router_;
};

TEST_F(ApprovalRoutesTest, ListApproveAndRejectOverHttp) {
  HoldJob(DbJob("j1"));
  HoldJob(DbJob("j2"));
  ApiResponse list = Http("GET", "/api/v1/approvals", "", "vera");
  ASSERT_EQ(list.status, 200) << list.body;
  v1::ApprovalList approvals;
  ASSERT_TRUE(subjects::FromJson(list.body, &approvals).ok()) << list.body;
  EXPECT_EQ(approvals.approvals_size(), 2);

  EXPECT_EQ(Http("POST", "/api/v1/approvals/j1/approve", "", "vera").status, 403);
  ApiResponse self = Http("POST", "/api/v1/approvals/j1/approve", "", "bob");
  EXPECT_EQ(self.status, 403) << self.body;
  EXPECT_NE(self.body.find("self_approval"), std::string::npos) << self.body;

  ApiResponse ok =
      Http("POST", "/api/v1/approvals/j1/approve", R"({"reason": "reviewed"})", "alice");
  ASSERT_EQ(ok.status, 200) << ok.body;
  v1::PendingApproval approved;
  ASSERT_TRUE(subjects::FromJson(ok.body, &approved).ok()) << ok.body;
  EXPECT_EQ(approved.status(), Record::APPROVED);
  EXPECT_EQ(approved.approval().reason(), "reviewed");

  ApiResponse again = Http("POST", "/api/v1/approvals/j1/reject", "", "alice");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("already_resolved"), std::string::npos) << again.body;
  EXPECT_EQ(Http("POST", "/api/v1/approvals/nope/approve", "", "alice").status, 404);
  EXPECT_EQ(Http("POST", "/api/v1/approvals/j2/approve", R"({"job_id": "j9"})", "alice").status,
            400);
  EXPECT_EQ(Http("POST", "/api/v1/approvals/j2/approve", "{not json", "alice").status, 400);

  ApiResponse pending =
      Http("GET", "/api/v1/approvals", "", "vera", {{"include_resolved", "false"}});
  ASSERT_TRUE(subjects::FromJson(pending.body, &approvals).ok());
  EXPECT_EQ(approvals.approvals_size(), 1);
  ApiResponse all = Http("GET", "/api/v1/approvals", "", "vera", {{"include_resolved", "true"}});
  ASSERT_TRUE(subjects::FromJson(all.body, &approvals).ok());
  EXPECT_EQ(approvals.approvals_size(), 2);
  EXPECT_EQ(Http("GET", "/api/v1/approvals", "", "vera", {{"include_resolved", "maybe"}}).status,
            400);
}

TEST_F(ApprovalRoutesTest, ListPagesOverHttpAndRequestReply) {
  for (int i = 0; i < 3; ++i) {
    HoldJob(DbJob("j" + std::to_string(i)));
    clock_.Advance(std::chrono::seconds(1));
  }
  ApiResponse first = Http("GET", "/api/v1/approvals", "", "vera", {{"page_size", "2"}});
  ASSERT_EQ(first.status, 200) << first.body;
  v1::ApprovalList page;
  ASSERT_TRUE(subjects::FromJson(first.body, &page).ok()) << first.body;
  ASSERT_EQ(page.approvals_size(), 2);
  ASSERT_FALSE(page.next_page_token().empty());
  ApiResponse second = Http("GET", "/api/v1/approvals", "", "vera",
                            {{"page_size", "2"}, {"page_token", page.next_page_token()}});
  ASSERT_EQ(second.status, 200) << second.body;
  ASSERT_TRUE(subjects::FromJson(second.body, &page).ok()) << second.body;
  ASSERT_EQ(page.approvals_size(), 1);
  EXPECT_EQ(page.approvals(0).job().job_id(), "j2");
  EXPECT_EQ(page.next_page_token(), "");

  ApiResponse by_nats =
      router_.HandleNats("approvals.list", R"({"page_size": 1})", "Bearer vera-secret");
  ASSERT_TRUE(subjects::FromJson(by_nats.body, &page).ok()) << by_nats.body;
  ASSERT_EQ(page.approvals_size(), 1);
  EXPECT_EQ(page.approvals(0).job().job_id(), "j0");
  EXPECT_FALSE(page.next_page_token().empty());

  for (const char* bad : {"-1", "two", "3x", ""}) {
    ApiResponse refused = Http("GET", "/api/v1/approvals", "", "vera", {{"page_size", bad}});
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.body;
  }
  ApiResponse forged = Http("GET", "/api/v1/approvals", "", "vera", {{"page_token", "p1.1.xyz"}});
  EXPECT_EQ(forged.status, 400) << forged.body;
  EXPECT_NE(forged.body.find("invalid_request"), std::string::npos) << forged.body;
}

TEST_F(ApprovalRoutesTest, RequestReplyCarriesTheJobAndReasonInTheBody) {
  HoldJob(DbJob("j1"));
  HoldJob(DbJob("j2"));
  auto verbs = router_.nats_verbs();
  EXPECT_NE(std::find(verbs.begin(), verbs.end(), "approvals.approve"), verbs.end());
  EXPECT_NE(std::find(verbs.begin(), verbs.end(), "approvals.reject"), verbs.end());
  EXPECT_NE(std::find(verbs.begin(), verbs.end(), "approvals.list"), verbs.end());

  ApiResponse rejected = router_.HandleNats(
      "approvals.reject", R"({"job_id": "j2", "reason": "no"})", "Bearer alice-secret");
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(Stored("j2").approval().reason(), "no");

  ApiResponse approved = router_.HandleNats(
      "approvals.approve", R"({"job_id": "j1", "reason": "yes"})", "Bearer alice-secret");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(Stored("j1").approval().reason(), "yes");
  EXPECT_EQ(router_.HandleNats("approvals.approve", "{}", "Bearer alice-secret").status, 400);

  ApiResponse list =
      router_.HandleNats("approvals.list", R"({"include_resolved": true})", "Bearer vera-secret");
  v1::ApprovalList approvals;
  ASSERT_TRUE(subjects::FromJson(list.body, &approvals).ok()) << list.body;
  EXPECT_EQ(approvals.approvals_size(), 2);
}

TEST_F(ApprovalRoutesTest, StaleSnapshotAnswers409) {
  HoldJob(DbJob("j1"));
  Enforce(approvals_test::kDenyPolicy);
  ApiResponse out = Http("POST", "/api/v1/approvals/j1/approve", "", "alice");
  EXPECT_EQ(out.status, 409) << out.body;
  EXPECT_NE(out.body.find("stale_snapshot"), std::string::npos) << out.body;
}

}  // namespace
}  // namespace jobgate::gate
