#include "policy/analysis/path.h"

#include <vector>

namespace jobgate::policy {

std::string NormalizePath(std::string_view path) {
  if (path.empty()) return {};
  // The root: "/", "~" (home) or "" (relative).
  std::string_view root;
  for (std::string_view home : {"${HOME}", "$HOME", "~"}) {
    if (path.substr(0, home.size()) == home &&
        (path.size() == home.size() || path[home.size()] == '/')) {
      root = "~";
      path.remove_prefix(home.size());
      break;
    }
  }
  if (root.empty() && path.front() == '/') root = "/";

  std::vector<std::string_view> segments;
  size_t leading_dotdots = 0;  // `..` kept above a relative or home root
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view seg = path.substr(i, j - i);
    i = j + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      } else if (root != "/") {
        ++leading_dotdots;
      }
      continue;
    }
    segments.push_back(seg);
  }

  std::string out(root);
  auto add = [&out](std::string_view seg) {
    if (!out.empty() && out.back() != '/') out.push_back('/');
    out.append(seg);
  };
  for (size_t k = 0; k < leading_dotdots; ++k) add("..");
  for (std::string_view seg : segments) add(seg);
  if (out.empty()) return ".";
  return out;
}

}  // namespace jobgate::policy
