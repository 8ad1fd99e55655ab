// Approvals: the queue of jobs held by REQUIRE_APPROVAL, and their release.
//
// A held job becomes a v1::PendingApproval in a shared store (JetStream KV in production),
// so it survives gate restarts and any replica can resolve it. The record binds the
// approval to the job as held (JobDigest) and to the snapshot that held it.
//
//   Hold      the dispatcher, on REQUIRE_APPROVAL: creates the record (a redelivered job
//             finds it and creates nothing) and returns the message for
//             `approval.requests.<rest>`, which the dispatcher publishes with its batch.
//   Approve   checks, in order: the record exists and is PENDING; it has not expired
//             (else it is resolved EXPIRED now); the job still matches its digest (and the
//             digest the approver names, if any); the approver holds the decision's
//             `approver_role`; the approver is neither the job's agent nor its owner; if
//             the enforced snapshot is no longer the one that held the job, the job is
//             re-evaluated and refused when that now denies (stale_snapshot). Then the
//             record moves to APPROVED by compare-and-set (of concurrent approve and
//             reject exactly one wins; the other gets kConflict), the job is published to
//             `worker.<rest>` and the record is marked released.
//   Reject    the same first two checks and the role check (not separation of duties:
//             anyone entitled may stop a job, including its owner), then REJECTED by
//             compare-and-set.
//   ExpireDue resolves pending records past expires_at as EXPIRED (compare-and-set, so
//             any number of replicas may sweep at once).
//   ReleasePending  publishes what a resolution left unpublished (a crash between the
//             compare-and-set and the publishes): run it at start and with every sweep.
//   Both act on what the store's ScanForSweep names, and read only those records: the KV
//   store keeps an index from the bucket's change log, so a sweep costs what changed
//   since the last one plus what is due, not every approval ever held.
//   List      one page of the queue, oldest held first (ApprovalPager): a page's memory
//             however long the queue, and a page token that neither repeats nor skips.
//
// What a resolution publishes, each with a Nats-Msg-Id stable per job so a retry is a
// duplicate the stream drops:
//   APPROVED  DispatchedJob{job, decision, approval} on `worker.<rest>`           (release)
//   all       DecisionRecord{decision, approval} on `audit.decisions.<rest>`      (resolution)
//   REJECTED, EXPIRED  DispatchedJob on `audit.denied.<rest>`                     (denied)
//   REFUSED   an approval attempt turned down: a DecisionRecord on `audit.decisions.<rest>`
//             with approval.outcome REFUSED and approval.refusal saying why (one id per
//             attempt). The job stays as it was. This covers every check above, a second
//             approve or reject of a resolved job (already_resolved: no replay), and calls
//             the API refused before they reached the service (RecordRefusedCall:
//             unauthenticated, forbidden) for a job that is held.
// The worker's decision is the held one, or the re-evaluated one when the snapshot
// changed since (released_decision); approval carries the held snapshot either way.
//
// Ownership: the service borrows every seam handed in; all must outlive it.
// Thread-safety: ApprovalStore implementations and ApprovalService are thread-safe; the
// service keeps no mutable state of its own (the store's compare-and-set is the only
// synchronisation, and it holds across processes). Observer callbacks may run on any
// calling thread, concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "gate/approvals/approval_list.h"
#include "gate/approvals/approval_sweep.h"
#include "gate/core/auth.h"
#include "gate/core/bus.h"
#include "gate/core/holds.h"
#include "gate/core/job_digest.h"
#include "gate/core/job_sealer.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "base/status.h"
#include "subjects/subjects.h"

namespace jobgate::gate {

namespace v1 = ::jobgate::v1;

class ApiRouter;


// The store key of a job: 64 hex digits of SHA-256 over the length-prefixed tenant and the
// job id (KV keys allow only [-/_=.A-Za-z0-9]; job ids allow anything). An empty tenant is
// "default".
std::string ApprovalKey(std::string_view tenant_id, std::string_view job_id);

// Where pending approvals live. Records are keyed by ApprovalKey(job.tenant_id, job.job_id)
// and change only by compare-and-set on the store's revision.
class ApprovalStore {
 public:
  virtual ~ApprovalStore() = default;

