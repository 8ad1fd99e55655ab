// The one YAML mapping check: mapping, plain keys, no duplicates, known keys with a hint.
#include "base/yaml_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jobgate {
namespace {

std::vector<std::string> Faults(const std::string& yaml,
                                const std::vector<std::string_view>& known) {
  std::vector<std::string> out;
  CheckYamlMap(YAML::Load(yaml), "match", known,
               [&](const YAML::Node&, const std::string& message) { out.push_back(message); });
  return out;
}

TEST(YamlMapTest, KnownKeysPass) {
  EXPECT_TRUE(Faults("a: 1\nb: 2", {"a", "b"}).empty());
  EXPECT_TRUE(Faults("anything: 1", {}).empty());
}

TEST(YamlMapTest, UnknownKeyGetsAHintOrTheKnownList) {
  EXPECT_EQ(Faults("risk_tag: x", {"risk_tags", "topics"}),
            std::vector<std::string>{"unknown key 'risk_tag' in match; did you mean 'risk_tags'?"});
  EXPECT_EQ(Faults("zzzzzzzz: x", {"a", "b"}),
            std::vector<std::string>{"unknown key 'zzzzzzzz' in match (known: a, b)"});
}

TEST(YamlMapTest, DuplicatesAndNonMappingsAreFaults) {
  EXPECT_EQ(Faults("a: 1\na: 2", {"a"}),
            std::vector<std::string>{"duplicate key 'a' in match"});
  EXPECT_EQ(Faults("[1, 2]", {"a"}), std::vector<std::string>{"match must be a mapping"});
}

TEST(YamlMapTest, DidYouMeanNeedsACloseWord) {
  EXPECT_EQ(DidYouMean("decison", {"decision", "reason"}), "; did you mean 'decision'?");
  EXPECT_EQ(DidYouMean("xyz", {"decision"}), "");
}

}  // namespace
}  // namespace jobgate
