#include "gate/nats/nats_util.h"

#include <algorithm>

namespace jobgate::gate {

Status ReadStream(jsCtx* js, const StreamReadOptions& options, uint64_t through,
                  const std::function<void(natsMsg*, const jsMsgMetaData&)>& on_message) {
  if (!options.last_per_subject && options.start_sequence > through) return Status::Ok();
  // An ephemeral pull consumer without acks, deleted on unsubscribe. Pulled a batch at a
  // time, so a long read holds one batch in memory, not whatever the server can push.
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = options.stream.c_str();
  sub_options.Config.AckPolicy = js_AckNone;
  if (options.last_per_subject) {
    sub_options.Config.DeliverPolicy = js_DeliverLastPerSubject;
  } else if (options.start_time_ns > 0) {
    sub_options.Config.DeliverPolicy = js_DeliverByStartTime;
    sub_options.Config.OptStartTime = options.start_time_ns;
  } else {
    sub_options.Config.DeliverPolicy = js_DeliverByStartSequence;
    sub_options.Config.OptStartSeq = options.start_sequence;
  }
  const std::string what = "read " + options.stream;
  natsSubscription* raw_sub = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&raw_sub, js, options.filter.c_str(), nullptr, nullptr,
                                  &sub_options, &js_error);
  if (s != NATS_OK) return FromNats(s, what, js_error);
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> sub(
      raw_sub, [](natsSubscription* p) {
        natsSubscription_Unsubscribe(p);
        natsSubscription_Destroy(p);
      });

  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    jsFetchRequest request;
    jsFetchRequest_Init(&request);
    request.Batch = options.batch;
    request.NoWait = true;  // what is there now; none left means read through
    request.Expires = std::max<int64_t>(1, options.timeout.count()) * 1'000'000;  // ns
    natsMsgList list{nullptr, 0};
    s = natsSubscription_FetchRequest(&list, sub.get(), &request);
    if (s == NATS_NOT_FOUND || s == NATS_TIMEOUT) return Status::Ok();
    if (s != NATS_OK) return FromNats(s, what);
    bool done = false;
    for (int i = 0; i < list.Count; ++i) {
      jsMsgMetaData* raw_meta = nullptr;
      if (natsMsg_GetMetaData(&raw_meta, list.Msgs[i]) != NATS_OK) continue;
      NatsPtr<jsMsgMetaData> meta(raw_meta);
      on_message(list.Msgs[i], *meta);
      done = meta->Sequence.Stream >= through || meta->NumPending == 0;
    }
    natsMsgList_Destroy(&list);
    if (done) return Status::Ok();
  }
  return Status(StatusCode::kDeadlineExceeded,
                what + ": not through sequence " + std::to_string(through) + " in time");
}

}  // namespace jobgate::gate
