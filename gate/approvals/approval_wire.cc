#include "gate/approvals/approval_wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/timestamp.pb.h>

#include <limits>

namespace jobgate::gate {
namespace {

using Record = v1::PendingApproval;
using google::protobuf::Timestamp;
using google::protobuf::io::CodedInputStream;

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

}  // namespace

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

}  // namespace jobgate::gate
