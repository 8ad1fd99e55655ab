// Deferral of over-rate THROTTLE jobs without NATS: the dispatcher parks them (and only
// acks once the park is stored), the scheduler brings them back round robin across keys,
// re-judged through a second dispatcher, removed once routed, left parked while over rate.
#include "gate/core/deferred.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "gate/core/dispatcher.h"
#include "re2/re2.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FakeBus;
using ::jobgate::testing::FakeClock;
using ::jobgate::testing::Settlement;

constexpr char kPolicy[] = R"(version: 1
snapshot: unit-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
  - id: throttle-llm
    match: {topics: ["job.llm.>"]}
    decision: throttle
    rate: {limit: 2, period: 1s, key: tenant_id}
)";

std::string JobJson(const std::string& id, const std::string& tenant) {
  return R"({"job_id": ")" + id + R"(", "tenant_id": ")" + tenant +
         R"(", "actor": {"agent_id": "a1"}})";
}

std::string Header(const OutboundMessage& m, const std::string& key) {
  for (const auto& [k, v] : m.headers) {
    if (k == key) return v;
  }
  return {};
}

// An in-memory deferred stream: messages by sequence, each under a key token.
class FakeDeferredStore final : public DeferredStore {
 public:
  uint64_t Park(const std::string& key, ParkedJob job) {
    job.sequence = ++last_sequence_;
    keys_[job.sequence] = key;
    jobs_[job.sequence] = std::move(job);
    return last_sequence_;
  }
  // Parks what a dispatcher published under `prefix`, as the stream would store it.
  void ParkPublished(const std::vector<OutboundMessage>& published, const std::string& prefix) {
    for (const OutboundMessage& m : published) {
      if (m.subject.rfind(prefix + ".", 0) != 0) continue;
      ParkedJob job;
      job.arrival_subject = Header(m, subjects::kArrivalSubjectHeader);
      job.content_type = Header(m, kContentTypeHeader);
      job.data = m.body;
      job.msg_id = m.msg_id;
      job.sealed_key_id = Header(m, subjects::kSealedKeyHeader);
      Park(m.subject.substr(prefix.size() + 1), std::move(job));
    }
  }

  Result<std::vector<KeyBacklog>> Backlog() override {
    ++backlog_reads;
    if (!backlog_error.ok()) return backlog_error;
    std::map<std::string, uint64_t> counts;
    for (const auto& [seq, key] : keys_) ++counts[key];
    std::vector<KeyBacklog> out;
    for (const auto& [key, count] : counts) out.push_back({key, count});
    return out;
  }
  Result<ParkedJob> Next(std::string_view key, uint64_t from) override {
    ++reads;
    if (!next_error.ok()) return next_error;
    for (auto it = keys_.lower_bound(from); it != keys_.end(); ++it) {
      if (it->second == key) return jobs_[it->first];
    }
    return NotFound("none");
  }
  Status Remove(uint64_t sequence) override {
    if (!remove_error.ok()) return remove_error;
    keys_.erase(sequence);
    jobs_.erase(sequence);
    removed.push_back(sequence);
    return Status::Ok();
  }

  size_t size() const { return jobs_.size(); }
  size_t CountOf(const std::string& key) const {
    size_t n = 0;
    for (const auto& [seq, k] : keys_) n += k == key;
    return n;
  }

  Status backlog_error;
  Status next_error;
  Status remove_error;
  int backlog_reads = 0;
  int reads = 0;
  std::vector<uint64_t> removed;

 private:
  uint64_t last_sequence_ = 0;
  std::map<uint64_t, std::string> keys_;
  std::map<uint64_t, ParkedJob> jobs_;
};

ParkedJob Job(const std::string& id, const std::string& tenant = "t") {
  ParkedJob job;
  job.arrival_subject = "job.llm.chat";
  job.data = JobJson(id, tenant);
  return job;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : scheduler_(&store_, &publisher_, &clock_, Options(),
                   [this](std::chrono::milliseconds d) { waits_.push_back(d); }) {}

  static DeferredSchedulerOptions Options() {
    DeferredSchedulerOptions options;
    options.refresh_interval = std::chrono::milliseconds(100);
    options.max_quantum = 8;
    return options;
  }

  InboundBatch Fetch(int max) {
    InboundBatch batch;
    Status s = scheduler_.Fetch(max, std::chrono::milliseconds(500), &batch);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return batch;
  }
  // The tenant of every message of `batch`, in order.
  static std::vector<std::string> Keys(const InboundBatch& batch) {
    std::vector<std::string> out;
    for (const auto& m : batch) {
      const std::string data(m->data());
      const size_t at = data.find("\"tenant_id\": \"") + 14;
      out.push_back(data.substr(at, data.find('"', at) - at));
    }
    return out;
  }

  FakeClock clock_;
  FakeDeferredStore store_;
  FakeBus publisher_;
  std::vector<std::chrono::milliseconds> waits_;
  DeferredScheduler scheduler_;
};

