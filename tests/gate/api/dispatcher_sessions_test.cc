// The dispatcher with a session store: TERMINATE ends the session, later jobs are
// terminated, session conditions see the history, a store that fails holds jobs back.
#include <gtest/gtest.h>

#include "gate/core/dispatcher.h"
#include "gate/api/session_service.h"
#include "gate/core/sessions.h"
#include "subjects/codec.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FakeBus;
using ::jobgate::testing::FakeClock;
using ::jobgate::testing::Settlement;

constexpr char kPolicy[] = R"(version: 1
snapshot: sessions-1
defaults: {decision: allow}
rules:
  - id: deny-secrets
    match: {path: {glob: "**/.env"}}
    decision: deny
  - id: kill-rm
    match: {topics: ["job.rm.>"]}
    decision: terminate
    reason: rm is never allowed
  - id: three-denials
    match: {session: {denied: {gte: 3, within: 10m}}}
    decision: terminate
  - id: evasion
    match: {session: {denied_target: same}}
    decision: require_approval
)";

std::string JobJson(const std::string& id, const std::string& session,
                    const std::string& args = "{}") {
  return R"({"job_id": ")" + id + R"(", "actor": {"agent_id": "a1", "session_id": ")" + session +
         R"("}, "args": )" + args + "}";
}

class DispatcherSessionsTest : public ::testing::Test {
 protected:
  DispatcherSessionsTest()
      : limiter_(&clock_),
        sessions_(&clock_),
        dispatcher_(DispatcherOptions{}, &bus_, &clock_, &policy_, &limiter_, nullptr,
                    DispatcherSeams{nullptr, nullptr, nullptr, nullptr, &sessions_, nullptr}) {
    auto compiled = policy::Compile(kPolicy);
    EXPECT_TRUE(compiled.ok()) << compiled.ErrorText();
    policy_.Set(compiled.policy);
  }

  Dispatcher::BatchStats Run() {
    auto stats = dispatcher_.RunOnce();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : Dispatcher::BatchStats{};
  }

  v1::Decision RecordOf(const std::string& job_id) {
    for (const auto& m : bus_.published()) {
      if (m.subject.rfind("audit.decisions.", 0) != 0) continue;
      v1::DecisionRecord record;
      if (record.ParseFromString(m.body) && record.decision().job_id() == job_id) {
        return record.decision();
      }
    }
    ADD_FAILURE() << "no decision record for " << job_id;
    return {};
  }

  FakeClock clock_;
  FakeBus bus_;
  ActivePolicy policy_;
  RateLimiter limiter_;
  InMemorySessionStore sessions_;
  Dispatcher dispatcher_;
};

TEST_F(DispatcherSessionsTest, TerminateEndsTheSessionForItsLaterJobs) {
  bus_.Enqueue("job.rm.rf", JobJson("kill", "s1"));
  bus_.Enqueue("job.read.file", JobJson("same-batch", "s1"));
  Run();
  bus_.Enqueue("job.read.file", JobJson("next-batch", "s1"));
  bus_.Enqueue("job.read.file", JobJson("other-session", "s2"));
  Run();
  EXPECT_EQ(RecordOf("kill").decision(), v1::TERMINATE);
  for (const char* id : {"same-batch", "next-batch"}) {
    const v1::Decision d = RecordOf(id);
    EXPECT_EQ(d.decision(), v1::TERMINATE) << id;
    EXPECT_TRUE(d.session().terminated()) << id;
    EXPECT_NE(d.reason().find("rule:kill-rm"), std::string::npos) << d.reason();
    EXPECT_NE(d.reason().find("rm is never allowed"), std::string::npos) << d.reason();
  }
  EXPECT_EQ(RecordOf("other-session").decision(), v1::ALLOW);
  EXPECT_EQ(bus_.PublishedOn("worker.").size(), 1u);  // only the other session's job
  const SessionPtr state = sessions_.Find("default", "session:s1");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->status(), v1::SessionState::TERMINATED);
  EXPECT_EQ(state->terminated_by(), "rule:kill-rm");
  EXPECT_EQ(state->terminated_snapshot(), "sessions-1");
}

