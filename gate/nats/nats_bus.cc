#include "gate/nats/nats_bus.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <random>

#include "gate/nats/nats_util.h"
#include "subjects/headers.h"

namespace jobgate::gate {
namespace {

jsRetentionPolicy ToNats(StreamSpec::Retention retention) {
  switch (retention) {
    case StreamSpec::Retention::kLimits:
      return js_LimitsPolicy;
    case StreamSpec::Retention::kInterest:
      return js_InterestPolicy;
    case StreamSpec::Retention::kWorkQueue:
      return js_WorkQueuePolicy;
  }
  return js_LimitsPolicy;
}

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Exponential backoff with jitter: 100 ms, 200 ms, ... capped at the configured maximum.
int64_t ReconnectDelay(natsConnection* nc, int attempts, void* closure) {
  const int64_t cap_ms = *static_cast<const int64_t*>(closure);
  const int shift = std::min(attempts, 16);
  const int64_t base = std::min<int64_t>(cap_ms, int64_t{100} << shift);
  thread_local std::minstd_rand random(std::random_device{}());
  return base / 2 + static_cast<int64_t>(random() % static_cast<uint64_t>(base / 2 + 1));
}

// Holds the cap for ReconnectDelay for the life of the process (options are copied into
// the connection, the closure pointer is not).
int64_t* ReconnectCapStorage(int64_t value) {
  static Mutex mu;
  static std::vector<std::unique_ptr<int64_t>> storage;
  MutexLock lock(&mu);
  storage.push_back(std::make_unique<int64_t>(value));
  return storage.back().get();
}

void OnAsyncError(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure) {
  spdlog::warn("nats: asynchronous error: {}", natsStatus_GetText(err));
}

// One fetched JetStream message.
class NatsInboundMessage final : public InboundMessage {
 public:
  explicit NatsInboundMessage(natsMsg* msg) : msg_(msg) {}

  std::string_view subject() const override { return natsMsg_GetSubject(msg_.get()); }
  std::string_view data() const override {
    return {natsMsg_GetData(msg_.get()), static_cast<size_t>(natsMsg_GetDataLength(msg_.get()))};
  }
  std::string_view header(std::string_view key) const override {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg_.get(), std::string(key).c_str(), &value) != NATS_OK ||
        value == nullptr) {
      return {};
    }
    return value;
  }
  // Parsed from the reply subject when asked (only a rejection needs it): the parse
  // allocates, and most jobs never ask.
  uint64_t stream_sequence() const override {
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg_.get()) != NATS_OK) return 0;
    NatsPtr<jsMsgMetaData> owned(meta);
    return meta->Sequence.Stream;
  }

  bool redelivered() const override {
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg_.get()) != NATS_OK) return false;
    NatsPtr<jsMsgMetaData> owned(meta);
    return meta->NumDelivered > 1;
  }

  Status Ack() override { return FromNats(natsMsg_Ack(msg_.get(), nullptr), "ack"); }
  Status NakWithDelay(std::chrono::milliseconds delay) override {
    return FromNats(natsMsg_NakWithDelay(msg_.get(), delay.count(), nullptr), "nak");
  }

 private:
  NatsPtr<natsMsg> msg_;
};

// Builds a natsMsg with the message's headers and Nats-Msg-Id.
Result<NatsPtr<natsMsg>> MakeMsg(const OutboundMessage& message) {
  natsMsg* raw = nullptr;
  natsStatus s = natsMsg_Create(&raw, message.subject.c_str(), nullptr, message.body.data(),
                                static_cast<int>(message.body.size()));
  if (s != NATS_OK) return FromNats(s, "create message for " + message.subject);
  NatsPtr<natsMsg> msg(raw);
  if (!message.msg_id.empty()) {
    s = natsMsgHeader_Set(msg.get(), subjects::kMsgIdHeader, message.msg_id.c_str());
  }
  for (const auto& [key, value] : message.headers) {
    if (s != NATS_OK) break;
    s = natsMsgHeader_Set(msg.get(), key.c_str(), value.c_str());
  }
  if (s != NATS_OK) return FromNats(s, "set headers for " + message.subject);
  return msg;
}

