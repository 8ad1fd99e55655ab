// Submitting one job to a running gate and waiting for the gate's decision records of it:
// the client side shared by `jobgate submit --wait` and `jobgate hook claude-code`.
//
// Contract: PrepareJobForSubmit completes a job the way the contract says a publisher
// should (topic under `job.`, tenant "default"); PublishJob subscribes to the job's
// decision subject (`audit.decisions.<rest>`) *before* publishing when asked to, so no
// record can slip past, then publishes the job to JetStream with its idempotency key
// (`<tenant>:<job_id>` as Nats-Msg-Id) and waits for the stream's ack. NextDecisionRecord
// returns the next record of that job (other jobs' records on the subject are skipped);
// a held job has two or more: the hold, then its resolution (approval.outcome APPROVED,
// REJECTED, EXPIRED) and possibly refused approval attempts in between.
// Errors are Status values, never exceptions. Not thread-safe: one caller per Submission.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gate/nats/nats_bus.h"
#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::gate {

// Puts the topic under the job prefix ("db.migrate" -> "job.db.migrate"), checks it is a
// publishable subject and sets tenant "default" when empty. kInvalidArgument when the
// job has no job_id or topic, or the topic is not a valid subject.
Status PrepareJobForSubmit(v1::Job* job);

struct SubmitOptions {
  bool json = false;             // publish JSON rather than protobuf
  bool watch_decisions = false;  // subscribe to the job's decision subject first
  // Bounds the subscription's flush and the publish's ack wait, each.
  std::chrono::milliseconds timeout{10000};
};

struct Submission {
  std::string subject;  // where the job was published
  PublishAck ack;
  std::unique_ptr<SyncSubscription> decisions;  // set with watch_decisions
};

// Publishes `job` (already prepared) on its topic. See the file comment.
Result<Submission> PublishJob(NatsConnection& connection, const v1::Job& job,
                              const SubmitOptions& options);

// The next decision record of `job` seen on `submission.decisions`, or kDeadlineExceeded
// once `deadline` passes (kFailedPrecondition without watch_decisions). Records that do
// not parse, or belong to another job or tenant, are skipped.
Result<v1::DecisionRecord> NextDecisionRecord(Submission& submission, const v1::Job& job,
                                              std::chrono::steady_clock::time_point deadline);

}  // namespace jobgate::gate
