// The `jobgate` command line: one binary, one subcommand per verb (shared/CONTRACT.md).
// Each group of verbs registers itself from its own file (commands.h).
#pragma once

namespace jobgate::gate {

// Parses argv, runs the chosen verb, returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace jobgate::gate
