// Approvals against a real nats-server: the store contract on JetStream KV (and, as the
// reference, in memory), a job held by one gate replica and resolved through another,
// a restarted gate that still lists and releases what was pending, and the worker
// stream receiving every released job exactly once.
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <thread>

#include "gate/approvals/approvals.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_approval_store.h"
#include "tests/gate/approvals/approvals_test_util.h"
#include "tests/support/fake_bus.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using approvals_test::Ask;
using approvals_test::CompileOrDie;
using approvals_test::DbJob;
using approvals_test::Person;
using approvals_test::RecordingPublisher;
using jobgate::testing::JetStreamClient;
using jobgate::testing::ConnectGate;
using jobgate::testing::NatsServer;
using jobgate::testing::WaitFor;
using Record = v1::PendingApproval;

Record Pending(const std::string& job_id, int64_t held_at_ms) {
  Record record;
  *record.mutable_job() = DbJob(job_id);
  record.set_subject("job.db.migrate");
  record.set_status(Record::PENDING);
  record.mutable_approval()->set_job_digest(JobDigest(record.job()));
  record.mutable_approval()->mutable_held_at()->set_seconds(held_at_ms / 1000);
  return record;
}

// --- the store contract -------------------------------------------------------------------

struct StoreBackend {
  virtual ~StoreBackend() = default;
  virtual ApprovalStore* store() = 0;
};

struct MemoryStoreBackend : StoreBackend {
  InMemoryApprovalStore memory;
  ApprovalStore* store() override { return &memory; }
};

struct KvStoreBackend : StoreBackend {
  NatsServer server;
  std::unique_ptr<NatsConnection> connection = ConnectGate(server);
  std::unique_ptr<NatsKvApprovalStore> kv;
  KvStoreBackend() {
    auto opened = NatsKvApprovalStore::Open(connection.get(), {});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) kv = std::move(*opened);
  }
  ~KvStoreBackend() override {
    kv.reset();
    connection.reset();
  }
  ApprovalStore* store() override { return kv.get(); }
};

class ApprovalStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      backend_ = std::make_unique<MemoryStoreBackend>();
    } else {
      backend_ = std::make_unique<KvStoreBackend>();
    }
    ASSERT_NE(backend_->store(), nullptr);
  }
  ApprovalStore& store() { return *backend_->store(); }
  std::unique_ptr<StoreBackend> backend_;
};

TEST_P(ApprovalStoreTest, CreateOnceThenGetWithRevision) {
  EXPECT_EQ(store().Get("default", "j1").status().code(), StatusCode::kNotFound);
  auto revision = store().Create(Pending("j1", 1000));
  ASSERT_TRUE(revision.ok()) << revision.status().ToString();
  EXPECT_EQ(store().Create(Pending("j1", 2000)).status().code(), StatusCode::kAlreadyExists);

  auto got = store().Get("default", "j1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->revision(), *revision);
  EXPECT_EQ(got->job().job_id(), "j1");
  EXPECT_EQ(got->approval().held_at().seconds(), 1);  // the first write stands
  // Tenants are separate.
  EXPECT_EQ(store().Get("other", "j1").status().code(), StatusCode::kNotFound);
}

TEST_P(ApprovalStoreTest, CreateManyAnswersAsCreateWouldForEach) {
  ASSERT_TRUE(store().Create(Pending("held-before", 500)).ok());
  std::vector<Record> records;
  for (int i = 0; i < 50; ++i) records.push_back(Pending("j" + std::to_string(i), 1000 + i));
  records.push_back(Pending("held-before", 2000));  // a redelivery of a held job
  records.push_back(Pending("j7", 3000));           // the same job twice in one batch
  std::vector<const Record*> pointers;
  for (const Record& record : records) pointers.push_back(&record);

  std::vector<Result<uint64_t>> revisions;
  store().CreateMany(pointers, &revisions);
  ASSERT_EQ(revisions.size(), records.size());
  std::set<uint64_t> distinct;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(revisions[i].ok()) << i << ": " << revisions[i].status().ToString();
    distinct.insert(*revisions[i]);
    auto got = store().Get("default", "j" + std::to_string(i));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->revision(), *revisions[i]);
  }
  EXPECT_EQ(distinct.size(), 50u);
  EXPECT_EQ(revisions[50].status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(revisions[51].status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store().Get("default", "held-before")->approval().held_at().seconds(), 0);
  EXPECT_EQ(store().Get("default", "j7")->approval().held_at().seconds(), 1);  // first stands
  EXPECT_EQ(*store().CountPending(), 51);

  store().CreateMany({}, &revisions);
  EXPECT_TRUE(revisions.empty());
}

