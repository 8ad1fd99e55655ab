// NatsKvSessionStore against a real nats-server: UpdateMany writes a batch's sessions
// together, answers each as Update would, and loses no change when two replicas write
// the same sessions at once (the compare-and-set conflicts fall back to Update).
#include <gtest/gtest.h>

#include <thread>

#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_sessions.h"
#include "gate/sessions.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using jobgate::testing::ConnectGate;
using jobgate::testing::NatsServer;
using jobgate::testing::WaitFor;

std::unique_ptr<NatsKvSessionStore> OpenOrDie(NatsConnection* connection, const Clock* clock) {
  auto store = NatsKvSessionStore::Open(connection, clock, SessionStoreOptions{});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// A mutation that appends an event named `job_id`.
SessionMutation Append(std::string job_id) {
  return [job_id = std::move(job_id)](v1::SessionState* state) {
    state->add_events()->set_job_id(job_id);
    return true;
  };
}

TEST(SessionStoreIntegrationTest, UpdateManyWritesEachSessionAndAnswersAsUpdate) {
  NatsServer server;
  auto connection = ConnectGate(server);
  ASSERT_NE(connection, nullptr);
  SystemClock clock;
  auto store = OpenOrDie(connection.get(), &clock);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Update("t", "session:old", Append("before")).ok());

  const std::vector<SessionWrite> writes = {
      {"t", "session:new", Append("n1")},
      {"t", "session:old", Append("o1")},
      {"t", "session:unchanged", [](v1::SessionState*) { return false; }},
  };
  std::vector<Result<SessionPtr>> out;
  store->UpdateMany(writes, &out);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& result : out) ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*out[0])->events_size(), 1);
  EXPECT_GT((*out[0])->revision(), 0u);
  EXPECT_EQ((*out[1])->events_size(), 2);
  EXPECT_EQ((*out[1])->events(1).job_id(), "o1");
  EXPECT_EQ((*out[2])->revision(), 0u);  // nothing to write: never stored
  EXPECT_EQ(store->Find("t", "session:unchanged"), nullptr);
  EXPECT_EQ(store->Find("t", "session:new")->revision(), (*out[0])->revision());

  // Another replica's copy sees both writes.
  auto other_connection = ConnectGate(server);
  auto other = OpenOrDie(other_connection.get(), &clock);
  ASSERT_NE(other, nullptr);
  ASSERT_NE(other->Find("t", "session:old"), nullptr);
  EXPECT_EQ(other->Find("t", "session:old")->events_size(), 2);
  EXPECT_EQ(other->Find("t", "session:new")->events_size(), 1);
}

TEST(SessionStoreIntegrationTest, TwoReplicasWritingTheSameSessionsLoseNothing) {
  NatsServer server;
  SystemClock clock;
  auto connection_a = ConnectGate(server);
  auto connection_b = ConnectGate(server);
  ASSERT_NE(connection_a, nullptr);
  ASSERT_NE(connection_b, nullptr);
  auto a = OpenOrDie(connection_a.get(), &clock);
  auto b = OpenOrDie(connection_b.get(), &clock);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRounds = 40;
  const std::vector<std::string> sessions = {"session:x", "session:y", "session:z"};
  auto writer = [&](NatsKvSessionStore* store, const std::string& name) {
    for (int round = 0; round < kRounds; ++round) {
      std::vector<SessionWrite> writes;
      for (const std::string& session : sessions) {
        writes.push_back({"t", session, Append(name + std::to_string(round))});
      }
      std::vector<Result<SessionPtr>> out;
      store->UpdateMany(writes, &out);
      // A write that lost every compare-and-set race is left to its caller, as a job is
      // left for redelivery: written again until it is stored.
      for (size_t i = 0; i < writes.size(); ++i) {
        for (int attempt = 0; !out[i].ok() && attempt < 100; ++attempt) {
          EXPECT_EQ(out[i].status().code(), StatusCode::kUnavailable) << out[i].status().ToString();
          out[i] = store->Update(writes[i].tenant_id, writes[i].session, writes[i].mutate);
        }
        EXPECT_TRUE(out[i].ok()) << out[i].status().ToString();
      }
    }
  };
  std::thread thread_a(writer, a.get(), "a");
  std::thread thread_b(writer, b.get(), "b");
  thread_a.join();
  thread_b.join();
  for (const std::string& session : sessions) {
    for (NatsKvSessionStore* store : {a.get(), b.get()}) {
      EXPECT_TRUE(WaitFor([&] {
        SessionPtr state = store->Find("t", session);
        return state != nullptr && state->events_size() == 2 * kRounds;
      })) << session << " has "
          << (store->Find("t", session) ? store->Find("t", session)->events_size() : -1)
          << " events";
    }
  }
}

}  // namespace
}  // namespace jobgate::gate
