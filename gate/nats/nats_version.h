// The nats.c version jobgate was built against, for `jobgate --version` (cli/version.h).
// Pure; thread-safe.
#pragma once

#include <string>

namespace jobgate::gate {

// The nats.c version of the headers compiled in (NATS_VERSION_STRING), plus
// " (runtime X)" when the loaded library says X differs.
std::string NatsLibraryVersion();

}  // namespace jobgate::gate
