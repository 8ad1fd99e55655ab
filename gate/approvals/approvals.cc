#include "gate/approvals/approvals.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "base/ascii.h"
#include "base/hash.h"
#include "gate/approvals/approval_wire.h"
#include "gate/core/decisions.h"
#include "policy/analysis/secrets.h"
#include "subjects/api_errors.h"
#include "subjects/codec.h"
#include "subjects/headers.h"

namespace jobgate::gate {

namespace api_error = subjects::api_error;

namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;
using Record = v1::PendingApproval;

constexpr char kDefaultTenant[] = "default";
// Nats-Msg-Id targets (subjects/headers.h) of what approvals publish. A held job's
// request takes the dispatcher's target, for the copy it routes.
constexpr const char* kRequestTarget = subjects::kDispatchTarget;
using subjects::kDeniedTarget;
using subjects::kReleaseTarget;
using subjects::kResolutionTarget;

// The job as it may appear on audit and approval subjects: every secret the detectors
// find replaced (workers get the job as the decision's redaction left it).
v1::Job Scrubbed(const v1::Job& job) {
  v1::Job copy = job;
  policy::SecretScanner::Default().RedactJob(&copy, nullptr);
  return copy;
}
constexpr const char* kRefusalTarget = subjects::kRefusalTargetPrefix;
using subjects::kApproverHeader;

// What a sealed job is bound to: its record's tenant and id, and the digest of the
// scrubbed job the record shows.
std::string SealContext(const v1::Job& scrubbed, std::string_view digest) {
  std::string context = "jobgate-held-job-v1";
  for (std::string_view part :
       {std::string_view(scrubbed.tenant_id()), std::string_view(scrubbed.job_id()), digest}) {
    context.push_back('\0');
    context.append(part);
  }
  return context;
}

std::string_view TenantOf(const v1::Job& job) {
  return job.tenant_id().empty() ? std::string_view(kDefaultTenant) : job.tenant_id();
}

std::string StatusName(Record::Status status) { return Record::Status_Name(status); }

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

// Separation of duties: `name` is the job's agent or its accountable owner.
bool IsActorOf(std::string_view name, const v1::Job& job) {
  const v1::Actor& actor = job.actor();
  return (!actor.agent_id().empty() && SameName(name, actor.agent_id())) ||
         (!actor.owner().empty() && SameName(name, actor.owner()));
}

// The API's code for a store error (unavailable, deadline_exceeded, ...).
std::string_view CodeFor(const Status& status) {
  return subjects::ApiErrorForStatus(status.code());
}

}  // namespace

std::string ApprovalKey(std::string_view tenant_id, std::string_view job_id) {
  if (tenant_id.empty()) tenant_id = kDefaultTenant;
  std::string material = std::to_string(tenant_id.size());
  material.push_back(':');
  material.append(tenant_id);
  material.append(job_id);
  return jobgate::Sha256Hex(material);
}

// --- ApprovalStore ------------------------------------------------------------------------

Result<int64_t> ApprovalStore::CountPending() {
  ApprovalListQuery query;
  query.page_size = 1;  // the count covers the whole store; the page is not needed
  auto page = List(query);
  if (!page.ok()) return page.status();
  return page->pending;
}

void ApprovalStore::CreateMany(std::span<const Record* const> records,
                               std::vector<Result<uint64_t>>* revisions) {
  revisions->clear();
  revisions->reserve(records.size());
  for (const Record* record : records) revisions->push_back(Create(*record));
}

Result<uint64_t> InMemoryApprovalStore::Create(const Record& record) {
  const std::string key = ApprovalKey(record.job().tenant_id(), record.job().job_id());
  MutexLock lock(&mu_);
  if (records_.count(key) != 0) {
    return Status(StatusCode::kAlreadyExists,
                  "job '" + record.job().job_id() + "' is held already");
  }
  Record stored = record;
  stored.set_revision(++last_revision_);
  records_.emplace(key, std::move(stored));
  return last_revision_;
}

Result<Record> InMemoryApprovalStore::Get(std::string_view tenant_id, std::string_view job_id) {
  MutexLock lock(&mu_);
  auto it = records_.find(ApprovalKey(tenant_id, job_id));
  if (it == records_.end()) return NotFound("no approval for job '" + std::string(job_id) + "'");
  return it->second;
}

