// The `jobgate` command line: one binary, one subcommand per verb (README.md).
// Each group of verbs registers itself from its own file (commands.h).
#pragma once

#include <CLI/CLI.hpp>

namespace jobgate::gate {

// Registers every verb, the --version flag and the hidden `completion` verb on `app`.
// Verb callbacks store their exit code in `*exit_code`, which must outlive `app`.
void DefineCli(CLI::App& app, int* exit_code);

// Parses argv, runs the chosen verb, returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace jobgate::gate
