// NatsSessionLog against a real nats-server: a batch's changes are one append; every
// replica, whether it was running or opened later, folds the log to the same states; two
// replicas appending changes to the same sessions at once lose none of them.
#include <gtest/gtest.h>

#include <thread>

#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_sessions.h"
#include "gate/core/sessions.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using jobgate::testing::ConnectGate;
using jobgate::testing::JetStreamClient;
using jobgate::testing::NatsServer;
using jobgate::testing::WaitFor;

std::unique_ptr<NatsSessionLog> OpenOrDie(NatsConnection* connection, const Clock* clock) {
  auto store = NatsSessionLog::Open(connection, clock, SessionStoreOptions{});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// A DENY of job `job_id` in `session`, now.
v1::SessionChange Denial(const std::string& session, const std::string& job_id,
                         const Clock& clock) {
  v1::SessionChange change;
  change.set_tenant_id("t");
  change.set_session(session);
  change.set_at_unix_ms(clock.UnixMillis());
  change.mutable_decision()->set_job_id(job_id);
  change.mutable_decision()->set_decision(v1::DENY);
  change.mutable_decision()->set_rule("deny-it");
  return change;
}

v1::SessionChange Operator(const std::string& session, bool terminate, const Clock& clock) {
  v1::SessionChange change;
  change.set_tenant_id("t");
  change.set_session(session);
  change.set_at_unix_ms(clock.UnixMillis());
  auto* action = terminate ? change.mutable_terminate() : change.mutable_restore();
  action->set_operator_name("alice");
  return change;
}

// The whole state, maps in key order (a serialization is not canonical).
std::string Canonical(const SessionPtr& state) {
  return state == nullptr ? "null" : state->DebugString();
}

std::vector<Result<SessionPtr>> ApplyAll(SessionStore* store,
                                         const std::vector<v1::SessionChange>& changes) {
  std::vector<Result<SessionPtr>> out;
  store->Apply(changes, &out);
  return out;
}

TEST(SessionStoreIntegrationTest, ABatchIsOneAppendThatEveryReplicaFoldsAlike) {
  NatsServer server;
  SystemClock clock;
  auto connection = ConnectGate(server);
  auto running_connection = ConnectGate(server);
  ASSERT_NE(connection, nullptr);
  ASSERT_NE(running_connection, nullptr);
  auto store = OpenOrDie(connection.get(), &clock);
  auto running = OpenOrDie(running_connection.get(), &clock);
  ASSERT_NE(store, nullptr);
  ASSERT_NE(running, nullptr);
  ASSERT_TRUE(ApplyAll(store.get(), {Denial("session:old", "before", clock)})[0].ok());

  const auto out = ApplyAll(store.get(), {Denial("session:new", "n1", clock),
                                          Denial("session:old", "o1", clock),
                                          Denial("session:old", "o1", clock)});  // again
  ASSERT_EQ(out.size(), 3u);
  for (const auto& result : out) ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*out[0])->events_size(), 1);
  EXPECT_EQ((*out[1])->events_size(), 2);  // a decision folded twice counts once
  EXPECT_EQ((*out[1])->events(1).job_id(), "o1");
  // One append: both sessions changed at the same revision, after the first append's.
  EXPECT_EQ((*out[0])->revision(), (*out[1])->revision());
  EXPECT_EQ(store->Find("t", "session:new")->revision(), (*out[0])->revision());

  // A replica that was running and one opened now fold the same states.
  auto late_connection = ConnectGate(server);
  auto late = OpenOrDie(late_connection.get(), &clock);
  ASSERT_NE(late, nullptr);
  for (const char* session : {"session:old", "session:new"}) {
    EXPECT_EQ(Canonical(late->Find("t", session)), Canonical(store->Find("t", session)));
    EXPECT_TRUE(WaitFor([&] {
      return Canonical(running->Find("t", session)) == Canonical(store->Find("t", session));
    })) << session;
  }
}

