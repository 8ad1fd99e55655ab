// Held jobs at rest: the approvals store keeps a held job scrubbed; the job as it came is
// kept only sealed, reaches the worker once approved, and nowhere else. Without a key the
// held job is kept scrubbed only.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>

#include "gate/approvals/approvals.h"
#include "gate/core/job_sealer.h"
#include "tests/gate/approvals/approvals_test_util.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using approvals_test::Ask;
using approvals_test::CompileOrDie;
using approvals_test::DbJob;
using approvals_test::Person;
using approvals_test::RecordingPublisher;
using Record = v1::PendingApproval;

const std::string kToken = "ghp_" + std::string(36, '4');

v1::Job JobWithSecret(const std::string& id) {
  v1::Job job = DbJob(id);
  (*job.mutable_args()->mutable_fields())["env"].mutable_struct_value()->mutable_fields()
      ->operator[]("GH_TOKEN")
      .set_string_value(kToken);
  return job;
}

std::unique_ptr<JobSealer> TestSealer(unsigned char fill) {
  JobSealer::Key key{};
  key.fill(fill);
  auto sealer = JobSealer::FromKeys({key});
  return std::move(sealer).value();
}

class SealedApprovalsTest : public ::testing::Test {
 protected:
  explicit SealedApprovalsTest(bool with_key = true)
      : sealer_(with_key ? TestSealer(7) : nullptr),
        policy_(CompileOrDie(approvals_test::kHoldPolicy)),
        service_(&store_, &publisher_, [this] { return policy_; }, &clock_, Options()) {}

  ApprovalOptions Options() const {
    ApprovalOptions options;
    options.sealer = sealer_.get();
    return options;
  }

  void Hold(const v1::Job& job) {
    v1::Decision decision = policy_->Decide(job, {"d-" + job.job_id(), 1});
    ASSERT_EQ(decision.decision(), v1::REQUIRE_APPROVAL);
    auto held = service_.Hold(job, decision, "job.db.migrate");
    ASSERT_TRUE(held.ok()) << held.status().ToString();
  }

  // The one job released to a worker, as text ("" when there is not exactly one).
  std::string Worker() const {
    const auto work = publisher_.On("worker.");
    if (work.size() != 1) return "";
    v1::DispatchedJob released;
    if (!released.ParseFromString(work[0].body)) return "";
    return released.job().ShortDebugString();
  }
  // Whether the worker got exactly `job`.
  bool WorkerGot(const v1::Job& job) const {
    const auto work = publisher_.On("worker.");
    v1::DispatchedJob released;
    return work.size() == 1 && released.ParseFromString(work[0].body) &&
           google::protobuf::util::MessageDifferencer::Equals(released.job(), job);
  }

  // Everything a reader of the store, the list or an audit subject gets.
  std::string AllButTheWorker() {
    std::string all = store_.Get("default", "j1")->SerializeAsString();
    auto list = service_.List({});
    if (list.ok()) all += list->SerializeAsString();
    for (const auto& m : publisher_.On("")) {
      if (m.subject.rfind("worker.", 0) != 0) all += m.body;
    }
    return all;
  }

  testing::FakeClock clock_;
  InMemoryApprovalStore store_;
  RecordingPublisher publisher_;
  std::unique_ptr<JobSealer> sealer_;
  std::shared_ptr<const policy::Policy> policy_;
  ApprovalService service_;
};