TEST(DeferredKeyTokenTest, IsASubjectTokenThatCarriesNoPartOfTheKey) {
  // Generated key values: subject syntax, whitespace, secrets, unicode, empty, long.
  std::mt19937 random(20);
  const std::string alphabet = "ab.*> \t\r\n\x1f/$%{}\"'\\AKIA0123456789\xc3\xa9\xe2\x82\xac";
  std::set<std::string> tokens;
  const RE2 token_syntax("[0-9a-f]{32}");
  for (int i = 0; i < 5000; ++i) {
    std::string value;
    const size_t length = i == 0 ? 0 : random() % (i % 100 == 0 ? 5000 : 40);
    for (size_t j = 0; j < length; ++j) value.push_back(alphabet[random() % alphabet.size()]);
    value += std::to_string(i);  // distinct values
    const std::string token = DeferredKeyToken("rule", value);
    ASSERT_TRUE(RE2::FullMatch(token, token_syntax)) << token;
    if (value.size() >= 8) {
      EXPECT_EQ(token.find(value), std::string::npos);
    }
    tokens.insert(token);
  }
  EXPECT_EQ(tokens.size(), 5000u);
  // The rule is part of the bucket: the same value under two rules parks apart.
  EXPECT_NE(DeferredKeyToken("r1", "v"), DeferredKeyToken("r2", "v"));
  EXPECT_NE(DeferredKeyToken("r1\x1fv", ""), DeferredKeyToken("r1", "v\x1f"));
}

TEST_F(SchedulerTest, ServesEveryKeyWithABacklogInTurn) {
  for (int i = 0; i < 1000; ++i) store_.Park("flood", Job("f" + std::to_string(i), "flood"));
  for (int i = 0; i < 3; ++i) {
    store_.Park("quiet-a", Job("a" + std::to_string(i), "quiet-a"));
    store_.Park("quiet-b", Job("b" + std::to_string(i), "quiet-b"));
  }
  // Every key is served in the first fetch, behind 1,000 parked jobs of another.
  auto batch = Fetch(256);
  std::set<std::string> keys;
  for (const auto& k : Keys(batch)) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"flood", "quiet-a", "quiet-b"}));
  for (auto& m : batch) EXPECT_TRUE(m->Ack().ok());

  // Admitted jobs double their key's quantum; the quiet keys drain in a few fetches
  // however long the flood's backlog is.
  for (int round = 0; round < 4 && (store_.CountOf("quiet-a") + store_.CountOf("quiet-b")) > 0;
       ++round) {
    clock_.Advance(std::chrono::milliseconds(100));
    batch = Fetch(256);
    for (auto& m : batch) EXPECT_TRUE(m->Ack().ok());
  }
  EXPECT_EQ(store_.CountOf("quiet-a"), 0u);
  EXPECT_EQ(store_.CountOf("quiet-b"), 0u);
  EXPECT_GT(store_.CountOf("flood"), 900u);
}

TEST_F(SchedulerTest, AFullBatchResumesAfterTheLastKeyServed) {
  for (int k = 0; k < 10; ++k) {
    for (int i = 0; i < 5; ++i) {
      const std::string key = "k" + std::to_string(k);
      store_.Park(key, Job(key + "-" + std::to_string(i), key));
    }
  }
  // Batches of three, nothing settled (each key's quantum stays one): every key is
  // served once before any is served twice.
  std::vector<std::string> order;
  for (int fetch = 0; fetch < 4; ++fetch) {
    auto batch = Fetch(3);
    for (const auto& k : Keys(batch)) order.push_back(k);
  }
  std::set<std::string> first_ten(order.begin(), order.begin() + 10);
  EXPECT_EQ(first_ten.size(), 10u);
}

