// jobgate policy engine: parse YAML policy, compile it, evaluate jobs to decisions,
// explain them, hash the policy canonically.
//
// Contract:
//   * Compile() turns policy text into an immutable `Policy`. A bad policy yields every
//     error found, each as `FILE:LINE:COL: message`; nothing half-compiled escapes.
//   * A `Policy` is immutable after Compile() and safe to evaluate from any number of
//     threads at once. Hold it by `std::shared_ptr<const Policy>` and swap the pointer
//     atomically to change policy; in-flight evaluations keep the one they started with.
//   * Evaluate() never throws and never allows on error: anything unexpected is DENY with
//     the error as reason. It does not allocate once the caller's `Evaluation` has warmed,
//     except to analyse a job's command line, SQL or path for rules that have `command`,
//     `sql`, `path` or `egress` conditions (once per job, only when such a rule is a
//     candidate).
//   * Semantics (docs/policy.md): every matching rule is found; the strictest decision
//     wins (TERMINATE > DENY > REQUIRE_APPROVAL > THROTTLE > REDACT > ALERT >
//     ALLOW_WITH_CONSTRAINTS > ALLOW); rule order never matters. No match: defaults.
//
// This library is pure: no I/O except reading the files it is asked to read, no
// logging, no metrics, no threads of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/session.h"
#include "base/status.h"
#include "base/yaml_budget.h"

namespace jobgate::policy {

namespace v1 = ::jobgate::v1;

// One problem found in a policy (or a test suite), with its position. Lines and columns
// are 1-based.
struct Diagnostic {
  std::string file;
  int line = 0;
  int col = 0;
  std::string message;

  // "FILE:LINE:COL: message"
  std::string ToString() const;
};

// Upper-case name of a decision ("REQUIRE_APPROVAL"), as in the decision JSON.
std::string_view VerdictName(v1::Verdict verdict);
// Parses a decision case-insensitively ("allow", "Require_Approval"); false if unknown.
bool ParseVerdict(std::string_view text, v1::Verdict* out);
// True when `verdict` sends the job on to a worker (ALLOW, ALLOW_WITH_CONSTRAINTS, ALERT,
// REDACT, THROTTLE within rate); false for DENY, TERMINATE, REQUIRE_APPROVAL and unknown.
bool RoutesToWorker(v1::Verdict verdict);
// True when `to` lets through more than `from` (e.g. DENY -> ALLOW).
inline bool IsLoosening(v1::Verdict from, v1::Verdict to) { return to < from; }

class Policy;
struct CompiledRule;    // internal; see policy/compile/model.h
struct ActionAnalysis;  // internal; see policy/compile/model.h

// Owns the lazily built analysis of a job's command line, SQL and paths that `command`,
// `sql`, `path` and `egress` conditions read (internal). Copying gives an empty slot: the
// scratch is never shared between evaluations.
class AnalysisSlot {
 public:
  AnalysisSlot() = default;
  AnalysisSlot(const AnalysisSlot&) {}
  AnalysisSlot& operator=(const AnalysisSlot&) { return *this; }
  AnalysisSlot(AnalysisSlot&& other) noexcept : analysis_(other.analysis_) {
    other.analysis_ = nullptr;
  }
  AnalysisSlot& operator=(AnalysisSlot&& other) noexcept {
    std::swap(analysis_, other.analysis_);
    return *this;
  }
  ~AnalysisSlot();

  // The analysis, created on first use. Null until then.
  ActionAnalysis* get() const { return analysis_; }
  ActionAnalysis& Ensure();

 private:
  ActionAnalysis* analysis_ = nullptr;
};

// The result of Evaluate(). Reuse one per thread: it keeps its buffers between calls so
// evaluation does not allocate once warm. Fields are valid until the next Evaluate().
struct Evaluation {
  v1::Verdict verdict = v1::DENY;
  // Index of the rule that decided (matched_rule), or -1 when defaults decided or on error.
  int deciding_rule = -1;
  // Indices of every matched rule, in precedence order: strictest decision first, then
  // highest risk_score, then rule id. matched[0] == deciding_rule when any matched.
  std::vector<uint32_t> matched;
  int32_t risk_score = 0;
  // Non-empty when evaluation failed; the verdict is then DENY and this is the reason.
  std::string error;

  // Input, kept across calls: when true, a redaction marker in the job
  // ("[REDACTED:<detector>:<digest>]", policy/analysis/secrets.h) counts as a secret its detector
  // found, for `match.secrets_present`. Set it to judge scrubbed copies (the jobs of the
  // audit trail) as their raw jobs were judged; the gate judges raw jobs with it false.
  bool markers_are_secrets = false;