// Sets `stamp`'s chain headers on `msg`.
natsStatus SetChainHeaders(natsMsg* msg, const ChainStamp& stamp) {
  natsStatus s = natsMsgHeader_Set(msg, subjects::kChainHeader, stamp.chain.c_str());
  if (s == NATS_OK) {
    s = natsMsgHeader_Set(msg, subjects::kChainSeqHeader, std::to_string(stamp.seq).c_str());
  }
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, subjects::kChainPrevHeader, stamp.prev.c_str());
  return s;
}

// Makes `message` and hands it to `send` (Status(NatsPtr<natsMsg>&), taking the message
// on success). When `chain` audits the subject the message is stamped first, inside
// AuditChain::Append, so the chain's records are sent in position order; a message that
// never reached `send`, or that `send` reports it did not take, gives its position back.
// `stamp` (may be null) receives the position, seq 0 for a message left unchained.
template <typename Send>
Status SendChained(const OutboundMessage& message, AuditChain* chain, ChainStamp* stamp,
                   Send&& send) {
  auto msg = MakeMsg(message);
  if (!msg.ok()) return msg.status();
  if (chain == nullptr || !chain->Audited(message.subject)) return send(*msg);
  Status status;
  chain->Append(message.subject, message.body, [&](const ChainStamp& next) {
    if (natsStatus s = SetChainHeaders(msg->get(), next); s != NATS_OK) {
      status = FromNats(s, "set chain headers for " + message.subject);
      return false;
    }
    status = send(*msg);
    const bool taken = *msg == nullptr || status.ok();
    if (taken && stamp != nullptr) *stamp = next;
    return taken;
  });
  return status;
}

