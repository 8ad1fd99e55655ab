#include "gate/approvals.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "gate/dispatcher.h"
#include "gate/nats_bus.h"
#include "gate/nats_util.h"
#include "policy/hash.h"
#include "policy/secrets.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;
using Record = v1::PendingApproval;

constexpr char kDefaultTenant[] = "default";
// Nats-Msg-Id targets (MessageId) of what approvals publish.
// The msg id target of a held job's request: the dispatcher's, for the copy it routes.
constexpr char kRequestTarget[] = "dispatch";
constexpr char kReleaseTarget[] = "release";
constexpr char kResolutionTarget[] = "resolution";
constexpr char kDeniedTarget[] = "denied";

// The job as it may appear on audit and approval subjects: every secret the detectors
// find replaced (workers get the job as the decision's redaction left it).
v1::Job Scrubbed(const v1::Job& job) {
  v1::Job copy = job;
  policy::SecretScanner::Default().RedactJob(&copy, nullptr);
  return copy;
}
constexpr char kRefusalTarget[] = "refusal-";  // + a fresh id: one record per attempt
// Header on released jobs naming who approved them.
constexpr char kApproverHeader[] = "Jobgate-Approver";

// What a sealed job is bound to: its record's tenant and id, and the digest of the
// scrubbed job the record shows.
std::string SealContext(const v1::Job& scrubbed, std::string_view digest) {
  std::string context = "jobgate-held-job-v1";
  for (std::string_view part : {std::string_view(scrubbed.tenant_id()),
                                std::string_view(scrubbed.job_id()), digest}) {
    context.push_back('\0');
    context.append(part);
  }
  return context;
}

std::string_view TenantOf(const v1::Job& job) {
  return job.tenant_id().empty() ? std::string_view(kDefaultTenant) : job.tenant_id();
}

std::string StatusName(Record::Status status) { return Record::Status_Name(status); }

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Separation of duties: `name` is the job's agent or its accountable owner.
bool IsActorOf(std::string_view name, const v1::Job& job) {
  const v1::Actor& actor = job.actor();
  return (!actor.agent_id().empty() && SameName(name, actor.agent_id())) ||
         (!actor.owner().empty() && SameName(name, actor.owner()));
}

// The API's code for a store error ("unavailable", "deadline_exceeded", ...).
std::string CodeFor(const Status& status) {
  if (status.code() == StatusCode::kNotFound) return "not_found";
  return Lower(StatusCodeName(status.code()));
}

void SetDecisionHeaders(const v1::Decision& decision, OutboundMessage* out) {
  out->headers.emplace_back(kDecisionHeader, std::string(policy::VerdictName(decision.decision())));
  out->headers.emplace_back(kDecisionIdHeader, decision.decision_id());
  out->headers.emplace_back(kSnapshotHeader, decision.snapshot().empty() ? decision.snapshot_hash()
                                                                         : decision.snapshot());
}

}  // namespace

std::string JobDigest(const v1::Job& job) {
  // Unknown fields are not part of the job as shown (JSON drops them), so they are not
  // part of its digest. Decoded jobs have none (the decoder refuses them); a stored
  // record from a gate on another schema may.
  std::optional<v1::Job> canonical;
  if (!subjects::UnknownFieldsPath(job).empty()) {
    canonical.emplace(job);
    canonical->DiscardUnknownFields();
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    (canonical.has_value() ? *canonical : job).SerializeToCodedStream(&coded);
  }  // the coded stream flushes into `bytes` here
  return "sha256:" + policy::Sha256Hex(bytes);
}

std::string ApprovalKey(std::string_view tenant_id, std::string_view job_id) {
  if (tenant_id.empty()) tenant_id = kDefaultTenant;
  std::string material = std::to_string(tenant_id.size());
  material.push_back(':');
  material.append(tenant_id);
  material.append(job_id);
  return policy::Sha256Hex(material);
}

// --- Sweeps -------------------------------------------------------------------------------

