// Test support: the gate's own NATS connection (gate/nats/nats_bus.h) to a test's
// nats-server, for tests that drive the NATS adapters directly.
// Not thread-safe: one test thread drives it.
#pragma once

#include <memory>

#include "gate/nats/nats_bus.h"
#include "tests/support/nats_server.h"

namespace jobgate::testing {

// Connected to `server` (waiting for the first connection), or null with a test failure
// recorded when it cannot connect.
std::unique_ptr<gate::NatsConnection> ConnectGate(const NatsServer& server);

}  // namespace jobgate::testing
