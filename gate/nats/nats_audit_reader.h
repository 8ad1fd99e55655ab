// Reads a stretch of the AUDIT stream for the chain verifier (gate/audit/audit_verify.h),
// through an ordered, ack-less pull consumer (gate/nats/nats_util.h ReadStream): each record's
// stream sequence, subject and chain headers, and its RecordHash computed from the body,
// which is not kept.
//
// Ownership: borrows the connection for the call. Thread-safety: none needed (a call
// owns its state).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gate/audit/audit_verify.h"
#include "gate/nats/nats_bus.h"
#include "base/status.h"

namespace jobgate::gate {

struct AuditReadOptions {
  std::string stream = "AUDIT";
  int64_t from_unix_ms = 0;  // 0: from the stream's first record
  int64_t to_unix_ms = 0;    // 0: through its last
  std::chrono::milliseconds timeout{120'000};
};

// Appends the records to `records` and describes the stretch in `window`. kNotFound when
// there is no such stream.
Status ReadAuditRecords(NatsConnection* connection, const AuditReadOptions& options,
                        std::vector<AuditRecordInfo>* records, AuditWindow* window);

}  // namespace jobgate::gate
