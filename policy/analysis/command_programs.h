// Per-program knowledge of the command analyzer: the only place that knows particular
// programs' flags. It says which programs take a subcommand, which options take a value,
// how each flag is spelled, which programs are wrappers that run the command after their
// own options, and which are shells.
//
// Internal to policy/analysis (command.cc and its parts). The tables are constant and
// the lookups build their indexes once, thread-safely; safe from any number of threads.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace jobgate::policy::analysis {

struct FlagAlias {
  std::string_view from;
  std::string_view to;
};

struct ProgramSpec {
  std::string_view name;
  bool subcommands = false;       // first non-flag word is the subcommand
  bool split_short = true;        // `-rf` is `-r -f`
  bool single_dash_long = false;  // `--x` means `-x` (terraform)
  // Options that take a value (attached, or in the next word): for programs with
  // subcommands only before the subcommand (`git -C dir push`, `kubectl -n prod delete`).
  // The value is kept in argv, not in args.
  std::string_view value_short;
  std::span<const std::string_view> value_long;
  std::span<const FlagAlias> aliases;
};

// The spec of a program by its basename. A program missing from the table gets the
// defaults: combined short flags split, no aliases, no subcommand.
const ProgramSpec& FindProgram(std::string_view name);

// `flag` in the program's one spelling: `--name=value` is `--name`; a single-dash-long
// program's `--x` is `-x`; aliases map to their target (rm `--recursive` is `-r`).
std::string NormalizeFlagWith(const ProgramSpec& spec, std::string_view flag);

// Wrappers: programs that run the command given after their own options.
struct WrapperSpec {
  std::string_view name;
  std::string_view value_short;  // short options whose value may be the next word
  std::span<const std::string_view> value_long;
  int positionals = 0;       // words after the options that precede the command (timeout DUR)
  bool assignments = false;  // NAME=value words precede the command (env)
};

// The wrapper named `name`, or nullptr when `name` is not one.
const WrapperSpec* FindWrapper(std::string_view name);

// bash, sh, zsh and the other shells that run `-c SCRIPT`.
bool IsShell(std::string_view name);

}  // namespace jobgate::policy::analysis