TEST_P(ApprovalStoreTest, UpdateIsCompareAndSet) {
  auto created = store().Create(Pending("j1", 1000));
  ASSERT_TRUE(created.ok());
  Record approved = *store().Get("default", "j1");
  approved.set_status(Record::APPROVED);
  auto updated = store().Update(approved, *created);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_GT(*updated, *created);

  Record rejected = approved;
  rejected.set_status(Record::REJECTED);
  EXPECT_EQ(store().Update(rejected, *created).status().code(), StatusCode::kConflict);
  EXPECT_EQ(store().Get("default", "j1")->status(), Record::APPROVED);
  EXPECT_EQ(store().Get("default", "j1")->revision(), *updated);
  EXPECT_EQ(store().Update(Pending("never-held", 0), 1).status().code(), StatusCode::kConflict);
}

// The records of a page, by job id.
std::vector<std::string> JobIds(const ApprovalPage& page) {
  std::vector<std::string> ids;
  for (const Record& record : page.records) ids.push_back(record.job().job_id());
  return ids;
}

ApprovalListQuery Query(bool include_resolved, size_t page_size = 100,
                        std::optional<ApprovalListCursor> after = std::nullopt) {
  ApprovalListQuery query;
  query.include_resolved = include_resolved;
  query.page_size = page_size;
  query.after = std::move(after);
  return query;
}

TEST_P(ApprovalStoreTest, ListsPendingOldestFirstAndCounts) {
  auto empty = store().List(Query(true));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->records.empty());
  EXPECT_FALSE(empty->next.has_value());
  EXPECT_EQ(*store().CountPending(), 0);

  ASSERT_TRUE(store().Create(Pending("late", 3000)).ok());
  ASSERT_TRUE(store().Create(Pending("early", 1000)).ok());
  ASSERT_TRUE(store().Create(Pending("middle", 2000)).ok());
  Record middle = *store().Get("default", "middle");
  middle.set_status(Record::REJECTED);
  ASSERT_TRUE(store().Update(middle, middle.revision()).ok());

  auto pending = store().List(Query(false));
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_EQ(JobIds(*pending), (std::vector<std::string>{"early", "late"}));
  EXPECT_GT(pending->records[0].revision(), 0u);
  EXPECT_EQ(pending->pending, 2);
  auto all = store().List(Query(true));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(JobIds(*all), (std::vector<std::string>{"early", "middle", "late"}));
  EXPECT_EQ(all->records[1].revision(), store().Get("default", "middle")->revision());
  EXPECT_EQ(*store().CountPending(), 2);
}

TEST_P(ApprovalStoreTest, PagesNeitherRepeatNorSkipWhileTheQueueChanges) {
  for (int i = 0; i < 7; ++i) {
    // Two per second: the ties are ordered by key.
    ASSERT_TRUE(store().Create(Pending("j" + std::to_string(i), 1000 * (i / 2))).ok());
  }
  auto first = store().List(Query(false, 3));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->records.size(), 3u);
  ASSERT_TRUE(first->next.has_value());
  EXPECT_EQ(first->pending, 7);

  // Between pages: one not yet listed is approved, one already listed is rejected, and a
  // new job is held.
  std::vector<std::string> seen = JobIds(*first);
  std::string unlisted;
  for (int i = 0; i < 7 && unlisted.empty(); ++i) {
    const std::string id = "j" + std::to_string(i);
    if (std::find(seen.begin(), seen.end(), id) == seen.end()) unlisted = id;
  }
  for (const std::string& id : {unlisted, seen.front()}) {
    Record resolved = *store().Get("default", id);
    resolved.set_status(id == unlisted ? Record::APPROVED : Record::REJECTED);
    ASSERT_TRUE(store().Update(resolved, resolved.revision()).ok());
  }
  ASSERT_TRUE(store().Create(Pending("newest", 9000)).ok());

  std::optional<ApprovalListCursor> after = first->next;
  for (int pages = 0; after.has_value(); ++pages) {
    ASSERT_LT(pages, 10);
    auto page = store().List(Query(false, 3, after));
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->pending, 6);
    for (const std::string& id : JobIds(*page)) seen.push_back(id);
    after = page->next;
  }
  std::vector<std::string> want;
  for (int i = 0; i < 7; ++i) {
    if ("j" + std::to_string(i) != unlisted) want.push_back("j" + std::to_string(i));
  }
  want.push_back("newest");
  std::vector<std::string> sorted_seen = seen;
  std::sort(sorted_seen.begin(), sorted_seen.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(sorted_seen, want);  // each once; the rejected one was listed before it changed
  EXPECT_EQ(seen.back(), "newest");
}

