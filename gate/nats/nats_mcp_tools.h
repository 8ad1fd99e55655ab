// The production McpToolStore (gate/agents/mcp_tool_store.h), in a JetStream KV bucket. nats.c
// stays in the .cc.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gate/agents/mcp_tool_store.h"

namespace jobgate::gate {

class NatsConnection;

// The store in JetStream KV `bucket` on `connection` (borrowed: it must outlive the
// store); `create`: make the bucket (file storage, 1 replica)
// when it is missing, as a proxy does; otherwise kNotFound when it is missing (the hook
// only reads). Each call is one request to the server, bounded by `timeout`.
Result<std::unique_ptr<McpToolStore>> OpenNatsMcpToolStore(NatsConnection* connection,
                                                           const std::string& bucket, bool create,
                                                           std::chrono::milliseconds timeout);

}  // namespace jobgate::gate
