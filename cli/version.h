// What `jobgate --version` prints. Pure string building; no I/O.
//
// VersionText() is two lines without a trailing newline:
//   jobgate 0.1.0 (commit 0123456789ab, RelWithDebInfo)
//   built with nats.c 3.4.1, protobuf 3.21.12
// The first line is metrics::VersionLine(). The second names the nats.c and protobuf
// versions whose headers this binary was compiled against; when the nats.c library
// loaded at run time reports another version, it is added as "(runtime X)".
#pragma once

#include <string>

#include "gate/nats/nats_version.h"

namespace jobgate::gate {

// The protobuf version of the headers compiled in (GOOGLE_PROTOBUF_VERSION), as x.y.z.
std::string ProtobufLibraryVersion();

std::string VersionText();

}  // namespace jobgate::gate
