#include "gate/nats/nats_job_ids.h"

// NatsKvJobIdStore: the job-id claims in a JetStream KV bucket (gate/core/job_ids.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "base/mutex.h"
#include "gate/core/job_ids.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_util.h"

namespace jobgate::gate {

struct NatsKvJobIdStore::Handles {
  natsConnection* connection = nullptr;  // borrowed: outlives the store
  NatsPtr<jsCtx> js;
  NatsPtr<kvStore> kv;
  // ClaimMany's context: its async publish acks arrive in OnAck, on nats.c's thread.
  NatsPtr<jsCtx> batch_js;
  Mutex acks_mu;
  // Answers of the ClaimMany in progress by KV subject: OK, or the JetStream error code.
  struct Ack {
    bool ok = false;
    jsErrCode error = static_cast<jsErrCode>(0);
  };
  std::unordered_map<std::string, Ack> acks GUARDED_BY(acks_mu);

  static void OnAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
    auto* self = static_cast<Handles*>(closure);
    Ack answer;
    answer.ok = error == nullptr && ack != nullptr;
    if (error != nullptr) answer.error = error->ErrCode;
    {
      MutexLock lock(&self->acks_mu);
      self->acks.insert_or_assign(natsMsg_GetSubject(msg), answer);
    }
    natsMsg_Destroy(msg);  // ours in an AckHandler
  }
};

NatsKvJobIdStore::NatsKvJobIdStore() : handles_(std::make_unique<Handles>()) {}
NatsKvJobIdStore::~NatsKvJobIdStore() = default;

namespace {

Result<NatsPtr<kvStore>> OpenBucket(jsCtx* js, const JobIdStoreOptions& options) {
  auto kv = OpenKvBucket(js, options.bucket, 1, options.replicas, options.memory_storage,
                         options.ttl);
  if (!kv.ok()) return kv;
  kvStatus* status = nullptr;
  if (kvStore_Status(&status, kv->get()) == NATS_OK) {
    const int64_t ttl_ns = kvStatus_TTL(status);
    if (ttl_ns > 0 && ttl_ns < options.ttl.count() * 1'000'000) {
      spdlog::warn("KV bucket {} keeps job ids {} ms, less than the configured {} ms",
                   options.bucket, ttl_ns / 1'000'000, options.ttl.count());
    }
    kvStatus_Destroy(status);
  }
  return kv;
}

}  // namespace

Result<std::unique_ptr<NatsKvJobIdStore>> NatsKvJobIdStore::Open(
    NatsConnection* connection, const JobIdStoreOptions& options) {
  std::unique_ptr<NatsKvJobIdStore> store(new NatsKvJobIdStore());
  store->options_ = options;
  auto context = NewJetStreamContext(connection->raw(), options.timeout, "the job-id store");
  if (!context.ok()) return context.status();
  store->handles_->js = std::move(*context);
  auto kv = OpenBucket(store->handles_->js.get(), options);
  if (!kv.ok()) return kv.status();
  store->handles_->kv = std::move(*kv);

  auto batch_js = NewAsyncPublishContext(connection->raw(), options.timeout, &Handles::OnAck,
                                         store->handles_.get(), "the job-id store");
  if (!batch_js.ok()) return batch_js.status();
  store->handles_->batch_js = std::move(*batch_js);
  store->handles_->connection = connection->raw();
  return store;
}

namespace {

// The digest stored under `key`: kNotFound when there is none (expired meanwhile).
Result<std::string> ReadDigest(kvStore* kv, const std::string& key) {
  kvEntry* raw = nullptr;
  const natsStatus s = kvStore_Get(&raw, kv, key.c_str());
  if (s == NATS_NOT_FOUND) return NotFound("no claim under " + key);
  if (s != NATS_OK) return FromNats(s, "read job-id claim " + key);
  NatsPtr<kvEntry> entry(raw);
  return std::string(kvEntry_ValueString(entry.get()));
}

// A claim answered one round trip at a time: create, else read and compare. A claim that
// expired between the two is tried once more.
Result<JobIdAnswer> ClaimOne(kvStore* kv, const std::string& key, std::string_view digest) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t revision = 0;
    const std::string value(digest);
    Status created =
        KvWriteStatus(kvStore_Create(&revision, kv, key.c_str(), value.data(),
                                     static_cast<int>(value.size())),
                      "claim job id " + key);
    if (created.ok()) return JobIdAnswer{false, value};
    if (created.code() != StatusCode::kConflict) return created;
    auto first = ReadDigest(kv, key);
    if (first.ok()) return JobIdAnswer{*first != digest, std::move(*first)};
    if (first.status().code() != StatusCode::kNotFound) return first.status();
  }
  return Unavailable("job-id claim " + key + " neither created nor readable");
}

}  // namespace

