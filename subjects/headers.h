// The bus contract's header names and message-id rules, all in one place: every
// `Jobgate-*` header jobgate writes or reads, the JetStream dedup header, and how each
// Nats-Msg-Id is derived. Nothing else in the product spells a header name. Constants
// and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace jobgate::subjects {

// JetStream's dedup header: the stream drops a second message with the same id inside
// its duplicate window.
inline constexpr char kMsgIdHeader[] = "Nats-Msg-Id";

// On every dispatched job (worker, approval and denied subjects), besides Nats-Msg-Id.
// Decision records and alerts carry only Nats-Msg-Id: their body is the decision.
inline constexpr char kDecisionHeader[] = "Jobgate-Decision";
inline constexpr char kDecisionIdHeader[] = "Jobgate-Decision-Id";
inline constexpr char kSnapshotHeader[] = "Jobgate-Snapshot";
// On released jobs: who approved them.
inline constexpr char kApproverHeader[] = "Jobgate-Approver";
// On a parked (deferred) job: the subject it arrived on.
inline constexpr char kArrivalSubjectHeader[] = "Jobgate-Arrival-Subject";
// On a parked job sealed at rest: the id of the key that sealed its bytes
// (gate/core/job_sealer.h); absent when the job is stored as it came.
inline constexpr char kSealedKeyHeader[] = "Jobgate-Sealed-Key";
// On a policy lifecycle event: its kind.
inline constexpr char kPolicyEventHeader[] = "Jobgate-Policy-Event";
// On an answer of the NATS API responder: the HTTP status of the answer.
inline constexpr char kApiStatusHeader[] = "Jobgate-Status";

// The audit chain (docs/audit.md): every record the gate writes to the AUDIT stream
// carries its chain, its position in it and the hash of the record before it.
// The chain: 32 hex digits, drawn at random when a gate process starts.
inline constexpr char kChainHeader[] = "Jobgate-Chain";
// The record's position in its chain, decimal, from 1.
inline constexpr char kChainSeqHeader[] = "Jobgate-Seq";
// Hex SHA-256 of the chain's previous record (gate/core/audit_chain.h RecordHash); 64
// zeros on position 1.
inline constexpr char kChainPrevHeader[] = "Jobgate-Prev";
// On a placeholder (subject Prefixes::chain, empty body) that holds a chain position
// whose record the stream dropped as a duplicate of one it already had: the Nats-Msg-Id
// of that record.
inline constexpr char kChainRefillHeader[] = "Jobgate-Chain-Refill";
// On a placeholder: the RecordHash of the dropped record, which the position's successor
// names as prev.
inline constexpr char kChainHashHeader[] = "Jobgate-Chain-Hash";

// Message-id targets: what a message is, per job.
inline constexpr char kDispatchTarget[] = "dispatch";  // the routed job (and a held job's request)
inline constexpr char kDecisionTarget[] = "decision";  // the decision record
inline constexpr char kAlertTarget[] = "alert";
inline constexpr char kParkTarget[] = "park";  // a deferred job
inline constexpr char kReleaseTarget[] = "release";
inline constexpr char kResolutionTarget[] = "resolution";
inline constexpr char kDeniedTarget[] = "denied";
inline constexpr char kRefusalTargetPrefix[] = "refusal-";  // + a fresh id: one per attempt

// Writes the message-id prefix of `job_id` in `tenant_id` to `*out`: 32 hex digits of
// SHA-256 over tenant, 0x1f and job id, then ":". Safe as a header value whatever the job
// id contains.
void MessageIdPrefix(std::string_view tenant_id, std::string_view job_id, std::string* out);

// The Nats-Msg-Id of `job_id`'s message of kind `target`: MessageIdPrefix, then the
// target. Stable across redeliveries and gate processes, distinct per target.
std::string MessageId(std::string_view tenant_id, std::string_view job_id, std::string_view target);

// The Nats-Msg-Id of a job as `jobgate submit` publishes it: `<tenant>:<job_id>`.
std::string SubmissionMessageId(std::string_view tenant_id, std::string_view job_id);

// The Nats-Msg-Id of the audit.rejected record of a message that arrived on `subject`
// with body digest `body_sha256`: one record per publish. A publish is named by its own
// Nats-Msg-Id (`publish_msg_id`) when it has one, since a publisher's retry that JOBS
// stored again (its duplicate map does not survive every server restart) carries the
// same one; else by the message's stream sequence. Stable across redeliveries.
std::string RejectionMessageId(std::string_view subject, std::string_view publish_msg_id,
                               uint64_t stream_sequence, std::string_view body_sha256);

// The Nats-Msg-Id of the audit placeholder for a record first sent as `msg_id` at
// position `seq` of `chain`: unique per position.
std::string PlaceholderMessageId(std::string_view msg_id, std::string_view chain,
                                 std::string_view seq);

}  // namespace jobgate::subjects
