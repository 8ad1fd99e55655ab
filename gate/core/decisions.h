// What the gate does with a decision before it routes it, shared by the dispatcher,
// approvals and the policy lifecycle: decision ids, the enforceable form of a decision,
// and the subject prefix its verdict routes to. Pure but for the random ids;
// thread-safe, except a DecisionIdSource (one per thread).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gate/core/bus.h"
#include "jobgate/v1/jobgate.pb.h"
#include "subjects/subjects.h"

namespace jobgate::gate {

namespace v1 = ::jobgate::v1;

// Random 128-bit id, 32 lower-case hex digits (OpenSSL RAND_bytes).
std::string NewDecisionId();

// Random 128-bit ids drawn from a buffer refilled by one RAND_bytes call per `batch`
// ids. Not thread-safe: one per dispatcher.
class DecisionIdSource {
 public:
  explicit DecisionIdSource(size_t batch = 256) : pool_(16 * batch), used_(pool_.size()) {}
  // Writes 32 lower-case hex digits to `out`.
  void Next(std::string* out);

 private:
  std::vector<unsigned char> pool_;
  size_t used_;
};

// What the gate enforces for `decision`: anything unknown becomes DENY. Rewrites the
// decision and reason accordingly.
void EnforceableDecision(v1::Decision* decision);

// Sets `out`'s headers to the decision's (subjects/headers.h): verdict, decision id and
// snapshot (its name, else its hash). Reuses the header strings' capacity.
void SetDecisionHeaders(const v1::Decision& decision, OutboundMessage* out);

// The subject prefix a job goes to for `verdict` (an enforceable one): worker (the
// verdicts policy::RoutesToWorker names), approval or denied.
std::string_view TargetPrefix(const subjects::Prefixes& prefixes, v1::Verdict verdict);

}  // namespace jobgate::gate
