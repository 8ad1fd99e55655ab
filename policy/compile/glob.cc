#include "policy/compile/glob.h"

namespace jobgate::policy {
namespace {

void AppendLiteral(char c, std::string* out) {
  static constexpr std::string_view kSpecial = "\\.^$|()[]{}*+?";
  if (kSpecial.find(c) != std::string_view::npos) out->push_back('\\');
  out->push_back(c);
}

// Appends the regex for the `*`, `**` or `**/` that starts at glob[*i], and leaves *i on
// its last character.
void AppendStars(std::string_view glob, size_t* i, std::string* out) {
  if (*i + 1 < glob.size() && glob[*i + 1] == '*') {
    ++*i;
    // `**/` also matches zero directories: `a/**/b` matches `a/b`.
    if (*i + 1 < glob.size() && glob[*i + 1] == '/') {
      ++*i;
      *out += "(?:.*/)?";
    } else {
      *out += ".*";
    }
  } else {
    *out += "[^/]*";
  }
}

// Appends the character class opened by the '[' at glob[open] and returns the index of
// its ']', or npos when there is none. A leading '!' or '^' negates. The class's first
// member may be ']' (`[]x]`, `[!]x]` hold ']'), so its ']' is the first after that
// member. '\', '[' and ']' inside are literal.
size_t AppendBracket(std::string_view glob, size_t open, std::string* out) {
  size_t j = open + 1;
  const bool negated = j < glob.size() && (glob[j] == '!' || glob[j] == '^');
  if (negated) ++j;
  const size_t close = glob.find(']', j + 1);
  if (close == std::string_view::npos) return close;
  out->push_back('[');
  if (negated) out->push_back('^');
  for (; j < close; ++j) {
    if (glob[j] == '\\' || glob[j] == '[' || glob[j] == ']') out->push_back('\\');
    out->push_back(glob[j]);
  }
  out->push_back(']');
  return close;
}

}  // namespace

std::string GlobToRegex(std::string_view glob, std::string* error) {
  std::string out = "^(?s:";
  bool in_braces = false;
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    switch (c) {
      case '*':
        AppendStars(glob, &i, &out);
        break;
      case '?':
        out += "[^/]";
        break;
      case '[': {
        const size_t close = AppendBracket(glob, i, &out);
        if (close == std::string_view::npos) {
          *error = "unclosed '[' in glob '" + std::string(glob) + "'";
          return {};
        }
        i = close;
        break;
      }
      case '{':
        if (in_braces) {
          *error = "nested '{' in glob '" + std::string(glob) + "'";
          return {};
        }
        in_braces = true;
        out += "(?:";
        break;
      case '}':
        if (!in_braces) {
          AppendLiteral(c, &out);
        } else {
          in_braces = false;
          out.push_back(')');
        }
        break;
      case ',':
        if (in_braces) {
          out.push_back('|');
        } else {
          AppendLiteral(c, &out);
        }
        break;
      case '\\':
        if (i + 1 == glob.size()) {
          *error = "trailing '\\' in glob '" + std::string(glob) + "'";
          return {};
        }
        AppendLiteral(glob[++i], &out);
        break;
      default:
        AppendLiteral(c, &out);
    }
  }
  if (in_braces) {
    *error = "unclosed '{' in glob '" + std::string(glob) + "'";
    return {};
  }
  out += ")$";
  return out;
}

}  // namespace jobgate::policy
