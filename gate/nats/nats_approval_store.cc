#include "gate/nats/nats_approval_store.h"

#include <google/protobuf/util/time_util.h>
#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <unordered_map>

#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_util.h"
#include "gate/approvals/approval_wire.h"
#include "subjects/codec.h"

namespace jobgate::gate {

using Record = v1::PendingApproval;
using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

// --- NatsKvApprovalStore ------------------------------------------------------------------

struct NatsKvApprovalStore::Handles {
  natsConnection* connection = nullptr;  // borrowed: outlives the store
  NatsPtr<jsCtx> js;
  NatsPtr<kvStore> kv;
  // CreateMany's own context: its async publish acks arrive in OnCreateAck.
  NatsPtr<jsCtx> batch_js;
  Mutex batch_mu;  // one CreateMany at a time on batch_js
  Mutex acks_mu;
  // Answers for the CreateMany in progress, by KV subject.
  std::unordered_map<std::string, Result<uint64_t>> acks GUARDED_BY(acks_mu);

  static void OnCreateAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
    auto* self = static_cast<Handles*>(closure);
    Result<uint64_t> answer =
        error == nullptr && ack != nullptr
            ? Result<uint64_t>(ack->Sequence)
            : Result<uint64_t>(Status(StatusCode::kUnavailable, "not created"));
    {
      MutexLock lock(&self->acks_mu);
      self->acks.insert_or_assign(natsMsg_GetSubject(msg), std::move(answer));
    }
    natsMsg_Destroy(msg);  // ours in an AckHandler
  }
};

NatsKvApprovalStore::NatsKvApprovalStore() : handles_(std::make_unique<Handles>()) {}
NatsKvApprovalStore::~NatsKvApprovalStore() = default;

namespace {

// Reads bucket `bucket`'s stream as `read` says, through sequence `through`, and calls
// `on_entry(key, value, sequence)` for each message: `value` is null for a delete or
// purge. Both the sweep index and List read the bucket this way.
Status ReadBucket(
    jsCtx* js, const std::string& bucket, StreamReadOptions read, uint64_t through,
    const std::function<void(std::string_view, const std::string_view*, uint64_t)>& on_entry) {
  const std::string prefix = "$KV." + bucket + ".";
  read.stream = "KV_" + bucket;
  read.filter = prefix + ">";
  return ReadStream(js, read, through, [&](natsMsg* msg, const jsMsgMetaData& meta) {
    const std::string_view subject = natsMsg_GetSubject(msg);
    const std::string_view key = subject.substr(std::min(prefix.size(), subject.size()));
    const char* operation = nullptr;
    if (natsMsgHeader_Get(msg, "KV-Operation", &operation) == NATS_OK && operation != nullptr) {
      on_entry(key, nullptr, meta.Sequence.Stream);  // DEL or PURGE
      return;
    }
    const std::string_view value(natsMsg_GetData(msg),
                                 static_cast<size_t>(natsMsg_GetDataLength(msg)));
    on_entry(key, &value, meta.Sequence.Stream);
  });
}

// The first read of a bucket takes each key's latest value: as many as approvals were
// ever held and kept, so longer than a single request may take.
std::chrono::milliseconds FirstReadTimeout(std::chrono::milliseconds request_timeout) {
  return std::max<std::chrono::milliseconds>(request_timeout, std::chrono::minutes(2));
}

Result<Record> ParseRecord(kvEntry* entry) {
  Record record;
  if (!record.ParseFromArray(kvEntry_Value(entry), kvEntry_ValueLen(entry))) {
    return Internal(std::string("corrupt approval record under key ") + kvEntry_Key(entry));
  }
  record.set_revision(kvEntry_Revision(entry));
  return record;
}

std::string Serialize(const Record& record) {
  // The store's revision is the truth; never persist a copy. A new record has none, and
  // is written as it is rather than copied first.
  if (record.revision() == 0) return record.SerializeAsString();
  Record stored = record;
  stored.clear_revision();
  return stored.SerializeAsString();
}

}  // namespace

Result<std::unique_ptr<NatsKvApprovalStore>> NatsKvApprovalStore::Open(
    NatsConnection* connection, const ApprovalStoreOptions& options) {
  std::unique_ptr<NatsKvApprovalStore> store(new NatsKvApprovalStore());
  store->options_ = options;
  auto context = NewJetStreamContext(connection->raw(), options.timeout, "the approvals store");
  if (!context.ok()) return context.status();
  store->handles_->js = std::move(*context);
  jsCtx* js = store->handles_->js.get();

  auto kv =
      OpenKvBucket(js, options.bucket, options.history, options.replicas, options.memory_storage);
  if (!kv.ok()) return kv.status();
  store->handles_->kv = std::move(*kv);

  auto batch_js = NewAsyncPublishContext(connection->raw(), options.timeout,
                                         &Handles::OnCreateAck, store->handles_.get(),
                                         "the approvals store");
  if (!batch_js.ok()) return batch_js.status();
  store->handles_->batch_js = std::move(*batch_js);
  store->handles_->connection = connection->raw();
  return store;
}