namespace {

using google::protobuf::io::CodedInputStream;

// The fields of a PendingApproval the sweep index and the list read from the wire.
struct WireFields {
  Record::Status status = Record::STATUS_UNSPECIFIED;
  bool released = false;
  int64_t expires_at_seconds = 0;
  int32_t expires_at_nanos = 0;
  int64_t held_at_seconds = 0;
  int32_t held_at_nanos = 0;
};

// Skips the value of a field with `tag` (every wire type proto3 writes).
bool SkipField(uint32_t tag, CodedInputStream* in) {
  uint64_t varint = 0;
  uint32_t length = 0;
  switch (tag & 7) {
    case 0:
      return in->ReadVarint64(&varint);
    case 1:
      return in->Skip(8);
    case 2:
      return in->ReadVarint32(&length) && in->Skip(static_cast<int>(length));
    case 5:
      return in->Skip(4);
    default:
      return false;  // groups: not in this schema
  }
}

// Calls `on_field(number, length_delimited, in)` for each field up to the current limit; it
// reads a field it wants and returns true, or returns false to have it skipped. False on
// malformed input.
template <typename OnField>
bool ForEachField(CodedInputStream* in, OnField on_field) {
  for (;;) {
    const uint32_t tag = in->ReadTag();
    if (tag == 0) return in->ConsumedEntireMessage();
    const bool length_delimited = (tag & 7) == 2;
    if (!on_field(static_cast<int>(tag >> 3), length_delimited, in) && !SkipField(tag, in)) {
      return false;
    }
  }
}

// Reads a length-delimited sub-message with `on_field`.
template <typename OnField>
bool ReadSubMessage(CodedInputStream* in, OnField on_field) {
  uint32_t length = 0;
  if (!in->ReadVarint32(&length)) return false;
  // Every caller sits under a limit (ReadWireFields sets one), so this is defined.
  if (length > static_cast<uint32_t>(in->BytesUntilLimit())) return false;
  const CodedInputStream::Limit limit = in->PushLimit(static_cast<int>(length));
  const bool ok = ForEachField(in, on_field);
  in->PopLimit(limit);
  return ok;
}

// The sweep and the list need a few fields of a record; this reads them from the wire and
// skips the job, the decision and the rest unparsed (a full parse costs a few microseconds
// each). Field numbers are the generated ones, so the scan follows the schema.
bool ReadWireFields(std::string_view bytes, WireFields* out) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  in.PushLimit(static_cast<int>(bytes.size()));
  uint64_t varint = 0;
  // Reads a Timestamp into `seconds` and `nanos`.
  const auto timestamp_into = [&](int64_t* seconds, int32_t* nanos) {
    return [&varint, seconds, nanos](int number, bool, CodedInputStream* ts) {
      if (number == Timestamp::kSecondsFieldNumber) {
        if (!ts->ReadVarint64(&varint)) return false;
        *seconds = static_cast<int64_t>(varint);
        return true;
      }
      if (number == Timestamp::kNanosFieldNumber) {
        if (!ts->ReadVarint64(&varint)) return false;
        *nanos = static_cast<int32_t>(varint);
        return true;
      }
      return false;
    };
  };
  bool malformed = false;
  const auto on_approval = [&](int number, bool length_delimited, CodedInputStream* approval) {
    if (!length_delimited) return false;
    if (number == v1::Approval::kExpiresAtFieldNumber) {
      if (!ReadSubMessage(approval,
                          timestamp_into(&out->expires_at_seconds, &out->expires_at_nanos))) {
        malformed = true;
      }
      return true;
    }
    if (number == v1::Approval::kHeldAtFieldNumber) {
      if (!ReadSubMessage(approval, timestamp_into(&out->held_at_seconds, &out->held_at_nanos))) {
        malformed = true;
      }
      return true;
    }
    return false;
  };
  const auto on_record = [&](int number, bool length_delimited, CodedInputStream* record) {
    switch (number) {
      case Record::kStatusFieldNumber:
        if (length_delimited || !record->ReadVarint64(&varint)) break;
        out->status = static_cast<Record::Status>(varint);
        return true;
      case Record::kReleasedFieldNumber:
        if (length_delimited || !record->ReadVarint64(&varint)) break;
        out->released = varint != 0;
        return true;
      case Record::kApprovalFieldNumber:
        if (!length_delimited) break;
        if (!ReadSubMessage(record, on_approval)) malformed = true;
        return true;
      default:
        break;
    }
    return false;
  };
  return ForEachField(&in, on_record) && !malformed;
}

int64_t ToMillis(int64_t seconds, int32_t nanos) { return seconds * 1000 + nanos / 1000000; }

