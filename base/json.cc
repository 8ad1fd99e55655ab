#include "base/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace jobgate {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min_cp;
  uint32_t cp;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    min_cp = 0x80;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    min_cp = 0x800;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    min_cp = 0x10000;
    cp = b0 & 0x07;
  } else
    return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const auto uc = static_cast<unsigned char>(c);
    if (uc >= 0x80) {
      const size_t len = Utf8SequenceLength(s, i);
      if (len == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        out->append(s.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (uc < 0x20 || uc == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", uc);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
    ++i;
  }
  out->push_back('"');
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

JsonValue& JsonValue::operator[](const std::string& key) {
  if (is_null()) v_ = Object{};
  return std::get<Object>(v_)[key];
}

void JsonValue::push_back(JsonValue v) {
  if (is_null()) v_ = Array{};
  std::get<Array>(v_).push_back(std::move(v));
}

size_t JsonValue::size() const {
  if (auto* a = std::get_if<Array>(&v_)) return a->size();
  if (auto* o = std::get_if<Object>(&v_)) return o->size();
  return 0;
}

void JsonValue::SortUnique() {
  auto* a = std::get_if<Array>(&v_);
  if (a == nullptr) return;
  std::vector<std::pair<std::string, JsonValue>> keyed;
  keyed.reserve(a->size());
  for (auto& v : *a) keyed.emplace_back(v.Dump(), std::move(v));
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  keyed.erase(std::unique(keyed.begin(), keyed.end(),
                          [](const auto& x, const auto& y) { return x.first == y.first; }),
              keyed.end());
  a->clear();
  for (auto& [_, v] : keyed) a->push_back(std::move(v));
}

std::string JsonValue::Dump(int indent) const {
  std::string out;
  DumpTo(&out, indent, 0);
  return out;
}

void JsonValue::DumpTo(std::string* out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent <= 0) return;
    out->push_back('\n');
    out->append(static_cast<size_t>(indent * d), ' ');
  };
  if (is_null()) {
    out->append("null");
  } else if (auto* b = std::get_if<bool>(&v_)) {
    out->append(*b ? "true" : "false");
  } else if (auto* i = std::get_if<int64_t>(&v_)) {
    out->append(std::to_string(*i));
  } else if (auto* d = std::get_if<double>(&v_)) {
    if (!std::isfinite(*d)) {
      out->append("null");
    } else {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", *d);
      out->append(buf);
    }
  } else if (auto* s = std::get_if<std::string>(&v_)) {
    AppendJsonString(*s, out);
  } else if (auto* a = std::get_if<Array>(&v_)) {
    out->push_back('[');
    for (size_t k = 0; k < a->size(); ++k) {
      if (k > 0) out->push_back(',');
      newline(depth + 1);
      (*a)[k].DumpTo(out, indent, depth + 1);
    }
    if (!a->empty()) newline(depth);
    out->push_back(']');
  } else if (auto* o = std::get_if<Object>(&v_)) {
    out->push_back('{');
    bool first = true;
    for (const auto& [k, v] : *o) {
      if (!first) out->push_back(',');
      first = false;
      newline(depth + 1);
      AppendJsonString(k, out);
      out->append(indent > 0 ? ": " : ":");
      v.DumpTo(out, indent, depth + 1);
    }
    if (!o->empty()) newline(depth);
    out->push_back('}');
  }
}

}  // namespace jobgate