TEST_F(SchedulerTest, ANakPausesOnlyItsKey) {
  store_.Park("slow", Job("s1", "slow"));
  store_.Park("slow", Job("s2", "slow"));
  store_.Park("fast", Job("f1", "fast"));
  store_.Park("fast", Job("f2", "fast"));
  auto batch = Fetch(10);
  ASSERT_EQ(batch.size(), 2u);  // one probe per key
  for (auto& m : batch) {
    if (Keys(batch)[&m - &batch[0]] == "slow") {
      EXPECT_TRUE(m->NakWithDelay(std::chrono::seconds(5)).ok());
    } else {
      EXPECT_TRUE(m->Ack().ok());
    }
  }
  EXPECT_EQ(store_.size(), 3u);  // the nak'ed job stays parked

  batch = Fetch(10);
  EXPECT_EQ(Keys(batch), std::vector<std::string>{"fast"});
  for (auto& m : batch) EXPECT_TRUE(m->Ack().ok());

  // Nothing due: the fetch waits (bounded by the backlog refresh), and asks no job.
  const int reads = store_.reads;
  batch = Fetch(10);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(store_.reads, reads);
  ASSERT_FALSE(waits_.empty());
  EXPECT_LE(waits_.back(), std::chrono::milliseconds(500));

  clock_.Advance(std::chrono::seconds(5));
  batch = Fetch(10);
  EXPECT_EQ(Keys(batch), std::vector<std::string>{"slow"});
}

TEST_F(SchedulerTest, TheQuantumGrowsWhileAdmittedAndFallsBackOnANak) {
  for (int i = 0; i < 100; ++i) store_.Park("k", Job("j" + std::to_string(i), "k"));
  std::vector<size_t> sizes;
  for (int round = 0; round < 5; ++round) {
    auto batch = Fetch(256);
    sizes.push_back(batch.size());
    for (auto& m : batch) EXPECT_TRUE(m->Ack().ok());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{1, 2, 4, 8, 8}));  // max_quantum 8

  auto batch = Fetch(256);
  ASSERT_EQ(batch.size(), 8u);
  EXPECT_TRUE(batch[0]->Ack().ok());
  for (size_t i = 1; i < batch.size(); ++i) {
    EXPECT_TRUE(batch[i]->NakWithDelay(std::chrono::milliseconds(50)).ok());
  }
  clock_.Advance(std::chrono::milliseconds(50));
  EXPECT_EQ(Fetch(256).size(), 1u);
}

TEST_F(SchedulerTest, StoreFailuresFailTheFetchAndRemoveNothing) {
  store_.Park("k", Job("j1", "k"));
  store_.backlog_error = Unavailable("stream info: no responders");
  InboundBatch batch;
  EXPECT_FALSE(scheduler_.Fetch(10, std::chrono::milliseconds(10), &batch).ok());
  store_.backlog_error = Status::Ok();
  store_.next_error = Unavailable("read: timeout");
  EXPECT_FALSE(scheduler_.Fetch(10, std::chrono::milliseconds(10), &batch).ok());
  EXPECT_TRUE(batch.empty());
  store_.next_error = Status::Ok();
  batch = Fetch(10);
  ASSERT_EQ(batch.size(), 1u);
  store_.remove_error = Unavailable("delete: timeout");
  EXPECT_FALSE(batch[0]->Ack().ok());
  EXPECT_EQ(store_.size(), 1u);
}

TEST_F(SchedulerTest, AKeyDrainedElsewhereIsNotAskedAgainUntilTheNextRead) {
  store_.Park("k", Job("j1", "k"));
  EXPECT_EQ(Fetch(10).size(), 1u);     // not settled here
  EXPECT_TRUE(store_.Remove(1).ok());  // another replica routed it
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(Fetch(10).empty());  // one read finds the key empty
  const int reads = store_.reads;
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(Fetch(10).empty());
  EXPECT_EQ(store_.reads, reads);  // the backlog read (not yet due) still lists it
  clock_.Advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(Fetch(10).empty());  // the new read has no key left
}

// The whole path in memory: the job dispatcher parks, the scheduler and a second
// dispatcher re-judge.
class DeferralTest : public ::testing::Test {
 protected:
  static constexpr char kPrefix[] = "jobgate.deferred";