void NatsKvApprovalStore::CreateMany(std::span<const Record* const> records,
                                     std::vector<Result<uint64_t>>* revisions) {
  revisions->assign(records.size(), Status(StatusCode::kUnavailable, "not created"));
  std::vector<std::string> subjects(records.size());
  std::vector<bool> published(records.size(), false);
  {
    MutexLock batch_lock(&handles_->batch_mu);
    {
      MutexLock lock(&handles_->acks_mu);
      handles_->acks.clear();
    }
    jsPubOptions create;
    jsPubOptions_Init(&create);
    create.ExpectNoMessage = true;  // what kvStore_Create asks for: no value under the key yet
    create.MaxWait = options_.timeout.count();
    std::unordered_map<std::string_view, size_t> first_of_subject;
    for (size_t i = 0; i < records.size(); ++i) {
      const Record& record = *records[i];
      subjects[i] = "$KV." + options_.bucket + "." +
                    ApprovalKey(record.job().tenant_id(), record.job().job_id());
      // A job twice in one call: only the first goes ahead; the second meets it below.
      if (!first_of_subject.emplace(subjects[i], i).second) continue;
      published[i] =
          PublishCopyAsync(handles_->batch_js.get(), subjects[i], Serialize(record), &create);
    }
    // Written now, not after nats.c's flusher pause: the held jobs' batch publishes only
    // once they are stored. Unanswered creates stay unknown: the Create path below finds
    // out what happened.
    if (std::find(published.begin(), published.end(), true) != published.end()) {
      AwaitBatchAcks(handles_->connection, handles_->batch_js.get(), options_.timeout);
    }
    MutexLock lock(&handles_->acks_mu);
    for (size_t i = 0; i < records.size(); ++i) {
      if (!published[i]) continue;
      auto it = handles_->acks.find(subjects[i]);
      if (it != handles_->acks.end() && it->second.ok()) (*revisions)[i] = it->second;
    }
    handles_->acks.clear();
  }
  // Everything else as Create answers it: a key held already (a redelivery) is
  // kAlreadyExists, a deleted one is created over its tombstone, a lost ack is resolved.
  for (size_t i = 0; i < records.size(); ++i) {
    if (!(*revisions)[i].ok()) (*revisions)[i] = Create(*records[i]);
  }
}

Result<uint64_t> NatsKvApprovalStore::Create(const Record& record) {
  const std::string key = ApprovalKey(record.job().tenant_id(), record.job().job_id());
  const std::string data = Serialize(record);
  uint64_t revision = 0;
  const natsStatus s = kvStore_Create(&revision, handles_->kv.get(), key.c_str(), data.data(),
                                      static_cast<int>(data.size()));
  Status status = KvWriteStatus(s, "hold job " + record.job().job_id());
  if (status.code() == StatusCode::kConflict) {
    return Status(StatusCode::kAlreadyExists,
                  "job '" + record.job().job_id() + "' is held already");
  }
  if (!status.ok()) return status;
  return revision;
}

Result<Record> NatsKvApprovalStore::Get(std::string_view tenant_id, std::string_view job_id) {
  auto record = GetByKey(ApprovalKey(tenant_id, job_id));
  if (record.ok() || record.status().code() != StatusCode::kNotFound) return record;
  return NotFound("no approval for job '" + std::string(job_id) + "'");
}

Result<Record> NatsKvApprovalStore::GetByKey(std::string_view key) {
  const std::string name(key);
  kvEntry* raw = nullptr;
  const natsStatus s = kvStore_Get(&raw, handles_->kv.get(), name.c_str());
  if (s == NATS_NOT_FOUND) return NotFound("no approval under key " + name);
  if (s != NATS_OK) return FromNats(s, "read the approval under key " + name);
  NatsPtr<kvEntry> entry(raw);
  return ParseRecord(entry.get());
}

Status NatsKvApprovalStore::SyncIndex() {
  const std::string stream = "KV_" + options_.bucket;
  auto info = GetStreamInfo(handles_->js.get(), stream);
  if (!info.ok()) return info.status();
  const uint64_t last = (*info)->State.LastSeq;
  if (index_loaded_ && last < index_through_) {
    // The bucket was deleted and made again: its sequences start over, and so does the index.
    index_ = ApprovalSweepIndex();
    index_loaded_ = false;
    index_through_ = 0;
  }
  if (index_loaded_ && index_through_ >= last) return Status::Ok();
  if (!index_loaded_ && (*info)->State.Msgs == 0) {
    index_loaded_ = true;
    index_through_ = last;
    return Status::Ok();
  }
  StreamReadOptions read;
  read.timeout = options_.timeout;
  if (!index_loaded_) {
    read.last_per_subject = true;
    read.timeout = FirstReadTimeout(options_.timeout);
  } else {
    read.start_sequence = index_through_ + 1;
  }
  Status status =
      ReadBucket(handles_->js.get(), options_.bucket, read, last,
                 [this](std::string_view key, const std::string_view* value, uint64_t sequence)
                     REQUIRES(index_mu_) {  // runs inside ReadBucket, under SyncIndex's lock
                   if (value == nullptr) {
                     index_.Erase(key);
                   } else if (Status put = index_.Put(key, *value); !put.ok()) {
                     spdlog::warn("approvals index: {}; skipped", put.message());
                   }
                   index_through_ = sequence;
                 });
  if (!index_loaded_) {
    if (!status.ok()) {
      index_ = ApprovalSweepIndex();  // a partial first read is no index; start over
      index_through_ = 0;
      return status;
    }
    index_loaded_ = true;
  }
  return status;
}

