// What reading one YAML document may cost: the budgets base/yaml_loader.h enforces.
// A plain value type, kept apart from the loader so that headers which carry a budget
// (CompileOptions, the gate's config) do not include yaml-cpp.
#pragma once

#include <cstddef>

namespace jobgate {

// Budgets for one YAML document. The defaults hold the largest real policies (a
// 10,000-rule policy is far within them) and refuse hostile ones in milliseconds.
struct YamlBudget {
  size_t max_document_bytes = 16u << 20;  // the text as given
  size_t max_depth = 64;                  // nested mappings and sequences
  size_t max_nodes = 2'000'000;          // nodes visited by a walk, aliases expanded
  size_t max_scalar_bytes = 1u << 20;     // one scalar (a string) as written
  size_t max_expanded_bytes = 32u << 20;  // scalar bytes visited by a walk, aliases expanded
  size_t max_aliases = 10'000;            // alias references (`*name`) as written
  bool allow_aliases = true;              // false: any alias is refused

  // The defaults, for callers that do not configure them.
  static const YamlBudget& Default();
};

}  // namespace jobgate
