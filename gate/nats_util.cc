#include "gate/nats_util.h"

namespace jobgate::gate {

Status ReadStream(jsCtx* js, const StreamReadOptions& options, uint64_t through,
                  const std::function<void(natsMsg*, const jsMsgMetaData&)>& on_message) {
  if (!options.last_per_subject && options.start_sequence > through) return Status::Ok();
  // An ordered consumer: no acks, no redeliveries, gone when unsubscribed.
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = options.stream.c_str();
  sub_options.Ordered = true;
  if (options.last_per_subject) {
    sub_options.Config.DeliverPolicy = js_DeliverLastPerSubject;
  } else {
    sub_options.Config.DeliverPolicy = js_DeliverByStartSequence;
    sub_options.Config.OptStartSeq = options.start_sequence;
  }
  const std::string what = "read " + options.stream;
  natsSubscription* raw_sub = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s =
      js_SubscribeSync(&raw_sub, js, options.filter.c_str(), nullptr, &sub_options, &js_error);
  if (s != NATS_OK) return FromNats(s, what, js_error);
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> sub(
      raw_sub, [](natsSubscription* p) {
        natsSubscription_Unsubscribe(p);
        natsSubscription_Destroy(p);
      });

  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    natsMsg* raw_msg = nullptr;
    s = natsSubscription_NextMsg(&raw_msg, sub.get(), 1000);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) return FromNats(s, what);
    NatsPtr<natsMsg> msg(raw_msg);
    jsMsgMetaData* raw_meta = nullptr;
    if (natsMsg_GetMetaData(&raw_meta, msg.get()) != NATS_OK) continue;  // flow control etc.
    NatsPtr<jsMsgMetaData> meta(raw_meta);
    on_message(msg.get(), *meta);
    if (meta->Sequence.Stream >= through || meta->NumPending == 0) return Status::Ok();
  }
  return Status(StatusCode::kDeadlineExceeded,
                what + ": not through sequence " + std::to_string(through) + " in time");
}

}  // namespace jobgate::gate
