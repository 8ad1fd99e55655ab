#include "policy/compile/subject_pattern.h"

namespace jobgate::policy {

std::string ValidateSubjectPattern(std::string_view pattern) {
  if (pattern.empty()) return "empty subject pattern";
  size_t start = 0;
  while (true) {
    const size_t dot = pattern.find('.', start);
    const std::string_view token =
        pattern.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (token.empty()) return "empty token in subject pattern '" + std::string(pattern) + "'";
    for (char c : token) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0') {
        return "whitespace in subject pattern '" + std::string(pattern) + "'";
      }
    }
    if (token.size() > 1 && token.find_first_of("*>") != std::string_view::npos) {
      return "wildcard must be a whole token in '" + std::string(pattern) +
             "' (use '*' for one token, '>' for the rest)";
    }
    if (token == ">" && dot != std::string_view::npos) {
      return "'>' must be the last token in '" + std::string(pattern) + "'";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return {};
}

void TokenizeSubject(std::string_view subject, std::vector<std::string_view>* tokens) {
  tokens->clear();
  size_t start = 0;
  while (true) {
    const size_t dot = subject.find('.', start);
    if (dot == std::string_view::npos) {
      tokens->push_back(subject.substr(start));
      return;
    }
    tokens->push_back(subject.substr(start, dot - start));
    start = dot + 1;
  }
}

bool SubjectMatches(std::string_view pattern, const std::vector<std::string_view>& tokens) {
  size_t i = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = pattern.find('.', start);
    const std::string_view token =
        pattern.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (token == ">") return i < tokens.size();
    if (i >= tokens.size()) return false;
    if (token != "*" && token != tokens[i]) return false;
    ++i;
    if (dot == std::string_view::npos) return i == tokens.size();
    start = dot + 1;
  }
}

TopicTrie::TopicTrie() : root_(std::make_unique<Node>()) {}
TopicTrie::~TopicTrie() = default;
TopicTrie::TopicTrie(TopicTrie&&) noexcept = default;
TopicTrie& TopicTrie::operator=(TopicTrie&&) noexcept = default;

bool TopicTrie::empty() const { return empty_; }

void TopicTrie::Insert(std::string_view pattern, uint32_t value) {
  empty_ = false;
  Node* node = root_.get();
  size_t start = 0;
  while (true) {
    const size_t dot = pattern.find('.', start);
    const std::string_view token =
        pattern.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (token == ">") {
      node->full_wild.push_back(value);
      return;
    }
    if (token == "*") {
      if (!node->star) node->star = std::make_unique<Node>();
      node = node->star.get();
    } else {
      auto it = node->children.find(token);
      if (it == node->children.end()) {
        it = node->children.emplace(std::string(token), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
    if (dot == std::string_view::npos) {
      node->terminal.push_back(value);
      return;
    }
    start = dot + 1;
  }
}

void TopicTrie::MatchFrom(const Node* node, const std::vector<std::string_view>& tokens, size_t i,
                          std::vector<uint32_t>* out) {
  // `>` needs at least one more token.
  if (i < tokens.size() && !node->full_wild.empty()) {
    out->insert(out->end(), node->full_wild.begin(), node->full_wild.end());
  }
  if (i == tokens.size()) {
    out->insert(out->end(), node->terminal.begin(), node->terminal.end());
    return;
  }
  auto it = node->children.find(tokens[i]);
  if (it != node->children.end()) MatchFrom(it->second.get(), tokens, i + 1, out);
  if (node->star) MatchFrom(node->star.get(), tokens, i + 1, out);
}

void TopicTrie::Match(const std::vector<std::string_view>& tokens,
                      std::vector<uint32_t>* out) const {
  if (empty_) return;
  MatchFrom(root_.get(), tokens, 0, out);
}

}  // namespace jobgate::policy
