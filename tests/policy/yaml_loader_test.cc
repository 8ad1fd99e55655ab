// The YAML loader's budgets: alias bombs, deep nesting, long strings and cycles are
// refused with the line and column of the node that crossed a budget, naming it; every
// ordinary document loads exactly as yaml-cpp loads it. Bombs are generated over a range
// of shapes rather than listed.
#include "base/yaml_loader.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <random>
#include <string>

#include "policy/policy.h"
#include "policy/tooling/suite.h"

namespace jobgate::policy {
namespace {

// `levels` levels of anchors, each a sequence of `width` aliases of the level below:
// width^levels nodes once expanded, a few hundred bytes as written.
std::string AliasBomb(int levels, int width, const std::string& indent = "") {
  std::string yaml = indent + "a0: &a0 [lol]\n";
  for (int level = 1; level <= levels; ++level) {
    const std::string name = "a" + std::to_string(level);
    yaml += indent + name + ": &" + name + " [";
    for (int i = 0; i < width; ++i) {
      yaml += (i ? ", *a" : "*a") + std::to_string(level - 1);
    }
    yaml += "]\n";
  }
  return yaml;
}

YamlError Refusal(const std::string& text, const YamlBudget& budget = YamlBudget::Default()) {
  YAML::Node root;
  YamlError error;
  EXPECT_FALSE(LoadYaml(text, budget, &root, &error)) << text.substr(0, 200);
  return error;
}

TEST(YamlLoader, LoadsOrdinaryDocumentsAsYamlCppDoes) {
  const std::string text =
      "version: v1\nbase: &base {timeout: 30s, tags: [a, b]}\n"
      "rules:\n  - {id: r1, constraints: *base}\n  - id: r2\n    decision: allow\n";
  YAML::Node root;
  YamlError error;
  ASSERT_TRUE(LoadYaml(text, YamlBudget::Default(), &root, &error)) << error.message;
  EXPECT_EQ(YAML::Dump(root), YAML::Dump(YAML::Load(text)));
  EXPECT_EQ(root["rules"][0]["constraints"]["tags"][1].as<std::string>(), "b");
}

TEST(YamlLoader, AnEmptyDocumentIsANullNode) {
  YAML::Node root;
  YamlError error;
  ASSERT_TRUE(LoadYaml("", YamlBudget::Default(), &root, &error));
  EXPECT_TRUE(root.IsNull());
}

TEST(YamlLoader, SyntaxErrorsKeepTheirPlace) {
  const YamlError error = Refusal("a: 1\nb: [unclosed\n");
  EXPECT_NE(error.message.find("invalid YAML"), std::string::npos) << error.message;
  EXPECT_GE(error.line, 2);
}

TEST(YamlLoader, TheEightLevelAliasBombIsRefusedAtTheAliasThatCrossesTheBudget) {
  const YamlError error = Refusal(AliasBomb(8, 10));
  EXPECT_NE(error.message.find("max_nodes"), std::string::npos) << error.message;
  EXPECT_EQ(error.message.rfind("YAML budget: ", 0), 0u) << error.message;
  // Level k expands to about 2 * 10^k nodes: level 6 (line 7) passes two million.
  EXPECT_EQ(error.line, 7);
  EXPECT_GT(error.column, 1);
}

TEST(YamlLoader, GeneratedBombsAreRefusedExactlyWhenTheirExpansionIsOverBudget) {
  YamlBudget budget;
  budget.max_nodes = 100'000;
  std::mt19937 rng(20);
  int refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const int levels = 1 + static_cast<int>(rng() % 9);
    const int width = 1 + static_cast<int>(rng() % 12);
    const std::string text = AliasBomb(levels, width);
    // Nodes a walk visits: the root map, then per level its key, and the value's
    // expansion (level 0: a sequence of one scalar).
    double expanded = 1;
    double level_size = 2;  // [lol]
    expanded += 1 + level_size;
    for (int level = 1; level <= levels; ++level) {
      level_size = 1 + width * level_size;
      expanded += 1 + level_size;
    }
    YAML::Node root;
    YamlError error;
    const bool loaded = LoadYaml(text, budget, &root, &error);
    EXPECT_EQ(loaded, expanded <= budget.max_nodes)
        << "levels " << levels << " width " << width << " expands to " << expanded << ": "
        << error.message;
    refused += loaded ? 0 : 1;
  }
  EXPECT_GT(refused, 500);
  EXPECT_LT(refused, 1900);
}

TEST(YamlLoader, ExpandedStringBytesHaveTheirOwnBudget) {
  YamlBudget budget;
  const std::string big(200'000, 'x');
  std::string text = "s: &s " + big + "\nl: [";
  for (int i = 0; i < 200; ++i) text += (i ? ", *s" : "*s");
  text += "]\n";
  const YamlError error = Refusal(text, budget);
  EXPECT_NE(error.message.find("max_expanded_bytes"), std::string::npos) << error.message;
  EXPECT_EQ(error.line, 2);
}

TEST(YamlLoader, DeepNestingNamesTheDepthBudgetAndWhere) {
  for (const char* open : {"[", "{a: ", "- "}) {
    std::string text;
    for (int i = 0; i < 100000; ++i) {
      text += open;
      if (std::string(open) == "- ") text += "\n" + std::string(2 * (i + 1), ' ');
      if (text.size() > 2'000'000) break;
    }
    const YamlError error = Refusal(text);
    EXPECT_NE(error.message.find("max_depth (64)"), std::string::npos)
        << open << ": " << error.message;
    EXPECT_GE(error.line, 1);
  }
}

TEST(YamlLoader, AnAliasInsideTheNodeItNamesIsACycle) {
  const YamlError error = Refusal("a: &a [x, *a]\n");
  EXPECT_NE(error.message.find("cycle"), std::string::npos) << error.message;
}

TEST(YamlLoader, AliasesCanBeRefusedOrCounted) {
  YamlBudget no_aliases;
  no_aliases.allow_aliases = false;
  EXPECT_NE(Refusal("a: &a 1\nb: *a\n", no_aliases).message.find("not allowed"),
            std::string::npos);
  YamlBudget few;
  few.max_aliases = 3;
  const YamlError error = Refusal("a: &a 1\nb: [*a, *a, *a, *a]\n", few);
  EXPECT_NE(error.message.find("max_aliases (3)"), std::string::npos) << error.message;
  EXPECT_EQ(error.line, 2);
}

TEST(YamlLoader, LongStringsAndLongDocumentsAreRefused) {
  YamlBudget budget;
  budget.max_scalar_bytes = 1000;
  EXPECT_NE(Refusal("a: " + std::string(1001, 'y') + "\n", budget).message.find(
                "max_scalar_bytes (1000)"),
            std::string::npos);
  budget.max_document_bytes = 100;
  EXPECT_NE(Refusal(std::string(101, '#'), budget).message.find("max_document_bytes (100)"),
            std::string::npos);
}

// ---- through the policy compiler, the test-suite reader and JobFromYaml ------------

TEST(YamlLoader, APolicyWithABombInAFreeFormValueIsRefusedWithFileLineCol) {
  std::string policy = "version: v1\ndefaults:\n  decision: deny\n  constraints:\n    custom:\n";
  policy += AliasBomb(8, 10, "      ");
  policy += "rules:\n  - {id: r, match: {topics: [job.>]}, decision: allow}\n";
  CompileOptions options;
  options.file_name = "bomb.yaml";
  const CompileResult result = Compile(policy, options);
  ASSERT_FALSE(result.ok());
  const std::string text = result.ErrorText();
  // Level 6 of the bomb, on line 12, passes two million nodes.
  EXPECT_NE(text.find("bomb.yaml:12:"), std::string::npos) << text;
  EXPECT_NE(text.find("max_nodes"), std::string::npos) << text;
}

TEST(YamlLoader, ACompileHonoursTheCallersBudget) {
  CompileOptions options;
  options.yaml_budget.max_depth = 3;
  const CompileResult result =
      Compile("version: v1\nrules:\n  - {id: r, match: {args: {a: {b: 1}}}, decision: allow}\n",
              options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.ErrorText().find("max_depth (3)"), std::string::npos) << result.ErrorText();
}

TEST(YamlLoader, JobsWrittenInYamlAreBudgeted) {
  auto job = JobFromYaml(AliasBomb(8, 10));
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("max_nodes"), std::string::npos)
      << job.status().message();
}

}  // namespace
}  // namespace jobgate::policy
