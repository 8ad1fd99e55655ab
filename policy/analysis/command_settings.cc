// What variables, aliases and configuration hide: the Analyzer's steps that resolve
// `$NAME` and aliases defined earlier in the line, and that find the commands carried
// by git settings and aliases, command-valued environment variables, and the command
// options of tar, rsync, ssh, scp, zip and vim (see command_analyzer.h).

#include <algorithm>
#include <string>

#include "base/ascii.h"
#include "policy/analysis/command_analyzer.h"

namespace jobgate::policy::analysis {
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
  static constexpr std::string_view kCommandVars[] = {"GIT_SSH_COMMAND",
                                                      "GIT_SSH",
                                                      "GIT_EDITOR",
                                                      "GIT_SEQUENCE_EDITOR",
                                                      "GIT_PAGER",
                                                      "GIT_EXTERNAL_DIFF",
                                                      "GIT_ASKPASS",
                                                      "SSH_ASKPASS",
                                                      "GIT_PROXY_COMMAND",
                                                      "PAGER",
                                                      "EDITOR",
                                                      "VISUAL",
                                                      "MANPAGER",
                                                      "LESSOPEN",
                                                      "LESSCLOSE",
                                                      "PROMPT_COMMAND",
                                                      "RSYNC_RSH",
                                                      "SUDO_ASKPASS"};
  static constexpr std::string_view kLoaderVars[] = {
      "LD_PRELOAD",       "LD_AUDIT", "BASH_ENV", "ENV",           "GIT_CONFIG_PARAMETERS",
      "GIT_CONFIG_COUNT", "PERL5OPT", "RUBYOPT",  "GIT_EXEC_PATH", "PYTHONSTARTUP"};
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

// A git setting whose value is a command (`core.sshCommand`, `diff.external`, ...) is
// parsed as shell; `core.hooksPath` and `protocol.*.allow` make the line opaque.
void Analyzer::GitSetting(std::string key, std::string_view value, int depth) {
  key = AsciiLower(key);
  if (key == "core.hookspath") {
    Opaque("git runs hooks from a directory named on the command line");
    return;
  }
  if (key.rfind("protocol.", 0) == 0 && key.ends_with(".allow")) {
    Opaque("git protocol settings can run transport commands");
    return;
  }
  static constexpr std::string_view kCommandSuffixes[] = {
      "sshcommand", ".pager",     ".editor",         "askpass",    "fsmonitor",
      "gitproxy",   "external",   "program",         "helper",     "textconv",
      "command",    ".clean",     ".smudge",         ".process",   ".driver",
      ".cmd",       "difffilter", "packobjectshook", "uploadpack", "receivepack"};
  bool command = key.rfind("pager.", 0) == 0;
  for (std::string_view suffix : kCommandSuffixes) command = command || key.ends_with(suffix);
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
    const std::string key = AsciiLower(std::string_view(setting).substr(0, eq));
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
    if (it->first == AsciiLower(subcommand)) {
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
  const std::string key = AsciiLower(operands[0]->text);
  if (key.rfind("alias.", 0) == 0) {
    return GitAlias(operands[1]->text, {}, {}, depth);
  }
  GitSetting(key, operands[1]->text, depth);
}

// Options whose value is a command the program runs: tar's --to-command and -I, rsync's
// -e, ssh's ProxyCommand, scp's -S, zip's -TT, su/runuser/script/flock -c, vim's -c.
namespace {

// An option whose value is a command, by program.
struct CommandOption {
  std::string_view program;
  std::string_view option;  // "-x" (value attached or next) or "--long" (=value or next)
};

constexpr CommandOption kCommandOptions[] = {
    {"tar", "--to-command"},
    {"tar", "--use-compress-program"},
    {"tar", "-I"},
    {"tar", "--rsh-command"},
    {"tar", "--info-script"},
    {"tar", "--new-volume-script"},
    {"rsync", "-e"},
    {"rsync", "--rsh"},
    {"rsync", "--rsync-path"},
    {"scp", "-S"},
    {"zip", "-TT"},
    {"zip", "--unzip-command"},
    {"su", "-c"},
    {"su", "--command"},
    {"runuser", "-c"},
    {"runuser", "--command"},
    {"script", "-c"},
    {"script", "--command"},
    {"flock", "-c"},
    {"flock", "--command"},
};

// Programs with a command in an option, an ssh -o setting, an editor command, or (watch,
// sg) the whole rest of the line.
constexpr std::string_view kCommandOptionPrograms[] = {
    "tar", "rsync", "scp",  "zip", "su", "runuser", "script", "flock", "watch",
    "sg",  "ssh",   "sftp", "vim", "vi", "nvim",    "ex",     "view"};

bool IsVim(std::string_view program) {
  return program == "vim" || program == "vi" || program == "nvim" || program == "ex" ||
         program == "view";
}

// The value of one of kCommandOptions at words[i]: `-c CMD`, `-qc CMD`, `-cCMD`,
// `--command=CMD`, `--command CMD`.
bool ListedOptionValue(std::string_view program, std::span<const Word> words, size_t i,
                       std::string* value) {
  const std::string& t = words[i].text;
  for (const CommandOption& o : kCommandOptions) {
    if (o.program != program) continue;
    const bool cluster = o.option.size() == 2 && o.option[1] != '-' && t.size() > 2 &&
                         t[0] == '-' && t[1] != '-' && t.back() == o.option[1] &&
                         std::all_of(t.begin() + 1, t.end(), IsIdentChar);
    if ((t == o.option || cluster) && i + 1 < words.size()) {
      *value = words[i + 1].text;
      return true;
    }
    if (t.size() > o.option.size() && t.rfind(o.option, 0) == 0 &&
        (t[o.option.size()] == '=' || o.option[1] != '-')) {
      *value = t.substr(o.option.size() + (t[o.option.size()] == '=' ? 1 : 0));
      return true;
    }
  }
  return false;
}

// The command of an ssh `-o ProxyCommand=...` (or LocalCommand, KnownHostsCommand,
// RemoteCommand) at words[i].
bool SshCommandSetting(std::span<const Word> words, size_t i, std::string* value) {
  const std::string& t = words[i].text;
  std::string opt;
  if (t == "-o" && i + 1 < words.size()) opt = words[i + 1].text;
  if (t.size() > 2 && t.rfind("-o", 0) == 0) opt = t.substr(2);
  const std::string key = AsciiLower(std::string_view(opt).substr(0, opt.find_first_of("= ")));
  if (key == "proxycommand" || key == "localcommand" || key == "knownhostscommand" ||
      key == "remotecommand") {
    *value = opt.substr(std::min(opt.size(), key.size() + 1));
    return true;
  }
  return false;
}

enum class EditorCommand { kNone, kShell, kOpaque };

// An editor command at words[i] (`-c CMD`, `--cmd CMD`, `+CMD`): `!shell` runs the shell
// command put in `value`; a script language (python, lua, perl, ruby, system()) cannot
// be followed.
EditorCommand VimCommand(std::span<const Word> words, size_t i, std::string* value) {
  const std::string& t = words[i].text;
  std::string cmd;
  if ((t == "-c" || t == "--cmd") && i + 1 < words.size()) cmd = words[i + 1].text;
  if (t.size() > 1 && t[0] == '+') cmd = t.substr(1);
  const size_t bang = cmd.find('!');
  if (bang != std::string::npos) {
    *value = cmd.substr(bang + 1);
    return EditorCommand::kShell;
  }
  if (cmd.find("py") != std::string::npos || cmd.find("lua") != std::string::npos ||
      cmd.find("system") != std::string::npos || cmd.find("perl") != std::string::npos ||
      cmd.find("ruby") != std::string::npos) {
    return EditorCommand::kOpaque;
  }
  return EditorCommand::kNone;
}

// The shell string of `watch [options] CMD...` or `sg GROUP CMD...`.
std::string TrailingScript(std::string_view program, std::span<const Word> words) {
  std::string script;
  size_t i = 0;
  while (i < words.size() && !words[i].text.empty() && words[i].text[0] == '-') {
    const std::string& t = words[i].text;
    i += (t == "-n" || t == "-d" || t == "--interval") ? 2 : 1;
  }
  if (program == "sg") ++i;  // the group
  for (; i < words.size(); ++i) script += (script.empty() ? "" : " ") + words[i].text;
  return script;
}

}  // namespace

void Analyzer::OptionCommands(std::string_view program, std::span<const Word> words, int depth) {
  if (std::find(std::begin(kCommandOptionPrograms), std::end(kCommandOptionPrograms), program) ==
      std::end(kCommandOptionPrograms)) {
    return;
  }
  if (program == "watch" || program == "sg") {  // the rest is a shell string
    const std::string script = TrailingScript(program, words);
    if (!script.empty()) ParseScript(script, depth + 1);
    return;
  }
  const bool ssh = program == "ssh" || program == "scp" || program == "sftp";
  for (size_t i = 0; i < words.size(); ++i) {
    std::string value;
    bool found = ListedOptionValue(program, words, i, &value);
    if (!found && ssh) found = SshCommandSetting(words, i, &value);
    if (!found && IsVim(program)) {
      const EditorCommand editor = VimCommand(words, i, &value);
      if (editor == EditorCommand::kOpaque) {
        Opaque("vim runs an editor command the policy cannot see");
        return;
      }
      found = editor == EditorCommand::kShell;
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

}  // namespace jobgate::policy::analysis
