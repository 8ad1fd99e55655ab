// The NATS JetStream side of the gate, through nats.c: a connection with the options a
// deployment needs, stream and consumer setup, and NatsBus, the production Bus.
//
// Every nats.c handle lives in a unique_ptr with its matching *_Destroy; natsStatus and
// jsErrCode become jobgate::Status here and nowhere else. No nats.c type appears in this
// header.
//
// Ownership: a NatsConnection owns the connection and its default JetStream context. A
// NatsBus borrows a NatsConnection (which must outlive it) and owns its subscription
// and its own JetStream context (whose async-publish acks it tracks).
// Thread-safety: NatsConnection is thread-safe (nats.c connections are). A NatsBus is
// driven by one thread at a time (see gate/core/bus.h); its ack callback runs on a nats.c
// thread and synchronises through the bus's mutex.
// Every outbound message of a batch must carry a msg id: failures are matched by it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "gate/audit/audit_chain.h"
#include "gate/core/bus.h"

// nats.c handles, declared so this header need not include nats.h.
struct __natsConnection;
struct __natsSubscription;
struct __natsMsg;
struct __jsCtx;
struct jsPubAck;
struct jsPubAckErr;

namespace jobgate::gate {

struct NatsConnectOptions {
  // Tried in order, then round robin on reconnect.
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};
  std::string name = "jobgate";  // shown by the server's monitoring
  std::string user;
  std::string password;
  std::string token;
  std::string credentials_file;  // a .creds file (user JWT + seed)
  std::string tls_ca_file;       // setting any tls_* turns TLS on
  std::string tls_cert_file;
  std::string tls_key_file;
  std::chrono::milliseconds connect_timeout{2000};
  // Reconnect attempts back off exponentially from 100 ms up to this, with jitter, and
  // never stop.
  std::chrono::milliseconds max_reconnect_wait{5000};
  // Bytes buffered while disconnected (publishes and acks), 8 MiB.
  int reconnect_buffer_bytes = 8 << 20;
  // Writes every publish, ack and fetch request to the socket as it is made. Off (the
  // default), nats.c buffers them for its flusher thread, which pauses 1 ms before each
  // write, and the dispatcher writes each batch's publishes itself (Bus::PublishBatch).
  // On: a lower latency tail at low rates, for a system call per message, which costs
  // throughput (docs/operations.md has both, measured).
  bool send_asap = false;
  // How many times nats.c tries a contended mutex before it blocks on it. Library-wide:
  // the process's first Connect sets it, later values are ignored. nats.c's own default
  // (-1) is 2,000 tries; 0 blocks at once, which costs less gate CPU per job on two
  // cores, where the holder is often not running and the tries only burn the core it
  // needs (docs/operations.md, "nats.c's lock spinning", has the measurements). -1 may
  // do better on hosts with idle cores.
  int64_t lock_spin_count = 0;
};

struct StreamSpec {
  enum class Retention { kLimits, kInterest, kWorkQueue };
  std::string name;
  std::vector<std::string> subjects;
  Retention retention = Retention::kLimits;
  std::chrono::seconds max_age{0};  // 0: unlimited
  int64_t max_bytes = -1;           // -1: unlimited
  std::chrono::seconds duplicate_window{120};
  bool memory_storage = false;
  int replicas = 1;
  bool allow_direct = false;  // direct get (any replica answers reads by subject)
  bool discard_new = false;   // when full, refuse new messages rather than drop old ones
  // The server refuses deleting single messages / purging the stream (the audit trail:
  // records leave only by the retention limits). Once set on a stream, neither can be
  // turned off again.
  bool deny_delete = false;
  bool deny_purge = false;
};

struct ConsumerSpec {
  std::string stream = "JOBS";
  std::string durable = "jobgate";
  std::chrono::seconds ack_wait{30};
  int64_t max_deliver = -1;  // -1: unlimited
  int64_t max_ack_pending = 20000;
};

// The outcome of one synchronous JetStream publish.
struct PublishAck {
  std::string stream;
  uint64_t sequence = 0;
  bool duplicate = false;
};

// A plain (core NATS) message received by a SyncSubscription.
struct ReceivedMessage {
  std::string subject;
  std::string data;
};

class SyncSubscription {
 public:
  ~SyncSubscription();
  SyncSubscription(const SyncSubscription&) = delete;
  SyncSubscription& operator=(const SyncSubscription&) = delete;

  // The next message, or kDeadlineExceeded after `timeout`.
  Result<ReceivedMessage> Next(std::chrono::milliseconds timeout);

 private:
  friend class NatsConnection;
  explicit SyncSubscription(__natsSubscription* sub) : sub_(sub) {}
  __natsSubscription* sub_;  // owned
};

class NatsConnection {
 public:
  // Connects. With `wait` false the call returns at once when no server answers and the
  // connection keeps trying in the background (forever); `connected()` says when it is
  // up. With `wait` true a failed first attempt is an error.
  static Result<std::unique_ptr<NatsConnection>> Connect(const NatsConnectOptions& options,
                                                         bool wait);
  ~NatsConnection();  // flushes what is buffered (up to 5 s), then closes
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  bool connected() const { return connected_.load(std::memory_order_acquire); }
  // The largest message (headers and body) the server accepts, as it announced on
  // connecting (its max_payload); 0 before the first connection.
  int64_t max_payload() const;
  // Waits until connected() or `timeout`; true when connected.
  bool WaitConnected(std::chrono::milliseconds timeout);

