// Shell syntax for the command analyzer: one script text to the simple commands it
// holds, as a shell would split them.
//
// ParseScript() lexes and parses a bash-like script: words after quote removal (with
// what was quoted, expanded or dynamic), redirections, pipelines, here-documents and
// what each command reads on standard input. Command substitutions ($(..), `..`,
// <(..)) are parsed, recursively, as they are met. Control words (if, while, for, ...)
// are skipped; what the analysis cannot follow (case, unbalanced quotes or parentheses,
// substitutions in arithmetic) stops the parse with a reason.
//
// Internal to policy/analysis. Pure: no I/O and no state beyond the call; the sink is
// owned by the caller and outlives the call. Bounded: every recursion goes through a
// depth bounded by kMaxDepth, and a script over kMaxInputBytes is refused.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "policy/analysis/command.h"

namespace jobgate::policy::analysis {

struct Word {
  std::string text;                        // after quote removal; expansions keep their source text
  bool dynamic = false;                    // contains $var, ${..}, $(..), `..`, <(..)
  bool quoted = false;                     // some part was quoted or escaped
  bool expands = false;                    // an unquoted glob or brace pattern (*, ?, [, {a,b})
  size_t quoted_from = std::string::npos;  // text index where quoting first began
};

struct RawCommand {
  std::vector<Word> words;
  int pipe_from = -1;             // previous pipeline stage, index into the same list
  bool stdin_redirected = false;  // <, <<, <<<
  bool stdin_known = false;       // stdin_text holds all of standard input
  std::string stdin_text;
  std::vector<Redirection> redirects;
};

inline bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// `NAME=value` (or NAME+=value) with the name unquoted: an assignment, not a command.
bool IsAssignment(const Word& w);

// The last component of a path (`/usr/bin/rm` -> `rm`); a path ending in '/' is kept.
std::string_view Basename(std::string_view path);

// `text` as one shell word: single-quoted, with embedded quotes escaped.
std::string ShellQuote(std::string_view text);

// What a parse reports to. The analyzer implements it.
class ParseSink {
 public:
  virtual ~ParseSink() = default;
  // True once the analysis has stopped: what follows cannot be trusted, parsing ends.
  virtual bool Stopped() const = 0;
  // The analysis cannot see everything the line does; parsing goes on.
  virtual void Opaque(std::string reason) = 0;
  // Parsing must stop: the line is opaque for `reason`.
  virtual void Stop(std::string reason) = 0;
  // The commands of one script (or one command substitution), in order, at `depth`.
  // Each RawCommand's pipe_from indexes into the same list.
  virtual void EmitRaw(const std::vector<RawCommand>& raw, int depth) = 0;
};

// Parses `text`, a whole script at nesting `depth`, into `sink`. Does nothing once the
// sink has stopped; stops it when `depth` is over kMaxDepth or `text` is over
// kMaxInputBytes.
void ParseScript(std::string_view text, int depth, ParseSink* sink);

}  // namespace jobgate::policy::analysis
