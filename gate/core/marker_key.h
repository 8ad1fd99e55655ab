// The key redaction markers are computed with (policy::SecretScanner::SetMarkerKey).
//
// Read at start-up from the environment: JOBGATE_MARKER_KEY (the key itself) or
// JOBGATE_MARKER_KEY_FILE (a file holding it; one trailing newline is dropped). At least
// 16 bytes. Every replica of a deployment must use the same key, so that one secret gets
// one marker across all of them. Setting both, an unreadable file or a short key is a
// configuration error. Neither set: the gate uses a random key of its process (markers
// then correlate within one process only) and says so in its log.
#pragma once

#include <string>

#include "base/status.h"

namespace jobgate::gate {

inline constexpr char kMarkerKeyEnv[] = "JOBGATE_MARKER_KEY";
inline constexpr char kMarkerKeyFileEnv[] = "JOBGATE_MARKER_KEY_FILE";

// Where the key came from.
enum class MarkerKeySource { kEnvironment, kFile, kRandom };

// Loads the key as described above and installs it. Never logs the key.
Result<MarkerKeySource> InstallMarkerKey();

}  // namespace jobgate::gate