Record Expiring(const std::string& job_id, int64_t expires_at_ms) {
  Record record = Pending(job_id, 0);
  *record.mutable_approval()->mutable_expires_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(expires_at_ms);
  return record;
}

google::protobuf::Timestamp At(int64_t ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ms);
}

TEST_P(ApprovalStoreTest, ScanForSweepNamesWhatIsDueAndWhatAwaitsRelease) {
  auto empty = store().ScanForSweep(At(0));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->due_keys.empty());
  EXPECT_EQ(empty->pending, 0);

  ASSERT_TRUE(store().Create(Expiring("due", 1'000)).ok());
  ASSERT_TRUE(store().Create(Expiring("not-due", 9'000)).ok());
  ASSERT_TRUE(store().Create(Expiring("resolved", 9'000)).ok());
  ASSERT_TRUE(store().Create(Expiring("released", 500)).ok());
  Record resolved = *store().Get("default", "resolved");
  resolved.set_status(Record::REJECTED);
  ASSERT_TRUE(store().Update(resolved, resolved.revision()).ok());
  Record released = *store().Get("default", "released");
  released.set_status(Record::APPROVED);
  released.set_released(true);
  ASSERT_TRUE(store().Update(released, released.revision()).ok());

  // Every write above finished before the scan, so the scan has it.
  auto scan = store().ScanForSweep(At(2'000));
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->pending, 2);
  ASSERT_EQ(scan->due_keys.size(), 2u);
  EXPECT_EQ(scan->due_keys[0], ApprovalKey("default", "due"));  // expires first
  EXPECT_EQ(scan->due_keys[1], ApprovalKey("default", "resolved"));
  auto got = store().GetByKey(scan->due_keys[0]);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->job().job_id(), "due");
  EXPECT_GT(got->revision(), 0u);
  EXPECT_EQ(store().GetByKey(ApprovalKey("default", "never")).status().code(),
            StatusCode::kNotFound);

  // Later writes reach the next scan.
  ASSERT_TRUE(store().Create(Expiring("new", 1'500)).ok());
  Record due = *store().Get("default", "due");
  due.set_status(Record::EXPIRED);
  due.set_released(true);
  ASSERT_TRUE(store().Update(due, due.revision()).ok());
  scan = store().ScanForSweep(At(2'000));
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->pending, 2);
  EXPECT_EQ(scan->due_keys, (std::vector<std::string>{ApprovalKey("default", "new"),
                                                      ApprovalKey("default", "resolved")}));
  EXPECT_EQ(*store().CountPending(), 2);
}

TEST_P(ApprovalStoreTest, ConcurrentUpdatesExactlyOneWins) {
  auto created = store().Create(Pending("j1", 1000));
  ASSERT_TRUE(created.ok());
  constexpr int kWriters = 8;
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      Record record = Pending("j1", 1000);
      record.set_status(i % 2 == 0 ? Record::APPROVED : Record::REJECTED);
      auto r = store().Update(record, *created);
      if (r.ok()) {
        ++wins;
      } else if (r.status().code() == StatusCode::kConflict) {
        ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kWriters - 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, ApprovalStoreTest, ::testing::Values("memory", "jetstream_kv"),
                         [](const auto& info) { return info.param; });

// --- the KV store's sweep index ------------------------------------------------------------

TEST(NatsKvSweepIndexTest, ReplicasSeeEachOthersWritesAndDeletesInTheirScans) {
  NatsServer server;
  auto connection_a = ConnectGate(server);
  auto connection_b = ConnectGate(server);
  auto a = NatsKvApprovalStore::Open(connection_a.get(), {});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // Records from before the replica opened: its first scan reads each key's latest value.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE((*a)->Create(Expiring("old-" + std::to_string(i), 1'000 + i)).ok());
  }
  Record first = *(*a)->Get("default", "old-0");
  first.set_status(Record::APPROVED);
  first.set_released(true);
  ASSERT_TRUE((*a)->Update(first, first.revision()).ok());

  auto b = NatsKvApprovalStore::Open(connection_b.get(), {});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto scan = (*b)->ScanForSweep(At(10'000));
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->pending, 299);
  ASSERT_EQ(scan->due_keys.size(), 299u);
  EXPECT_EQ(scan->due_keys[0], ApprovalKey("default", "old-1"));

  // What one replica writes, the other's next scan has, deletions too.
  ASSERT_TRUE((*a)->Create(Expiring("fresh", 500)).ok());
  {  // an operator's hand on the bucket
    jsCtx* js = nullptr;
    ASSERT_EQ(natsConnection_JetStream(&js, connection_a->raw(), nullptr), NATS_OK);
    kvStore* kv = nullptr;
    ASSERT_EQ(js_KeyValue(&kv, js, "jobgate-approvals"), NATS_OK);
    EXPECT_EQ(kvStore_Delete(kv, ApprovalKey("default", "old-1").c_str()), NATS_OK);
    EXPECT_EQ(kvStore_Purge(kv, ApprovalKey("default", "old-2").c_str(), nullptr), NATS_OK);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
  }
  scan = (*b)->ScanForSweep(At(10'000));
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->pending, 298);
  ASSERT_EQ(scan->due_keys.size(), 298u);
  EXPECT_EQ(scan->due_keys[0], ApprovalKey("default", "fresh"));
  EXPECT_EQ(scan->due_keys[1], ApprovalKey("default", "old-3"));
  EXPECT_EQ(*(*a)->CountPending(), 298);

  // The other replica's list is paged from its index: every pending approval once, none
  // that was released, deleted or purged, nor one approved since (not yet released, so
  // still in the index).
  Record approved = *(*a)->Get("default", "old-5");
  approved.set_status(Record::APPROVED);
  ASSERT_TRUE((*a)->Update(approved, approved.revision()).ok());
  std::set<std::string> listed;
  ApprovalListQuery query;
  query.page_size = 100;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10);
    auto page = (*b)->List(query);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->pending, 297);
    for (const Record& record : page->records) {
      EXPECT_EQ(record.status(), Record::PENDING);
      EXPECT_GT(record.revision(), 0u);
      EXPECT_TRUE(listed.insert(record.job().job_id()).second) << record.job().job_id();
    }
    if (!page->next.has_value()) break;
    query.after = page->next;
  }
  EXPECT_EQ(listed.size(), 297u);
  EXPECT_EQ(listed.count("fresh"), 1u);
  for (const char* gone : {"old-0", "old-1", "old-2", "old-5"}) EXPECT_EQ(listed.count(gone), 0u);

  // The bucket deleted and made again (its sequences start over): the index does too.
  ASSERT_TRUE(JetStreamClient(server.url()).DeleteStream("KV_jobgate-approvals").ok());
  auto c = NatsKvApprovalStore::Open(connection_a.get(), {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->Create(Expiring("reborn", 700)).ok());
  scan = (*b)->ScanForSweep(At(10'000));
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->pending, 1);
  EXPECT_EQ(scan->due_keys, std::vector<std::string>{ApprovalKey("default", "reborn")});
}

// --- replicas sharing one store -------------------------------------------------------------

// One gate replica's approvals side: its own connection, KV handle and service.
struct Replica {
  std::unique_ptr<NatsConnection> connection;
  std::unique_ptr<NatsKvApprovalStore> store;
  std::unique_ptr<NatsApprovalPublisher> publisher;
  std::unique_ptr<ApprovalService> service;

  Replica(const NatsServer& server, const Clock* clock,
          std::shared_ptr<const policy::Policy> policy) {
    connection = ConnectGate(server);
    auto opened = NatsKvApprovalStore::Open(connection.get(), {});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) store = std::move(*opened);
    publisher = std::make_unique<NatsApprovalPublisher>(connection.get());
    service = std::make_unique<ApprovalService>(
        store.get(), publisher.get(), [policy] { return policy; }, clock, ApprovalOptions{});
  }
  ~Replica() {
    service.reset();
    store.reset();
    connection.reset();
  }
};

class ApprovalReplicasTest : public ::testing::Test {
 protected:
  ApprovalReplicasTest() : policy_(CompileOrDie(approvals_test::kHoldPolicy)) {}

  void SetUp() override {
    auto connection = ConnectGate(server_);
    ASSERT_NE(connection, nullptr);
    ASSERT_TRUE(connection->EnsureStream({.name = "WORK", .subjects = {"worker.>"}}).ok());
    ASSERT_TRUE(
        connection->EnsureStream({.name = "APPROVALS", .subjects = {"approval.requests.>"}}).ok());
    ASSERT_TRUE(
        connection
            ->EnsureStream({.name = "AUDIT", .subjects = {"audit.decisions.>", "audit.denied.>"}})
            .ok());
    client_ = std::make_unique<JetStreamClient>(server_.url());
  }

  // Holds `job` through `replica` and publishes its approval request, as the dispatcher does.
  void HoldThrough(Replica& replica, const v1::Job& job) {
    v1::Decision decision = policy_->Decide(job, {"d-" + job.job_id(), clock_.UnixMillis()});
    decision.set_approval_ttl_sec(3600);
    auto held = replica.service->Hold(job, decision, "job.db.migrate");
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    ASSERT_TRUE(held->request_due);
    ASSERT_TRUE(replica.publisher->Publish(replica.service->RequestMessage(held->approval)).ok());
  }

  int64_t Count(const std::string& stream, const std::string& filter) {
    return client_->Count(stream, filter);
  }

  NatsServer server_;
  testing::FakeClock clock_;
  std::shared_ptr<const policy::Policy> policy_;
  std::unique_ptr<JetStreamClient> client_;
};

TEST_F(ApprovalReplicasTest, HeldByOneGateApprovedThroughAnotherReachesTheWorkerOnce) {
  Replica a(server_, &clock_, policy_);
  Replica b(server_, &clock_, policy_);
  HoldThrough(a, DbJob("j1"));
  HoldThrough(a, DbJob("j1"));  // a redelivery: one approval, one request
  EXPECT_EQ(Count("APPROVALS", "approval.requests.db.migrate"), 1);
  EXPECT_EQ(*b.service->CountPending(), 1);

  ApprovalOutcome out = b.service->Approve(Ask("j1", "ok"), Person("alice"));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(out.approval.released());
  ASSERT_TRUE(WaitFor([&] { return Count("WORK", "worker.db.migrate") == 1; }));

  // Nothing releases it again: not a second approval on either replica, not the sweeps.
  EXPECT_EQ(a.service->Approve(Ask("j1"), Person("carol")).code, "already_resolved");
  EXPECT_EQ(*a.service->ReleasePending(), 0);
  EXPECT_EQ(*b.service->ExpireDue(), 0);

  auto work = client_->ReadAll("WORK", "worker.>");
  ASSERT_EQ(work.size(), 1u);
  v1::DispatchedJob released;
  ASSERT_TRUE(released.ParseFromString(work[0].data));
  EXPECT_EQ(released.job().job_id(), "j1");
  EXPECT_EQ(released.approval().approver(), "alice");
  EXPECT_EQ(released.approval().held_snapshot(), "v1");
  EXPECT_EQ(released.approval().job_digest(), JobDigest(DbJob("j1")));
  EXPECT_EQ(work[0].headers["Jobgate-Approver"], "alice");
  EXPECT_FALSE(work[0].headers["Nats-Msg-Id"].empty());
  // The approval's record, and the refused second approve's (not a replay, but recorded).
  EXPECT_EQ(Count("AUDIT", "audit.decisions.db.migrate"), 2);
  EXPECT_EQ(*a.service->CountPending(), 0);
}

TEST_F(ApprovalReplicasTest, ConcurrentApproveAndRejectOnTwoGatesOneWins) {
  Replica a(server_, &clock_, policy_);
  Replica b(server_, &clock_, policy_);
  constexpr int kJobs = 10;
  for (int i = 0; i < kJobs; ++i) HoldThrough(a, DbJob("j" + std::to_string(i)));
  std::atomic<int> approved{0}, rejected{0}, lost{0};
  auto run = [&](Replica* replica, bool approve) {
    for (int i = 0; i < kJobs; ++i) {
      const auto request = Ask("j" + std::to_string(i));
      ApprovalOutcome out = approve ? replica->service->Approve(request, Person("alice"))
                                    : replica->service->Reject(request, Person("carol"));
      if (out.status.ok()) {
        ++(approve ? approved : rejected);
      } else if (out.status.code() == StatusCode::kConflict) {
        ++lost;
      }
    }
  };
  std::thread ta(run, &a, true), tb(run, &b, false);
  ta.join();
  tb.join();
  EXPECT_EQ(approved + rejected, kJobs);
  EXPECT_EQ(lost.load(), kJobs);
  ASSERT_TRUE(WaitFor([&] {
    return Count("WORK", "worker.>") == approved.load() &&
           Count("AUDIT", "audit.denied.>") == rejected.load();
  }));
}

TEST_F(ApprovalReplicasTest, RestartedGateListsAndReleasesWhatWasPending) {
  {
    Replica before(server_, &clock_, policy_);
    HoldThrough(before, DbJob("j1"));
    HoldThrough(before, DbJob("j2"));
  }
  // The server restarts too: the approvals are on disk, not in any process.
  server_.Stop();
  server_.Start();

  Replica after(server_, &clock_, policy_);
  auto list = after.service->List(v1::ListApprovalsRequest());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->approvals_size(), 2);
  EXPECT_EQ(list->pending(), 2);

  ASSERT_TRUE(after.service->Approve(Ask("j1"), Person("alice")).status.ok());
  ASSERT_TRUE(WaitFor([&] { return Count("WORK", "worker.db.migrate") == 1; }));

  clock_.Advance(std::chrono::hours(2));
  EXPECT_EQ(*after.service->ExpireDue(), 1);
  EXPECT_EQ(Count("AUDIT", "audit.denied.db.migrate"), 1);
  EXPECT_EQ(after.store->Get("default", "j2")->status(), Record::EXPIRED);
  EXPECT_EQ(*after.service->CountPending(), 0);
  EXPECT_EQ(Count("WORK", "worker.>"), 1);
}

TEST_F(ApprovalReplicasTest, ApprovedButUnreleasedIsReleasedAfterACrash) {
  {
    // A gate that approves, then dies before its publishes reach the stream.
    Replica crashed(server_, &clock_, policy_);
    HoldThrough(crashed, DbJob("j1"));
    RecordingPublisher dead;
    dead.FailSubjectsStartingWith("worker.");
    ApprovalService dying(crashed.store.get(), &dead, [this] { return policy_; }, &clock_, {});
    ApprovalOutcome out = dying.Approve(Ask("j1"), Person("alice"));
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    EXPECT_FALSE(out.approval.released());
  }
  EXPECT_EQ(Count("WORK", "worker.>"), 0);

  Replica a(server_, &clock_, policy_);
  Replica b(server_, &clock_, policy_);
  // Both replicas run their start-up release at once: the job still arrives once.
  std::thread ta([&] { (void)a.service->ReleasePending(); });
  std::thread tb([&] { (void)b.service->ReleasePending(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(WaitFor([&] { return Count("WORK", "worker.db.migrate") == 1; }));
  EXPECT_TRUE(a.store->Get("default", "j1")->released());
  EXPECT_EQ(*a.service->ReleasePending(), 0);
  EXPECT_EQ(Count("WORK", "worker.>"), 1);
  EXPECT_EQ(Count("AUDIT", "audit.decisions.>"), 1);
}

}  // namespace
}  // namespace jobgate::gate
