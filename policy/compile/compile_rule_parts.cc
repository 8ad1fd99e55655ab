// What a rule carries besides its match (see policy_compiler.h): constraints (also those
// of the defaults), the rate of a throttle rule, the example jobs, and the redact paths.

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "base/yaml_map.h"
#include "policy/compile/glob.h"
#include "policy/compile/model.h"
#include "policy/compile/policy_compiler.h"

namespace jobgate::policy {
namespace {

const std::vector<std::string_view> kRedactKeys = {"paths"};
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

namespace {

// Redaction paths are dotted ("args.env.*", "labels.session"); they are matched as
// slash paths so that `*` stays within one segment and `**` crosses them. A label key is
// one segment whatever dots it holds.
std::string RedactPathToSlashes(const std::string& dotted) {
  if (dotted.rfind("labels.", 0) == 0) return "labels/" + dotted.substr(7);
  std::string out = dotted;
  std::replace(out.begin(), out.end(), '.', '/');
  return out;
}

}  // namespace

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

}  // namespace jobgate::policy
