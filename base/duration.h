// Durations as people write them in YAML and on the command line: a whole number with an
// optional unit, `90` (seconds), `30s`, `5m`, `24h`, `7d`, and where milliseconds make
// sense `500ms`. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace jobgate {

// `text` in whole seconds: `90`, `30s`, `5m`, `24h`, `7d`. No `ms`. nullopt when
// malformed, negative or past INT64_MAX.
std::optional<int64_t> ParseDurationSeconds(std::string_view text);

// `text` in milliseconds: the units above and `ms`. nullopt as above.
std::optional<int64_t> ParseDurationMillis(std::string_view text);

}  // namespace jobgate
