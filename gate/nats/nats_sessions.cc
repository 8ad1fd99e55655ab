#include "gate/nats/nats_sessions.h"

// NatsSessionLog: session state as a fold of a JetStream stream (gate/core/sessions.h).
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "base/mutex.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_util.h"
#include "gate/core/sessions.h"

namespace jobgate::gate {

namespace {

// A jobgate.v1.SessionChanges message holding `changes`, written from them without
// copying each into the message first: field 1, length-delimited, once per change.
std::string EncodeSessionChanges(std::span<const v1::SessionChange> changes) {
  std::string data;
  {
    google::protobuf::io::StringOutputStream stream(&data);
    google::protobuf::io::CodedOutputStream coded(&stream);
    for (const v1::SessionChange& change : changes) {
      coded.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
          v1::SessionChanges::kChangesFieldNumber,
          google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
      coded.WriteVarint32(static_cast<uint32_t>(change.ByteSizeLong()));
      change.SerializeWithCachedSizes(&coded);
    }
  }  // the coded stream flushes into `data` here
  return data;
}

// Changes per log message are bounded by bytes, well under any server's max_payload.
constexpr size_t kMaxLogMessageBytes = 256 * 1024;

struct SubscriptionCloser {
  void operator()(natsSubscription* sub) const {
    natsSubscription_Unsubscribe(sub);  // deletes the ephemeral consumer
    natsSubscription_Destroy(sub);
  }
};

}  // namespace

struct NatsSessionLog::Impl {
  NatsConnection* connection = nullptr;  // borrowed
  const Clock* clock = nullptr;          // borrowed
  SessionStoreOptions options;
  policy::SessionRecording recording;
  NatsPtr<jsCtx> js;
  SessionCache cache;

  Mutex mu;
  CondVar folded_cv;  // signalled with mu when `folded` grows
  uint64_t folded GUARDED_BY(mu) = 0;  // the stream sequence folded through
  std::atomic<bool> subscribed{false};
  std::atomic<int64_t> last_reachable_ms{0};  // wall time the log was last seen reachable
  std::atomic<bool> stop{false};
  std::thread fold_thread;

  ~Impl() {
    stop.store(true, std::memory_order_release);
    if (fold_thread.joinable()) fold_thread.join();
  }

  uint64_t Folded() {
    MutexLock lock(&mu);
    return folded;
  }

  // Waits until the fold has reached `sequence`; false at `deadline`.
  bool AwaitFolded(uint64_t sequence, std::chrono::steady_clock::time_point deadline) {
    MutexLock lock(&mu);
    while (folded < sequence && folded_cv.WaitUntil(&mu, deadline)) {
    }
    return folded >= sequence;
  }

  void FoldMessage(natsMsg* msg) {
    jsMsgMetaData* raw_meta = nullptr;
    if (natsMsg_GetMetaData(&raw_meta, msg) != NATS_OK) return;  // not a stream message
    NatsPtr<jsMsgMetaData> meta(raw_meta);
    const uint64_t sequence = meta->Sequence.Stream;
    if (sequence <= Folded()) return;  // delivered again after a re-subscribe
    v1::SessionChanges changes;
    if (changes.ParseFromArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg))) {
      for (const v1::SessionChange& change : changes.changes()) {
        cache.Fold(change, sequence, recording);
      }
    } else {
      spdlog::warn("ignoring a corrupt session log message (stream {}, sequence {})",
                   options.stream, sequence);
    }
    MutexLock lock(&mu);
    folded = sequence;
    folded_cv.NotifyAll();
  }

  // An ordered consumer from the message after the last one folded.
  Result<std::unique_ptr<natsSubscription, SubscriptionCloser>> Subscribe() {
    jsSubOptions sub_options;
    jsSubOptions_Init(&sub_options);
    sub_options.Stream = options.stream.c_str();
    sub_options.Ordered = true;
    sub_options.Config.DeliverPolicy = js_DeliverByStartSequence;
    sub_options.Config.OptStartSeq = Folded() + 1;
    natsSubscription* raw = nullptr;
    jsErrCode js_error = static_cast<jsErrCode>(0);
    const natsStatus s = js_SubscribeSync(&raw, js.get(), options.subject.c_str(), nullptr,
                                          &sub_options, &js_error);
    if (s != NATS_OK) return FromNats(s, "follow the session log " + options.stream, js_error);
    return std::unique_ptr<natsSubscription, SubscriptionCloser>(raw);
  }

  // Folds the log until stopped, re-subscribing when the subscription ends; keeps
  // last_reachable_ms and expires idle sessions from the copy once a second.
  void FoldLoop() {
    while (!stop.load(std::memory_order_acquire)) {
      auto subscription = Subscribe();
      if (!subscription.ok()) {
        subscribed.store(false, std::memory_order_release);
        Tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // retry pacing
        continue;
      }
      subscribed.store(true, std::memory_order_release);
      while (!stop.load(std::memory_order_acquire)) {
        natsMsg* raw = nullptr;
        const natsStatus s = natsSubscription_NextMsg(&raw, subscription->get(), 1000);
        Tick();
        if (s == NATS_TIMEOUT) continue;
        if (s != NATS_OK) {
          if (s == NATS_ILLEGAL_STATE || s == NATS_INVALID_SUBSCRIPTION ||
              s == NATS_CONNECTION_CLOSED) {
            break;
          }
          continue;  // e.g. a slow-consumer notice: the ordered consumer resets itself
        }
        NatsPtr<natsMsg> msg(raw);
        FoldMessage(msg.get());
      }
      subscribed.store(false, std::memory_order_release);
      if (!stop.load(std::memory_order_acquire)) {
        spdlog::warn("session log {} subscription ended; following it again", options.stream);
      }
    }
  }

  void Tick() {
    const int64_t now = clock->UnixMillis();
    if (connection->connected() && subscribed.load(std::memory_order_acquire)) {
      last_reachable_ms.store(now, std::memory_order_release);
    }
    cache.Expire(now - options.idle.count());
  }

  // Publishes changes[begin, end) as one message; the stream sequence it was stored at.
  Result<uint64_t> Publish(std::span<const v1::SessionChange> changes) {
    const std::string data = EncodeSessionChanges(changes);
    jsPubOptions publish_options;
    jsPubOptions_Init(&publish_options);
    publish_options.MaxWait = options.timeout.count();
    jsPubAck* raw_ack = nullptr;
    jsErrCode js_error = static_cast<jsErrCode>(0);
    const natsStatus s = js_Publish(&raw_ack, js.get(), options.subject.c_str(), data.data(),
                                    static_cast<int>(data.size()), &publish_options, &js_error);
    if (s != NATS_OK) return FromNats(s, "append to the session log " + options.stream, js_error);
    NatsPtr<jsPubAck> ack(raw_ack);
    return ack->Sequence;
  }
};

