#include "gate/json_text.h"

namespace jobgate::gate {

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += '"';
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        *out += '\\';
        *out += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7f) {
        *out += "\\u00";
        *out += kHex[c >> 4];
        *out += kHex[c & 0xf];
      } else {
        *out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A well-formed sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
    size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    }
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      valid = k == 1 ? (next >= low && next <= high) : (next >= 0x80 && next <= 0xbf);
    }
    if (valid) {
      out->append(text.substr(i, length));
      i += length;
    } else {
      *out += "\xef\xbf\xbd";
      ++i;
    }
  }
  *out += '"';
}

}  // namespace jobgate::gate
