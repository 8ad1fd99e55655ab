#include "cli/version.h"

#include <google/protobuf/stubs/common.h>

#include "metrics/metrics.h"

namespace jobgate::gate {

std::string ProtobufLibraryVersion() {
  return google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION);
}

std::string VersionText() {
  return metrics::VersionLine() + "\nbuilt with nats.c " + NatsLibraryVersion() + ", protobuf " +
         ProtobufLibraryVersion();
}

}  // namespace jobgate::gate