  // Scratch, owned here so Evaluate() can reuse capacity. Not part of the result.
  std::vector<std::string_view> topic_tokens_;
  std::vector<uint32_t> candidates_;
  AnalysisSlot analysis_;  // used only by policies with command/sql/path/egress rules
};

// Why one rule did or did not match a job, for `jobgate eval --explain`.
struct RuleExplanation {
  std::string rule_id;
  v1::Verdict decision = v1::VERDICT_UNSPECIFIED;
  bool matched = false;
  // For a rule that did not match: the first condition that failed, e.g.
  // "environment: \"staging\" is not in [\"prod\"]". Empty when matched.
  std::string failed_condition;
  int line = 0;  // where the rule is defined
};

// Information the caller stamps into a decision: the policy library does not read clocks
// or generate ids itself.
struct DecisionStamp {
  std::string decision_id;
  int64_t evaluated_at_unix_ms = 0;  // 0 leaves evaluated_at unset
};

// One example a rule carries (`examples: {match: [...], no_match: [...]}`).
struct RuleExample {
  v1::Job job;
  bool should_match = true;
  int line = 0;
  int col = 0;
};

struct CompileOptions {
  // Name used in diagnostics; usually the file path.
  std::string file_name = "<policy>";
  // When non-empty, the snapshot name decisions carry, instead of the policy's own
  // `snapshot:` key (publish names snapshots).
  std::string snapshot_name;
  // What the policy's YAML may cost to read (base/yaml_loader.h).
  YamlBudget yaml_budget;
  // The RE2 programs of all the policy's regexes and globs together, in instructions (a
  // program costs about 16 bytes an instruction, before its lazily built DFA).
  size_t max_regex_instructions = 500'000;
};

class Policy {
 public:
  ~Policy();
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  // Evaluates `job` into `out` (whose buffers are reused). Never throws.
  void Evaluate(const v1::Job& job, Evaluation* out) const noexcept;
  // The same with the job's session history, which `match.session` conditions read
  // (policy/session.h); the plain form evaluates as if the session had no history.
  void Evaluate(const v1::Job& job, const SessionContext& session,
                Evaluation* out) const noexcept;

  // Fills `decision` from an evaluation of `job`: reason, merged constraints, matched
  // rules, risk score, approver role, throttle rates, snapshot name and hash. Reuses the
  // message's storage. Never throws.
  void FillDecision(const v1::Job& job, const Evaluation& eval, const DecisionStamp& stamp,
                    v1::Decision* decision) const noexcept;

  // Applies the redaction effects of an evaluation to `job` (the copy the caller will
  // publish): fields named by the `redact.paths` of matched rules are replaced outright;
  // when the verdict is REDACT, or any matched rule decides redact, every secret the
  // detectors find (policy/analysis/secrets.h) is replaced as well. Each replacement is appended
  // to decision->redactions() as {path, detector} (detector "path" for path rules), never
  // the value. Returns the number of values replaced. Never throws.
  int Redact(const Evaluation& eval, v1::Job* job, v1::Decision* decision) const noexcept;

  // Sets decision->session to the session facts the evaluation used: the session, whether
  // it was terminated, its denials in the longest window a matched rule read, the targets
  // of this job denied before, and each matched session condition. Leaves it unset when no
  // matched rule has a session condition or there is no history. Never throws.
  void FillSessionFacts(const v1::Job& job, const Evaluation& eval, const SessionContext& session,
                        v1::Decision* decision) const noexcept;

  // Evaluate + FillDecision (+ FillSessionFacts), for callers off the hot path.
  v1::Decision Decide(const v1::Job& job, const DecisionStamp& stamp = {},
                      const SessionContext& session = {}) const;

  // Every rule with whether it matched `job` and, if not, why not. Slow path.
  std::vector<RuleExplanation> Explain(const v1::Job& job,
                                       const SessionContext& session = {}) const;

  // True when rule `index` alone matches `job` (all its conditions hold).
  bool RuleMatches(size_t index, const v1::Job& job) const;

  // Runs every rule's inline examples; one diagnostic per example that fails.
  std::vector<Diagnostic> CheckExamples() const;

  size_t rule_count() const;
  const std::string& rule_id(size_t index) const;
  v1::Verdict rule_decision(size_t index) const;
  // Index of the rule with `id`, or -1.
  int FindRule(std::string_view id) const;

  // Snapshot name from the policy's `snapshot:` key ("" when unset).
  const std::string& snapshot_name() const { return snapshot_name_; }
  // "sha256:<hex>" over the canonical form (docs/policy.md, "Snapshot hash").
  const std::string& hash() const { return hash_; }
  // The canonical form the hash is computed over (JSON, keys sorted, rules by id).
  const std::string& canonical_form() const { return canonical_; }
  const std::string& file_name() const { return file_name_; }

 private:
  friend class PolicyCompiler;
  Policy();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string snapshot_name_;
  std::string hash_;
  std::string canonical_;
  std::string file_name_;
};

// The outcome of Compile(): a policy, or every error found.
struct CompileResult {
  std::shared_ptr<const Policy> policy;  // null when errors is non-empty
  std::vector<Diagnostic> errors;

  bool ok() const { return policy != nullptr; }
  // All errors, one `FILE:LINE:COL: message` per line.
  std::string ErrorText() const;
};

// Parses and compiles policy YAML. Does not run rule examples (see CheckExamples()).
CompileResult Compile(std::string_view yaml_text, const CompileOptions& options = {});

// Reads and compiles a policy file; a read failure is reported as a diagnostic.
CompileResult CompileFile(const std::string& path);

// Builds a Job from a YAML or JSON mapping written with the contract's snake_case field
// names (test suites and rule examples use this). `where` prefixes error messages.
Result<v1::Job> JobFromYaml(std::string_view yaml_text);

// Reads a whole file. Kept here so the offline tools share one error wording.
Result<std::string> ReadFile(const std::string& path);

}  // namespace jobgate::policy
