// The policy compiler: YAML text -> Policy. Collects every error with its position rather
// than stopping at the first, so `jobgate check` shows a reviewer the whole list.
//
// Internal to policy/compile: Compile() (policy.h) is its only user. compiler.cc holds the
// driver (Run), the rule and its match, the typed getters and the public entry points;
// compile_matchers.cc the value matchers, globs and regexes; compile_conditions.cc the
// conditions on the analysed action (command, sql, egress, secrets_present, effects,
// session); compile_rule_parts.cc constraints, rate, examples and redact; indexes.cc the
// rule indexes and precedence ranks. One PolicyCompiler serves one call of Compile() and is
// not shared: it reads the caller's CompileOptions (which must outlive it), owns the
// Policy::Impl it builds until Run hands it to the Policy, and is not thread-safe.
#pragma once

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/compile/model.h"
#include "policy/compile/yaml_values.h"
#include "policy/policy.h"

namespace jobgate::policy {

class PolicyCompiler {
 public:
  explicit PolicyCompiler(const CompileOptions& options) : options_(options) {}

  CompileResult Run(std::string_view text);

 private:
  void Error(const YAML::Node& node, std::string message) {
    const YAML::Mark mark = node.Mark();
    Error(mark.line + 1, mark.column + 1, std::move(message));
  }
  void Error(int line, int col, std::string message) {
    errors_.push_back({options_.file_name, line, col, std::move(message)});
  }

  // --- compiler.cc: the typed getters, the rule and its match ---

  // Reports unknown and duplicate keys of a mapping. False if `node` is not a mapping.
  bool CheckMap(const YAML::Node& node, std::string_view what,
                const std::vector<std::string_view>& known);
  bool GetString(const YAML::Node& node, std::string_view what, std::string* out);
  bool GetStringList(const YAML::Node& node, std::string_view what, std::vector<std::string>* out);
  bool GetInt(const YAML::Node& node, std::string_view what, int64_t min, int64_t max,
              int64_t* out);
  bool GetBool(const YAML::Node& node, std::string_view what, bool* out);
  bool GetNumber(const YAML::Node& node, std::string_view what, double* out);
  Literal MakeLiteral(const YAML::Node& node);

