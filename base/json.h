// Minimal JSON output for jobgate's own documents: a streaming writer (keys in the order
// written) and JsonValue, a tree whose objects keep keys sorted, for canonical forms.
// Protobuf messages are printed with protobuf's own JSON printer (subjects/codec.h);
// this is for the documents that are not messages (explanations, reports, the
// canonical policy form). Not thread-safe per instance; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace jobgate {

// Appends `s` as a JSON string literal (quotes included) to `out`. Invalid UTF-8 bytes
// are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string_view s, std::string* out);
std::string JsonQuote(std::string_view s);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past
// U+10FFFF).
bool IsValidUtf8(std::string_view s);

// A JSON value. Objects are std::map, so Dump() writes keys sorted: two equal values
// always dump to the same bytes.
class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  using Object = std::map<std::string, JsonValue>;

  JsonValue() : v_(nullptr) {}
  JsonValue(std::nullptr_t) : v_(nullptr) {}              // NOLINT
  JsonValue(bool b) : v_(b) {}                            // NOLINT
  JsonValue(int64_t i) : v_(i) {}                         // NOLINT
  JsonValue(int i) : v_(static_cast<int64_t>(i)) {}       // NOLINT
  JsonValue(uint32_t i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  JsonValue(double d) : v_(d) {}                          // NOLINT
  JsonValue(std::string s) : v_(std::move(s)) {}          // NOLINT
  JsonValue(std::string_view s) : v_(std::string(s)) {}   // NOLINT
  JsonValue(const char* s) : v_(std::string(s)) {}        // NOLINT
  JsonValue(Array a) : v_(std::move(a)) {}                // NOLINT
  JsonValue(Object o) : v_(std::move(o)) {}               // NOLINT

  static JsonValue MakeArray() { return JsonValue(Array{}); }
  static JsonValue MakeObject() { return JsonValue(Object{}); }

  // Object access; makes this an object if it is null.
  JsonValue& operator[](const std::string& key);
  // Array append; makes this an array if it is null.
  void push_back(JsonValue v);
  // Sorts an array's elements by their dumped form and removes duplicates: for lists
  // whose order carries no meaning.
  void SortUnique();

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }
  bool is_object() const { return std::holds_alternative<Object>(v_); }
  size_t size() const;

  // Compact JSON, or indented by `indent` spaces per level when indent > 0.
  std::string Dump(int indent = 0) const;

 private:
  void DumpTo(std::string* out, int indent, int depth) const;
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> v_;
};

}  // namespace jobgate