  DeferralTest()
      : limiter_(&clock_),
        parking_(Options(kPrefix), &jobs_, &clock_, &policy_, &limiter_, nullptr),
        scheduler_(&store_, &reinjected_, &clock_, {}, [](std::chrono::milliseconds) {}),
        rejudging_(Options(""), &scheduler_, &clock_, &policy_, &limiter_, nullptr) {
    auto compiled = policy::Compile(kPolicy);
    EXPECT_TRUE(compiled.ok()) << compiled.ErrorText();
    policy_.Set(compiled.policy);
  }

  static DispatcherOptions Options(const std::string& prefix) {
    DispatcherOptions options;
    options.deferred_prefix = prefix;
    return options;
  }

  Dispatcher::BatchStats Run(Dispatcher& dispatcher) {
    auto stats = dispatcher.RunOnce();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : Dispatcher::BatchStats{};
  }

  FakeClock clock_;
  ActivePolicy policy_;
  RateLimiter limiter_;
  FakeBus jobs_;        // the job consumer, and where parks are published
  FakeBus reinjected_;  // publishes of re-judged jobs
  FakeDeferredStore store_;
  Dispatcher parking_;
  DeferredScheduler scheduler_;
  Dispatcher rejudging_;
};

TEST_F(DeferralTest, OverRateJobsAreParkedAckedAndLaterRoutedOnce) {
  for (int i = 0; i < 5; ++i) {
    jobs_.Enqueue("job.llm.chat", JobJson("j" + std::to_string(i), "acme"),
                  {{"Content-Type", "application/json"}});
  }
  jobs_.Enqueue("job.read.file", JobJson("r1", "other"));
  auto stats = Run(parking_);
  EXPECT_EQ(stats.dispatched, 3u);  // two within the rate, and the read
  EXPECT_EQ(stats.parked, 3u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(jobs_.settlement(i).kind, Settlement::Kind::kAck);

  const auto parks = jobs_.PublishedOn(std::string(kPrefix) + ".");
  ASSERT_EQ(parks.size(), 3u);
  const std::string token = DeferredKeyToken("throttle-llm", "acme");
  for (const OutboundMessage* park : parks) {
    EXPECT_EQ(park->subject, std::string(kPrefix) + "." + token);
    EXPECT_EQ(Header(*park, subjects::kArrivalSubjectHeader), "job.llm.chat");
    EXPECT_EQ(Header(*park, kContentTypeHeader), "application/json");
    EXPECT_EQ(park->subject.find("acme"), std::string::npos);
  }
  EXPECT_EQ(parks[0]->msg_id, subjects::MessageId("acme", "j2", "park"));
  // Parked jobs are not decided yet: no record, no worker copy.
  EXPECT_EQ(jobs_.PublishedOn("audit.decisions.").size(), 3u);

  store_.ParkPublished(jobs_.published(), kPrefix);
  // Still over rate: re-judged, left parked.
  stats = Run(rejudging_);
  EXPECT_EQ(stats.throttled, 1u);
  EXPECT_EQ(store_.size(), 3u);
  EXPECT_TRUE(reinjected_.published().empty());

  clock_.Advance(std::chrono::seconds(1));
  stats = Run(rejudging_);
  EXPECT_EQ(stats.dispatched, 1u);  // a probe first
  clock_.Advance(std::chrono::seconds(1));
  for (int i = 0; i < 4 && store_.size() > 0; ++i) {
    Run(rejudging_);
    clock_.Advance(std::chrono::seconds(1));
  }
  EXPECT_EQ(store_.size(), 0u);
  const auto routed = reinjected_.PublishedOn("worker.llm.chat");
  std::set<std::string> ids;
  for (const OutboundMessage* m : routed) {
    v1::DispatchedJob job;
    ASSERT_TRUE(job.ParseFromString(m->body));
    EXPECT_EQ(job.job().topic(), "job.llm.chat");  // bound to the arrival subject
    EXPECT_EQ(job.decision().decision(), v1::THROTTLE);
    ids.insert(job.job().job_id());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"j2", "j3", "j4"}));
  EXPECT_EQ(reinjected_.PublishedOn("audit.decisions.llm.chat").size(), 3u);
}

