// The indexes of the compiled rules (see Policy::Impl in model.h): each rule under the
// most selective anchor of its own (a topic pattern, an equality on an indexed field, a
// required risk tag) or among the unanchored, and every rule's precedence rank.

#include <algorithm>
#include <string_view>
#include <vector>

#include "policy/compile/model.h"
#include "policy/compile/policy_compiler.h"
#include "policy/compile/subject_pattern.h"

namespace jobgate::policy {

void PolicyCompiler::BuildIndexes(Policy::Impl* impl) {
  const auto& rules = impl->rules;
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const CompiledRule& rule = rules[i];
    impl->by_id.emplace(rule.id, i);

    // Choose the most selective anchor. A topic pattern is worth its literal tokens
    // (`job.db.*` = 2, `job.>` = 1); an equality condition on an indexed field 2; a
    // required risk tag 1.5. Below 1.5 the rule is checked for every job.
    double topic_score = 0;
    if (!rule.topics.empty()) {
      topic_score = 1e9;
      for (const auto& pattern : rule.topics) {
        std::vector<std::string_view> tokens;
        TokenizeSubject(pattern, &tokens);
        double literal = 0;
        for (auto t : tokens) {
          if (t == "*" || t == ">") break;
          ++literal;
        }
        topic_score = std::min(topic_score, literal);
      }
    }
    const FieldCondition* eq = nullptr;
    for (const auto& cond : rule.fields) {
      if (static_cast<size_t>(cond.field.kind) < kNumIndexedFields &&
          cond.matcher.IsPureEquality()) {
        eq = &cond;
        break;
      }
    }
    const double eq_score = eq ? 2 : 0;
    const double tag_score = rule.risk_all.empty() ? 0 : 1.5;
    const double best = std::max({topic_score, eq_score, tag_score});
    if (best < 1.5) {
      impl->unanchored.push_back(i);
    } else if (topic_score == best) {
      for (const auto& pattern : rule.topics) impl->topic_index.Insert(pattern, i);
    } else if (eq_score == best) {
      auto& buckets = impl->field_index[static_cast<size_t>(eq->field.kind)];
      for (const auto& lit : eq->matcher.in) {
        auto& bucket = buckets[lit.text];
        if (bucket.empty() || bucket.back() != i) bucket.push_back(i);
      }
    } else {
      impl->risk_tag_index[rule.risk_all.front()].push_back(i);
    }
  }

  std::vector<uint32_t> order(rules.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (rules[a].decision != rules[b].decision) return rules[a].decision > rules[b].decision;
    if (rules[a].risk_score != rules[b].risk_score) {
      return rules[a].risk_score > rules[b].risk_score;
    }
    return rules[a].id < rules[b].id;
  });
  impl->precedence_rank.resize(rules.size());
  for (uint32_t pos = 0; pos < order.size(); ++pos) impl->precedence_rank[order[pos]] = pos;
}

}  // namespace jobgate::policy