  // Stores a new record; kAlreadyExists when the job has one. Returns its revision.
  virtual Result<uint64_t> Create(const v1::PendingApproval& record) = 0;
  // Create for every record, written together where the store can (the KV store waits
  // one round trip for all of them): (*revisions)[i] is what Create(*records[i]) returns.
  // The default calls Create for each in turn.
  virtual void CreateMany(std::span<const v1::PendingApproval* const> records,
                          std::vector<Result<uint64_t>>* revisions);
  // The record with its revision set; kNotFound when there is none.
  virtual Result<v1::PendingApproval> Get(std::string_view tenant_id, std::string_view job_id) = 0;
  // Replaces the record if its revision is still `expected_revision`; kConflict when
  // another writer got there first (or there is no record). Returns the new revision.
  virtual Result<uint64_t> Update(const v1::PendingApproval& record,
                                  uint64_t expected_revision) = 0;
  // The record under `key` (an ApprovalKey) with its revision set; kNotFound when none.
  virtual Result<v1::PendingApproval> GetByKey(std::string_view key) = 0;
  // One page of the PENDING records (of every record with `include_resolved`), oldest
  // held first, revisions set, and the count of PENDING ones. Reads every record's
  // place but keeps only a page (ApprovalPager): for people and tools, not for sweeps.
  virtual Result<ApprovalPage> List(const ApprovalListQuery& query) = 0;
  // What a sweep at `now` must act on, as of this call (every write finished before the
  // call is in it), without reading every record.
  virtual Result<SweepScan> ScanForSweep(const google::protobuf::Timestamp& now) = 0;
  // Records still PENDING (expired ones count until the sweep resolves them).
  virtual Result<int64_t> CountPending();
};

class InMemoryApprovalStore final : public ApprovalStore {
 public:
  Result<uint64_t> Create(const v1::PendingApproval& record) override;
  Result<v1::PendingApproval> Get(std::string_view tenant_id, std::string_view job_id) override;
  Result<uint64_t> Update(const v1::PendingApproval& record, uint64_t expected_revision) override;
  Result<v1::PendingApproval> GetByKey(std::string_view key) override;
  Result<ApprovalPage> List(const ApprovalListQuery& query) override;
  Result<SweepScan> ScanForSweep(const google::protobuf::Timestamp& now) override;

