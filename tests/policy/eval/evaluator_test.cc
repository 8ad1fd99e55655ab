// Decision semantics: operators and their absent-field behaviour, strictest-wins
// precedence, constraint merging, defaults, throttle rates.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

using testing::Job;
using testing::MustCompile;
using testing::VerdictOf;

// A policy whose one rule denies when `condition` (a match body) holds; default allow.
std::shared_ptr<const Policy> DenyWhen(const std::string& condition) {
  return MustCompile("defaults: {decision: allow}\nrules:\n  - id: r\n    match: " + condition +
                     "\n    decision: deny\n");
}

bool Fires(const std::string& condition, const std::string& job) {
  auto p = DenyWhen(condition);
  if (!p) return false;
  return VerdictOf(*p, job) == v1::DENY;
}

TEST(OperatorTest, ExactValueAndList) {
  EXPECT_TRUE(Fires("{environment: prod}", "{environment: prod}"));
  EXPECT_FALSE(Fires("{environment: prod}", "{environment: staging}"));
  EXPECT_FALSE(Fires("{environment: prod}", "{}"));
  EXPECT_TRUE(Fires("{environment: [prod, staging]}", "{environment: staging}"));
  EXPECT_FALSE(Fires("{environment: [prod, staging]}", "{environment: dev}"));
}

TEST(OperatorTest, EmptyListSetsNoCondition) {
  EXPECT_TRUE(Fires("{environment: []}", "{}"));
  EXPECT_TRUE(Fires("{risk_tags: []}", "{}"));
}

TEST(OperatorTest, InAndNotIn) {
  EXPECT_TRUE(Fires("{capability: {in: [db.migrate, db.drop]}}", "{capability: db.drop}"));
  EXPECT_FALSE(Fires("{capability: {in: [db.migrate]}}", "{}"));
  EXPECT_TRUE(Fires("{capability: {not_in: [ticket.read]}}", "{capability: db.drop}"));
  EXPECT_FALSE(Fires("{capability: {not_in: [ticket.read]}}", "{capability: ticket.read}"));
  // Fail closed: an absent field is in no list, so a not_in deny still fires.
  EXPECT_TRUE(Fires("{capability: {not_in: [ticket.read]}}", "{}"));
}

TEST(OperatorTest, Glob) {
  EXPECT_TRUE(Fires("{args: {path: {glob: '**/.env'}}}", "{args: {path: app/.env}}"));
  EXPECT_FALSE(Fires("{args: {path: {glob: '**/.env'}}}", "{args: {path: app/env.txt}}"));
  EXPECT_TRUE(Fires("{args: {path: {glob: ['*.pem', '*.key']}}}", "{args: {path: id.key}}"));
  EXPECT_FALSE(Fires("{args: {path: {glob: '*'}}}", "{}"));  // absent: no match
}

TEST(OperatorTest, RegexIsAnUnanchoredSearch) {
  EXPECT_TRUE(Fires("{args: {sql: {regex: '(?i)drop\\s+table'}}}",
                    "{args: {sql: 'BEGIN; DROP  TABLE users'}}"));
  EXPECT_FALSE(Fires("{args: {sql: {regex: '^drop'}}}", "{args: {sql: 'select 1; drop x'}}"));
  EXPECT_FALSE(Fires("{args: {sql: {regex: 'drop'}}}", "{}"));
}

TEST(OperatorTest, ExistsAndAbsent) {
  EXPECT_TRUE(Fires("{labels: {approved_by: {exists: true}}}", "{labels: {approved_by: bob}}"));
  EXPECT_FALSE(Fires("{labels: {approved_by: {exists: true}}}", "{}"));
  EXPECT_TRUE(Fires("{labels: {approved_by: {absent: true}}}", "{}"));
  EXPECT_FALSE(Fires("{labels: {approved_by: {absent: true}}}", "{labels: {approved_by: bob}}"));
  EXPECT_TRUE(Fires("{labels: {approved_by: {exists: false}}}", "{}"));
  EXPECT_TRUE(Fires("{args: {env.TOKEN: {exists: true}}}", "{args: {env: {TOKEN: x}}}"));
  EXPECT_FALSE(Fires("{args: {env.TOKEN: {exists: true}}}", "{args: {env: {}}}"));
  // A JSON null counts as absent.
  EXPECT_FALSE(Fires("{args: {x: {exists: true}}}", "{args: {x: null}}"));
}

