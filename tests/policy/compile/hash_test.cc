// The snapshot hash: comments, formatting, key order and rule order do not change it;
// any change to what a rule decides does.
#include <gtest/gtest.h>

#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

using testing::MustCompile;

const char* kBase = R"(
version: v1
defaults: {decision: deny}
rules:
  - id: allow-read
    match:
      topics: ["job.mcp-bridge.read.*"]
      risk_tags: [read]
    decision: allow
  - id: prod-write
    match: {environment: prod, risk_tags: [prod, write]}
    decision: require_approval
    reason: Prod writes require human approval
    constraints: {max_runtime_sec: 60, network_allowlist: [b.com, a.com]}
)";

// Same policy: comments, flow vs block style, key order, rule order, name vs id,
// decision case, list order of set-like lists, explicit default decision.
const char* kReformatted = R"(
# a comment
rules:
- name: prod-write   # 'name' is accepted for 'id'
  decision: REQUIRE_APPROVAL
  reason: "Prod writes require human approval"
  constraints:
    network_allowlist: [a.com, b.com]
    max_runtime_sec: 60
  match:
    risk_tags: [write, prod]
    environment: [prod]
- id: allow-read
  decision: Allow
  match: {risk_tags: [read], topics: job.mcp-bridge.read.*}
)";

TEST(HashTest, FormattingDoesNotChangeIt) {
  auto a = MustCompile(kBase);
  auto b = MustCompile(kReformatted);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->hash(), b->hash()) << a->canonical_form() << "\n" << b->canonical_form();
  EXPECT_EQ(a->hash().rfind("sha256:", 0), 0u);
  EXPECT_EQ(a->hash().size(), 7u + 64u);
}

TEST(HashTest, IsStableAcrossCompiles) {
  EXPECT_EQ(MustCompile(kBase)->hash(), MustCompile(kBase)->hash());
}

TEST(HashTest, EveryRuleChangeChangesIt) {
  const std::string base = kBase;
  const std::string base_hash = MustCompile(base)->hash();
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"decision: allow", "decision: alert"},
      {"risk_tags: [read]", "risk_tags: [read, low]"},
      {"read.*", "read.>"},
      {"max_runtime_sec: 60", "max_runtime_sec: 61"},
      {"[b.com, a.com]", "[b.com]"},
      {"Prod writes require human approval", "Prod writes need approval"},
      {"environment: prod", "environment: staging"},
      {"defaults: {decision: deny}", "defaults: {decision: allow}"},
      {"id: allow-read", "id: allow-reads"},
  };
  for (const auto& [from, to] : edits) {
    std::string edited = base;
    const size_t at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    edited.replace(at, from.size(), to);
    auto p = MustCompile(edited);
    ASSERT_TRUE(p) << edited;
    EXPECT_NE(p->hash(), base_hash) << "edit: " << from << " -> " << to;
  }
}

TEST(HashTest, SnapshotNameIsNotPartOfTheContent) {
  auto a = MustCompile(std::string("snapshot: v1\n") + kBase);
  auto b = MustCompile(std::string("snapshot: v2\n") + kBase);
  EXPECT_EQ(a->hash(), b->hash());
  EXPECT_EQ(a->snapshot_name(), "v1");
}

TEST(HashTest, CanonicalFormIsDocumentedJson) {
  auto p = MustCompile("rules: [{id: a, match: {environment: prod}, decision: allow}]\n");
  EXPECT_EQ(p->canonical_form(),
            R"({"defaults":{"decision":"DENY"},"format":"jobgate-policy-canonical/1",)"
            R"("rules":[{"decision":"ALLOW","id":"a","match":{"fields":{"environment":)"
            R"({"in":["prod"]}}}}],"version":"v1"})");
}

}  // namespace
}  // namespace jobgate::policy