TEST_F(DispatcherSessionsTest, ThreeDenialsThenTerminateAndEvasionEscalates) {
  bus_.Enqueue("job.read.file", JobJson("d1", "s", R"({"path": "/repo/.env"})"));
  Run();
  // Another route to the denied file: escalated to a human.
  bus_.Enqueue("job.shell.run", JobJson("e1", "s", R"({"command": "cp /repo/.env /tmp/x"})"));
  Run();
  EXPECT_EQ(RecordOf("e1").decision(), v1::REQUIRE_APPROVAL);
  EXPECT_EQ(RecordOf("e1").session().repeated_targets(0), "path:/repo/.env");
  bus_.Enqueue("job.read.file", JobJson("d2", "s", R"({"path": "/a/.env"})"));
  bus_.Enqueue("job.read.file", JobJson("d3", "s", R"({"path": "/b/.env"})"));
  Run();
  bus_.Enqueue("job.read.file", JobJson("harmless", "s"));
  Run();
  const v1::Decision d = RecordOf("harmless");
  EXPECT_EQ(d.decision(), v1::TERMINATE);
  EXPECT_EQ(d.matched_rule(), "three-denials");
  EXPECT_EQ(d.session().denied(), 3u);
  EXPECT_EQ(sessions_.Find("default", "session:s")->terminated_by(), "rule:three-denials");
}

TEST_F(DispatcherSessionsTest, AStoreThatCannotWriteHoldsTheJobBack) {
  sessions_.set_failure(Unavailable("store down"));
  bus_.Enqueue("job.read.file", JobJson("j", "s"));
  auto stats = dispatcher_.RunOnce();
  // Not current: nothing is fetched at all (fail closed); the job waits on the bus.
  EXPECT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(bus_.published().empty());
  sessions_.set_failure(Status::Ok());
  Run();
  EXPECT_EQ(bus_.settlement(0).kind, Settlement::Kind::kAck);
}

TEST_F(DispatcherSessionsTest, ThreeDenialsInOneBatchTerminateTheNextJobOfThatBatch) {
  // The batch's own decisions count for its later jobs, as if each had been stored.
  bus_.Enqueue("job.read.file", JobJson("d1", "s", R"({"path": "/a/.env"})"));
  bus_.Enqueue("job.read.file", JobJson("d2", "s", R"({"path": "/b/.env"})"));
  bus_.Enqueue("job.read.file", JobJson("d3", "s", R"({"path": "/c/.env"})"));
  bus_.Enqueue("job.read.file", JobJson("fourth", "s"));
  bus_.Enqueue("job.read.file", JobJson("after", "s"));
  bus_.Enqueue("job.read.file", JobJson("other", "t"));
  Run();
  EXPECT_EQ(RecordOf("fourth").decision(), v1::TERMINATE);
  EXPECT_EQ(RecordOf("fourth").matched_rule(), "three-denials");
  EXPECT_EQ(RecordOf("after").decision(), v1::TERMINATE);
  EXPECT_TRUE(RecordOf("after").session().terminated());
  EXPECT_EQ(RecordOf("other").decision(), v1::ALLOW);
  const SessionPtr state = sessions_.Find("default", "session:s");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->status(), v1::SessionState::TERMINATED);
  EXPECT_EQ(state->terminated_job_id(), "fourth");
  EXPECT_EQ(state->events_size(), 4);  // three denials and the termination
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(bus_.settlement(i).kind, Settlement::Kind::kAck) << i;
}

