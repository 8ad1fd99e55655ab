#include "gate/nats/nats_deferred.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstdlib>

#include "gate/nats/nats_util.h"
#include "subjects/headers.h"

namespace jobgate::gate {
namespace {

std::string HeaderOf(natsMsg* msg, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || value == nullptr) return {};
  return value;
}

}  // namespace

Result<std::unique_ptr<NatsDeferredStore>> NatsDeferredStore::Open(NatsConnection* connection,
                                                                   std::string stream,
                                                                   std::string prefix) {
  std::unique_ptr<NatsDeferredStore> store(new NatsDeferredStore());
  jsCtx* js = nullptr;
  const natsStatus s = natsConnection_JetStream(&js, connection->raw(), nullptr);
  if (s != NATS_OK) return FromNats(s, "JetStream context");
  store->js_ = js;
  store->stream_ = std::move(stream);
  store->prefix_ = std::move(prefix) + ".";
  return store;
}

NatsDeferredStore::~NatsDeferredStore() { jsCtx_Destroy(js_); }

Result<std::vector<DeferredStore::KeyBacklog>> NatsDeferredStore::Backlog() {
  jsOptions options;
  jsOptions_Init(&options);
  const std::string filter = prefix_ + ">";
  options.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* raw = nullptr;
  jsErrCode js_error = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetStreamInfo(&raw, js_, stream_.c_str(), &options, &js_error);
  if (s != NATS_OK) return FromNats(s, "stream info " + stream_, js_error);
  NatsPtr<jsStreamInfo> info(raw);
  std::vector<KeyBacklog> keys;
  const jsStreamStateSubjects* subjects = info->State.Subjects;
  if (subjects == nullptr) return keys;
  keys.reserve(static_cast<size_t>(subjects->Count));
  for (int i = 0; i < subjects->Count; ++i) {
    const std::string_view subject = subjects->List[i].Subject;
    if (subject.size() <= prefix_.size() || subject.substr(0, prefix_.size()) != prefix_) continue;
    keys.push_back(KeyBacklog{std::string(subject.substr(prefix_.size())), subjects->List[i].Msgs});
  }
  return keys;
}

Result<ParkedJob> NatsDeferredStore::Next(std::string_view key, uint64_t from) {
  const std::string subject = prefix_ + std::string(key);
  jsDirectGetMsgOptions get;
  jsDirectGetMsgOptions_Init(&get);
  get.Sequence = std::max<uint64_t>(1, from);
  get.NextBySubject = subject.c_str();
  natsMsg* raw = nullptr;
  const natsStatus s = js_DirectGetMsg(&raw, js_, stream_.c_str(), nullptr, &get);
  if (s == NATS_NOT_FOUND) return NotFound("no job parked under " + subject);
  if (s != NATS_OK) return FromNats(s, "read " + subject);
  NatsPtr<natsMsg> msg(raw);
  ParkedJob job;
  job.sequence = natsMsg_GetSequence(msg.get());
  if (job.sequence == 0)
    job.sequence = std::strtoull(HeaderOf(msg.get(), "Nats-Sequence").c_str(), nullptr, 10);
  if (job.sequence == 0) return Unavailable("parked job on " + subject + " without a sequence");
  job.arrival_subject = HeaderOf(msg.get(), subjects::kArrivalSubjectHeader);
  job.content_type = HeaderOf(msg.get(), kContentTypeHeader);
  job.msg_id = HeaderOf(msg.get(), subjects::kMsgIdHeader);
  job.sealed_key_id = HeaderOf(msg.get(), subjects::kSealedKeyHeader);
  job.data.assign(natsMsg_GetData(msg.get()),
                  static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
  return job;
}

Result<bool> NatsDeferredStore::Exists(uint64_t sequence) {
  jsDirectGetMsgOptions get;
  jsDirectGetMsgOptions_Init(&get);
  get.Sequence = sequence;
  natsMsg* raw = nullptr;
  const natsStatus s = js_DirectGetMsg(&raw, js_, stream_.c_str(), nullptr, &get);
  if (s == NATS_NOT_FOUND) return false;
  if (s != NATS_OK) return FromNats(s, "read " + stream_ + " #" + std::to_string(sequence));
  NatsPtr<natsMsg> msg(raw);
  return true;
}

Status NatsDeferredStore::Remove(uint64_t sequence) {
  jsErrCode js_error = static_cast<jsErrCode>(0);
  const natsStatus s = js_DeleteMsg(js_, stream_.c_str(), sequence, nullptr, &js_error);
  if (s == NATS_OK) return Status::Ok();
  Status failed = FromNats(s, "remove " + stream_ + " #" + std::to_string(sequence), js_error);
  // The server answers a delete of a message already gone with a deletion failure; ask
  // whether it is gone rather than trust the code.
  auto exists = Exists(sequence);
  if (exists.ok() && !*exists) return Status::Ok();
  return failed;
}

}  // namespace jobgate::gate
