// The snapshot store contract, run against both implementations: the in-memory store
// and JetStream KV on a real nats-server (free loopback port, temp store dir).
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "gate/nats/nats_bus.h"
#include "gate/lifecycle/snapshot_store.h"
#include "gate/nats/nats_snapshot_store.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using jobgate::testing::ConnectGate;
using jobgate::testing::NatsServer;
using jobgate::testing::WaitFor;

v1::PolicySnapshot Snapshot(const std::string& name, int64_t created_ms) {
  v1::PolicySnapshot s;
  s.set_name(name);
  s.set_policy("rules: []\n");
  s.set_hash("sha256:" + name);
  s.set_author("tester");
  *s.mutable_created_at() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(created_ms);
  return s;
}

v1::ActiveSnapshot Pointer(const std::string& name) {
  v1::ActiveSnapshot a;
  a.set_name(name);
  a.set_hash("sha256:" + name);
  return a;
}

// Owns whatever backs the store under test.
struct Backend {
  virtual ~Backend() = default;
  virtual SnapshotStore* store() = 0;
};

struct MemoryBackend : Backend {
  InMemorySnapshotStore memory;
  SnapshotStore* store() override { return &memory; }
};

struct KvBackend : Backend {
  NatsServer server;
  std::unique_ptr<NatsConnection> connection;
  std::unique_ptr<NatsKvSnapshotStore> kv;
  KvBackend() {
    connection = ConnectGate(server);
    auto store = NatsKvSnapshotStore::Open(connection.get(), {});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    kv = std::move(*store);
  }
  ~KvBackend() override {
    kv.reset();  // watchers first, then the connection, then the server
    connection.reset();
  }
  SnapshotStore* store() override { return kv.get(); }
};

class SnapshotStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      backend_ = std::make_unique<MemoryBackend>();
    } else {
      backend_ = std::make_unique<KvBackend>();
    }
    ASSERT_NE(backend_->store(), nullptr);
  }
  SnapshotStore& store() { return *backend_->store(); }
  std::unique_ptr<Backend> backend_;
};

TEST_P(SnapshotStoreTest, SnapshotsAreImmutableAndListedNewestFirst) {
  ASSERT_TRUE(store().PutSnapshot(Snapshot("v1", 1000)).ok());
  ASSERT_TRUE(store().PutSnapshot(Snapshot("v2", 2000)).ok());
  const Status again = store().PutSnapshot(Snapshot("v1", 3000));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();

  auto v1 = store().GetSnapshot("v1");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->hash(), "sha256:v1");
  EXPECT_EQ(v1->created_at().seconds(), 1);  // the first write stands
  EXPECT_EQ(store().GetSnapshot("nope").status().code(), StatusCode::kNotFound);

  auto list = store().ListSnapshots();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name(), "v2");
  EXPECT_EQ((*list)[1].name(), "v1");
}

TEST_P(SnapshotStoreTest, ActivePointerIsCompareAndSet) {
  EXPECT_EQ(store().GetActive().status().code(), StatusCode::kNotFound);
  auto first = store().SetActive(Pointer("v1"), 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Creating again (expected 0) loses: the pointer exists.
  EXPECT_EQ(store().SetActive(Pointer("v9"), 0).status().code(), StatusCode::kConflict);

  auto active = store().GetActive();
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->name(), "v1");
  EXPECT_EQ(active->revision(), *first);

  auto second = store().SetActive(Pointer("v2"), *first);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_GT(*second, *first);
  // A writer still holding the old revision loses, and the pointer is unchanged.
  EXPECT_EQ(store().SetActive(Pointer("v3"), *first).status().code(), StatusCode::kConflict);
  EXPECT_EQ(store().GetActive()->name(), "v2");
}

TEST_P(SnapshotStoreTest, ConcurrentWritersExactlyOneWins) {
  auto base = store().SetActive(Pointer("base"), 0);
  ASSERT_TRUE(base.ok());
  constexpr int kWriters = 8;
  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      auto r = store().SetActive(Pointer("w" + std::to_string(i)), *base);
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

TEST_P(SnapshotStoreTest, WatchSeesCurrentAndLaterPointers) {
  ASSERT_TRUE(store().SetActive(Pointer("v1"), 0).ok());
  std::mutex mu;
  std::vector<std::string> seen;
  auto watch = store().WatchActive([&](const v1::ActiveSnapshot& a) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(a.name());
  });
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto seen_contains = [&](const std::string& name) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(seen.begin(), seen.end(), name) != seen.end();
  };
  ASSERT_TRUE(WaitFor([&] { return seen_contains("v1"); }));
  const uint64_t rev = store().GetActive()->revision();
  ASSERT_TRUE(store().SetActive(Pointer("v2"), rev).ok());
  EXPECT_TRUE(WaitFor([&] { return seen_contains("v2"); }));
  watch->reset();  // stops the watch; no callback after this
}

INSTANTIATE_TEST_SUITE_P(Stores, SnapshotStoreTest, ::testing::Values("memory", "jetstream_kv"),
                         [](const auto& info) { return info.param; });

TEST(SnapshotNameTest, Validation) {
  EXPECT_EQ(ValidateSnapshotName("v42"), "");
  EXPECT_EQ(ValidateSnapshotName("prod-2026.11.21_a"), "");
  EXPECT_NE(ValidateSnapshotName(""), "");
  EXPECT_NE(ValidateSnapshotName(".hidden"), "");
  EXPECT_NE(ValidateSnapshotName("a b"), "");
  EXPECT_NE(ValidateSnapshotName("a/b"), "");
  EXPECT_NE(ValidateSnapshotName("a*"), "");
  EXPECT_NE(ValidateSnapshotName(std::string(65, 'a')), "");
}

}  // namespace
}  // namespace jobgate::gate
