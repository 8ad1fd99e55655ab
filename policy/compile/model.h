// Internal: the compiled form of a policy. Built once by the compiler, then read-only;
// shared by every thread evaluating the policy. Not part of the public API.
#pragma once

#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/analysis/command.h"
#include "policy/analysis/command_effects.h"
#include "base/json.h"
#include "policy/policy.h"
#include "policy/session.h"
#include "policy/analysis/sql.h"
#include "policy/compile/subject_pattern.h"

namespace jobgate::policy {

// Job fields a condition can read. The first kNumIndexedFields are single strings that
// rules can be indexed on by equality.
enum class FieldKind : uint8_t {
  kTenant = 0,
  kEnvironment,
  kCapability,
  kActorAgentId,
  kActorSessionId,
  kActorOwner,
  kActorTeam,
  kActorType,
  kTopic,
  kJobId,
  kLabel,  // labels[key]
  kArg,    // args.<path>
};
inline constexpr size_t kNumIndexedFields = 8;

struct FieldRef {
  FieldKind kind = FieldKind::kEnvironment;
  std::string label_key;              // kLabel
  std::vector<std::string> arg_path;  // kArg
  std::string display;                // "environment", "labels.mcp.server", "args.env.TOKEN"
};

// A value written in policy YAML. Plain YAML scalars that read as numbers or booleans
// compare as such against typed job values; every literal also compares as text.
struct Literal {
  std::string text;
  std::optional<double> number;
  std::optional<bool> boolean;
  JsonValue ToJson() const;
};

// One field's test: every operator present must hold. Absent-field behaviour is
// documented in docs/policy.md and implemented in evaluator.cc.
struct ValueMatcher {
  std::vector<Literal> in;  // equality, any of; `field: x`, `field: [x, y]`, `in: [...]`
  bool has_in = false;
  std::vector<Literal> not_in;
  bool has_not_in = false;
  std::unique_ptr<RE2> glob;   // any of the globs, one RE2
  std::unique_ptr<RE2> regex;  // any of the regexes (unanchored search), one RE2
  std::optional<bool> exists;  // `exists: true` / `absent: true` (as exists=false)
  std::optional<double> gt, gte, lt, lte;
  JsonValue canonical;
  // True when the matcher is only an equality list: the rule can be indexed on it.
  bool IsPureEquality() const {
    return has_in && !has_not_in && !glob && !regex && !exists && !gt && !gte && !lt && !lte;
  }
};

struct FieldCondition {
  FieldRef field;
  ValueMatcher matcher;
  int line = 0;
};

// `match.command` (docs/policy.md): holds when any simple command of the job's command
// line satisfies every sub-condition set here. `opaque: true` also requires a line that
// cannot be fully analysed (alone: holds for every opaque line); `opaque: false` requires
// one that can.
// Lists are sorted and de-duplicated; empty means no condition.
struct CommandCondition {
  std::vector<std::string> programs;      // any of
  std::vector<std::string> not_programs;  // none of
  std::vector<std::string> subcommands;   // any of
  std::vector<std::string> flags_all;     // all present (normalized)
  std::vector<std::string> flags_any;     // at least one present
  std::vector<std::string> flags_none;    // none present
  std::unique_ptr<RE2> args_glob;         // any argument matches, as written or path-normalized
  std::optional<bool> opaque;
  JsonValue canonical;
};

// `match.sql`: holds when any SQL statement of the job (args.sql, and SQL given to
// psql/mysql/sqlite3 in args.command) has one of `kinds` and, if set, one of `objects`.
struct SqlCondition {
  std::vector<SqlKind> kinds;
  std::vector<std::string> objects;
  JsonValue canonical;
};

// `match.egress`: holds when the job reaches a network host (args.url, args.host, the
// network commands of args.command) that matches `hosts` (when set) and matches none of
// `hosts_not_in` (when set).
struct EgressCondition {
  std::unique_ptr<RE2> hosts;
  std::unique_ptr<RE2> hosts_not_in;
  JsonValue canonical;
};

// `match.secrets_present`: `true` holds when any detector finds a secret in the job,
// `false` when none does, a list when one of those detectors does (policy/analysis/secrets.h).
struct SecretsCondition {
  bool want_present = true;
  std::vector<std::string> detectors;  // empty: any detector
  JsonValue canonical;
};

// `match.effects` (docs/policy.md): conditions on what the command line does
// (policy/analysis/command_effects.h). Every kind set must hold; a kind holds when one effect of
// that kind satisfies all of its sub-conditions.
struct PathEffectCondition {
  std::optional<bool> recursive;
  uint32_t places = 0;  // bit (1 << PathPlace): any of; 0 = any place
  std::unique_ptr<RE2> glob;  // on the normalized path
  std::vector<std::string> programs;      // any of (sorted)
  std::vector<std::string> not_programs;  // none of (sorted)
};

struct EffectsCondition {
  std::optional<PathEffectCondition> reads, writes, deletes;
  bool has_sends = false;
  std::unique_ptr<RE2> sends_hosts, sends_hosts_not_in;
  std::optional<bool> sends_data;
  std::optional<bool> executes_inline_code;  // true: any inline code; false: none
  uint32_t code_classes = 0;                 // `inline_code: {class: [...]}`; 0 = unset
  bool has_deletes_resources = false;
  std::vector<std::string> resource_programs, resource_not_programs;
  JsonValue canonical;
};

// `match.session` (docs/policy.md, "Sessions"): conditions on the job's session history
// (policy/session.h). Every condition set must hold.
struct SessionCount {
  // Decisions counted: DENY and TERMINATE (`denied`), REQUIRE_APPROVAL (`held`), ALERT
  // (`alerted`).
  std::vector<v1::Verdict> verdicts;
  std::optional<double> gt, gte, lt, lte;
  int64_t within_ms = 0;  // 0: every event the session keeps
};

// The target kinds `denied_target` can name, in bit order.
inline constexpr std::array<std::string_view, 3> kTargetKinds = {"path", "host", "program"};
inline constexpr std::array<std::string_view, 3> kTargetPrefixes = {kPathTarget, kHostTarget,
                                                                    kProgramTarget};

struct SessionCondition {
  std::vector<SessionCount> counts;
  // `denied_target`: the job touches a target (of the kinds in target_kinds, bits of
  // 1 << index in kTargetKinds) that a denied job of the session touched within
  // target_within_ms (0: every event kept).
  bool denied_target = false;
  uint32_t target_kinds = 0;
  int64_t target_within_ms = 0;
  JsonValue canonical;
};

struct ActionConditions {
  std::optional<ValueMatcher> path;  // on the normalized args.path
  std::optional<CommandCondition> command;
  std::optional<SqlCondition> sql;
  std::optional<EgressCondition> egress;
  std::optional<SecretsCondition> secrets;
  std::optional<EffectsCondition> effects;
  std::optional<SessionCondition> session;
};

// What the command, sql, path and egress conditions read from one job, computed on first
// use and at most once per job per evaluation. Lives in the caller's Evaluation.
struct ActionAnalysis {
  void Reset() {
    command_done = sql_done = path_done = hosts_done = secrets_done = normalized_for_current_ =
        effects_done = targets_done = false;
  }
  // Each accessor computes its part on first call for the current job.
  const CommandAnalysis& Command(const v1::Job& job);
  // normalized_args[i][k]: NormalizePath(Command().commands[i].args[k]).
  const std::vector<std::vector<std::string>>& NormalizedArgs(const v1::Job& job);
  const std::vector<SqlStatement>& Sql(const v1::Job& job);
  // The normalized args.path values (a string, or each string of a list); `present`
  // false when args.path is absent.
  const std::vector<std::string>& Paths(const v1::Job& job, bool* present);
  const std::vector<std::string>& Hosts(const v1::Job& job);
  // Ids of the secret detectors that fire anywhere in the job (sorted, unique).
  const std::vector<std::string>& Secrets(const v1::Job& job);
  // The effects of args.command with args.cwd as the workspace.
  const CommandEffects& Effects(const v1::Job& job);
  // policy::JobTargets (policy/session.h), unbounded.
  const std::vector<std::string>& Targets(const v1::Job& job);