Result<uint64_t> InMemoryApprovalStore::Update(const Record& record, uint64_t expected_revision) {
  const std::string key = ApprovalKey(record.job().tenant_id(), record.job().job_id());
  MutexLock lock(&mu_);
  auto it = records_.find(key);
  if (it == records_.end() || it->second.revision() != expected_revision) {
    return Conflict("the approval of job '" + record.job().job_id() + "' changed meanwhile");
  }
  it->second = record;
  it->second.set_revision(++last_revision_);
  return last_revision_;
}

Result<Record> InMemoryApprovalStore::GetByKey(std::string_view key) {
  MutexLock lock(&mu_);
  auto it = records_.find(std::string(key));
  if (it == records_.end()) return NotFound("no approval under key " + std::string(key));
  return it->second;
}

Result<SweepScan> InMemoryApprovalStore::ScanForSweep(const Timestamp& now) {
  const int64_t now_ms = TimeUtil::TimestampToMilliseconds(now);
  SweepScan scan;
  std::vector<std::pair<int64_t, std::string>> due;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, record] : records_) {
      const int64_t expires_at_ms =
          TimeUtil::TimestampToMilliseconds(record.approval().expires_at());
      if (record.status() == Record::PENDING) ++scan.pending;
      if (DueForSweep(record.status(), record.released(), expires_at_ms, now_ms)) {
        due.emplace_back(expires_at_ms, key);
      }
    }
  }
  FillDueKeys(&due, &scan);
  return scan;
}

Result<ApprovalPage> InMemoryApprovalStore::List(const ApprovalListQuery& query) {
  ApprovalPager pager(query);
  MutexLock lock(&mu_);
  for (const auto& [key, record] : records_) {
    if (pager.Offer(TimeUtil::TimestampToMilliseconds(record.approval().held_at()), key,
                    record.status() == Record::PENDING)) {
      pager.Take(record);
    }
  }
  return std::move(pager).Finish();
}

// --- ApprovalService ----------------------------------------------------------------------

ApprovalService::ApprovalService(ApprovalStore* store, ApprovalPublisher* publisher,
                                 PolicySource policy, const Clock* clock, ApprovalOptions options,
                                 ApprovalObserver* observer)
    : store_(store),
      publisher_(publisher),
      policy_(std::move(policy)),
      clock_(clock),
      options_(std::move(options)),
      observer_(observer) {}

Timestamp ApprovalService::Now() const {
  return TimeUtil::MillisecondsToTimestamp(clock_->UnixMillis());
}

OutboundMessage ApprovalService::RequestMessage(const Record& record) const {
  const std::string_view rest = subjects::RestOf(record.subject(), options_.prefixes.job);
  v1::DispatchedJob request;
  *request.mutable_job() = Scrubbed(record.job());
  *request.mutable_decision() = record.decision();
  *request.mutable_approval() = record.approval();
  OutboundMessage out;
  out.subject = subjects::Join(options_.prefixes.approval, rest);
  out.msg_id = subjects::MessageId(TenantOf(record.job()), record.job().job_id(), kRequestTarget);
  SetDecisionHeaders(record.decision(), &out);
  out.body = request.SerializeAsString();
  return out;
}

Result<Held> ApprovalService::Hold(const v1::Job& job, const v1::Decision& decision,
                                   std::string_view subject) {
  const HoldRequest request{&job, &decision, subject};
  std::vector<Result<Held>> held;
  HoldMany(std::span<const HoldRequest>(&request, 1), &held);
  return std::move(held[0]);
}

