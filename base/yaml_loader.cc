#include "base/yaml_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace jobgate {
namespace {

// Thrown by the counting handler to stop the parse at the node over budget; caught in
// LoadYaml and never seen outside this file.
struct OverBudget {
  YamlError error;
};

size_t SaturatingAdd(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

// Counts what a walk of the tree would visit, aliases expanded, and stops at the first
// budget crossed.
class BudgetCounter final : public YAML::EventHandler {
 public:
  explicit BudgetCounter(const YamlBudget& budget) : budget_(budget) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Visit(mark, 1, 0);
    Remember(anchor, 1, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    if (value.size() > budget_.max_scalar_bytes) {
      Fail(mark, "a string of " + std::to_string(value.size()) + " bytes is over max_scalar_bytes (" +
                     std::to_string(budget_.max_scalar_bytes) + ")");
    }
    Visit(mark, 1, value.size());
    Remember(anchor, 1, value.size());
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (!budget_.allow_aliases) Fail(mark, "aliases are not allowed here");
    if (++aliases_ > budget_.max_aliases) {
      Fail(mark, "more than max_aliases (" + std::to_string(budget_.max_aliases) + ") aliases");
    }
    auto it = sizes_.find(anchor);
    if (it == sizes_.end()) {
      // The anchor is still open: the alias sits inside the node it names, a cycle.
      Fail(mark, "an alias refers to a node that contains it (a cycle)");
    }
    Visit(mark, it->second.nodes, it->second.bytes);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Size {
    size_t nodes = 0;
    size_t bytes = 0;
  };
  struct Frame {
    YAML::anchor_t anchor;
    size_t nodes_at_start;
    size_t bytes_at_start;
  };

  [[noreturn]] void Fail(const YAML::Mark& mark, std::string what) {
    throw OverBudget{{mark.line + 1, mark.column + 1, "YAML budget: " + std::move(what)}};
  }

  void Visit(const YAML::Mark& mark, size_t nodes, size_t bytes) {
    nodes_ = SaturatingAdd(nodes_, nodes);
    bytes_ = SaturatingAdd(bytes_, bytes);
    if (nodes_ > budget_.max_nodes) {
      Fail(mark, "more than max_nodes (" + std::to_string(budget_.max_nodes) +
                     ") nodes with aliases expanded");
    }
    if (bytes_ > budget_.max_expanded_bytes) {
      Fail(mark, "more than max_expanded_bytes (" + std::to_string(budget_.max_expanded_bytes) +
                     ") bytes of strings with aliases expanded");
    }
  }

  void Remember(YAML::anchor_t anchor, size_t nodes, size_t bytes) {
    if (anchor != YAML::NullAnchor) sizes_[anchor] = {nodes, bytes};
  }

  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (stack_.size() >= budget_.max_depth) {
      Fail(mark, "nested deeper than max_depth (" + std::to_string(budget_.max_depth) + ")");
    }
    Visit(mark, 1, 0);
    stack_.push_back({anchor, nodes_ - 1, bytes_});
  }

  void Close() {
    const Frame frame = stack_.back();
    stack_.pop_back();
    Remember(frame.anchor, nodes_ - frame.nodes_at_start, bytes_ - frame.bytes_at_start);
  }

  const YamlBudget& budget_;
  size_t nodes_ = 0;
  size_t bytes_ = 0;
  size_t aliases_ = 0;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Size> sizes_;
};

}  // namespace

const YamlBudget& YamlBudget::Default() {
  static const YamlBudget kDefault;
  return kDefault;
}

bool LoadYaml(std::string_view text, const YamlBudget& budget, YAML::Node* root,
              YamlError* error) {
  if (text.size() > budget.max_document_bytes) {
    *error = {1, 1,
              "YAML budget: the document's " + std::to_string(text.size()) +
                  " bytes are over max_document_bytes (" +
                  std::to_string(budget.max_document_bytes) + ")"};
    return false;
  }
  const std::string copy(text);
  try {
    std::istringstream stream(copy);
    YAML::Parser parser(stream);
    BudgetCounter counter(budget);
    parser.HandleNextDocument(counter);
    *root = YAML::Load(copy);
    return true;
  } catch (const OverBudget& over) {
    *error = over.error;
  } catch (const YAML::Exception& e) {
    *error = {std::max(e.mark.line, 0) + 1, std::max(e.mark.column, 0) + 1, "invalid YAML: " + e.msg};
  } catch (const std::exception& e) {
    *error = {1, 1, std::string("invalid YAML: ") + e.what()};
  }
  return false;
}

}  // namespace jobgate
