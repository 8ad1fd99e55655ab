#include "tests/support/gate_connection.h"

#include <gtest/gtest.h>

namespace jobgate::testing {

std::unique_ptr<gate::NatsConnection> ConnectGate(const NatsServer& server) {
  gate::NatsConnectOptions options;
  options.servers = {server.url()};
  auto connection = gate::NatsConnection::Connect(options, /*wait=*/true);
  EXPECT_TRUE(connection.ok()) << connection.status().ToString();
  return connection.ok() ? std::move(*connection) : nullptr;
}

}  // namespace jobgate::testing