 private:
  Mutex mu_;
  std::map<std::string, v1::PendingApproval> records_ GUARDED_BY(mu_);  // by key, revision set
  uint64_t last_revision_ GUARDED_BY(mu_) = 0;  // store-wide, like KV
};

struct ApprovalStoreOptions {
  std::string bucket = "jobgate-approvals";
  int replicas = 1;
  bool memory_storage = false;
  uint8_t history = 8;  // past values of each record, an audit trail of its own
  std::chrono::milliseconds timeout{5000};
};

// Publishes one message to JetStream and waits for the stream's ack. A duplicate (same
// Nats-Msg-Id inside the stream's window) is success.
class ApprovalPublisher {
 public:
  virtual ~ApprovalPublisher() = default;
  virtual Status Publish(const OutboundMessage& message) = 0;
};

// Metrics hooks. Default implementations do nothing; override what you export.
class ApprovalObserver {
 public:
  virtual ~ApprovalObserver() = default;
  // A new pending approval (not a redelivered one). Called on the job path: keep it cheap.
  virtual void OnHeld() {}
  // `outcome` is "approved", "rejected" or "expired"; `wait_seconds` from held_at to
  // the resolution.
  virtual void OnResolved(std::string_view outcome, double wait_seconds) {}
  // An approval attempt refused; `code` as in ApprovalOutcome::code.
  virtual void OnRefused(std::string_view code) {}
  // The number of pending approvals in the shared store, counted after every change
  // this replica makes and on every sweep (so it follows other replicas too).
  virtual void OnPendingCount(int64_t pending) {}
};

struct ApprovalOptions {
  subjects::Prefixes prefixes;
  // For decisions without approval_ttl_sec.
  std::chrono::seconds default_ttl = std::chrono::hours(24);
  // Seals the job as it came when scrubbing changed it (gate/core/job_sealer.h); borrowed,
  // must outlive the service. Null: a held job that carries a secret is kept scrubbed
  // only, and its worker receives the scrubbed job.
  const JobSealer* sealer = nullptr;
};

// What Approve and Reject answer, also when they refuse.
struct ApprovalOutcome {
  Status status;
  // On error, machine-readable (the API's error code):
  //   not_found         no approval for that job                               404
  //   already_resolved  approved, rejected or expired before (recorded)        409
  //   conflict          a concurrent resolution won the compare-and-set        409
  //   expired           past expires_at (now resolved EXPIRED)                 409
  //   digest_mismatch   the job no longer matches its digest, or not the one
  //                     the approver named                                     409
  //   stale_snapshot    the enforced snapshot changed and now denies the job   409
  //   wrong_role        the approver lacks the decision's approver_role        403
  //   self_approval     the approver is the job's agent or owner               403
  //   no_policy         no enforced policy to re-evaluate with                 503
  //   invalid_request   no job id                                              400
  //   (the store's own errors keep their status, code "unavailable" etc.)
  // One of subjects/api_errors.h's codes (static storage).
  std::string_view code;
  v1::PendingApproval approval;  // the record after the call (as found when refused)
};

class ApprovalService : public HoldQueue {
 public:
  // The policy enforced now (ActivePolicy::Get); null when there is none.
  using PolicySource = std::function<std::shared_ptr<const policy::Policy>()>;

  ApprovalService(ApprovalStore* store, ApprovalPublisher* publisher, PolicySource policy,
                  const Clock* clock, ApprovalOptions options,
                  ApprovalObserver* observer = nullptr);
  ApprovalService(const ApprovalService&) = delete;
  ApprovalService& operator=(const ApprovalService&) = delete;

  // Holds `job` (normalized: tenant_id and topic set) that `decision` (REQUIRE_APPROVAL,
  // snapshot and hash set) held, arrived on `subject`. kInvalidArgument when the subject
  // has no <rest> or the job no id; the store's error when it cannot be reached (the
  // dispatcher then retries the job: nothing is held unrecorded).
  Result<Held> Hold(const v1::Job& job, const v1::Decision& decision, std::string_view subject);
  // Hold for several jobs, their records written together (ApprovalStore::CreateMany): a
  // batch with many held jobs waits for the store once. (*held)[i] answers requests[i].
  void HoldMany(std::span<const HoldRequest> requests, std::vector<Result<Held>>* held) override;
  // The `approval.requests.<rest>` message for a pending `record` (job scrubbed of
  // secrets, decision, approval binding; the Nats-Msg-Id the dispatcher gives it).
  OutboundMessage RequestMessage(const v1::PendingApproval& record) const;

  // `request` names the job (job_id, tenant_id) and may carry a reason and the digest
  // the approver reviewed. See the file comment for the checks.
  ApprovalOutcome Approve(const v1::ApproveRequest& request, const Identity& approver);
  ApprovalOutcome Reject(const v1::ApproveRequest& request, const Identity& approver);
  // Records an approve or reject call the API refused before it reached the service
  // (`refusal` is its error: no valid token, or a token without the approver role) as a
  // REFUSED attempt on the job's audit trail, code "unauthenticated" or "forbidden".
  // Nothing is recorded for a job that is not held.
  void RecordRefusedCall(const v1::ApproveRequest& request, const Status& refusal);

  // One pass over the store: what ReleasePending does, then resolves every pending
  // approval past expires_at as EXPIRED and reports the pending count. Returns how many
  // this call expired.
  Result<int> ExpireDue();
  // Publishes the messages of every resolution not yet marked released. Returns how
  // many records it finished.
  Result<int> ReleasePending();
  // ExpireDue and ReleasePending read the store's sweep scan, not every record.

