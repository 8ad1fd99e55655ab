#include "gate/nats/nats_version.h"

#include <nats/nats.h>

#include <string>

namespace jobgate::gate {

std::string NatsLibraryVersion() {
  std::string version = NATS_VERSION_STRING;
  const char* runtime = nats_GetVersion();
  if (runtime != nullptr && version != runtime)
    version += std::string(" (runtime ") + runtime + ")";
  return version;
}

}  // namespace jobgate::gate