TEST_F(SealedApprovalsTest, TheStoreAndTheListKeepNoRawSecret) {
  Hold(JobWithSecret("j1"));
  const Record stored = *store_.Get("default", "j1");
  EXPECT_EQ(stored.SerializeAsString().find(kToken), std::string::npos);
  EXPECT_FALSE(stored.sealed_job().empty());
  EXPECT_EQ(stored.sealed_key_id(), sealer_->sealing_key_id());
  EXPECT_NE(stored.job().ShortDebugString().find("[REDACTED:"), std::string::npos);
  // The digest approvers review is the scrubbed job's, the one they are shown.
  EXPECT_EQ(stored.approval().job_digest(), JobDigest(stored.job()));
  auto list = service_.List({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->approvals_size(), 1);
  EXPECT_TRUE(list->approvals(0).sealed_job().empty());
  EXPECT_EQ(list->SerializeAsString().find(kToken), std::string::npos);
}

TEST_F(SealedApprovalsTest, ApprovedTheWorkerGetsTheJobAsItCame) {
  Hold(JobWithSecret("j1"));
  ApprovalOutcome out = service_.Approve(Ask("j1"), Person("alice"));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(WorkerGot(JobWithSecret("j1"))) << Worker();
  EXPECT_EQ(AllButTheWorker().find(kToken), std::string::npos);
}

TEST_F(SealedApprovalsTest, RejectedNothingRawIsPublished) {
  Hold(JobWithSecret("j1"));
  ASSERT_TRUE(service_.Reject(Ask("j1"), Person("alice")).status.ok());
  EXPECT_TRUE(publisher_.On("worker.").empty());
  EXPECT_EQ(AllButTheWorker().find(kToken), std::string::npos);
}

TEST_F(SealedApprovalsTest, AJobWithoutSecretsIsNotSealed) {
  Hold(DbJob("j1"));
  EXPECT_TRUE(store_.Get("default", "j1")->sealed_job().empty());
  ASSERT_TRUE(service_.Approve(Ask("j1"), Person("alice")).status.ok());
  EXPECT_TRUE(WorkerGot(DbJob("j1"))) << Worker();
}

TEST_F(SealedApprovalsTest, ASealedJobMovedToAnotherRecordDoesNotOpen) {
  Hold(JobWithSecret("j1"));
  Hold(JobWithSecret("j2"));
  Record j1 = *store_.Get("default", "j1");
  Record j2 = *store_.Get("default", "j2");
  j2.set_sealed_job(j1.sealed_job());  // someone with write access to the bucket
  ASSERT_TRUE(store_.Update(j2, j2.revision()).ok());
  service_.Approve(Ask("j2"), Person("alice"));
  // The resolution stands, but the release cannot open the job: nothing reaches a worker.
  EXPECT_TRUE(publisher_.On("worker.").empty());
  EXPECT_FALSE(store_.Get("default", "j2")->released());
}

class UnkeyedApprovalsTest : public SealedApprovalsTest {
 protected:
  UnkeyedApprovalsTest() : SealedApprovalsTest(false) {}
};

TEST_F(UnkeyedApprovalsTest, WithoutAKeyTheJobIsKeptAndReleasedScrubbed) {
  Hold(JobWithSecret("j1"));
  const Record stored = *store_.Get("default", "j1");
  EXPECT_TRUE(stored.sealed_job().empty());
  EXPECT_EQ(stored.SerializeAsString().find(kToken), std::string::npos);
  ASSERT_TRUE(service_.Approve(Ask("j1"), Person("alice")).status.ok());
  const std::string worker = Worker();
  ASSERT_FALSE(worker.empty());
  EXPECT_EQ(worker.find(kToken), std::string::npos);
  EXPECT_NE(worker.find("[REDACTED:"), std::string::npos);
}

TEST_F(UnkeyedApprovalsTest, ASealedJobOnAGateWithoutItsKeyWaitsUnreleased) {
  // Held by a replica with a key; approved through one without.
  auto keyed = TestSealer(9);
  ApprovalOptions options;
  options.sealer = keyed.get();
  ApprovalService other(&store_, &publisher_, [this] { return policy_; }, &clock_, options);
  v1::Decision decision = policy_->Decide(JobWithSecret("j1"), {"d", 1});
  ASSERT_TRUE(other.Hold(JobWithSecret("j1"), decision, "job.db.migrate").ok());
  service_.Approve(Ask("j1"), Person("alice"));
  EXPECT_TRUE(publisher_.On("worker.").empty());
  EXPECT_FALSE(store_.Get("default", "j1")->released());
  // The keyed replica's sweep releases it, as it came.
  ASSERT_TRUE(other.ReleasePending().ok());
  EXPECT_TRUE(WorkerGot(JobWithSecret("j1"))) << Worker();
}

}  // namespace
}  // namespace jobgate::gate