// "0123…" (64 hex digits) -> 32 bytes; false when `hex` is not that.
bool DecodeKey(std::string_view hex, std::array<uint8_t, 32>* out) {
  if (hex.size() != 64) return false;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out->size(); ++i) {
    const int high = nibble(hex[2 * i]);
    const int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    (*out)[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

std::string EncodeKey(const std::array<uint8_t, 32>& key) {
  std::string hex;
  policy::AppendHex(key.data(), key.size(), &hex);
  return hex;
}

// Soonest expiry first, ties by key, so a scan's order is total.
void SortDue(std::vector<std::pair<int64_t, std::string>>* due, SweepScan* scan) {
  std::sort(due->begin(), due->end());
  scan->due_keys.reserve(due->size());
  for (auto& [_, key] : *due) scan->due_keys.push_back(std::move(key));
}

}  // namespace

bool DueForSweep(Record::Status status, bool released, int64_t expires_at_ms, int64_t now_ms) {
  if (status == Record::PENDING) return expires_at_ms <= now_ms;
  return !released;
}

size_t ApprovalSweepIndex::KeyHash::operator()(const Key& key) const {
  size_t hash;  // the key is a SHA-256: any 8 of its bytes are a good hash
  std::memcpy(&hash, key.data(), sizeof(hash));
  return hash;
}

Status ApprovalSweepIndex::Put(std::string_view key, std::string_view record_bytes) {
  Key binary;
  if (!DecodeKey(key, &binary)) {
    return InvalidArgument("'" + std::string(key) + "' is not an approval key");
  }
  WireFields fields;
  const bool parsed = ReadWireFields(record_bytes, &fields);
  auto it = entries_.find(binary);
  if (it != entries_.end()) {
    if (it->second.pending) --pending_;
    entries_.erase(it);
  }
  if (!parsed)
    return InvalidArgument("the value under key " + std::string(key) +
                           " is not an approval record");
  const bool pending = fields.status == Record::PENDING;
  if (!pending && fields.released) return Status::Ok();  // finished: nothing left to sweep
  entries_.emplace(binary, Entry{ToMillis(fields.expires_at_seconds, fields.expires_at_nanos),
                                 ToMillis(fields.held_at_seconds, fields.held_at_nanos), pending});
  if (pending) ++pending_;
  return Status::Ok();
}

void ApprovalSweepIndex::Erase(std::string_view key) {
  Key binary;
  if (!DecodeKey(key, &binary)) return;
  auto it = entries_.find(binary);
  if (it == entries_.end()) return;
  if (it->second.pending) --pending_;
  entries_.erase(it);
}

SweepScan ApprovalSweepIndex::Scan(int64_t now_ms) const {
  SweepScan scan;
  scan.pending = pending_;
  std::vector<std::pair<int64_t, std::string>> due;
  for (const auto& [key, entry] : entries_) {
    const Record::Status status = entry.pending ? Record::PENDING : Record::APPROVED;
    if (DueForSweep(status, /*released=*/false, entry.expires_at_ms, now_ms)) {
      due.emplace_back(entry.expires_at_ms, EncodeKey(key));
    }
  }
  SortDue(&due, &scan);
  return scan;
}

void ApprovalSweepIndex::OfferPending(ApprovalPager* pager) const {
  std::string hex;  // reused: one allocation for the whole index
  for (const auto& [key, entry] : entries_) {
    if (!entry.pending) continue;
    hex.clear();
    policy::AppendHex(key.data(), key.size(), &hex);
    if (pager->Offer(entry.held_at_ms, hex, /*pending=*/true)) pager->Take(Record());
  }
}

// --- Listing ------------------------------------------------------------------------------

namespace {
constexpr std::string_view kPageTokenPrefix = "p1.";
}  // namespace

std::string EncodePageToken(const ApprovalListCursor& cursor) {
  std::string token(kPageTokenPrefix);
  token.append(std::to_string(cursor.held_at_ms)).push_back('.');
  token.append(cursor.key);
  return token;
}

Result<ApprovalListCursor> DecodePageToken(std::string_view token) {
  const Status invalid = InvalidArgument("page_token is not one this gate gave out");
  if (token.substr(0, kPageTokenPrefix.size()) != kPageTokenPrefix) return invalid;
  token.remove_prefix(kPageTokenPrefix.size());
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return invalid;
  ApprovalListCursor cursor;
  const char* const end = token.data() + dot;
  const auto [parsed_to, error] = std::from_chars(token.data(), end, cursor.held_at_ms);
  std::array<uint8_t, 32> binary;
  if (error != std::errc() || parsed_to != end || !DecodeKey(token.substr(dot + 1), &binary)) {
    return invalid;
  }
  cursor.key.assign(token.substr(dot + 1));
  return cursor;
}

ApprovalPager::ApprovalPager(ApprovalListQuery query) : query_(std::move(query)) {
  heap_.reserve(std::max<size_t>(1, query_.page_size));
}

namespace {
// The list's order: oldest held first, ties by key.
bool HeldBefore(int64_t a_ms, std::string_view a_key, int64_t b_ms, std::string_view b_key) {
  return a_ms != b_ms ? a_ms < b_ms : a_key < b_key;
}
}  // namespace

bool ApprovalPager::Older(const Entry& a, const Entry& b) {
  return HeldBefore(a.held_at_ms, a.key, b.held_at_ms, b.key);
}

bool ApprovalPager::Offer(int64_t held_at_ms, std::string_view key, bool pending) {
  if (pending) ++pending_;
  if (!pending && !query_.include_resolved) return false;
  if (query_.after.has_value() &&
      !HeldBefore(query_.after->held_at_ms, query_.after->key, held_at_ms, key)) {
    return false;  // on an earlier page
  }
  if (heap_.size() >= std::max<size_t>(1, query_.page_size) &&
      !HeldBefore(held_at_ms, key, heap_.front().held_at_ms, heap_.front().key)) {
    more_ = true;  // after the page's newest
    return false;
  }
  offered_.held_at_ms = held_at_ms;
  offered_.key.assign(key);
  return true;
}

void ApprovalPager::Take(v1::PendingApproval record) {
  offered_.record = std::move(record);
  heap_.push_back(std::move(offered_));
  std::push_heap(heap_.begin(), heap_.end(), Older);
  if (heap_.size() > std::max<size_t>(1, query_.page_size)) {
    std::pop_heap(heap_.begin(), heap_.end(), Older);
    heap_.pop_back();
    more_ = true;
  }
}

ApprovalPage ApprovalPager::Finish() && {
  std::sort_heap(heap_.begin(), heap_.end(), Older);
  ApprovalPage page;
  page.pending = pending_;
  if (more_ && !heap_.empty()) {
    page.next = ApprovalListCursor{heap_.back().held_at_ms, heap_.back().key};
  }
  page.records.reserve(heap_.size());
  page.places.reserve(heap_.size());
  for (Entry& entry : heap_) {
    page.records.push_back(std::move(entry.record));
    page.places.push_back(ApprovalListCursor{entry.held_at_ms, std::move(entry.key)});
  }
  return page;
}

// --- ApprovalStore ------------------------------------------------------------------------

Result<int64_t> ApprovalStore::CountPending() {
  ApprovalListQuery query;
  query.page_size = 1;  // the count covers the whole store; the page is not needed
  auto page = List(query);
  if (!page.ok()) return page.status();
  return page->pending;
}

void ApprovalStore::CreateMany(std::span<const Record* const> records,
                               std::vector<Result<uint64_t>>* revisions) {
  revisions->clear();
  revisions->reserve(records.size());
  for (const Record* record : records) revisions->push_back(Create(*record));
}

Result<uint64_t> InMemoryApprovalStore::Create(const Record& record) {
  const std::string key = ApprovalKey(record.job().tenant_id(), record.job().job_id());
  std::lock_guard<std::mutex> lock(mu_);
  if (records_.count(key) != 0) {
    return Status(StatusCode::kAlreadyExists,
                  "job '" + record.job().job_id() + "' is held already");
  }
  Record stored = record;
  stored.set_revision(++last_revision_);
  records_.emplace(key, std::move(stored));
  return last_revision_;
}

Result<Record> InMemoryApprovalStore::Get(std::string_view tenant_id, std::string_view job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(ApprovalKey(tenant_id, job_id));
  if (it == records_.end()) return NotFound("no approval for job '" + std::string(job_id) + "'");
  return it->second;
}

Result<uint64_t> InMemoryApprovalStore::Update(const Record& record, uint64_t expected_revision) {
  const std::string key = ApprovalKey(record.job().tenant_id(), record.job().job_id());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end() || it->second.revision() != expected_revision) {
    return Conflict("the approval of job '" + record.job().job_id() + "' changed meanwhile");
  }
  it->second = record;
  it->second.set_revision(++last_revision_);
  return last_revision_;
}

