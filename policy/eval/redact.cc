// Redaction: the secrets and redact.paths a decision says to replace, replaced by
// markers in the job, each recorded in the decision (policy.h, Policy::Redact).

#include <google/protobuf/struct.pb.h>

#include <functional>
#include <string>

#include "policy/analysis/secrets.h"
#include "policy/compile/model.h"
#include "policy/policy.h"

namespace jobgate::policy {

using google::protobuf::Value;

namespace {

// Replaces every value of `job` whose slash path matches `paths` with a marker; records
// each as {dotted path, "path"}.
int RedactPaths(const RE2& paths, v1::Job* job, v1::Decision* decision) {
  int replaced = 0;
  // `value_text` is called only for a matching path: most values are not redacted, and
  // printing a nested value at every level of the walk would cost its size times depth.
  auto replace = [&](const std::string& slash_path, const std::string& dotted, auto value_text,
                     auto set_marker) {
    if (!RE2::FullMatch(slash_path, paths)) return false;
    set_marker(SecretScanner::Marker("path", value_text()));
    v1::Redaction* r = decision->add_redactions();
    r->set_path(dotted);
    r->set_detector("path");
    ++replaced;
    return true;
  };
  // Depth-first over args; a matched value (of any type) is replaced whole.
  std::function<void(Value*, const std::string&, const std::string&, int)> walk =
      [&](Value* v, const std::string& slash, const std::string& dotted, int depth) {
        if (depth > 64) return;
        auto text = [v] {
          return v->kind_case() == Value::kStringValue ? v->string_value() : v->ShortDebugString();
        };
        if (replace(slash, dotted, text,
                    [&](std::string m) { v->set_string_value(std::move(m)); })) {
          return;
        }
        if (v->kind_case() == Value::kStructValue) {
          for (auto& [key, field] : *v->mutable_struct_value()->mutable_fields()) {
            walk(&field, slash + "/" + key, dotted + "." + key, depth + 1);
          }
        } else if (v->kind_case() == Value::kListValue) {
          auto* values = v->mutable_list_value()->mutable_values();
          for (int i = 0; i < values->size(); ++i) {
            walk(values->Mutable(i), slash + "/" + std::to_string(i),
                 dotted + "[" + std::to_string(i) + "]", depth + 1);
          }
        }
      };
  if (job->has_args()) {
    for (auto& [key, field] : *job->mutable_args()->mutable_fields()) {
      walk(&field, "args/" + key, "args." + key, 1);
    }
  }
  for (auto& entry : *job->mutable_labels()) {
    std::string& value = entry.second;  // a named reference: lambdas cannot capture bindings
    replace(
        "labels/" + entry.first, "labels." + entry.first, [&value] { return value; },
        [&](std::string m) { value = std::move(m); });
  }
  if (!job->payload().empty()) {
    replace(
        "payload", "payload", [job] { return job->payload(); },
        [&](std::string m) { job->set_payload(std::move(m)); });
  }
  return replaced;
}

}  // namespace

int Policy::Redact(const Evaluation& eval, v1::Job* job, v1::Decision* decision) const noexcept {
  try {
    int replaced = 0;
    bool scan_secrets = eval.verdict == v1::REDACT;
    for (uint32_t m : eval.matched) {
      const CompiledRule& rule = impl_->rules[m];
      if (rule.decision == v1::REDACT) scan_secrets = true;
      if (rule.redact_paths) replaced += RedactPaths(*rule.redact_paths, job, decision);
    }
    if (scan_secrets) {
      std::vector<v1::Redaction> found;
      replaced += SecretScanner::Default().RedactJob(job, &found);
      for (auto& r : found) *decision->add_redactions() = std::move(r);
    }
    // A path built from a map key that holds a secret names the key redacted.
    for (v1::Redaction& r : *decision->mutable_redactions()) {
      if (SecretScanner::Default().Contains(r.path())) {
        r.set_path(SecretScanner::Default().Redact(r.path(), "", nullptr));
      }
    }
    return replaced;
  } catch (...) {
    // Fail closed: nothing of the job is left to leak.
    job->clear_args();
    job->clear_labels();
    job->clear_payload();
    v1::Redaction* r = decision->add_redactions();
    r->set_path("*");
    r->set_detector("error");
    return -1;
  }
}

}  // namespace jobgate::policy
