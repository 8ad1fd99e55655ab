// Policy compiler: YAML text -> Policy. Collects every error with its position rather
// than stopping at the first, so `jobgate check` shows a reviewer the whole list.

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "base/duration.h"
#include "base/hash.h"
#include "base/yaml_loader.h"
#include "base/yaml_map.h"
#include "policy/analysis/command.h"
#include "policy/analysis/secrets.h"
#include "policy/compile/glob.h"
#include "policy/compile/model.h"
#include "policy/compile/subject_pattern.h"
#include "policy/policy.h"

namespace jobgate::policy {
namespace {

constexpr std::string_view kCanonicalFormat = "jobgate-policy-canonical/1";

bool IsPlainScalar(const YAML::Node& node) { return node.Tag() == "?" || node.Tag().empty(); }

const std::vector<std::string_view> kTopKeys = {"version", "snapshot", "description", "defaults",
                                                "rules"};
const std::vector<std::string_view> kDefaultsKeys = {"decision", "reason", "constraints"};
const std::vector<std::string_view> kRuleKeys = {
    "id",     "name",         "description",   "match",      "decision",
    "reason", "constraints",  "approver_role", "risk_score", "examples",
    "rate",   "approval_ttl", "redact"};
const std::vector<std::string_view> kMatchKeys = {
    "topics",       "not_topics", "tenants",         "environment",   "capability",
    "capabilities", "actor",      "risk_tags",       "risk_tags_any", "risk_tags_none",
    "labels",       "args",       "job_id",          "command",       "sql",
    "path",         "egress",     "secrets_present", "effects",       "session"};
const std::vector<std::string_view> kSessionKeys = {"denied", "held", "alerted", "denied_target"};
const std::vector<std::string_view> kSessionCountKeys = {"gt", "gte", "lt", "lte", "within"};
const std::vector<std::string_view> kDeniedTargetKeys = {"same", "within"};
const std::vector<std::string_view> kCommandKeys = {"program",   "not_program", "subcommand",
                                                    "flags_all", "flags_any",   "flags_none",
                                                    "args_glob", "opaque"};
const std::vector<std::string_view> kSqlKeys = {"kind", "object"};
const std::vector<std::string_view> kEgressKeys = {"hosts", "hosts_not_in"};
const std::vector<std::string_view> kEffectsKeys = {
    "reads",       "writes",           "deletes", "sends", "executes_inline_code",
    "inline_code", "deletes_resources"};
const std::vector<std::string_view> kPathEffectKeys = {"recursive", "where",   "outside_workspace",
                                                       "glob",      "program", "not_program"};
const std::vector<std::string_view> kSendsKeys = {"hosts", "hosts_not_in", "data"};
const std::vector<std::string_view> kInlineCodeKeys = {"class"};
const std::vector<std::string_view> kResourceKeys = {"program", "not_program"};
const std::vector<std::string_view> kRedactKeys = {"paths"};
const std::vector<std::string_view> kActorKeys = {"agent_id", "session_id", "owner", "team",
                                                  "type"};
const std::vector<std::string_view> kOperatorKeys = {"glob",   "regex", "in",  "not_in", "exists",
                                                     "absent", "gt",    "gte", "lt",     "lte"};
const std::vector<std::string_view> kConstraintKeys = {
    "max_runtime_sec",  "max_retries",    "max_diff_lines", "max_files",       "network_allowlist",
    "network_denylist", "path_allowlist", "path_denylist",  "redaction_level", "custom"};
const std::vector<std::string_view> kRateKeys = {"limit", "period", "key"};
const std::vector<std::string_view> kExampleKeys = {"match", "no_match"};
const std::vector<std::string_view> kRedactionLevels = {"none", "standard", "strict"};
const std::vector<std::string_view> kRateFieldKeys = {
    "tenant_id",        "environment", "capability", "topic",     "actor.agent_id",
    "actor.session_id", "actor.owner", "actor.team", "actor.type"};

}  // namespace

// YAML node -> JSON text, for building Jobs with protobuf's JSON parser. Under `args`
// plain scalars keep their YAML type; elsewhere every scalar is a string (the Job's
// fields are strings), so `environment: 1` is "1", not a type error.
void YamlToJson(const YAML::Node& node, bool typed, std::string* out) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out->append("null");
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (typed && IsPlainScalar(node)) {
        if (s == "true" || s == "false") {
          out->append(s);
          return;
        }
        if (s == "null" || s == "~") {
          out->append("null");
          return;
        }
        double d;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(d)) {
          out->append(s);
          return;
        }
      }
      AppendJsonString(s, out);
      return;
    }
    case YAML::NodeType::Sequence: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : node) {
        if (!first) out->push_back(',');
        first = false;
        YamlToJson(item, typed, out);
      }
      out->push_back(']');
      return;
    }
    case YAML::NodeType::Map: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : node) {
        if (!first) out->push_back(',');
        first = false;
        const std::string key = kv.first.Scalar();
        AppendJsonString(key, out);
        out->push_back(':');
        YamlToJson(kv.second, typed || key == "args", out);
      }
      out->push_back('}');
      return;
    }
  }
}

// YAML node -> JsonValue with sorted keys, for the canonical form.
JsonValue YamlToCanonical(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (IsPlainScalar(node)) {
        if (s == "true" || s == "false") return JsonValue(s == "true");
        double d;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(d)) {
          return JsonValue(d);
        }
      }
      return JsonValue(s);
    }
    case YAML::NodeType::Sequence: {
      JsonValue out = JsonValue::MakeArray();
      for (const auto& item : node) out.push_back(YamlToCanonical(item));
      return out;
    }
    case YAML::NodeType::Map: {
      JsonValue out = JsonValue::MakeObject();
      for (const auto& kv : node) out[kv.first.Scalar()] = YamlToCanonical(kv.second);
      return out;
    }
    default:
      return JsonValue();
  }
}

Status JobFromYamlNode(const YAML::Node& node, v1::Job* job) {
  if (!node.IsMap()) return InvalidArgument("a job must be a mapping of job fields");
  std::string json;
  YamlToJson(node, /*typed=*/false, &json);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, job, options);
  if (!status.ok()) {
    return InvalidArgument("not a valid job: " + std::string(status.message()));
  }
  return Status::Ok();
}

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
  bool CompileConstraints(const YAML::Node& node, v1::Constraints* out, JsonValue* canon);
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
  void CompileRedact(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  // Compiles a list of globs (a string or a list) into one anchored RE2 in `*out` and
  // their sorted list into `*canon`. False (with an error) when empty or invalid.
  bool CompileGlobs(const YAML::Node& node, const std::string& what, std::unique_ptr<RE2>* out,
                    JsonValue* canon);
  void CompileRate(const YAML::Node& node, CompiledRule* rule, JsonValue* canon);
  void CompileExamples(const YAML::Node& node, CompiledRule* rule);
  void BuildIndexes(Policy::Impl* impl);

  // Compiles `pattern` (at most 8 MiB of RE2 memory) into `*out` and charges it to the
  // policy's total. False with an error at `node`: `refusal` and RE2's reason when it
  // does not compile, or ChargeRegex's.
  bool CompileRegex(const YAML::Node& node, const std::string& pattern, const std::string& refusal,
                    std::unique_ptr<RE2>* out) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(8 << 20);
    auto compiled = std::make_unique<RE2>(pattern, options);
    if (!compiled->ok()) {
      Error(node, refusal + compiled->error());
      return false;
    }
    if (!ChargeRegex(node, *compiled)) return false;
    *out = std::move(compiled);
    return true;
  }

  // Adds `re`'s program to the policy's total; false (with an error at `node`) once the
  // total is over CompileOptions::max_regex_instructions.
  bool ChargeRegex(const YAML::Node& node, const RE2& re) {
    regex_instructions_ += static_cast<size_t>(std::max(re.ProgramSize(), 0));
    if (regex_instructions_ <= options_.max_regex_instructions) return true;
    Error(node, "the policy's regexes and globs compile to more than max_regex_instructions (" +
                    std::to_string(options_.max_regex_instructions) + ") instructions");
    return false;
  }

  const CompileOptions& options_;
  size_t regex_instructions_ = 0;
  std::vector<Diagnostic> errors_;
  std::unique_ptr<Policy::Impl> impl_ = std::make_unique<Policy::Impl>();
  JsonValue canonical_rules_ = JsonValue::MakeArray();
  JsonValue canonical_defaults_ = JsonValue::MakeObject();
};