TEST(OperatorTest, NumericComparisons) {
  EXPECT_TRUE(Fires("{args: {rows: {gt: 1000}}}", "{args: {rows: 5000}}"));
  EXPECT_FALSE(Fires("{args: {rows: {gt: 1000}}}", "{args: {rows: 1000}}"));
  EXPECT_TRUE(Fires("{args: {rows: {gte: 1000}}}", "{args: {rows: 1000}}"));
  EXPECT_TRUE(Fires("{args: {rows: {lt: 0}}}", "{args: {rows: -1}}"));
  EXPECT_TRUE(Fires("{args: {rows: {lte: 0}}}", "{args: {rows: 0}}"));
  EXPECT_TRUE(Fires("{args: {rows: {gt: 1, lt: 10}}}", "{args: {rows: 5}}"));
  EXPECT_FALSE(Fires("{args: {rows: {gt: 1, lt: 10}}}", "{args: {rows: 50}}"));
  // Labels are strings; numeric operators read them as numbers when they are numbers.
  EXPECT_TRUE(Fires("{labels: {cost: {gt: 10}}}", "{labels: {cost: '12.5'}}"));
  EXPECT_FALSE(Fires("{labels: {cost: {gt: 10}}}", "{labels: {cost: lots}}"));
  EXPECT_FALSE(Fires("{args: {rows: {gt: 1}}}", "{}"));
}

TEST(OperatorTest, TypedArgsCompareByValue) {
  EXPECT_TRUE(Fires("{args: {force: true}}", "{args: {force: true}}"));
  EXPECT_FALSE(Fires("{args: {force: true}}", "{args: {force: false}}"));
  EXPECT_FALSE(Fires("{args: {force: true}}", "{args: {force: 'yes'}}"));
  EXPECT_TRUE(Fires("{args: {replicas: 3}}", "{args: {replicas: 3}}"));
  EXPECT_TRUE(Fires("{args: {replicas: {in: [1, 3]}}}", "{args: {replicas: 3.0}}"));
  EXPECT_TRUE(Fires("{args: {mode: '3'}}", "{args: {mode: '3'}}"));
}

TEST(OperatorTest, ListValuesMatchAnyElement) {
  EXPECT_TRUE(Fires("{args: {hosts: {glob: '*.internal'}}}",
                    "{args: {hosts: [api.github.com, db.internal]}}"));
  EXPECT_FALSE(Fires("{args: {hosts: {glob: '*.internal'}}}", "{args: {hosts: [a.com]}}"));
  EXPECT_TRUE(Fires("{args: {hosts: {not_in: [evil.com]}}}", "{args: {hosts: [a.com]}}"));
  EXPECT_FALSE(
      Fires("{args: {hosts: {not_in: [evil.com]}}}", "{args: {hosts: [a.com, evil.com]}}"));
}

TEST(OperatorTest, RiskTags) {
  EXPECT_TRUE(Fires("{risk_tags: [prod, write]}", "{risk_tags: [write, prod, x]}"));
  EXPECT_FALSE(Fires("{risk_tags: [prod, write]}", "{risk_tags: [prod]}"));
  EXPECT_TRUE(Fires("{risk_tags_any: [pii, secrets]}", "{risk_tags: [secrets]}"));
  EXPECT_FALSE(Fires("{risk_tags_any: [pii, secrets]}", "{}"));
  EXPECT_TRUE(Fires("{risk_tags_none: [reviewed]}", "{}"));
  EXPECT_FALSE(Fires("{risk_tags_none: [reviewed]}", "{risk_tags: [reviewed]}"));
}

TEST(OperatorTest, TopicsAndNotTopics) {
  EXPECT_TRUE(Fires("{topics: ['job.db.*']}", "{topic: job.db.drop}"));
  EXPECT_FALSE(Fires("{topics: ['job.db.*']}", "{topic: job.db.drop.all}"));
  EXPECT_FALSE(Fires("{topics: ['job.>']}", "{}"));  // no topic: matches no pattern
  EXPECT_TRUE(Fires("{not_topics: ['job.read.>']}", "{topic: job.write.x}"));
  EXPECT_FALSE(Fires("{not_topics: ['job.read.>']}", "{topic: job.read.x}"));
  EXPECT_TRUE(Fires("{not_topics: ['job.read.>']}", "{}"));  // fail closed
}