TEST_F(DeferralTest, AFailedParkIsNakedNeverAllowed) {
  jobs_.fail_publish = [](const std::string& subject) {
    return subject.rfind("jobgate.deferred.", 0) == 0;
  };
  for (int i = 0; i < 3; ++i) jobs_.Enqueue("job.llm.chat", JobJson("j" + std::to_string(i), "a"));
  const auto stats = Run(parking_);
  EXPECT_EQ(stats.dispatched, 2u);
  EXPECT_EQ(stats.retried, 1u);
  EXPECT_EQ(jobs_.settlement(2).kind, Settlement::Kind::kNak);
  EXPECT_EQ(jobs_.PublishedOn("worker.").size(), 2u);
}

TEST_F(DeferralTest, ARedeliveredThrottledJobIsParkedAgainUnderItsMsgId) {
  jobs_.mark_redelivered = true;
  jobs_.Enqueue("job.llm.chat", JobJson("j1", "a"));
  jobs_.Enqueue("job.read.file", JobJson("r1", "a"));  // not throttled: routed as usual
  const auto stats = Run(parking_);
  EXPECT_EQ(stats.parked, 1u);
  EXPECT_EQ(stats.dispatched, 1u);
  const auto parks = jobs_.PublishedOn("jobgate.deferred.");
  ASSERT_EQ(parks.size(), 1u);
  EXPECT_EQ(parks[0]->msg_id, subjects::MessageId("a", "j1", "park"));
  // It took no token: two jobs of the key still pass at once.
  jobs_.mark_redelivered = false;
  jobs_.Enqueue("job.llm.chat", JobJson("j2", "a"));
  jobs_.Enqueue("job.llm.chat", JobJson("j3", "a"));
  EXPECT_EQ(Run(parking_).dispatched, 2u);
}

TEST_F(DeferralTest, AReinjectedJobIsJudgedByTheCurrentPolicy) {
  jobs_.Enqueue("job.llm.chat", JobJson("j0", "a"));
  jobs_.Enqueue("job.llm.chat", JobJson("j1", "a"));
  jobs_.Enqueue("job.llm.chat", JobJson("j2", "a"));
  Run(parking_);
  store_.ParkPublished(jobs_.published(), kPrefix);
  ASSERT_EQ(store_.size(), 1u);
  auto denying = policy::Compile(R"(version: 1
snapshot: unit-2
defaults: {decision: deny, reason: closed}
rules: []
)");
  ASSERT_TRUE(denying.ok()) << denying.ErrorText();
  policy_.Set(denying.policy);
  EXPECT_EQ(Run(rejudging_).dispatched, 1u);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(reinjected_.PublishedOn("audit.denied.llm.chat").size(), 1u);
  EXPECT_TRUE(reinjected_.PublishedOn("worker.").empty());
}

TEST_F(DeferralTest, AParkedJobWithAForeignSubjectIsRejectedNotRouted) {
  ParkedJob job = Job("x1", "a");
  job.arrival_subject = "worker";  // one token: no <rest>
  store_.Park("k", job);
  ParkedJob garbage;
  garbage.arrival_subject = "job.llm.chat";
  garbage.data = "{not json";
  store_.Park("k", garbage);
  clock_.Advance(std::chrono::seconds(1));
  for (int i = 0; i < 3 && store_.size() > 0; ++i) Run(rejudging_);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(reinjected_.PublishedOn("audit.rejected").size(), 2u);
  EXPECT_TRUE(reinjected_.PublishedOn("worker.").empty());
}

std::unique_ptr<JobSealer> SealerWithKey(unsigned char fill) {
  JobSealer::Key key{};
  key.fill(fill);
  return JobSealer::FromKeys({key}).value();
}

// Parked jobs sealed at rest: the parking dispatcher seals, the scheduler opens.
class SealedDeferralTest : public ::testing::Test {
 protected:
  static constexpr char kPrefix[] = "jobgate.deferred";
  static constexpr char kToken[] = "ghp_Zq8LwX3vR7nT2mK9pB4sY6dF1hJ5gC0aE8uQ";

  explicit SealedDeferralTest(unsigned char opening_key = 7)
      : sealer_(SealerWithKey(7)),
        opener_(SealerWithKey(opening_key)),
        limiter_(&clock_),
        parking_(DispatchOptions(kPrefix), &jobs_, &clock_, &policy_, &limiter_, nullptr,
                 DispatcherSeams{.park_sealer = sealer_.get()}),
        scheduler_(&store_, &reinjected_, &clock_, SchedulerOptions(opener_.get()),
                   [](std::chrono::milliseconds) {}),
        rejudging_(DispatchOptions(""), &scheduler_, &clock_, &policy_, &limiter_, nullptr) {
    auto compiled = policy::Compile(kPolicy);
    EXPECT_TRUE(compiled.ok()) << compiled.ErrorText();
    policy_.Set(compiled.policy);
  }

