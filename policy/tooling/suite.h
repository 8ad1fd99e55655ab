// Policy test suites (`*_test.yaml`): cases that pin what a policy decides for given jobs.
//
//   policy: policy.yaml          # relative to the suite file
//   cases:
//     - name: prod write needs approval
//       job: {topic: job.db.migrate, environment: prod, risk_tags: [write]}
//       expect:
//         decision: require_approval
//         matched_rule: prod-writes-require-approval   # optional
//         reason: ...                                  # optional, exact
//         constraints: {max_runtime_sec: 600}          # optional, compared as a subset
//     - name: a third denial ends the session
//       session:                                      # optional: the session's history
//         terminated: false
//         events:
//           - {decision: deny, ago: 2m, targets: ["path:/repo/.env"]}
//           - {decision: deny, ago: 30s, job: {args: {command: "cat /repo/.env"}}}
//       job: {...}
//       expect: {decision: terminate}
//
// RunSuiteFile() reads the suite and its policy and evaluates every case. Pure apart
// from reading those files; thread-compatible.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace jobgate::policy {

struct CaseResult {
  std::string name;
  int line = 0;
  bool passed = false;
  std::vector<std::string> failures;  // "decision: expected DENY, got ALLOW"
  v1::Decision decision;              // what the policy decided
};

struct SuiteResult {
  std::string suite_path;
  std::string policy_path;
  std::vector<Diagnostic> errors;  // the suite or its policy could not be used
  std::vector<CaseResult> cases;
  std::shared_ptr<const Policy> policy;
  std::set<std::string> rules_matched;  // every rule in any case's matched_rules

  int passed() const;
  int failed() const;  // failing cases, plus one per error
};

SuiteResult RunSuiteFile(const std::string& suite_path);

// Runs a suite given as text against `policy` (the suite's `policy:` key, if any, is
// ignored): how publish tests a candidate. `suite_name` names it in diagnostics.
SuiteResult RunSuite(std::string_view suite_yaml, const std::string& suite_name,
                     std::shared_ptr<const Policy> policy);

// A session history written in YAML or JSON (a suite case's `session:`, the file of
// `jobgate eval --session`): `terminated` (bool, or {by, reason}), `session` (its name),
// and `events`, each with `decision`, `ago` (a duration before `now_unix_ms`; default 0),
// `rule`, and `targets` or a `job` whose targets (policy::JobTargets) they are. A
// document that is already a SessionState's JSON (its `events` carry `at`) reads as that.
Result<v1::SessionState> SessionFromYaml(std::string_view text, int64_t now_unix_ms);

// The rules of `policy` that appear in no case's matched_rules.
std::vector<std::string> UncoveredRules(const SuiteResult& result);

// JUnit XML for a set of suite results (one <testsuite> per suite).
std::string ToJUnitXml(const std::vector<SuiteResult>& results);

}  // namespace jobgate::policy