bool PolicyCompiler::CheckMap(const YAML::Node& node, std::string_view what,
                              const std::vector<std::string_view>& known) {
  return CheckYamlMap(node, what, known, [this](const YAML::Node& at, const std::string& message) {
    Error(at, message);
  });
}

bool PolicyCompiler::GetString(const YAML::Node& node, std::string_view what, std::string* out) {
  if (!node.IsScalar()) {
    Error(node, std::string(what) + " must be a string");
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool PolicyCompiler::GetStringList(const YAML::Node& node, std::string_view what,
                                   std::vector<std::string>* out) {
  out->clear();
  if (node.IsScalar()) {
    out->push_back(node.Scalar());
    return true;
  }
  if (node.IsNull()) return true;
  if (!node.IsSequence()) {
    Error(node, std::string(what) + " must be a string or a list of strings");
    return false;
  }
  bool ok = true;
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      Error(item, "entries of " + std::string(what) + " must be strings");
      ok = false;
      continue;
    }
    out->push_back(item.Scalar());
  }
  return ok;
}

bool PolicyCompiler::GetInt(const YAML::Node& node, std::string_view what, int64_t min, int64_t max,
                            int64_t* out) {
  if (!node.IsScalar()) {
    Error(node, std::string(what) + " must be a whole number");
    return false;
  }
  const std::string& s = node.Scalar();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    Error(node, std::string(what) + " must be a whole number, got '" + s + "'");
    return false;
  }
  if (v < min || v > max) {
    Error(node, std::string(what) + " must be between " + std::to_string(min) + " and " +
                    std::to_string(max) + ", got " + s);
    return false;
  }
  *out = v;
  return true;
}

bool PolicyCompiler::GetBool(const YAML::Node& node, std::string_view what, bool* out) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "yes") {
      *out = true;
      return true;
    }
    if (s == "false" || s == "False" || s == "no") {
      *out = false;
      return true;
    }
  }
  Error(node, std::string(what) + " must be true or false");
  return false;
}

bool PolicyCompiler::GetNumber(const YAML::Node& node, std::string_view what, double* out) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    double v;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(v)) {
      *out = v;
      return true;
    }
  }
  Error(node, std::string(what) + " must be a number");
  return false;
}

Literal PolicyCompiler::MakeLiteral(const YAML::Node& node) {
  Literal lit;
  lit.text = node.Scalar();
  if (IsPlainScalar(node)) {
    double d;
    const std::string& s = lit.text;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(d)) {
      lit.number = d;
    }
    if (s == "true") lit.boolean = true;
    if (s == "false") lit.boolean = false;
  }
  return lit;
}

JsonValue Literal::ToJson() const {
  if (number) return JsonValue(*number);
  if (boolean) return JsonValue(*boolean);
  return JsonValue(text);
}

CompileResult PolicyCompiler::Run(std::string_view text) {
  CompileResult result;
  YAML::Node root;
  YamlError yaml_error;
  if (!LoadYaml(text, options_.yaml_budget, &root, &yaml_error)) {
    Error(yaml_error.line, yaml_error.column, yaml_error.message);
    result.errors = std::move(errors_);
    return result;
  }
  try {
    if (root.IsNull()) {
      Error(1, 1, "empty policy: expected a mapping with 'rules'");
    } else if (CheckMap(root, "the policy", kTopKeys)) {
      std::string version = "v1";
      if (root["version"]) {
        const YAML::Node v = root["version"];
        if (!v.IsScalar() || (v.Scalar() != "v1" && v.Scalar() != "1")) {
          Error(v, "unsupported policy version '" + (v.IsScalar() ? v.Scalar() : "?") +
                       "' (this jobgate reads v1)");
        }
      }
      std::string snapshot;
      if (root["snapshot"]) GetString(root["snapshot"], "snapshot", &snapshot);
      if (root["description"]) {
        std::string ignored;
        GetString(root["description"], "description", &ignored);
      }
      CompileDefaults(root["defaults"]);
      const YAML::Node rules = root["rules"];
      if (!rules) {
        Error(root, "the policy has no 'rules' list");
      } else if (!rules.IsSequence() && !rules.IsNull()) {
        Error(rules, "'rules' must be a list of rules");
      } else {
        std::set<std::string> ids;
        for (const auto& rule : rules) CompileRule(rule, &ids);
      }
      if (errors_.empty()) {
        auto policy = std::shared_ptr<Policy>(new Policy());
        BuildIndexes(impl_.get());
        JsonValue canon = JsonValue::MakeObject();
        canon["format"] = JsonValue(kCanonicalFormat);
        canon["version"] = JsonValue(version);
        canon["defaults"] = std::move(canonical_defaults_);
        canonical_rules_.SortUnique();  // rule order carries no meaning
        canon["rules"] = std::move(canonical_rules_);
        policy->canonical_ = canon.Dump();
        policy->hash_ = "sha256:" + Sha256Hex(policy->canonical_);
        policy->snapshot_name_ = options_.snapshot_name.empty() ? snapshot : options_.snapshot_name;
        policy->file_name_ = options_.file_name;
        policy->impl_ = std::move(impl_);
        result.policy = std::move(policy);
        return result;
      }
    }
  } catch (const std::exception& e) {
    // yaml-cpp throws on some conversions of malformed documents; report, never crash.
    Error(1, 1, std::string("policy could not be read: ") + e.what());
  }
  result.errors = std::move(errors_);
  return result;
}

void PolicyCompiler::CompileDefaults(const YAML::Node& node) {
  Defaults& d = impl_->defaults;
  canonical_defaults_["decision"] = JsonValue(VerdictName(d.decision));
  if (!node) return;
  if (!CheckMap(node, "defaults", kDefaultsKeys)) return;
  if (node["decision"]) {
    std::string text;
    if (GetString(node["decision"], "defaults.decision", &text) &&
        !ParseVerdict(text, &d.decision)) {
      Error(node["decision"], "unknown decision '" + text + "'");
    }
    canonical_defaults_["decision"] = JsonValue(VerdictName(d.decision));
  }
  if (node["reason"] && GetString(node["reason"], "defaults.reason", &d.reason)) {
    canonical_defaults_["reason"] = JsonValue(d.reason);
  }
  if (node["constraints"]) {
    JsonValue canon;
    d.has_constraints = CompileConstraints(node["constraints"], &d.constraints, &canon);
    canonical_defaults_["constraints"] = std::move(canon);
  }
}

void PolicyCompiler::CompileRule(const YAML::Node& node, std::set<std::string>* ids) {
  if (!CheckMap(node, "a rule", kRuleKeys)) return;
  CompiledRule rule;
  rule.line = node.Mark().line + 1;
  rule.col = node.Mark().column + 1;
  JsonValue canon = JsonValue::MakeObject();

  CompileRuleId(node, ids, &rule, &canon);
  const std::string where = "rule '" + rule.id + "'";
  if (node["description"] && GetString(node["description"], "description", &rule.description)) {
    canon["description"] = JsonValue(rule.description);
  }
  CompileDecision(node, where, &rule, &canon);
  if (!node["match"]) {
    Error(node, where + " needs a 'match' (use 'match: {}' to match every job)");
  } else {
    JsonValue match_canon = JsonValue::MakeObject();
    CompileMatch(node["match"], &rule, &match_canon);
    canon["match"] = std::move(match_canon);
  }
  if (node["constraints"]) {
    JsonValue c;
    rule.has_constraints = CompileConstraints(node["constraints"], &rule.constraints, &c);
    canon["constraints"] = std::move(c);
  }
  if (node["rate"]) {
    CompileRate(node["rate"], &rule, &canon);
  } else if (rule.decision == v1::THROTTLE) {
    Error(node, where + " decides throttle but has no 'rate' (limit, period, key)");
  }
  if (node["redact"]) CompileRedact(node["redact"], &rule, &canon);
  if (node["examples"]) CompileExamples(node["examples"], &rule);

  canonical_rules_.push_back(std::move(canon));
  impl_->rules.push_back(std::move(rule));
}

void PolicyCompiler::CompileRuleId(const YAML::Node& node, std::set<std::string>* ids,
                                   CompiledRule* rule, JsonValue* canon) {
  const YAML::Node id_node = node["id"] ? node["id"] : node["name"];
  if (node["id"] && node["name"]) {
    Error(node["name"], "a rule has both 'id' and 'name'; use 'id'");
  }
  if (!id_node) {
    Error(node, "a rule needs an 'id'");
  } else if (GetString(id_node, "a rule's id", &rule->id)) {
    if (rule->id.empty()) Error(id_node, "a rule's id must not be empty");
    if (!ids->insert(rule->id).second) Error(id_node, "duplicate rule id '" + rule->id + "'");
  }
  (*canon)["id"] = JsonValue(rule->id);
}