  bool command_done = false;
  bool sql_done = false;
  bool path_done = false;
  bool hosts_done = false;
  bool secrets_done = false;
  bool effects_done = false;
  bool targets_done = false;
  CommandEffects effects;
  std::vector<std::string> targets;
  // The session history of the job being evaluated (input, set by Evaluate); null state:
  // no history.
  SessionContext session;
  // Whether redaction markers count as the secrets they replaced (input, set by Evaluate
  // from Evaluation::markers_are_secrets).
  bool markers_are_secrets = false;
  bool path_present = false;
  CommandAnalysis command;
  std::vector<std::vector<std::string>> normalized_args;
  std::vector<SqlStatement> sql;
  std::vector<std::string> paths;
  std::vector<std::string> hosts;
  std::vector<std::string> secrets;
  bool normalized_for_current_ = false;
};

struct CompiledRule {
  std::string id;
  std::string description;
  std::string reason;
  std::string approver_role;
  v1::Verdict decision = v1::DENY;
  int32_t risk_score = 0;
  int64_t approval_ttl_sec = 0;  // 0: the gate's default

  std::vector<std::string> topics;      // any of; empty: no condition
  std::vector<std::string> not_topics;  // none of
  std::vector<std::string> risk_all;
  std::vector<std::string> risk_any;
  std::vector<std::string> risk_none;
  std::vector<FieldCondition> fields;  // cheapest first
  // Conditions on the analysed action (docs/coding-agents.md), checked after `fields`.
  // Behind one pointer so that rules without them stay small and cost one test.
  std::unique_ptr<ActionConditions> action;
  ActionConditions& Action() {
    if (!action) action = std::make_unique<ActionConditions>();
    return *action;
  }

  bool has_constraints = false;
  v1::Constraints constraints;
  std::optional<v1::Rate> rate;
  // `redact: {paths: [...]}`: job fields replaced outright when this rule matches, as
  // globs over slash-separated paths ("args/env/*"), one RE2. Null when unset.
  std::unique_ptr<RE2> redact_paths;

  std::vector<RuleExample> examples;
  int line = 0;
  int col = 0;
};

struct Defaults {
  v1::Verdict decision = v1::DENY;
  std::string reason;
  bool has_constraints = false;
  v1::Constraints constraints;
};

struct Policy::Impl {
  std::vector<CompiledRule> rules;
  Defaults defaults;

  // Indexes: each rule sits under exactly one anchor, one of its own conditions that
  // every job it matches must satisfy. Evaluation collects candidates from the anchors
  // the job hits and checks only those.
  TopicTrie topic_index;
  using Buckets =
      std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>>;
  std::array<Buckets, kNumIndexedFields> field_index;
  Buckets risk_tag_index;
  std::vector<uint32_t> unanchored;

  // precedence_rank[i]: position of rule i in precedence order (strictest decision,
  // then highest risk_score, then id).
  std::vector<uint32_t> precedence_rank;

  std::unordered_map<std::string, uint32_t> by_id;
};

}  // namespace jobgate::policy
