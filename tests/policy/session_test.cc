// Session conditions (`match.session`), the session state transitions, targets, and the
// session history the offline tools read.
#include "policy/session.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <random>

#include "policy/tooling/simulate.h"
#include "policy/tooling/suite.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

using google::protobuf::util::TimeUtil;
using testing::CompileErrors;
using testing::Job;
using testing::MustCompile;

constexpr int64_t kNow = 1'800'000'000'000;

const char* const kSessionPolicy = R"(
version: 1
defaults: {decision: allow}
rules:
  - id: deny-env
    match: {path: {glob: "**/.env"}}
    decision: deny
  - id: deny-env-command
    match: {effects: {reads: {glob: "**/.env", program: [cat]}}}
    decision: deny
  - id: three-denials-terminate
    match: {session: {denied: {gte: 3, within: 10m}}}
    decision: terminate
  - id: two-denials-alert
    match: {session: {denied: {gte: 2, within: 10m}}}
    decision: alert
  - id: evasion-escalates
    match: {session: {denied_target: same}}
    decision: require_approval
)";

v1::SessionEvent Event(v1::Verdict verdict, int64_t ago_ms, std::vector<std::string> targets = {},
                       std::string job_id = "") {
  v1::SessionEvent e;
  e.set_decision(verdict);
  *e.mutable_at() = TimeUtil::MillisecondsToTimestamp(kNow - ago_ms);
  for (auto& t : targets) e.add_targets(t);
  e.set_job_id(job_id);
  return e;
}

v1::Verdict Judge(const Policy& p, const v1::Job& job, const v1::SessionState* state) {
  Evaluation eval;
  p.Evaluate(job, SessionContext{state, kNow}, &eval);
  return eval.verdict;
}

TEST(SessionOfTest, SessionIdThenAgentIdThenNone) {
  EXPECT_EQ(SessionOf(Job("{actor: {session_id: s1, agent_id: a1}}")), "session:s1");
  EXPECT_EQ(SessionOf(Job("{actor: {agent_id: a1}}")), "agent:a1");
  EXPECT_EQ(SessionOf(Job("{topic: job.x}")), "");
}

TEST(JobTargetsTest, PathsHostsAndProgramsOfTheAction) {
  const auto targets = JobTargets(Job(R"({args: {command: "cat .env && curl https://evil.example/x",
                                                  cwd: /repo}})"));
  EXPECT_NE(std::find(targets.begin(), targets.end(), "path:/repo/.env"), targets.end());
  EXPECT_NE(std::find(targets.begin(), targets.end(), "host:evil.example"), targets.end());
  EXPECT_NE(std::find(targets.begin(), targets.end(), "program:cat"), targets.end());
  // A relative args.path is made absolute against args.cwd, so routes meet.
  const auto by_path = JobTargets(Job("{args: {path: .env, cwd: /repo}}"));
  EXPECT_EQ(by_path, std::vector<std::string>{"path:/repo/.env"});
}

TEST(SessionConditionTest, NoHistoryMeansNoDenials) {
  auto p = MustCompile(kSessionPolicy);
  EXPECT_EQ(Judge(*p, Job("{topic: job.x, actor: {session_id: s}}"), nullptr), v1::ALLOW);
}

