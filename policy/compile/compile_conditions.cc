// The conditions on the analysed action (ActionConditions in model.h; see
// policy_compiler.h): match.command with its programs, subcommands and flags in the form
// the command analysis writes them, match.sql, match.egress, match.effects with its path
// effects, sends, inline code and resource deletions, match.secrets_present and
// match.session with its counts and denied targets. match.path, the other action
// condition, is a value matcher (CompileMatch in compiler.cc).

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "base/duration.h"
#include "base/yaml_map.h"
#include "policy/analysis/command.h"
#include "policy/analysis/command_effects.h"
#include "policy/analysis/secrets.h"
#include "policy/analysis/sql.h"
#include "policy/compile/model.h"
#include "policy/compile/policy_compiler.h"

namespace jobgate::policy {
namespace {

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
const std::vector<std::string_view> kSessionKeys = {"denied", "held", "alerted", "denied_target"};
const std::vector<std::string_view> kSessionCountKeys = {"gt", "gte", "lt", "lte", "within"};
const std::vector<std::string_view> kDeniedTargetKeys = {"same", "within"};

}  // namespace

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
      AsciiLowerInPlace(&kind);
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
    for (std::string& o : c.objects) AsciiLowerInPlace(&o);
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

}  // namespace jobgate::policy