// The placeholder for stamped `dropped`, which the stream dropped as a duplicate: on
// `subject`, empty, with `dropped`'s chain headers, its Nats-Msg-Id (Jobgate-Chain-Refill)
// and its RecordHash (Jobgate-Chain-Hash), under a msg id of its own. nullptr when it
// cannot be made.
NatsPtr<natsMsg> MakePlaceholder(natsMsg* dropped, const std::string& subject) {
  const char* msg_id = nullptr;
  const char* chain = nullptr;
  const char* seq = nullptr;
  const char* prev = nullptr;
  natsMsgHeader_Get(dropped, subjects::kMsgIdHeader, &msg_id);
  natsMsgHeader_Get(dropped, subjects::kChainHeader, &chain);
  natsMsgHeader_Get(dropped, subjects::kChainSeqHeader, &seq);
  natsMsgHeader_Get(dropped, subjects::kChainPrevHeader, &prev);
  if (msg_id == nullptr || chain == nullptr || seq == nullptr || prev == nullptr) {
    return NatsPtr<natsMsg>(nullptr);
  }
  uint64_t position = 0;
  const std::string_view seq_text(seq);
  std::from_chars(seq_text.data(), seq_text.data() + seq_text.size(), position);
  const std::string hash = RecordHash(
      chain, position, prev, natsMsg_GetSubject(dropped),
      std::string_view(natsMsg_GetData(dropped), static_cast<size_t>(natsMsg_GetDataLength(dropped))));
  natsMsg* raw = nullptr;
  if (natsMsg_Create(&raw, subject.c_str(), nullptr, nullptr, 0) != NATS_OK) {
    return NatsPtr<natsMsg>(nullptr);
  }
  NatsPtr<natsMsg> placeholder(raw);
  natsStatus s =
      natsMsgHeader_Set(raw, subjects::kMsgIdHeader, subjects::PlaceholderMessageId(msg_id, chain, seq_text).c_str());
  if (s == NATS_OK) s = natsMsgHeader_Set(raw, subjects::kChainHeader, chain);
  if (s == NATS_OK) s = natsMsgHeader_Set(raw, subjects::kChainSeqHeader, seq);
  if (s == NATS_OK) s = natsMsgHeader_Set(raw, subjects::kChainPrevHeader, prev);
  if (s == NATS_OK) s = natsMsgHeader_Set(raw, subjects::kChainRefillHeader, msg_id);
  if (s == NATS_OK) s = natsMsgHeader_Set(raw, subjects::kChainHashHeader, hash.c_str());
  if (s != NATS_OK) return NatsPtr<natsMsg>(nullptr);
  return placeholder;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// SyncSubscription

SyncSubscription::~SyncSubscription() {
  natsSubscription_Unsubscribe(sub_);
  natsSubscription_Destroy(sub_);
}

Result<ReceivedMessage> SyncSubscription::Next(std::chrono::milliseconds timeout) {
  natsMsg* raw = nullptr;
  const natsStatus s = natsSubscription_NextMsg(&raw, sub_, timeout.count());
  if (s != NATS_OK) return FromNats(s, "next message");
  NatsPtr<natsMsg> msg(raw);
  ReceivedMessage out;
  out.subject = natsMsg_GetSubject(msg.get());
  out.data.assign(natsMsg_GetData(msg.get()),
                  static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
  return out;
}

// ---------------------------------------------------------------------------------------
// NatsConnection

Result<std::unique_ptr<NatsConnection>> NatsConnection::Connect(const NatsConnectOptions& options,
                                                                bool wait) {
  // Before anything else of nats.c: its first call initialises the library, spin count
  // included; once initialised this returns NATS_OK and changes nothing.
  natsStatus s = nats_Open(options.lock_spin_count);
  if (s != NATS_OK) return FromNats(s, "initialise the NATS library");
  natsOptions* raw_options = nullptr;
  s = natsOptions_Create(&raw_options);
  if (s != NATS_OK) return FromNats(s, "create options");
  NatsPtr<natsOptions> opts(raw_options);
  std::unique_ptr<NatsConnection> connection(new NatsConnection());

  std::vector<const char*> servers;
  for (const std::string& url : options.servers) servers.push_back(url.c_str());
  if (servers.empty()) return InvalidArgument("no NATS server URL given");
  s = natsOptions_SetServers(opts.get(), servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts.get(), options.name.c_str());
  if (s == NATS_OK && !options.user.empty()) {
    s = natsOptions_SetUserInfo(opts.get(), options.user.c_str(), options.password.c_str());
  }
  if (s == NATS_OK && !options.token.empty()) {
    s = natsOptions_SetToken(opts.get(), options.token.c_str());
  }
  if (s == NATS_OK && !options.credentials_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(opts.get(), options.credentials_file.c_str(),
                                                nullptr);
  }
  const bool tls = !options.tls_ca_file.empty() || !options.tls_cert_file.empty() ||
                   !options.tls_key_file.empty();
  if (s == NATS_OK && tls) s = natsOptions_SetSecure(opts.get(), true);
  if (s == NATS_OK && !options.tls_ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(opts.get(), options.tls_ca_file.c_str());
  }
  if (s == NATS_OK && !options.tls_cert_file.empty()) {
    s = natsOptions_LoadCertificatesChain(opts.get(), options.tls_cert_file.c_str(),
                                          options.tls_key_file.c_str());
  }
  if (s != NATS_OK) return FromNats(s, "NATS connection options");

  s = natsOptions_SetTimeout(opts.get(), options.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts.get(), true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts.get(), -1);
  if (s == NATS_OK) {
    s = natsOptions_SetCustomReconnectDelay(
        opts.get(), ReconnectDelay, ReconnectCapStorage(options.max_reconnect_wait.count()));
  }
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts.get(), options.reconnect_buffer_bytes);
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts.get(), options.send_asap);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts.get(), OnDisconnected, connection.get());
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts.get(), OnReconnected, connection.get());
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts.get(), OnClosed, connection.get());
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts.get(), OnAsyncError, nullptr);
  if (s == NATS_OK && !wait) {
    s = natsOptions_SetRetryOnFailedConnect(opts.get(), true, OnConnected, connection.get());
  }
  if (s != NATS_OK) return FromNats(s, "NATS connection options");

  natsConnection* conn = nullptr;
  s = natsConnection_Connect(&conn, opts.get());
  if (s == NATS_OK) {
    connection->connected_.store(true, std::memory_order_release);
    spdlog::info("nats: connected to {}", options.servers.front());
  } else if (s == NATS_NOT_YET_CONNECTED) {
    spdlog::warn("nats: no server answered yet; retrying in the background");
  } else {
    return FromNats(s, "connect to NATS");
  }
  connection->conn_ = conn;
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, conn, nullptr);
  if (s != NATS_OK) return FromNats(s, "JetStream context");
  connection->js_ = js;
  return connection;
}