TEST(SessionConditionTest, CountsDenialsWithinTheWindowOnly) {
  auto p = MustCompile(kSessionPolicy);
  v1::SessionState state;
  *state.add_events() = Event(v1::DENY, 60'000);
  *state.add_events() = Event(v1::DENY, 20 * 60'000);  // outside the 10m window
  const v1::Job job = Job("{topic: job.x, actor: {session_id: s}}");
  EXPECT_EQ(Judge(*p, job, &state), v1::ALLOW);
  *state.add_events() = Event(v1::TERMINATE, 1'000);  // terminations count as denials
  EXPECT_EQ(Judge(*p, job, &state), v1::ALERT);
  *state.add_events() = Event(v1::DENY, 0);
  EXPECT_EQ(Judge(*p, job, &state), v1::TERMINATE);
  // Other notable decisions are not denials.
  v1::SessionState held;
  for (int i = 0; i < 5; ++i) *held.add_events() = Event(v1::REQUIRE_APPROVAL, 1000);
  EXPECT_EQ(Judge(*p, job, &held), v1::ALLOW);
}

TEST(SessionConditionTest, ADeniedTargetReachedByAnotherRouteEscalates) {
  auto p = MustCompile(kSessionPolicy);
  v1::SessionState state;
  // The session was denied `cat /repo/.env`...
  const v1::Job denied = Job(R"({args: {command: "cat .env", cwd: /repo}})");
  ASSERT_EQ(Judge(*p, denied, &state), v1::DENY);
  *state.add_events() = Event(v1::DENY, 5'000, JobTargets(denied));
  // ...and now asks a tool to read the same file by another route.
  const v1::Job other_route = Job(R"({args: {command: "python3 -c 'print(1)' ; head -c 100 /repo/./.env"}})");
  EXPECT_EQ(Judge(*p, other_route, &state), v1::REQUIRE_APPROVAL);
  const v1::Job copy = Job(R"({args: {command: "cp /repo/.env /tmp/x"}})");
  EXPECT_EQ(Judge(*p, copy, &state), v1::REQUIRE_APPROVAL);
  // An unrelated file is not the same target; the shared program (`cat`) is not either,
  // unless the condition names programs.
  EXPECT_EQ(Judge(*p, Job(R"({args: {command: "cat README.md", cwd: /repo}})"), &state),
            v1::ALLOW);
}

TEST(SessionConditionTest, DeniedTargetCanNamePrograms) {
  auto p = MustCompile(R"(
version: 1
defaults: {decision: allow}
rules:
  - id: same-program
    match: {session: {denied_target: {same: [program], within: 5m}}}
    decision: deny
)");
  v1::SessionState state;
  *state.add_events() = Event(v1::DENY, 60'000, {"program:terraform"});
  EXPECT_EQ(Judge(*p, Job(R"({args: {command: "terraform destroy -auto-approve"}})"), &state),
            v1::DENY);
  state.mutable_events(0)->mutable_at()->set_seconds((kNow - 10 * 60'000) / 1000);
  EXPECT_EQ(Judge(*p, Job(R"({args: {command: "terraform destroy -auto-approve"}})"), &state),
            v1::ALLOW);
}

TEST(SessionConditionTest, BadConditionsAreRefusedWithTheirPlace) {
  EXPECT_NE(CompileErrors(R"(
version: 1
rules:
  - id: r
    match: {session: {denide: 3}}
    decision: deny
)").find("test.yaml:5:"),
            std::string::npos);
  EXPECT_NE(CompileErrors(R"(
version: 1
rules:
  - id: r
    match: {session: {denied: {within: 10m}}}
    decision: deny
)").find("needs a count"),
            std::string::npos);
  EXPECT_NE(CompileErrors(R"(
version: 1
rules:
  - id: r
    match: {session: {denied_target: {same: [file]}}}
    decision: deny
)").find("unknown target kind 'file'"),
            std::string::npos);
  EXPECT_NE(CompileErrors(R"(
version: 1
rules:
  - id: r
    match: {session: {denied: {gte: 1, within: 0}}}
    decision: deny
)").find("positive duration"),
            std::string::npos);
}

TEST(SessionConditionTest, ExplainNamesTheSessionCondition) {
  auto p = MustCompile(kSessionPolicy);
  for (const auto& e : p->Explain(Job("{topic: job.x}"))) {
    if (e.rule_id == "three-denials-terminate") {
      EXPECT_NE(e.failed_condition.find("session: no session history"), std::string::npos)
          << e.failed_condition;
    }
  }
}

TEST(SessionFactsTest, TheDecisionCarriesWhatItUsed) {
  auto p = MustCompile(kSessionPolicy);
  v1::SessionState state;
  state.set_session("session:s");
  *state.add_events() = Event(v1::DENY, 1000, {"path:/repo/.env"});
  *state.add_events() = Event(v1::DENY, 2000);
  const v1::Decision d =
      p->Decide(Job(R"({args: {command: "cp /repo/.env /tmp/x"}, actor: {session_id: s}})"), {},
                SessionContext{&state, kNow});
  EXPECT_EQ(d.decision(), v1::REQUIRE_APPROVAL);
  ASSERT_TRUE(d.has_session());
  EXPECT_EQ(d.session().session(), "session:s");
  EXPECT_EQ(d.session().denied(), 2u);
  EXPECT_EQ(d.session().window_sec(), 600u);
  ASSERT_EQ(d.session().repeated_targets_size(), 1);
  EXPECT_EQ(d.session().repeated_targets(0), "path:/repo/.env");
  EXPECT_EQ(d.session().conditions_size(), 2);  // alert and evasion rules matched
}

TEST(SessionStateTest, RecordsNotableDecisionsOnceAndTerminates) {
  SessionRecording options;
  v1::SessionState state;
  state.set_status(v1::SessionState::ACTIVE);
  const v1::Job job = Job("{job_id: j1, actor: {agent_id: a, session_id: s}}");
  v1::Decision allow;
  allow.set_decision(v1::ALLOW);
  EXPECT_FALSE(RecordDecision(job, allow, {}, kNow, options, &state));
  v1::Decision deny;
  deny.set_decision(v1::DENY);
  deny.set_matched_rule("r");
  EXPECT_TRUE(RecordDecision(job, deny, {"path:/x"}, kNow, options, &state));
  EXPECT_FALSE(RecordDecision(job, deny, {"path:/x"}, kNow, options, &state));  // redelivery
  EXPECT_EQ(state.events_size(), 1);
  EXPECT_EQ(state.agent_id(), "a");
  v1::Decision terminate;
  terminate.set_decision(v1::TERMINATE);
  terminate.set_matched_rule("t");
  terminate.set_reason("too many denials");
  terminate.set_snapshot("v3");
  const v1::Job job2 = Job("{job_id: j2, actor: {session_id: s}}");
  EXPECT_TRUE(RecordDecision(job2, terminate, {}, kNow + 1, options, &state));
  EXPECT_EQ(state.status(), v1::SessionState::TERMINATED);
  EXPECT_EQ(state.terminated_by(), "rule:t");
  EXPECT_EQ(state.terminated_snapshot(), "v3");
  EXPECT_EQ(state.terminated_job_id(), "j2");
  EXPECT_EQ(state.decisions().at("DENY"), 1);
  // Later jobs of a terminated session only refresh last_seen, and rarely.
  const v1::Job job3 = Job("{job_id: j3, actor: {session_id: s}}");
  EXPECT_FALSE(RecordDecision(job3, terminate, {}, kNow + 2, options, &state));
  EXPECT_TRUE(RecordDecision(job3, terminate, {}, kNow + options.touch_ms + 10, options, &state));
  EXPECT_EQ(state.events_size(), 2);

  v1::Decision later;
  later.set_decision(v1::ALLOW);
  DecideTerminated(state, &later);
  EXPECT_EQ(later.decision(), v1::TERMINATE);
  EXPECT_NE(later.reason().find("terminated by rule:t"), std::string::npos) << later.reason();
  EXPECT_NE(later.reason().find("too many denials"), std::string::npos);
  EXPECT_TRUE(later.session().terminated());
}

TEST(SessionStateTest, EventsAreBoundedByAgeAndCount) {
  SessionRecording options;
  options.keep_ms = 60'000;
  options.max_events = 3;
  v1::SessionState state;
  state.set_status(v1::SessionState::ACTIVE);
  v1::Decision deny;
  deny.set_decision(v1::DENY);
  for (int i = 0; i < 10; ++i) {
    const v1::Job job = Job("{job_id: j" + std::to_string(i) + "}");
    RecordDecision(job, deny, {}, kNow + i, options, &state);
  }
  ASSERT_EQ(state.events_size(), 3);
  EXPECT_EQ(state.events(0).job_id(), "j7");
  RecordDecision(Job("{job_id: late}"), deny, {}, kNow + 120'000, options, &state);
  ASSERT_EQ(state.events_size(), 1);  // the others aged out
  EXPECT_EQ(state.decisions().at("DENY"), 11);
}

TEST(SessionStateTest, OperatorTerminatesAndRestores) {
  v1::SessionState state;
  state.set_status(v1::SessionState::ACTIVE);
  *state.add_events() = Event(v1::DENY, 0);
  EXPECT_TRUE(TerminateByOperator("alice", "runaway", kNow, &state));
  EXPECT_FALSE(TerminateByOperator("alice", "again", kNow, &state));
  EXPECT_EQ(state.terminated_by(), "operator:alice");
  EXPECT_TRUE(RestoreByOperator("bob", "fixed", kNow, &state));
  EXPECT_FALSE(RestoreByOperator("bob", "again", kNow, &state));
  EXPECT_EQ(state.status(), v1::SessionState::ACTIVE);
  EXPECT_EQ(state.events_size(), 0);  // windows start afresh
  EXPECT_EQ(state.restored_by(), "bob");
}

v1::SessionState Fresh(int64_t at) {
  v1::SessionState state;
  state.set_status(v1::SessionState::ACTIVE);
  *state.mutable_first_seen() = TimeUtil::MillisecondsToTimestamp(at);
  *state.mutable_last_seen() = state.first_seen();
  return state;
}

TEST(SessionChangeTest, ADecisionChangeCarriesWhatTheFoldNeeds) {
  const v1::Job job = Job("{job_id: j1, actor: {agent_id: a, session_id: s}}");
  v1::Decision deny;
  deny.set_decision(v1::DENY);
  deny.set_matched_rule("r");
  deny.set_reason("no");
  deny.set_snapshot("v1");
  const v1::SessionChange change =
      DecisionChange("t", "session:s", job, deny, {"path:/x"}, nullptr, kNow);
  EXPECT_EQ(change.tenant_id(), "t");
  EXPECT_EQ(change.at_unix_ms(), kNow);
  EXPECT_EQ(change.decision().job_id(), "j1");
  EXPECT_EQ(change.decision().agent_id(), "a");
  EXPECT_EQ(change.decision().rule(), "r");
  EXPECT_FALSE(change.decision().has_termination());
  // Folding it is recording the decision, at the change's own time.
  v1::SessionState folded = Fresh(kNow);
  v1::SessionState recorded = Fresh(kNow);
  EXPECT_TRUE(ApplySessionChange(change, {}, false, &folded));
  EXPECT_TRUE(RecordDecision(job, deny, {"path:/x"}, kNow, {}, &recorded));
  EXPECT_EQ(folded.DebugString(), recorded.DebugString());
  EXPECT_FALSE(ApplySessionChange(change, {}, true, &folded));  // folded twice: once
}

TEST(SessionChangeTest, AJobJudgedUnderATerminationTerminatesAnUnknownSessionOnly) {
  v1::SessionState terminated = Fresh(kNow);
  ASSERT_TRUE(TerminateByOperator("alice", "runaway", kNow, &terminated));
  const v1::Job job = Job("{job_id: j9, actor: {session_id: s}}");
  v1::Decision decided;
  DecideTerminated(terminated, &decided);
  const v1::SessionChange change =
      DecisionChange("t", "session:s", job, decided, {}, &terminated, kNow + 5000);
  ASSERT_TRUE(change.decision().has_termination());
  EXPECT_EQ(change.decision().termination().by(), "operator:alice");

  // A replica whose log no longer holds the termination (retention) still ends it.
  v1::SessionState unknown = Fresh(kNow + 5000);
  EXPECT_TRUE(ApplySessionChange(change, {}, false, &unknown));
  EXPECT_EQ(unknown.status(), v1::SessionState::TERMINATED);
  EXPECT_EQ(unknown.terminated_by(), "operator:alice");
  EXPECT_EQ(unknown.terminated_reason(), "runaway");
  EXPECT_EQ(unknown.terminated_at(), terminated.terminated_at());

  // A session restored before this change folds stays restored: the restore came first.
  v1::SessionState restored = terminated;
  ASSERT_TRUE(RestoreByOperator("bob", "fixed", kNow + 1000, &restored));
  ApplySessionChange(change, {}, true, &restored);
  EXPECT_EQ(restored.status(), v1::SessionState::ACTIVE);
}

TEST(SessionChangeTest, OperatorChangesFoldAsTheirActions) {
  v1::SessionChange terminate;
  terminate.set_tenant_id("t");
  terminate.set_session("session:s");
  terminate.set_at_unix_ms(kNow);
  terminate.mutable_terminate()->set_operator_name("alice");
  terminate.mutable_terminate()->set_reason("runaway");
  v1::SessionChange restore = terminate;
  restore.set_at_unix_ms(kNow + 1);
  restore.mutable_restore()->set_operator_name("bob");
  v1::SessionState state = Fresh(kNow);
  EXPECT_TRUE(ApplySessionChange(terminate, {}, true, &state));
  EXPECT_FALSE(ApplySessionChange(terminate, {}, true, &state));
  EXPECT_EQ(state.terminated_by(), "operator:alice");
  EXPECT_TRUE(ApplySessionChange(restore, {}, true, &state));
  EXPECT_EQ(state.restored_by(), "bob");
  EXPECT_EQ(state.restored_at(), TimeUtil::MillisecondsToTimestamp(kNow + 1));
  EXPECT_FALSE(ApplySessionChange(v1::SessionChange(), {}, true, &state));  // empty
}

// Folding a random log gives the same state whatever replica folds it, and a log folded
// in two parts (a replica that stopped and went on) the same as in one.
TEST(SessionChangeTest, FoldIsAFunctionOfTheLog) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<v1::SessionChange> log;
    int64_t at = kNow;
    for (int i = 0; i < 40; ++i) {
      at += random() % 120'000;
      v1::SessionChange change;
      change.set_tenant_id("t");
      change.set_session("session:s");
      change.set_at_unix_ms(at);
      switch (random() % 5) {
        case 0:
          change.mutable_terminate()->set_operator_name("op");
          break;
        case 1:
          change.mutable_restore()->set_operator_name("op");
          break;
        default: {
          v1::SessionDecision* d = change.mutable_decision();
          d->set_job_id("j" + std::to_string(random() % 30));
          d->set_decision(random() % 2 ? v1::DENY : v1::TERMINATE);
          d->set_rule("r");
          break;
        }
      }
      log.push_back(change);
    }
    SessionRecording options;
    options.max_events = 8;
    options.keep_ms = 600'000;
    auto fold = [&](size_t from, size_t to, v1::SessionState* state, bool* known) {
      for (size_t i = from; i < to; ++i) {
        if (!*known) *state = Fresh(log[i].at_unix_ms());
        if (ApplySessionChange(log[i], options, *known, state)) *known = true;
      }
    };
    v1::SessionState whole;
    bool whole_known = false;
    fold(0, log.size(), &whole, &whole_known);
    v1::SessionState parts;
    bool parts_known = false;
    const size_t cut = random() % log.size();
    fold(0, cut, &parts, &parts_known);
    v1::SessionState copy = parts;  // handed to another replica mid-way
    fold(cut, log.size(), &copy, &parts_known);
    ASSERT_EQ(copy.DebugString(), whole.DebugString()) << "trial " << trial << " cut " << cut;
  }
}

TEST(SessionFromYamlTest, ReadsEventsWithAgesTargetsAndJobs) {
  auto state = SessionFromYaml(R"(
terminated: false
events:
  - {decision: deny, ago: 2m, targets: ["path:/repo/.env"]}
  - {decision: deny, ago: 5m, job: {args: {command: "curl https://x.example"}}}
)",
                               kNow);
  ASSERT_TRUE(state.ok()) << state.status().message();
  ASSERT_EQ(state->events_size(), 2);
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(state->events(0).at()), kNow - 5 * 60'000);
  EXPECT_NE(std::find(state->events(0).targets().begin(), state->events(0).targets().end(),
                      "host:x.example"),
            state->events(0).targets().end());
  EXPECT_FALSE(SessionFromYaml("{events: [{decision: nope}]}", kNow).ok());
  EXPECT_FALSE(SessionFromYaml("{evnts: []}", kNow).ok());
  auto terminated = SessionFromYaml("{terminated: {by: 'operator:x', reason: r}}", kNow);
  ASSERT_TRUE(terminated.ok());
  EXPECT_EQ(terminated->status(), v1::SessionState::TERMINATED);
}

TEST(SuiteSessionTest, CasesCarryASessionHistory) {
  auto p = MustCompile(kSessionPolicy);
  const SuiteResult r = RunSuite(R"(
cases:
  - name: a third denial terminates
    session:
      events:
        - {decision: deny, ago: 1m}
        - {decision: deny, ago: 2m}
        - {decision: deny, ago: 3m}
    job: {job_id: j, args: {path: /repo/.env}, actor: {session_id: s}}
    expect: {decision: terminate, matched_rule: three-denials-terminate}
  - name: a terminated session's later job
    session: {terminated: true}
    job: {job_id: k, topic: job.read}
    expect: {decision: terminate}
)",
                                 "s_test.yaml", p);
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].ToString());
  ASSERT_EQ(r.cases.size(), 2u);
  for (const auto& c : r.cases) {
    EXPECT_TRUE(c.failures.empty()) << c.name << ": " << c.failures[0];
  }
}

TEST(SimulateSessionTest, ReplaysSessionsAsTheGateWould) {
  auto p = MustCompile(kSessionPolicy);
  Simulator sim(p.get(), nullptr);
  // One session denied three times, then asks for something harmless, twice.
  for (int i = 0; i < 3; ++i) {
    sim.Add(Job("{job_id: d" + std::to_string(i) + ", args: {path: /r/.env}, actor: {session_id: s}}"));
  }
  sim.Add(Job("{job_id: after, topic: job.read, actor: {session_id: s}}"));
  sim.Add(Job("{job_id: after2, topic: job.read, actor: {session_id: s}}"));
  // Another session is untouched.
  sim.Add(Job("{job_id: other, topic: job.read, actor: {session_id: t}}"));
  const SimulationReport& r = sim.report();
  EXPECT_EQ(r.mix.at(v1::DENY), 3);
  // The fourth job matches three denials and ends the session; the fifth is terminated.
  EXPECT_EQ(r.mix.at(v1::TERMINATE), 2);
  EXPECT_EQ(r.mix.at(v1::ALLOW), 1);
}

}  // namespace
}  // namespace jobgate::policy
