// Internal to gate/: the edge where nats.c meets jobgate. RAII deleters for nats.c
// handles, the one conversion from natsStatus/jsErrCode to jobgate::Status, and the few
// JetStream idioms several adapters share (a context, a KV bucket, reading a stream).
// Only .cc files that call nats.c include this; no public header exposes a nats.c type.
#pragma once

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace jobgate::gate {

// unique_ptr deleters for nats.c handles: each calls the handle's matching *_Destroy.
struct NatsDeleter {
  void operator()(natsOptions* p) const { natsOptions_Destroy(p); }
  void operator()(natsMsg* p) const { natsMsg_Destroy(p); }
  void operator()(jsCtx* p) const { jsCtx_Destroy(p); }
  void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
  void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
  void operator()(jsPubAck* p) const { jsPubAck_Destroy(p); }
  void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
  void operator()(kvStore* p) const { kvStore_Destroy(p); }
  void operator()(kvEntry* p) const { kvEntry_Destroy(p); }
  void operator()(kvWatcher* p) const { kvWatcher_Destroy(p); }
};
template <typename T>
using NatsPtr = std::unique_ptr<T, NatsDeleter>;

// natsStatus (+ jsErrCode) -> Status, with nats.c's last error text when it has one.
// `what` says what was being done ("create stream JOBS").
inline Status FromNats(natsStatus s, std::string_view what,
                       jsErrCode js_error = static_cast<jsErrCode>(0)) {
  if (s == NATS_OK) return Status::Ok();
  std::string message(what);
  message += ": ";
  const char* last = nats_GetLastError(nullptr);
  message += (last != nullptr && *last != '\0') ? last : natsStatus_GetText(s);
  if (js_error != 0) message += " (jetstream error " + std::to_string(int(js_error)) + ")";
  StatusCode code = StatusCode::kUnavailable;
  switch (s) {
    case NATS_TIMEOUT:
      code = StatusCode::kDeadlineExceeded;
      break;
    case NATS_NOT_FOUND:
      code = StatusCode::kNotFound;
      break;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_MAX_PAYLOAD:
      code = StatusCode::kInvalidArgument;
      break;
    case NATS_NOT_PERMITTED:
      code = StatusCode::kPermissionDenied;
      break;
    case NATS_CONNECTION_AUTH_FAILED:
      code = StatusCode::kUnauthenticated;
      break;
    case NATS_ERR:
      if (js_error == JSStreamWrongLastSequenceErr) {
        code = StatusCode::kConflict;
      } else if (js_error != 0) {
        code = StatusCode::kInternal;
      }
      break;
    default:
      break;
  }
  return Status(code, std::move(message));
}

// A JetStream context on `nc` whose API calls wait up to `wait`.
inline Result<NatsPtr<jsCtx>> NewJetStreamContext(natsConnection* nc,
                                                  std::chrono::milliseconds wait,
                                                  std::string_view what) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = wait.count();
  jsCtx* js = nullptr;
  if (natsStatus s = natsConnection_JetStream(&js, nc, &options); s != NATS_OK) {
    return FromNats(s, "JetStream context for " + std::string(what));
  }
  return NatsPtr<jsCtx>(js);
}

// A JetStream context on `nc` for async publishes: each publish's ack (or failure) is
// handed to `handler` with `closure`; API calls and the wait for acks use `wait`.
inline Result<NatsPtr<jsCtx>> NewAsyncPublishContext(natsConnection* nc,
                                                     std::chrono::milliseconds wait,
                                                     jsPubAckHandler handler, void* closure,
                                                     std::string_view what) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = wait.count();
  options.PublishAsync.AckHandler = handler;
  options.PublishAsync.AckHandlerClosure = closure;
  jsCtx* js = nullptr;
  if (natsStatus s = natsConnection_JetStream(&js, nc, &options); s != NATS_OK) {
    return FromNats(s, "JetStream context for " + std::string(what));
  }
  return NatsPtr<jsCtx>(js);
}

// KV writes report a failed compare-and-set as a generic error whose text names the
// wrong last sequence; this makes it kConflict.
inline Status KvWriteStatus(natsStatus s, const std::string& what) {
  Status status = FromNats(s, what);
  if (!status.ok() && status.message().find("wrong last sequence") != std::string::npos) {
    return Conflict(status.message());
  }
  return status;
}

