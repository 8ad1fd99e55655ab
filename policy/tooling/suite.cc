#include "policy/tooling/suite.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>

#include "base/duration.h"
#include "base/json.h"
#include "base/yaml_loader.h"
#include "policy/compile/yaml_values.h"
#include "policy/session.h"

namespace jobgate::policy {

Status SessionFromNode(const YAML::Node& node, int64_t now_unix_ms, v1::SessionState* out);

namespace {

const std::vector<std::string_view> kSuiteKeys = {"policy", "cases", "description"};
const std::vector<std::string_view> kCaseKeys = {"name", "job", "expect", "session"};
const std::vector<std::string_view> kSessionKeys = {"session", "terminated", "events"};
const std::vector<std::string_view> kEventKeys = {"decision", "ago", "at",    "rule",
                                                  "targets",  "job", "job_id"};
const std::vector<std::string_view> kExpectKeys = {"decision",    "matched_rule", "reason",
                                                   "constraints", "risk_score",   "approver_role"};

// A copy of `c` with every field but `keep` cleared.
v1::Constraints OnlyField(const v1::Constraints& c, const google::protobuf::FieldDescriptor* keep) {
  v1::Constraints out = c;
  std::vector<const google::protobuf::FieldDescriptor*> set;
  out.GetReflection()->ListFields(out, &set);
  for (const auto* f : set) {
    if (f != keep) out.GetReflection()->ClearField(&out, f);
  }
  return out;
}

// Compares the fields set in `expected` with `actual`. `custom` is compared key by key.
void CompareConstraints(const v1::Constraints& expected, const v1::Constraints& actual,
                        std::vector<std::string>* failures) {
  const auto* reflection = expected.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(expected, &fields);
  for (const auto* field : fields) {
    if (field->name() == "custom") {
      for (const auto& [key, value] : expected.custom().fields()) {
        auto it = actual.custom().fields().find(key);
        if (it == actual.custom().fields().end() ||
            !google::protobuf::util::MessageDifferencer::Equals(value, it->second)) {
          failures->push_back("constraints.custom." + key + ": expected " +
                              JsonValue(value.DebugString()).Dump() + ", got " +
                              (it == actual.custom().fields().end()
                                   ? std::string("nothing")
                                   : JsonValue(it->second.DebugString()).Dump()));
        }
      }
      continue;
    }
    const v1::Constraints want = OnlyField(expected, field);
    const v1::Constraints got = OnlyField(actual, field);
    if (!google::protobuf::util::MessageDifferencer::Equals(want, got)) {
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      std::string want_json, got_json;
      (void)google::protobuf::util::MessageToJsonString(want, &want_json, options);
      (void)google::protobuf::util::MessageToJsonString(got, &got_json, options);
      failures->push_back("constraints." + field->name() + ": expected " + want_json + ", got " +
                          (got_json == "{}" ? "nothing" : got_json));
    }
  }
}

}  // namespace

int SuiteResult::passed() const {
  int n = 0;
  for (const auto& c : cases) n += c.passed ? 1 : 0;
  return n;
}

int SuiteResult::failed() const {
  int n = static_cast<int>(errors.size());
  for (const auto& c : cases) n += c.passed ? 0 : 1;
  return n;
}

namespace {

// Runs the cases of a parsed suite against result->policy (already set).
void RunCases(const YAML::Node& root, SuiteResult* result);

// Parses `text` as a suite document into `root`; false (with an error recorded) if not.
bool ParseSuite(std::string_view text, SuiteResult* result, YAML::Node* root) {
  YamlError yaml_error;
  if (!LoadYaml(text, YamlBudget::Default(), root, &yaml_error)) {
    result->errors.push_back(
        {result->suite_path, yaml_error.line, yaml_error.column, yaml_error.message});
    return false;
  }
  if (!root->IsMap()) {
    result->errors.push_back(
        {result->suite_path, 1, 1, "a test suite is a mapping with 'policy' and 'cases'"});
    return false;
  }
  for (const auto& kv : *root) {
    const std::string key = kv.first.Scalar();
    if (std::find(kSuiteKeys.begin(), kSuiteKeys.end(), key) == kSuiteKeys.end()) {
      result->errors.push_back({result->suite_path, kv.first.Mark().line + 1,
                                kv.first.Mark().column + 1,
                                "unknown key '" + key + "' in test suite (policy, cases)"});
    }
  }
  return true;
}

}  // namespace

SuiteResult RunSuiteFile(const std::string& suite_path) {
  SuiteResult result;
  result.suite_path = suite_path;
  auto text = ReadFile(suite_path);
  if (!text.ok()) {
    result.errors.push_back({suite_path, 1, 1, text.status().message()});
    return result;
  }
  YAML::Node root;
  if (!ParseSuite(*text, &result, &root)) return result;
  try {
    if (!root["policy"] || !root["policy"].IsScalar()) {
      result.errors.push_back(
          {suite_path, 1, 1, "a test suite needs 'policy: <path relative to the suite>'"});
      return result;
    }
    const std::filesystem::path dir = std::filesystem::path(suite_path).parent_path();
    result.policy_path = (dir / root["policy"].Scalar()).lexically_normal().string();
    CompileResult compiled = CompileFile(result.policy_path);
    if (!compiled.ok()) {
      result.errors = std::move(compiled.errors);
      return result;
    }
    result.policy = compiled.policy;
  } catch (const std::exception& e) {
    result.errors.push_back(
        {suite_path, 1, 1, std::string("test suite could not be read: ") + e.what()});
    return result;
  }
  RunCases(root, &result);
  return result;
}

SuiteResult RunSuite(std::string_view suite_yaml, const std::string& suite_name,
                     std::shared_ptr<const Policy> policy) {
  SuiteResult result;
  result.suite_path = suite_name;
  result.policy_path = policy ? policy->file_name() : "";
  result.policy = std::move(policy);
  YAML::Node root;
  if (!ParseSuite(suite_yaml, &result, &root)) return result;
  RunCases(root, &result);
  return result;
}

namespace {

// Where the diagnostics of one suite go: at a node's line and column, or at 1:1.
class SuiteErrors {
 public:
  explicit SuiteErrors(SuiteResult* result) : result_(result) {}
  void Add(const YAML::Node* node, std::string message) {
    Diagnostic d{result_->suite_path, 1, 1, std::move(message)};
    if (node != nullptr) {
      d.line = node->Mark().line + 1;
      d.col = node->Mark().column + 1;
    }
    result_->errors.push_back(std::move(d));
  }

