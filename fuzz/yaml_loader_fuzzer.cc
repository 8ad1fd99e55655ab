// Fuzz target: the YAML loader's budgets. Loads arbitrary bytes under a small budget;
// when they load, walks the tree as a consumer would (aliases expanded) and checks that
// the walk visits no more nodes than the budget allows, i.e. that the counter the loader
// runs before building the tree never under-counts. Invariants: LoadYaml never crashes
// or throws; a refusal has a message and a 1-based position; a loaded tree's walk stays
// within max_nodes and max_depth.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "base/yaml_loader.h"

namespace {

using jobgate::YamlBudget;

// Nodes a walk visits below and at `node`, stopping once past `limit`; `depth` is the
// collection nesting so far.
size_t Walk(const YAML::Node& node, size_t depth, size_t limit, size_t* max_depth) {
  size_t visited = 1;
  if (node.IsSequence() || node.IsMap()) *max_depth = std::max(*max_depth, depth + 1);
  if (node.IsSequence()) {
    for (const auto& child : node) {
      visited += Walk(child, depth + 1, limit, max_depth);
      if (visited > limit) return visited;
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      visited += Walk(kv.first, depth + 1, limit, max_depth);
      if (visited > limit) return visited;
      visited += Walk(kv.second, depth + 1, limit, max_depth);
      if (visited > limit) return visited;
    }
  }
  return visited;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  YamlBudget budget;
  budget.max_nodes = 5000;
  budget.max_depth = 32;
  budget.max_aliases = 200;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  YAML::Node root;
  jobgate::YamlError error;
  if (!jobgate::LoadYaml(text, budget, &root, &error)) {
    FUZZ_CHECK(!error.message.empty(), "a refusal without a message");
    FUZZ_CHECK(error.line >= 1 && error.column >= 1, error.message);
    return 0;
  }
  size_t depth = 0;
  const size_t visited = Walk(root, 0, budget.max_nodes, &depth);
  FUZZ_CHECK(visited <= budget.max_nodes, "walked past max_nodes: " + std::string(text));
  FUZZ_CHECK(depth <= budget.max_depth, "nested past max_depth: " + std::string(text));
  return 0;
}
