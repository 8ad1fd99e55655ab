#include "gate/nats/nats_sessions.h"

// NatsKvSessionStore: session state in a JetStream KV bucket (gate/sessions.h).
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "base/mutex.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_util.h"
#include "gate/sessions.h"

namespace jobgate::gate {

struct NatsKvSessionStore::Impl {
  NatsConnection* connection = nullptr;  // borrowed
  const Clock* clock = nullptr;          // borrowed
  SessionStoreOptions options;
  NatsPtr<jsCtx> js;
  NatsPtr<kvStore> kv;
  SessionCache cache;

  // UpdateMany's own context: its async publish acks arrive in OnWriteAck.
  NatsPtr<jsCtx> batch_js;
  Mutex batch_mu;  // one UpdateMany at a time on batch_js
  Mutex acks_mu;
  // Revisions (or failures) of the UpdateMany in progress, by KV subject.
  std::unordered_map<std::string, Result<uint64_t>> acks GUARDED_BY(acks_mu);

  static void OnWriteAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error,
                         void* closure) {
    auto* self = static_cast<Impl*>(closure);
    Result<uint64_t> answer = error == nullptr && ack != nullptr
                                  ? Result<uint64_t>(ack->Sequence)
                                  : Result<uint64_t>(Unavailable("session write not stored"));
    {
      MutexLock lock(&self->acks_mu);
      self->acks.insert_or_assign(natsMsg_GetSubject(msg), std::move(answer));
    }
    natsMsg_Destroy(msg);  // ours in an ack handler
  }

  Mutex mu;
  CondVar initial_cv;
  bool initial_done GUARDED_BY(mu) = false;  // the watcher delivered the bucket's state
  std::atomic<int64_t> last_reachable_ms{0};  // wall time the connection was last seen up
  std::atomic<bool> stop{false};
  std::thread watch_thread;

  ~Impl() {
    stop.store(true, std::memory_order_release);
    if (watch_thread.joinable()) watch_thread.join();
  }

  // Parses a watched or read entry into the cache; deletes and purges forget the key.
  void ApplyEntry(kvEntry* entry) {
    const char* raw_key = kvEntry_Key(entry);
    if (raw_key == nullptr) return;  // not an entry of a key (a watcher's marker)
    const std::string key = raw_key;
    if (kvEntry_Operation(entry) != kvOp_Put) {
      cache.Erase(key);
      return;
    }
    // This replica's own writes come back through the watch after Update cached them:
    // the revision tells without parsing the state again.
    if (SessionPtr held = cache.Find(key);
        held != nullptr && held->revision() >= kvEntry_Revision(entry)) {
      return;
    }
    auto state = std::make_shared<v1::SessionState>();
    if (!state->ParseFromArray(kvEntry_Value(entry), kvEntry_ValueLen(entry))) {
      spdlog::warn("ignoring a corrupt session state (key {}, revision {})", key,
                   kvEntry_Revision(entry));
      return;
    }
    state->set_revision(kvEntry_Revision(entry));
    cache.Apply(key, std::move(state));
  }

  void MarkInitialDone() {
    MutexLock lock(&mu);
    initial_done = true;
    initial_cv.NotifyAll();
  }

  // Watches the whole bucket until stopped, re-creating the watcher when it ends; keeps
  // last_reachable_ms and expires idle sessions from the cache once a second.
  void WatchLoop() {
    while (!stop.load(std::memory_order_acquire)) {
      kvWatchOptions watch_options;
      kvWatchOptions_Init(&watch_options);
      kvWatcher* raw = nullptr;
      if (kvStore_WatchAll(&raw, kv.get(), &watch_options) != NATS_OK) {
        Tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // retry pacing
        continue;
      }
      NatsPtr<kvWatcher> watcher(raw);
      while (!stop.load(std::memory_order_acquire)) {
        kvEntry* entry = nullptr;
        const natsStatus s = kvWatcher_Next(&entry, watcher.get(), 1000);
        Tick();
        if (s == NATS_TIMEOUT) continue;
        if (s != NATS_OK) {
          if (s == NATS_ILLEGAL_STATE || s == NATS_INVALID_SUBSCRIPTION) break;
          continue;
        }
        if (entry == nullptr) {  // the end of the initial values
          MarkInitialDone();
          continue;
        }
        NatsPtr<kvEntry> owned(entry);
        ApplyEntry(owned.get());
      }
      if (!stop.load(std::memory_order_acquire)) {
        spdlog::warn("session watch on {} ended; re-creating it", options.bucket);
      }
    }
  }

