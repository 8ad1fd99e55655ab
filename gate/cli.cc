#include "gate/cli.h"

#include <CLI/CLI.hpp>

#include "gate/commands.h"
#include "metrics/metrics.h"

namespace jobgate::gate {

int RunCli(int argc, char** argv) {
  CLI::App app{"jobgate: policy-as-code dispatch gate for AI agent jobs on NATS"};
  app.require_subcommand(1);
  app.set_version_flag("--version", metrics::VersionLine());
  int exit_code = 0;
  AddOfflineCommands(app, &exit_code);
  AddDaemonCommands(app, &exit_code);
  AddOnlineCommands(app, &exit_code);
  AddApprovalCommands(app, &exit_code);
  AddHookCommands(app, &exit_code);
  AddMcpProxyCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace jobgate::gate
