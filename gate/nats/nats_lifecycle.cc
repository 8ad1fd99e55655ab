#include "gate/nats/nats_lifecycle.h"

#include <spdlog/spdlog.h>

#include "gate/decisions.h"
#include "gate/nats/nats_util.h"
#include "subjects/codec.h"
#include "subjects/headers.h"

namespace jobgate::gate {

NatsRecentJobs::NatsRecentJobs(NatsConnection* connection, std::string stream,
                               std::chrono::milliseconds timeout, subjects::JobBinding binding)
    : connection_(connection),
      stream_(std::move(stream)),
      timeout_(timeout),
      binding_(std::move(binding)) {}

Result<std::vector<v1::Job>> NatsRecentJobs::Fetch(size_t max_jobs) {
  std::vector<v1::Job> jobs;
  if (max_jobs == 0) return jobs;
  jsCtx* raw_js = nullptr;
  natsStatus s = natsConnection_JetStream(&raw_js, connection_->raw(), nullptr);
  if (s != NATS_OK) return FromNats(s, "JetStream context");
  NatsPtr<jsCtx> js(raw_js);

  auto info = GetStreamInfo(js.get(), stream_);
  if (!info.ok()) return info.status();
  const uint64_t first = (*info)->State.FirstSeq;
  const uint64_t last = (*info)->State.LastSeq;
  if ((*info)->State.Msgs == 0 || last == 0) return jobs;
  const uint64_t start = std::max<uint64_t>(first, last >= max_jobs ? last - max_jobs + 1 : 1);

  StreamReadOptions read;
  read.stream = stream_;
  read.start_sequence = start;
  read.timeout = timeout_;
  jobs.reserve(static_cast<size_t>(last - start + 1));
  const Status status =
      ReadStream(js.get(), read, last, [&jobs, this](natsMsg* msg, const jsMsgMetaData&) {
        const char* content_type = nullptr;
        natsMsgHeader_Get(msg, "Content-Type", &content_type);
        auto job = subjects::DecodeJob(
            std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))),
            subjects::FormatFromContentType(content_type != nullptr ? content_type : ""));
        if (job.ok() && subjects::BindJob(natsMsg_GetSubject(msg), binding_, &*job).ok()) {
          jobs.push_back(std::move(*job));
        }
      });
  if (status.code() == StatusCode::kDeadlineExceeded) {
    return Status(StatusCode::kDeadlineExceeded, "read only " + std::to_string(jobs.size()) +
                                                     " recent jobs from " + stream_ + " in time");
  }
  if (!status.ok()) return status;
  return jobs;
}

NatsPolicyEventSink::NatsPolicyEventSink(NatsConnection* connection, std::string subject)
    : connection_(connection), subject_(std::move(subject)) {}

void NatsPolicyEventSink::Emit(const v1::PolicyEvent& event) {
  OutboundMessage message;
  message.subject = subject_;
  message.msg_id = "policy-event-" + NewDecisionId();
  message.headers.emplace_back(subjects::kPolicyEventHeader, event.kind());
  message.body = event.SerializeAsString();
  auto ack = connection_->Publish(message, std::chrono::seconds(5));
  if (!ack.ok()) {
    spdlog::error("policy event '{}' ({} -> {}) not recorded on {}: {}", event.kind(),
                  event.from_snapshot(), event.to_snapshot(), subject_, ack.status().message());
  }
}

}  // namespace jobgate::gate