NatsConnection::~NatsConnection() {
  if (conn_ != nullptr && connected()) natsConnection_FlushTimeout(conn_, 5000);
  closing_.store(true, std::memory_order_release);
  jsCtx_Destroy(js_);
  if (conn_ != nullptr) {
    natsConnection_Close(conn_);
    // nats.c runs connection callbacks on its own thread, after Close returns; the
    // closed callback comes last. Free nothing they use before it has run.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    MutexLock lock(&mu_);
    while (!closed_ && state_cv_.WaitUntil(&mu_, deadline)) {
    }
  }
  natsConnection_Destroy(conn_);
}

void NatsConnection::OnConnected(natsConnection* nc, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  {
    MutexLock lock(&self->mu_);
    self->connected_.store(true, std::memory_order_release);
  }
  self->state_cv_.NotifyAll();
  spdlog::info("nats: connected");
}

void NatsConnection::OnReconnected(natsConnection* nc, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  {
    MutexLock lock(&self->mu_);
    self->connected_.store(true, std::memory_order_release);
  }
  self->state_cv_.NotifyAll();
  char url[256] = {0};
  natsConnection_GetConnectedUrl(nc, url, sizeof(url));
  spdlog::info("nats: reconnected to {}", url);
}

void NatsConnection::OnDisconnected(natsConnection* nc, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  // The first connect attempt failing also lands here; only log a real loss.
  if (self->connected_.exchange(false, std::memory_order_acq_rel) &&
      !self->closing_.load(std::memory_order_acquire)) {
    spdlog::warn("nats: disconnected; reconnecting");
  }
}

void NatsConnection::OnClosed(natsConnection* nc, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  MutexLock lock(&self->mu_);
  self->connected_.store(false, std::memory_order_release);
  self->closed_ = true;
  self->state_cv_.NotifyAll();  // under the lock: the destructor may free `self` after
}

int64_t NatsConnection::max_payload() const {
  return std::max<int64_t>(0, natsConnection_GetMaxPayload(conn_));
}

bool NatsConnection::WaitConnected(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (!connected()) {
    if (!state_cv_.WaitUntil(&mu_, deadline)) return connected();
  }
  return true;
}

Status NatsConnection::EnsureStream(const StreamSpec& spec) {
  jsStreamInfo* raw_info = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, js_, spec.name.c_str(), nullptr, &js_error);
  if (s == NATS_OK) {
    NatsPtr<jsStreamInfo> info(raw_info);
    std::vector<std::string> have(info->Config->Subjects,
                                  info->Config->Subjects + info->Config->SubjectsLen);
    std::vector<std::string> want = spec.subjects;
    std::sort(have.begin(), have.end());
    std::sort(want.begin(), want.end());
    if (have != want) {
      spdlog::warn("stream {} exists with other subjects than configured; leaving it as is",
                   spec.name);
    }
    if (spec.allow_direct && !info->Config->AllowDirect) {
      spdlog::warn("stream {} exists without allow_direct, which the gate reads it by", spec.name);
    }
    if ((spec.deny_delete && !info->Config->DenyDelete) ||
        (spec.deny_purge && !info->Config->DenyPurge)) {
      spdlog::warn(
          "stream {} exists with message deletes or purges allowed: its records can be "
          "removed without trace (`nats stream edit {} --deny-delete --deny-purge` denies both "
          "for good)",
          spec.name, spec.name);
    }
    spdlog::info("stream {} present ({} messages)", spec.name, info->State.Msgs);
    return Status::Ok();
  }
  if (s != NATS_NOT_FOUND && js_error != JSStreamNotFoundErr) {
    return FromNats(s, "stream info " + spec.name, js_error);
  }

  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  std::vector<const char*> subjects;
  for (const std::string& subject : spec.subjects) subjects.push_back(subject.c_str());
  config.Name = spec.name.c_str();
  config.Subjects = subjects.data();
  config.SubjectsLen = static_cast<int>(subjects.size());
  config.Retention = ToNats(spec.retention);
  config.MaxAge = spec.max_age.count() * kNanosPerSecond;
  config.MaxBytes = spec.max_bytes;
  config.Duplicates = spec.duplicate_window.count() * kNanosPerSecond;
  config.Storage = spec.memory_storage ? js_MemoryStorage : js_FileStorage;
  config.Replicas = spec.replicas;
  config.AllowDirect = spec.allow_direct;
  if (spec.discard_new) config.Discard = js_DiscardNew;
  config.DenyDelete = spec.deny_delete;
  config.DenyPurge = spec.deny_purge;
  js_error = static_cast<jsErrCode>(0);
  s = js_AddStream(&raw_info, js_, &config, nullptr, &js_error);
  if (s != NATS_OK) {
    if (js_error == JSStreamNameExistErr) return Status::Ok();  // another gate won the race
    return FromNats(s, "create stream " + spec.name, js_error);
  }
  NatsPtr<jsStreamInfo> info(raw_info);
  spdlog::info("stream {} created", spec.name);
  return Status::Ok();
}