  // One page of the list (kInvalidArgument for a negative page_size or a page_token
  // this gate did not give out).
  Result<v1::ApprovalList> List(const v1::ListApprovalsRequest& request);
  // Counts pending approvals in the store and reports the number to the observer.
  Result<int64_t> CountPending();

 private:
  enum class Verb { kApprove, kReject };
  ApprovalOutcome Resolve(Verb verb, const v1::ApproveRequest& request, const Identity& who);
  // Resolve's last step for an approval that passed every other check: approves
  // `record` when the enforced policy is the one that held it, or when the job still
  // passes the enforced one (the re-evaluated decision is released); else refuses.
  ApprovalOutcome ApproveUnderEnforcedPolicy(v1::PendingApproval record,
                                             const v1::ApproveRequest& request,
                                             const Identity& who);
  // The PENDING record of one hold request, held at `now_ms`: the job scrubbed (its
  // original sealed when scrubbing changed it), bound to its digest and snapshot, with
  // its expiry. An error for a job that cannot be held.
  Status BuildHoldRecord(const HoldRequest& request, int64_t now_ms,
                         v1::PendingApproval* record) const;
  // What holding `record` came to, given the store's answer to its create: the new hold,
  // or the hold that already stood under its job id.
  Result<Held> HeldAfterCreate(Result<uint64_t> revision, v1::PendingApproval record);
  // Moves `record` (as read, revision set) to `status` by compare-and-set, then publishes;
  // with `recount`, reports the pending count after.
  ApprovalOutcome Finish(v1::PendingApproval record, v1::PendingApproval::Status status,
                         const std::string& approver, const std::string& reason,
                         std::optional<v1::Decision> released_decision, bool recount = true);
  // Publishes a resolved record's messages and marks it released.
  Status Publish(v1::PendingApproval* record);
  // Reads each record `scan` names: publishes resolved ones not yet released and, with
  // `expire`, resolves PENDING ones past expires_at as EXPIRED.
  struct SweepTally {
    int released = 0;
    int expired = 0;
    int64_t pending = 0;  // scan.pending less what this sweep saw resolved
    Status first_error;   // the first failed release, if any
  };
  SweepTally Sweep(const SweepScan& scan, bool expire);
  // Records a refused attempt and builds the refusal answer.
  ApprovalOutcome Refuse(const v1::PendingApproval& record, const Identity& who, StatusCode status,
                         std::string_view code, std::string message,
                         const v1::Decision* reevaluated = nullptr);
  google::protobuf::Timestamp Now() const;
  void ReportPending();
  // The job as it came: `record.job()`, or its sealed original opened. An error when the
  // original was sealed under a key this gate does not have or does not authenticate.
  Result<v1::Job> JobAsItCame(const v1::PendingApproval& record) const;

  ApprovalStore* const store_;
  ApprovalPublisher* const publisher_;
  const PolicySource policy_;
  const Clock* const clock_;
  const ApprovalOptions options_;
  ApprovalObserver* const observer_;  // may be null
};

// The approvals routes (docs/api.md):
//   GET  /api/v1/approvals?include_resolved=false&page_size=100&page_token=...
//                                                  viewer    approvals.list
//   POST /api/v1/approvals/{job_id}/approve        approver
//   POST /api/v1/approvals/{job_id}/reject         approver
//   POST /api/v1/approvals:approve                 approver  approvals.approve
//   POST /api/v1/approvals:reject                  approver  approvals.reject
// Bodies are ApproveRequest ({"reason", "tenant_id", "job_digest"}, all optional; the
// `:approve|:reject` forms, which request-reply uses, carry "job_id" in the body too).
// Answers: the PendingApproval after the call, or an ErrorResponse with
// ApprovalOutcome::code and its status. Expiry answers 409 (code "expired"), like every
// other "already decided" case, rather than 410.
void AddApprovalRoutes(ApiRouter* router, ApprovalService* service);

}  // namespace jobgate::gate