void ApprovalService::HoldMany(std::span<const HoldRequest> requests,
                               std::vector<Result<Held>>* held) {
  held->assign(requests.size(), Status(StatusCode::kInternal, "not held"));
  std::vector<Record> records(requests.size());
  std::vector<const Record*> to_create;
  std::vector<size_t> created_for;  // to_create[k] is requests[created_for[k]]
  to_create.reserve(requests.size());
  created_for.reserve(requests.size());
  const int64_t now_ms = clock_->UnixMillis();
  for (size_t i = 0; i < requests.size(); ++i) {
    if (Status s = BuildHoldRecord(requests[i], now_ms, &records[i]); !s.ok()) {
      (*held)[i] = std::move(s);
      continue;
    }
    to_create.push_back(&records[i]);
    created_for.push_back(i);
  }
  std::vector<Result<uint64_t>> revisions;
  store_->CreateMany(to_create, &revisions);
  for (size_t k = 0; k < created_for.size(); ++k) {
    const size_t i = created_for[k];
    (*held)[i] = HeldAfterCreate(std::move(revisions[k]), std::move(records[i]));
  }
}

Status ApprovalService::BuildHoldRecord(const HoldRequest& request, int64_t now_ms,
                                        Record* record) const {
  const v1::Job& job = *request.job;
  const v1::Decision& decision = *request.decision;
  const std::string_view subject = request.subject;
  if (job.job_id().empty()) return InvalidArgument("a held job needs a job_id");
  if (subjects::RestOf(subject, options_.prefixes.job).empty()) {
    return InvalidArgument("subject '" + std::string(subject) + "' has no <rest>");
  }
  *record->mutable_job() = job;
  if (job.tenant_id().empty()) record->mutable_job()->set_tenant_id(kDefaultTenant);
  // Nothing raw at rest: the record shows the scrubbed job; the original, when
  // scrubbing changed it, only sealed.
  const bool seal =
      policy::SecretScanner::Default().RedactJob(record->mutable_job(), nullptr) > 0 &&
      options_.sealer != nullptr;
  *record->mutable_decision() = decision;
  record->set_subject(std::string(subject));
  record->set_status(Record::PENDING);
  v1::Approval* binding = record->mutable_approval();
  binding->set_outcome(StatusName(Record::PENDING));
  binding->set_job_digest(JobDigest(record->job()));
  if (seal) {
    v1::Job as_came = job;
    if (as_came.tenant_id().empty()) as_came.set_tenant_id(kDefaultTenant);
    auto sealed = options_.sealer->Seal(as_came.SerializeAsString(),
                                        SealContext(record->job(), binding->job_digest()));
    if (!sealed.ok()) return sealed.status();
    record->set_sealed_job(std::move(sealed->blob));
    record->set_sealed_key_id(std::move(sealed->key_id));
  }
  binding->set_held_snapshot(decision.snapshot());
  binding->set_held_snapshot_hash(decision.snapshot_hash());
  const int64_t ttl_sec = decision.has_approval_ttl_sec() && decision.approval_ttl_sec() > 0
                              ? decision.approval_ttl_sec()
                              : options_.default_ttl.count();
  *binding->mutable_held_at() = TimeUtil::MillisecondsToTimestamp(now_ms);
  *binding->mutable_expires_at() = TimeUtil::MillisecondsToTimestamp(now_ms + ttl_sec * 1000);
  return Status::Ok();
}

Result<Held> ApprovalService::HeldAfterCreate(Result<uint64_t> revision, Record record) {
  Held result;
  if (revision.ok()) {
    record.set_revision(*revision);
    result.created = true;
    // On the job path: no recount of the store here (it reads every record). The
    // observer counts the hold; the sweep's recount keeps the gauge exact across replicas.
    if (observer_ != nullptr) observer_->OnHeld();
  } else if (revision.status().code() == StatusCode::kAlreadyExists) {
    // A redelivery (or a resubmission under the same job id): the first hold stands.
    auto existing = store_->Get(record.job().tenant_id(), record.job().job_id());
    if (!existing.ok()) return existing.status();
    if (existing->approval().job_digest() != record.approval().job_digest()) {
      spdlog::warn("job '{}' arrived again with different content; the job held first stands",
                   record.job().job_id());
    }
    record = std::move(*existing);
  } else {
    return revision.status();
  }
  result.request_due = record.status() == Record::PENDING;
  result.approval = std::move(record);
  return result;
}

ApprovalOutcome ApprovalService::Approve(const v1::ApproveRequest& request,
                                         const Identity& approver) {
  return Resolve(Verb::kApprove, request, approver);
}

ApprovalOutcome ApprovalService::Reject(const v1::ApproveRequest& request,
                                        const Identity& approver) {
  return Resolve(Verb::kReject, request, approver);
}

