// The shell parser (see shell_parser.h). One ShellParser reads one script text; a nested
// parser over the same text reads each $( ).

#include "policy/analysis/shell_parser.h"

#include <algorithm>
#include <string>

namespace jobgate::policy::analysis {
namespace {

// The index of the `close` that balances the first `open` from src[from] on (nesting
// counted, nothing quoted), or npos when there is none.
size_t MatchingClose(std::string_view src, size_t from, char open, char close) {
  int depth = 0;
  for (size_t i = from; i < src.size(); ++i) {
    if (src[i] == open) ++depth;
    if (src[i] == close && --depth == 0) return i;
  }
  return std::string_view::npos;
}

bool IsMeta(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '&' || c == '|' ||
         c == '(' || c == ')' || c == '<' || c == '>';
}

// Parses one script text. A nested parser handles each $( ) over the same text.
class ShellParser {
 public:
  ShellParser(std::string_view src, size_t pos, int depth, ParseSink* sink)
      : src_(src), pos_(pos), depth_(depth), sink_(sink) {}

  // Parses commands until the end of the text, or (in_substitution) the ')' that closes
  // the current $( ). Then hands every command found to the sink.
  void ParseList(bool in_substitution);
  size_t pos() const { return pos_; }

 private:
  struct PendingHeredoc {
    std::string delimiter;
    bool strip_tabs = false;
    bool expands = false;  // unquoted delimiter: the body undergoes expansion
    size_t command = 0;    // index into raw_
  };

  // What one step of ParseList did: go on, stop the list (an error or the end of what
  // this parser may read), or close the current $( ).
  enum class Step { kNext, kStop, kClosed };

  bool Stopped() const;
  void Fail(std::string reason);
  // One item at pos_: a blank, comment, operator, parenthesis, redirection or word.
  Step ParseItem(bool in_substitution);
  Step ReadOperator(char c, char next);  // newline ; & && | || |&
  Step ReadOpenParen(char next);         // a subshell, (( arithmetic )) or name()
  Step SkipArithmetic();                 // pos_ at "((": no command runs
  Step ReadCloseParen(bool in_substitution);
  Step ReadCommandWord();
  void EndCommand(bool pipe_next);
  void ReadHeredocBodies();
  // Reads one word at pos_ into `w`. False when parsing must stop.
  bool ReadWord(Word* w);
  bool ReadDoubleQuoted(Word* w);
  bool ReadDollar(Word* w);
  bool ReadBacktick(Word* w);
  bool ReadSubstitution(Word* w, size_t start);  // pos_ just after "$(" / "<(" / ">("
  bool ReadRedirect();
  void Append(Word* w, std::string_view s, bool quoted);