 private:
  SuiteResult* result_;
};

// One case as written, checked: its job, its session (if any) and what it expects.
struct SuiteCase {
  v1::Job job;
  v1::SessionState session;
  SessionContext context;
  YAML::Node expect;
};

// Reads `item` into `out` and names `c`; false (with the error added) when the case is
// malformed.
bool ReadCase(const YAML::Node& item, CaseResult* c, SuiteCase* out, SuiteErrors* errors) {
  c->line = item.Mark().line + 1;
  if (!item.IsMap()) {
    errors->Add(&item, "a case is a mapping with name, job, expect");
    return false;
  }
  bool bad = false;
  for (const auto& kv : item) {
    const std::string key = kv.first.Scalar();
    if (std::find(kCaseKeys.begin(), kCaseKeys.end(), key) == kCaseKeys.end()) {
      errors->Add(&kv.first, "unknown key '" + key + "' in a case (name, job, expect)");
      bad = true;
    }
  }
  c->name = item["name"] && item["name"].IsScalar() ? item["name"].Scalar()
                                                    : "case at line " + std::to_string(c->line);
  if (!item["job"]) {
    errors->Add(&item, "case '" + c->name + "' has no job");
    return false;
  }
  if (Status s = JobFromYamlNode(item["job"], &out->job); !s.ok()) {
    const YAML::Node job_node = item["job"];
    errors->Add(&job_node, "case '" + c->name + "': " + s.message());
    return false;
  }
  out->expect = item["expect"];
  if (!out->expect || !out->expect.IsMap()) {
    errors->Add(&item, "case '" + c->name + "' needs 'expect' with at least a decision");
    return false;
  }
  for (const auto& kv : out->expect) {
    const std::string key = kv.first.Scalar();
    if (std::find(kExpectKeys.begin(), kExpectKeys.end(), key) == kExpectKeys.end()) {
      errors->Add(&kv.first, "unknown key '" + key + "' in expect");
      bad = true;
    }
  }
  if (bad) return false;
  if (item["session"]) {
    // The case's clock: the session's events are `ago` before this instant.
    constexpr int64_t kCaseNow = 1'800'000'000'000;
    if (Status st = SessionFromNode(item["session"], kCaseNow, &out->session); !st.ok()) {
      const YAML::Node n = item["session"];
      errors->Add(&n, "case '" + c->name + "': session: " + st.message());
      return false;
    }
    out->context = SessionContext{&out->session, kCaseNow};
  }
  return true;
}

// The decision the case's job gets, with the session's facts and termination.
void DecideCase(const Policy& policy, const SuiteCase& sc, Evaluation* eval, CaseResult* c) {
  policy.Evaluate(sc.job, sc.context, eval);
  policy.FillDecision(sc.job, *eval, {}, &c->decision);
  if (sc.context.state == nullptr) return;
  policy.FillSessionFacts(sc.job, *eval, sc.context, &c->decision);
  if (sc.session.status() == v1::SessionState::TERMINATED) {
    DecideTerminated(sc.session, &c->decision);
  }
}

// Compares the decision with `expect` into c->failures; false (with the error added)
// when `expect` itself is malformed or expects nothing.
bool CheckExpectations(const YAML::Node& item, const YAML::Node& expect, CaseResult* c,
                       SuiteErrors* errors) {
  const v1::Decision& got = c->decision;
  if (expect["decision"]) {
    v1::Verdict want;
    if (!ParseVerdict(expect["decision"].Scalar(), &want)) {
      const YAML::Node n = expect["decision"];
      errors->Add(&n, "unknown decision '" + n.Scalar() + "'");
      return false;
    }
    if (want != got.decision()) {
      c->failures.push_back("decision: expected " + std::string(VerdictName(want)) + ", got " +
                            std::string(VerdictName(got.decision())));
    }
  }
  if (expect["matched_rule"]) {
    const std::string want = expect["matched_rule"].IsNull() ? "" : expect["matched_rule"].Scalar();
    if (want != got.matched_rule()) {
      c->failures.push_back("matched_rule: expected " + JsonQuote(want) + ", got " +
                            JsonQuote(got.matched_rule()));
    }
  }
  if (expect["reason"] && expect["reason"].Scalar() != got.reason()) {
    c->failures.push_back("reason: expected " + JsonQuote(expect["reason"].Scalar()) + ", got " +
                          JsonQuote(got.reason()));
  }
  if (expect["approver_role"] && expect["approver_role"].Scalar() != got.approver_role()) {
    c->failures.push_back("approver_role: expected " + JsonQuote(expect["approver_role"].Scalar()) +
                          ", got " + JsonQuote(got.approver_role()));
  }
  if (expect["risk_score"] && expect["risk_score"].Scalar() != std::to_string(got.risk_score())) {
    c->failures.push_back("risk_score: expected " + expect["risk_score"].Scalar() + ", got " +
                          std::to_string(got.risk_score()));
  }
  if (expect["constraints"]) {
    std::string json;
    YamlToJson(expect["constraints"], /*typed=*/true, &json);
    v1::Constraints want;
    google::protobuf::util::JsonParseOptions options;
    auto status = google::protobuf::util::JsonStringToMessage(json, &want, options);
    if (!status.ok()) {
      const YAML::Node n = expect["constraints"];
      errors->Add(&n,
                  "case '" + c->name + "': expect.constraints: " + std::string(status.message()));
      return false;
    }
    CompareConstraints(want, got.constraints(), &c->failures);
  }
  if (!expect["decision"] && !expect["matched_rule"] && !expect["reason"] &&
      !expect["constraints"]) {
    errors->Add(&item, "case '" + c->name + "' expects nothing");
    return false;
  }
  return true;
}

void RunCases(const YAML::Node& root, SuiteResult* out) {
  SuiteErrors errors(out);
  try {
    const YAML::Node cases = root["cases"];
    if (!cases || !cases.IsSequence()) {
      errors.Add(nullptr, "a test suite needs a 'cases' list");
      return;
    }
    Evaluation eval;
    for (const auto& item : cases) {
      CaseResult c;
      SuiteCase sc;
      if (!ReadCase(item, &c, &sc, &errors)) continue;
      DecideCase(*out->policy, sc, &eval, &c);
      for (const auto& rule : c.decision.matched_rules()) out->rules_matched.insert(rule);
      if (!CheckExpectations(item, sc.expect, &c, &errors)) continue;
      c.passed = c.failures.empty();
      out->cases.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    errors.Add(nullptr, std::string("test suite could not be read: ") + e.what());
  }
}

}  // namespace

std::vector<std::string> UncoveredRules(const SuiteResult& result) {
  std::vector<std::string> out;
  if (!result.policy) return out;
  for (size_t i = 0; i < result.policy->rule_count(); ++i) {
    const std::string& id = result.policy->rule_id(i);
    if (result.rules_matched.count(id) == 0) out.push_back(id);
  }
  return out;
}

namespace {
std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}
}  // namespace

std::string ToJUnitXml(const std::vector<SuiteResult>& results) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
  for (const auto& r : results) {
    out += "  <testsuite name=\"" + XmlEscape(r.suite_path) + "\" tests=\"" +
           std::to_string(r.cases.size() + r.errors.size()) + "\" failures=\"" +
           std::to_string(r.failed() - static_cast<int>(r.errors.size())) + "\" errors=\"" +
           std::to_string(r.errors.size()) + "\">\n";
    for (const auto& e : r.errors) {
      out += "    <testcase name=\"" + XmlEscape(e.ToString()) + "\" classname=\"" +
             XmlEscape(r.suite_path) + "\">\n      <error message=\"" + XmlEscape(e.message) +
             "\"/>\n    </testcase>\n";
    }
    for (const auto& c : r.cases) {
      out += "    <testcase name=\"" + XmlEscape(c.name) + "\" classname=\"" +
             XmlEscape(r.suite_path) + "\"";
      if (c.passed) {
        out += "/>\n";
        continue;
      }
      std::string message;
      for (const auto& f : c.failures) message += (message.empty() ? "" : "; ") + f;
      out += ">\n      <failure message=\"" + XmlEscape(message) + "\"/>\n    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

namespace {

Status ReadTerminated(const YAML::Node& node, v1::SessionState* out) {
  if (node.IsScalar()) {
    if (node.Scalar() != "true" && node.Scalar() != "false") {
      return InvalidArgument("terminated is true, false, or {by, reason}");
    }
    if (node.Scalar() == "true") {
      out->set_status(v1::SessionState::TERMINATED);
      out->set_terminated_by("rule:(history)");
    }
    return Status::Ok();
  }
  if (!node.IsMap()) return InvalidArgument("terminated is true, false, or {by, reason}");
  out->set_status(v1::SessionState::TERMINATED);
  out->set_terminated_by(node["by"] && node["by"].IsScalar() ? node["by"].Scalar()
                                                             : "rule:(history)");
  if (node["reason"] && node["reason"].IsScalar()) {
    out->set_terminated_reason(node["reason"].Scalar());
  }
  return Status::Ok();
}

Status ReadEvent(const YAML::Node& node, int64_t now_unix_ms, v1::SessionEvent* event) {
  if (!node.IsMap()) return InvalidArgument("an event is a mapping with decision, ago, targets");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (std::find(kEventKeys.begin(), kEventKeys.end(), key) == kEventKeys.end()) {
      return InvalidArgument("unknown key '" + key +
                             "' in an event (decision, ago, rule, "
                             "targets, job)");
    }
  }
  v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
  if (!node["decision"] || !node["decision"].IsScalar() ||
      !ParseVerdict(node["decision"].Scalar(), &verdict)) {
    return InvalidArgument("an event needs a decision (deny, terminate, require_approval, ...)");
  }
  event->set_decision(verdict);
  int64_t at = now_unix_ms;
  if (node["at"] && node["at"].IsScalar()) {
    google::protobuf::Timestamp ts;
    if (!google::protobuf::util::TimeUtil::FromString(node["at"].Scalar(), &ts)) {
      return InvalidArgument("event at: an RFC 3339 time");
    }
    at = google::protobuf::util::TimeUtil::TimestampToMilliseconds(ts);
  } else if (node["ago"]) {
    const std::optional<int64_t> seconds =
        node["ago"].IsScalar() ? ParseDurationSeconds(node["ago"].Scalar()) : std::nullopt;
    if (!seconds) return InvalidArgument("event ago: a duration such as 30s, 5m or 2h");
    at = now_unix_ms - *seconds * 1000;
  }
  *event->mutable_at() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(at);
  if (node["rule"] && node["rule"].IsScalar()) event->set_rule(node["rule"].Scalar());
  if (node["job_id"] && node["job_id"].IsScalar()) event->set_job_id(node["job_id"].Scalar());
  if (const YAML::Node targets = node["targets"]) {
    if (!targets.IsSequence()) return InvalidArgument("event targets: a list");
    for (const auto& t : targets) {
      if (!t.IsScalar()) return InvalidArgument("event targets: strings");
      event->add_targets(t.Scalar());
    }
  }
  if (node["job"]) {
    v1::Job job;
    JOBGATE_RETURN_IF_ERROR(JobFromYamlNode(node["job"], &job));
    for (std::string& t : JobTargets(job)) event->add_targets(std::move(t));
    if (event->job_id().empty()) event->set_job_id(job.job_id());
  }
  return Status::Ok();
}

}  // namespace

Status SessionFromNode(const YAML::Node& node, int64_t now_unix_ms, v1::SessionState* out) {
  if (!node.IsMap()) return InvalidArgument("a session is a mapping with terminated and events");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (std::find(kSessionKeys.begin(), kSessionKeys.end(), key) == kSessionKeys.end()) {
      return InvalidArgument("unknown key '" + key +
                             "' in a session (session, terminated, "
                             "events)");
    }
  }
  out->Clear();
  out->set_status(v1::SessionState::ACTIVE);
  out->set_session(node["session"] && node["session"].IsScalar() ? node["session"].Scalar()
                                                                 : "session:(history)");
  if (node["terminated"]) JOBGATE_RETURN_IF_ERROR(ReadTerminated(node["terminated"], out));
  if (const YAML::Node events = node["events"]) {
    if (!events.IsSequence()) return InvalidArgument("events: a list");
    for (const auto& e : events) {
      v1::SessionEvent event;
      JOBGATE_RETURN_IF_ERROR(ReadEvent(e, now_unix_ms, &event));
      *out->add_events() = std::move(event);
    }
  }
  std::stable_sort(out->mutable_events()->begin(), out->mutable_events()->end(),
                   [](const v1::SessionEvent& a, const v1::SessionEvent& b) {
                     return google::protobuf::util::TimeUtil::TimestampToMilliseconds(a.at()) <
                            google::protobuf::util::TimeUtil::TimestampToMilliseconds(b.at());
                   });
  return Status::Ok();
}

Result<v1::SessionState> SessionFromYaml(std::string_view text, int64_t now_unix_ms) {
  YAML::Node node;
  YamlError yaml_error;
  if (!LoadYaml(text, YamlBudget::Default(), &node, &yaml_error)) {
    return InvalidArgument(std::to_string(yaml_error.line) + ":" +
                           std::to_string(yaml_error.column) + ": " + yaml_error.message);
  }
  v1::SessionState state;
  JOBGATE_RETURN_IF_ERROR(SessionFromNode(node, now_unix_ms, &state));
  return state;
}

}  // namespace jobgate::policy
