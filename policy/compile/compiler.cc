// The compiler's driver and the rule (see policy_compiler.h): Run, which reads the document
// and assembles the Policy; the defaults; a rule with its id, decision and match (topics,
// risk tags, job and actor fields, labels and args, and the calls into the other files); the
// typed getters of YAML values; YAML to JSON and to the canonical form; and the public entry
// points of policy.h (Compile, CompileFile, ReadFile, JobFromYaml).

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
#include "policy/compile/model.h"
#include "policy/compile/policy_compiler.h"
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
const std::vector<std::string_view> kActorKeys = {"agent_id", "session_id", "owner", "team",
                                                  "type"};

}  // namespace

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
