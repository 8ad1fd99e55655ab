#include "gate/nats_lifecycle.h"

#include <spdlog/spdlog.h>

#include "gate/dispatcher.h"
#include "gate/nats_util.h"
#include "subjects/codec.h"

namespace jobgate::gate {

NatsRecentJobs::NatsRecentJobs(NatsConnection* connection, std::string stream,
                               std::chrono::milliseconds timeout)
    : connection_(connection), stream_(std::move(stream)), timeout_(timeout) {}

Result<std::vector<v1::Job>> NatsRecentJobs::Fetch(size_t max_jobs) {
  std::vector<v1::Job> jobs;
  if (max_jobs == 0) return jobs;
  jsCtx* raw_js = nullptr;
  natsStatus s = natsConnection_JetStream(&raw_js, connection_->raw(), nullptr);
  if (s != NATS_OK) return FromNats(s, "JetStream context");
  NatsPtr<jsCtx> js(raw_js);

  jsStreamInfo* raw_info = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  s = js_GetStreamInfo(&raw_info, js.get(), stream_.c_str(), nullptr, &js_error);
  if (s != NATS_OK) return FromNats(s, "stream info " + stream_, js_error);
  NatsPtr<jsStreamInfo> info(raw_info);
  const uint64_t first = info->State.FirstSeq;
  const uint64_t last = info->State.LastSeq;
  if (info->State.Msgs == 0 || last == 0) return jobs;
  const uint64_t start = std::max<uint64_t>(first, last >= max_jobs ? last - max_jobs + 1 : 1);

  // An ordered consumer: no acks, no redeliveries, gone when unsubscribed.
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = stream_.c_str();
  options.Ordered = true;
  options.Config.DeliverPolicy = js_DeliverByStartSequence;
  options.Config.OptStartSeq = start;
  natsSubscription* raw_sub = nullptr;
  s = js_SubscribeSync(&raw_sub, js.get(), ">", nullptr, &options, &js_error);
  if (s != NATS_OK) return FromNats(s, "read " + stream_, js_error);
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> sub(
      raw_sub, [](natsSubscription* p) {
        natsSubscription_Unsubscribe(p);
        natsSubscription_Destroy(p);
      });

  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  jobs.reserve(static_cast<size_t>(last - start + 1));
  while (std::chrono::steady_clock::now() < deadline) {
    natsMsg* raw_msg = nullptr;
    s = natsSubscription_NextMsg(&raw_msg, sub.get(), 1000);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) return FromNats(s, "read " + stream_);
    NatsPtr<natsMsg> msg(raw_msg);
    jsMsgMetaData* raw_meta = nullptr;
    if (natsMsg_GetMetaData(&raw_meta, msg.get()) != NATS_OK) continue;  // flow control etc.
    NatsPtr<jsMsgMetaData> meta(raw_meta);
    const char* content_type = nullptr;
    natsMsgHeader_Get(msg.get(), "Content-Type", &content_type);
    auto job = subjects::DecodeJob(
        std::string_view(natsMsg_GetData(msg.get()),
                         static_cast<size_t>(natsMsg_GetDataLength(msg.get()))),
        subjects::FormatFromContentType(content_type != nullptr ? content_type : ""));
    if (job.ok() && subjects::NormalizeJob(natsMsg_GetSubject(msg.get()), &*job).ok()) {
      jobs.push_back(std::move(*job));
    }
    if (meta->Sequence.Stream >= last) return jobs;
  }
  return Status(StatusCode::kDeadlineExceeded, "read only " + std::to_string(jobs.size()) +
                                                   " recent jobs from " + stream_ + " in time");
}

NatsPolicyEventSink::NatsPolicyEventSink(NatsConnection* connection, std::string subject)
    : connection_(connection), subject_(std::move(subject)) {}

void NatsPolicyEventSink::Emit(const v1::PolicyEvent& event) {
  OutboundMessage message;
  message.subject = subject_;
  message.msg_id = "policy-event-" + NewDecisionId();
  message.headers.emplace_back("Jobgate-Policy-Event", event.kind());
  message.body = event.SerializeAsString();
  auto ack = connection_->Publish(message, std::chrono::seconds(5));
  if (!ack.ok()) {
    spdlog::error("policy event '{}' ({} -> {}) not recorded on {}: {}", event.kind(),
                  event.from_snapshot(), event.to_snapshot(), subject_, ack.status().message());
  }
}

}  // namespace jobgate::gate