Status NatsConnection::EnsureConsumer(const ConsumerSpec& spec) {
  jsConsumerInfo* raw_info = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&raw_info, js_, spec.stream.c_str(), spec.durable.c_str(),
                                    nullptr, &js_error);
  if (s == NATS_OK) {
    NatsPtr<jsConsumerInfo> info(raw_info);
    spdlog::info("consumer {}/{} present ({} pending)", spec.stream, spec.durable,
                 info->NumPending);
    return Status::Ok();
  }
  if (s != NATS_NOT_FOUND && js_error != JSConsumerNotFoundErr) {
    return FromNats(s, "consumer info " + spec.durable, js_error);
  }
  jsConsumerConfig config;
  jsConsumerConfig_Init(&config);
  config.Durable = spec.durable.c_str();
  config.AckPolicy = js_AckExplicit;
  config.DeliverPolicy = js_DeliverAll;
  config.AckWait = spec.ack_wait.count() * kNanosPerSecond;
  config.MaxDeliver = spec.max_deliver;
  config.MaxAckPending = spec.max_ack_pending;
  js_error = static_cast<jsErrCode>(0);
  s = js_AddConsumer(&raw_info, js_, spec.stream.c_str(), &config, nullptr, &js_error);
  if (s != NATS_OK) return FromNats(s, "create consumer " + spec.durable, js_error);
  NatsPtr<jsConsumerInfo> info(raw_info);
  spdlog::info("consumer {}/{} created", spec.stream, spec.durable);
  return Status::Ok();
}

Result<NatsConnection::ConsumerState> NatsConnection::GetConsumerState(const std::string& stream,
                                                                       const std::string& durable) {
  jsConsumerInfo* raw_info = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  const natsStatus s =
      js_GetConsumerInfo(&raw_info, js_, stream.c_str(), durable.c_str(), nullptr, &js_error);
  if (s != NATS_OK) return FromNats(s, "consumer info " + durable, js_error);
  NatsPtr<jsConsumerInfo> info(raw_info);
  ConsumerState state;
  state.num_pending = info->NumPending;
  state.num_ack_pending = static_cast<uint64_t>(info->NumAckPending);
  state.num_redelivered = static_cast<uint64_t>(info->NumRedelivered);
  return state;
}

Result<uint64_t> NatsConnection::StreamMessageCount(const std::string& stream) {
  auto info = GetStreamInfo(js_, stream);
  if (!info.ok()) return info.status();
  return (*info)->State.Msgs;
}

