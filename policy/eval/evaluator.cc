// Evaluation: the per-job hot path, plus the slow paths built on the same condition
// checks (explain, examples). See docs/policy.md for the semantics implemented here.
// What a job's action is (its command, SQL, paths, ...) is analysed in
// action_analysis.cc; redaction is in redact.cc, verdict names in verdicts.cc.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>

#include "policy/compile/model.h"
#include "policy/policy.h"

namespace jobgate::policy {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Value;

constexpr std::string_view kDefaultTenant = "default";

// A job's value for one field: absent, a string, or a structured value from args.
struct FieldValue {
  bool present = false;
  std::string_view text;              // when !structured
  const Value* structured = nullptr;  // args values
};

FieldValue StringField(std::string_view s) { return {!s.empty(), s, nullptr}; }

FieldValue ReadField(const FieldRef& ref, const v1::Job& job) {
  switch (ref.kind) {
    case FieldKind::kTenant:
      return {true, job.tenant_id().empty() ? kDefaultTenant : std::string_view(job.tenant_id()),
              nullptr};
    case FieldKind::kEnvironment:
      return StringField(job.environment());
    case FieldKind::kCapability:
      return StringField(job.capability());
    case FieldKind::kActorAgentId:
      return StringField(job.actor().agent_id());
    case FieldKind::kActorSessionId:
      return StringField(job.actor().session_id());
    case FieldKind::kActorOwner:
      return StringField(job.actor().owner());
    case FieldKind::kActorTeam:
      return StringField(job.actor().team());
    case FieldKind::kActorType:
      return StringField(job.actor().type());
    case FieldKind::kTopic:
      return StringField(job.topic());
    case FieldKind::kJobId:
      return StringField(job.job_id());
    case FieldKind::kLabel: {
      auto it = job.labels().find(ref.label_key);
      if (it == job.labels().end()) return {};
      return {true, it->second, nullptr};
    }
    case FieldKind::kArg: {
      if (!job.has_args()) return {};
      const google::protobuf::Struct* s = &job.args();
      const Value* v = nullptr;
      for (size_t i = 0; i < ref.arg_path.size(); ++i) {
        if (s == nullptr) return {};
        auto it = s->fields().find(ref.arg_path[i]);
        if (it == s->fields().end()) return {};
        v = &it->second;
        s = v->has_struct_value() ? &v->struct_value() : nullptr;
      }
      if (v == nullptr || v->kind_case() == Value::KIND_NOT_SET ||
          v->kind_case() == Value::kNullValue) {
        return {};
      }
      if (v->kind_case() == Value::kStringValue) return {true, v->string_value(), nullptr};
      return {true, {}, v};
    }
  }
  return {};
}

std::optional<double> ParseNumber(std::string_view s) {
  double d;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return d;
}

// One scalar job value: text, number or bool.
struct Scalar {
  std::string_view text;
  std::optional<double> number;
  std::optional<bool> boolean;
  std::string number_text;  // printed form of a number, for text comparisons
};

bool LiteralEquals(const Literal& lit, const Scalar& v) {
  if (v.boolean) return lit.boolean && *lit.boolean == *v.boolean;
  if (v.number && v.text.empty()) return lit.number && *lit.number == *v.number;
  return lit.text == v.text;
}

bool InList(const std::vector<Literal>& list, const Scalar& v) {
  for (const auto& lit : list) {
    if (LiteralEquals(lit, v)) return true;
  }
  return false;
}

// Positive operators on one present scalar. not_in and exists are handled by the caller.
bool ScalarSatisfies(const ValueMatcher& m, const Scalar& v) {
  if (m.has_in && !InList(m.in, v)) return false;
  std::string_view text = v.text;
  if (v.boolean) text = *v.boolean ? "true" : "false";
  if (v.number && v.text.empty()) text = v.number_text;
  if (m.glob && !RE2::FullMatch(text, *m.glob)) return false;
  if (m.regex && !RE2::PartialMatch(text, *m.regex)) return false;
  if (m.gt || m.gte || m.lt || m.lte) {
    std::optional<double> n = v.number ? v.number : ParseNumber(v.text);
    if (!n) return false;  // numeric operators never match non-numbers
    if (m.gt && !(*n > *m.gt)) return false;
    if (m.gte && !(*n >= *m.gte)) return false;
    if (m.lt && !(*n < *m.lt)) return false;
    if (m.lte && !(*n <= *m.lte)) return false;
  }
  return true;
}

bool HasPositiveOperator(const ValueMatcher& m) {
  return m.has_in || m.glob || m.regex || m.gt || m.gte || m.lt || m.lte;
}

Scalar ToScalar(const Value& v) {
  Scalar s;
  switch (v.kind_case()) {
    case Value::kStringValue:
      s.text = v.string_value();
      break;
    case Value::kBoolValue:
      s.boolean = v.bool_value();
      break;
    case Value::kNumberValue: {
      s.number = v.number_value();
      char buf[32];
      const double d = v.number_value();
      if (d == std::floor(d) && std::fabs(d) < 1e15) {
        std::snprintf(buf, sizeof(buf), "%.0f", d);
      } else {
        std::snprintf(buf, sizeof(buf), "%.17g", d);
      }
      s.number_text = buf;
      break;
    }
    default:
      break;  // structs never equal a scalar
  }
  return s;
}

// Applies the matcher to a value. For a list value, positive operators hold when any
// element satisfies them all, and not_in holds when no element is in the list.
bool MatchValue(const ValueMatcher& m, const FieldValue& fv) {
  if (!fv.present) {
    // Absent: exists fails, absent holds, not_in holds (absent is in no list), every
    // positive operator fails.
    if (m.exists) return !*m.exists && !HasPositiveOperator(m);
    return !HasPositiveOperator(m);
  }
  if (m.exists && !*m.exists) return false;
  if (fv.structured == nullptr) {
    Scalar s;
    s.text = fv.text;
    if (m.has_not_in && InList(m.not_in, s)) return false;
    return !HasPositiveOperator(m) || ScalarSatisfies(m, s);
  }
  const Value& v = *fv.structured;
  if (v.kind_case() == Value::kListValue) {
    const ListValue& list = v.list_value();
    if (m.has_not_in) {
      for (const auto& item : list.values()) {
        if (InList(m.not_in, ToScalar(item))) return false;
      }
    }
    if (!HasPositiveOperator(m)) return true;
    for (const auto& item : list.values()) {
      if (item.kind_case() == Value::kStructValue || item.kind_case() == Value::kListValue) {
        continue;
      }
      if (ScalarSatisfies(m, ToScalar(item))) return true;
    }
    return false;
  }
  if (v.kind_case() == Value::kStructValue) {
    // An object only satisfies presence tests.
    return !HasPositiveOperator(m);
  }
  const Scalar s = ToScalar(v);
  if (m.has_not_in && InList(m.not_in, s)) return false;
  return !HasPositiveOperator(m) || ScalarSatisfies(m, s);
}

bool HasTag(const v1::Job& job, const std::string& tag) {
  for (const auto& t : job.risk_tags()) {
    if (t == tag) return true;
  }
  return false;
}

bool AnyTopicMatches(const std::vector<std::string>& patterns,
                     const std::vector<std::string_view>& tokens) {
  if (tokens.empty()) return false;  // no topic: matches no pattern
  for (const auto& p : patterns) {
    if (SubjectMatches(p, tokens)) return true;
  }
  return false;
}

bool Contains(const std::vector<std::string>& sorted, const std::string& s) {
  return std::binary_search(sorted.begin(), sorted.end(), s);
}

bool CommandMatches(const CommandCondition& c, const SimpleCommand& cmd,
                    const std::vector<std::string>& normalized_args) {
  if (!c.programs.empty() && !Contains(c.programs, cmd.program)) return false;
  if (!c.not_programs.empty() && Contains(c.not_programs, cmd.program)) return false;
  if (!c.subcommands.empty() && !Contains(c.subcommands, cmd.subcommand)) return false;
  // cmd.flags is sorted too.
  if (!std::includes(cmd.flags.begin(), cmd.flags.end(), c.flags_all.begin(), c.flags_all.end())) {
    return false;
  }
  if (!c.flags_any.empty() &&
      std::none_of(c.flags_any.begin(), c.flags_any.end(),
                   [&](const std::string& f) { return Contains(cmd.flags, f); })) {
    return false;
  }
  for (const std::string& f : c.flags_none) {
    if (Contains(cmd.flags, f)) return false;
  }
  if (c.args_glob) {
    bool any = false;
    for (size_t k = 0; k < cmd.args.size() && !any; ++k) {
      any = RE2::FullMatch(cmd.args[k], *c.args_glob) ||
            RE2::FullMatch(normalized_args[k], *c.args_glob);
    }
    if (!any) return false;
  }
  return true;
}

bool CommandHolds(const CommandCondition& c, const v1::Job& job, ActionAnalysis* a) {
  const CommandAnalysis& analysis = a->Command(job);
  if (c.opaque && *c.opaque != analysis.opaque) return false;
  if (c.opaque && *c.opaque && c.programs.empty() && c.not_programs.empty() &&
      c.subcommands.empty() && c.flags_all.empty() && c.flags_any.empty() && c.flags_none.empty() &&
      !c.args_glob) {
    return true;  // `opaque: true` alone
  }
  const auto& normalized = a->NormalizedArgs(job);
  for (size_t i = 0; i < analysis.commands.size(); ++i) {
    if (CommandMatches(c, analysis.commands[i], normalized[i])) return true;
  }
  return false;
}

bool SqlHolds(const SqlCondition& c, const v1::Job& job, ActionAnalysis* a) {
  for (const SqlStatement& st : a->Sql(job)) {
    if (!c.kinds.empty() && std::find(c.kinds.begin(), c.kinds.end(), st.kind) == c.kinds.end()) {
      continue;
    }
    if (!c.objects.empty() && !Contains(c.objects, st.object)) continue;
    return true;
  }
  return false;
}

bool PathHolds(const ValueMatcher& m, const v1::Job& job, ActionAnalysis* a) {
  bool present = false;
  const std::vector<std::string>& paths = a->Paths(job, &present);
  if (!present) return MatchValue(m, FieldValue{});
  if (m.has_not_in) {
    for (const std::string& p : paths) {
      Scalar s;
      s.text = p;
      if (InList(m.not_in, s)) return false;
    }
  }
  if (m.exists && !*m.exists) return false;
  if (!HasPositiveOperator(m)) return true;
  for (const std::string& p : paths) {
    Scalar s;
    s.text = p;
    if (ScalarSatisfies(m, s)) return true;
  }
  return false;
}

bool EgressHolds(const EgressCondition& c, const v1::Job& job, ActionAnalysis* a) {
  for (const std::string& host : a->Hosts(job)) {
    if (c.hosts && !RE2::FullMatch(host, *c.hosts)) continue;
    if (c.hosts_not_in && RE2::FullMatch(host, *c.hosts_not_in)) continue;
    return true;
  }
  return false;
}

bool PathEffectMatches(const PathEffectCondition& c, const PathEffect& e) {
  if (c.recursive && *c.recursive != e.recursive) return false;
  if (c.places != 0 && (c.places & (1u << static_cast<int>(e.place))) == 0) return false;
  if (!c.programs.empty() && !Contains(c.programs, e.program)) return false;
  if (!c.not_programs.empty() && Contains(c.not_programs, e.program)) return false;
  return !c.glob || RE2::FullMatch(e.path, *c.glob) ||
         (!e.relative.empty() && RE2::FullMatch(e.relative, *c.glob));
}

bool AnyPathEffect(const std::optional<PathEffectCondition>& c,
                   const std::vector<PathEffect>& effects) {
  if (!c) return true;
  return std::any_of(effects.begin(), effects.end(),
                     [&](const PathEffect& e) { return PathEffectMatches(*c, e); });
}

bool EffectsHold(const EffectsCondition& c, const v1::Job& job, ActionAnalysis* a) {
  const CommandEffects& fx = a->Effects(job);
  if (!AnyPathEffect(c.deletes, fx.deletes) || !AnyPathEffect(c.writes, fx.writes) ||
      !AnyPathEffect(c.reads, fx.reads)) {
    return false;
  }
  if (c.has_sends && std::none_of(fx.hosts.begin(), fx.hosts.end(), [&](const HostEffect& h) {
        if (c.sends_data && *c.sends_data != h.sends_data) return false;
        if (c.sends_hosts && !RE2::FullMatch(h.host, *c.sends_hosts)) return false;
        return !(c.sends_hosts_not_in && RE2::FullMatch(h.host, *c.sends_hosts_not_in));
      })) {
    return false;
  }
  if (c.executes_inline_code && *c.executes_inline_code == fx.inline_code.empty()) return false;
  if (c.code_classes != 0 &&
      std::none_of(fx.inline_code.begin(), fx.inline_code.end(), [&](const InlineCode& code) {
        return (c.code_classes & (1u << static_cast<int>(code.cls))) != 0;
      })) {
    return false;
  }
  if (c.has_deletes_resources &&
      std::none_of(
          fx.deleted_resources.begin(), fx.deleted_resources.end(), [&](const ResourceEffect& r) {
            if (!c.resource_programs.empty() && !Contains(c.resource_programs, r.program))
              return false;
            return c.resource_not_programs.empty() || !Contains(c.resource_not_programs, r.program);
          })) {
    return false;
  }
  return true;
}

bool SecretsHold(const SecretsCondition& c, const v1::Job& job, ActionAnalysis* a) {
  const std::vector<std::string>& found = a->Secrets(job);
  if (!c.want_present) return found.empty();
  if (c.detectors.empty()) return !found.empty();
  for (const auto& id : c.detectors) {
    if (std::binary_search(found.begin(), found.end(), id)) return true;
  }
  return false;
}

int64_t EventMillis(const v1::SessionEvent& e) {
  return google::protobuf::util::TimeUtil::TimestampToMilliseconds(e.at());
}

// Events of the session with one of `verdicts` at most `within_ms` old (0: any age).
uint32_t CountSessionEvents(const SessionContext& s, const std::vector<v1::Verdict>& verdicts,
                            int64_t within_ms) {
  if (s.state == nullptr) return 0;
  uint32_t n = 0;
  for (const v1::SessionEvent& e : s.state->events()) {
    if (within_ms > 0 && EventMillis(e) < s.now_unix_ms - within_ms) continue;
    if (std::find(verdicts.begin(), verdicts.end(), e.decision()) != verdicts.end()) ++n;
  }
  return n;
}

bool TargetOfKinds(std::string_view target, uint32_t kinds) {
  for (size_t k = 0; k < kTargetPrefixes.size(); ++k) {
    if ((kinds & (1u << k)) && target.substr(0, kTargetPrefixes[k].size()) == kTargetPrefixes[k]) {
      return true;
    }
  }
  return false;
}

// The job's targets of `kinds` that a denied job of the session touched within
// `within_ms` (0: any age); appended to `out` when non-null. Returns how many.
size_t RepeatedTargets(uint32_t kinds, int64_t within_ms, const v1::Job& job, ActionAnalysis* a,
                       std::vector<std::string>* out) {
  const SessionContext& s = a->session;
  if (s.state == nullptr || s.state->events().empty()) return 0;
  size_t found = 0;
  for (const std::string& target : a->Targets(job)) {
    if (!TargetOfKinds(target, kinds)) continue;
    for (const v1::SessionEvent& e : s.state->events()) {
      if (!IsDenial(e.decision())) continue;
      if (within_ms > 0 && EventMillis(e) < s.now_unix_ms - within_ms) continue;
      if (std::find(e.targets().begin(), e.targets().end(), target) == e.targets().end()) continue;
      ++found;
      if (out != nullptr) out->push_back(target);
      break;
    }
  }
  return found;
}

bool CountHolds(const SessionCount& c, double n) {
  if (c.gt && !(n > *c.gt)) return false;
  if (c.gte && !(n >= *c.gte)) return false;
  if (c.lt && !(n < *c.lt)) return false;
  if (c.lte && !(n <= *c.lte)) return false;
  return true;
}

bool SessionHolds(const SessionCondition& c, const v1::Job& job, ActionAnalysis* a) {
  for (const SessionCount& count : c.counts) {
    if (!CountHolds(count, CountSessionEvents(a->session, count.verdicts, count.within_ms))) {
      return false;
    }
  }
  if (c.denied_target &&
      RepeatedTargets(c.target_kinds, c.target_within_ms, job, a, nullptr) == 0) {
    return false;
  }
  return true;
}

// Checks each condition of `rule` in order. Returns -1 when all hold, else the index of
// the first failing condition in the order: 0 topics, 1 not_topics, 2 risk_tags,
// 3 risk_tags_any, 4 risk_tags_none, 5+k fields[k], then (n = fields.size()) 5+n path,
// 6+n command, 7+n sql, 8+n egress, 9+n secrets_present, 10+n effects. `analysis` is only touched
// by rules with path, command, sql, egress or secrets conditions.
int FirstFailingCondition(const CompiledRule& rule, const v1::Job& job,
                          const std::vector<std::string_view>& tokens, ActionAnalysis* analysis) {
  if (!rule.topics.empty() && !AnyTopicMatches(rule.topics, tokens)) return 0;
  if (!rule.not_topics.empty() && AnyTopicMatches(rule.not_topics, tokens)) return 1;
  for (const auto& tag : rule.risk_all) {
    if (!HasTag(job, tag)) return 2;
  }
  if (!rule.risk_any.empty()) {
    bool any = false;
    for (const auto& tag : rule.risk_any) {
      if (HasTag(job, tag)) {
        any = true;
        break;
      }
    }
    if (!any) return 3;
  }
  for (const auto& tag : rule.risk_none) {
    if (HasTag(job, tag)) return 4;
  }
  for (size_t k = 0; k < rule.fields.size(); ++k) {
    const FieldCondition& cond = rule.fields[k];
    if (!MatchValue(cond.matcher, ReadField(cond.field, job))) return 5 + static_cast<int>(k);
  }
  const int n = 5 + static_cast<int>(rule.fields.size());
  if (!rule.action) return -1;
  const ActionConditions& a = *rule.action;
  if (a.path && !PathHolds(*a.path, job, analysis)) return n;
  if (a.command && !CommandHolds(*a.command, job, analysis)) return n + 1;
  if (a.sql && !SqlHolds(*a.sql, job, analysis)) return n + 2;
  if (a.egress && !EgressHolds(*a.egress, job, analysis)) return n + 3;
  if (a.secrets && !SecretsHold(*a.secrets, job, analysis)) return n + 4;
  if (a.effects && !EffectsHold(*a.effects, job, analysis)) return n + 5;
  if (a.session && !SessionHolds(*a.session, job, analysis)) return n + 6;
  return -1;
}

std::string JoinQuoted(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += JsonQuote(items[i]);
  }
  return out + "]";
}

