// Shell command analysis (see command.h for the contract).
//
// Two stages. The shell parser (shell_parser.h) reads one script text into raw simple
// commands: words after quote removal, with pipeline and stdin facts; command
// substitutions are parsed recursively as they are met. The Analyzer (command_analyzer.h)
// then unwraps each raw command (assignments, wrappers, shells, xargs, find -exec) and
// emits normalized commands; what programs' flags mean is in command_programs.h. Every
// recursion goes through a `depth` bounded by kMaxDepth.

#include "policy/analysis/command.h"

#include <algorithm>
#include <span>

#include "base/ascii.h"
#include "policy/analysis/command_analyzer.h"

namespace jobgate::policy {
namespace analysis {
namespace {

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

// Where the options of a wrapper-like program end: the index of the first word that is
// not an option or an option's value.
size_t SkipOptions(std::span<const Word> words, std::string_view value_short,
                   std::span<const std::string_view> value_long, bool assignments,
                   std::string* split_string = nullptr) {
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

}  // namespace

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
    CheckEnvironment(std::string_view(t).substr(0, eq), std::string_view(t).substr(eq + 1), depth);
  }
  if (stopped) return;
  const Word& program_word = words[i];
  if (!ProgramNameKnown(program_word)) return;
  const std::string_view name = Basename(program_word.text);
  const std::span<const Word> rest = words.subspan(i + 1);
  if (ExpandAlias(program_word, name, rest, depth)) return;
  Declare(name, rest, depth);
  RunProgram(name, rest, in, depth);
}

bool Analyzer::ProgramNameKnown(const Word& program_word) {
  if (program_word.dynamic) {
    Opaque("the program name is computed at run time: " + program_word.text);
    return false;
  }
  if (program_word.expands && program_word.text != "[") {  // `[ -f x ]` is test
    Opaque("the program name is a glob or brace pattern: " + program_word.text);
    return false;
  }
  return true;
}

bool Analyzer::ExpandAlias(const Word& program_word, std::string_view name,
                           std::span<const Word> rest, int depth) {
  if (program_word.quoted || name != program_word.text) return false;
  for (auto it = aliases.rbegin(); it != aliases.rend(); ++it) {
    if (it->first != name) continue;
    std::string script = it->second;
    for (const Word& w : rest) script += " " + ShellQuote(w.text);
    ParseScript(script, depth + 1);
    return true;
  }
  return false;
}

void Analyzer::Declare(std::string_view name, std::span<const Word> rest, int depth) {
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
}

void Analyzer::RunProgram(std::string_view name, std::span<const Word> rest, const StdinFacts& in,
                          int depth) {
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

}  // namespace analysis

using analysis::Analyzer;
using analysis::FindProgram;
using analysis::IsIdentChar;
using analysis::NormalizeFlagWith;
using analysis::StdinFacts;
using analysis::Word;

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
  return AsciiLower(rest);
}

std::vector<std::string> CommandHosts(const SimpleCommand& cmd) {
  std::vector<std::string> hosts;
  auto add = [&hosts](std::string_view h) {
    std::string host = AsciiLower(h);
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
