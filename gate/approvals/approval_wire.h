// Reading a stored PendingApproval's few fields the sweep index and the list need straight
// from the protobuf wire, skipping the job, the decision and the rest unparsed (a full
// parse costs much more per record; docs/approvals.md). Field numbers are the generated
// ones, so the scan follows the schema. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

// The fields of a PendingApproval the sweep index and the list read from the wire.
struct WireFields {
  v1::PendingApproval::Status status = v1::PendingApproval::STATUS_UNSPECIFIED;
  bool released = false;
  int64_t expires_at_seconds = 0;
  int32_t expires_at_nanos = 0;
  int64_t held_at_seconds = 0;
  int32_t held_at_nanos = 0;
};

// Reads `bytes` (a serialized PendingApproval) into `out`; false when malformed.
bool ReadWireFields(std::string_view bytes, WireFields* out);

// A timestamp's seconds and nanos as Unix milliseconds.
inline int64_t ToMillis(int64_t seconds, int32_t nanos) {
  return seconds * 1000 + nanos / 1000000;
}

}  // namespace jobgate::gate
