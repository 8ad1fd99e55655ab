// The nats.c half of gate/version.h: the only part of --version that includes nats.c.
#include <nats/nats.h>

#include <string>

#include "gate/version.h"

namespace jobgate::gate {

std::string NatsLibraryVersion() {
  std::string version = NATS_VERSION_STRING;
  const char* runtime = nats_GetVersion();
  if (runtime != nullptr && version != runtime)
    version += std::string(" (runtime ") + runtime + ")";
  return version;
}

}  // namespace jobgate::gate
