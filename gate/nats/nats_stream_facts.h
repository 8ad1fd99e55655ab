// What the server holds for one stream, for the gate's start-up checks (an existing
// stream is left as the operator configured it; the gate says when that differs from
// what it would create), and the removal of acked jobs a work queue kept.
//
// Ownership: borrows the connection for the call. Thread-safety: none needed.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "gate/nats/nats_bus.h"

namespace jobgate::gate {

struct StreamFacts {
  StreamSpec::Retention retention = StreamSpec::Retention::kLimits;
  uint64_t messages = 0;
};

// kNotFound when there is no such stream.
Result<StreamFacts> ReadStreamFacts(NatsConnection* connection, const std::string& stream);

// For a work-queue `stream` consumed by `durable` alone: removes the messages the consumer
// has acked that are still stored (those at or below its ack floor). The server removes
// a job when it is acked, but one that stops abruptly (SIGKILL) can come back with acked
// jobs still stored, which no consumer would deliver again: they would stay, raw, until
// max_age. Returns the sequence below which it purged, or 0 when there was nothing to
// do (or the stream is not a work queue). Needs $JS.API.STREAM.PURGE.<stream>.
Result<uint64_t> PurgeAckedJobs(NatsConnection* connection, const std::string& stream,
                                const std::string& durable);

}  // namespace jobgate::gate
