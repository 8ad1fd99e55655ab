#include "gate/nats/nats_audit_reader.h"

#include <nats/nats.h>

#include "gate/nats/nats_util.h"
#include "subjects/headers.h"

namespace jobgate::gate {
namespace {

std::string Header(natsMsg* msg, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || value == nullptr) return {};
  return value;
}

}  // namespace

Status ReadAuditRecords(NatsConnection* connection, const AuditReadOptions& options,
                        std::vector<AuditRecordInfo>* records, AuditWindow* window) {
  jsCtx* raw_js = nullptr;
  natsStatus s = natsConnection_JetStream(&raw_js, connection->raw(), nullptr);
  if (s != NATS_OK) return FromNats(s, "JetStream context");
  NatsPtr<jsCtx> js(raw_js);

  auto info = GetStreamInfo(js.get(), options.stream);
  if (!info.ok()) return info.status();
  window->stream = options.stream;
  window->stream_first_seq = (*info)->State.FirstSeq;
  window->stream_last_seq = (*info)->State.LastSeq;
  window->read_first_seq = window->stream_first_seq;
  window->read_last_seq = window->stream_last_seq;
  if ((*info)->State.Msgs == 0) {
    window->read_first_seq = window->read_last_seq + 1;
    return Status::Ok();
  }
  records->reserve(records->size() + (*info)->State.Msgs);

  StreamReadOptions read;
  read.stream = options.stream;
  read.start_sequence = window->stream_first_seq;
  if (options.from_unix_ms > 0) {
    auto start = FirstSequenceAtTime(js.get(), options.stream, window->stream_first_seq,
                                     window->stream_last_seq, options.from_unix_ms * 1'000'000);
    if (!start.ok()) return start.status();
    read.start_sequence = *start;
  }
  read.batch = 2048;
  read.timeout = options.timeout;
  const int64_t to_ns = options.to_unix_ms * 1'000'000;
  bool first = true;
  bool past_window = false;
  uint64_t last_in_window = 0;
  const Status status = ReadStream(
      js.get(), read, window->stream_last_seq, [&](natsMsg* msg, const jsMsgMetaData& meta) {
        if (past_window || (to_ns > 0 && meta.Timestamp > to_ns)) {
          past_window = true;
          return;
        }
        if (first && options.from_unix_ms > 0) window->read_first_seq = meta.Sequence.Stream;
        first = false;
        last_in_window = meta.Sequence.Stream;
        AuditRecordInfo& r = records->emplace_back();
        r.stream_seq = meta.Sequence.Stream;
        r.subject = natsMsg_GetSubject(msg);
        r.chain = Header(msg, subjects::kChainHeader);
        r.seq = Header(msg, subjects::kChainSeqHeader);
        r.prev = Header(msg, subjects::kChainPrevHeader);
        r.placeholder_for = Header(msg, subjects::kChainRefillHeader);
        if (!r.placeholder_for.empty()) r.declared_hash = Header(msg, subjects::kChainHashHeader);
        HashRecord(std::string_view(natsMsg_GetData(msg),
                                    static_cast<size_t>(natsMsg_GetDataLength(msg))),
                   &r);
      });
  if (!status.ok()) return status;
  if (first && options.from_unix_ms > 0) window->read_first_seq = window->stream_last_seq + 1;
  // With --to the stretch ends at its last record; without, at the stream's last
  // sequence, so trailing deletions show.
  if (to_ns > 0) window->read_last_seq = last_in_window;
  return Status::Ok();
}

}  // namespace jobgate::gate
