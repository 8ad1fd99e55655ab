#include "gate/nats/nats_util.h"

#include <algorithm>
#include <optional>

namespace jobgate::gate {

namespace {

// The longest a single pull of ReadStream waits.
constexpr int64_t kStreamReadPullMs = 2000;

// Whether the server counts nothing left for `sub`'s consumer to deliver. False when it
// cannot tell (the read goes on until its deadline).
bool NothingPending(natsSubscription* sub) {
  jsConsumerInfo* raw = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  if (natsSubscription_GetConsumerInfo(&raw, sub, nullptr, &js_error) != NATS_OK) return false;
  NatsPtr<jsConsumerInfo> info(raw);
  return info->NumPending == 0;
}

// When the message at `seq` of `stream` was stored (ns since the Unix epoch), or
// nullopt when there is no message at `seq` (deleted, or past the end).
Result<std::optional<int64_t>> StoredAt(jsCtx* js, const std::string& stream, uint64_t seq) {
  natsMsg* raw = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetMsg(&raw, js, stream.c_str(), seq, nullptr, &js_error);
  if (s == NATS_NOT_FOUND) return std::optional<int64_t>();
  if (s != NATS_OK) return FromNats(s, "get " + stream + " sequence " + std::to_string(seq), js_error);
  NatsPtr<natsMsg> msg(raw);
  return std::optional<int64_t>(natsMsg_GetTime(msg.get()));
}

}  // namespace

Result<uint64_t> FirstSequenceAtTime(jsCtx* js, const std::string& stream, uint64_t first,
                                     uint64_t last, int64_t time_ns) {
  // Every message below lo is older than time_ns; every message at or above hi is not.
  uint64_t lo = first;
  uint64_t hi = last + 1;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    // The first message at or after mid, below hi.
    uint64_t seq = mid;
    std::optional<int64_t> stored;
    for (; seq < hi && !stored.has_value(); ++seq) {
      auto at = StoredAt(js, stream, seq);
      if (!at.ok()) return at.status();
      stored = *at;
    }
    if (!stored.has_value() || *stored >= time_ns) {
      hi = mid;
    } else {
      lo = seq;  // one past the older message found
    }
  }
  return lo;
}

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
  for (auto now = std::chrono::steady_clock::now(); now < deadline;
       now = std::chrono::steady_clock::now()) {
    jsFetchRequest request;
    jsFetchRequest_Init(&request);
    request.Batch = options.batch;
    request.NoWait = true;  // what is there now; none left means read through
    // Each pull waits a short while at most, so a pull the server leaves open (it may,
    // with messages it counts as pending but has not delivered) costs seconds, not the
    // whole read's time.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    request.Expires = std::clamp<int64_t>(left.count(), 1, kStreamReadPullMs) * 1'000'000;  // ns
    natsMsgList list{nullptr, 0};
    s = natsSubscription_FetchRequest(&list, sub.get(), &request);
    if (s == NATS_NOT_FOUND) return Status::Ok();  // the server has nothing more for us
    if (s == NATS_TIMEOUT && list.Count == 0) {
      if (NothingPending(sub.get())) return Status::Ok();
      continue;
    }
    if (s != NATS_OK && s != NATS_TIMEOUT) return FromNats(s, what);
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