std::string DescribeJobValue(const FieldValue& fv) {
  if (!fv.present) return "absent";
  if (fv.structured == nullptr) return JsonQuote(fv.text);
  const Value& v = *fv.structured;
  switch (v.kind_case()) {
    case Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case Value::kNumberValue:
      return ToScalar(v).number_text;
    case Value::kListValue:
      return "a list of " + std::to_string(v.list_value().values_size());
    case Value::kStructValue:
      return "an object";
    default:
      return "absent";
  }
}

std::string DescribeFailure(const CompiledRule& rule, int which, const v1::Job& job,
                            ActionAnalysis* analysis) {
  const int n = 5 + static_cast<int>(rule.fields.size());
  if (which == n) {
    bool present = false;
    const auto& paths = analysis->Paths(job, &present);
    return "path " + (present ? JoinQuoted(paths) : std::string("absent")) +
           " (normalized); wanted " + rule.action->path->canonical.Dump();
  }
  if (which == n + 1) {
    const CommandAnalysis& a = analysis->Command(job);
    std::string programs;
    for (const auto& c : a.commands) programs += (programs.empty() ? "" : ", ") + c.program;
    return "command: " +
           (a.opaque ? "opaque (" + a.opaque_reason + ")"
                     : std::to_string(a.commands.size()) + " command(s) [" + programs + "]") +
           ", none matches " + rule.action->command->canonical.Dump();
  }
  if (which == n + 2) {
    return "sql: no statement matches " + rule.action->sql->canonical.Dump();
  }
  if (which == n + 3) {
    return "egress: hosts " + JoinQuoted(analysis->Hosts(job)) + ", none matches " +
           rule.action->egress->canonical.Dump();
  }
  if (which == n + 5) {
    const CommandEffects& fx = analysis->Effects(job);
    const CommandAnalysis& cmd = analysis->Command(job);
    return std::string("effects") +
           (cmd.opaque ? " of a command line that is opaque (" + cmd.opaque_reason + ")" : "") +
           ": " + std::to_string(fx.deletes.size()) + " delete(s), " +
           std::to_string(fx.writes.size()) + " write(s), " + std::to_string(fx.reads.size()) +
           " read(s), " + std::to_string(fx.hosts.size()) + " host(s), " +
           std::to_string(fx.inline_code.size()) + " inline code, " +
           std::to_string(fx.deleted_resources.size()) + " resource delete(s); none matches " +
           rule.action->effects->canonical.Dump();
  }
  if (which == n + 6) {
    const SessionContext& s = analysis->session;
    return "session: " +
           (s.state == nullptr ? std::string("no session history")
                               : std::to_string(s.state->events().size()) + " event(s) kept") +
           "; wanted " + rule.action->session->canonical.Dump();
  }
  if (which == n + 4) {
    return "secrets_present: detectors found " + JoinQuoted(analysis->Secrets(job)) + "; wanted " +
           rule.action->secrets->canonical.Dump();
  }
  switch (which) {
    case 0:
      return "topic " + JsonQuote(job.topic()) + " matches none of " + JoinQuoted(rule.topics);
    case 1:
      return "topic " + JsonQuote(job.topic()) + " matches not_topics " +
             JoinQuoted(rule.not_topics);
    case 2:
      return "risk_tags lack one of " + JoinQuoted(rule.risk_all);
    case 3:
      return "risk_tags have none of " + JoinQuoted(rule.risk_any);
    case 4:
      return "risk_tags include one of " + JoinQuoted(rule.risk_none);
    default: {
      const FieldCondition& cond = rule.fields[static_cast<size_t>(which - 5)];
      return cond.field.display + " is " + DescribeJobValue(ReadField(cond.field, job)) +
             "; wanted " + cond.matcher.canonical.Dump();
    }
  }
}