ApprovalOutcome ApprovalService::Resolve(Verb verb, const v1::ApproveRequest& request,
                                         const Identity& who) {
  if (request.job_id().empty()) {
    return {InvalidArgument("which job? job_id is empty"), api_error::kInvalidRequest, {}};
  }
  auto found = store_->Get(request.tenant_id(), request.job_id());
  if (!found.ok()) return {found.status(), CodeFor(found.status()), {}};
  Record record = std::move(*found);
  const v1::Approval& binding = record.approval();

  if (record.status() != Record::PENDING) {
    std::string message =
        "job '" + request.job_id() + "' was " + AsciiLower(StatusName(record.status()));
    if (!binding.approver().empty()) message += " by " + binding.approver();
    message += " at " + TimeUtil::ToString(binding.resolved_at());
    // No replay: the attempt is refused and recorded like any other refusal.
    return Refuse(record, who, StatusCode::kConflict, api_error::kAlreadyResolved,
                  std::move(message));
  }
  if (Now() >= binding.expires_at()) {
    const std::string expired_at = TimeUtil::ToString(binding.expires_at());
    ApprovalOutcome expired = Finish(std::move(record), Record::EXPIRED, "",
                                     "no approver decided before " + expired_at, std::nullopt);
    if (!expired.status.ok()) return expired;
    return {Conflict("the approval of job '" + request.job_id() + "' expired at " + expired_at),
            api_error::kExpired, std::move(expired.approval)};
  }
  if (verb == Verb::kApprove) {
    // Integrity first: every later check reads the job.
    if (JobDigest(record.job()) != binding.job_digest()) {
      return Refuse(record, who, StatusCode::kConflict, api_error::kDigestMismatch,
                    "the held job no longer matches its digest " + binding.job_digest() +
                        "; it was changed after it was held");
    }
    if (!request.job_digest().empty() && request.job_digest() != binding.job_digest()) {
      return Refuse(
          record, who, StatusCode::kConflict, api_error::kDigestMismatch,
          "the job held is " + binding.job_digest() + ", not the reviewed " + request.job_digest());
    }
  }
  const std::string& role = record.decision().approver_role();
  if (!role.empty() && !who.HasRoleNamed(role)) {
    return Refuse(
        record, who, StatusCode::kPermissionDenied, api_error::kWrongRole,
        "resolving this job needs the role '" + role + "', which " + who.name + " does not hold");
  }
  if (verb == Verb::kReject) {
    return Finish(std::move(record), Record::REJECTED, who.name, request.reason(), std::nullopt);
  }
  if (who.name.empty() || IsActorOf(who.name, record.job())) {
    return Refuse(record, who, StatusCode::kPermissionDenied, api_error::kSelfApproval,
                  who.name + " is the job's agent or owner and cannot approve it");
  }
  return ApproveUnderEnforcedPolicy(std::move(record), request, who);
}

ApprovalOutcome ApprovalService::ApproveUnderEnforcedPolicy(Record record,
                                                            const v1::ApproveRequest& request,
                                                            const Identity& who) {
  const v1::Approval& binding = record.approval();
  // Bound to the snapshot that held the job: if another is enforced now, the job must
  // still pass it.
  std::optional<v1::Decision> reevaluated;
  const std::shared_ptr<const policy::Policy> policy = policy_ ? policy_() : nullptr;
  if (policy == nullptr) {
    return {Unavailable("no policy is enforced; approvals wait for one"), api_error::kNoPolicy,
            std::move(record)};
  }
  if (policy->hash() != binding.held_snapshot_hash()) {
    policy::DecisionStamp stamp{NewDecisionId(), clock_->UnixMillis()};
    auto as_came = JobAsItCame(record);
    if (!as_came.ok()) return {as_came.status(), api_error::kUnavailable, std::move(record)};
    v1::Decision now = policy->Decide(*as_came, stamp);
    EnforceableDecision(&now);
    if (now.decision() == v1::DENY || now.decision() == v1::TERMINATE) {
      const std::string message = "the job was held under snapshot '" + binding.held_snapshot() +
                                  "'; the enforced '" + now.snapshot() + "' now decides " +
                                  std::string(policy::VerdictName(now.decision())) + ": " +
                                  now.reason();
      return Refuse(record, who, StatusCode::kConflict, api_error::kStaleSnapshot, message, &now);
    }
    if (now.decision() == v1::REQUIRE_APPROVAL && !now.approver_role().empty() &&
        !who.HasRoleNamed(now.approver_role())) {
      return Refuse(record, who, StatusCode::kPermissionDenied, api_error::kWrongRole,
                    "the enforced snapshot '" + now.snapshot() + "' needs the role '" +
                        now.approver_role() + "', which " + who.name + " does not hold",
                    &now);
    }
    reevaluated = std::move(now);
  }
  return Finish(std::move(record), Record::APPROVED, who.name, request.reason(),
                std::move(reevaluated));
}