TEST_F(DispatcherSessionsTest, AFailedSessionWriteHoldsBackOnlyThatSessionsRecordedJobs) {
  sessions_.set_write_failure(Unavailable("write refused"));
  const size_t denied = bus_.Enqueue("job.read.file", JobJson("d", "s", R"({"path": "/x/.env"})"));
  const size_t other = bus_.Enqueue("job.read.file", JobJson("o", "t"));
  const size_t terminated = bus_.Enqueue("job.rm.rf", JobJson("k", "u"));
  Run();
  // Nothing of the unrecorded jobs is published: not their records, not their denials.
  EXPECT_EQ(bus_.settlement(denied).kind, Settlement::Kind::kNak);
  EXPECT_EQ(bus_.settlement(terminated).kind, Settlement::Kind::kNak);
  EXPECT_EQ(bus_.settlement(other).kind, Settlement::Kind::kAck);
  EXPECT_TRUE(bus_.PublishedOn("audit.denied.").empty());
  ASSERT_EQ(bus_.PublishedOn("worker.").size(), 1u);
  EXPECT_EQ(RecordOf("o").decision(), v1::ALLOW);
  for (const auto& m : bus_.published()) {
    v1::DecisionRecord record;
    if (m.subject.rfind("audit.decisions.", 0) == 0 && record.ParseFromString(m.body)) {
      EXPECT_EQ(record.decision().job_id(), "o") << "a record of an unrecorded job";
    }
  }
  // Redelivered once the store takes writes: recorded, routed, the session terminated.
  sessions_.set_write_failure(Status::Ok());
  const size_t denied_again =
      bus_.Enqueue("job.read.file", JobJson("d", "s", R"({"path": "/x/.env"})"));
  const size_t terminated_again = bus_.Enqueue("job.rm.rf", JobJson("k", "u"));
  Run();
  EXPECT_EQ(bus_.settlement(denied_again).kind, Settlement::Kind::kAck);
  EXPECT_EQ(bus_.settlement(terminated_again).kind, Settlement::Kind::kAck);
  EXPECT_EQ(sessions_.Find("default", "session:s")->events_size(), 1);
  EXPECT_EQ(sessions_.Find("default", "session:u")->status(), v1::SessionState::TERMINATED);
}

TEST_F(DispatcherSessionsTest, RedeliveryRecordsADenialOnce) {
  bus_.fail_publish = [](const std::string& subject) {
    return subject.rfind("audit.denied.", 0) == 0;
  };
  bus_.Enqueue("job.read.file", JobJson("d", "s", R"({"path": "/x/.env"})"));
  Run();
  EXPECT_EQ(bus_.settlement(0).kind, Settlement::Kind::kNak);
  bus_.fail_publish = nullptr;
  bus_.Enqueue("job.read.file", JobJson("d", "s", R"({"path": "/x/.env"})"));
  Run();
  EXPECT_EQ(sessions_.Find("default", "session:s")->events_size(), 1);
}

TEST_F(DispatcherSessionsTest, AnOperatorTerminatesAndRestores) {
  SessionService service(&sessions_, nullptr, &clock_);
  v1::SessionRequest request;
  request.set_session("s9");
  request.set_reason("runaway agent");
  auto terminated = service.Terminate(request, Caller{"alice"});
  ASSERT_TRUE(terminated.ok()) << terminated.status().ToString();
  EXPECT_EQ(terminated->terminated_by(), "operator:alice");
  EXPECT_EQ(service.Terminate(request, Caller{"alice"}).status().code(), StatusCode::kConflict);
  bus_.Enqueue("job.read.file", JobJson("j1", "s9"));
  Run();
  EXPECT_EQ(RecordOf("j1").decision(), v1::TERMINATE);
  ASSERT_TRUE(service.Restore(request, Caller{"bob"}).ok());
  bus_.Enqueue("job.read.file", JobJson("j2", "s9"));
  Run();
  EXPECT_EQ(RecordOf("j2").decision(), v1::ALLOW);
  auto list = service.List({});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->active(), 1);
  EXPECT_EQ(list->sessions(0).events_size(), 0);  // lists omit events
  v1::SessionRequest unknown;
  unknown.set_session("agent:nobody");
  EXPECT_EQ(service.Show(unknown).status().code(), StatusCode::kNotFound);
  unknown.set_session("");
  EXPECT_EQ(service.Show(unknown).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jobgate::gate
