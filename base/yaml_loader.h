// The one way jobgate reads YAML: policies, test suites, the gate's config and jobs
// written in YAML all go through LoadYaml, which refuses a document over its budget
// before any of it is built into a tree.
//
// yaml-cpp shares the node of an anchor between its aliases, so parsing an alias bomb
// is cheap; walking the tree is not (eight levels of ten aliases is 10^8 nodes). LoadYaml
// therefore first streams the document's events and counts what a walk would visit:
// every node and every scalar byte, with each alias counted at the full size of what it
// names. Only a document within every budget is then loaded. A refusal carries the line
// and column (1-based) of the node that crossed the budget and names the budget.
//
// Pure: no I/O, no threads. Exceptions from yaml-cpp are caught here and never escape.
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "base/yaml_budget.h"

namespace jobgate {

struct YamlError {
  int line = 1;  // 1-based
  int column = 1;
  std::string message;  // "YAML budget: ..." or "invalid YAML: ..."
};

// Parses `text` (one document; an empty text is a null node) into `*root` when it is
// valid YAML within `budget`. Returns false and fills `*error` otherwise.
bool LoadYaml(std::string_view text, const YamlBudget& budget, YAML::Node* root,
              YamlError* error);

}  // namespace jobgate