// A log whose messages are all gone (aged out past sessions.idle, or purged) still has
// sequence numbers; a replica that opens it starts at once, empty, and folds what comes.
TEST(SessionStoreIntegrationTest, AReplicaOpensALogWhoseMessagesAreAllGone) {
  NatsServer server;
  SystemClock clock;
  auto connection = ConnectGate(server);
  ASSERT_NE(connection, nullptr);
  {
    auto first = OpenOrDie(connection.get(), &clock);
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(ApplyAll(first.get(), {Denial("session:gone", "g1", clock)})[0].ok());
  }
  JetStreamClient client(server.url());
  ASSERT_TRUE(client.PurgeStream(SessionStoreOptions{}.stream).ok());
  ASSERT_EQ(client.Count(SessionStoreOptions{}.stream), 0);

  auto late_connection = ConnectGate(server);
  ASSERT_NE(late_connection, nullptr);
  auto late = OpenOrDie(late_connection.get(), &clock);
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->Find("t", "session:gone"), nullptr);
  EXPECT_TRUE(late->Ready().ok());
  const auto out = ApplyAll(late.get(), {Denial("session:next", "n1", clock)});
  ASSERT_TRUE(out[0].ok()) << out[0].status().ToString();
  ASSERT_NE(*out[0], nullptr);
  EXPECT_EQ((*out[0])->events_size(), 1);
}

// Two replicas, a and b, each with its own connection to one server.
class SessionLogReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection_a = ConnectGate(server);
    connection_b = ConnectGate(server);
    ASSERT_NE(connection_a, nullptr);
    ASSERT_NE(connection_b, nullptr);
    a = OpenOrDie(connection_a.get(), &clock);
    b = OpenOrDie(connection_b.get(), &clock);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
  }

  NatsServer server;
  SystemClock clock;
  std::unique_ptr<NatsConnection> connection_a, connection_b;
  std::unique_ptr<NatsSessionLog> a, b;
};

TEST_F(SessionLogReplicasTest, AppendingToTheSameSessionsLosesNothing) {
  constexpr int kRounds = 30;  // under the default max_events of a session
  const std::vector<std::string> sessions = {"session:x", "session:y", "session:z"};
  auto writer = [&](NatsSessionLog* store, const std::string& name) {
    for (int round = 0; round < kRounds; ++round) {
      std::vector<v1::SessionChange> changes;
      for (const std::string& session : sessions) {
        changes.push_back(Denial(session, name + std::to_string(round), clock));
      }
      for (const auto& result : ApplyAll(store, changes)) {
        EXPECT_TRUE(result.ok()) << result.status().ToString();
      }
    }
  };
  std::thread thread_a(writer, a.get(), "a");
  std::thread thread_b(writer, b.get(), "b");
  thread_a.join();
  thread_b.join();
  for (const std::string& session : sessions) {
    ASSERT_TRUE(WaitFor([&] {
      SessionPtr x = a->Find("t", session);
      SessionPtr y = b->Find("t", session);
      return x != nullptr && x->events_size() == 2 * kRounds && Canonical(x) == Canonical(y);
    })) << session << " has "
        << (a->Find("t", session) ? a->Find("t", session)->events_size() : -1) << " events";
  }
}

TEST_F(SessionLogReplicasTest, TerminateAndRestoreRacingEndAlike) {
  ASSERT_TRUE(ApplyAll(a.get(), {Denial("session:s", "first", clock)})[0].ok());
  constexpr int kRounds = 20;
  std::thread terminator([&] {
    for (int i = 0; i < kRounds; ++i) ApplyAll(a.get(), {Operator("session:s", true, clock)});
  });
  std::thread restorer([&] {
    for (int i = 0; i < kRounds; ++i) ApplyAll(b.get(), {Operator("session:s", false, clock)});
  });
  terminator.join();
  restorer.join();
  // Whatever the interleaving, both copies end in the same state.
  ASSERT_TRUE(WaitFor([&] {
    return Canonical(a->Find("t", "session:s")) == Canonical(b->Find("t", "session:s"));
  }));
  // And a restarted replica agrees.
  b.reset();
  connection_b.reset();
  auto connection_c = ConnectGate(server);
  auto c = OpenOrDie(connection_c.get(), &clock);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Canonical(c->Find("t", "session:s")), Canonical(a->Find("t", "session:s")));
}

}  // namespace
}  // namespace jobgate::gate