  void Tick() {
    const int64_t now = clock->UnixMillis();
    if (connection->connected()) last_reachable_ms.store(now, std::memory_order_release);
    cache.Expire(now - options.idle.count());
  }

  // The state under `key` in the store (not the cache): null when there is none.
  Result<SessionPtr> Read(const std::string& key) {
    kvEntry* raw = nullptr;
    const natsStatus s = kvStore_Get(&raw, kv.get(), key.c_str());
    if (s == NATS_NOT_FOUND) return SessionPtr();
    if (s != NATS_OK) return FromNats(s, "read session " + key);
    NatsPtr<kvEntry> entry(raw);
    ApplyEntry(entry.get());
    return cache.Find(key);
  }
};

NatsKvSessionStore::NatsKvSessionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NatsKvSessionStore::~NatsKvSessionStore() = default;

Result<std::unique_ptr<NatsKvSessionStore>> NatsKvSessionStore::Open(
    NatsConnection* connection, const Clock* clock, const SessionStoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->connection = connection;
  impl->clock = clock;
  impl->options = options;
  auto context = NewJetStreamContext(connection->raw(), options.timeout, "the session store");
  if (!context.ok()) return context.status();
  impl->js = std::move(*context);
  auto kv = OpenKvBucket(impl->js.get(), options.bucket, 1, options.replicas,
                         options.memory_storage, options.idle);
  if (!kv.ok()) return kv.status();
  impl->kv = std::move(*kv);
  auto batch_js = NewAsyncPublishContext(connection->raw(), options.timeout, &Impl::OnWriteAck,
                                         impl.get(), "the session store");
  if (!batch_js.ok()) return batch_js.status();
  impl->batch_js = std::move(*batch_js);
  impl->last_reachable_ms.store(clock->UnixMillis());
  Impl* raw = impl.get();
  impl->watch_thread = std::thread([raw] { raw->WatchLoop(); });
  {
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    MutexLock lock(&raw->mu);
    while (!raw->initial_done && raw->initial_cv.WaitUntil(&raw->mu, deadline)) {
    }
    if (!raw->initial_done) {
      return Unavailable("the session store " + options.bucket +
                         " did not answer its initial state in time");
    }
  }
  return std::unique_ptr<NatsKvSessionStore>(new NatsKvSessionStore(std::move(impl)));
}

SessionPtr NatsKvSessionStore::Find(std::string_view tenant_id, std::string_view session) const {
  return impl_->cache.Find(SessionStoreKey(tenant_id, session));
}

Result<SessionPtr> NatsKvSessionStore::Update(std::string_view tenant_id,
                                              std::string_view session,
                                              const SessionMutation& mutate) {
  const std::string key = SessionStoreKey(tenant_id, session);
  SessionPtr current = impl_->cache.Find(key);
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int64_t now = impl_->clock->UnixMillis();
    v1::SessionState next =
        current != nullptr ? *current : NewSessionState(tenant_id, session, now);
    if (!mutate(&next)) {
      if (current != nullptr) return current;
      return SessionPtr(std::make_shared<const v1::SessionState>(std::move(next)));
    }
    const uint64_t expected = current != nullptr ? current->revision() : 0;
    next.clear_revision();  // the store's revision is the truth; never persist a copy
    const std::string data = next.SerializeAsString();
    uint64_t revision = 0;
    const natsStatus s =
        expected == 0
            ? kvStore_Create(&revision, impl_->kv.get(), key.c_str(), data.data(),
                             static_cast<int>(data.size()))
            : kvStore_Update(&revision, impl_->kv.get(), key.c_str(), data.data(),
                             static_cast<int>(data.size()), expected);
    Status status = KvWriteStatus(s, "write session " + key);
    if (status.ok()) {
      next.set_revision(revision);
      auto stored = std::make_shared<const v1::SessionState>(std::move(next));
      impl_->cache.Apply(key, stored);
      return SessionPtr(stored);
    }
    if (status.code() != StatusCode::kConflict) return status;
    // Another writer was first: start again from what it stored.
    auto fresh = impl_->Read(key);
    if (!fresh.ok()) return fresh.status();
    current = *fresh;
  }
  return Unavailable("session " + key + ": too many concurrent writers");
}