ApprovalOutcome ApprovalService::Finish(Record record, Record::Status status,
                                        const std::string& approver, const std::string& reason,
                                        std::optional<v1::Decision> released_decision,
                                        bool recount) {
  const uint64_t revision = record.revision();
  const std::string job_id = record.job().job_id();
  record.set_status(status);
  v1::Approval* resolution = record.mutable_approval();
  resolution->set_outcome(StatusName(status));
  resolution->set_approver(approver);
  resolution->set_reason(reason);
  *resolution->mutable_resolved_at() = Now();
  if (released_decision) *record.mutable_released_decision() = std::move(*released_decision);

  auto updated = store_->Update(record, revision);
  if (!updated.ok()) {
    if (updated.status().code() != StatusCode::kConflict) {
      return {updated.status(), CodeFor(updated.status()), std::move(record)};
    }
    // Someone else resolved it first; say who.
    auto now = store_->Get(record.job().tenant_id(), job_id);
    std::string message = "another resolution of job '" + job_id + "' won";
    if (now.ok()) {
      message += ": it is " + AsciiLower(StatusName(now->status()));
      if (!now->approval().approver().empty()) message += " by " + now->approval().approver();
      record = std::move(*now);
    }
    return {Conflict(message), api_error::kConflict, std::move(record)};
  }
  record.set_revision(*updated);
  if (observer_ != nullptr) {
    const double wait_seconds = TimeUtil::DurationToMilliseconds(record.approval().resolved_at() -
                                                                 record.approval().held_at()) /
                                1000.0;
    observer_->OnResolved(AsciiLower(StatusName(status)), std::max(0.0, wait_seconds));
  }
  if (Status published = Publish(&record); !published.ok()) {
    // The resolution stands (it is in the store); ReleasePending finishes the publishes.
    spdlog::warn("job '{}' {}; publishing it failed, will retry: {}", job_id,
                 AsciiLower(StatusName(status)), published.ToString());
  }
  if (recount) ReportPending();
  return {Status::Ok(), "", std::move(record)};
}

Result<v1::Job> ApprovalService::JobAsItCame(const Record& record) const {
  if (record.sealed_job().empty()) return record.job();
  if (options_.sealer == nullptr) {
    return Unavailable("job '" + record.job().job_id() + "' was sealed with key " +
                       record.sealed_key_id() + "; this gate has no approval key");
  }
  auto plain = options_.sealer->Open(record.sealed_key_id(), record.sealed_job(),
                                     SealContext(record.job(), record.approval().job_digest()));
  if (!plain.ok()) return plain.status();
  v1::Job job;
  if (!job.ParseFromString(*plain)) return Internal("a sealed job does not parse");
  return job;
}

