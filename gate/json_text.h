// Writing JSON text by hand: string literals that are always valid JSON, whatever the
// bytes. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace jobgate::gate {

// Appends `text` as a JSON string literal to `*out`: '"' and '\\' escaped, control bytes
// and DEL as \u00XX, well-formed UTF-8 (RFC 3629) kept, any other byte as U+FFFD.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace jobgate::gate