void TokenizeTopic(const v1::Job& job, std::vector<std::string_view>* tokens) {
  tokens->clear();
  if (!job.topic().empty()) TokenizeSubject(job.topic(), tokens);
}

// --- constraint merging ---------------------------------------------------------------

int RedactionRank(const std::string& level) {
  if (level == "strict") return 2;
  if (level == "standard") return 1;
  return 0;
}

void IntersectList(const ListValue& other, ListValue* acc) {
  auto* values = acc->mutable_values();
  for (int i = values->size() - 1; i >= 0; --i) {
    const std::string& s = values->Get(i).string_value();
    bool found = false;
    for (const auto& o : other.values()) {
      if (o.string_value() == s) {
        found = true;
        break;
      }
    }
    if (!found) values->DeleteSubrange(i, 1);
  }
}

void UnionList(const google::protobuf::RepeatedPtrField<std::string>& other,
               google::protobuf::RepeatedPtrField<std::string>* acc) {
  for (const auto& s : other) {
    if (std::find(acc->begin(), acc->end(), s) == acc->end()) *acc->Add() = s;
  }
}

// Folds `src` into `acc`, keeping the tightest of each: smallest limits, intersected
// allowlists, united denylists, the strictest redaction level; custom keys already set
// by a stricter source win.
void MergeConstraints(const v1::Constraints& src, v1::Constraints* acc) {
#define JOBGATE_MERGE_MIN(field)                                                \
  if (src.has_##field() && (!acc->has_##field() || src.field() < acc->field())) \
    acc->set_##field(src.field());
  JOBGATE_MERGE_MIN(max_runtime_sec)
  JOBGATE_MERGE_MIN(max_retries)
  JOBGATE_MERGE_MIN(max_diff_lines)
  JOBGATE_MERGE_MIN(max_files)
#undef JOBGATE_MERGE_MIN
  if (src.has_network_allowlist()) {
    if (acc->has_network_allowlist()) {
      IntersectList(src.network_allowlist(), acc->mutable_network_allowlist());
    } else {
      *acc->mutable_network_allowlist() = src.network_allowlist();
    }
  }
  if (src.has_path_allowlist()) {
    if (acc->has_path_allowlist()) {
      IntersectList(src.path_allowlist(), acc->mutable_path_allowlist());
    } else {
      *acc->mutable_path_allowlist() = src.path_allowlist();
    }
  }
  UnionList(src.network_denylist(), acc->mutable_network_denylist());
  UnionList(src.path_denylist(), acc->mutable_path_denylist());
  if (src.has_redaction_level() &&
      (!acc->has_redaction_level() ||
       RedactionRank(src.redaction_level()) > RedactionRank(acc->redaction_level()))) {
    acc->set_redaction_level(src.redaction_level());
  }
  if (src.has_custom()) {
    auto* fields = acc->mutable_custom()->mutable_fields();
    for (const auto& [key, value] : src.custom().fields()) {
      if (fields->find(key) == fields->end()) (*fields)[key] = value;
    }
  }
}

}  // namespace

