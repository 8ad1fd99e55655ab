// Value matchers (see policy_compiler.h): a field's value, list or operators (in, not_in,
// glob, regex, exists, absent, gt, gte, lt, lte) into a ValueMatcher; a list of globs into
// one RE2 (CompileGlobs, also for the conditions' globs); and CompileRegex and ChargeRegex,
// which compile those RE2s and charge them to CompileOptions::max_regex_instructions. The
// redact paths (compile_rule_parts.cc) are compiled apart and not charged.

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/compile/glob.h"
#include "policy/compile/model.h"
#include "policy/compile/policy_compiler.h"

namespace jobgate::policy {
namespace {

const std::vector<std::string_view> kOperatorKeys = {"glob",   "regex", "in",  "not_in", "exists",
                                                     "absent", "gt",    "gte", "lt",     "lte"};

}  // namespace

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

bool PolicyCompiler::CompileRegex(const YAML::Node& node, const std::string& pattern,
                                  const std::string& refusal, std::unique_ptr<RE2>* out) {
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

bool PolicyCompiler::ChargeRegex(const YAML::Node& node, const RE2& re) {
  regex_instructions_ += static_cast<size_t>(std::max(re.ProgramSize(), 0));
  if (regex_instructions_ <= options_.max_regex_instructions) return true;
  Error(node, "the policy's regexes and globs compile to more than max_regex_instructions (" +
                  std::to_string(options_.max_regex_instructions) + ") instructions");
  return false;
}

}  // namespace jobgate::policy
