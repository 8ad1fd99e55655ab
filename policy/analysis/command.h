// Shell command analysis: what simple commands would a command line run?
//
// Policy rules about shell commands must hold against the usual bypasses: `rm -r -f`,
// `rm --recursive --force`, `/bin/rm`, `sudo rm`, `bash -c '...'`, `xargs`, `find -exec`,
// quoting tricks (`r''m`, `\rm`, `"rm"`). AnalyzeCommandLine() parses a bash-like command
// line the way a shell would split it, unwraps the wrappers that run another command,
// and reports each command that would run with its flags normalized. What cannot be
// known without running the line (`eval`, `source` of anything but shell or virtualenv
// setup such as `~/.bashrc` or `venv/bin/activate`, a shell reading its script from a
// pipe, `$(...)` as the program name, unbalanced quotes, ...) marks the analysis *opaque*,
// with a reason, so policy can hold or deny it rather than guess.
//
// Contract:
//   * Pure functions; no I/O, no globals that change; safe from any number of threads.
//   * Never throws except std::bad_alloc. Bounded on hostile input: time and memory are
//     linear in the input times kMaxDepth; recursion depth is bounded by kMaxDepth;
//     input over kMaxInputBytes, or more than kMaxCommands commands, is opaque.
//   * The analysis is an over-approximation of what runs, never an execution: it does
//     not expand variables, globs or aliases. Words that contain an expansion keep their
//     source text (`$HOME`, `${HOME}`, `$(pwd)`) so that rules can still see them.
//
// Normalization of each simple command:
//   * program: the basename of the first word (`/usr/bin/rm` -> `rm`).
//   * wrappers are unwrapped and the wrapped command reported too: sudo, doas, env,
//     timeout, nice, nohup, command, exec, time, builtin, stdbuf, ionice, setsid, chroot,
//     busybox, xargs, `bash|sh|zsh|dash|ksh|ash -c SCRIPT` (parsed recursively), and
//     `find ... -exec|-execdir|-ok|-okdir CMD ... ;|+`. The wrapper itself is reported as
//     a command as well (so rules can match `sudo`).
//   * flags: combined short flags split (`-rf` = `-r -f`) unless the program takes
//     single-dash long options (find, terraform, java, ...); `--name=value` keeps
//     `--name` as the flag and adds `value` to args; per-program aliases map to one
//     spelling (rm `--recursive`/`-R` -> `-r`, `--force` -> `-f`; see kPrograms in
//     command_programs.cc). `git push` with a `+refspec` gets the flag `-f`.
//   * subcommand: for programs with subcommands (git, kubectl, terraform, docker, npm,
//     helm, aws, gcloud, ...), the first non-flag word, skipping the values of the
//     global options that take one (`git -C dir push` -> `push`).
//   * `find`'s `{}` and the items `xargs` reads are replaced by what can be known of
//     them: find's start paths (or `root/NAME`, `root/*` when tests such as -name or
//     -type filter them), or the words of an `echo`/`printf` piped into xargs. `find`'s
//     own args are those same paths, so `find / -delete` has the arg `/`.
//   * redirections are kept per command (`< f` reads f, `> f` / `>> f` write it); a line
//     of redirections alone (`> f`) is reported as the no-op command `:`.
//   * literal assignments earlier in the line are followed: after `p=rm; d=/srv`, the
//     words `$p` and `${d}/x` are `rm` and `/srv/x` (so is `~` after `HOME=/srv`);
//     `alias n='rm -rf'` makes `n` run `rm -rf`. Words whose variables are not all
//     known keep their source text.
//   * commands hidden in configuration are analysed too: `git -c alias.X=...` and
//     `git config alias.X ...` (a `!` alias is a shell script, any other expands to
//     `git VALUE ARGS`), git's command-valued settings (core.sshCommand, core.pager,
//     core.editor, core.fsmonitor, diff.external, ...), GIT_SSH_COMMAND and the other
//     command-valued environment variables, and the command options of tar, rsync,
//     ssh, scp, zip and vim. `core.hooksPath` makes the line opaque.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace jobgate::policy {

// A redirection of a command: `< f` reads f; `>`, `>|`, `>>`, `&>`, `&>>`, `<>` write
// it. Here-documents, here-strings and descriptor duplications (`2>&1`) are not files.
struct Redirection {
  bool writes = false;   // else reads
  bool dynamic = false;  // the target contains an expansion ($X, $(..))
  std::string target;    // after quote removal; unexpanded parts keep their source text
};

struct SimpleCommand {
  std::string program;     // basename of the program ("rm", "git")
  std::string subcommand;  // "push" for `git push`; "" when the program has none
  // Normalized flags, sorted and de-duplicated ("-f", "-r", "--force-with-lease").
  std::vector<std::string> flags;
  // Non-flag arguments in order (the subcommand excluded), as the shell would pass them
  // after quote removal; unexpanded words keep their source text ("$HOME").
  std::vector<std::string> args;
  // The words as the program receives them (program basename first, flags unsplit),
  // for analyses that need option values (SQL in `psql -c`).
  std::vector<std::string> argv;
  // Text known to arrive on standard input: a here-string, a here-document, or the
  // words of an `echo`/`printf` piped into this command. Empty when unknown or none.
  std::string stdin_text;
  // True when standard input is piped or redirected and its text is not known.
  bool stdin_unknown = false;
  std::vector<Redirection> redirects;
};

struct CommandAnalysis {
  std::vector<SimpleCommand> commands;
  bool opaque = false;
  std::string opaque_reason;  // first reason found, e.g. "eval runs a computed string"
};

inline constexpr size_t kMaxInputBytes = 64 * 1024;
inline constexpr int kMaxDepth = 8;  // nesting of $( ), `bash -c`, wrappers, ...
inline constexpr size_t kMaxCommands = 512;

// Parses a bash-like command line.
CommandAnalysis AnalyzeCommandLine(std::string_view line);

// Analyzes an argv that is executed directly (no shell parsing of the words): only the
// wrappers are unwrapped (a `bash -c SCRIPT` inside is still parsed as shell).
CommandAnalysis AnalyzeArgv(const std::vector<std::string>& argv);

// The network hosts `cmd` would contact, lower-case: the host of every URL argument
// (`https://host/...`), the destination of ssh/scp/sftp/rsync (`user@host:path`), the
// first argument of nc/ncat/netcat/telnet. Empty for other commands.
std::vector<std::string> CommandHosts(const SimpleCommand& cmd);

// The host of a URL (`scheme://[user@]host[:port][/...]`), lower-case; "" if none.
std::string UrlHost(std::string_view url);

// True when the analysis splits `program`'s combined short flags (`-rf` -> `-r -f`).
bool SplitsShortFlags(std::string_view program);

// The normalized spelling of `flag` for `program` ("--recursive" -> "-r" for rm).
// Combined short flags are not split here; long flags lose any "=value".
std::string NormalizeFlag(std::string_view program, std::string_view flag);

}  // namespace jobgate::policy