Result<Record> InMemoryApprovalStore::GetByKey(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(std::string(key));
  if (it == records_.end()) return NotFound("no approval under key " + std::string(key));
  return it->second;
}

Result<SweepScan> InMemoryApprovalStore::ScanForSweep(const Timestamp& now) {
  const int64_t now_ms = TimeUtil::TimestampToMilliseconds(now);
  SweepScan scan;
  std::vector<std::pair<int64_t, std::string>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, record] : records_) {
      const int64_t expires_at_ms =
          TimeUtil::TimestampToMilliseconds(record.approval().expires_at());
      if (record.status() == Record::PENDING) ++scan.pending;
      if (DueForSweep(record.status(), record.released(), expires_at_ms, now_ms)) {
        due.emplace_back(expires_at_ms, key);
      }
    }
  }
  SortDue(&due, &scan);
  return scan;
}

Result<ApprovalPage> InMemoryApprovalStore::List(const ApprovalListQuery& query) {
  ApprovalPager pager(query);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, record] : records_) {
    if (pager.Offer(TimeUtil::TimestampToMilliseconds(record.approval().held_at()), key,
                    record.status() == Record::PENDING)) {
      pager.Take(record);
    }
  }
  return std::move(pager).Finish();
}

// --- NatsKvApprovalStore ------------------------------------------------------------------

struct NatsKvApprovalStore::Handles {
  natsConnection* connection = nullptr;  // borrowed: outlives the store
  NatsPtr<jsCtx> js;
  NatsPtr<kvStore> kv;
  // CreateMany's own context: its async publish acks arrive in OnCreateAck.
  NatsPtr<jsCtx> batch_js;
  std::mutex batch_mu;  // one CreateMany at a time on batch_js
  std::mutex acks_mu;
  // Answers for the CreateMany in progress, by KV subject.
  std::unordered_map<std::string, Result<uint64_t>> acks;  // GUARDED_BY(acks_mu)

