#include "gate/core/decisions.h"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>

#include "base/hash.h"
#include "policy/policy.h"
#include "subjects/headers.h"

namespace jobgate::gate {

void DecisionIdSource::Next(std::string* out) {
  if (used_ + 16 > pool_.size()) {
    if (RAND_bytes(pool_.data(), static_cast<int>(pool_.size())) != 1) {
      *out = NewDecisionId();  // its fallback handles a failing generator
      return;
    }
    used_ = 0;
  }
  out->clear();
  jobgate::AppendHex(pool_.data() + used_, 16, out);
  used_ += 16;
}

std::string NewDecisionId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // OpenSSL's generator failing is not a reason to stop judging jobs; fall back to a
    // hash of the time and a counter (unique, if not unpredictable).
    static std::atomic<uint64_t> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return jobgate::Sha256Hex(std::to_string(now) + "/" + std::to_string(counter++)).substr(0, 32);
  }
  std::string id;
  jobgate::AppendHex(bytes, sizeof(bytes), &id);
  return id;
}

void EnforceableDecision(v1::Decision* decision) {
  switch (decision->decision()) {
    case v1::ALLOW:
    case v1::ALLOW_WITH_CONSTRAINTS:
    case v1::ALERT:
    case v1::THROTTLE:
    case v1::REQUIRE_APPROVAL:
    case v1::DENY:
    case v1::TERMINATE:
    case v1::REDACT:  // dispatched with secrets replaced (Policy::Redact)
      return;
    default:
      decision->set_decision(v1::DENY);
      decision->set_reason("unknown decision " + std::to_string(int(decision->decision())));
      return;
  }
}

std::string_view TargetPrefix(const subjects::Prefixes& prefixes, v1::Verdict verdict) {
  if (policy::RoutesToWorker(verdict)) return prefixes.worker;
  if (verdict == v1::REQUIRE_APPROVAL) return prefixes.approval;
  return prefixes.denied;
}

void SetDecisionHeaders(const v1::Decision& decision, OutboundMessage* out) {
  out->headers.resize(3);
  out->headers[0].first.assign(subjects::kDecisionHeader);
  out->headers[0].second.assign(policy::VerdictName(decision.decision()));
  out->headers[1].first.assign(subjects::kDecisionIdHeader);
  out->headers[1].second.assign(decision.decision_id());
  out->headers[2].first.assign(subjects::kSnapshotHeader);
  out->headers[2].second.assign(decision.snapshot().empty() ? decision.snapshot_hash()
                                                            : decision.snapshot());
}

}  // namespace jobgate::gate