Result<PublishAck> NatsConnection::Publish(const OutboundMessage& message,
                                           std::chrono::milliseconds timeout) {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = timeout.count();
  jsPubAck* raw_ack = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  ChainStamp stamp;
  NatsPtr<natsMsg> sent;
  // A synchronous publish waits for its ack inside the chain's lock: its position is kept
  // whatever the outcome (the record may be stored even when the ack never came).
  const Status status = SendChained(message, audit_chain(), &stamp, [&](NatsPtr<natsMsg>& msg) {
    const natsStatus s = js_PublishMsg(&raw_ack, js_, msg.get(), &options, &js_error);
    sent = std::move(msg);
    return s == NATS_OK ? Status::Ok() : FromNats(s, "publish to " + message.subject, js_error);
  });
  if (!status.ok()) return status;
  NatsPtr<jsPubAck> ack(raw_ack);
  PublishAck out;
  out.stream = ack->Stream != nullptr ? ack->Stream : "";
  out.sequence = ack->Sequence;
  out.duplicate = ack->Duplicate;
  if (out.duplicate && stamp.seq != 0) {
    // The stream kept an earlier copy (another position, or another chain): a placeholder
    // holds this position. Its failure costs the chain a position, not the caller its
    // publish (the record itself is stored).
    NatsPtr<natsMsg> placeholder = MakePlaceholder(sent.get(), audit_chain()->placeholder_subject());
    raw_ack = nullptr;
    const natsStatus s = placeholder == nullptr
            ? NATS_NO_MEMORY
            : js_PublishMsg(&raw_ack, js_, placeholder.get(), &options, &js_error);
    NatsPtr<jsPubAck> placeholder_ack(raw_ack);
    if (s != NATS_OK) {
      spdlog::warn("audit chain position {} has no placeholder (its record was a duplicate): {}",
                   stamp.seq, FromNats(s, "publish", js_error).ToString());
    }
  }
  return out;
}

Result<std::unique_ptr<SyncSubscription>> NatsConnection::Subscribe(const std::string& subject) {
  natsSubscription* sub = nullptr;
  const natsStatus s = natsConnection_SubscribeSync(&sub, conn_, subject.c_str());
  if (s != NATS_OK) return FromNats(s, "subscribe to " + subject);
  return std::unique_ptr<SyncSubscription>(new SyncSubscription(sub));
}

Status NatsConnection::Flush(std::chrono::milliseconds timeout) {
  return FromNats(natsConnection_FlushTimeout(conn_, timeout.count()), "flush");
}

// ---------------------------------------------------------------------------------------
// NatsBus

Result<std::unique_ptr<NatsBus>> NatsBus::Attach(NatsConnection* connection,
                                                 const ConsumerSpec& consumer,
                                                 int max_pending_publishes) {
  std::unique_ptr<NatsBus> bus(new NatsBus());
  bus->connection_ = connection;

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.MaxPending = max_pending_publishes;
  if (connection->audit_chain() != nullptr) {
    js_options.PublishAsync.AckHandler = OnPublishAck;
    js_options.PublishAsync.AckHandlerClosure = bus.get();
  } else {
    js_options.PublishAsync.ErrHandler = OnPublishError;
    js_options.PublishAsync.ErrHandlerClosure = bus.get();
  }
  jsCtx* js = nullptr;
  natsStatus s = natsConnection_JetStream(&js, connection->raw(), &js_options);
  if (s != NATS_OK) return FromNats(s, "JetStream context");
  bus->js_ = js;

  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  // Bind to the existing durable: the subscription never creates or deletes it, so
  // closing one gate leaves the consumer (and its position) to the others.
  sub_options.Stream = consumer.stream.c_str();
  sub_options.Consumer = consumer.durable.c_str();
  natsSubscription* sub = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  s = js_PullSubscribe(&sub, js, nullptr, consumer.durable.c_str(), nullptr, &sub_options,
                       &js_error);
  if (s != NATS_OK) return FromNats(s, "attach to consumer " + consumer.durable, js_error);
  bus->subscription_ = sub;
  return bus;
}

NatsBus::~NatsBus() {
  // Destroy (not Unsubscribe): the durable consumer stays on the server.
  natsSubscription_Destroy(subscription_);
  jsCtx_Destroy(js_);
  for (natsMsg* msg : refills_) natsMsg_Destroy(msg);
}

