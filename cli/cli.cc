#include "cli/cli.h"

#include <string_view>

#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/version.h"

namespace jobgate::gate {

void DefineCli(CLI::App& app, int* exit_code) {
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionText());
  AddOfflineCommands(app, exit_code);
  AddDaemonCommands(app, exit_code);
  AddOnlineCommands(app, exit_code);
  AddApprovalCommands(app, exit_code);
  AddAuditCommands(app, exit_code);
  AddSessionCommands(app, exit_code);
  AddHookCommands(app, exit_code);
  AddMcpProxyCommand(app, exit_code);
  AddMcpToolsCommands(app, exit_code);
  AddCompletionCommand(app, exit_code);  // last: it describes the tree as defined above
}

int RunCli(int argc, char** argv) {
  CLI::App app{"jobgate: policy-as-code dispatch gate for AI agent jobs on NATS"};
  int exit_code = 0;
  if (argc > 1 && std::string_view(argv[1]) == "hook") {
    // An agent's hook starts a process per tool call: it defines only the verbs it runs
    // rather than every verb's options.
    app.require_subcommand(1);
    app.set_version_flag("--version", VersionText());
    AddHookCommands(app, &exit_code);
  } else {
    DefineCli(app, &exit_code);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace jobgate::gate
