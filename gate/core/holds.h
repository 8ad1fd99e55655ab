// HoldQueue: what the dispatcher needs of the approval queue. A REQUIRE_APPROVAL job is
// held (its approval record stored) before anything of it is published; the dispatcher
// then routes it to `approval.requests.<rest>` with the record it got back.
//
// The approval service (gate/approvals/approvals.h) implements it; the dispatcher only
// sees this interface, so gate/core does not depend on gate/approvals.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

// What a hold did.
struct Held {
  v1::PendingApproval approval;  // the stored record (the earlier one for a redelivery)
  bool created = false;          // false: the job was held already
  // Whether `approval.requests.<rest>` is to carry the job: while the record is pending,
  // for a redelivery too (its Nats-Msg-Id makes the repeat a duplicate); not once it is
  // resolved.
  bool request_due = false;
};

// One job to hold; the pointers must outlive the call.
struct HoldRequest {
  const v1::Job* job = nullptr;
  const v1::Decision* decision = nullptr;
  std::string_view subject;
};

class HoldQueue {
 public:
  virtual ~HoldQueue() = default;
  // Holds several jobs, their records written together: a batch with many held jobs
  // waits for the store once. (*held)[i] answers requests[i]. Called by one thread at a
  // time per dispatcher; implementations say what else they allow.
  virtual void HoldMany(std::span<const HoldRequest> requests, std::vector<Result<Held>>* held) = 0;
};

}  // namespace jobgate::gate
