// The one check of a YAML mapping's keys, shared by the policy compiler and the gate's
// config reader: the node is a mapping, every key is a plain scalar written once, and
// every key is one of the known words, with a did-you-mean hint when a known word is
// close. Pure; thread-safe (no shared state).
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace jobgate {

// Receives one fault: the node it is about and the message (no position; the caller
// knows how it writes positions).
using YamlFault = std::function<void(const YAML::Node& node, const std::string& message)>;

// Checks `node` (named `what` in messages) and reports each fault to `fault`. With
// `known` empty any key is accepted. False only when `node` is not a mapping.
bool CheckYamlMap(const YAML::Node& node, std::string_view what,
                  const std::vector<std::string_view>& known, const YamlFault& fault);

// "; did you mean 'x'?" when a word of `known` is close to `word` (edit distance), else "".
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& known);

// "a, b, c".
std::string JoinWords(const std::vector<std::string_view>& words);

}  // namespace jobgate