TEST(OperatorTest, TenantsDefaultToDefault) {
  EXPECT_TRUE(Fires("{tenants: [default]}", "{}"));
  EXPECT_TRUE(Fires("{tenants: [acme]}", "{tenant_id: acme}"));
  EXPECT_FALSE(Fires("{tenants: [acme]}", "{}"));
}

TEST(OperatorTest, ActorFieldsAndCapabilities) {
  EXPECT_TRUE(
      Fires("{actor: {team: payments, type: agent}}", "{actor: {team: payments, type: agent}}"));
  EXPECT_FALSE(Fires("{actor: {team: payments, type: agent}}", "{actor: {team: payments}}"));
  EXPECT_TRUE(Fires("{actor: {agent_id: {glob: 'claude-*'}}}", "{actor: {agent_id: claude-7}}"));
  EXPECT_TRUE(Fires("{capabilities: [a, b]}", "{capability: b}"));
}

TEST(OperatorTest, LabelKeysMayContainDots) {
  EXPECT_TRUE(Fires("{labels: {mcp.server: jira}}", "{labels: {mcp.server: jira}}"));
}

TEST(OperatorTest, AllConditionsMustHold) {
  EXPECT_FALSE(Fires("{environment: prod, risk_tags: [write]}", "{environment: prod}"));
  EXPECT_TRUE(
      Fires("{environment: prod, risk_tags: [write]}", "{environment: prod, risk_tags: [write]}"));
}

TEST(OperatorTest, EmptyMatchMatchesEverything) {
  EXPECT_TRUE(Fires("{}", "{}"));
  EXPECT_TRUE(Fires("", "{topic: job.x}"));
}

const char* kLayered = R"(
defaults:
  decision: deny
  reason: not covered by policy
  constraints: {max_runtime_sec: 900, network_denylist: [metadata.internal]}
rules:
  - id: allow-read
    match: {topics: ['job.>'], risk_tags: [read]}
    decision: allow
  - id: constrain
    match: {topics: ['job.agent.exec.*']}
    decision: allow_with_constraints
    constraints:
      max_runtime_sec: 60
      max_retries: 3
      network_allowlist: [api.github.com, api.slack.com]
      custom: {sandbox: gvisor}
  - id: constrain-more
    match: {environment: prod}
    decision: alert
    risk_score: 40
    constraints:
      max_retries: 1
      network_allowlist: [api.github.com, pypi.org]
      network_denylist: [pastebin.com]
      custom: {sandbox: firecracker, tier: gold}
  - id: approve-prod-write
    match: {environment: prod, risk_tags: [write]}
    decision: require_approval
    approver_role: dba
    reason: Prod writes require human approval
    risk_score: 80
  - id: zz-also-approve
    match: {risk_tags: [write], environment: prod}
    decision: require_approval
    approver_role: sre
    risk_score: 80
  - id: deny-destructive
    match: {risk_tags_any: [destructive]}
    decision: deny
    risk_score: 95
)";

// The dispatcher fills one Decision job after job: what a decision held before must not
// show in the next, whichever sub-messages either has.
TEST(FillDecisionTest, AReusedDecisionEqualsAFreshOne) {
  auto p = MustCompile(kLayered);
  const std::vector<std::string> jobs = {
      "{topic: job.agent.exec.run, environment: prod}",  // merged allowlists, custom
      "{topic: other.x}",                                // defaults only
      "{topic: job.db.migrate, environment: prod, risk_tags: [write]}",  // approval
      "{topic: job.x, risk_tags: [read]}",
      "{topic: job.agent.exec.run}",
      "{topic: job.y, risk_tags: [destructive]}",
  };
  v1::Decision reused;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      const v1::Job job = Job(jobs[i]);
      const DecisionStamp stamp{"id-" + std::to_string(i), i % 2 == 0 ? 1'700'000'000'000 : 0};
      Evaluation eval;
      p->Evaluate(job, &eval);
      p->FillDecision(job, eval, stamp, &reused);
      v1::Decision fresh;
      p->FillDecision(job, eval, stamp, &fresh);
      // (Equal as messages: maps, like `custom`, serialize in no fixed order.)
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(reused, fresh))
          << jobs[i] << "\n"
          << reused.ShortDebugString() << "\n"
          << fresh.ShortDebugString();
      EXPECT_EQ(reused.has_evaluated_at(), stamp.evaluated_at_unix_ms != 0) << jobs[i];
    }
  }
}

