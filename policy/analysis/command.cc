// Shell command analysis (see command.h for the contract).
//
// Two stages. ShellParser lexes and parses one script text into raw simple commands
// (words after quote removal, with pipeline and stdin facts); command substitutions are
// parsed recursively as they are met. Analyzer::Run then unwraps each raw command
// (assignments, wrappers, shells, xargs, find -exec) and emits normalized commands.
// Every recursion goes through a `depth` bounded by kMaxDepth.

#include "policy/analysis/command.h"

#include <algorithm>
#include <array>
#include <span>
#include <unordered_map>

namespace jobgate::policy {
namespace {

// --- Per-program knowledge ------------------------------------------------------------
//
// The only place that knows about particular programs' flags. A program missing here
// gets the defaults: combined short flags split, no aliases, no subcommand.

struct FlagAlias {
  std::string_view from;
  std::string_view to;
};

struct ProgramSpec {
  std::string_view name;
  bool subcommands = false;       // first non-flag word is the subcommand
  bool split_short = true;        // `-rf` is `-r -f`
  bool single_dash_long = false;  // `--x` means `-x` (terraform)
  // Options that take a value (attached, or in the next word): for programs with
  // subcommands only before the subcommand (`git -C dir push`, `kubectl -n prod delete`).
  // The value is kept in argv, not in args.
  std::string_view value_short;
  std::span<const std::string_view> value_long;
  std::span<const FlagAlias> aliases;
};

constexpr FlagAlias kRmAliases[] = {{"-R", "-r"},    {"--recursive", "-r"},   {"--force", "-f"},
                                    {"--dir", "-d"}, {"--interactive", "-i"}, {"--verbose", "-v"}};
constexpr FlagAlias kCpAliases[] = {{"-R", "-r"}, {"--recursive", "-r"}, {"--force", "-f"}};
constexpr FlagAlias kMvAliases[] = {{"--force", "-f"}};
constexpr FlagAlias kChmodAliases[] = {{"--recursive", "-R"}};
constexpr FlagAlias kRmdirAliases[] = {{"--parents", "-p"}};
constexpr FlagAlias kShredAliases[] = {{"--remove", "-u"}, {"--zero", "-z"}};
constexpr FlagAlias kGitAliases[] = {{"--force", "-f"},
                                     {"--delete", "-d"},
                                     {"--quiet", "-q"},
                                     {"--verbose", "-v"},
                                     {"--all", "--all"}};
constexpr FlagAlias kKubectlAliases[] = {{"--namespace", "-n"}, {"--filename", "-f"},
                                         {"--recursive", "-R"}, {"--all-namespaces", "-A"},
                                         {"--selector", "-l"},  {"--output", "-o"}};
constexpr FlagAlias kHelmAliases[] = {{"--namespace", "-n"}};
constexpr FlagAlias kDockerAliases[] = {{"--force", "-f"}, {"--volumes", "-v"}, {"--all", "-a"}};
constexpr FlagAlias kNpmAliases[] = {{"--force", "-f"}, {"--global", "-g"}, {"--save-dev", "-D"}};
constexpr FlagAlias kCurlAliases[] = {{"--output", "-o"},      {"--data", "-d"},
                                      {"--upload-file", "-T"}, {"--form", "-F"},
                                      {"--request", "-X"},     {"--remote-name", "-O"}};
constexpr FlagAlias kWgetAliases[] = {{"--output-document", "-O"}};
constexpr FlagAlias kPsqlAliases[] = {
    {"--command", "-c"}, {"--file", "-f"}, {"--dbname", "-d"}, {"--host", "-h"}};
constexpr FlagAlias kMysqlAliases[] = {{"--execute", "-e"}, {"--host", "-h"}, {"--database", "-D"}};

constexpr std::string_view kGitValueLong[] = {"--git-dir", "--work-tree", "--namespace"};
constexpr std::string_view kKubectlValueLong[] = {
    "--namespace", "--context", "--cluster", "--kubeconfig", "--server", "--user", "--token"};
constexpr std::string_view kHelmValueLong[] = {"--namespace", "--kube-context", "--kubeconfig"};
constexpr std::string_view kDockerValueLong[] = {"--host", "--context", "--config", "--log-level"};
constexpr std::string_view kCloudValueLong[] = {
    "--profile", "--region",       "--output",       "--project",
    "--account", "--endpoint-url", "--subscription", "--configuration"};
constexpr std::string_view kNpmValueLong[] = {"--prefix", "--workspace", "--cwd"};

// Designated initializers leave the other fields at their defaults on purpose; GCC's
// -Wmissing-field-initializers would flag every entry.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
constexpr ProgramSpec kPrograms[] = {
    {.name = "rm", .aliases = kRmAliases},
    {.name = "cp", .aliases = kCpAliases},
    {.name = "mv", .aliases = kMvAliases},
    {.name = "chmod", .aliases = kChmodAliases},
    {.name = "chown", .aliases = kChmodAliases},
    {.name = "chgrp", .aliases = kChmodAliases},
    {.name = "rmdir", .aliases = kRmdirAliases},
    {.name = "shred", .aliases = kShredAliases},
    {.name = "git",
     .subcommands = true,
     .value_short = "Cc",
     .value_long = kGitValueLong,
     .aliases = kGitAliases},
    {.name = "kubectl",
     .subcommands = true,
     .value_short = "ns",
     .value_long = kKubectlValueLong,
     .aliases = kKubectlAliases},
    {.name = "oc",
     .subcommands = true,
     .value_short = "ns",
     .value_long = kKubectlValueLong,
     .aliases = kKubectlAliases},
    {.name = "helm",
     .subcommands = true,
     .value_short = "n",
     .value_long = kHelmValueLong,
     .aliases = kHelmAliases},
    {.name = "terraform", .subcommands = true, .split_short = false, .single_dash_long = true},
    {.name = "tofu", .subcommands = true, .split_short = false, .single_dash_long = true},
    {.name = "docker",
     .subcommands = true,
     .value_short = "Hcl",
     .value_long = kDockerValueLong,
     .aliases = kDockerAliases},
    {.name = "podman",
     .subcommands = true,
     .value_long = kDockerValueLong,
     .aliases = kDockerAliases},
    {.name = "npm", .subcommands = true, .value_long = kNpmValueLong, .aliases = kNpmAliases},
    {.name = "pnpm",
     .subcommands = true,
     .value_short = "C",
     .value_long = kNpmValueLong,
     .aliases = kNpmAliases},
    {.name = "yarn", .subcommands = true, .value_long = kNpmValueLong, .aliases = kNpmAliases},
    {.name = "aws", .subcommands = true, .value_long = kCloudValueLong},
    {.name = "gcloud", .subcommands = true, .value_long = kCloudValueLong},
    {.name = "az", .subcommands = true, .value_long = kCloudValueLong},
    {.name = "gh", .subcommands = true, .value_short = "R"},
    {.name = "cargo", .subcommands = true},
    {.name = "go", .subcommands = true, .split_short = false},
    {.name = "pip", .subcommands = true},
    {.name = "pip3", .subcommands = true},
    {.name = "systemctl", .subcommands = true},
    {.name = "pulumi", .subcommands = true},
    {.name = "vercel", .subcommands = true},
    {.name = "flyctl", .subcommands = true},
    {.name = "heroku", .subcommands = true},
    {.name = "find", .split_short = false},
    {.name = "java", .split_short = false},
    {.name = "curl", .aliases = kCurlAliases},
    {.name = "wget", .aliases = kWgetAliases},
    {.name = "psql", .aliases = kPsqlAliases},
    {.name = "mysql", .aliases = kMysqlAliases},
    {.name = "mariadb", .aliases = kMysqlAliases},
    {.name = "xargs", .value_short = "IdELnPsa"},
    {.name = "ssh", .value_short = "BbcDEeFIiJLlmOoPpQRSWw"},
    {.name = "scp", .value_short = "cFiJlPoS"},
};
#pragma GCC diagnostic pop

const ProgramSpec& FindProgram(std::string_view name) {
  static constexpr ProgramSpec kDefault{};
  // Built once (thread-safe static initialization), read-only afterwards.
  static const auto* index = [] {
    auto* m = new std::unordered_map<std::string_view, const ProgramSpec*>();
    for (const ProgramSpec& spec : kPrograms) m->emplace(spec.name, &spec);
    return m;
  }();
  const auto it = index->find(name);
  return it == index->end() ? kDefault : *it->second;
}

std::string NormalizeFlagWith(const ProgramSpec& spec, std::string_view flag) {
  const size_t eq = flag.find('=');
  if (eq != std::string_view::npos) flag = flag.substr(0, eq);
  std::string out(flag);
  if (spec.single_dash_long && out.size() > 2 && out[0] == '-' && out[1] == '-') out.erase(0, 1);
  for (const FlagAlias& alias : spec.aliases) {
    if (alias.from == out) return std::string(alias.to);
  }
  return out;
}

// Wrappers: programs that run the command given after their own options.
struct WrapperSpec {
  std::string_view name;
  std::string_view value_short;  // short options whose value may be the next word
  std::span<const std::string_view> value_long;
  int positionals = 0;       // words after the options that precede the command (timeout DUR)
  bool assignments = false;  // NAME=value words precede the command (env)
};

constexpr std::string_view kSudoValueLong[] = {
    "--user", "--group",      "--host",  "--prompt",     "--role",
    "--type", "--close-from", "--chdir", "--other-user", "--chroot"};
constexpr std::string_view kEnvValueLong[] = {"--unset", "--chdir"};
constexpr std::string_view kTimeoutValueLong[] = {"--signal", "--kill-after"};
constexpr std::string_view kNiceValueLong[] = {"--adjustment"};
constexpr std::string_view kTimeValueLong[] = {"--format", "--output"};
constexpr std::string_view kChrootValueLong[] = {"--userspec", "--groups"};

constexpr WrapperSpec kWrappers[] = {
    {"sudo", "ugUCDhprtTR", kSudoValueLong},
    {"doas", "uC", {}},
    {"env", "uCS", kEnvValueLong, 0, true},
    {"timeout", "sk", kTimeoutValueLong, 1},
    {"nice", "n", kNiceValueLong},
    {"nohup", "", {}},
    {"command", "", {}},
    {"exec", "a", {}},
    {"time", "fo", kTimeValueLong},
    {"builtin", "", {}},
    {"stdbuf", "ioe", {}},
    {"ionice", "cnpPu", {}},
    {"setsid", "", {}},
    {"chroot", "", kChrootValueLong, 1},
    {"busybox", "", {}},
    {"unbuffer", "", {}},
    {"strace", "eoIpPsSuEXab", {}},
    {"ltrace", "eoIpPsSuEXab", {}},
    {"taskset", "", {}, 1},
    {"flock", "wEC", {}, 1},
    {"pkexec", "", {}},
    {"runuser", "ugG", {}},
    {"unshare", "", {}},
    {"nsenter", "tSG", {}},
    {"proxychains", "f", {}},
    {"proxychains4", "f", {}},
    {"torsocks", "", {}},
    {"firejail", "", {}},
    {"fakeroot", "", {}},
    {"eatmydata", "", {}},
    {"nocache", "", {}},
    {"chronic", "", {}},
    {"faketime", "", {}, 1},
    {"gosu", "", {}, 1},
    {"su-exec", "", {}, 1},
    {"setpriv", "", {}},
    {"numactl", "", {}},
    {"valgrind", "", {}},
    {"catchsegv", "", {}},
    {"xvfb-run", "", {}},
    {"dbus-run-session", "", {}},
    {"tini", "", {}},
    {"dumb-init", "", {}},
    {"npx", "pc", {}},
    {"bunx", "p", {}},
    {"pnpx", "p", {}},
    {"uvx", "", {}},
    {"parallel", "jS", {}},
    {"doppler", "", {}},
};

const WrapperSpec* FindWrapper(std::string_view name) {
  static const auto* index = [] {
    auto* m = new std::unordered_map<std::string_view, const WrapperSpec*>();
    for (const WrapperSpec& w : kWrappers) m->emplace(w.name, &w);
    return m;
  }();
  const auto it = index->find(name);
  return it == index->end() ? nullptr : it->second;
}

constexpr std::string_view kShells[] = {"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh"};

bool IsShell(std::string_view name) {
  return std::find(std::begin(kShells), std::end(kShells), name) != std::end(kShells);
}

// --- Words and raw commands -----------------------------------------------------------

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

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool IsMeta(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '&' || c == '|' ||
         c == '(' || c == ')' || c == '<' || c == '>';
}

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

// Files that `source` may read without making the line opaque: environment setup that
// every developer machine has and that only sets variables and functions.
bool IsKnownSourceFile(const Word& w) {
  if (w.dynamic) return false;
  static constexpr std::string_view kKnown[] = {"~/.bashrc", "~/.profile",   "~/.bash_profile",
                                                "~/.zshrc",  "~/.cargo/env", "~/.nvm/nvm.sh"};
  const std::string& t = w.text;
  if (std::find(std::begin(kKnown), std::end(kKnown), t) != std::end(kKnown)) return true;
  // Python virtual environments: [./]venv/bin/activate, .venv/bin/activate, ...
  constexpr std::string_view kActivate = "/bin/activate";
  return t.size() > kActivate.size() &&
         t.compare(t.size() - kActivate.size(), kActivate.size(), kActivate) == 0 &&
         t.find("..") == std::string::npos && t[0] != '/';
}

class Analyzer;

// Where the options of a wrapper-like program end (defined with the wrappers below).
size_t SkipOptions(std::span<const Word> words, std::string_view value_short,
                   std::span<const std::string_view> value_long, bool assignments,
                   std::string* split_string = nullptr);

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

// Parses one script text. A nested parser handles each $( ) over the same text.
class ShellParser {
 public:
  ShellParser(std::string_view src, size_t pos, int depth, Analyzer* an)
      : src_(src), pos_(pos), depth_(depth), an_(an) {}

