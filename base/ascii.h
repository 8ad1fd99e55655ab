// ASCII case folding for protocol and policy text: hosts, keywords, setting names,
// status names. Only the bytes A-Z change; every other byte (UTF-8 included) is kept,
// whatever the process's locale. Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace jobgate {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline void AsciiLowerInPlace(std::string* s) {
  for (char& c : *s) c = AsciiLower(c);
}

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  AsciiLowerInPlace(&out);
  return out;
}

}  // namespace jobgate