  std::string_view src_;
  size_t pos_;
  int depth_;
  ParseSink* sink_;
  std::vector<RawCommand> raw_;
  RawCommand current_;
  bool discard_current_ = false;  // words of a `for` / `[[` header, not a command
  int next_pipe_from_ = -1;
  int paren_depth_ = 0;
  std::vector<PendingHeredoc> heredocs_;
};

bool ShellParser::Stopped() const { return sink_->Stopped(); }
void ShellParser::Fail(std::string reason) { sink_->Stop(std::move(reason)); }

void ShellParser::Append(Word* w, std::string_view s, bool quoted) {
  if (quoted) {
    if (w->quoted_from == std::string::npos) w->quoted_from = w->text.size();
    w->quoted = true;
  }
  w->text.append(s);
}

void ShellParser::EndCommand(bool pipe_next) {
  if ((!current_.words.empty() || !current_.redirects.empty()) && !discard_current_) {
    current_.pipe_from = next_pipe_from_;
    raw_.push_back(std::move(current_));
    next_pipe_from_ = -1;
  }
  current_ = RawCommand();
  discard_current_ = false;
  if (pipe_next) {
    next_pipe_from_ = raw_.empty() ? -1 : static_cast<int>(raw_.size()) - 1;
  } else {
    next_pipe_from_ = -1;
  }
}

void ShellParser::ReadHeredocBodies() {
  for (const PendingHeredoc& h : heredocs_) {
    std::string body;
    while (pos_ < src_.size()) {
      size_t eol = src_.find('\n', pos_);
      if (eol == std::string_view::npos) eol = src_.size();
      std::string_view line = src_.substr(pos_, eol - pos_);
      pos_ = std::min(eol + 1, src_.size());
      if (h.strip_tabs) {
        while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
      }
      if (line == h.delimiter) break;
      body.append(line);
      body.push_back('\n');
    }
    if (h.expands &&
        (body.find("$(") != std::string::npos || body.find('`') != std::string::npos)) {
      sink_->Opaque("a here-document runs command substitutions");
    }
    if (h.command < raw_.size()) {
      RawCommand& target = raw_[h.command];
      target.stdin_text = std::move(body);
      target.stdin_known = !h.expands || target.stdin_text.find('$') == std::string::npos;
    } else if (h.command == raw_.size()) {
      current_.stdin_text = std::move(body);
      current_.stdin_known = !h.expands || current_.stdin_text.find('$') == std::string::npos;
    }
  }
  heredocs_.clear();
}

void ShellParser::ParseList(bool in_substitution) {
  Step step = Step::kNext;
  while (step == Step::kNext && !Stopped() && pos_ < src_.size()) {
    step = ParseItem(in_substitution);
  }
  EndCommand(false);
  if (!Stopped()) {
    if (in_substitution && step != Step::kClosed) {
      Fail("unbalanced parentheses: '$(' without ')'");
    } else if (paren_depth_ > 0) {
      Fail("unbalanced parentheses: '(' without ')'");
    }
  }
  sink_->EmitRaw(raw_, depth_);
}

ShellParser::Step ShellParser::ParseItem(bool in_substitution) {
  const char c = src_[pos_];
  const char next = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
  if (IsBlank(c)) {
    ++pos_;
    return Step::kNext;
  }
  if (c == '#') {  // a comment: we are where a word would start
    while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
    return Step::kNext;
  }
  if (c == '\\' && next == '\n') {  // line continuation
    pos_ += 2;
    return Step::kNext;
  }
  if (c == '\n' || c == ';' || c == '&' || c == '|') return ReadOperator(c, next);
  if (c == '(') return ReadOpenParen(next);
  if (c == ')') return ReadCloseParen(in_substitution);
  if ((c == '<' || c == '>') && next != '(') return ReadRedirect() ? Step::kNext : Step::kStop;
  return ReadCommandWord();
}

ShellParser::Step ShellParser::ReadOperator(char c, char next) {
  switch (c) {
    case '\n':
      ++pos_;
      EndCommand(false);
      ReadHeredocBodies();
      return Step::kNext;
    case ';':
      if (next == ';' || next == '&') {
        Fail("case statements are not analysed");
        return Step::kStop;
      }
      ++pos_;
      EndCommand(false);
      return Step::kNext;
    case '&':
      if (next == '>') return ReadRedirect() ? Step::kNext : Step::kStop;
      pos_ += next == '&' ? 2 : 1;
      EndCommand(false);
      return Step::kNext;
    default: {  // '|', '||', '|&'
      const bool is_or = next == '|';
      pos_ += (is_or || next == '&') ? 2 : 1;
      EndCommand(/*pipe_next=*/!is_or);
      return Step::kNext;
    }
  }
}

ShellParser::Step ShellParser::ReadOpenParen(char next) {
  if (next == '(' && current_.words.empty()) return SkipArithmetic();
  if (current_.words.size() == 1) {  // name() { ...; }: a function definition
    size_t j = pos_ + 1;
    while (j < src_.size() && IsBlank(src_[j])) ++j;
    if (j < src_.size() && src_[j] == ')') {
      pos_ = j + 1;
      current_ = RawCommand();
      return Step::kNext;
    }
  }
  if (!current_.words.empty()) {
    Fail("unexpected '(' after a command word");
    return Step::kStop;
  }
  ++paren_depth_;  // a subshell: its commands are parsed as part of this list
  ++pos_;
  return Step::kNext;
}

ShellParser::Step ShellParser::SkipArithmetic() {
  const size_t i = std::min(MatchingClose(src_, pos_, '(', ')'), src_.size());
  const std::string_view body = src_.substr(pos_, i - pos_);
  if (body.find("$(") != std::string_view::npos || body.find('`') != std::string_view::npos) {
    Fail("command substitution inside arithmetic");
    return Step::kStop;
  }
  if (i >= src_.size()) {
    Fail("unbalanced parentheses");
    return Step::kStop;
  }
  pos_ = i + 1;
  return Step::kNext;
}

ShellParser::Step ShellParser::ReadCloseParen(bool in_substitution) {
  ++pos_;
  EndCommand(false);
  if (paren_depth_ > 0) {
    --paren_depth_;
    return Step::kNext;
  }
  if (in_substitution) return Step::kClosed;
  Fail("unbalanced parentheses: ')' without '('");
  return Step::kStop;
}

ShellParser::Step ShellParser::ReadCommandWord() {
  Word w;
  if (!ReadWord(&w)) return Step::kStop;
  // `2>file`: a word of digits right before a redirection is its file descriptor.
  if (!w.quoted && !w.text.empty() && pos_ < src_.size() &&
      (src_[pos_] == '<' || src_[pos_] == '>') &&
      std::all_of(w.text.begin(), w.text.end(), IsDigit)) {
    return Step::kNext;
  }
  if (current_.words.empty() && !w.quoted && !discard_current_) {
    const std::string& t = w.text;
    if (t == "if" || t == "then" || t == "else" || t == "elif" || t == "fi" || t == "do" ||
        t == "done" || t == "while" || t == "until" || t == "!" || t == "{" || t == "}" ||
        t == "coproc") {
      return Step::kNext;
    }
    if (t == "case") {
      Fail("case statements are not analysed");
      return Step::kStop;
    }
    if (t == "for" || t == "select" || t == "[[" || t == "function") {
      discard_current_ = true;
    }
  }
  current_.words.push_back(std::move(w));
  return Step::kNext;
}

bool ShellParser::ReadRedirect() {
  // Operators: <<< <<- << <> <& < >> >& >| > &>> &>
  std::string_view op;
  for (std::string_view candidate :
       {"&>>", "<<<", "<<-", "&>", "<<", "<>", "<&", ">>", ">&", ">|", "<", ">"}) {
    if (src_.substr(pos_, candidate.size()) == candidate) {
      op = candidate;
      break;
    }
  }
  pos_ += op.size();
  while (pos_ < src_.size() && IsBlank(src_[pos_])) ++pos_;
  if (pos_ >= src_.size() || (IsMeta(src_[pos_]) && src_[pos_] != '<' && src_[pos_] != '>')) {
    Fail("redirection '" + std::string(op) + "' without a target");
    return false;
  }
  Word target;
  if (src_[pos_] == '<' || src_[pos_] == '>') {  // <(..) / >(..) as a redirection target
    pos_ += 2;
    if (!ReadSubstitution(&target, pos_ - 2)) return false;
  } else if (!ReadWord(&target)) {
    return false;
  }
  if (op == "<<" || op == "<<-") {
    heredocs_.push_back({target.text, op == "<<-", !target.quoted, raw_.size()});
    current_.stdin_redirected = true;
  } else if (op == "<<<") {
    current_.stdin_redirected = true;
    current_.stdin_known = !target.dynamic;
    current_.stdin_text = target.text + "\n";
  } else if (op == "<" || op == "<>") {
    current_.stdin_redirected = true;
    current_.stdin_known = false;
  }
  // Files: every operator but here-docs, here-strings and descriptor duplications.
  const bool dup =
      (op == ">&" || op == "<&") &&
      (target.text == "-" ||
       (!target.text.empty() && std::all_of(target.text.begin(), target.text.end(), IsDigit)));
  if (op != "<<" && op != "<<-" && op != "<<<" && !dup) {
    current_.redirects.push_back(Redirection{
        .writes = op != "<" && op != "<&", .dynamic = target.dynamic, .target = target.text});
  }
  return true;
}

bool ShellParser::ReadWord(Word* w) {
  const size_t start = pos_;
  // <(..) and >(..): process substitution, a word of its own.
  if ((src_[pos_] == '<' || src_[pos_] == '>') && pos_ + 1 < src_.size() && src_[pos_ + 1] == '(') {
    pos_ += 2;
    return ReadSubstitution(w, start);
  }
  while (pos_ < src_.size() && !Stopped()) {
    const char c = src_[pos_];
    if (IsMeta(c)) break;
    switch (c) {
      case '\\': {
        if (pos_ + 1 >= src_.size()) {
          Append(w, "\\", true);
          ++pos_;
          break;
        }
        if (src_[pos_ + 1] == '\n') {
          pos_ += 2;
          break;
        }
        Append(w, src_.substr(pos_ + 1, 1), true);
        pos_ += 2;
        break;
      }
      case '\'': {
        const size_t close = src_.find('\'', pos_ + 1);
        if (close == std::string_view::npos) {
          Fail("unbalanced single quote");
          return false;
        }
        Append(w, src_.substr(pos_ + 1, close - pos_ - 1), true);
        pos_ = close + 1;
        break;
      }
      case '"':
        if (!ReadDoubleQuoted(w)) return false;
        break;
      case '$':
        if (!ReadDollar(w)) return false;
        break;
      case '`':
        if (!ReadBacktick(w)) return false;
        break;
      default:
        if (c == '*' || c == '?' || c == '[') w->expands = true;
        if (c == '{') {
          // {a,b} and {1..3} expand into several words.
          const size_t close = src_.find('}', pos_);
          if (close != std::string_view::npos) {
            const std::string_view inner = src_.substr(pos_, close - pos_);
            if (inner.find(',') != std::string_view::npos ||
                inner.find("..") != std::string_view::npos) {
              w->expands = true;
            }
          }
        }
        w->text.push_back(c);
        ++pos_;
    }
  }
  return !Stopped();
}

bool ShellParser::ReadDoubleQuoted(Word* w) {
  ++pos_;  // opening quote
  if (w->quoted_from == std::string::npos) w->quoted_from = w->text.size();
  w->quoted = true;
  while (pos_ < src_.size()) {
    const char c = src_[pos_];
    if (c == '"') {
      ++pos_;
      return true;
    }
    if (c == '\\' && pos_ + 1 < src_.size()) {
      const char n = src_[pos_ + 1];
      if (n == '\n') {
        pos_ += 2;
        continue;
      }
      if (n == '$' || n == '`' || n == '"' || n == '\\') {
        w->text.push_back(n);
        pos_ += 2;
        continue;
      }
      w->text.push_back('\\');
      ++pos_;
      continue;
    }
    if (c == '$') {
      if (!ReadDollar(w)) return false;
      continue;
    }
    if (c == '`') {
      if (!ReadBacktick(w)) return false;
      continue;
    }
    w->text.push_back(c);
    ++pos_;
  }
  Fail("unbalanced double quote");
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads up to `max_digits` hex digits at src[*i]; `*digits` says how many there were.
uint32_t ReadHex(std::string_view src, size_t* i, int max_digits, int* digits) {
  uint32_t value = 0;
  *digits = 0;
  while (*digits < max_digits && *i < src.size() && HexValue(src[*i]) >= 0) {
    value = value * 16 + static_cast<uint32_t>(HexValue(src[(*i)++]));
    ++*digits;
  }
  return value;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the escape `\e` of $'...' whose argument digits (if any) start at src[*i].
void DecodeAnsiCEscape(char e, std::string_view src, size_t* i, std::string* out) {
  static constexpr std::string_view kLetters = "ntrabfveE";
  static constexpr std::string_view kBytes = "\n\t\r\a\b\f\v\x1b\x1b";
  if (const size_t k = kLetters.find(e); k != std::string_view::npos) {
    out->push_back(kBytes[k]);
    return;
  }
  int digits = 0;
  if (e == 'x') {
    const uint32_t value = ReadHex(src, i, 2, &digits);
    if (digits == 0) {
      out->append("\\x");
    } else {
      out->push_back(static_cast<char>(value));
    }
    return;
  }
  if (e == 'u' || e == 'U') {
    AppendUtf8(ReadHex(src, i, e == 'u' ? 4 : 8, &digits), out);
    return;
  }
  if (e >= '0' && e <= '7') {
    int value = e - '0';
    for (digits = 1; digits < 3 && *i < src.size() && src[*i] >= '0' && src[*i] <= '7'; ++digits) {
      value = value * 8 + (src[(*i)++] - '0');
    }
    out->push_back(static_cast<char>(value & 0xFF));
    return;
  }
  out->push_back(e);  // \\ \' \" \? and unknown escapes
}

// Decodes $'...' (ANSI-C quoting) starting at pos_ (the '$').
bool ReadAnsiC(std::string_view src, size_t* pos, std::string* out) {
  size_t i = *pos + 2;
  while (i < src.size()) {
    const char c = src[i];
    if (c == '\'') {
      *pos = i + 1;
      return true;
    }
    if (c != '\\' || i + 1 >= src.size()) {
      out->push_back(c);
      ++i;
      continue;
    }
    const char e = src[i + 1];
    i += 2;
    DecodeAnsiCEscape(e, src, &i, out);
  }
  return false;
}

bool ShellParser::ReadDollar(Word* w) {
  const size_t start = pos_;
  const char next = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
  if (next == '\'') {
    std::string decoded;
    if (!ReadAnsiC(src_, &pos_, &decoded)) {
      Fail("unbalanced $'...' quote");
      return false;
    }
    Append(w, decoded, true);
    return true;
  }
  if (next == '"') {  // $"..." (locale translation): a double-quoted string
    ++pos_;
    return ReadDoubleQuoted(w);
  }
  if (next == '(' && pos_ + 2 < src_.size() && src_[pos_ + 2] == '(') {  // $(( arithmetic ))
    const size_t i = MatchingClose(src_, pos_ + 1, '(', ')');
    if (i == std::string_view::npos) {
      Fail("unbalanced parentheses in $(( ))");
      return false;
    }
    const std::string_view body = src_.substr(start, i + 1 - start);
    if (body.find("$(", 1) != std::string_view::npos || body.find('`') != std::string_view::npos) {
      Fail("command substitution inside arithmetic");
      return false;
    }
    pos_ = i + 1;
    w->text.append(body);
    w->dynamic = true;
    return true;
  }
  if (next == '(') {
    pos_ += 2;
    return ReadSubstitution(w, start);
  }
  if (next == '{') {
    const size_t i = MatchingClose(src_, pos_ + 1, '{', '}');
    if (i == std::string_view::npos) {
      Fail("unbalanced ${...}");
      return false;
    }
    const std::string_view body = src_.substr(start, i + 1 - start);
    if (body.find("$(") != std::string_view::npos || body.find('`') != std::string_view::npos) {
      sink_->Opaque("command substitution inside ${...}");
    }
    pos_ = i + 1;
    w->text.append(body);
    w->dynamic = true;
    return true;
  }
  if (IsIdentStart(next)) {
    size_t i = pos_ + 1;
    while (i < src_.size() && IsIdentChar(src_[i])) ++i;
    w->text.append(src_.substr(start, i - start));
    w->dynamic = true;
    pos_ = i;
    return true;
  }
  if (IsDigit(next) || next == '@' || next == '*' || next == '#' || next == '?' || next == '$' ||
      next == '!' || next == '-') {
    w->text.append(src_.substr(start, 2));
    w->dynamic = true;
    pos_ += 2;
    return true;
  }
  w->text.push_back('$');  // a lone '$' is literal
  ++pos_;
  return true;
}

bool ShellParser::ReadSubstitution(Word* w, size_t start) {
  if (depth_ + 1 > kMaxDepth) {
    Fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return false;
  }
  ShellParser inner(src_, pos_, depth_ + 1, sink_);
  inner.ParseList(/*in_substitution=*/true);
  if (Stopped()) return false;
  pos_ = inner.pos();
  w->text.append(src_.substr(start, pos_ - start));
  w->dynamic = true;
  return true;
}

bool ShellParser::ReadBacktick(Word* w) {
  const size_t start = pos_;
  std::string inner;
  size_t i = pos_ + 1;
  for (; i < src_.size() && src_[i] != '`'; ++i) {
    if (src_[i] == '\\' && i + 1 < src_.size() &&
        (src_[i + 1] == '`' || src_[i + 1] == '\\' || src_[i + 1] == '$')) {
      ++i;
    }
    inner.push_back(src_[i]);
  }
  if (i >= src_.size()) {
    Fail("unbalanced backquote");
    return false;
  }
  pos_ = i + 1;
  ParseScript(inner, depth_ + 1, sink_);
  if (Stopped()) return false;
  w->text.append(src_.substr(start, pos_ - start));
  w->dynamic = true;
  return true;
}

}  // namespace

// `NAME=value` (or NAME+=value) with the name unquoted: an assignment, not a command.
bool IsAssignment(const Word& w) {
  const std::string& t = w.text;
  if (t.empty() || !IsIdentStart(t[0])) return false;
  size_t i = 1;
  while (i < t.size() && IsIdentChar(t[i])) ++i;
  if (i < t.size() && t[i] == '+') ++i;
  return i < t.size() && t[i] == '=' && (w.quoted_from == std::string::npos || w.quoted_from > i);
}

std::string_view Basename(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash + 1 == path.size()) return path;
  return path.substr(slash + 1);
}

// `text` as one shell word: single-quoted, with embedded quotes escaped.
std::string ShellQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

void ParseScript(std::string_view text, int depth, ParseSink* sink) {
  if (sink->Stopped()) return;
  if (depth > kMaxDepth) {
    sink->Stop("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return;
  }
  if (text.size() > kMaxInputBytes) {
    sink->Stop("command line longer than " + std::to_string(kMaxInputBytes) + " bytes");
    return;
  }
  ShellParser parser(text, 0, depth, sink);
  parser.ParseList(/*in_substitution=*/false);
}

}  // namespace jobgate::policy::analysis
