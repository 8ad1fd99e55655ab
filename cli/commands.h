// Registration of the CLI's verb groups. Each Add* function adds its subcommands to
// `app`; the callback it installs stores the verb's exit code in `*exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace jobgate::gate {

// check, eval, test, simulate: offline verbs, no running gate needed (offline_commands.cc).
void AddOfflineCommands(CLI::App& app, int* exit_code);

// run, submit, demo: the daemon and the verbs that talk to it over NATS (run_command.cc).
void AddDaemonCommands(CLI::App& app, int* exit_code);

// policy publish|rollback|list|show|simulate|shadow: verbs that talk to a running gate's
// HTTP API (online_commands.cc).
void AddOnlineCommands(CLI::App& app, int* exit_code);

// policy verify: checks a snapshot's signature without a gate (snapshot_verify_command.cc).
void AddPolicyVerifyCommand(CLI::App* policy, int* exit_code);

// audit verify: walks the AUDIT stream's hash chains (audit_verify_command.cc).
void AddAuditCommands(CLI::App& app, int* exit_code);

// approvals list|approve|reject, over the HTTP API too (approval_commands.cc).
void AddApprovalCommands(CLI::App& app, int* exit_code);

// sessions list|show|terminate|restore, over the HTTP API (session_commands.cc).
void AddSessionCommands(CLI::App& app, int* exit_code);

// hook claude-code: agent-platform hooks that ask a running gate over NATS
// (hook_command.cc).
void AddHookCommands(CLI::App& app, int* exit_code);

// mcp-proxy: an MCP gateway for stdio servers that asks a running gate over NATS before
// every tools/call (mcp_proxy_command.cc).
void AddMcpProxyCommand(CLI::App& app, int* exit_code);

// mcp tools list|accept: the MCP tool store in NATS KV (mcp_tools_command.cc).
void AddMcpToolsCommands(CLI::App& app, int* exit_code);

}  // namespace jobgate::gate
