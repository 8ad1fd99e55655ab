// Placeholder until the daemon lands: registers nothing.
#include "gate/commands.h"

namespace jobgate::gate {

void AddDaemonCommands(CLI::App& app, int* exit_code) {}

}  // namespace jobgate::gate