NatsSessionLog::NatsSessionLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NatsSessionLog::~NatsSessionLog() = default;

Result<std::unique_ptr<NatsSessionLog>> NatsSessionLog::Open(NatsConnection* connection,
                                                             const Clock* clock,
                                                             const SessionStoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->connection = connection;
  impl->clock = clock;
  impl->options = options;
  impl->recording = RecordingOf(options);
  auto context = NewJetStreamContext(connection->raw(), options.timeout, "the session log");
  if (!context.ok()) return context.status();
  impl->js = std::move(*context);
  StreamSpec spec;
  spec.name = options.stream;
  spec.subjects = {options.subject};
  spec.max_age = std::max(std::chrono::seconds(1),
                          std::chrono::duration_cast<std::chrono::seconds>(options.idle));
  spec.memory_storage = options.memory_storage;
  spec.replicas = options.replicas;
  if (Status created = connection->EnsureStream(spec); !created.ok()) return created;
  auto info = GetStreamInfo(impl->js.get(), options.stream);
  if (!info.ok()) return info.status();
  const uint64_t last = (*info)->State.LastSeq;
  // Nothing to read (every message aged out or purged): the fold starts after the last
  // sequence the stream assigned, since none up to it will ever be delivered.
  if ((*info)->State.Msgs == 0) {
    MutexLock lock(&impl->mu);
    impl->folded = last;
  }
  impl->last_reachable_ms.store(clock->UnixMillis());
  Impl* raw = impl.get();
  impl->fold_thread = std::thread([raw] { raw->FoldLoop(); });
  // The copy is current once the fold has reached the last message there was at start.
  if (!raw->AwaitFolded(last, std::chrono::steady_clock::now() + options.timeout)) {
    return Unavailable("the session log " + options.stream + " was not read up to message " +
                       std::to_string(last) + " in time");
  }
  return std::unique_ptr<NatsSessionLog>(new NatsSessionLog(std::move(impl)));
}

SessionPtr NatsSessionLog::FindKey(const std::string& key) const {
  return impl_->cache.Find(key);
}

void NatsSessionLog::Apply(std::span<const v1::SessionChange> changes,
                           std::vector<Result<SessionPtr>>* out) {
  out->assign(changes.size(), Result<SessionPtr>(Unavailable("session change not stored")));
  const auto deadline = std::chrono::steady_clock::now() + impl_->options.timeout;
  std::vector<bool> stored(changes.size(), false);
  uint64_t last = 0;
  size_t begin = 0;
  while (begin < changes.size()) {
    size_t end = begin;
    size_t bytes = 0;
    while (end < changes.size() && (end == begin || bytes < kMaxLogMessageBytes)) {
      bytes += changes[end].ByteSizeLong();
      ++end;
    }
    auto sequence = impl_->Publish(changes.subspan(begin, end - begin));
    for (size_t i = begin; i < end; ++i) {
      if (sequence.ok()) {
        stored[i] = true;
      } else {
        (*out)[i] = sequence.status();
      }
    }
    if (sequence.ok()) last = std::max(last, *sequence);
    begin = end;
  }
  if (last == 0) return;
  if (!impl_->AwaitFolded(last, deadline)) {
    for (size_t i = 0; i < changes.size(); ++i) {
      if (stored[i]) (*out)[i] = Unavailable("session change stored but not yet read back");
    }
    return;
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    if (stored[i]) (*out)[i] = Find(changes[i].tenant_id(), changes[i].session());
  }
}

std::vector<SessionPtr> NatsSessionLog::List() const { return impl_->cache.List(); }

Status NatsSessionLog::Ready() const {
  const int64_t since = impl_->clock->UnixMillis() -
                        impl_->last_reachable_ms.load(std::memory_order_acquire);
  if (since > impl_->options.grace.count()) {
    return Unavailable("the session log " + impl_->options.stream + " has been unreachable for " +
                       std::to_string(since / 1000) + " s");
  }
  return Status::Ok();
}

}  // namespace jobgate::gate