// --- Policy ---------------------------------------------------------------------------

Policy::Policy() = default;
Policy::~Policy() = default;

size_t Policy::rule_count() const { return impl_->rules.size(); }
const std::string& Policy::rule_id(size_t index) const { return impl_->rules[index].id; }
v1::Verdict Policy::rule_decision(size_t index) const { return impl_->rules[index].decision; }
int Policy::FindRule(std::string_view id) const {
  auto it = impl_->by_id.find(std::string(id));
  return it == impl_->by_id.end() ? -1 : static_cast<int>(it->second);
}

void Policy::Evaluate(const v1::Job& job, Evaluation* out) const noexcept {
  Evaluate(job, SessionContext{}, out);
}

void Policy::Evaluate(const v1::Job& job, const SessionContext& session,
                      Evaluation* out) const noexcept {
  out->matched.clear();
  out->error.clear();
  out->deciding_rule = -1;
  out->risk_score = 0;
  if (ActionAnalysis* analysis = out->analysis_.get()) analysis->Reset();
  try {
    const Impl& impl = *impl_;
    TokenizeTopic(job, &out->topic_tokens_);
    auto& candidates = out->candidates_;
    candidates.clear();

    impl.topic_index.Match(out->topic_tokens_, &candidates);
    for (size_t f = 0; f < kNumIndexedFields; ++f) {
      const auto& buckets = impl.field_index[f];
      if (buckets.empty()) continue;
      FieldRef ref;
      ref.kind = static_cast<FieldKind>(f);
      const FieldValue v = ReadField(ref, job);
      if (!v.present) continue;
      auto it = buckets.find(v.text);
      if (it != buckets.end()) {
        candidates.insert(candidates.end(), it->second.begin(), it->second.end());
      }
    }
    if (!impl.risk_tag_index.empty()) {
      for (const auto& tag : job.risk_tags()) {
        auto it = impl.risk_tag_index.find(tag);
        if (it != impl.risk_tag_index.end()) {
          candidates.insert(candidates.end(), it->second.begin(), it->second.end());
        }
      }
    }
    candidates.insert(candidates.end(), impl.unanchored.begin(), impl.unanchored.end());
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());

    for (uint32_t c : candidates) {
      const CompiledRule& rule = impl.rules[c];
      ActionAnalysis* analysis = rule.action ? &out->analysis_.Ensure() : nullptr;
      if (analysis != nullptr) {
        analysis->session = session;
        analysis->markers_are_secrets = out->markers_are_secrets;
      }
      if (FirstFailingCondition(rule, job, out->topic_tokens_, analysis) < 0) {
        out->matched.push_back(c);
      }
    }
    if (out->matched.empty()) {
      out->verdict = impl.defaults.decision;
      return;
    }
    std::sort(out->matched.begin(), out->matched.end(), [&](uint32_t a, uint32_t b) {
      return impl.precedence_rank[a] < impl.precedence_rank[b];
    });
    out->deciding_rule = static_cast<int>(out->matched.front());
    out->verdict = impl.rules[out->matched.front()].decision;
    for (uint32_t m : out->matched) {
      out->risk_score = std::max(out->risk_score, impl.rules[m].risk_score);
    }
  } catch (const std::exception& e) {
    out->matched.clear();
    out->deciding_rule = -1;
    out->verdict = v1::DENY;
    out->error = std::string("evaluation failed: ") + e.what();
  } catch (...) {
    out->matched.clear();
    out->deciding_rule = -1;
    out->verdict = v1::DENY;
    out->error = "evaluation failed";
  }
}

