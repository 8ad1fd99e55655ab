// Fuzz target: the shell command parser and the effects analysis (policy/analysis/command.h,
// policy/analysis/command_effects.h) on arbitrary command lines.
//
// Input: the command line; its first byte also picks the workspace (none, or one of two
// absolute directories). Invariants, checked on every input:
//   * the analysis stays within its bounds (kMaxCommands commands; an opaque result has
//     a reason);
//   * every path effect is classified, and a workspace path lies under the workspace;
//   * the effects are deterministic: analysing the same input twice gives the same
//     number of effects of each kind.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "policy/analysis/command.h"
#include "policy/analysis/command_effects.h"

namespace {

using jobgate::fuzz::FuzzCheckFailed;
using namespace jobgate::policy;

void CheckPaths(const std::vector<PathEffect>& effects, std::string_view workspace,
                const std::string& line) {
  for (const PathEffect& e : effects) {
    if (static_cast<int>(e.place) >= kNumPathPlaces) FuzzCheckFailed("place out of range", line);
    if (e.place == PathPlace::kWorkspace && !workspace.empty() && !e.path.empty() &&
        e.path.front() == '/' && e.path.compare(0, workspace.size(), workspace) != 0) {
      FuzzCheckFailed("workspace path outside the workspace", line + "\n" + e.path);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kWorkspaces[] = {"", "/home/dev/proj", "/w"};
  const std::string_view workspace = kWorkspaces[data[0] % 3];
  const std::string line(reinterpret_cast<const char*>(data) + 1, size - 1);
  const CommandAnalysis a = AnalyzeCommandLine(line);
  if (a.commands.size() > kMaxCommands + 1) FuzzCheckFailed("too many commands", line);
  if (a.opaque && a.opaque_reason.empty()) FuzzCheckFailed("opaque without a reason", line);
  const CommandEffects fx = CommandEffectsOf(a, workspace);
  CheckPaths(fx.reads, workspace, line);
  CheckPaths(fx.writes, workspace, line);
  CheckPaths(fx.deletes, workspace, line);
  const CommandEffects again = CommandEffectsOf(AnalyzeCommandLine(line), workspace);
  if (again.reads.size() != fx.reads.size() || again.writes.size() != fx.writes.size() ||
      again.deletes.size() != fx.deletes.size() ||
      again.inline_code.size() != fx.inline_code.size() || again.hosts.size() != fx.hosts.size()) {
    FuzzCheckFailed("effects are not deterministic", line);
  }
  return 0;
}