TEST(PrecedenceTest, NoMatchUsesDefaults) {
  auto p = MustCompile(kLayered);
  const v1::Decision d = p->Decide(Job("{topic: other.x}"));
  EXPECT_EQ(d.decision(), v1::DENY);
  EXPECT_EQ(d.matched_rule(), "");
  EXPECT_EQ(d.matched_rules_size(), 0);
  EXPECT_EQ(d.reason(), "not covered by policy");
  EXPECT_EQ(d.constraints().max_runtime_sec(), 900u);
}

TEST(PrecedenceTest, DefaultDecisionIsDeny) {
  auto p = MustCompile("rules: []\n");
  const v1::Decision d = p->Decide(Job("{topic: job.x}"));
  EXPECT_EQ(d.decision(), v1::DENY);
  EXPECT_EQ(d.reason(), "no rule matched; default decision DENY");
}

TEST(PrecedenceTest, StrictestWinsAndTiesAreDeterministic) {
  auto p = MustCompile(kLayered);
  const v1::Decision d =
      p->Decide(Job("{topic: job.agent.exec.run, environment: prod, risk_tags: [write]}"));
  EXPECT_EQ(d.decision(), v1::REQUIRE_APPROVAL);
  // Same decision and risk score: the smaller id decides.
  EXPECT_EQ(d.matched_rule(), "approve-prod-write");
  EXPECT_EQ(d.approver_role(), "dba");
  EXPECT_EQ(d.reason(), "Prod writes require human approval");
  EXPECT_EQ(d.risk_score(), 80);
  ASSERT_EQ(d.matched_rules_size(), 4);
  EXPECT_EQ(d.matched_rules(0), "approve-prod-write");
  EXPECT_EQ(d.matched_rules(1), "zz-also-approve");
  EXPECT_EQ(d.matched_rules(2), "constrain-more");
  EXPECT_EQ(d.matched_rules(3), "constrain");

  const v1::Decision deny = p->Decide(
      Job("{topic: job.agent.exec.run, environment: prod, risk_tags: [write, destructive]}"));
  EXPECT_EQ(deny.decision(), v1::DENY);
  EXPECT_EQ(deny.matched_rule(), "deny-destructive");
  EXPECT_EQ(deny.risk_score(), 95);
}

TEST(PrecedenceTest, HigherRiskScoreDecidesAmongEqualDecisions) {
  auto p = MustCompile(R"(
rules:
  - {id: a, match: {}, decision: deny, risk_score: 10, reason: low}
  - {id: b, match: {}, decision: deny, risk_score: 90, reason: high}
)");
  EXPECT_EQ(p->Decide(Job("{}")).matched_rule(), "b");
  EXPECT_EQ(p->Decide(Job("{}")).reason(), "high");
}

TEST(PrecedenceTest, FullOrder) {
  const char* order[] = {"allow",    "allow_with_constraints", "alert", "redact",
                         "throttle", "require_approval",       "deny",  "terminate"};
  for (int weaker = 0; weaker < 8; ++weaker) {
    for (int stronger = weaker + 1; stronger < 8; ++stronger) {
      std::string yaml = "rules:\n";
      for (int k : {weaker, stronger}) {
        yaml +=
            "  - id: r" + std::to_string(k) + "\n    match: {}\n    decision: " + order[k] + "\n";
        if (std::string(order[k]) == "throttle") yaml += "    rate: {limit: 1, period: 1s}\n";
      }
      auto p = MustCompile(yaml);
      ASSERT_TRUE(p);
      EXPECT_EQ(p->Decide(Job("{}")).matched_rule(), "r" + std::to_string(stronger))
          << order[weaker] << " vs " << order[stronger];
    }
  }
}