// Opens KV `bucket`, creating it (with `history` revisions per key, and entries kept
// `ttl` when it is positive) when missing; a bucket another replica created a moment ago
// is opened instead. An existing bucket is opened as it is.
inline Result<NatsPtr<kvStore>> OpenKvBucket(jsCtx* js, const std::string& bucket, uint8_t history,
                                             int replicas, bool memory_storage,
                                             std::chrono::milliseconds ttl = {}) {
  kvStore* raw = nullptr;
  natsStatus s = js_KeyValue(&raw, js, bucket.c_str());
  if (s == NATS_OK) return NatsPtr<kvStore>(raw);
  if (s != NATS_NOT_FOUND) return FromNats(s, "open KV bucket " + bucket);
  kvConfig config;
  kvConfig_Init(&config);
  config.Bucket = bucket.c_str();
  config.History = history;
  if (ttl.count() > 0) config.TTL = ttl.count() * 1'000'000;  // the stream's MaxAge, in ns
  config.Replicas = replicas;
  config.StorageType = memory_storage ? js_MemoryStorage : js_FileStorage;
  s = js_CreateKeyValue(&raw, js, &config);
  if (s == NATS_OK) return NatsPtr<kvStore>(raw);
  if (js_KeyValue(&raw, js, bucket.c_str()) == NATS_OK) return NatsPtr<kvStore>(raw);
  return FromNats(s, "create KV bucket " + bucket);
}

// Writes what `connection` has buffered now, rather than after nats.c's flusher thread's
// 1 ms pause, then waits for every async publish of `js` to be acknowledged: one
// `timeout` for both. A failed flush shows as acks missing. Returns the wait's status
// (NATS_TIMEOUT: some publishes are still unacknowledged).
inline natsStatus FlushAndAwaitAcks(natsConnection* connection, jsCtx* js,
                                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  natsConnection_FlushTimeout(connection, std::max<int64_t>(1, timeout.count()));
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now())
                                          .count());
  return js_PublishAsyncComplete(js, &wait);
}

// Publishes a copy of `data` on `subject` through `js`'s async publishing, with
// `options` (may be null). True when the library took it: its ack, or its failure, then
// reaches `js`'s ack handler. False when it could not be sent (nothing will be heard).
inline bool PublishCopyAsync(jsCtx* js, const std::string& subject, std::string_view data,
                             jsPubOptions* options) {
  natsMsg* msg = nullptr;
  if (natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(),
                     static_cast<int>(data.size())) != NATS_OK) {
    return false;
  }
  if (js_PublishMsgAsync(js, &msg, options) != NATS_OK) {
    natsMsg_Destroy(msg);  // not taken by the library
    return false;
  }
  return true;
}

// FlushAndAwaitAcks for a batch whose answers the caller reads from its ack handler:
// publishes still unacknowledged at `timeout` are dropped from `js` (no handler call will
// come for them), so they stay unknown to the caller. False when some were dropped.
inline bool AwaitBatchAcks(natsConnection* connection, jsCtx* js,
                           std::chrono::milliseconds timeout) {
  if (FlushAndAwaitAcks(connection, js, timeout) == NATS_OK) return true;
  natsMsgList pending{nullptr, 0};
  if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) natsMsgList_Destroy(&pending);
  return false;
}

// The stream's info (config and state); kNotFound when there is no such stream.
inline Result<NatsPtr<jsStreamInfo>> GetStreamInfo(jsCtx* js, const std::string& stream) {
  jsStreamInfo* raw = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetStreamInfo(&raw, js, stream.c_str(), nullptr, &js_error);
  if (s != NATS_OK) return FromNats(s, "stream info " + stream, js_error);
  return NatsPtr<jsStreamInfo>(raw);
}

// What ReadStream reads.
struct StreamReadOptions {
  std::string stream;
  std::string filter = ">";       // the subjects to read
  bool last_per_subject = false;  // the newest message of each subject, else every message
  uint64_t start_sequence = 1;    // from here (without last_per_subject); to start at a
                                  // time, FirstSequenceAtTime
  int batch = 256;                 // messages per pull
  std::chrono::milliseconds timeout{10000};
};

// Reads a stream through a short-lived pull consumer (no acks, deleted when done), a batch
// at a time, and calls `on_message` for each message in stream order, borrowed for the
// call, until it has delivered sequence `through` (usually the stream's LastSeq, read just
// before) or nothing more is there. kDeadlineExceeded after `options.timeout`.
Status ReadStream(jsCtx* js, const StreamReadOptions& options, uint64_t through,
                  const std::function<void(natsMsg*, const jsMsgMetaData&)>& on_message);

// Where to start reading [first, last] of `stream` to get exactly the messages stored at
// or after `time_ns` (nanoseconds since the Unix epoch): every message below the answer
// is older, every message at or above it is not; last + 1 when none is. The answer is the
// first such message's sequence, or a deleted sequence just before it. A binary
// search by message get (a round trip per probe, about log2(last - first) of them), which
// relies on JetStream stamping messages in sequence order; deleted sequences are stepped
// over. The server's own deliver-by-start-time is not used: nats-server 2.9 may answer
// it with no messages at all when the message block's cache is cold.
Result<uint64_t> FirstSequenceAtTime(jsCtx* js, const std::string& stream, uint64_t first,
                                     uint64_t last, int64_t time_ns);

}  // namespace jobgate::gate
