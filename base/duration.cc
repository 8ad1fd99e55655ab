#include "base/duration.h"

#include <charconv>
#include <climits>
#include <system_error>

namespace jobgate {
namespace {

// `text` as a count of `base` units: a bare number counts seconds, each suffix its unit.
// `base_per_second` is how many base units make a second (1 or 1000).
std::optional<int64_t> ParseDuration(std::string_view text, int64_t base_per_second,
                                     bool allow_millis) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || value < 0) return std::nullopt;
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  int64_t scale = 0;
  if (allow_millis && unit == "ms")
    scale = 1;
  else if (unit.empty() || unit == "s")
    scale = base_per_second;
  else if (unit == "m")
    scale = 60 * base_per_second;
  else if (unit == "h")
    scale = 3600 * base_per_second;
  else if (unit == "d")
    scale = 86400 * base_per_second;
  else
    return std::nullopt;
  if (value > INT64_MAX / scale) return std::nullopt;
  return value * scale;
}

}  // namespace

std::optional<int64_t> ParseDurationSeconds(std::string_view text) {
  return ParseDuration(text, 1, false);
}

std::optional<int64_t> ParseDurationMillis(std::string_view text) {
  return ParseDuration(text, 1000, true);
}

}  // namespace jobgate