void PolicyCompiler::CompileDecision(const YAML::Node& node, const std::string& where,
                                     CompiledRule* rule, JsonValue* canon) {
  if (!node["decision"]) {
    Error(node, where + " needs a 'decision'");
  } else {
    std::string text;
    if (GetString(node["decision"], "decision", &text) && !ParseVerdict(text, &rule->decision)) {
      Error(node["decision"],
            "unknown decision '" + text +
                "' (allow, allow_with_constraints, alert, redact, throttle, require_approval, "
                "deny, terminate)");
    }
  }
  (*canon)["decision"] = JsonValue(VerdictName(rule->decision));
  if (node["reason"] && GetString(node["reason"], "reason", &rule->reason)) {
    (*canon)["reason"] = JsonValue(rule->reason);
  }
  if (node["approver_role"] &&
      GetString(node["approver_role"], "approver_role", &rule->approver_role)) {
    (*canon)["approver_role"] = JsonValue(rule->approver_role);
  }
  if (node["risk_score"]) {
    int64_t score = 0;
    if (GetInt(node["risk_score"], "risk_score", 0, 100, &score)) {
      rule->risk_score = static_cast<int32_t>(score);
    }
    (*canon)["risk_score"] = JsonValue(rule->risk_score);
  }
  if (node["approval_ttl"]) {
    const YAML::Node ttl = node["approval_ttl"];
    std::optional<int64_t> seconds;
    if (ttl.IsScalar()) seconds = ParseDurationSeconds(ttl.Scalar());
    if (!seconds || *seconds <= 0) {
      Error(ttl, "approval_ttl must be a positive duration such as 3600, 30m, 24h or 7d");
    } else {
      rule->approval_ttl_sec = *seconds;
      (*canon)["approval_ttl_sec"] = JsonValue(rule->approval_ttl_sec);
    }
  }
}