Status NatsBus::Fetch(int max_messages, std::chrono::milliseconds timeout, InboundBatch* out) {
  // natsSubscription_Fetch waits for a *full* batch once the consumer runs dry, so a
  // trickle of jobs would wait for 255 others. Instead: take what is there now; if
  // nothing is, wait for one message only and hand it on at once. A no_wait request that
  // carries an expiry and finds nothing pending is held by the server until the expiry
  // or the next message, so one sent after the awaited message would keep that job
  // waiting for the whole timeout; what arrives meanwhile is taken by the next Fetch.
  auto fetch = [&](int batch, bool no_wait, natsMsgList* list) {
    jsFetchRequest request;
    jsFetchRequest_Init(&request);
    request.Batch = batch;
    request.NoWait = no_wait;
    request.Expires = std::max<int64_t>(1, timeout.count()) * 1'000'000;  // nanoseconds
    return natsSubscription_FetchRequest(list, subscription_, &request);
  };
  auto take = [out](natsMsgList* list) {
    out->reserve(out->size() + static_cast<size_t>(list->Count));
    for (int i = 0; i < list->Count; ++i) {
      out->push_back(std::make_unique<NatsInboundMessage>(list->Msgs[i]));
      list->Msgs[i] = nullptr;  // now owned by the NatsInboundMessage
    }
    natsMsgList_Destroy(list);
  };
  auto nothing = [](natsStatus s) { return s == NATS_TIMEOUT || s == NATS_NOT_FOUND; };

  natsMsgList list{nullptr, 0};
  natsStatus s = fetch(max_messages, /*no_wait=*/true, &list);
  if (s == NATS_OK) {
    take(&list);
    return Status::Ok();
  }
  if (!nothing(s)) return FromNats(s, "fetch");
  s = fetch(1, /*no_wait=*/false, &list);
  if (nothing(s)) return Status::Ok();
  if (s != NATS_OK) return FromNats(s, "fetch");
  take(&list);
  return Status::Ok();
}

void NatsBus::OnPublishAck(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error,
                           void* closure) {
  if (error != nullptr) {
    // An ack handler is given the message beside the error, whose own Msg may be null.
    jsPubAckErr with_msg = *error;
    if (with_msg.Msg == nullptr) with_msg.Msg = msg;
    OnPublishError(js, &with_msg, closure);
  } else if (ack != nullptr && ack->Duplicate) {
    const char* seq = nullptr;
    const char* refill = nullptr;
    if (natsMsgHeader_Get(msg, subjects::kChainSeqHeader, &seq) == NATS_OK &&
        natsMsgHeader_Get(msg, subjects::kChainRefillHeader, &refill) != NATS_OK) {
      auto* self = static_cast<NatsBus*>(closure);
      MutexLock lock(&self->mu_);
      self->refills_.push_back(msg);  // now the bus's
      return;
    }
  }
  natsMsg_Destroy(msg);  // ours in an AckHandler
}

void NatsBus::PublishRefills(std::chrono::milliseconds timeout) {
  std::vector<natsMsg*> dropped;
  {
    MutexLock lock(&mu_);
    dropped.swap(refills_);
  }
  if (dropped.empty()) return;
  const std::string& subject = connection_->audit_chain()->placeholder_subject();
  size_t lost = 0;
  for (natsMsg* raw : dropped) {
    NatsPtr<natsMsg> original(raw);
    NatsPtr<natsMsg> placeholder = MakePlaceholder(raw, subject);
    natsMsg* handed = placeholder.release();
    if (handed == nullptr || js_PublishMsgAsync(js_, &handed, nullptr) != NATS_OK) {
      NatsPtr<natsMsg> still_ours(handed);
      ++lost;
    }
  }
  if (FlushAndAwaitAcks(connection_->raw(), js_, timeout) != NATS_OK) {
    natsMsgList pending{nullptr, 0};
    if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) {
      lost += static_cast<size_t>(pending.Count);
      natsMsgList_Destroy(&pending);
    }
  }
  // A placeholder's failure costs the chain a position, not the job its publishes (the
  // records themselves are stored): its failures leave the batch's list.
  MutexLock lock(&mu_);
  const std::string marker = "~" + connection_->audit_chain()->chain_id() + ".";
  const auto placeholder_failed = [&](const std::pair<std::string, Status>& f) {
    return f.first.find(marker) != std::string::npos;
  };
  lost += static_cast<size_t>(std::count_if(failures_.begin(), failures_.end(), placeholder_failed));
  failures_.erase(std::remove_if(failures_.begin(), failures_.end(), placeholder_failed),
                  failures_.end());
  for (natsMsg* raw : refills_) natsMsg_Destroy(raw);  // a placeholder needs none
  refills_.clear();
  if (lost > 0) {
    spdlog::warn("{} audit chain position(s) have no placeholder (their records were duplicates)",
                 lost);
  }
}