  void CompileDefaults(const YAML::Node& node);
  void CompileRule(const YAML::Node& node, std::set<std::string>* ids);
  // The rule's id (or its name); an error when missing, not a string, empty, or in `ids`.
  void CompileRuleId(const YAML::Node& node, std::set<std::string>* ids, CompiledRule* rule,
                     JsonValue* canon);
  // What the rule decides and what the decision carries: decision, reason, approver_role,
  // risk_score, approval_ttl. `where` names the rule in errors.
  void CompileDecision(const YAML::Node& node, const std::string& where, CompiledRule* rule,
                       JsonValue* canon);
  void CompileMatch(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileTopicsAndRiskTags(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileJobAndActorFields(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileLabelsAndArgs(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void AddFieldCondition(const YAML::Node& value, FieldRef ref, CompiledRule* rule,
                         JsonValue* canon);
  bool CompileTopics(const YAML::Node& node, std::string_view what, std::vector<std::string>* out);

  // --- compile_matchers.cc: value matchers, globs and regexes ---

  // False when the condition sets nothing (an empty list).
  bool CompileMatcher(const YAML::Node& node, const std::string& what, ValueMatcher* m);
  // A value or a list of scalar values, as literals; their sorted list in `*canon`.
  bool CompileLiterals(const YAML::Node& node, const std::string& what, std::vector<Literal>* out,
                       JsonValue* canon);
  // False (with an error) unless `node` is a non-empty mapping of operators only.
  bool CheckOperators(const YAML::Node& node, const std::string& what);
  // The operators of a matcher: each is false (with an error) when its operators are invalid.
  bool CompileInAndNotIn(const YAML::Node& node, const std::string& what, ValueMatcher* m);
  bool CompileGlobAndRegex(const YAML::Node& node, const std::string& what, ValueMatcher* m);
  bool CompileExistsAndAbsent(const YAML::Node& node, const std::string& what, ValueMatcher* m);
  bool CompileBounds(const YAML::Node& node, const std::string& what, ValueMatcher* m);
  // Globs (translated) or regexes (checked one by one) into one RE2 that matches any of
  // them, charged to the policy's regex budget; false (with an error) when that fails.
  bool CompilePatterns(const YAML::Node& node, const std::string& what,
                       const std::vector<std::string>& sources, bool from_glob,
                       std::unique_ptr<RE2>* out);
  // Compiles a list of globs (a string or a list) into one anchored RE2 in `*out` and
  // their sorted list into `*canon`. False (with an error) when empty or invalid.
  bool CompileGlobs(const YAML::Node& node, const std::string& what, std::unique_ptr<RE2>* out,
                    JsonValue* canon);
  // Compiles `pattern` (at most 8 MiB of RE2 memory) into `*out` and charges it to the
  // policy's total. False with an error at `node`: `refusal` and RE2's reason when it
  // does not compile, or ChargeRegex's.
  bool CompileRegex(const YAML::Node& node, const std::string& pattern, const std::string& refusal,
                    std::unique_ptr<RE2>* out);
  // Adds `re`'s program to the policy's total; false (with an error at `node`) once the
  // total is over CompileOptions::max_regex_instructions.
  bool ChargeRegex(const YAML::Node& node, const RE2& re);

  // --- compile_conditions.cc: the conditions on the analysed action ---

  void CompileCommand(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  // command.KEY: words sorted and without duplicates into `*out`, and into `(*canon)[key]`
  // unless empty. True when KEY is absent; false (with an error) when not strings.
  bool CompileCommandWords(const YAML::Node& node, const char* key, std::vector<std::string>* out,
                           JsonValue* canon);
  // False (with an error) when a program or not_program has a directory.
  bool CheckProgramBasenames(const YAML::Node& node, const CommandCondition& c);
  // command.KEY as words, each a flag as the analysis writes it for every one of `programs`
  // (normalized, and not a bundle of short flags the program splits); false (with an error)
  // otherwise.
  bool CompileCommandFlags(const YAML::Node& node, const char* key,
                           const std::vector<std::string>& programs, std::vector<std::string>* out,
                           JsonValue* canon);
  void CompileSql(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileEgress(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileEffects(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  // The parts of match.effects: each is false (with an error) when its part is invalid.
  bool CompileReadsWritesDeletes(const YAML::Node& node, EffectsCondition* c);
  bool CompileSends(const YAML::Node& sends, EffectsCondition* c);
  bool CompileInlineCode(const YAML::Node& code, EffectsCondition* c);
  bool CompileDeletesResources(const YAML::Node& res, EffectsCondition* c);
  bool CompilePathEffect(const YAML::Node& node, const std::string& what, PathEffectCondition* out,
                         JsonValue* canon);
  // where / outside_workspace of a path effect: places or'ed into `*places`; false (with an
  // error) when invalid.
  bool CompileWhere(const YAML::Node& where, const std::string& what, uint32_t* places,
                    JsonValue* canon);
  bool CompileOutsideWorkspace(const YAML::Node& outside, const std::string& what, uint32_t* places,
                               JsonValue* canon);
  bool CompileWordList(const YAML::Node& node, const std::string& what,
                       std::vector<std::string>* out, JsonValue* canon);
  void CompileSecretsPresent(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileSession(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  bool CompileSessionCount(const YAML::Node& node, const std::string& what, SessionCount* out,
                           JsonValue* canon);
  bool CompileDeniedTarget(const YAML::Node& node, SessionCondition* out, JsonValue* canon);
  // A window (`10m`, `90`): false (with an error) unless a positive duration.
  bool GetWindow(const YAML::Node& node, const std::string& what, int64_t* out_ms);

  // --- compile_rule_parts.cc: what a rule carries besides its match ---

  bool CompileConstraints(const YAML::Node& node, v1::Constraints* out, JsonValue* canon);
  void CompileRate(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileExamples(const YAML::Node& node, CompiledRule* rule);
  void CompileRedact(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);

  // --- indexes.cc ---

  void BuildIndexes(Policy::Impl* impl);

  const CompileOptions& options_;
  size_t regex_instructions_ = 0;
  std::vector<Diagnostic> errors_;
  std::unique_ptr<Policy::Impl> impl_ = std::make_unique<Policy::Impl>();
  JsonValue canonical_rules_ = JsonValue::MakeArray();
  JsonValue canonical_defaults_ = JsonValue::MakeObject();
};

}  // namespace jobgate::policy
