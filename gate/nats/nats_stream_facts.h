// What the server holds for one stream, for the gate's start-up checks (an existing
// stream is left as the operator configured it; the gate says when that differs from
// what it would create).
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

}  // namespace jobgate::gate
