// What a command line does: the effects of each analysed simple command.
//
// CommandEffectsOf() takes the analysis of a command line (policy/analysis/command.h) and the
// job's workspace, and reports for the whole line:
//   * paths read, written and deleted (deletes with a recursive flag), each classified
//     against the workspace boundary (PathPlace below);
//   * inline code handed to an interpreter (`python -c`, `node -e`, `perl -e`, `ruby -e`,
//     `php -r`, `deno eval`, `awk`/`sed` programs, here-documents fed to an interpreter),
//     each classified inert / touches / dangerous;
//   * network hosts contacted, and whether data is sent to them;
//   * resources of cloud, infrastructure and database CLIs deleted (any verb among
//     delete/destroy/remove/rm/rb/terminate/purge/drop and their compounds).
// The effects come from a per-program table in command_effects.cc. A program missing
// from it has no known effects, but its non-flag arguments that look like paths are
// still reported as reads, so path rules see them.
//
// The workspace: `workspace` is an absolute directory (the job's args.workspace, or else
// its args.cwd) or empty; `start` is where the line starts (args.cwd) when that differs.
// Relative paths resolve against it lexically (`cd DIR` earlier in the line moves the
// base; `git -C DIR` and `make -C DIR` for that command). With no workspace, relative
// paths stay relative and count as inside it unless they climb out with `..`.
//
// Contract: pure function; no I/O; thread-safe; never throws except std::bad_alloc;
// linear in the size of the analysis. Over-approximates: when unsure whether an
// argument is a path, it is one; when a target is computed at run time it is kUnknown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/analysis/command.h"

namespace jobgate::policy {

// Where a path lies relative to the workspace boundary, from most to least benign.
enum class PathPlace : uint8_t {
  kWorkspace = 0,  // inside the workspace (the workspace root itself included)
  kTemp,           // /tmp, /var/tmp, /dev/null and the standard streams
  kOutside,        // elsewhere, in no directory below
  kHome,           // ~, ~user, /home/*, /root, /Users/*, and what is under them
  kData,           // /srv, /opt, /var/lib, /var/backups, /var/www, /data, /mnt, /media, ...
  kSystem,         // /, /etc, /usr, /bin, /boot, /dev, /proc, /sys, /var, /lib, ...
  kAncestor,       // a directory that contains the workspace (`..`, `/home/u` for ~/proj)
  kUnknown,        // computed at run time ($X, $(..), xargs input from a pipe)
};
inline constexpr int kNumPathPlaces = 8;

// "workspace", "temp", "outside", "home", "data", "system", "ancestor", "unknown".
std::string_view PathPlaceName(PathPlace place);
// The place named `name`; false if none.
bool ParsePathPlace(std::string_view name, PathPlace* out);

struct PathEffect {
  std::string path;  // normalized (policy/analysis/path.h); absolute when the workspace is known
  // For kWorkspace paths with a known workspace: the path relative to it ("." for the
  // root), so that one glob fits both forms. Empty otherwise.
  std::string relative;
  PathPlace place = PathPlace::kUnknown;
  bool recursive = false;  // deletes and writes: a whole tree (rm -r, chmod -R, rsync --delete)
  std::string program;     // the command that has the effect ("rm"; ":" for a redirection)
};

enum class CodeClass : uint8_t {
  kInert = 0,  // prints, computes, reports versions
  kTouches,    // can touch files, processes or the network; or its text is not known
  kDangerous,  // names a secret path or a deletion API (strings included)
};
std::string_view CodeClassName(CodeClass c);  // "inert", "touches", "dangerous"
bool ParseCodeClass(std::string_view name, CodeClass* out);

struct InlineCode {
  std::string program;  // "python3"
  std::string code;     // the text; empty when not known (code read from a pipe)
  bool known = true;
  CodeClass cls = CodeClass::kTouches;
};

struct HostEffect {
  std::string host;  // lower-case
  bool sends_data = false;  // uploads, posts, or feeds input to the connection
  std::string program;
};

struct ResourceEffect {
  std::string program;  // "aws"
  std::string verb;     // the delete verb found ("delete-bucket", "rb", "destroy")
  std::string target;   // the first non-flag word after the verb, if any
};

struct CommandEffects {
  std::vector<PathEffect> reads;
  std::vector<PathEffect> writes;
  std::vector<PathEffect> deletes;
  std::vector<InlineCode> inline_code;
  std::vector<HostEffect> hosts;
  std::vector<ResourceEffect> deleted_resources;
};

// `start` is the directory the line starts in (absolute; empty: the workspace root), for
// a workspace root configured apart from the job's current directory.
CommandEffects CommandEffectsOf(const CommandAnalysis& analysis, std::string_view workspace,
                                std::string_view start = {});

// Classifies one piece of inline code for `program` (an interpreter, awk or sed).
CodeClass ClassifyInlineCode(std::string_view program, std::string_view code);

// The place of a normalized path (NormalizePath) for `workspace` (absolute or empty).
PathPlace ClassifyPath(std::string_view normalized, std::string_view workspace);

}  // namespace jobgate::policy