  static DispatcherOptions DispatchOptions(const std::string& prefix) {
    DispatcherOptions options;
    options.deferred_prefix = prefix;
    return options;
  }
  static DeferredSchedulerOptions SchedulerOptions(const JobSealer* sealer) {
    DeferredSchedulerOptions options;
    options.sealer = sealer;
    return options;
  }

  // Three jobs of one tenant carrying a token: two within the rate, one parked.
  void ParkOne() {
    for (int i = 0; i < 3; ++i) {
      std::string job = JobJson("j" + std::to_string(i), "acme");
      job.insert(job.find('{') + 1, "\"labels\": {\"note\": \"" + std::string(kToken) + "\"}, ");
      jobs_.Enqueue("job.llm.chat", job);
    }
    const auto stats = parking_.RunOnce();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    ASSERT_EQ(stats->parked, 1u);
    store_.ParkPublished(jobs_.published(), kPrefix);
  }

  FakeClock clock_;
  ActivePolicy policy_;
  std::unique_ptr<JobSealer> sealer_;
  std::unique_ptr<JobSealer> opener_;
  RateLimiter limiter_;
  FakeBus jobs_;
  FakeBus reinjected_;
  FakeDeferredStore store_;
  Dispatcher parking_;
  DeferredScheduler scheduler_;
  Dispatcher rejudging_;
};

TEST_F(SealedDeferralTest, AParkedJobIsSealedAtRestAndRoutedAsItCame) {
  ParkOne();
  const auto parks = jobs_.PublishedOn(std::string(kPrefix) + ".");
  ASSERT_EQ(parks.size(), 1u);
  EXPECT_EQ(Header(*parks[0], subjects::kSealedKeyHeader), sealer_->sealing_key_id());
  EXPECT_EQ(parks[0]->body.find(kToken), std::string::npos) << "the token is at rest raw";
  EXPECT_EQ(parks[0]->body.find("acme"), std::string::npos);

  clock_.Advance(std::chrono::seconds(2));
  const auto stats = rejudging_.RunOnce();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->dispatched, 1u);
  EXPECT_EQ(store_.size(), 0u);
  const auto routed = reinjected_.PublishedOn("worker.llm.chat");
  ASSERT_EQ(routed.size(), 1u);
  v1::DispatchedJob job;
  ASSERT_TRUE(job.ParseFromString(routed[0]->body));
  EXPECT_EQ(job.job().job_id(), "j2");
  EXPECT_EQ(job.job().labels().at("note"), kToken);  // the worker gets the job as it came
}

class SealedDeferralWrongKeyTest : public SealedDeferralTest {
 protected:
  SealedDeferralWrongKeyTest() : SealedDeferralTest(/*opening_key=*/9) {}
};

TEST_F(SealedDeferralWrongKeyTest, AJobThatDoesNotOpenStaysParkedNeverRouted) {
  ParkOne();
  clock_.Advance(std::chrono::seconds(2));
  for (int i = 0; i < 3; ++i) {
    const auto stats = rejudging_.RunOnce();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->dispatched, 0u);
    clock_.Advance(std::chrono::seconds(1));
  }
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_TRUE(reinjected_.published().empty());
}

TEST_F(SealedDeferralTest, ASealedJobMovedUnderAnotherMsgIdDoesNotOpen) {
  ParkOne();
  // The same sealed bytes presented as another job's park.
  ParkedJob moved;
  ASSERT_EQ(jobs_.PublishedOn(std::string(kPrefix) + ".").size(), 1u);
  const OutboundMessage& park = *jobs_.PublishedOn(std::string(kPrefix) + ".")[0];
  moved.data = park.body;
  moved.msg_id = subjects::MessageId("acme", "other-job", "park");
  moved.sealed_key_id = sealer_->sealing_key_id();
  EXPECT_FALSE(opener_->Open(moved.sealed_key_id, moved.data, moved.msg_id).ok());
  EXPECT_TRUE(opener_->Open(moved.sealed_key_id, moved.data, park.msg_id).ok());
}

}  // namespace
}  // namespace jobgate::gate
