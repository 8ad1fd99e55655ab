#include "gate/core/marker_key.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "policy/analysis/secrets.h"

namespace jobgate::gate {

Result<MarkerKeySource> InstallMarkerKey() {
  const char* inline_key = std::getenv(kMarkerKeyEnv);
  const char* key_file = std::getenv(kMarkerKeyFileEnv);
  const bool has_inline = inline_key != nullptr && *inline_key != '\0';
  const bool has_file = key_file != nullptr && *key_file != '\0';
  if (has_inline && has_file) {
    return InvalidArgument(std::string("set one of ") + kMarkerKeyEnv + " and " +
                           kMarkerKeyFileEnv + ", not both");
  }
  if (!has_inline && !has_file) return MarkerKeySource::kRandom;
  std::string key;
  if (has_inline) {
    key = inline_key;
  } else {
    std::ifstream in(key_file, std::ios::binary);
    if (!in) return InvalidArgument(std::string("cannot read marker key file ") + key_file);
    std::ostringstream content;
    content << in.rdbuf();
    key = content.str();
    if (!key.empty() && key.back() == '\n') key.pop_back();
    if (!key.empty() && key.back() == '\r') key.pop_back();
  }
  if (!policy::SecretScanner::SetMarkerKey(key)) {
    return InvalidArgument(std::string("the marker key (") +
                           (has_inline ? kMarkerKeyEnv : kMarkerKeyFileEnv) +
                           ") must be at least 16 bytes");
  }
  return has_inline ? MarkerKeySource::kEnvironment : MarkerKeySource::kFile;
}

}  // namespace jobgate::gate
