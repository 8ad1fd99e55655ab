#include "cli/job_submission.h"

#include <algorithm>

#include "subjects/codec.h"
#include "subjects/subjects.h"
#include "subjects/headers.h"

namespace jobgate::gate {

Status PrepareJobForSubmit(v1::Job* job) {
  const subjects::Prefixes prefixes;
  if (job->job_id().empty() || job->topic().empty()) {
    return InvalidArgument("a job needs a job_id and a topic");
  }
  // The topic is the subject the job is published on; "db.migrate" means "job.db.migrate".
  if (job->topic().rfind(prefixes.job + ".", 0) != 0) {
    job->set_topic(subjects::Join(prefixes.job, job->topic()));
  }
  if (!subjects::IsValidPublishSubject(job->topic())) {
    return InvalidArgument("topic '" + job->topic() + "' is not a valid subject");
  }
  if (job->tenant_id().empty()) job->set_tenant_id("default");
  return Status::Ok();
}

Result<Submission> PublishJob(NatsConnection& connection, const v1::Job& job,
                              const SubmitOptions& options) {
  const subjects::Prefixes prefixes;
  Submission submission;
  submission.subject = job.topic();
  if (options.watch_decisions) {
    const std::string_view rest = subjects::RestOf(submission.subject, prefixes.job);
    auto sub = connection.Subscribe(subjects::Join(prefixes.decisions, rest));
    if (!sub.ok()) return sub.status();
    submission.decisions = std::move(sub).value();
    // The server has the subscription before the job exists, so its record cannot slip past.
    JOBGATE_RETURN_IF_ERROR(
        connection.Flush(std::min(options.timeout, std::chrono::milliseconds(5000))));
  }

  OutboundMessage message;
  message.subject = submission.subject;
  // The job id is the idempotency key: a second submit inside the duplicate window is
  // dropped by the JOBS stream.
  message.msg_id = subjects::SubmissionMessageId(job.tenant_id(), job.job_id());
  if (options.json) {
    message.body = subjects::ToJson(job);
    message.headers.emplace_back("Content-Type", "application/json");
  } else {
    job.SerializeToString(&message.body);
    message.headers.emplace_back("Content-Type", "application/protobuf");
  }
  auto ack = connection.Publish(message, options.timeout);
  if (!ack.ok()) return ack.status();
  submission.ack = std::move(ack).value();
  return submission;
}

Result<v1::DecisionRecord> NextDecisionRecord(Submission& submission, const v1::Job& job,
                                              std::chrono::steady_clock::time_point deadline) {
  if (submission.decisions == nullptr) {
    return FailedPrecondition("the submission does not watch decisions");
  }
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto received = submission.decisions->Next(left);
    if (!received.ok()) {
      if (received.status().code() == StatusCode::kDeadlineExceeded) break;
      return received.status();
    }
    v1::DecisionRecord record;
    if (!record.ParseFromString(received->data)) continue;
    if (record.decision().job_id() != job.job_id() || record.job().tenant_id() != job.tenant_id()) {
      continue;
    }
    return record;
  }
  return Status(StatusCode::kDeadlineExceeded, "no decision for " + job.job_id() + " in time");
}

}  // namespace jobgate::gate