  static void OnCreateAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
    auto* self = static_cast<Handles*>(closure);
    Result<uint64_t> answer =
        error == nullptr && ack != nullptr
            ? Result<uint64_t>(ack->Sequence)
            : Result<uint64_t>(Status(StatusCode::kUnavailable, "not created"));
    {
      std::lock_guard<std::mutex> lock(self->acks_mu);
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
    std::lock_guard<std::mutex> batch_lock(handles_->batch_mu);
    {
      std::lock_guard<std::mutex> lock(handles_->acks_mu);
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
      const std::string data = Serialize(record);
      natsMsg* msg = nullptr;
      if (natsMsg_Create(&msg, subjects[i].c_str(), nullptr, data.data(),
                         static_cast<int>(data.size())) != NATS_OK) {
        continue;
      }
      if (js_PublishMsgAsync(handles_->batch_js.get(), &msg, &create) != NATS_OK) {
        natsMsg_Destroy(msg);  // not taken by the library
        continue;
      }
      published[i] = true;
    }
    // Written now, not after nats.c's flusher pause: the held jobs' batch publishes only
    // once they are stored.
    if (std::find(published.begin(), published.end(), true) != published.end() &&
        FlushAndAwaitAcks(handles_->connection, handles_->batch_js.get(), options_.timeout) !=
            NATS_OK) {
      // Unanswered creates stay unknown: the Create path below finds out what happened.
      natsMsgList pending{nullptr, 0};
      if (js_PublishAsyncGetPendingList(&pending, handles_->batch_js.get()) == NATS_OK) {
        natsMsgList_Destroy(&pending);
      }
    }
    std::lock_guard<std::mutex> lock(handles_->acks_mu);
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
                 [this](std::string_view key, const std::string_view* value, uint64_t sequence) {
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
  std::lock_guard<std::mutex> lock(index_mu_);
  JOBGATE_RETURN_IF_ERROR(SyncIndex());
  return index_.Scan(TimeUtil::TimestampToMilliseconds(now));
}

Result<int64_t> NatsKvApprovalStore::CountPending() {
  std::lock_guard<std::mutex> lock(index_mu_);
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
    std::lock_guard<std::mutex> lock(index_mu_);
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

// --- ApprovalService ----------------------------------------------------------------------

ApprovalService::ApprovalService(ApprovalStore* store, ApprovalPublisher* publisher,
                                 PolicySource policy, const Clock* clock, ApprovalOptions options,
                                 ApprovalObserver* observer)
    : store_(store),
      publisher_(publisher),
      policy_(std::move(policy)),
      clock_(clock),
      options_(std::move(options)),
      observer_(observer) {}

Timestamp ApprovalService::Now() const {
  return TimeUtil::MillisecondsToTimestamp(clock_->UnixMillis());
}

OutboundMessage ApprovalService::RequestMessage(const Record& record) const {
  const std::string_view rest = subjects::RestOf(record.subject(), options_.prefixes.job);
  v1::DispatchedJob request;
  *request.mutable_job() = Scrubbed(record.job());
  *request.mutable_decision() = record.decision();
  *request.mutable_approval() = record.approval();
  OutboundMessage out;
  out.subject = subjects::Join(options_.prefixes.approval, rest);
  out.msg_id = MessageId(TenantOf(record.job()), record.job().job_id(), kRequestTarget);
  SetDecisionHeaders(record.decision(), &out);
  out.body = request.SerializeAsString();
  return out;
}

Result<Held> ApprovalService::Hold(const v1::Job& job, const v1::Decision& decision,
                                   std::string_view subject) {
  const HoldRequest request{&job, &decision, subject};
  std::vector<Result<Held>> held;
  HoldMany(std::span<const HoldRequest>(&request, 1), &held);
  return std::move(held[0]);
}

void ApprovalService::HoldMany(std::span<const HoldRequest> requests,
                               std::vector<Result<Held>>* held) {
  held->assign(requests.size(), Status(StatusCode::kInternal, "not held"));
  std::vector<Record> records(requests.size());
  std::vector<const Record*> to_create;
  std::vector<size_t> created_for;  // to_create[k] is requests[created_for[k]]
  to_create.reserve(requests.size());
  created_for.reserve(requests.size());
  const int64_t now_ms = clock_->UnixMillis();
  for (size_t i = 0; i < requests.size(); ++i) {
    const v1::Job& job = *requests[i].job;
    const v1::Decision& decision = *requests[i].decision;
    const std::string_view subject = requests[i].subject;
    if (job.job_id().empty()) {
      (*held)[i] = InvalidArgument("a held job needs a job_id");
      continue;
    }
    if (subjects::RestOf(subject, options_.prefixes.job).empty()) {
      (*held)[i] = InvalidArgument("subject '" + std::string(subject) + "' has no <rest>");
      continue;
    }
    Record& record = records[i];
    *record.mutable_job() = job;
    if (job.tenant_id().empty()) record.mutable_job()->set_tenant_id(kDefaultTenant);
    // Nothing raw at rest: the record shows the scrubbed job; the original, when
    // scrubbing changed it, only sealed.
    const bool seal = policy::SecretScanner::Default().RedactJob(record.mutable_job(), nullptr) > 0 &&
                      options_.sealer != nullptr;
    *record.mutable_decision() = decision;
    record.set_subject(std::string(subject));
    record.set_status(Record::PENDING);
    v1::Approval* binding = record.mutable_approval();
    binding->set_outcome(StatusName(Record::PENDING));
    binding->set_job_digest(JobDigest(record.job()));
    if (seal) {
      v1::Job as_came = job;
      if (as_came.tenant_id().empty()) as_came.set_tenant_id(kDefaultTenant);
      auto sealed = options_.sealer->Seal(as_came.SerializeAsString(),
                                          SealContext(record.job(), binding->job_digest()));
      if (!sealed.ok()) {
        (*held)[i] = sealed.status();
        continue;
      }
      record.set_sealed_job(std::move(sealed->blob));
      record.set_sealed_key_id(std::move(sealed->key_id));
    }
    binding->set_held_snapshot(decision.snapshot());
    binding->set_held_snapshot_hash(decision.snapshot_hash());
    const int64_t ttl_sec = decision.has_approval_ttl_sec() && decision.approval_ttl_sec() > 0
                                ? decision.approval_ttl_sec()
                                : options_.default_ttl.count();
    *binding->mutable_held_at() = TimeUtil::MillisecondsToTimestamp(now_ms);
    *binding->mutable_expires_at() = TimeUtil::MillisecondsToTimestamp(now_ms + ttl_sec * 1000);
    to_create.push_back(&record);
    created_for.push_back(i);
  }

  std::vector<Result<uint64_t>> revisions;
  store_->CreateMany(to_create, &revisions);
  for (size_t k = 0; k < created_for.size(); ++k) {
    const size_t i = created_for[k];
    Record& record = records[i];
    Held result;
    if (revisions[k].ok()) {
      record.set_revision(*revisions[k]);
      result.created = true;
      // On the job path: no recount of the store here (it reads every record). The
      // observer counts the hold; the sweep's recount keeps the gauge exact across replicas.
      if (observer_ != nullptr) observer_->OnHeld();
    } else if (revisions[k].status().code() == StatusCode::kAlreadyExists) {
      // A redelivery (or a resubmission under the same job id): the first hold stands.
      auto existing = store_->Get(record.job().tenant_id(), record.job().job_id());
      if (!existing.ok()) {
        (*held)[i] = existing.status();
        continue;
      }
      if (existing->approval().job_digest() != record.approval().job_digest()) {
        spdlog::warn("job '{}' arrived again with different content; the job held first stands",
                     record.job().job_id());
      }
      record = std::move(*existing);
    } else {
      (*held)[i] = revisions[k].status();
      continue;
    }
    result.request_due = record.status() == Record::PENDING;
    result.approval = std::move(record);
    (*held)[i] = std::move(result);
  }
}

ApprovalOutcome ApprovalService::Approve(const v1::ApproveRequest& request,
                                         const Identity& approver) {
  return Resolve(Verb::kApprove, request, approver);
}

ApprovalOutcome ApprovalService::Reject(const v1::ApproveRequest& request,
                                        const Identity& approver) {
  return Resolve(Verb::kReject, request, approver);
}

ApprovalOutcome ApprovalService::Resolve(Verb verb, const v1::ApproveRequest& request,
                                         const Identity& who) {
  if (request.job_id().empty()) {
    return {InvalidArgument("which job? job_id is empty"), "invalid_request", {}};
  }
  auto found = store_->Get(request.tenant_id(), request.job_id());
  if (!found.ok()) return {found.status(), CodeFor(found.status()), {}};
  Record record = std::move(*found);
  const v1::Approval& binding = record.approval();

  if (record.status() != Record::PENDING) {
    std::string message =
        "job '" + request.job_id() + "' was " + Lower(StatusName(record.status()));
    if (!binding.approver().empty()) message += " by " + binding.approver();
    message += " at " + TimeUtil::ToString(binding.resolved_at());
    // No replay: the attempt is refused and recorded like any other refusal.
    return Refuse(record, who, StatusCode::kConflict, "already_resolved", std::move(message));
  }
  if (Now() >= binding.expires_at()) {
    const std::string expired_at = TimeUtil::ToString(binding.expires_at());
    ApprovalOutcome expired = Finish(std::move(record), Record::EXPIRED, "",
                                     "no approver decided before " + expired_at, std::nullopt);
    if (!expired.status.ok()) return expired;
    return {Conflict("the approval of job '" + request.job_id() + "' expired at " + expired_at),
            "expired", std::move(expired.approval)};
  }
  if (verb == Verb::kApprove) {
    // Integrity first: every later check reads the job.
    if (JobDigest(record.job()) != binding.job_digest()) {
      return Refuse(record, who, StatusCode::kConflict, "digest_mismatch",
                    "the held job no longer matches its digest " + binding.job_digest() +
                        "; it was changed after it was held");
    }
    if (!request.job_digest().empty() && request.job_digest() != binding.job_digest()) {
      return Refuse(
          record, who, StatusCode::kConflict, "digest_mismatch",
          "the job held is " + binding.job_digest() + ", not the reviewed " + request.job_digest());
    }
  }
  const std::string& role = record.decision().approver_role();
  if (!role.empty() && !who.HasRoleNamed(role)) {
    return Refuse(
        record, who, StatusCode::kPermissionDenied, "wrong_role",
        "resolving this job needs the role '" + role + "', which " + who.name + " does not hold");
  }
  if (verb == Verb::kReject) {
    return Finish(std::move(record), Record::REJECTED, who.name, request.reason(), std::nullopt);
  }
  if (who.name.empty() || IsActorOf(who.name, record.job())) {
    return Refuse(record, who, StatusCode::kPermissionDenied, "self_approval",
                  who.name + " is the job's agent or owner and cannot approve it");
  }

  // Bound to the snapshot that held the job: if another is enforced now, the job must
  // still pass it.
  std::optional<v1::Decision> reevaluated;
  const std::shared_ptr<const policy::Policy> policy = policy_ ? policy_() : nullptr;
  if (policy == nullptr) {
    return {Unavailable("no policy is enforced; approvals wait for one"), "no_policy",
            std::move(record)};
  }
  if (policy->hash() != binding.held_snapshot_hash()) {
    policy::DecisionStamp stamp{NewDecisionId(), clock_->UnixMillis()};
    auto as_came = JobAsItCame(record);
    if (!as_came.ok()) return {as_came.status(), "unavailable", std::move(record)};
    v1::Decision now = policy->Decide(*as_came, stamp);
    EnforceableDecision(&now);
    if (now.decision() == v1::DENY || now.decision() == v1::TERMINATE) {
      const std::string message = "the job was held under snapshot '" + binding.held_snapshot() +
                                  "'; the enforced '" + now.snapshot() + "' now decides " +
                                  std::string(policy::VerdictName(now.decision())) + ": " +
                                  now.reason();
      return Refuse(record, who, StatusCode::kConflict, "stale_snapshot", message, &now);
    }
    if (now.decision() == v1::REQUIRE_APPROVAL && !now.approver_role().empty() &&
        !who.HasRoleNamed(now.approver_role())) {
      return Refuse(record, who, StatusCode::kPermissionDenied, "wrong_role",
                    "the enforced snapshot '" + now.snapshot() + "' needs the role '" +
                        now.approver_role() + "', which " + who.name + " does not hold",
                    &now);
    }
    reevaluated = std::move(now);
  }
  return Finish(std::move(record), Record::APPROVED, who.name, request.reason(),
                std::move(reevaluated));
}

ApprovalOutcome ApprovalService::Finish(Record record, Record::Status status,
                                        const std::string& approver, const std::string& reason,
                                        std::optional<v1::Decision> released_decision,
                                        bool recount) {
  const uint64_t revision = record.revision();
  const std::string job_id = record.job().job_id();
  record.set_status(status);
  v1::Approval* resolution = record.mutable_approval();
  resolution->set_outcome(StatusName(status));
  resolution->set_approver(approver);
  resolution->set_reason(reason);
  *resolution->mutable_resolved_at() = Now();
  if (released_decision) *record.mutable_released_decision() = std::move(*released_decision);

  auto updated = store_->Update(record, revision);
  if (!updated.ok()) {
    if (updated.status().code() != StatusCode::kConflict) {
      return {updated.status(), CodeFor(updated.status()), std::move(record)};
    }
    // Someone else resolved it first; say who.
    auto now = store_->Get(record.job().tenant_id(), job_id);
    std::string message = "another resolution of job '" + job_id + "' won";
    if (now.ok()) {
      message += ": it is " + Lower(StatusName(now->status()));
      if (!now->approval().approver().empty()) message += " by " + now->approval().approver();
      record = std::move(*now);
    }
    return {Conflict(message), "conflict", std::move(record)};
  }
  record.set_revision(*updated);
  if (observer_ != nullptr) {
    const double wait_seconds = TimeUtil::DurationToMilliseconds(record.approval().resolved_at() -
                                                                 record.approval().held_at()) /
                                1000.0;
    observer_->OnResolved(Lower(StatusName(status)), std::max(0.0, wait_seconds));
  }
  if (Status published = Publish(&record); !published.ok()) {
    // The resolution stands (it is in the store); ReleasePending finishes the publishes.
    spdlog::warn("job '{}' {}; publishing it failed, will retry: {}", job_id,
                 Lower(StatusName(status)), published.ToString());
  }
  if (recount) ReportPending();
  return {Status::Ok(), "", std::move(record)};
}

Result<v1::Job> ApprovalService::JobAsItCame(const Record& record) const {
  if (record.sealed_job().empty()) return record.job();
  if (options_.sealer == nullptr) {
    return Unavailable("job '" + record.job().job_id() + "' was sealed with key " +
                       record.sealed_key_id() + "; this gate has no approval key");
  }
  auto plain = options_.sealer->Open(record.sealed_key_id(), record.sealed_job(),
                                     SealContext(record.job(), record.approval().job_digest()));
  if (!plain.ok()) return plain.status();
  v1::Job job;
  if (!job.ParseFromString(*plain)) return Internal("a sealed job does not parse");
  return job;
}

Status ApprovalService::Publish(Record* record) {
  const bool approved = record->status() == Record::APPROVED;
  // The worker gets the job as it came; a refusal publishes only the record's own job.
  Result<v1::Job> as_came = approved ? JobAsItCame(*record) : Result<v1::Job>(record->job());
  if (!as_came.ok()) return as_came.status();  // left unreleased; the sweep tries again
  const v1::Job& job = *as_came;
  const std::string_view tenant = TenantOf(job);
  const std::string_view rest = subjects::RestOf(record->subject(), options_.prefixes.job);
  const v1::Decision& decision =
      record->has_released_decision() ? record->released_decision() : record->decision();

  v1::DispatchedJob dispatched;
  *dispatched.mutable_job() = approved ? job : Scrubbed(job);
  *dispatched.mutable_decision() = decision;
  *dispatched.mutable_approval() = record->approval();
  OutboundMessage target;
  target.subject =
      subjects::Join(approved ? options_.prefixes.worker : options_.prefixes.denied, rest);
  target.msg_id = MessageId(tenant, job.job_id(), approved ? kReleaseTarget : kDeniedTarget);
  SetDecisionHeaders(decision, &target);
  if (approved) target.headers.emplace_back(kApproverHeader, record->approval().approver());
  target.body = dispatched.SerializeAsString();

  v1::DecisionRecord audit;
  *audit.mutable_decision() = decision;
  audit.set_subject(record->subject());
  audit.set_routed_to(target.subject);
  *audit.mutable_job() = Scrubbed(job);
  audit.mutable_decision()->set_job_hash(JobDigest(audit.job()));
  *audit.mutable_approval() = record->approval();
  OutboundMessage resolution;
  resolution.subject = subjects::Join(options_.prefixes.decisions, rest);
  resolution.msg_id = MessageId(tenant, job.job_id(), kResolutionTarget);
  resolution.body = audit.SerializeAsString();

  // The job first: once it is out, the record of it follows (or ReleasePending repeats
  // both, and the stream drops the duplicate).
  JOBGATE_RETURN_IF_ERROR(publisher_->Publish(target));
  JOBGATE_RETURN_IF_ERROR(publisher_->Publish(resolution));

  Record released = *record;
  released.set_released(true);
  *released.mutable_released_at() = Now();
  auto updated = store_->Update(released, record->revision());
  if (updated.ok()) {
    released.set_revision(*updated);
    *record = std::move(released);
    return Status::Ok();
  }
  if (updated.status().code() == StatusCode::kConflict) {
    // Another replica's ReleasePending marked it meanwhile.
    auto now = store_->Get(tenant, job.job_id());
    if (now.ok() && now->released()) {
      *record = std::move(*now);
      return Status::Ok();
    }
  }
  return updated.status();
}

void ApprovalService::RecordRefusedCall(const v1::ApproveRequest& request, const Status& refusal) {
  if (request.job_id().empty()) return;
  auto found = store_->Get(request.tenant_id(), request.job_id());
  if (!found.ok()) return;  // not held (or the store is down): nothing to attach it to
  const std::string code =
      refusal.code() == StatusCode::kUnauthenticated ? "unauthenticated" : "forbidden";
  (void)Refuse(*found, Identity{}, refusal.code(), code, refusal.message());
}

ApprovalOutcome ApprovalService::Refuse(const Record& record, const Identity& who,
                                        StatusCode status, std::string code, std::string message,
                                        const v1::Decision* reevaluated) {
  v1::DecisionRecord audit;
  *audit.mutable_decision() = reevaluated != nullptr ? *reevaluated : record.decision();
  audit.set_subject(record.subject());
  *audit.mutable_job() = Scrubbed(record.job());
  audit.mutable_decision()->set_job_hash(JobDigest(audit.job()));
  v1::Approval* attempt = audit.mutable_approval();
  *attempt = record.approval();
  attempt->set_outcome("REFUSED");
  attempt->set_approver(who.name);
  attempt->set_reason(message);
  attempt->set_refusal(code);
  *attempt->mutable_resolved_at() = Now();
  OutboundMessage out;
  out.subject = subjects::Join(options_.prefixes.decisions,
                               subjects::RestOf(record.subject(), options_.prefixes.job));
  out.msg_id = MessageId(TenantOf(record.job()), record.job().job_id(),
                         std::string(kRefusalTarget) + NewDecisionId());
  out.body = audit.SerializeAsString();
  if (Status s = publisher_->Publish(out); !s.ok()) {
    spdlog::warn("could not record the refused approval of job '{}' ({}): {}",
                 record.job().job_id(), code, s.ToString());
  }
  if (observer_ != nullptr) observer_->OnRefused(code);
  return {Status(status, std::move(message)), std::move(code), record};
}

ApprovalService::SweepTally ApprovalService::Sweep(const SweepScan& scan, bool expire) {
  SweepTally tally;
  tally.pending = scan.pending;
  for (const std::string& key : scan.due_keys) {
    auto found = store_->GetByKey(key);
    if (!found.ok()) {
      // Gone since the scan (kNotFound) or unreadable now: the next sweep sees again.
      if (found.status().code() != StatusCode::kNotFound) {
        spdlog::warn("sweep: {}", found.status().ToString());
      }
      continue;
    }
    Record& record = *found;
    if (record.status() != Record::PENDING) {
      if (record.released()) continue;  // another replica finished it meanwhile
      if (Status s = Publish(&record); s.ok()) {
        ++tally.released;
      } else if (tally.first_error.ok()) {
        tally.first_error = s;
      }
      continue;
    }
    if (!expire || Now() < record.approval().expires_at()) continue;
    const std::string job_id = record.job().job_id();
    const std::string expired_at = TimeUtil::ToString(record.approval().expires_at());
    ApprovalOutcome out = Finish(std::move(record), Record::EXPIRED, "",
                                 "no approver decided before " + expired_at, std::nullopt,
                                 /*recount=*/false);
    if (out.status.ok()) {
      ++tally.expired;
      --tally.pending;
    } else if (out.status.code() == StatusCode::kConflict) {
      --tally.pending;  // resolved elsewhere meanwhile: not pending any more either
    } else {
      // Still pending in the store; the next sweep retries.
      spdlog::warn("could not expire the approval of job '{}': {}", job_id, out.status.ToString());
    }
  }
  return tally;
}

Result<int> ApprovalService::ExpireDue() {
  // Only what the scan names is read: finish what a resolution left unpublished, expire
  // what is due, and count what stays pending.
  auto scan = store_->ScanForSweep(Now());
  if (!scan.ok()) return scan.status();
  const SweepTally tally = Sweep(*scan, /*expire=*/true);
  if (!tally.first_error.ok()) {
    spdlog::warn("releasing resolved approvals failed: {}", tally.first_error.ToString());
  }
  if (observer_ != nullptr) observer_->OnPendingCount(tally.pending);
  return tally.expired;
}

Result<int> ApprovalService::ReleasePending() {
  // At the epoch nothing pending is due; what the scan names is what awaits release.
  auto scan = store_->ScanForSweep(Timestamp());
  if (!scan.ok()) return scan.status();
  const SweepTally tally = Sweep(*scan, /*expire=*/false);
  if (!tally.first_error.ok()) return tally.first_error;
  return tally.released;
}

Result<v1::ApprovalList> ApprovalService::List(const v1::ListApprovalsRequest& request) {
  if (request.page_size() < 0) return InvalidArgument("page_size cannot be negative");
  ApprovalListQuery query;
  query.include_resolved = request.include_resolved();
  if (request.page_size() > 0) {
    query.page_size =
        std::min(static_cast<size_t>(request.page_size()), ApprovalListQuery::kMaxPageSize);
  }
  if (!request.page_token().empty()) {
    auto after = DecodePageToken(request.page_token());
    if (!after.ok()) return after.status();
    query.after = std::move(*after);
  }
  auto page = store_->List(query);
  if (!page.ok()) return page.status();
  v1::ApprovalList list;
  list.mutable_approvals()->Reserve(static_cast<int>(page->records.size()));
  for (Record& record : page->records) {
    record.clear_sealed_job();  // ciphertext is of no use to a reader
    *list.add_approvals() = std::move(record);
  }
  list.set_pending(page->pending);
  if (page->next.has_value()) list.set_next_page_token(EncodePageToken(*page->next));
  return list;
}

Result<int64_t> ApprovalService::CountPending() {
  auto count = store_->CountPending();
  if (count.ok() && observer_ != nullptr) observer_->OnPendingCount(*count);
  return count;
}

void ApprovalService::ReportPending() {
  if (observer_ == nullptr) return;
  if (auto count = CountPending(); !count.ok()) {
    spdlog::debug("could not count pending approvals: {}", count.status().ToString());
  }
}

}  // namespace jobgate::gate