TEST(ConstraintsTest, MergeToTheTightest) {
  auto p = MustCompile(kLayered);
  const v1::Decision d = p->Decide(Job("{topic: job.agent.exec.run, environment: prod}"));
  EXPECT_EQ(d.decision(), v1::ALERT);
  const v1::Constraints& c = d.constraints();
  EXPECT_EQ(c.max_runtime_sec(), 60u);  // min(60, default 900)
  EXPECT_EQ(c.max_retries(), 1u);       // min(3, 1)
  ASSERT_TRUE(c.has_network_allowlist());
  ASSERT_EQ(c.network_allowlist().values_size(), 1);  // intersection
  EXPECT_EQ(c.network_allowlist().values(0).string_value(), "api.github.com");
  ASSERT_EQ(c.network_denylist_size(), 2);  // union
  EXPECT_FALSE(c.has_max_diff_lines());
  // custom: the stricter rule's value wins a conflict, other keys carried through.
  EXPECT_EQ(c.custom().fields().at("sandbox").string_value(), "firecracker");
  EXPECT_EQ(c.custom().fields().at("tier").string_value(), "gold");
}

TEST(ConstraintsTest, DisjointAllowlistsLeaveNothingAllowed) {
  auto p = MustCompile(R"(
rules:
  - {id: a, match: {}, decision: allow, constraints: {network_allowlist: [a.com]}}
  - {id: b, match: {}, decision: allow, constraints: {network_allowlist: [b.com]}}
)");
  const v1::Decision d = p->Decide(Job("{}"));
  ASSERT_TRUE(d.constraints().has_network_allowlist());  // present and empty: nothing allowed
  EXPECT_EQ(d.constraints().network_allowlist().values_size(), 0);
}

TEST(ConstraintsTest, RedactionLevelTakesTheStrictest) {
  auto p = MustCompile(R"(
rules:
  - {id: a, match: {}, decision: allow, constraints: {redaction_level: standard}}
  - {id: b, match: {}, decision: allow, constraints: {redaction_level: strict}}
  - {id: c, match: {}, decision: allow, constraints: {redaction_level: none}}
)");
  EXPECT_EQ(p->Decide(Job("{}")).constraints().redaction_level(), "strict");
}

TEST(ThrottleTest, RatesOfMatchedThrottleRulesAreCarried) {
  auto p = MustCompile(R"(
rules:
  - id: per-agent
    match: {topics: ['job.>']}
    decision: throttle
    rate: {limit: 10, period: 1m, key: actor.agent_id}
  - id: per-team
    match: {}
    decision: throttle
    rate: {limit: 100, period: 1h, key: actor.team}
)");
  const v1::Decision d = p->Decide(Job("{topic: job.x}"));
  EXPECT_EQ(d.decision(), v1::THROTTLE);
  ASSERT_EQ(d.throttle_size(), 2);
  EXPECT_EQ(d.throttle(0).rule(), "per-agent");
  EXPECT_EQ(d.throttle(0).limit(), 10u);
  EXPECT_EQ(d.throttle(0).period_sec(), 60u);
  EXPECT_EQ(d.throttle(1).key(), "actor.team");
  EXPECT_EQ(d.throttle(1).period_sec(), 3600u);
}