void Policy::FillDecision(const v1::Job& job, const Evaluation& eval, const DecisionStamp& stamp,
                          v1::Decision* d) const noexcept {
  try {
    const Impl& impl = *impl_;
    // Clear() deletes sub-messages. Every decision has constraints and most a time, so
    // those two are kept, cleared, and their allocations serve the next decision.
    std::unique_ptr<v1::Constraints> constraints(d->release_constraints());
    std::unique_ptr<google::protobuf::Timestamp> evaluated_at(d->release_evaluated_at());
    d->Clear();
    if (constraints != nullptr) {
      constraints->Clear();
      d->set_allocated_constraints(constraints.release());
    }
    d->set_decision(eval.verdict);
    d->set_job_id(job.job_id());
    d->set_tenant_id(job.tenant_id().empty() ? std::string(kDefaultTenant) : job.tenant_id());
    d->set_topic(job.topic());
    d->set_snapshot(snapshot_name_);
    d->set_snapshot_hash(hash_);
    d->set_decision_id(stamp.decision_id);
    if (stamp.evaluated_at_unix_ms != 0) {
      if (evaluated_at != nullptr) d->set_allocated_evaluated_at(evaluated_at.release());
      *d->mutable_evaluated_at() =
          google::protobuf::util::TimeUtil::MillisecondsToTimestamp(stamp.evaluated_at_unix_ms);
    }
    d->set_risk_score(eval.risk_score);
    if (!eval.error.empty()) {
      d->set_decision(v1::DENY);
      d->set_reason(eval.error);
      return;
    }
    if (eval.deciding_rule < 0) {
      d->set_reason(impl.defaults.reason.empty()
                        ? "no rule matched; default decision " +
                              std::string(VerdictName(impl.defaults.decision))
                        : impl.defaults.reason);
    } else {
      const CompiledRule& rule = impl.rules[static_cast<size_t>(eval.deciding_rule)];
      d->set_matched_rule(rule.id);
      if (!rule.reason.empty()) {
        d->set_reason(rule.reason);
      } else if (!rule.description.empty()) {
        d->set_reason(rule.description);
      } else {
        d->set_reason("matched rule '" + rule.id + "'");
      }
    }
    // Merge straight into the message. Constraints are always present, even empty:
    // clients see one decision shape (the seeds' shape).
    v1::Constraints* merged = d->mutable_constraints();
    for (uint32_t m : eval.matched) {
      const CompiledRule& rule = impl.rules[m];
      d->add_matched_rules(rule.id);
      if (d->approver_role().empty() && rule.decision == v1::REQUIRE_APPROVAL &&
          !rule.approver_role.empty()) {
        d->set_approver_role(rule.approver_role);
      }
      // The first approval rule in precedence order that sets a TTL sets the job's.
      if (!d->has_approval_ttl_sec() && rule.decision == v1::REQUIRE_APPROVAL &&
          rule.approval_ttl_sec > 0) {
        d->set_approval_ttl_sec(static_cast<uint32_t>(
            std::min<int64_t>(rule.approval_ttl_sec, std::numeric_limits<uint32_t>::max())));
      }
      if (eval.verdict == v1::THROTTLE && rule.rate) *d->add_throttle() = *rule.rate;
      if (rule.has_constraints) MergeConstraints(rule.constraints, merged);
    }
    if (impl.defaults.has_constraints) MergeConstraints(impl.defaults.constraints, merged);
  } catch (...) {
    d->Clear();
    d->set_decision(v1::DENY);
    d->set_job_id(job.job_id());
    d->set_reason("decision could not be built");
    d->set_snapshot(snapshot_name_);
    d->set_snapshot_hash(hash_);
  }
}