void NatsBus::OnPublishError(jsCtx* js, jsPubAckErr* error, void* closure) {
  auto* self = static_cast<NatsBus*>(closure);
  const char* msg_id = nullptr;
  if (error->Msg != nullptr) natsMsgHeader_Get(error->Msg, subjects::kMsgIdHeader, &msg_id);
  const char* err_text = error->ErrText != nullptr ? error->ErrText : natsStatus_GetText(error->Err);
  const char* subject = error->Msg != nullptr ? natsMsg_GetSubject(error->Msg) : nullptr;
  Status status(StatusCode::kUnavailable,
                "publish to " + std::string(subject != nullptr ? subject : "?") + ": " +
                    std::string(err_text != nullptr ? err_text : "unknown error"));
  MutexLock lock(&self->mu_);
  self->failures_.emplace_back(msg_id != nullptr ? msg_id : "", std::move(status));
}

void NatsBus::PublishBatch(std::span<const OutboundMessage> messages,
                           std::chrono::milliseconds timeout, std::vector<Status>* results) {
  results->assign(messages.size(), Status::Ok());
  {
    MutexLock lock(&mu_);
    failures_.clear();
  }
  AuditChain* const chain = connection_->audit_chain();
  for (size_t i = 0; i < messages.size(); ++i) {
    (*results)[i] = SendChained(messages[i], chain, nullptr, [&](NatsPtr<natsMsg>& msg) {
      natsMsg* handed = msg.release();
      const natsStatus s = js_PublishMsgAsync(js_, &handed, nullptr);
      msg.reset(handed);  // null when the library took it; still ours when it did not
      return s == NATS_OK ? Status::Ok() : FromNats(s, "publish to " + messages[i].subject);
    });
  }

  // Written now, in one go, rather than when nats.c's flusher thread next wakes: that
  // pause was most of a job's latency through the gate at any rate below saturation. The
  // PING the flush sends comes back while the publish acks are on their way.
  if (!messages.empty() && FlushAndAwaitAcks(connection_->raw(), js_, timeout) != NATS_OK) {
    // Take back what is still unacknowledged (no callback will come for it); retried
    // under the same msg ids when the job is redelivered.
    natsMsgList pending{nullptr, 0};
    if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) {
      MutexLock lock(&mu_);
      for (int i = 0; i < pending.Count; ++i) {
        const char* msg_id = nullptr;
        natsMsgHeader_Get(pending.Msgs[i], subjects::kMsgIdHeader, &msg_id);
        failures_.emplace_back(msg_id != nullptr ? msg_id : "",
                               Status(StatusCode::kDeadlineExceeded, "no publish ack in time"));
      }
      natsMsgList_Destroy(&pending);
    }
  }
  if (chain != nullptr) PublishRefills(timeout);
  MutexLock lock(&mu_);
  for (const auto& [msg_id, status] : failures_) {
    // Failures are rare; a scan beats keeping a map for every publish. An unknown id
    // fails the whole batch rather than risk acking a job whose publish was lost.
    bool matched = false;
    for (size_t i = 0; i < messages.size(); ++i) {
      if (messages[i].msg_id == msg_id) {
        (*results)[i] = status;
        matched = true;
      }
    }
    if (!matched) {
      for (Status& r : *results) r = status;
    }
  }
  failures_.clear();
}

}  // namespace jobgate::gate
