// Shell completion scripts generated from the CLI11 definition itself, so they list
// exactly the verbs and options the binary parses and never drift from it.
//
// Contract:
// - The scripts complete every visible subcommand at every depth (`policy publish`,
//   `hook claude-code`) and every visible option of the command being typed; hidden
//   subcommands and options (empty CLI11 group) are left out. After an option that takes
//   a value, and where a command has no subcommands left, they fall back to file names.
// - Names are emitted only when they are plain words ([A-Za-z0-9_-], not starting with
//   '-'); anything else is left out rather than quoted into shell code. Descriptions
//   (zsh only) are single-quoted with quotes escaped, newlines folded to spaces.
// - BashCompletion registers `complete -F _<program> <program>`; ZshCompletion is a
//   #compdef file that works autoloaded from $fpath and when sourced.
// - Pure: string building, no I/O.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace jobgate::gate {

std::string BashCompletion(const CLI::App& app, const std::string& program);
std::string ZshCompletion(const CLI::App& app, const std::string& program);

// The hidden verb `completion bash|zsh`: prints the script for the root of `app` (its
// tree as it is when the verb runs) to stdout. Exit code 0, or 2 for another shell.
void AddCompletionCommand(CLI::App& app, int* exit_code);

}  // namespace jobgate::gate