  // Creates `spec`'s stream when missing. An existing stream is left as the operator
  // configured it (a warning is logged when its subjects differ).
  Status EnsureStream(const StreamSpec& spec);
  // Creates the durable pull consumer when missing; an existing one is kept.
  Status EnsureConsumer(const ConsumerSpec& spec);
  // Messages of `stream` not yet delivered to the consumer and not yet acked.
  struct ConsumerState {
    uint64_t num_pending = 0;
    uint64_t num_ack_pending = 0;
    uint64_t num_redelivered = 0;
  };
  Result<ConsumerState> GetConsumerState(const std::string& stream, const std::string& durable);
  Result<uint64_t> StreamMessageCount(const std::string& stream);

  // Publishes to JetStream and waits for the stream's ack. A message on an audited
  // subject (see set_audit_chain) is stamped with its chain position first; when the
  // stream drops it as a duplicate, a placeholder (docs/audit.md) holds the position so
  // the chain has no hole.
  Result<PublishAck> Publish(const OutboundMessage& message, std::chrono::milliseconds timeout);

  // The chain that every publish through this connection (Publish, and NatsBus on it)
  // stamps audited messages with; nullptr (the default): none. `chain` must outlive the
  // connection's publishers. Set before publishing starts.
  void set_audit_chain(AuditChain* chain) { audit_chain_.store(chain, std::memory_order_release); }
  AuditChain* audit_chain() const { return audit_chain_.load(std::memory_order_acquire); }
  // Core NATS subscription for request/inspection paths (not the job consumer).
  Result<std::unique_ptr<SyncSubscription>> Subscribe(const std::string& subject);
  // Sends buffered data to the server and waits for its answer.
  Status Flush(std::chrono::milliseconds timeout);

  __natsConnection* raw() const { return conn_; }

 private:
  NatsConnection() = default;
  static void OnDisconnected(__natsConnection* nc, void* closure);
  static void OnReconnected(__natsConnection* nc, void* closure);
  static void OnConnected(__natsConnection* nc, void* closure);
  static void OnClosed(__natsConnection* nc, void* closure);

  __natsConnection* conn_ = nullptr;  // owned
  __jsCtx* js_ = nullptr;             // owned; management and sync publish
  std::atomic<AuditChain*> audit_chain_{nullptr};  // borrowed
  std::atomic<bool> connected_{false};
  std::atomic<bool> closing_{false};  // set by the destructor: disconnects are expected
  Mutex mu_;
  // Signalled with mu_ when connected_ turns true or closed_ is set.
  CondVar state_cv_;
  // Set by the closed callback, the last one nats.c makes with `this`: the destructor
  // waits for it before freeing.
  bool closed_ GUARDED_BY(mu_) = false;
};

// The production Bus: a pull subscription bound to a durable consumer, async publishes
// with one ack callback per message.
class NatsBus final : public Bus {
 public:
  // Binds to `consumer` (which must exist: NatsConnection::EnsureConsumer).
  // `max_pending_publishes` bounds async publishes in flight.
  static Result<std::unique_ptr<NatsBus>> Attach(NatsConnection* connection,
                                                 const ConsumerSpec& consumer,
                                                 int max_pending_publishes = 65536);
  ~NatsBus() override;

  Status Fetch(int max_messages, std::chrono::milliseconds timeout, InboundBatch* out) override;
  void PublishBatch(std::span<const OutboundMessage> messages, std::chrono::milliseconds timeout,
                    std::vector<Status>* results) override;

 private:
  NatsBus() = default;
  // nats.c calls this (on its reply thread) for every async publish JetStream refused or
  // that failed; successes cost no callback. It runs before nats.c counts the publish as
  // complete, so failures are all recorded when js_PublishAsyncComplete returns.
  // With an audit chain it also takes every ack, to catch a stamped record the stream
  // dropped as a duplicate (kept in refills_ to publish again).
  static void OnPublishError(__jsCtx* js, jsPubAckErr* error, void* closure);
  static void OnPublishAck(__jsCtx* js, __natsMsg* msg, jsPubAck* ack, jsPubAckErr* error,
                           void* closure);
  // Publishes a placeholder for each of this batch's refills_ (see NatsConnection::Publish)
  // and waits for their acks; a placeholder that fails is logged, and fails nothing else.
  void PublishRefills(std::chrono::milliseconds timeout);

  NatsConnection* connection_ = nullptr;
  __jsCtx* js_ = nullptr;                       // owned; its async publishes report here
  __natsSubscription* subscription_ = nullptr;  // owned

  Mutex mu_;
  // Msg ids (and errors) of this batch's publishes that failed.
  std::vector<std::pair<std::string, Status>> failures_ GUARDED_BY(mu_);
  // Stamped messages of this batch the stream dropped as duplicates (owned), waiting for
  // their placeholders.
  std::vector<__natsMsg*> refills_ GUARDED_BY(mu_);
};

}  // namespace jobgate::gate