Status ApprovalService::Publish(Record* record) {
  const bool approved = record->status() == Record::APPROVED;
  // The worker gets the job as it came; a refusal publishes only the record's own job.
  Result<v1::Job> as_came = approved ? JobAsItCame(*record) : Result<v1::Job>(record->job());
  if (!as_came.ok()) return as_came.status();  // left unreleased; the sweep tries again
  const v1::Job& job = *as_came;
  const std::string_view tenant = TenantOf(job);
  const std::string_view rest = subjects::RestOf(record->subject(), options_.prefixes.job);
  const v1::Decision& decision =
      record->has_released_decision() ? record->released_decision() : record->decision();

  v1::DispatchedJob dispatched;
  *dispatched.mutable_job() = approved ? job : Scrubbed(job);
  *dispatched.mutable_decision() = decision;
  *dispatched.mutable_approval() = record->approval();
  OutboundMessage target;
  target.subject =
      subjects::Join(approved ? options_.prefixes.worker : options_.prefixes.denied, rest);
  target.msg_id =
      subjects::MessageId(tenant, job.job_id(), approved ? kReleaseTarget : kDeniedTarget);
  SetDecisionHeaders(decision, &target);
  if (approved) target.headers.emplace_back(kApproverHeader, record->approval().approver());
  target.body = dispatched.SerializeAsString();

  v1::DecisionRecord audit;
  *audit.mutable_decision() = decision;
  audit.set_subject(record->subject());
  audit.set_routed_to(target.subject);
  *audit.mutable_job() = Scrubbed(job);
  audit.mutable_decision()->set_job_hash(JobDigest(audit.job()));
  *audit.mutable_approval() = record->approval();
  OutboundMessage resolution;
  resolution.subject = subjects::Join(options_.prefixes.decisions, rest);
  resolution.msg_id = subjects::MessageId(tenant, job.job_id(), kResolutionTarget);
  resolution.body = audit.SerializeAsString();

  // The job first: once it is out, the record of it follows (or ReleasePending repeats
  // both, and the stream drops the duplicate).
  JOBGATE_RETURN_IF_ERROR(publisher_->Publish(target));
  JOBGATE_RETURN_IF_ERROR(publisher_->Publish(resolution));

  Record released = *record;
  released.set_released(true);
  *released.mutable_released_at() = Now();
  auto updated = store_->Update(released, record->revision());
  if (updated.ok()) {
    released.set_revision(*updated);
    *record = std::move(released);
    return Status::Ok();
  }
  if (updated.status().code() == StatusCode::kConflict) {
    // Another replica's ReleasePending marked it meanwhile.
    auto now = store_->Get(tenant, job.job_id());
    if (now.ok() && now->released()) {
      *record = std::move(*now);
      return Status::Ok();
    }
  }
  return updated.status();
}

void ApprovalService::RecordRefusedCall(const v1::ApproveRequest& request, const Status& refusal) {
  if (request.job_id().empty()) return;
  auto found = store_->Get(request.tenant_id(), request.job_id());
  if (!found.ok()) return;  // not held (or the store is down): nothing to attach it to
  const std::string_view code = refusal.code() == StatusCode::kUnauthenticated
                                    ? api_error::kUnauthenticated
                                    : api_error::kForbidden;
  (void)Refuse(*found, Identity{}, refusal.code(), code, refusal.message());
}

ApprovalOutcome ApprovalService::Refuse(const Record& record, const Identity& who,
                                        StatusCode status, std::string_view code,
                                        std::string message, const v1::Decision* reevaluated) {
  v1::DecisionRecord audit;
  *audit.mutable_decision() = reevaluated != nullptr ? *reevaluated : record.decision();
  audit.set_subject(record.subject());
  *audit.mutable_job() = Scrubbed(record.job());
  audit.mutable_decision()->set_job_hash(JobDigest(audit.job()));
  v1::Approval* attempt = audit.mutable_approval();
  *attempt = record.approval();
  attempt->set_outcome("REFUSED");
  attempt->set_approver(who.name);
  attempt->set_reason(message);
  attempt->set_refusal(std::string(code));
  *attempt->mutable_resolved_at() = Now();
  OutboundMessage out;
  out.subject = subjects::Join(options_.prefixes.decisions,
                               subjects::RestOf(record.subject(), options_.prefixes.job));
  out.msg_id = subjects::MessageId(TenantOf(record.job()), record.job().job_id(),
                                   std::string(kRefusalTarget) + NewDecisionId());
  out.body = audit.SerializeAsString();
  if (Status s = publisher_->Publish(out); !s.ok()) {
    spdlog::warn("could not record the refused approval of job '{}' ({}): {}",
                 record.job().job_id(), code, s.ToString());
  }
  if (observer_ != nullptr) observer_->OnRefused(code);
  return {Status(status, std::move(message)), std::move(code), record};
}