void NatsKvJobIdStore::ClaimMany(std::span<const JobIdClaim> claims,
                                 std::vector<Result<JobIdAnswer>>* answers) {
  answers->assign(claims.size(), Status(StatusCode::kUnavailable, "not claimed"));
  const std::string prefix = "$KV." + options_.bucket + ".";
  std::vector<std::string> keys(claims.size());
  std::vector<bool> published(claims.size(), false);
  {
    MutexLock lock(&handles_->acks_mu);
    handles_->acks.clear();
  }
  jsPubOptions create;
  jsPubOptions_Init(&create);
  create.ExpectNoMessage = true;  // create-if-absent, as kvStore_Create asks
  create.MaxWait = options_.timeout.count();
  std::unordered_set<std::string_view> sent;
  for (size_t i = 0; i < claims.size(); ++i) {
    keys[i] = JobIdKey(claims[i].tenant_id, claims[i].job_id);
    // The same id twice in one batch: the second is answered after the first, below.
    if (!sent.insert(keys[i]).second) continue;
    published[i] = PublishCopyAsync(handles_->batch_js.get(), prefix + keys[i],
                                    claims[i].digest, &create);
  }
  // Unanswered creates stay unknown (and fail below).
  if (std::find(published.begin(), published.end(), true) != published.end()) {
    AwaitBatchAcks(handles_->connection, handles_->batch_js.get(), options_.timeout);
  }
  // Each published claim's answer: created, the key taken already, or unknown.
  enum class Fate { kUnknown, kCreated, kTaken };
  std::vector<Fate> fates(claims.size(), Fate::kUnknown);
  {
    MutexLock lock(&handles_->acks_mu);
    for (size_t i = 0; i < claims.size(); ++i) {
      if (!published[i]) continue;
      auto it = handles_->acks.find(prefix + keys[i]);
      if (it == handles_->acks.end()) continue;
      if (it->second.ok) {
        fates[i] = Fate::kCreated;
      } else if (it->second.error == JSStreamWrongLastSequenceErr) {
        fates[i] = Fate::kTaken;
      }
    }
    handles_->acks.clear();
  }
  // What this call found or claimed, by key: later claims of the same id in the batch
  // compare with it.
  std::unordered_map<std::string_view, std::string_view> first_here;
  for (size_t i = 0; i < claims.size(); ++i) {
    if (auto here = first_here.find(keys[i]); here != first_here.end()) {
      (*answers)[i] = JobIdAnswer{here->second != claims[i].digest, std::string(here->second)};
      continue;
    }
    switch (fates[i]) {
      case Fate::kCreated:
        (*answers)[i] = JobIdAnswer{false, std::string(claims[i].digest)};
        break;
      case Fate::kTaken: {
        // A retry or a conflict: read the first digest (one round trip; rare).
        auto first = ReadDigest(handles_->kv.get(), keys[i]);
        if (first.ok()) {
          const bool conflict = *first != claims[i].digest;
          (*answers)[i] = JobIdAnswer{conflict, std::move(*first)};
        } else if (first.status().code() == StatusCode::kNotFound) {
          (*answers)[i] = ClaimOne(handles_->kv.get(), keys[i], claims[i].digest);  // expired
        } else {
          (*answers)[i] = first.status();
        }
        break;
      }
      case Fate::kUnknown:
        // No answer in time, or an error other than "taken": the store is not reachable
        // as it should be. Fail closed, and without a round trip per claim (the batch's
        // wait already ran out).
        (*answers)[i] = Unavailable("job-id claim " + keys[i] + " unanswered");
        break;
    }
    if ((*answers)[i].ok()) first_here.emplace(keys[i], (*answers)[i]->first_digest);
  }
}

}  // namespace jobgate::gate
