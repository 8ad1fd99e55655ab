// Glob patterns, translated to RE2 so matching is linear in the input (no pattern or
// value can make it backtrack). Syntax (docs/policy.md):
//   *      any run of characters except '/'
//   **     any run of characters, '/' included
//   ?      one character except '/'
//   [abc]  [a-z]  [!abc]  a character class
//   {a,b}  alternation (no nesting)
//   \x     the character x literally
// A glob matches the whole value. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace jobgate::policy {

// The RE2 regex (anchored, whole value) equivalent to `glob`, or an error in `*error`.
std::string GlobToRegex(std::string_view glob, std::string* error);

}  // namespace jobgate::policy