v1::Decision Policy::Decide(const v1::Job& job, const DecisionStamp& stamp,
                            const SessionContext& session) const {
  Evaluation eval;
  Evaluate(job, session, &eval);
  v1::Decision decision;
  FillDecision(job, eval, stamp, &decision);
  FillSessionFacts(job, eval, session, &decision);
  return decision;
}

void Policy::FillSessionFacts(const v1::Job& job, const Evaluation& eval,
                              const SessionContext& session,
                              v1::Decision* decision) const noexcept {
  try {
    if (session.state == nullptr) return;
    ActionAnalysis analysis;
    analysis.session = session;
    v1::SessionFacts* facts = nullptr;
    int64_t window_ms = 0;
    for (uint32_t m : eval.matched) {
      const CompiledRule& rule = impl_->rules[m];
      if (!rule.action || !rule.action->session) continue;
      const SessionCondition& c = *rule.action->session;
      if (facts == nullptr) facts = decision->mutable_session();
      facts->add_conditions(rule.id + ": " + c.canonical.Dump());
      for (const SessionCount& count : c.counts) window_ms = std::max(window_ms, count.within_ms);
      if (c.denied_target) {
        std::vector<std::string> repeated;
        RepeatedTargets(c.target_kinds, c.target_within_ms, job, &analysis, &repeated);
        for (std::string& t : repeated) {
          if (std::find(facts->repeated_targets().begin(), facts->repeated_targets().end(), t) ==
              facts->repeated_targets().end()) {
            facts->add_repeated_targets(std::move(t));
          }
        }
      }
    }
    if (facts == nullptr) return;
    facts->set_session(session.state->session());
    facts->set_terminated(session.state->status() == v1::SessionState::TERMINATED);
    facts->set_denied(CountSessionEvents(session, {v1::DENY, v1::TERMINATE}, window_ms));
    facts->set_window_sec(static_cast<uint32_t>(window_ms / 1000));
  } catch (...) {
    decision->clear_session();
  }
}

