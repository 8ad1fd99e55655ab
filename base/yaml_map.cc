#include "base/yaml_map.h"

#include <algorithm>
#include <set>

namespace jobgate {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& known) {
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (std::string_view k : known) {
    const size_t d = EditDistance(word, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  if (best.empty()) return {};
  return "; did you mean '" + std::string(best) + "'?";
}

std::string JoinWords(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += ", ";
    out += words[i];
  }
  return out;
}

bool CheckYamlMap(const YAML::Node& node, std::string_view what,
                  const std::vector<std::string_view>& known, const YamlFault& fault) {
  if (!node.IsMap()) {
    fault(node, std::string(what) + " must be a mapping");
    return false;
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      fault(kv.first, "keys of " + std::string(what) + " must be plain words");
      continue;
    }
    const std::string& key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      fault(kv.first, "duplicate key '" + key + "' in " + std::string(what));
    }
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
      std::string hint = DidYouMean(key, known);
      if (hint.empty()) hint = " (known: " + JoinWords(known) + ")";
      fault(kv.first, "unknown key '" + key + "' in " + std::string(what) + hint);
    }
  }
  return true;
}

}  // namespace jobgate