void NatsKvSessionStore::UpdateMany(std::span<const SessionWrite> writes,
                                    std::vector<Result<SessionPtr>>* out) {
  out->assign(writes.size(), Result<SessionPtr>(Unavailable("session write not sent")));
  // What each write sent: its subject and the state it stores once acknowledged.
  std::vector<std::string> keys(writes.size());
  std::vector<std::string> subjects(writes.size());
  std::vector<std::shared_ptr<v1::SessionState>> sent(writes.size());
  {
    MutexLock batch_lock(&impl_->batch_mu);
    {
      MutexLock lock(&impl_->acks_mu);
      impl_->acks.clear();
    }
    bool any_sent = false;
    for (size_t i = 0; i < writes.size(); ++i) {
      const SessionWrite& write = writes[i];
      const std::string& key = keys[i] = SessionStoreKey(write.tenant_id, write.session);
      SessionPtr current = impl_->cache.Find(key);
      std::shared_ptr<v1::SessionState> next;
      if (write.prepared != nullptr &&
          write.prepared_from == (current != nullptr ? current->revision() : 0)) {
        next = write.prepared;  // computed from the state the store still holds
      } else {
        next = std::make_shared<v1::SessionState>(
            current != nullptr
                ? *current
                : NewSessionState(write.tenant_id, write.session, impl_->clock->UnixMillis()));
        if (!write.mutate(next.get())) {
          (*out)[i] = current != nullptr ? current : SessionPtr(std::move(next));
          continue;
        }
      }
      jsPubOptions cas;
      jsPubOptions_Init(&cas);
      cas.MaxWait = impl_->options.timeout.count();
      if (current != nullptr) {
        cas.ExpectLastSubjectSeq = current->revision();
      } else {
        cas.ExpectNoMessage = true;  // as kvStore_Create: no value under the key yet
      }
      next->clear_revision();  // the store's revision is the truth; never persist a copy
      const std::string data = next->SerializeAsString();
      subjects[i] = "$KV." + impl_->options.bucket + "." + key;
      if (!PublishCopyAsync(impl_->batch_js.get(), subjects[i], data, &cas)) continue;
      sent[i] = std::move(next);
      any_sent = true;
    }
    // Unanswered writes stay unknown: Update below finds out what happened.
    if (any_sent) {
      AwaitBatchAcks(impl_->connection->raw(), impl_->batch_js.get(), impl_->options.timeout);
    }
    MutexLock lock(&impl_->acks_mu);
    for (size_t i = 0; i < writes.size(); ++i) {
      if (sent[i] == nullptr) continue;
      auto it = impl_->acks.find(subjects[i]);
      if (it == impl_->acks.end() || !it->second.ok()) {
        sent[i] = nullptr;
        continue;
      }
      sent[i]->set_revision(*it->second);
      SessionPtr stored = std::move(sent[i]);
      impl_->cache.Apply(keys[i], stored);
      (*out)[i] = stored;
    }
    impl_->acks.clear();
  }
  // A conflict (another replica wrote first), a lost ack or a failed publish: one at a
  // time, as Update resolves it (its mutation sees the latest state).
  for (size_t i = 0; i < writes.size(); ++i) {
    if (!(*out)[i].ok()) (*out)[i] = Update(writes[i].tenant_id, writes[i].session, writes[i].mutate);
  }
}

std::vector<SessionPtr> NatsKvSessionStore::List() const { return impl_->cache.List(); }

Status NatsKvSessionStore::Ready() const {
  const int64_t since = impl_->clock->UnixMillis() -
                        impl_->last_reachable_ms.load(std::memory_order_acquire);
  if (since > impl_->options.grace.count()) {
    return Unavailable("the session store " + impl_->options.bucket + " has been unreachable for " +
                       std::to_string(since / 1000) + " s");
  }
  return Status::Ok();
}

}  // namespace jobgate::gate