TEST(DecisionTest, StampAndSnapshotAreCarried) {
  auto p = MustCompile("snapshot: v42\nrules: [{id: a, match: {}, decision: allow}]\n");
  v1::Job job = Job("{job_id: j-1, tenant_id: acme, topic: job.x}");
  const v1::Decision d = p->Decide(job, {"dec-1", 1'790'000'000'000});
  EXPECT_EQ(d.snapshot(), "v42");
  EXPECT_EQ(d.snapshot_hash(), p->hash());
  EXPECT_EQ(d.decision_id(), "dec-1");
  EXPECT_EQ(d.job_id(), "j-1");
  EXPECT_EQ(d.tenant_id(), "acme");
  EXPECT_EQ(d.topic(), "job.x");
  EXPECT_EQ(d.evaluated_at().seconds(), 1'790'000'000);
}

TEST(DecisionTest, ApprovalTtlComesFromTheApprovalRule) {
  auto p = MustCompile(R"(
rules:
  - {id: a, match: {}, decision: require_approval, approval_ttl: 4h}
  - {id: b, match: {topics: [job.x]}, decision: allow}
)");
  EXPECT_EQ(p->Decide(Job("{topic: job.x}")).approval_ttl_sec(), 4u * 3600);
  auto no_ttl = MustCompile("rules: [{id: a, match: {}, decision: require_approval}]\n");
  EXPECT_FALSE(no_ttl->Decide(Job("{}")).has_approval_ttl_sec());
}

TEST(DecisionTest, ReasonFallsBackToDescriptionThenRuleId) {
  auto p = MustCompile(R"(
rules:
  - {id: a, description: Reads are fine, match: {topics: [job.a]}, decision: allow}
  - {id: b, match: {topics: [job.b]}, decision: allow}
)");
  EXPECT_EQ(p->Decide(Job("{topic: job.a}")).reason(), "Reads are fine");
  EXPECT_EQ(p->Decide(Job("{topic: job.b}")).reason(), "matched rule 'b'");
}

TEST(EvaluationTest, ReusedEvaluationGivesSameAnswers) {
  auto p = MustCompile(kLayered);
  Evaluation eval;
  const v1::Job a = Job("{topic: job.agent.exec.run, environment: prod, risk_tags: [write]}");
  const v1::Job b = Job("{topic: nothing}");
  p->Evaluate(a, &eval);
  EXPECT_EQ(eval.verdict, v1::REQUIRE_APPROVAL);
  p->Evaluate(b, &eval);
  EXPECT_EQ(eval.verdict, v1::DENY);
  EXPECT_EQ(eval.deciding_rule, -1);
  EXPECT_TRUE(eval.matched.empty());
  p->Evaluate(a, &eval);
  EXPECT_EQ(eval.verdict, v1::REQUIRE_APPROVAL);
}

TEST(ExplainTest, SaysWhyEachRuleDidOrDidNotMatch) {
  auto p = MustCompile(kLayered);
  const auto explanation = p->Explain(Job("{topic: job.agent.exec.run, environment: staging}"));
  ASSERT_EQ(explanation.size(), 6u);
  EXPECT_EQ(explanation[0].rule_id, "allow-read");
  EXPECT_FALSE(explanation[0].matched);
  EXPECT_EQ(explanation[0].failed_condition, "risk_tags lack one of [\"read\"]");
  EXPECT_TRUE(explanation[1].matched);
  EXPECT_EQ(explanation[2].failed_condition,
            "environment is \"staging\"; wanted {\"in\":[\"prod\"]}");
  EXPECT_EQ(explanation[5].failed_condition, "risk_tags have none of [\"destructive\"]");
}

TEST(VerdictTest, NamesRoundTrip) {
  for (int v = v1::ALLOW; v <= v1::TERMINATE; ++v) {
    v1::Verdict parsed;
    ASSERT_TRUE(ParseVerdict(VerdictName(static_cast<v1::Verdict>(v)), &parsed));
    EXPECT_EQ(parsed, v);
  }
  v1::Verdict parsed;
  EXPECT_TRUE(ParseVerdict("require-approval", &parsed));
  EXPECT_FALSE(ParseVerdict("maybe", &parsed));
  EXPECT_TRUE(IsLoosening(v1::DENY, v1::ALLOW));
  EXPECT_FALSE(IsLoosening(v1::ALLOW, v1::DENY));
}

TEST(VerdictTest, WhichVerdictsReachAWorker) {
  for (v1::Verdict v :
       {v1::ALLOW, v1::ALLOW_WITH_CONSTRAINTS, v1::ALERT, v1::REDACT, v1::THROTTLE}) {
    EXPECT_TRUE(RoutesToWorker(v)) << VerdictName(v);
  }
  for (v1::Verdict v : {v1::DENY, v1::TERMINATE, v1::REQUIRE_APPROVAL}) {
    EXPECT_FALSE(RoutesToWorker(v)) << VerdictName(v);
  }
  EXPECT_FALSE(RoutesToWorker(static_cast<v1::Verdict>(99)));  // unknown: fail closed
}

}  // namespace
}  // namespace jobgate::policy