  // Parses commands until the end of the text, or (in_substitution) the ')' that closes
  // the current $( ). Then emits every command found through the analyzer.
  void ParseList(bool in_substitution);
  size_t pos() const { return pos_; }

 private:
  struct PendingHeredoc {
    std::string delimiter;
    bool strip_tabs = false;
    bool expands = false;  // unquoted delimiter: the body undergoes expansion
    size_t command = 0;    // index into raw_
  };

  bool Stopped() const;
  void Fail(std::string reason);
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
  Analyzer* an_;
  std::vector<RawCommand> raw_;
  RawCommand current_;
  bool discard_current_ = false;  // words of a `for` / `[[` header, not a command
  int next_pipe_from_ = -1;
  int paren_depth_ = 0;
  std::vector<PendingHeredoc> heredocs_;
};

struct StdinFacts {
  bool piped = false;       // fed by a previous pipeline stage
  bool redirected = false;  // <, <<, <<<
  bool known = false;       // text holds all of it
  std::string text;
  const RawCommand* producer = nullptr;  // the previous pipeline stage, if any
};

class Analyzer {
 public:
  CommandAnalysis result;

  void Opaque(std::string reason) {
    if (!result.opaque) {
      result.opaque = true;
      result.opaque_reason = std::move(reason);
    }
  }
  // Stops all further parsing: what follows cannot be trusted.
  void Stop(std::string reason) {
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

  void ParseScript(std::string_view text, int depth);
  bool EchoedText(const RawCommand& raw, std::string* out) const;
  void EmitRaw(const std::vector<RawCommand>& raw, int depth);
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
  void GitAlias(std::string_view value, std::span<const Word> before,
                std::span<const Word> after, int depth);
  void Assign(const Word& w, int depth);
  void CheckEnvironment(std::string_view name, std::string_view value, int depth);
  void OptionCommands(std::string_view program, std::span<const Word> words, int depth);
};

// --- ShellParser ----------------------------------------------------------------------

bool ShellParser::Stopped() const { return an_->stopped; }
void ShellParser::Fail(std::string reason) { an_->Stop(std::move(reason)); }

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
      an_->Opaque("a here-document runs command substitutions");
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
  bool closed = false;
  while (!Stopped() && pos_ < src_.size()) {
    const char c = src_[pos_];
    const char next = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
    if (IsBlank(c)) {
      ++pos_;
      continue;
    }
    if (c == '#') {  // a comment: we are where a word would start
      while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      continue;
    }
    if (c == '\\' && next == '\n') {  // line continuation
      pos_ += 2;
      continue;
    }
    if (c == '\n') {
      ++pos_;
      EndCommand(false);
      ReadHeredocBodies();
      continue;
    }
    if (c == ';') {
      if (next == ';' || next == '&') {
        Fail("case statements are not analysed");
        break;
      }
      ++pos_;
      EndCommand(false);
      continue;
    }
    if (c == '&') {
      if (next == '>') {
        if (!ReadRedirect()) break;
        continue;
      }
      pos_ += next == '&' ? 2 : 1;
      EndCommand(false);
      continue;
    }
    if (c == '|') {
      const bool is_or = next == '|';
      pos_ += (is_or || next == '&') ? 2 : 1;
      EndCommand(/*pipe_next=*/!is_or);
      continue;
    }
    if (c == '(') {
      if (next == '(' && current_.words.empty()) {  // (( arithmetic )): no command
        int depth = 0;
        size_t i = pos_;
        for (; i < src_.size(); ++i) {
          if (src_[i] == '(') ++depth;
          if (src_[i] == ')' && --depth == 0) break;
        }
        const std::string_view body = src_.substr(pos_, i - pos_);
        if (body.find("$(") != std::string_view::npos || body.find('`') != std::string_view::npos) {
          Fail("command substitution inside arithmetic");
          break;
        }
        if (i >= src_.size()) {
          Fail("unbalanced parentheses");
          break;
        }
        pos_ = i + 1;
        continue;
      }
      if (current_.words.size() == 1) {  // name() { ...; }: a function definition
        size_t j = pos_ + 1;
        while (j < src_.size() && IsBlank(src_[j])) ++j;
        if (j < src_.size() && src_[j] == ')') {
          pos_ = j + 1;
          current_ = RawCommand();
          continue;
        }
      }
      if (!current_.words.empty()) {
        Fail("unexpected '(' after a command word");
        break;
      }
      ++paren_depth_;
      ++pos_;
      continue;
    }
    if (c == ')') {
      ++pos_;
      EndCommand(false);
      if (paren_depth_ > 0) {
        --paren_depth_;
        continue;
      }
      if (in_substitution) {
        closed = true;
        break;
      }
      Fail("unbalanced parentheses: ')' without '('");
      break;
    }
    if ((c == '<' || c == '>') && next != '(') {
      if (!ReadRedirect()) break;
      continue;
    }
    Word w;
    if (!ReadWord(&w)) break;
    // `2>file`: a word of digits right before a redirection is its file descriptor.
    if (!w.quoted && !w.text.empty() && pos_ < src_.size() &&
        (src_[pos_] == '<' || src_[pos_] == '>') &&
        std::all_of(w.text.begin(), w.text.end(), IsDigit)) {
      continue;
    }
    if (current_.words.empty() && !w.quoted && !discard_current_) {
      const std::string& t = w.text;
      if (t == "if" || t == "then" || t == "else" || t == "elif" || t == "fi" || t == "do" ||
          t == "done" || t == "while" || t == "until" || t == "!" || t == "{" || t == "}" ||
          t == "coproc") {
        continue;
      }
      if (t == "case") {
        Fail("case statements are not analysed");
        break;
      }
      if (t == "for" || t == "select" || t == "[[" || t == "function") {
        discard_current_ = true;
      }
    }
    current_.words.push_back(std::move(w));
  }
  EndCommand(false);
  if (!Stopped()) {
    if (in_substitution && !closed) {
      Fail("unbalanced parentheses: '$(' without ')'");
    } else if (paren_depth_ > 0) {
      Fail("unbalanced parentheses: '(' without ')'");
    }
  }
  an_->EmitRaw(raw_, depth_);
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
  const bool dup = (op == ">&" || op == "<&") &&
                   (target.text == "-" || (!target.text.empty() &&
                                           std::all_of(target.text.begin(), target.text.end(),
                                                       IsDigit)));
  if (op != "<<" && op != "<<-" && op != "<<<" && !dup) {
    current_.redirects.push_back(
        Redirection{.writes = op != "<" && op != "<&", .dynamic = target.dynamic,
                    .target = target.text});
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

// Decodes $'...' (ANSI-C quoting) starting at pos_ (the '$').
bool ReadAnsiC(std::string_view src, size_t* pos, std::string* out) {
  size_t i = *pos + 2;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
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
    switch (e) {
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'a':
        out->push_back('\a');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'v':
        out->push_back('\v');
        break;
      case 'e':
      case 'E':
        out->push_back('\x1b');
        break;
      case 'x': {
        int value = 0, digits = 0;
        while (digits < 2 && i < src.size() && hex(src[i]) >= 0) {
          value = value * 16 + hex(src[i++]);
          ++digits;
        }
        if (digits == 0)
          out->append("\\x");
        else
          out->push_back(static_cast<char>(value));
        break;
      }
      case 'u':
      case 'U': {
        const int max_digits = e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        int digits = 0;
        while (digits < max_digits && i < src.size() && hex(src[i]) >= 0) {
          cp = cp * 16 + static_cast<uint32_t>(hex(src[i++]));
          ++digits;
        }
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
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int value = e - '0', digits = 1;
          while (digits < 3 && i < src.size() && src[i] >= '0' && src[i] <= '7') {
            value = value * 8 + (src[i++] - '0');
            ++digits;
          }
          out->push_back(static_cast<char>(value & 0xFF));
        } else {
          out->push_back(e);  // \\ \' \" \? and unknown escapes
        }
    }
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
    int depth = 0;
    size_t i = pos_ + 1;
    for (; i < src_.size(); ++i) {
      if (src_[i] == '(') ++depth;
      if (src_[i] == ')' && --depth == 0) break;
    }
    if (i >= src_.size()) {
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
    int depth = 0;
    size_t i = pos_ + 1;
    for (; i < src_.size(); ++i) {
      if (src_[i] == '{') ++depth;
      if (src_[i] == '}' && --depth == 0) break;
    }
    if (i >= src_.size()) {
      Fail("unbalanced ${...}");
      return false;
    }
    const std::string_view body = src_.substr(start, i + 1 - start);
    if (body.find("$(") != std::string_view::npos || body.find('`') != std::string_view::npos) {
      an_->Opaque("command substitution inside ${...}");
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
  ShellParser inner(src_, pos_, depth_ + 1, an_);
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
  an_->ParseScript(inner, depth_ + 1);
  if (Stopped()) return false;
  w->text.append(src_.substr(start, pos_ - start));
  w->dynamic = true;
  return true;
}

// --- Analyzer -------------------------------------------------------------------------

void Analyzer::ParseScript(std::string_view text, int depth) {
  if (stopped) return;
  if (depth > kMaxDepth) {
    Stop("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return;
  }
  if (text.size() > kMaxInputBytes) {
    Stop("command line longer than " + std::to_string(kMaxInputBytes) + " bytes");
    return;
  }
  ShellParser parser(text, 0, depth, this);
  parser.ParseList(/*in_substitution=*/false);
}

// The words an `echo` or `printf` writes, when they are all literal.
// The words an `echo` or `printf` writes (behind wrappers such as sudo, with variables
// resolved where known). Words with expansions keep their source text ($HOME/x), which
// later analyses treat as unknown (or, for $HOME, as the home directory).
bool Analyzer::EchoedText(const RawCommand& raw, std::string* out) const {
  // Cheap rejection first: most producers are neither echo/printf nor a wrapper.
  {
    size_t k = 0;
    while (k < raw.words.size() && IsAssignment(raw.words[k])) ++k;
    if (k >= raw.words.size()) return false;
    const std::string_view first = Basename(raw.words[k].text);
    if (!raw.words[k].dynamic && first != "echo" && first != "printf" &&
        FindWrapper(first) == nullptr) {
      return false;
    }
  }
  std::vector<Word> words = raw.words;
  if (!vars.empty()) {
    for (Word& w : words) Resolve(&w);
  }
  size_t start = 0;
  while (start < words.size() && IsAssignment(words[start])) ++start;
  while (start < words.size()) {
    const WrapperSpec* spec = FindWrapper(Basename(words[start].text));
    if (spec == nullptr) break;
    const std::span<const Word> rest = std::span<const Word>(words).subspan(start + 1);
    size_t skip = SkipOptions(rest, spec->value_short, spec->value_long, spec->assignments);
    skip = std::min(skip + static_cast<size_t>(spec->positionals), rest.size());
    start += 1 + skip;
  }
  if (start >= words.size() || words[start].dynamic) return false;
  const std::string_view program = Basename(words[start].text);
  if (program != "echo" && program != "printf") return false;
  out->clear();
  bool options = program == "echo";
  for (size_t i = start + 1; i < words.size(); ++i) {
    const Word& w = words[i];
    if (options && (w.text == "-n" || w.text == "-e" || w.text == "-E" || w.text == "-ne")) {
      continue;
    }
    options = false;
    if (!out->empty()) out->push_back(' ');
    out->append(w.text);
  }
  out->push_back('\n');
  return true;
}

void Analyzer::EmitRaw(const std::vector<RawCommand>& raw, int depth) {
  for (const RawCommand& cmd : raw) {
    if (stopped) return;
    StdinFacts in;
    in.redirected = cmd.stdin_redirected;
    if (cmd.stdin_redirected) {
      in.known = cmd.stdin_known;
      in.text = cmd.stdin_text;
    } else if (cmd.pipe_from >= 0 && static_cast<size_t>(cmd.pipe_from) < raw.size()) {
      in.piped = true;
      in.producer = &raw[static_cast<size_t>(cmd.pipe_from)];
      in.known = EchoedText(*in.producer, &in.text);
    }
    const size_t first = result.commands.size();
    Run(cmd.words, in, depth);
    if (cmd.redirects.empty() || stopped) continue;
    if (result.commands.size() == first) {  // `> f` alone, or after assignments only
      SimpleCommand noop;
      noop.program = ":";
      noop.argv.push_back(":");
      result.commands.push_back(std::move(noop));
    }
    std::vector<Redirection>& into = result.commands[first].redirects;
    for (const Redirection& r : cmd.redirects) {
      Redirection copy = r;
      if (copy.dynamic) {
        Word w{.text = copy.target, .dynamic = true};
        Resolve(&w);
        copy.target = w.text;
        copy.dynamic = w.dynamic;
      }
      into.push_back(std::move(copy));
    }
  }
}

void Analyzer::Run(std::span<const Word> words_in, const StdinFacts& in, int depth) {
  if (stopped || !CheckDepth(depth)) return;
  std::vector<Word> resolved;
  std::span<const Word> words = words_in;
  if (!vars.empty()) {
    resolved.assign(words_in.begin(), words_in.end());
    for (Word& w : resolved) Resolve(&w);
    words = resolved;
  }
  size_t i = 0;
  while (i < words.size() && IsAssignment(words[i])) ++i;
  if (i == words.size()) {  // only assignments: they set shell variables
    for (const Word& w : words) Assign(w, depth);
    return;
  }
  for (size_t k = 0; k < i; ++k) {  // NAME=value cmd: the command's environment
    const std::string& t = words[k].text;
    const size_t eq = t.find('=');
    CheckEnvironment(std::string_view(t).substr(0, eq), std::string_view(t).substr(eq + 1),
                     depth);
  }
  if (stopped) return;
  const Word& program_word = words[i];
  if (program_word.dynamic) {
    Opaque("the program name is computed at run time: " + program_word.text);
    return;
  }
  if (program_word.expands && program_word.text != "[") {  // `[ -f x ]` is test
    Opaque("the program name is a glob or brace pattern: " + program_word.text);
    return;
  }
  const std::string_view name = Basename(program_word.text);
  const std::span<const Word> rest = words.subspan(i + 1);
  if (!program_word.quoted && name == program_word.text) {
    for (auto it = aliases.rbegin(); it != aliases.rend(); ++it) {
      if (it->first != name) continue;
      std::string script = it->second;
      for (const Word& w : rest) script += " " + ShellQuote(w.text);
      ParseScript(script, depth + 1);
      return;
    }
  }
  if (name == "export" || name == "declare" || name == "typeset" || name == "local" ||
      name == "readonly") {
    for (const Word& w : rest) {
      if (IsAssignment(w)) Assign(w, depth);
    }
  }
  if (name == "alias") {
    for (const Word& w : rest) {
      const size_t eq = w.text.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      if (aliases.size() < kMaxVariables) {
        aliases.emplace_back(w.text.substr(0, eq), w.text.substr(eq + 1));
      }
      ParseScript(w.text.substr(eq + 1), depth + 1);
    }
  }
  if (name == "git") return RunGit(rest, in, depth);
  OptionCommands(name, rest, depth);
  if (stopped) return;
  if (name == "eval") {
    Emit(name, rest, in);
    Opaque("eval runs a string built at run time");
    return;
  }
  if (name == "source" || name == ".") {
    Emit(name, rest, in);
    if (rest.empty() || !IsKnownSourceFile(rest[0])) {
      Opaque(std::string(name) + " runs a file the policy cannot see");
    }
    return;
  }
  if (IsShell(name)) return RunShell(name, rest, in, depth);
  if (name == "xargs") return RunXargs(rest, in, depth);
  if (name == "find") return RunFind(rest, in, depth);
  if (name == "ssh") return RunSsh(rest, in, depth);
  if (const WrapperSpec* wrapper = FindWrapper(name)) {
    return RunWrapper(*wrapper, name, rest, in, depth);
  }
  Emit(name, rest, in);
}

void Analyzer::Emit(std::string_view program, std::span<const Word> words, const StdinFacts& in) {
  const ProgramSpec& spec = FindProgram(program);
  SimpleCommand cmd;
  cmd.program = std::string(program);
  cmd.argv.push_back(cmd.program);
  if (in.known) cmd.stdin_text = in.text;
  cmd.stdin_unknown = (in.piped || in.redirected) && !in.known;
  bool options_done = false;
  for (size_t k = 0; k < words.size(); ++k) {
    const Word& w = words[k];
    const std::string& t = w.text;
    cmd.argv.push_back(t);
    const bool before_subcommand = spec.subcommands && cmd.subcommand.empty();
    const bool values_apply = !spec.subcommands || before_subcommand;
    if (!options_done && t == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && !w.dynamic && t.size() > 1 && t[0] == '-') {
      if (t[1] == '-' || !spec.split_short || t.size() == 2 || IsDigit(t[1])) {
        cmd.flags.push_back(NormalizeFlagWith(spec, t));
        const size_t eq = t.find('=');
        if (eq != std::string::npos) {
          cmd.args.push_back(t.substr(eq + 1));
        } else if (values_apply && k + 1 < words.size()) {
          const bool takes_value =
              (t.size() == 2 && spec.value_short.find(t[1]) != std::string_view::npos) ||
              std::find(spec.value_long.begin(), spec.value_long.end(), t) != spec.value_long.end();
          if (takes_value) cmd.argv.push_back(words[++k].text);
        }
        continue;
      }
      for (size_t j = 1; j < t.size(); ++j) {
        cmd.flags.push_back(NormalizeFlagWith(spec, std::string("-") + t[j]));
        if (values_apply && spec.value_short.find(t[j]) != std::string_view::npos) {
          if (j + 1 == t.size() && k + 1 < words.size()) cmd.argv.push_back(words[++k].text);
          break;  // the rest of the cluster is the option's value
        }
      }
      continue;
    }
    if (before_subcommand) {
      cmd.subcommand = t;
      continue;
    }
    cmd.args.push_back(t);
  }
  // `git push origin +main` force-pushes main; `git push origin :main` deletes it.
  if (cmd.program == "git" && cmd.subcommand == "push") {
    for (const std::string& a : cmd.args) {
      if (!a.empty() && a[0] == '+') cmd.flags.push_back("-f");
      if (!a.empty() && a[0] == ':' && a.size() > 1) cmd.flags.push_back("-d");
    }
  }
  std::sort(cmd.flags.begin(), cmd.flags.end());
  cmd.flags.erase(std::unique(cmd.flags.begin(), cmd.flags.end()), cmd.flags.end());
  result.commands.push_back(std::move(cmd));
}

// Where the options of a wrapper-like program end: the index of the first word that is
// not an option or an option's value.
size_t SkipOptions(std::span<const Word> words, std::string_view value_short,
                   std::span<const std::string_view> value_long, bool assignments,
                   std::string* split_string) {
  size_t i = 0;
  while (i < words.size()) {
    const std::string& t = words[i].text;
    if (t == "--") return i + 1;
    if (assignments && IsAssignment(words[i])) {
      ++i;
      continue;
    }
    if (t.size() < 2 || t[0] != '-' || words[i].dynamic) return i;
    if (t[1] == '-') {
      const size_t eq = t.find('=');
      const std::string_view name = std::string_view(t).substr(0, eq);
      const bool takes_value =
          std::find(value_long.begin(), value_long.end(), name) != value_long.end();
      if (split_string != nullptr && name == "--split-string") {
        *split_string = eq == std::string::npos ? (i + 1 < words.size() ? words[i + 1].text : "")
                                                : t.substr(eq + 1);
      }
      i += (takes_value && eq == std::string::npos) ? 2 : 1;
      continue;
    }
    bool consumed_next = false;
    for (size_t j = 1; j < t.size(); ++j) {
      if (value_short.find(t[j]) != std::string_view::npos) {
        if (split_string != nullptr && t[j] == 'S') {
          *split_string =
              j + 1 < t.size() ? t.substr(j + 1) : (i + 1 < words.size() ? words[i + 1].text : "");
        }
        consumed_next = j + 1 == t.size();
        break;
      }
    }
    i += consumed_next ? 2 : 1;
  }
  return std::min(i, words.size());
}

void Analyzer::RunWrapper(const WrapperSpec& spec, std::string_view name,
                          std::span<const Word> words, const StdinFacts& in, int depth) {
  std::string split_string;
  size_t start = SkipOptions(words, spec.value_short, spec.value_long, spec.assignments,
                             name == "env" ? &split_string : nullptr);
  start = std::min(start + static_cast<size_t>(spec.positionals), words.size());
  if (spec.assignments) {  // env NAME=value ... cmd
    for (size_t i = 0; i < start; ++i) {
      if (!IsAssignment(words[i])) continue;
      const std::string& t = words[i].text;
      const size_t eq = t.find('=');
      CheckEnvironment(std::string_view(t).substr(0, eq), std::string_view(t).substr(eq + 1),
                       depth);
    }
  }
  if (name == "command") {  // `command -v rm` only looks rm up
    for (size_t i = 0; i < start; ++i) {
      if (words[i].text == "-v" || words[i].text == "-V") return Emit(name, words, in);
    }
  }
  Emit(name, words.first(start), in);
  if (!split_string.empty()) {
    Opaque("env -S splits a string into a command at run time");
    return;
  }
  if (start < words.size()) Run(words.subspan(start), in, depth + 1);
}

void Analyzer::RunShell(std::string_view name, std::span<const Word> words, const StdinFacts& in,
                        int depth) {
  bool has_c = false;
  bool reads_stdin = false;
  size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string& t = words[i].text;
    if (t == "--" || t == "-") {
      ++i;
      break;
    }
    if (t.size() < 2 || (t[0] != '-' && t[0] != '+') || words[i].dynamic) break;
    if (t[1] == '-') {
      if ((t == "--rcfile" || t == "--init-file") && i + 1 < words.size()) ++i;
      continue;
    }
    bool takes_value = false;
    for (size_t j = 1; j < t.size(); ++j) {
      if (t[j] == 'c') has_c = true;
      if (t[j] == 's') reads_stdin = true;
      if (t[j] == 'o' || t[j] == 'O') takes_value = true;
    }
    if (takes_value && i + 1 < words.size()) ++i;
  }
  Emit(name, words.first(i), in);
  if (has_c) {
    if (i >= words.size()) return;  // `bash -c` without a script: an error, runs nothing
    const Word& script = words[i];
    if (script.dynamic) {
      Opaque(std::string(name) + " -c runs a script built at run time");
      return;
    }
    ParseScript(script.text, depth + 1);
    return;
  }
  if (i < words.size() && !reads_stdin) {  // `bash script.sh`: runs a file
    if (words[i].dynamic) {
      Opaque(std::string(name) + " runs a script computed at run time: " + words[i].text);
    }
    return;
  }
  if (in.known) {
    ParseScript(in.text, depth + 1);
  } else if (in.piped || in.redirected) {
    Opaque(std::string(name) + " reads its script from standard input");
  }
}

// The items a `find` expression would produce, for `-exec {}` and `| xargs`: the start
// paths themselves when no test filters them, else paths under them (root/NAME with
// the -name pattern, or root/*).
std::vector<std::string> FindItems(std::span<const Word> words, size_t* expression_start) {
  size_t i = 0;
  while (i < words.size() &&
         (words[i].text == "-H" || words[i].text == "-L" || words[i].text == "-P")) {
    ++i;
  }
  std::vector<std::string> roots;
  for (; i < words.size(); ++i) {
    const std::string& t = words[i].text;
    if ((!t.empty() && t[0] == '-') || t == "(" || t == "!" || t == ",") break;
    roots.push_back(t);
  }
  if (expression_start != nullptr) *expression_start = i;
  if (roots.empty()) roots.push_back(".");
  std::string leaf;
  bool filtered = false;
  bool tested = false;  // a test that can exclude the start path itself (-name, -type, ...)
  for (size_t k = i; k < words.size(); ++k) {
    const std::string& t = words[k].text;
    if (t == "-exec" || t == "-execdir" || t == "-ok" || t == "-okdir") break;
    if (t == "-name" || t == "-iname") {
      filtered = tested = true;
      if (k + 1 < words.size()) leaf = words[k + 1].text;
    } else if (t == "-maxdepth" || t == "-prune" || t == "-mindepth") {
      filtered = true;  // depth limits keep the start path (-mindepth 0 is the default)
      tested = tested || (t == "-mindepth" && k + 1 < words.size() && words[k + 1].text != "0");
    } else if (t.size() > 1 && t[0] == '-' && t != "-print" && t != "-print0" && t != "-delete" &&
               t != "-depth" && t != "-xdev" && t != "-mount" && t != "-follow" && t != "-ls") {
      filtered = tested = true;
    }
  }
  if (!filtered) return roots;
  // Only depth limits: the start paths themselves, and what is under them.
  std::vector<std::string> with_roots;
  if (!tested) with_roots = roots;
  if (leaf.empty()) leaf = "*";
  for (std::string& root : roots) {
    root = (root.empty() || root.back() != '/') ? root + "/" + leaf : root + leaf;
  }
  roots.insert(roots.begin(), with_roots.begin(), with_roots.end());
  return roots;
}

// Replaces `placeholder` in each word by each item; a word without it is kept.
std::vector<Word> Substitute(std::span<const Word> words, std::string_view placeholder,
                             const std::vector<std::string>& items) {
  std::vector<Word> out;
  for (const Word& w : words) {
    const size_t at = w.text.find(placeholder);
    if (at == std::string::npos || items.empty()) {
      out.push_back(w);
      continue;
    }
    for (const std::string& item : items) {
      Word copy = w;
      copy.text.replace(at, placeholder.size(), item);
      out.push_back(std::move(copy));
    }
  }
  return out;
}

void Analyzer::RunFind(std::span<const Word> words, const StdinFacts& in, int depth) {
  size_t expression_start = 0;
  const std::vector<std::string> items = FindItems(words, &expression_start);
  size_t exec_at = words.size();
  for (size_t k = expression_start; k < words.size(); ++k) {
    const std::string& t = words[k].text;
    if (t == "-exec" || t == "-execdir" || t == "-ok" || t == "-okdir") {
      exec_at = k;
      break;
    }
  }
  Emit("find", words.first(std::min(exec_at + 1, words.size())), in);
  // find's args are the paths it acts on (for -delete, -exec): see FindItems.
  result.commands.back().args = items;
  if (exec_at >= words.size()) return;
  size_t end = exec_at + 1;
  while (end < words.size() && words[end].text != ";" && words[end].text != "+") ++end;
  const std::vector<Word> command =
      Substitute(words.subspan(exec_at + 1, end - exec_at - 1), "{}", items);
  Run(command, StdinFacts{}, depth + 1);
  // A second -exec after the terminator.
  if (end + 1 < words.size()) {
    std::vector<Word> again;
    again.push_back(Word{.text = "."});  // keep the roots out; items are already known
    for (size_t k = end + 1; k < words.size(); ++k) again.push_back(words[k]);
    size_t second = again.size();
    for (size_t k = 1; k < again.size(); ++k) {
      const std::string& t = again[k].text;
      if (t == "-exec" || t == "-execdir" || t == "-ok" || t == "-okdir") {
        second = k;
        break;
      }
    }
    if (second < again.size()) {
      size_t stop = second + 1;
      while (stop < again.size() && again[stop].text != ";" && again[stop].text != "+") ++stop;
      const std::vector<Word> next = Substitute(
          std::span<const Word>(again).subspan(second + 1, stop - second - 1), "{}", items);
      Run(next, StdinFacts{}, depth + 1);
    }
  }
}

constexpr std::string_view kXargsValueLong[] = {"--arg-file",  "--delimiter",       "--eof",
                                                "--max-lines", "--max-args",        "--max-procs",
                                                "--max-chars", "--process-slot-var"};

void Analyzer::RunXargs(std::span<const Word> words, const StdinFacts& in, int depth) {
  const size_t start = SkipOptions(words, "aEILnPsd", kXargsValueLong, false);
  Emit("xargs", words.first(start), in);
  // The replace string: -I R, -iR / -i ({}), --replace[=R] ({}).
  std::string replace;
  for (size_t i = 0; i < start; ++i) {
    const std::string& t = words[i].text;
    if (t == "-I" && i + 1 < start)
      replace = words[i + 1].text;
    else if (t.rfind("-I", 0) == 0 && t.size() > 2)
      replace = t.substr(2);
    else if (t == "-i" || t == "--replace")
      replace = "{}";
    else if (t.rfind("-i", 0) == 0 && t.size() > 2 && t[1] == 'i')
      replace = t.substr(2);
    else if (t.rfind("--replace=", 0) == 0)
      replace = t.substr(10);
  }
  // What xargs reads: an echo's words, a here-string, or what a find produces.
  std::vector<std::string> items;
  if (in.known) {
    size_t p = 0;
    const std::string& text = in.text;
    while (p < text.size()) {
      while (p < text.size() && (text[p] == ' ' || text[p] == '\n' || text[p] == '\t')) ++p;
      size_t q = p;
      while (q < text.size() && text[q] != ' ' && text[q] != '\n' && text[q] != '\t') ++q;
      if (q > p) items.emplace_back(text.substr(p, q - p));
      p = q;
    }
  } else if (in.producer != nullptr && !in.producer->words.empty() &&
             Basename(in.producer->words[0].text) == "find") {
    items = FindItems(std::span<const Word>(in.producer->words).subspan(1), nullptr);
  }
  std::vector<Word> command;
  if (start >= words.size()) {
    command.push_back(Word{.text = "echo"});
  } else {
    command.assign(words.begin() + static_cast<ptrdiff_t>(start), words.end());
  }
  if (!replace.empty()) {
    command = Substitute(command, replace, items);
  } else {
    for (const std::string& item : items) command.push_back(Word{.text = item});
  }
  Run(command, StdinFacts{}, depth + 1);
}

// ssh [options] host [command...]: the remote command is parsed as a script.
void Analyzer::RunSsh(std::span<const Word> words, const StdinFacts& in, int depth) {
  static constexpr std::string_view kSshValueLong[] = {""};
  size_t host = SkipOptions(words, "BbcDEeFIiJLlmOoPpQRSWw",
                            std::span<const std::string_view>(kSshValueLong, 0), false);
  const size_t end = std::min(host + 1, words.size());
  Emit("ssh", words.first(end), in);
  if (end >= words.size()) return;
  std::string remote;
  for (size_t k = end; k < words.size(); ++k) {
    if (!remote.empty()) remote.push_back(' ');
    remote.append(words[k].text);
  }
  ParseScript(remote, depth + 1);
}

// --- Variables, aliases and commands hidden in settings ---------------------------------

void Analyzer::Resolve(Word* w) const {
  const std::string* home = nullptr;
  for (const auto& [name, value] : vars) {
    if (name == "HOME") home = &value;
  }
  std::string text = w->text;
  if (home != nullptr && !text.empty() && text[0] == '~' && w->quoted_from != 0 &&
      (text.size() == 1 || text[1] == '/')) {
    text = *home + text.substr(1);
  }
  if (!w->dynamic) {
    w->text = std::move(text);
    return;
  }
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '`') return;
    if (c != '$') {
      out.push_back(c);
      ++i;
      continue;
    }
    size_t start = i + 1;
    size_t end = start;
    bool braced = start < text.size() && text[start] == '{';
    if (braced) ++start;
    end = start;
    if (end >= text.size() || !IsIdentStart(text[end])) return;
    while (end < text.size() && IsIdentChar(text[end])) ++end;
    if (braced && (end >= text.size() || text[end] != '}')) return;
    const std::string_view name = std::string_view(text).substr(start, end - start);
    const std::string* value = nullptr;
    for (const auto& [n, v] : vars) {
      if (n == name) value = &v;
    }
    if (value == nullptr) return;
    out += *value;
    i = end + (braced ? 1 : 0);
  }
  w->text = std::move(out);
  w->dynamic = false;
}

void Analyzer::Assign(const Word& w, int depth) {
  const std::string& t = w.text;
  const size_t eq = t.find('=');
  const bool append = eq > 0 && t[eq - 1] == '+';
  const std::string name = t.substr(0, append ? eq - 1 : eq);
  Word value{.text = t.substr(eq + 1), .dynamic = w.dynamic};
  Resolve(&value);
  CheckEnvironment(name, value.text, depth);
  std::string prior;
  for (auto it = vars.begin(); it != vars.end(); ++it) {
    if (it->first == name) {
      prior = it->second;
      vars.erase(it);
      break;
    }
  }
  if (value.dynamic || vars.size() >= kMaxVariables) return;  // unknown from here on
  vars.emplace_back(name, append ? prior + value.text : value.text);
}

// Environment variables whose value is a command some program runs, and those that
// make programs load code the analysis cannot see.
void Analyzer::CheckEnvironment(std::string_view name, std::string_view value, int depth) {
  static constexpr std::string_view kCommandVars[] = {
      "GIT_SSH_COMMAND", "GIT_SSH",    "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER",
      "GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_PROXY_COMMAND", "PAGER",
      "EDITOR",          "VISUAL",     "MANPAGER",   "LESSOPEN",            "LESSCLOSE",
      "PROMPT_COMMAND",  "RSYNC_RSH",  "SUDO_ASKPASS"};
  static constexpr std::string_view kLoaderVars[] = {
      "LD_PRELOAD", "LD_AUDIT",  "BASH_ENV",       "ENV",         "GIT_CONFIG_PARAMETERS",
      "GIT_CONFIG_COUNT", "PERL5OPT", "RUBYOPT", "GIT_EXEC_PATH", "PYTHONSTARTUP"};
  if (std::find(std::begin(kCommandVars), std::end(kCommandVars), name) != std::end(kCommandVars)) {
    if (!value.empty()) ParseScript(value, depth + 1);
    return;
  }
  if (std::find(std::begin(kLoaderVars), std::end(kLoaderVars), name) != std::end(kLoaderVars) ||
      (name == "NODE_OPTIONS" && (value.find("-r") != std::string_view::npos ||
                                  value.find("require") != std::string_view::npos ||
                                  value.find("import") != std::string_view::npos ||
                                  value.find("loader") != std::string_view::npos))) {
    Opaque(std::string(name) + " makes programs load code the policy cannot see");
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A git setting whose value is a command (`core.sshCommand`, `diff.external`, ...) is
// parsed as shell; `core.hooksPath` and `protocol.*.allow` make the line opaque.
void Analyzer::GitSetting(std::string key, std::string_view value, int depth) {
  key = Lower(key);
  if (key == "core.hookspath") {
    Opaque("git runs hooks from a directory named on the command line");
    return;
  }
  if (key.rfind("protocol.", 0) == 0 && EndsWith(key, ".allow")) {
    Opaque("git protocol settings can run transport commands");
    return;
  }
  static constexpr std::string_view kCommandSuffixes[] = {
      "sshcommand", ".pager",  ".editor", "askpass",  "fsmonitor",  "gitproxy",
      "external",   "program", "helper",  "textconv", "command",    ".clean",
      ".smudge",    ".process", ".driver", ".cmd",    "difffilter", "packobjectshook",
      "uploadpack", "receivepack"};
  bool command = key.rfind("pager.", 0) == 0;
  for (std::string_view suffix : kCommandSuffixes) command = command || EndsWith(key, suffix);
  if (!command || value.empty() || value == "true" || value == "false" ||
      std::all_of(value.begin(), value.end(), IsDigit)) {
    return;
  }
  if (value.front() == '!') value.remove_prefix(1);
  ParseScript(value, depth + 1);
}

// A git alias: `!script` runs a shell script with the arguments appended; any other
// value is the start of a git command line.
void Analyzer::GitAlias(std::string_view value, std::span<const Word> before,
                        std::span<const Word> after, int depth) {
  std::string script;
  if (!value.empty() && value.front() == '!') {
    script = std::string(value.substr(1));
  } else {
    script = "git";
    for (const Word& w : before) script += " " + ShellQuote(w.text);
    script += " ";
    script += value;
  }
  for (const Word& w : after) script += " " + ShellQuote(w.text);
  ParseScript(script, depth + 1);
}

void Analyzer::RunGit(std::span<const Word> words, const StdinFacts& in, int depth) {
  Emit("git", words, in);
  std::vector<std::pair<std::string, std::string>> git_aliases;
  size_t sub = words.size();
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& t = words[i].text;
    std::string setting;
    if (t == "-c" && i + 1 < words.size()) {
      if (words[i + 1].dynamic) Opaque("a git setting is computed at run time");
      setting = words[++i].text;
    } else if (t.size() > 2 && t.rfind("-c", 0) == 0) {
      setting = t.substr(2);
    } else if (t == "-C" || t == "--git-dir" || t == "--work-tree" || t == "--namespace" ||
               t == "--config-env") {
      if (t == "--config-env") Opaque("git reads a setting from the environment");
      ++i;
      continue;
    } else if (t.rfind("--exec-path=", 0) == 0 || t.rfind("--config-env=", 0) == 0) {
      Opaque("git runs commands from a path or setting named on the command line");
      continue;
    } else if (!t.empty() && t[0] == '-') {
      continue;
    } else {
      sub = i;
      break;
    }
    const size_t eq = setting.find('=');
    const std::string key = Lower(std::string_view(setting).substr(0, eq));
    const std::string value = eq == std::string::npos ? "" : setting.substr(eq + 1);
    if (key.rfind("alias.", 0) == 0) {
      git_aliases.emplace_back(key.substr(6), value);
    } else {
      GitSetting(key, value, depth);
    }
  }
  if (sub >= words.size() || stopped) return;
  const std::string& subcommand = words[sub].text;
  for (auto it = git_aliases.rbegin(); it != git_aliases.rend(); ++it) {
    if (it->first == Lower(subcommand)) {
      return GitAlias(it->second, words.first(sub), words.subspan(sub + 1), depth);
    }
  }
  for (size_t i = sub + 1; i < words.size(); ++i) {
    if (words[i].text.rfind("ext::", 0) == 0) Opaque("git's ext:: transport runs a command");
  }
  if (subcommand != "config") return;
  // git config [options] KEY VALUE: a setting or alias that later commands will use.
  std::vector<const Word*> operands;
  for (size_t i = sub + 1; i < words.size(); ++i) {
    const std::string& t = words[i].text;
    if (t == "-f" || t == "--file" || t == "--blob" || t == "--type") {
      ++i;
      continue;
    }
    if (!t.empty() && t[0] == '-' && operands.empty()) continue;  // the value may start with '-'
    operands.push_back(&words[i]);
  }
  if (operands.size() < 2) return;
  const std::string key = Lower(operands[0]->text);
  if (key.rfind("alias.", 0) == 0) {
    return GitAlias(operands[1]->text, {}, {}, depth);
  }
  GitSetting(key, operands[1]->text, depth);
}

// Options whose value is a command the program runs: tar's --to-command and -I, rsync's
// -e, ssh's ProxyCommand, scp's -S, zip's -TT, su/runuser/script/flock -c, vim's -c.
void Analyzer::OptionCommands(std::string_view program, std::span<const Word> words, int depth) {
  struct CommandOption {
    std::string_view program;
    std::string_view option;  // "-x" (value attached or next) or "--long" (=value or next)
  };
  static constexpr CommandOption kOptions[] = {
      {"tar", "--to-command"},   {"tar", "--use-compress-program"}, {"tar", "-I"},
      {"tar", "--rsh-command"},  {"tar", "--info-script"},          {"tar", "--new-volume-script"},
      {"rsync", "-e"},           {"rsync", "--rsh"},                {"rsync", "--rsync-path"},
      {"scp", "-S"},             {"zip", "-TT"},                    {"zip", "--unzip-command"},
      {"su", "-c"},              {"su", "--command"},               {"runuser", "-c"},
      {"runuser", "--command"},  {"script", "-c"},                  {"script", "--command"},
      {"flock", "-c"},           {"flock", "--command"},            {"watch", ""},
      {"sg", ""},
  };
  static constexpr std::string_view kPrograms[] = {
      "tar", "rsync", "scp", "zip", "su", "runuser", "script", "flock", "watch", "sg",
      "ssh", "sftp", "vim", "vi", "nvim", "ex", "view"};
  if (std::find(std::begin(kPrograms), std::end(kPrograms), program) == std::end(kPrograms)) {
    return;
  }
  if (program == "watch" || program == "sg") {  // the rest is a shell string
    std::string script;
    size_t i = 0;
    while (i < words.size() && !words[i].text.empty() && words[i].text[0] == '-') {
      const std::string& t = words[i].text;
      i += (t == "-n" || t == "-d" || t == "--interval") ? 2 : 1;
    }
    if (program == "sg") ++i;  // the group
    for (; i < words.size(); ++i) script += (script.empty() ? "" : " ") + words[i].text;
    if (!script.empty()) ParseScript(script, depth + 1);
    return;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& t = words[i].text;
    std::string value;
    bool found = false;
    for (const CommandOption& o : kOptions) {
      if (o.program != program || o.option.empty()) continue;
      const bool cluster = o.option.size() == 2 && o.option[1] != '-' && t.size() > 2 &&
                           t[0] == '-' && t[1] != '-' && t.back() == o.option[1] &&
                           std::all_of(t.begin() + 1, t.end(), IsIdentChar);
      if ((t == o.option || cluster) && i + 1 < words.size()) {  // `-c CMD`, `-qc CMD`
        value = words[i + 1].text;
        found = true;
      } else if (t.size() > o.option.size() && t.rfind(o.option, 0) == 0 &&
                 (t[o.option.size()] == '=' || o.option[1] != '-')) {
        value = t.substr(o.option.size() + (t[o.option.size()] == '=' ? 1 : 0));
        found = true;
      }
      if (found) break;
    }
    if (!found && (program == "ssh" || program == "scp" || program == "sftp")) {
      std::string opt;
      if (t == "-o" && i + 1 < words.size()) opt = words[i + 1].text;
      if (t.size() > 2 && t.rfind("-o", 0) == 0) opt = t.substr(2);
      const std::string key = Lower(std::string_view(opt).substr(0, opt.find_first_of("= ")));
      if (key == "proxycommand" || key == "localcommand" || key == "knownhostscommand" ||
          key == "remotecommand") {
        value = opt.substr(std::min(opt.size(), key.size() + 1));
        found = true;
      }
    }
    if (!found && (program == "vim" || program == "vi" || program == "nvim" || program == "ex" ||
                   program == "view")) {
      std::string cmd;
      if ((t == "-c" || t == "--cmd") && i + 1 < words.size()) cmd = words[i + 1].text;
      if (t.size() > 1 && t[0] == '+') cmd = t.substr(1);
      const size_t bang = cmd.find('!');
      if (bang != std::string::npos) {
        value = cmd.substr(bang + 1);
        found = true;
      } else if (cmd.find("py") != std::string::npos || cmd.find("lua") != std::string::npos ||
                 cmd.find("system") != std::string::npos || cmd.find("perl") != std::string::npos ||
                 cmd.find("ruby") != std::string::npos) {
        Opaque("vim runs an editor command the policy cannot see");
        return;
      }
    }
    if (!found) continue;
    if (program == "tar" && value.rfind("exec=", 0) == 0) value = value.substr(5);
    if (!value.empty()) ParseScript(value, depth + 1);
    if (stopped) return;
  }
  if (program == "tar") {  // --checkpoint-action=exec=CMD
    for (const Word& w : words) {
      const size_t at = w.text.find("exec=");
      if (w.text.rfind("--checkpoint-action", 0) == 0 && at != std::string::npos) {
        ParseScript(w.text.substr(at + 5), depth + 1);
      }
    }
  }
}

}  // namespace

CommandAnalysis AnalyzeCommandLine(std::string_view line) {
  Analyzer an;
  an.ParseScript(line, 0);
  return std::move(an.result);
}

CommandAnalysis AnalyzeArgv(const std::vector<std::string>& argv) {
  Analyzer an;
  std::vector<Word> words;
  words.reserve(argv.size());
  for (const std::string& a : argv)
    words.push_back(Word{.text = a, .quoted = true, .quoted_from = 0});
  an.Run(words, StdinFacts{}, 0);
  return std::move(an.result);
}

std::string UrlHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return {};
  for (size_t i = 0; i < scheme; ++i) {
    const char c = url[i];
    if (!IsIdentChar(c) && c != '+' && c != '-' && c != '.') return {};
  }
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const size_t close = rest.find(']');
    rest = rest.substr(1, close == std::string_view::npos ? rest.size() - 1 : close - 1);
  } else {
    rest = rest.substr(0, rest.find(':'));
  }
  std::string host;
  for (char c : rest) host.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
  return host;
}

std::vector<std::string> CommandHosts(const SimpleCommand& cmd) {
  std::vector<std::string> hosts;
  auto add = [&hosts](std::string_view h) {
    std::string host;
    for (char c : h) host.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
    if (!host.empty()) hosts.push_back(std::move(host));
  };
  const std::string& p = cmd.program;
  const bool remote_paths = p == "scp" || p == "sftp" || p == "rsync";
  const bool first_is_host = p == "ssh" || p == "nc" || p == "ncat" || p == "netcat" ||
                             p == "telnet" || p == "sftp" || p == "mosh";
  for (size_t i = 0; i < cmd.args.size(); ++i) {
    const std::string& a = cmd.args[i];
    const std::string url_host = UrlHost(a);
    if (!url_host.empty()) {
      add(url_host);
      continue;
    }
    std::string_view target = a;
    const size_t at = target.find('@');
    if (at != std::string_view::npos) target.remove_prefix(at + 1);
    if (remote_paths) {
      const size_t colon = target.find(':');
      if (colon != std::string_view::npos && colon > 0 && a.find('/') > colon) {
        add(target.substr(0, colon));
        continue;
      }
    }
    if (first_is_host && i == 0) add(target);
  }
  return hosts;
}

bool SplitsShortFlags(std::string_view program) { return FindProgram(program).split_short; }

std::string NormalizeFlag(std::string_view program, std::string_view flag) {
  return NormalizeFlagWith(FindProgram(program), flag);
}

}  // namespace jobgate::policy