ApprovalService::SweepTally ApprovalService::Sweep(const SweepScan& scan, bool expire) {
  SweepTally tally;
  tally.pending = scan.pending;
  for (const std::string& key : scan.due_keys) {
    auto found = store_->GetByKey(key);
    if (!found.ok()) {
      // Gone since the scan (kNotFound) or unreadable now: the next sweep sees again.
      if (found.status().code() != StatusCode::kNotFound) {
        spdlog::warn("sweep: {}", found.status().ToString());
      }
      continue;
    }
    Record& record = *found;
    if (record.status() != Record::PENDING) {
      if (record.released()) continue;  // another replica finished it meanwhile
      if (Status s = Publish(&record); s.ok()) {
        ++tally.released;
      } else if (tally.first_error.ok()) {
        tally.first_error = s;
      }
      continue;
    }
    if (!expire || Now() < record.approval().expires_at()) continue;
    const std::string job_id = record.job().job_id();
    const std::string expired_at = TimeUtil::ToString(record.approval().expires_at());
    ApprovalOutcome out = Finish(std::move(record), Record::EXPIRED, "",
                                 "no approver decided before " + expired_at, std::nullopt,
                                 /*recount=*/false);
    if (out.status.ok()) {
      ++tally.expired;
      --tally.pending;
    } else if (out.status.code() == StatusCode::kConflict) {
      --tally.pending;  // resolved elsewhere meanwhile: not pending any more either
    } else {
      // Still pending in the store; the next sweep retries.
      spdlog::warn("could not expire the approval of job '{}': {}", job_id, out.status.ToString());
    }
  }
  return tally;
}

Result<int> ApprovalService::ExpireDue() {
  // Only what the scan names is read: finish what a resolution left unpublished, expire
  // what is due, and count what stays pending.
  auto scan = store_->ScanForSweep(Now());
  if (!scan.ok()) return scan.status();
  const SweepTally tally = Sweep(*scan, /*expire=*/true);
  if (!tally.first_error.ok()) {
    spdlog::warn("releasing resolved approvals failed: {}", tally.first_error.ToString());
  }
  if (observer_ != nullptr) observer_->OnPendingCount(tally.pending);
  return tally.expired;
}

Result<int> ApprovalService::ReleasePending() {
  // At the epoch nothing pending is due; what the scan names is what awaits release.
  auto scan = store_->ScanForSweep(Timestamp());
  if (!scan.ok()) return scan.status();
  const SweepTally tally = Sweep(*scan, /*expire=*/false);
  if (!tally.first_error.ok()) return tally.first_error;
  return tally.released;
}

Result<v1::ApprovalList> ApprovalService::List(const v1::ListApprovalsRequest& request) {
  if (request.page_size() < 0) return InvalidArgument("page_size cannot be negative");
  ApprovalListQuery query;
  query.include_resolved = request.include_resolved();
  if (request.page_size() > 0) {
    query.page_size =
        std::min(static_cast<size_t>(request.page_size()), ApprovalListQuery::kMaxPageSize);
  }
  if (!request.page_token().empty()) {
    auto after = DecodePageToken(request.page_token());
    if (!after.ok()) return after.status();
    query.after = std::move(*after);
  }
  auto page = store_->List(query);
  if (!page.ok()) return page.status();
  v1::ApprovalList list;
  list.mutable_approvals()->Reserve(static_cast<int>(page->records.size()));
  for (Record& record : page->records) {
    record.clear_sealed_job();  // ciphertext is of no use to a reader
    *list.add_approvals() = std::move(record);
  }
  list.set_pending(page->pending);
  if (page->next.has_value()) list.set_next_page_token(EncodePageToken(*page->next));
  return list;
}

Result<int64_t> ApprovalService::CountPending() {
  auto count = store_->CountPending();
  if (count.ok() && observer_ != nullptr) observer_->OnPendingCount(*count);
  return count;
}

void ApprovalService::ReportPending() {
  if (observer_ == nullptr) return;
  if (auto count = CountPending(); !count.ok()) {
    spdlog::debug("could not count pending approvals: {}", count.status().ToString());
  }
}

}  // namespace jobgate::gate
