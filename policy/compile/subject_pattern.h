// NATS subject patterns, token-aware: `*` is exactly one token, `>` one or more trailing
// tokens. `job.mcp-bridge.read.*` matches `job.mcp-bridge.read.get_ticket`, not
// `job.mcp-bridge.read.tickets.search` nor `job.mcp-bridge.read`.
//
// TopicTrie indexes many patterns so that one lookup finds every pattern a subject
// matches, at a cost that grows with the subject's length, not the pattern count.
// A built trie is immutable and safe to query from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace jobgate::policy {

// Empty when `pattern` is a valid subject pattern, else what is wrong with it.
std::string ValidateSubjectPattern(std::string_view pattern);

// Splits a subject on '.' into `tokens` (cleared first). Views point into `subject`.
void TokenizeSubject(std::string_view subject, std::vector<std::string_view>* tokens);

// True when the (valid) pattern matches the subject's tokens.
bool SubjectMatches(std::string_view pattern, const std::vector<std::string_view>& tokens);

// Transparent hashing so string_view lookups into string-keyed maps do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class TopicTrie {
 public:
  TopicTrie();
  ~TopicTrie();
  TopicTrie(TopicTrie&&) noexcept;
  TopicTrie& operator=(TopicTrie&&) noexcept;

  // Adds a valid pattern carrying `value`.
  void Insert(std::string_view pattern, uint32_t value);

  // Appends the values of every pattern matching `tokens` to `out` (unsorted; a value
  // appears once per matching pattern).
  void Match(const std::vector<std::string_view>& tokens, std::vector<uint32_t>* out) const;

  bool empty() const;

 private:
  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
    std::unique_ptr<Node> star;       // `*`
    std::vector<uint32_t> terminal;   // patterns ending here
    std::vector<uint32_t> full_wild;  // patterns ending here with `>`
  };
  static void MatchFrom(const Node* node, const std::vector<std::string_view>& tokens, size_t i,
                        std::vector<uint32_t>* out);
  std::unique_ptr<Node> root_;
  bool empty_ = true;
};

}  // namespace jobgate::policy