bool Policy::RuleMatches(size_t index, const v1::Job& job) const {
  std::vector<std::string_view> tokens;
  TokenizeTopic(job, &tokens);
  ActionAnalysis analysis;
  return FirstFailingCondition(impl_->rules[index], job, tokens, &analysis) < 0;
}

std::vector<RuleExplanation> Policy::Explain(const v1::Job& job,
                                             const SessionContext& session) const {
  std::vector<std::string_view> tokens;
  TokenizeTopic(job, &tokens);
  std::vector<RuleExplanation> out;
  out.reserve(impl_->rules.size());
  ActionAnalysis analysis;
  analysis.session = session;
  for (const CompiledRule& rule : impl_->rules) {
    RuleExplanation e;
    e.rule_id = rule.id;
    e.decision = rule.decision;
    e.line = rule.line;
    const int failing = FirstFailingCondition(rule, job, tokens, &analysis);
    e.matched = failing < 0;
    if (!e.matched) e.failed_condition = DescribeFailure(rule, failing, job, &analysis);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Diagnostic> Policy::CheckExamples() const {
  std::vector<Diagnostic> out;
  std::vector<std::string_view> tokens;
  for (const CompiledRule& rule : impl_->rules) {
    for (const RuleExample& ex : rule.examples) {
      TokenizeTopic(ex.job, &tokens);
      ActionAnalysis analysis;
      const int failing = FirstFailingCondition(rule, ex.job, tokens, &analysis);
      if (ex.should_match && failing >= 0) {
        out.push_back({file_name_, ex.line, ex.col,
                       "rule '" + rule.id + "' does not match its example: " +
                           DescribeFailure(rule, failing, ex.job, &analysis)});
      } else if (!ex.should_match && failing < 0) {
        out.push_back(
            {file_name_, ex.line, ex.col, "rule '" + rule.id + "' matches its no_match example"});
      }
    }
  }
  return out;
}

}  // namespace jobgate::policy