Result<SweepScan> NatsKvApprovalStore::ScanForSweep(const Timestamp& now) {
  MutexLock lock(&index_mu_);
  JOBGATE_RETURN_IF_ERROR(SyncIndex());
  return index_.Scan(TimeUtil::TimestampToMilliseconds(now));
}

Result<int64_t> NatsKvApprovalStore::CountPending() {
  MutexLock lock(&index_mu_);
  JOBGATE_RETURN_IF_ERROR(SyncIndex());
  return index_.pending();
}

Result<uint64_t> NatsKvApprovalStore::Update(const Record& record, uint64_t expected_revision) {
  const std::string key = ApprovalKey(record.job().tenant_id(), record.job().job_id());
  const std::string data = Serialize(record);
  uint64_t revision = 0;
  const natsStatus s = kvStore_Update(&revision, handles_->kv.get(), key.c_str(), data.data(),
                                      static_cast<int>(data.size()), expected_revision);
  Status status = KvWriteStatus(s, "update the approval of job " + record.job().job_id());
  if (status.code() == StatusCode::kConflict) {
    return Conflict("the approval of job '" + record.job().job_id() + "' changed meanwhile");
  }
  if (!status.ok()) return status;
  return revision;
}

Result<ApprovalPage> NatsKvApprovalStore::List(const ApprovalListQuery& query) {
  return query.include_resolved ? ListFromBucket(query) : ListPendingFromIndex(query);
}

Result<ApprovalPage> NatsKvApprovalStore::ListPendingFromIndex(const ApprovalListQuery& query) {
  ApprovalPage page;
  {
    MutexLock lock(&index_mu_);
    JOBGATE_RETURN_IF_ERROR(SyncIndex());
    ApprovalPager pager(query);
    index_.OfferPending(&pager);
    page = std::move(pager).Finish();
  }
  // The records are read outside the lock: a sweep need not wait for a person's list.
  size_t kept = 0;
  for (size_t i = 0; i < page.places.size(); ++i) {
    auto record = GetByKey(page.places[i].key);
    if (!record.ok() && record.status().code() != StatusCode::kNotFound) {
      return Status(record.status().code(), "list approvals: " + record.status().message());
    }
    if (!record.ok() || record->status() != Record::PENDING) continue;  // resolved since
    page.records[kept] = std::move(*record);
    page.places[kept] = std::move(page.places[i]);
    ++kept;
  }
  page.records.resize(kept);
  page.places.resize(kept);
  return page;  // `next` stands: what follows the page's last place is the next page
}

Result<ApprovalPage> NatsKvApprovalStore::ListFromBucket(const ApprovalListQuery& query) {
  ApprovalPager pager(query);
  auto info = GetStreamInfo(handles_->js.get(), "KV_" + options_.bucket);
  if (!info.ok()) return info.status();
  if ((*info)->State.Msgs == 0) return std::move(pager).Finish();
  StreamReadOptions read;
  read.last_per_subject = true;
  read.timeout = FirstReadTimeout(options_.timeout);
  Status status =
      ReadBucket(handles_->js.get(), options_.bucket, read, (*info)->State.LastSeq,
                 [&](std::string_view key, const std::string_view* value, uint64_t sequence) {
                   if (value == nullptr) return;  // deleted
                   WireFields fields;
                   if (!ReadWireFields(*value, &fields)) {
                     spdlog::warn("corrupt approval record under key {}; skipped", key);
                     return;
                   }
                   if (!pager.Offer(ToMillis(fields.held_at_seconds, fields.held_at_nanos), key,
                                    fields.status == Record::PENDING)) {
                     return;
                   }
                   Record record;
                   if (!record.ParseFromArray(value->data(), static_cast<int>(value->size()))) {
                     spdlog::warn("corrupt approval record under key {}; skipped", key);
                     return;
                   }
                   record.set_revision(sequence);
                   pager.Take(std::move(record));
                 });
  if (!status.ok()) return Status(status.code(), "list approvals: " + status.message());
  return std::move(pager).Finish();
}

// --- NatsApprovalPublisher ----------------------------------------------------------------

Status NatsApprovalPublisher::Publish(const OutboundMessage& message) {
  auto ack = connection_->Publish(message, timeout_);
  return ack.ok() ? Status::Ok() : ack.status();
}

}  // namespace jobgate::gate