bool PolicyCompiler::CompileTopics(const YAML::Node& node, std::string_view what,
                                   std::vector<std::string>* out) {
  if (!GetStringList(node, what, out)) return false;
  bool ok = true;
  size_t i = 0;
  for (const std::string& pattern : *out) {
    const std::string problem = ValidateSubjectPattern(pattern);
    if (!problem.empty()) {
      Error(node.IsSequence() ? node[i] : node,
            "invalid subject pattern in " + std::string(what) + ": " + problem);
      ok = false;
    }
    ++i;
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return ok;
}

void PolicyCompiler::CompileMatch(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (node.IsNull()) return;  // `match:` with nothing: every job
  if (!CheckMap(node, "match", kMatchKeys)) return;

  CompileTopicsAndRiskTags(node, rule, canon);
  CompileJobAndActorFields(node, rule, canon);
  CompileLabelsAndArgs(node, rule, canon);
  if (node["path"]) {
    ValueMatcher m;
    if (CompileMatcher(node["path"], "path", &m)) {
      (*canon)["path"] = m.canonical;
      rule->Action().path = std::move(m);
    }
  }
  if (node["command"]) CompileCommand(node["command"], rule, canon);
  if (node["sql"]) CompileSql(node["sql"], rule, canon);
  if (node["egress"]) CompileEgress(node["egress"], rule, canon);
  if (node["secrets_present"]) CompileSecretsPresent(node["secrets_present"], rule, canon);
  if (node["effects"]) CompileEffects(node["effects"], rule, canon);
  if (node["session"]) CompileSession(node["session"], rule, canon);
  // Cheap conditions first: indexed string fields, then labels/args, regexes last.
  std::stable_sort(
      rule->fields.begin(), rule->fields.end(),
      [](const FieldCondition& a, const FieldCondition& b) {
        auto cost = [](const FieldCondition& c) {
          int k = static_cast<int>(c.field.kind) < static_cast<int>(kNumIndexedFields) ? 0 : 1;
          if (c.matcher.regex || c.matcher.glob) k += 2;
          return k;
        };
        return cost(a) < cost(b);
      });
}

// Lists sorted and without duplicates; an empty list sets no condition.
void PolicyCompiler::CompileTopicsAndRiskTags(const YAML::Node& node, CompiledRule* rule,
                                              JsonValue* canon) {
  auto string_set = [&](const char* key, std::vector<std::string>* out) {
    if (!node[key]) return;
    if (!GetStringList(node[key], key, out)) return;
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    if (out->empty()) return;  // an empty list sets no condition
    JsonValue list = JsonValue::MakeArray();
    for (const auto& s : *out) list.push_back(JsonValue(s));
    (*canon)[key] = std::move(list);
  };

  if (node["topics"] && CompileTopics(node["topics"], "topics", &rule->topics) &&
      !rule->topics.empty()) {
    JsonValue list = JsonValue::MakeArray();
    for (const auto& s : rule->topics) list.push_back(JsonValue(s));
    (*canon)["topics"] = std::move(list);
  }
  if (node["not_topics"] && CompileTopics(node["not_topics"], "not_topics", &rule->not_topics) &&
      !rule->not_topics.empty()) {
    JsonValue list = JsonValue::MakeArray();
    for (const auto& s : rule->not_topics) list.push_back(JsonValue(s));
    (*canon)["not_topics"] = std::move(list);
  }
  string_set("risk_tags", &rule->risk_all);
  string_set("risk_tags_any", &rule->risk_any);
  string_set("risk_tags_none", &rule->risk_none);
}

// A matcher on one field; a condition only when the matcher sets one.
void PolicyCompiler::AddFieldCondition(const YAML::Node& value, FieldRef ref, CompiledRule* rule,
                                       JsonValue* canon) {
  FieldCondition cond;
  cond.line = value.Mark().line + 1;
  cond.field = std::move(ref);
  if (CompileMatcher(value, cond.field.display, &cond.matcher)) {
    (*canon)["fields"][cond.field.display] = cond.matcher.canonical;
    rule->fields.push_back(std::move(cond));
  }
}

// tenants, environment, capability (or capabilities), job_id and actor.*.
void PolicyCompiler::CompileJobAndActorFields(const YAML::Node& node, CompiledRule* rule,
                                              JsonValue* canon) {
  auto simple = [&](const char* key, FieldKind kind, const char* display) {
    if (node[key]) AddFieldCondition(node[key], FieldRef{kind, {}, {}, display}, rule, canon);
  };
  simple("tenants", FieldKind::kTenant, "tenant_id");
  simple("environment", FieldKind::kEnvironment, "environment");
  if (node["capability"] && node["capabilities"]) {
    Error(node["capabilities"], "use either 'capability' or 'capabilities', not both");
  }
  simple("capability", FieldKind::kCapability, "capability");
  simple("capabilities", FieldKind::kCapability, "capability");
  simple("job_id", FieldKind::kJobId, "job_id");

  if (node["actor"] && CheckMap(node["actor"], "match.actor", kActorKeys)) {
    static constexpr std::pair<const char*, FieldKind> kActorFields[] = {
        {"agent_id", FieldKind::kActorAgentId},
        {"session_id", FieldKind::kActorSessionId},
        {"owner", FieldKind::kActorOwner},
        {"team", FieldKind::kActorTeam},
        {"type", FieldKind::kActorType}};
    for (const auto& [key, kind] : kActorFields) {
      if (node["actor"][key]) {
        AddFieldCondition(node["actor"][key], FieldRef{kind, {}, {}, std::string("actor.") + key},
                          rule, canon);
      }
    }
  }
}

// labels.KEY and args.PATH (a dotted path into the job's args): the key names the field.
void PolicyCompiler::CompileLabelsAndArgs(const YAML::Node& node, CompiledRule* rule,
                                          JsonValue* canon) {
  if (node["labels"] && CheckMap(node["labels"], "match.labels", {})) {
    for (const auto& kv : node["labels"]) {
      const std::string key = kv.first.Scalar();
      AddFieldCondition(kv.second, FieldRef{FieldKind::kLabel, key, {}, "labels." + key}, rule,
                        canon);
    }
  }
  if (node["args"] && CheckMap(node["args"], "match.args", {})) {
    for (const auto& kv : node["args"]) {
      const std::string path = kv.first.Scalar();
      FieldRef ref{FieldKind::kArg, {}, {}, "args." + path};
      std::stringstream ss(path);
      std::string segment;
      bool ok = !path.empty();
      while (std::getline(ss, segment, '.')) {
        if (segment.empty()) ok = false;
        ref.arg_path.push_back(segment);
      }
      if (!ok || path.back() == '.') {
        Error(kv.first, "invalid args path '" + path + "' (dotted names such as env.TOKEN)");
        continue;
      }
      AddFieldCondition(kv.second, std::move(ref), rule, canon);
    }
  }
}

bool PolicyCompiler::CompileGlobs(const YAML::Node& node, const std::string& what,
                                  std::unique_ptr<RE2>* out, JsonValue* canon) {
  std::vector<std::string> globs;
  if (!GetStringList(node, what, &globs)) return false;
  if (globs.empty()) {
    Error(node, what + " needs at least one glob");
    return false;
  }
  std::sort(globs.begin(), globs.end());
  globs.erase(std::unique(globs.begin(), globs.end()), globs.end());
  std::string combined;
  *canon = JsonValue::MakeArray();
  for (const std::string& glob : globs) {
    std::string error;
    const std::string re = GlobToRegex(glob, &error);
    if (!error.empty()) {
      Error(node, "invalid glob in " + what + ": " + error);
      return false;
    }
    if (!combined.empty()) combined += "|";
    combined += "(?:" + re + ")";
    canon->push_back(JsonValue(glob));
  }
  return CompileRegex(node, combined, "globs in " + what + " are too large or invalid: ", out);
}

void PolicyCompiler::CompileCommand(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (!CheckMap(node, "match.command", kCommandKeys)) return;
  CommandCondition c;
  c.canonical = JsonValue::MakeObject();
  // Every key is compiled after an earlier one fails, so all errors are reported.
  bool ok = CompileCommandWords(node, "program", &c.programs, &c.canonical);
  ok = CompileCommandWords(node, "not_program", &c.not_programs, &c.canonical) && ok;
  ok = CompileCommandWords(node, "subcommand", &c.subcommands, &c.canonical) && ok;
  ok = CheckProgramBasenames(node, c) && ok;
  ok = CompileCommandFlags(node, "flags_all", c.programs, &c.flags_all, &c.canonical) && ok;
  ok = CompileCommandFlags(node, "flags_any", c.programs, &c.flags_any, &c.canonical) && ok;
  ok = CompileCommandFlags(node, "flags_none", c.programs, &c.flags_none, &c.canonical) && ok;
  if (node["args_glob"]) {
    JsonValue globs;
    if (CompileGlobs(node["args_glob"], "command.args_glob", &c.args_glob, &globs)) {
      c.canonical["args_glob"] = std::move(globs);
    } else {
      ok = false;
    }
  }
  if (node["opaque"]) {
    bool b = false;
    if (GetBool(node["opaque"], "command.opaque", &b)) {
      c.opaque = b;
      c.canonical["opaque"] = JsonValue(b);
    } else {
      ok = false;
    }
  }
  if (!ok) return;
  (*canon)["command"] = c.canonical;
  rule->Action().command = std::move(c);
}

bool PolicyCompiler::CompileCommandWords(const YAML::Node& node, const char* key,
                                         std::vector<std::string>* out, JsonValue* canon) {
  if (!node[key]) return true;
  const std::string what = std::string("command.") + key;
  if (!GetStringList(node[key], what, out)) return false;
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  if (out->empty()) return true;
  JsonValue list = JsonValue::MakeArray();
  for (const auto& s : *out) list.push_back(JsonValue(s));
  (*canon)[key] = std::move(list);
  return true;
}

bool PolicyCompiler::CheckProgramBasenames(const YAML::Node& node, const CommandCondition& c) {
  bool ok = true;
  for (const auto& list : {&c.programs, &c.not_programs}) {
    for (const std::string& p : *list) {
      if (p.find('/') != std::string::npos) {
        Error(node, "command programs are basenames ('" + p.substr(p.rfind('/') + 1) + "', not '" +
                        p + "'): /bin/rm is analysed as rm");
        ok = false;
      }
    }
  }
  return ok;
}

// Flags are matched in normalized form: refuse spellings the analysis never produces.
bool PolicyCompiler::CompileCommandFlags(const YAML::Node& node, const char* key,
                                         const std::vector<std::string>& programs,
                                         std::vector<std::string>* out, JsonValue* canon) {
  if (!node[key]) return true;
  // The flags a failed list did hold are still checked, so their errors are reported too.
  bool ok = CompileCommandWords(node, key, out, canon);
  for (const std::string& f : *out) {
    if (f.size() < 2 || f[0] != '-') {
      Error(node[key],
            std::string("command.") + key + ": '" + f + "' is not a flag (flags start with '-')");
      ok = false;
      continue;
    }
    for (const std::string& program : programs) {
      const std::string normal = NormalizeFlag(program, f);
      if (normal != f) {
        Error(node[key], std::string("command.") + key + ": " + program + " flag '" + f +
                             "' is analysed as '" + normal + "'; write '" + normal + "'");
        ok = false;
      } else if (f[1] != '-' && f.size() > 2 && SplitsShortFlags(program)) {
        Error(node[key], std::string("command.") + key + ": '" + f +
                             "' is split into single-letter flags for " + program +
                             "; list them separately");
        ok = false;
      }
    }
  }
  return ok;
}

void PolicyCompiler::CompileSql(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (!CheckMap(node, "match.sql", kSqlKeys)) return;
  SqlCondition c;
  c.canonical = JsonValue::MakeObject();
  bool ok = true;
  if (node["kind"]) {
    std::vector<std::string> kinds;
    if (!GetStringList(node["kind"], "sql.kind", &kinds)) return;
    const auto& names = SqlKindNames();
    JsonValue list = JsonValue::MakeArray();
    for (std::string kind : kinds) {
      for (char& ch : kind) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto it = std::find(names.begin(), names.end(), kind);
      if (it == names.end()) {
        std::string hint = DidYouMean(kind, names);
        if (hint.empty()) hint = " (known: " + JoinWords(names) + ")";
        Error(node["kind"], "unknown sql kind '" + kind + "'" + hint);
        ok = false;
        continue;
      }
      const SqlKind k = static_cast<SqlKind>(it - names.begin());
      if (std::find(c.kinds.begin(), c.kinds.end(), k) == c.kinds.end()) c.kinds.push_back(k);
      list.push_back(JsonValue(kind));
    }
    list.SortUnique();
    if (!c.kinds.empty()) c.canonical["kind"] = std::move(list);
  }
  if (node["object"]) {
    if (!GetStringList(node["object"], "sql.object", &c.objects)) return;
    for (std::string& o : c.objects) {
      for (char& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    std::sort(c.objects.begin(), c.objects.end());
    c.objects.erase(std::unique(c.objects.begin(), c.objects.end()), c.objects.end());
    JsonValue list = JsonValue::MakeArray();
    for (const auto& o : c.objects) list.push_back(JsonValue(o));
    if (!c.objects.empty()) c.canonical["object"] = std::move(list);
  }
  if (!ok) return;
  (*canon)["sql"] = c.canonical;
  rule->Action().sql = std::move(c);
}

void PolicyCompiler::CompileEgress(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (!CheckMap(node, "match.egress", kEgressKeys)) return;
  EgressCondition c;
  c.canonical = JsonValue::MakeObject();
  bool ok = true;
  for (const char* key : {"hosts", "hosts_not_in"}) {
    if (!node[key]) continue;
    JsonValue globs;
    auto* slot = std::string_view(key) == "hosts" ? &c.hosts : &c.hosts_not_in;
    if (CompileGlobs(node[key], std::string("egress.") + key, slot, &globs)) {
      c.canonical[key] = std::move(globs);
    } else {
      ok = false;
    }
  }
  if (!ok) return;
  (*canon)["egress"] = c.canonical;
  rule->Action().egress = std::move(c);
}

bool PolicyCompiler::CompileWordList(const YAML::Node& node, const std::string& what,
                                     std::vector<std::string>* out, JsonValue* canon) {
  if (!GetStringList(node, what, out)) return false;
  if (out->empty()) {
    Error(node, what + " needs at least one entry");
    return false;
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  *canon = JsonValue::MakeArray();
  for (const auto& w : *out) canon->push_back(JsonValue(w));
  return true;
}

// reads / writes / deletes: {recursive, where, outside_workspace, glob, program, not_program}
bool PolicyCompiler::CompilePathEffect(const YAML::Node& node, const std::string& what,
                                       PathEffectCondition* out, JsonValue* canon) {
  *canon = JsonValue::MakeObject();
  if (node.IsScalar()) {  // `deletes: true`: any effect of the kind
    bool any = false;
    if (!GetBool(node, what, &any)) return false;
    if (!any) {
      Error(node, what + ": false is not a condition; remove the key instead");
      return false;
    }
    return true;
  }
  if (!CheckMap(node, what, kPathEffectKeys)) return false;
  bool ok = true;
  if (node["recursive"]) {
    bool b = false;
    ok = GetBool(node["recursive"], what + ".recursive", &b) && ok;
    out->recursive = b;
    (*canon)["recursive"] = JsonValue(b);
  }
  if (node["where"] && node["outside_workspace"]) {
    Error(node["outside_workspace"], what + ": use either 'where' or 'outside_workspace'");
    ok = false;
  }
  if (node["where"]) ok = CompileWhere(node["where"], what, &out->places, canon) && ok;
  if (node["outside_workspace"]) {
    ok = CompileOutsideWorkspace(node["outside_workspace"], what, &out->places, canon) && ok;
  }
  if (node["glob"]) {
    JsonValue globs;
    if (CompileGlobs(node["glob"], what + ".glob", &out->glob, &globs)) {
      (*canon)["glob"] = std::move(globs);
    } else {
      ok = false;
    }
  }
  for (const char* key : {"program", "not_program"}) {
    if (!node[key]) continue;
    JsonValue list;
    auto* slot = std::string_view(key) == "program" ? &out->programs : &out->not_programs;
    if (CompileWordList(node[key], what + "." + key, slot, &list)) {
      (*canon)[key] = std::move(list);
    } else {
      ok = false;
    }
  }
  return ok;
}

bool PolicyCompiler::CompileWhere(const YAML::Node& where, const std::string& what,
                                  uint32_t* places, JsonValue* canon) {
  std::vector<std::string> names;
  JsonValue list;
  if (!CompileWordList(where, what + ".where", &names, &list)) return false;
  bool ok = true;
  for (const std::string& name : names) {
    PathPlace place;
    if (!ParsePathPlace(name, &place)) {
      std::vector<std::string_view> known;
      for (int i = 0; i < kNumPathPlaces; ++i)
        known.push_back(PathPlaceName(static_cast<PathPlace>(i)));
      std::string hint = DidYouMean(name, known);
      if (hint.empty()) hint = " (known: " + JoinWords(known) + ")";
      Error(where, "unknown place '" + name + "' in " + what + ".where" + hint);
      ok = false;
      continue;
    }
    *places |= 1u << static_cast<int>(place);
  }
  (*canon)["where"] = std::move(list);
  return ok;
}

bool PolicyCompiler::CompileOutsideWorkspace(const YAML::Node& outside, const std::string& what,
                                             uint32_t* places, JsonValue* canon) {
  bool b = false;
  if (!GetBool(outside, what + ".outside_workspace", &b)) return false;
  bool ok = true;
  if (!b) {
    Error(outside,
          what + ".outside_workspace: false is not supported; use where: [workspace, temp]");
    ok = false;
  }
  for (int i = 0; i < kNumPathPlaces; ++i) {
    const auto place = static_cast<PathPlace>(i);
    if (place != PathPlace::kWorkspace && place != PathPlace::kTemp) *places |= 1u << i;
  }
  (*canon)["outside_workspace"] = JsonValue(true);
  return ok;
}

void PolicyCompiler::CompileEffects(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (!CheckMap(node, "match.effects", kEffectsKeys)) return;
  if (node.size() == 0) {
    Error(node, "match.effects needs at least one of: " + JoinWords(kEffectsKeys));
    return;
  }
  EffectsCondition c;
  c.canonical = JsonValue::MakeObject();
  bool ok = CompileReadsWritesDeletes(node, &c);
  if (const YAML::Node sends = node["sends"]) ok = CompileSends(sends, &c) && ok;
  if (node["executes_inline_code"]) {
    bool b = false;
    if (GetBool(node["executes_inline_code"], "effects.executes_inline_code", &b)) {
      c.executes_inline_code = b;
      c.canonical["executes_inline_code"] = JsonValue(b);
    } else {
      ok = false;
    }
  }
  if (const YAML::Node code = node["inline_code"]) ok = CompileInlineCode(code, &c) && ok;
  if (const YAML::Node res = node["deletes_resources"]) {
    ok = CompileDeletesResources(res, &c) && ok;
  }
  if (!ok) return;
  (*canon)["effects"] = c.canonical;
  rule->Action().effects = std::move(c);
}

bool PolicyCompiler::CompileReadsWritesDeletes(const YAML::Node& node, EffectsCondition* c) {
  bool ok = true;
  struct Slot {
    const char* key;
    std::optional<PathEffectCondition>* cond;
  };
  for (const Slot& slot :
       {Slot{"reads", &c->reads}, Slot{"writes", &c->writes}, Slot{"deletes", &c->deletes}}) {
    if (!node[slot.key]) continue;
    PathEffectCondition pc;
    JsonValue canon_kind;
    if (CompilePathEffect(node[slot.key], std::string("effects.") + slot.key, &pc, &canon_kind)) {
      *slot.cond = std::move(pc);
      c->canonical[slot.key] = std::move(canon_kind);
    } else {
      ok = false;
    }
  }
  return ok;
}

// `sends: true`, or {hosts, hosts_not_in, data}.
bool PolicyCompiler::CompileSends(const YAML::Node& sends, EffectsCondition* c) {
  c->has_sends = true;
  JsonValue canon_sends = JsonValue::MakeObject();
  bool ok = true;
  bool any = true;
  if (sends.IsScalar()) {
    if (!GetBool(sends, "effects.sends", &any) || !any) {
      if (!any) Error(sends, "effects.sends: false is not a condition; remove the key instead");
      ok = false;
    }
  } else if (CheckMap(sends, "effects.sends", kSendsKeys)) {
    for (const char* key : {"hosts", "hosts_not_in"}) {
      if (!sends[key]) continue;
      JsonValue globs;
      auto* slot = std::string_view(key) == "hosts" ? &c->sends_hosts : &c->sends_hosts_not_in;
      if (CompileGlobs(sends[key], std::string("effects.sends.") + key, slot, &globs)) {
        canon_sends[key] = std::move(globs);
      } else {
        ok = false;
      }
    }
    if (sends["data"]) {
      bool b = false;
      if (GetBool(sends["data"], "effects.sends.data", &b)) {
        c->sends_data = b;
        canon_sends["data"] = JsonValue(b);
      } else {
        ok = false;
      }
    }
  } else {
    ok = false;
  }
  c->canonical["sends"] = std::move(canon_sends);
  return ok;
}

// `inline_code: {class: [inert, touches, dangerous]}`.
bool PolicyCompiler::CompileInlineCode(const YAML::Node& code, EffectsCondition* c) {
  if (!CheckMap(code, "effects.inline_code", kInlineCodeKeys) || !code["class"]) {
    if (code.IsMap() && !code["class"]) Error(code, "effects.inline_code needs 'class'");
    return false;
  }
  std::vector<std::string> names;
  JsonValue list;
  if (!CompileWordList(code["class"], "effects.inline_code.class", &names, &list)) return false;
  bool ok = true;
  for (const std::string& name : names) {
    CodeClass cls;
    if (!ParseCodeClass(name, &cls)) {
      Error(code["class"],
            "unknown inline code class '" + name + "' (known: inert, touches, dangerous)");
      ok = false;
      continue;
    }
    c->code_classes |= 1u << static_cast<int>(cls);
  }
  JsonValue obj = JsonValue::MakeObject();
  obj["class"] = std::move(list);
  c->canonical["inline_code"] = std::move(obj);
  return ok;
}

// `deletes_resources: true`, or {program, not_program}.
bool PolicyCompiler::CompileDeletesResources(const YAML::Node& res, EffectsCondition* c) {
  c->has_deletes_resources = true;
  JsonValue canon_res = JsonValue::MakeObject();
  bool ok = true;
  if (res.IsScalar()) {
    bool b = false;
    if (!GetBool(res, "effects.deletes_resources", &b) || !b) {
      if (!b) Error(res, "effects.deletes_resources: false is not a condition; remove the key");
      ok = false;
    }
  } else if (CheckMap(res, "effects.deletes_resources", kResourceKeys)) {
    for (const char* key : {"program", "not_program"}) {
      if (!res[key]) continue;
      JsonValue list;
      auto* slot =
          std::string_view(key) == "program" ? &c->resource_programs : &c->resource_not_programs;
      if (CompileWordList(res[key], std::string("effects.deletes_resources.") + key, slot, &list)) {
        canon_res[key] = std::move(list);
      } else {
        ok = false;
      }
    }
  } else {
    ok = false;
  }
  c->canonical["deletes_resources"] = std::move(canon_res);
  return ok;
}

bool PolicyCompiler::CompileMatcher(const YAML::Node& node, const std::string& what,
                                    ValueMatcher* m) {
  if (node.IsNull()) {
    Error(node, what + " has no value (write a value, a list, or an operator such as exists)");
    return false;
  }
  if (!node.IsMap()) {
    if (node.IsSequence() && node.size() == 0) return false;  // empty list: no condition
    m->has_in = CompileLiterals(node, what, &m->in, &m->canonical["in"]);
    return m->has_in;
  }
  if (!CheckOperators(node, what)) return false;
  // Every operator is compiled after an earlier one fails, so all errors are reported.
  bool ok = CompileInAndNotIn(node, what, m);
  ok = CompileGlobAndRegex(node, what, m) && ok;
  ok = CompileExistsAndAbsent(node, what, m) && ok;
  ok = CompileBounds(node, what, m) && ok;
  return ok;
}

bool PolicyCompiler::CompileLiterals(const YAML::Node& node, const std::string& what,
                                     std::vector<Literal>* out, JsonValue* canon) {
  if (node.IsScalar()) {
    out->push_back(MakeLiteral(node));
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        Error(item, "values in " + what + " must be scalars");
        return false;
      }
      out->push_back(MakeLiteral(item));
    }
  } else {
    Error(node, what + " must be a value or a list of values");
    return false;
  }
  *canon = JsonValue::MakeArray();
  for (const auto& lit : *out) canon->push_back(lit.ToJson());
  canon->SortUnique();
  return true;
}

bool PolicyCompiler::CheckOperators(const YAML::Node& node, const std::string& what) {
  bool any_operator = false;
  for (const auto& kv : node) {
    if (kv.first.IsScalar() && std::find(kOperatorKeys.begin(), kOperatorKeys.end(),
                                         kv.first.Scalar()) != kOperatorKeys.end()) {
      any_operator = true;
    }
  }
  if (!any_operator && node.size() > 0 && what.rfind("args.", 0) == 0) {
    Error(node, what +
                    " is a mapping without operators; write nested arguments as a dotted "
                    "path (args: {env.TOKEN: ...})");
    return false;
  }
  if (!CheckMap(node, what, kOperatorKeys)) return false;
  if (node.size() == 0) {
    Error(node, what + " has an empty operator object");
    return false;
  }
  return true;
}

bool PolicyCompiler::CompileInAndNotIn(const YAML::Node& node, const std::string& what,
                                       ValueMatcher* m) {
  bool ok = true;
  if (node["in"]) {
    if (node["in"].IsSequence() && node["in"].size() == 0) {
      Error(node["in"], what + ": 'in' with an empty list can never match");
      ok = false;
    } else {
      m->has_in = CompileLiterals(node["in"], what, &m->in, &m->canonical["in"]);
      ok &= m->has_in;
    }
  }
  if (node["not_in"]) {
    if (node["not_in"].IsSequence() && node["not_in"].size() == 0) {
      Error(node["not_in"], what + ": 'not_in' with an empty list always matches; remove it");
      ok = false;
    } else {
      m->has_not_in = CompileLiterals(node["not_in"], what, &m->not_in, &m->canonical["not_in"]);
      ok &= m->has_not_in;
    }
  }
  return ok;
}

bool PolicyCompiler::CompileGlobAndRegex(const YAML::Node& node, const std::string& what,
                                         ValueMatcher* m) {
  bool ok = true;
  for (const char* op : {"glob", "regex"}) {
    if (!node[op]) continue;
    std::vector<std::string> sources;
    if (!GetStringList(node[op], std::string(what) + "." + op, &sources) || sources.empty()) {
      if (sources.empty()) Error(node[op], what + ": '" + op + "' needs at least one pattern");
      ok = false;
      continue;
    }
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
    const bool is_glob = std::string_view(op) == "glob";
    if (CompilePatterns(node[op], what, sources, is_glob, is_glob ? &m->glob : &m->regex)) {
      JsonValue list = JsonValue::MakeArray();
      for (const auto& s : sources) list.push_back(JsonValue(s));
      m->canonical[op] = std::move(list);
    } else {
      ok = false;
    }
  }
  return ok;
}

bool PolicyCompiler::CompilePatterns(const YAML::Node& node, const std::string& what,
                                     const std::vector<std::string>& sources, bool from_glob,
                                     std::unique_ptr<RE2>* out) {
  std::string combined;
  for (const auto& src : sources) {
    std::string re = src;
    if (from_glob) {
      std::string error;
      re = GlobToRegex(src, &error);
      if (!error.empty()) {
        Error(node, "invalid glob in " + what + ": " + error);
        return false;
      }
    } else {
      RE2 probe(src, RE2::Quiet);
      if (!probe.ok()) {
        Error(node, "invalid regex in " + what + " '" + src + "': " + probe.error());
        return false;
      }
    }
    if (!combined.empty()) combined += "|";
    combined += "(?:" + re + ")";
  }
  return CompileRegex(node, combined, "pattern in " + what + " is too large or invalid: ", out);
}

bool PolicyCompiler::CompileExistsAndAbsent(const YAML::Node& node, const std::string& what,
                                            ValueMatcher* m) {
  bool ok = true;
  if (node["exists"] && node["absent"]) {
    Error(node["absent"], what + ": use either 'exists' or 'absent'");
    ok = false;
  }
  for (const char* op : {"exists", "absent"}) {
    if (!node[op]) continue;
    bool b = false;
    if (GetBool(node[op], std::string(what) + "." + op, &b)) {
      m->exists = std::string_view(op) == "exists" ? b : !b;
      m->canonical["exists"] = JsonValue(*m->exists);
    } else {
      ok = false;
    }
  }
  return ok;
}

bool PolicyCompiler::CompileBounds(const YAML::Node& node, const std::string& what,
                                   ValueMatcher* m) {
  bool ok = true;
  const std::pair<const char*, std::optional<double>*> numeric[] = {
      {"gt", &m->gt}, {"gte", &m->gte}, {"lt", &m->lt}, {"lte", &m->lte}};
  for (const auto& [op, slot] : numeric) {
    if (!node[op]) continue;
    double d = 0;
    if (GetNumber(node[op], std::string(what) + "." + op, &d)) {
      *slot = d;
      m->canonical[op] = JsonValue(d);
    } else {
      ok = false;
    }
  }
  return ok;
}

bool PolicyCompiler::CompileConstraints(const YAML::Node& node, v1::Constraints* out,
                                        JsonValue* canon) {
  *canon = JsonValue::MakeObject();
  if (!CheckMap(node, "constraints", kConstraintKeys)) return false;
  bool any = false;
  auto limit = [&](const char* key, int64_t min, auto setter) {
    if (!node[key]) return;
    int64_t v = 0;
    if (GetInt(node[key], key, min, UINT32_MAX, &v)) {
      setter(static_cast<uint32_t>(v));
      (*canon)[key] = JsonValue(v);
      any = true;
    }
  };
  limit("max_runtime_sec", 1, [&](uint32_t v) { out->set_max_runtime_sec(v); });
  limit("max_retries", 0, [&](uint32_t v) { out->set_max_retries(v); });
  limit("max_diff_lines", 0, [&](uint32_t v) { out->set_max_diff_lines(v); });
  limit("max_files", 0, [&](uint32_t v) { out->set_max_files(v); });

  auto list = [&](const char* key, auto add) {
    if (!node[key]) return false;
    std::vector<std::string> values;
    if (!GetStringList(node[key], key, &values)) return false;
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    JsonValue arr = JsonValue::MakeArray();
    for (const auto& v : values) {
      add(v);
      arr.push_back(JsonValue(v));
    }
    (*canon)[key] = std::move(arr);
    any = true;
    return true;
  };
  list("network_allowlist", [&](const std::string& v) {
    out->mutable_network_allowlist()->add_values()->set_string_value(v);
  });
  if (node["network_allowlist"]) out->mutable_network_allowlist();  // present even if empty
  list("network_denylist", [&](const std::string& v) { out->add_network_denylist(v); });
  list("path_allowlist", [&](const std::string& v) {
    out->mutable_path_allowlist()->add_values()->set_string_value(v);
  });
  if (node["path_allowlist"]) out->mutable_path_allowlist();
  list("path_denylist", [&](const std::string& v) { out->add_path_denylist(v); });

  if (node["redaction_level"]) {
    std::string level;
    if (GetString(node["redaction_level"], "redaction_level", &level)) {
      if (std::find(kRedactionLevels.begin(), kRedactionLevels.end(), level) ==
          kRedactionLevels.end()) {
        Error(node["redaction_level"], "redaction_level must be one of none, standard, strict" +
                                           DidYouMean(level, kRedactionLevels));
      } else {
        out->set_redaction_level(level);
        (*canon)["redaction_level"] = JsonValue(level);
        any = true;
      }
    }
  }
  if (node["custom"]) {
    if (!node["custom"].IsMap()) {
      Error(node["custom"], "constraints.custom must be a mapping");
    } else {
      std::string json;
      YamlToJson(node["custom"], /*typed=*/true, &json);
      auto status = google::protobuf::util::JsonStringToMessage(json, out->mutable_custom());
      if (!status.ok()) {
        Error(node["custom"], "constraints.custom: " + std::string(status.message()));
      } else {
        (*canon)["custom"] = YamlToCanonical(node["custom"]);
        any = true;
      }
    }
  }
  return any;
}

void PolicyCompiler::CompileRate(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (rule->decision != v1::THROTTLE) {
    Error(node, "'rate' only applies to rules that decide throttle");
    return;
  }
  if (!CheckMap(node, "rate", kRateKeys)) return;
  v1::Rate rate;
  rate.set_rule(rule->id);
  rate.set_key("actor.agent_id");
  int64_t limit = 0;
  if (!node["limit"]) {
    Error(node, "rate needs a 'limit' (jobs per period)");
  } else if (GetInt(node["limit"], "rate.limit", 1, UINT32_MAX, &limit)) {
    rate.set_limit(static_cast<uint32_t>(limit));
  }
  if (!node["period"]) {
    Error(node, "rate needs a 'period' such as 1s, 1m or 1h");
  } else {
    std::optional<int64_t> seconds;
    if (node["period"].IsScalar()) seconds = ParseDurationSeconds(node["period"].Scalar());
    if (!seconds || *seconds <= 0 || *seconds > UINT32_MAX) {
      Error(node["period"], "rate.period must be a positive duration such as 1s, 1m or 1h");
    } else {
      rate.set_period_sec(static_cast<uint32_t>(*seconds));
    }
  }
  if (node["key"]) {
    std::string key;
    if (GetString(node["key"], "rate.key", &key)) {
      const bool known =
          std::find(kRateFieldKeys.begin(), kRateFieldKeys.end(), key) != kRateFieldKeys.end() ||
          (key.rfind("labels.", 0) == 0 && key.size() > 7);
      if (!known) {
        Error(node["key"],
              "rate.key '" + key + "' is not a job field" + DidYouMean(key, kRateFieldKeys));
      } else {
        rate.set_key(key);
      }
    }
  }
  JsonValue r = JsonValue::MakeObject();
  r["limit"] = JsonValue(rate.limit());
  r["period_sec"] = JsonValue(rate.period_sec());
  r["key"] = JsonValue(rate.key());
  (*canon)["rate"] = std::move(r);
  rule->rate = std::move(rate);
}

void PolicyCompiler::CompileExamples(const YAML::Node& node, CompiledRule* rule) {
  if (!CheckMap(node, "examples", kExampleKeys)) return;
  for (const char* key : {"match", "no_match"}) {
    const YAML::Node list = node[key];
    if (!list) continue;
    if (!list.IsSequence()) {
      Error(list, std::string("examples.") + key + " must be a list of jobs");
      continue;
    }
    for (const auto& item : list) {
      RuleExample example;
      example.should_match = std::string_view(key) == "match";
      example.line = item.Mark().line + 1;
      example.col = item.Mark().column + 1;
      Status status = JobFromYamlNode(item, &example.job);
      if (!status.ok()) {
        Error(item, "example job: " + status.message());
        continue;
      }
      rule->examples.push_back(std::move(example));
    }
  }
}

void PolicyCompiler::CompileSecretsPresent(const YAML::Node& node, CompiledRule* rule,
                                           JsonValue* canon) {
  SecretsCondition c;
  const auto& known = SecretScanner::Default().detector_ids();
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    c.want_present = node.Scalar() == "true";
    c.canonical = JsonValue(c.want_present);
  } else {
    std::vector<std::string> ids;
    if (!GetStringList(node, "secrets_present", &ids) || ids.empty()) {
      Error(node, "secrets_present is true, false, or a list of detector ids");
      return;
    }
    const std::vector<std::string_view> names(known.begin(), known.end());
    bool ok = true;
    for (const auto& id : ids) {
      if (std::find(known.begin(), known.end(), id) == known.end()) {
        std::string hint = DidYouMean(id, names);
        if (hint.empty()) hint = " (known: " + JoinWords(names) + ")";
        Error(node, "unknown secret detector '" + id + "'" + hint);
        ok = false;
      }
    }
    if (!ok) return;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    c.detectors = ids;
    c.canonical = JsonValue::MakeArray();
    for (const auto& id : ids) c.canonical.push_back(JsonValue(id));
  }
  (*canon)["secrets_present"] = c.canonical;
  rule->Action().secrets = std::move(c);
}

bool PolicyCompiler::GetWindow(const YAML::Node& node, const std::string& what, int64_t* out_ms) {
  std::optional<int64_t> seconds;
  if (node.IsScalar()) seconds = ParseDurationSeconds(node.Scalar());
  if (!seconds || *seconds <= 0 || *seconds > 366 * 86400) {
    Error(node, what + " is a positive duration of at most a year (`90`, `30s`, `10m`, `24h`)");
    return false;
  }
  *out_ms = *seconds * 1000;
  return true;
}

bool PolicyCompiler::CompileSessionCount(const YAML::Node& node, const std::string& what,
                                         SessionCount* out, JsonValue* canon) {
  *canon = JsonValue::MakeObject();
  if (node.IsScalar()) {  // `denied: 3` is `denied: {gte: 3}`
    double d = 0;
    if (!GetNumber(node, what, &d)) return false;
    out->gte = d;
    (*canon)["gte"] = JsonValue(d);
    return true;
  }
  if (!CheckMap(node, what, kSessionCountKeys)) return false;
  bool ok = true, any = false;
  const std::pair<const char*, std::optional<double>*> ops[] = {
      {"gt", &out->gt}, {"gte", &out->gte}, {"lt", &out->lt}, {"lte", &out->lte}};
  for (const auto& [op, slot] : ops) {
    if (!node[op]) continue;
    double d = 0;
    if (GetNumber(node[op], what + "." + op, &d)) {
      *slot = d;
      (*canon)[op] = JsonValue(d);
      any = true;
    } else {
      ok = false;
    }
  }
  if (!any && ok) {
    Error(node, what + " needs a count: gt, gte, lt or lte");
    return false;
  }
  if (node["within"]) {
    if (!GetWindow(node["within"], what + ".within", &out->within_ms)) return false;
    (*canon)["within_sec"] = JsonValue(static_cast<double>(out->within_ms / 1000));
  }
  return ok;
}

bool PolicyCompiler::CompileDeniedTarget(const YAML::Node& node, SessionCondition* out,
                                         JsonValue* canon) {
  const uint32_t all = (1u << kTargetKinds.size()) - 1;
  const uint32_t path_and_host = 0b011;  // programs only when named: `cat` is everywhere
  *canon = JsonValue::MakeObject();
  if (node.IsScalar()) {
    if (node.Scalar() != "same") {
      Error(node, "session.denied_target is `same` or {same: [path, host, program], within: D}");
      return false;
    }
    out->target_kinds = path_and_host;
  } else {
    if (!CheckMap(node, "session.denied_target", kDeniedTargetKeys)) return false;
    std::vector<std::string> kinds;
    if (!node["same"] || !GetStringList(node["same"], "session.denied_target.same", &kinds) ||
        kinds.empty()) {
      Error(node, "session.denied_target.same lists target kinds: path, host, program");
      return false;
    }
    for (const std::string& kind : kinds) {
      auto it = std::find(kTargetKinds.begin(), kTargetKinds.end(), kind);
      if (it == kTargetKinds.end()) {
        Error(node["same"], "unknown target kind '" + kind + "'" +
                                DidYouMean(kind, std::vector<std::string_view>(
                                                     kTargetKinds.begin(), kTargetKinds.end())) +
                                " (known: path, host, program)");
        return false;
      }
      out->target_kinds |= 1u << (it - kTargetKinds.begin());
    }
    if (node["within"] &&
        !GetWindow(node["within"], "session.denied_target.within", &out->target_within_ms)) {
      return false;
    }
  }
  out->target_kinds &= all;
  out->denied_target = true;
  JsonValue kinds = JsonValue::MakeArray();
  for (size_t k = 0; k < kTargetKinds.size(); ++k) {
    if (out->target_kinds & (1u << k)) kinds.push_back(JsonValue(std::string(kTargetKinds[k])));
  }
  (*canon)["same"] = kinds;
  if (out->target_within_ms > 0) {
    (*canon)["within_sec"] = JsonValue(static_cast<double>(out->target_within_ms / 1000));
  }
  return true;
}

void PolicyCompiler::CompileSession(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (!CheckMap(node, "match.session", kSessionKeys)) return;
  SessionCondition c;
  c.canonical = JsonValue::MakeObject();
  const std::pair<const char*, std::vector<v1::Verdict>> counts[] = {
      {"denied", {v1::DENY, v1::TERMINATE}},
      {"held", {v1::REQUIRE_APPROVAL}},
      {"alerted", {v1::ALERT}}};
  bool ok = true;
  for (const auto& [key, verdicts] : counts) {
    if (!node[key]) continue;
    SessionCount count;
    count.verdicts = verdicts;
    JsonValue count_canon;
    if (!CompileSessionCount(node[key], std::string("session.") + key, &count, &count_canon)) {
      ok = false;
      continue;
    }
    c.canonical[key] = count_canon;
    c.counts.push_back(std::move(count));
  }
  if (node["denied_target"]) {
    JsonValue target_canon;
    if (CompileDeniedTarget(node["denied_target"], &c, &target_canon)) {
      c.canonical["denied_target"] = target_canon;
    } else {
      ok = false;
    }
  }
  if (!ok) return;
  if (c.counts.empty() && !c.denied_target) {
    Error(node, "match.session sets no condition (denied, held, alerted, denied_target)");
    return;
  }
  (*canon)["session"] = c.canonical;
  rule->Action().session = std::move(c);
}

// Redaction paths are dotted ("args.env.*", "labels.session"); they are matched as
// slash paths so that `*` stays within one segment and `**` crosses them. A label key is
// one segment whatever dots it holds.
std::string RedactPathToSlashes(const std::string& dotted) {
  if (dotted.rfind("labels.", 0) == 0) return "labels/" + dotted.substr(7);
  std::string out = dotted;
  std::replace(out.begin(), out.end(), '.', '/');
  return out;
}

void PolicyCompiler::CompileRedact(const YAML::Node& node, CompiledRule* rule, JsonValue* canon) {
  if (!CheckMap(node, "redact", kRedactKeys)) return;
  std::vector<std::string> paths;
  if (!node["paths"] || !GetStringList(node["paths"], "redact.paths", &paths) || paths.empty()) {
    Error(node, "redact needs 'paths': job fields to replace, such as args.env.* or labels.token");
    return;
  }
  std::string combined;
  for (const auto& p : paths) {
    if (p.rfind("args.", 0) != 0 && p.rfind("labels.", 0) != 0 && p != "payload") {
      Error(node["paths"],
            "redact path '" + p + "' must start with args. or labels., or be payload");
      return;
    }
    std::string error;
    const std::string re = GlobToRegex(RedactPathToSlashes(p), &error);
    if (!error.empty()) {
      Error(node["paths"], "invalid redact path '" + p + "': " + error);
      return;
    }
    combined += (combined.empty() ? "" : "|") + std::string("(?:") + re + ")";
  }
  auto compiled = std::make_unique<RE2>(combined, RE2::Quiet);
  if (!compiled->ok()) {
    Error(node["paths"], "redact paths: " + compiled->error());
    return;
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  JsonValue list = JsonValue::MakeArray();
  for (const auto& p : paths) list.push_back(JsonValue(p));
  (*canon)["redact_paths"] = std::move(list);
  rule->redact_paths = std::move(compiled);
}

void PolicyCompiler::BuildIndexes(Policy::Impl* impl) {
  const auto& rules = impl->rules;
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const CompiledRule& rule = rules[i];
    impl->by_id.emplace(rule.id, i);

    // Choose the most selective anchor. A topic pattern is worth its literal tokens
    // (`job.db.*` = 2, `job.>` = 1); an equality condition on an indexed field 2; a
    // required risk tag 1.5. Below 1.5 the rule is checked for every job.
    double topic_score = 0;
    if (!rule.topics.empty()) {
      topic_score = 1e9;
      for (const auto& pattern : rule.topics) {
        std::vector<std::string_view> tokens;
        TokenizeSubject(pattern, &tokens);
        double literal = 0;
        for (auto t : tokens) {
          if (t == "*" || t == ">") break;
          ++literal;
        }
        topic_score = std::min(topic_score, literal);
      }
    }
    const FieldCondition* eq = nullptr;
    for (const auto& cond : rule.fields) {
      if (static_cast<size_t>(cond.field.kind) < kNumIndexedFields &&
          cond.matcher.IsPureEquality()) {
        eq = &cond;
        break;
      }
    }
    const double eq_score = eq ? 2 : 0;
    const double tag_score = rule.risk_all.empty() ? 0 : 1.5;
    const double best = std::max({topic_score, eq_score, tag_score});
    if (best < 1.5) {
      impl->unanchored.push_back(i);
    } else if (topic_score == best) {
      for (const auto& pattern : rule.topics) impl->topic_index.Insert(pattern, i);
    } else if (eq_score == best) {
      auto& buckets = impl->field_index[static_cast<size_t>(eq->field.kind)];
      for (const auto& lit : eq->matcher.in) {
        auto& bucket = buckets[lit.text];
        if (bucket.empty() || bucket.back() != i) bucket.push_back(i);
      }
    } else {
      impl->risk_tag_index[rule.risk_all.front()].push_back(i);
    }
  }

  std::vector<uint32_t> order(rules.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (rules[a].decision != rules[b].decision) return rules[a].decision > rules[b].decision;
    if (rules[a].risk_score != rules[b].risk_score) {
      return rules[a].risk_score > rules[b].risk_score;
    }
    return rules[a].id < rules[b].id;
  });
  impl->precedence_rank.resize(rules.size());
  for (uint32_t pos = 0; pos < order.size(); ++pos) impl->precedence_rank[order[pos]] = pos;
}

