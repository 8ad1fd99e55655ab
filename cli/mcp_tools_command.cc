// `jobgate mcp tools list|accept`: the operator's view of the MCP tool store
// (gate/agents/mcp_tool_store.h), straight in its JetStream KV bucket with the operator's own
// NATS credentials (--creds): list what every proxy has seen, and accept a tool whose
// description, input schema or annotations changed, so its calls may run again.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gate/daemon/config.h"
#include "gate/agents/mcp_tool_store.h"
#include "gate/nats/nats_mcp_tools.h"
#include "gate/nats/nats_bus.h"

namespace jobgate::gate {
namespace {

struct ToolsFlags {
  std::string nats;
  std::string creds;
  std::string bucket = kMcpToolsBucket;
  std::string server;
  std::string tool;
  std::string fingerprint;
  std::string by;
  bool json = false;
};

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Utc(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Connects and opens the bucket (never creates it: only proxies do).
Result<std::pair<std::unique_ptr<NatsConnection>, std::unique_ptr<McpToolStore>>> Open(
    ToolsFlags* flags) {
  // stdout is the report: keep the connection's info lines out of it.
  spdlog::set_level(spdlog::level::warn);
  if (flags->nats.empty()) flags->nats = Env("JOBGATE_NATS");
  if (flags->creds.empty()) flags->creds = Env("JOBGATE_NATS_CREDS");
  if (flags->nats.empty()) flags->nats = "nats://127.0.0.1:4222";
  NatsConnectOptions options;
  options.servers = SplitServerList(flags->nats);
  options.name = "jobgate-mcp-tools";
  options.credentials_file = flags->creds;
  options.connect_timeout = std::chrono::milliseconds(5000);
  auto connection = NatsConnection::Connect(options, /*wait=*/true);
  if (!connection.ok()) return connection.status();
  auto store = OpenNatsMcpToolStore(connection->get(), flags->bucket, /*create=*/false,
                                    std::chrono::milliseconds(5000));
  if (!store.ok()) return store.status();
  return std::make_pair(std::move(*connection), std::move(*store));
}

int List(ToolsFlags flags) {
  auto opened = Open(&flags);
  if (!opened.ok()) {
    std::fprintf(stderr, "mcp tools list: %s\n", opened.status().message().c_str());
    return 1;
  }
  auto records = opened->second->List(flags.server);
  if (!records.ok()) {
    std::fprintf(stderr, "mcp tools list: %s\n", records.status().message().c_str());
    return 1;
  }
  if (flags.json) {
    std::string out = "[";
    for (size_t i = 0; i < records->size(); ++i) {
      if (i > 0) out += ",";
      out += McpToolRecordJson((*records)[i]);
    }
    std::printf("%s]\n", out.c_str());
    return 0;
  }
  std::printf("%-20s %-28s %-12s %-13s %-21s %s\n", "SERVER", "TOOL", "CLASS", "FINGERPRINT",
              "FIRST SEEN", "STATE");
  for (const McpToolRecord& r : *records) {
    const std::string state = r.pending_fingerprint.empty()
                                  ? "accepted"
                                  : "CHANGED " + Utc(r.changed_unix_ms) + " to " +
                                        r.pending_fingerprint.substr(0, 12) + " (" +
                                        r.pending_class + "), calls held";
    std::printf("%-20s %-28s %-12s %-13s %-21s %s\n", r.server.c_str(), r.tool.c_str(),
                r.tool_class.c_str(), r.fingerprint.substr(0, 12).c_str(),
                Utc(r.first_seen_unix_ms).c_str(), state.c_str());
  }
  return 0;
}

int Accept(ToolsFlags flags) {
  auto opened = Open(&flags);
  if (!opened.ok()) {
    std::fprintf(stderr, "mcp tools accept: %s\n", opened.status().message().c_str());
    return 1;
  }
  if (flags.by.empty()) flags.by = Env("USER");
  auto record = AcceptTool(*opened->second, flags.server, flags.tool, flags.fingerprint,
                           flags.by.empty() ? "operator" : flags.by, NowMillis());
  if (!record.ok()) {
    std::fprintf(stderr, "mcp tools accept: %s\n", record.status().message().c_str());
    return 1;
  }
  std::printf("accepted tool '%s' of server '%s': fingerprint %s, class %s\n", record->tool.c_str(),
              record->server.c_str(), record->fingerprint.c_str(), record->tool_class.c_str());
  return 0;
}

void CommonFlags(CLI::App* cmd, ToolsFlags* flags) {
  cmd->add_option("--nats", flags->nats,
                  "NATS server URL(s), comma-separated (env JOBGATE_NATS; default "
                  "nats://127.0.0.1:4222)");
  cmd->add_option("--creds", flags->creds, "NATS credentials file (env JOBGATE_NATS_CREDS)");
  cmd->add_option("--bucket", flags->bucket, "The KV bucket of tool records")
      ->capture_default_str();
}

}  // namespace

void AddMcpToolsCommands(CLI::App& app, int* exit_code) {
  auto* mcp = app.add_subcommand("mcp", "MCP gateway administration");
  mcp->require_subcommand(1);
  auto* tools = mcp->add_subcommand(
      "tools", "The fingerprints of MCP servers' tools, as the proxies recorded them");
  tools->require_subcommand(1);

  auto list_flags = std::make_shared<ToolsFlags>();
  auto* list = tools->add_subcommand("list", "Every recorded tool, and which changed");
  CommonFlags(list, list_flags.get());
  list->add_option("--server", list_flags->server, "Only this server's tools");
  list->add_flag("--json", list_flags->json, "One JSON array of the records");
  list->callback([list_flags, exit_code] { *exit_code = List(*list_flags); });

  auto accept_flags = std::make_shared<ToolsFlags>();
  auto* accept = tools->add_subcommand(
      "accept", "Accept a changed tool's new description and schema; its calls run again");
  CommonFlags(accept, accept_flags.get());
  accept->add_option("--server", accept_flags->server, "The server (mcp.server)")->required();
  accept->add_option("--tool", accept_flags->tool, "The tool's exact name")->required();
  accept->add_option("--fingerprint", accept_flags->fingerprint,
                     "Accept only if the pending version is this one (from list --json)");
  accept->add_option("--by", accept_flags->by, "Who accepts (recorded; default $USER)");
  accept->callback([accept_flags, exit_code] { *exit_code = Accept(*accept_flags); });
}

}  // namespace jobgate::gate
