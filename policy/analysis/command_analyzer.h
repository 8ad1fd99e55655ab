// The command analyzer: unwraps each raw command of a parsed script (assignments,
// wrappers, shells, xargs, find -exec, ssh, git and its settings) and emits normalized
// simple commands into `result`.
//
// Internal to policy/analysis: command.cc holds the unwrapping and the public functions,
// command_settings.cc what variables, aliases and configuration hide. One Analyzer
// serves one call of AnalyzeCommandLine() or AnalyzeArgv(); it is not shared.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/analysis/command.h"
#include "policy/analysis/command_programs.h"
#include "policy/analysis/shell_parser.h"

namespace jobgate::policy::analysis {

struct StdinFacts {
  bool piped = false;       // fed by a previous pipeline stage
  bool redirected = false;  // <, <<, <<<
  bool known = false;       // text holds all of it
  std::string text;
  const RawCommand* producer = nullptr;  // the previous pipeline stage, if any
};

class Analyzer final : public ParseSink {
 public:
  CommandAnalysis result;

  bool Stopped() const override { return stopped; }
  void Opaque(std::string reason) override {
    if (!result.opaque) {
      result.opaque = true;
      result.opaque_reason = std::move(reason);
    }
  }
  // Stops all further parsing: what follows cannot be trusted.
  void Stop(std::string reason) override {
    Opaque(std::move(reason));
    stopped = true;
  }
  bool stopped = false;

  // Literal variable values and aliases defined earlier in the line, in order; at most
  // kMaxVariables of each (later ones are unknown), so resolving a word stays O(1).
  static constexpr size_t kMaxVariables = 64;
  std::vector<std::pair<std::string, std::string>> vars;
  std::vector<std::pair<std::string, std::string>> aliases;
  // Replaces `$NAME` / `${NAME}` (and a leading `~` after HOME=...) by known values; a
  // word with any other expansion, or an unknown variable, is left as written.
  void Resolve(Word* w) const;

  void ParseScript(std::string_view text, int depth) { analysis::ParseScript(text, depth, this); }
  bool EchoedText(const RawCommand& raw, std::string* out) const;
  void EmitRaw(const std::vector<RawCommand>& raw, int depth) override;
  void Run(std::span<const Word> words, const StdinFacts& in, int depth);

 private:
  bool CheckDepth(int depth) {
    if (depth > kMaxDepth) {
      Stop("nested deeper than " + std::to_string(kMaxDepth) + " levels");
      return false;
    }
    if (result.commands.size() >= kMaxCommands) {
      Stop("more than " + std::to_string(kMaxCommands) + " commands");
      return false;
    }
    return true;
  }
  // Run's steps: a program name that is known before the line runs; an alias defined
  // earlier in the line (true when it was expanded); what export, declare and alias
  // define; then the program itself, unwrapped where it runs another command.
  bool ProgramNameKnown(const Word& program_word);
  bool ExpandAlias(const Word& program_word, std::string_view name, std::span<const Word> rest,
                   int depth);
  void Declare(std::string_view name, std::span<const Word> rest, int depth);
  void RunProgram(std::string_view name, std::span<const Word> rest, const StdinFacts& in,
                  int depth);
  void Emit(std::string_view program, std::span<const Word> words, const StdinFacts& in);
  void RunWrapper(const WrapperSpec& spec, std::string_view name, std::span<const Word> words,
                  const StdinFacts& in, int depth);
  void RunShell(std::string_view name, std::span<const Word> words, const StdinFacts& in,
                int depth);
  void RunXargs(std::span<const Word> words, const StdinFacts& in, int depth);
  void RunFind(std::span<const Word> words, const StdinFacts& in, int depth);
  void RunSsh(std::span<const Word> words, const StdinFacts& in, int depth);
  void RunGit(std::span<const Word> words, const StdinFacts& in, int depth);
  void GitSetting(std::string key, std::string_view value, int depth);
  void GitAlias(std::string_view value, std::span<const Word> before, std::span<const Word> after,
                int depth);
  void Assign(const Word& w, int depth);
  void CheckEnvironment(std::string_view name, std::string_view value, int depth);
  void OptionCommands(std::string_view program, std::span<const Word> words, int depth);
};

}  // namespace jobgate::policy::analysis