// --- public entry points ----------------------------------------------------------------

std::string Diagnostic::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + message;
}

std::string CompileResult::ErrorText() const {
  std::string out;
  for (const auto& e : errors) {
    out += e.ToString();
    out += '\n';
  }
  return out;
}

CompileResult Compile(std::string_view yaml_text, const CompileOptions& options) {
  PolicyCompiler compiler(options);
  return compiler.Run(yaml_text);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Internal("error reading '" + path + "'");
  return ss.str();
}

CompileResult CompileFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    CompileResult result;
    result.errors.push_back({path, 1, 1, text.status().message()});
    return result;
  }
  CompileOptions options;
  options.file_name = path;
  return Compile(*text, options);
}

Result<v1::Job> JobFromYaml(std::string_view yaml_text) {
  try {
    YAML::Node node;
    YamlError yaml_error;
    if (!LoadYaml(yaml_text, YamlBudget::Default(), &node, &yaml_error)) {
      return InvalidArgument("line " + std::to_string(yaml_error.line) + ":" +
                             std::to_string(yaml_error.column) + ": " + yaml_error.message);
    }
    v1::Job job;
    Status status = JobFromYamlNode(node, &job);
    if (!status.ok()) return status;
    return job;
  } catch (const YAML::Exception& e) {
    return InvalidArgument("invalid YAML/JSON at line " + std::to_string(e.mark.line + 1) + ": " +
                           e.msg);
  }
}

}  // namespace jobgate::policy
