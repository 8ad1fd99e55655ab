// Shell completion generated from the CLI definition: every visible verb and option of
// the real command tree is in both scripts, bash completes each command path to exactly
// its subcommands (run in a real bash), and the hidden verb prints the same scripts.
#include "cli/completion.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "cli/cli.h"

namespace jobgate::gate {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult Shell(const std::string& command) {
  RunResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool HaveShell(const std::string& shell) {
  return Shell("command -v " + shell + " >/dev/null 2>&1").exit_code == 0;
}

// A visible command: its words from the root, its visible subcommands and long options.
struct Command {
  std::vector<std::string> words;
  std::set<std::string> subcommands;
  std::set<std::string> long_options;
  std::set<std::string> flags;  // long options that take no value
};

// Walks the tree independently of cli/completion.cc.
void Walk(const CLI::App& app, std::vector<std::string> words, std::vector<Command>* out) {
  Command command{words, {}, {}, {}};
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;
    for (const std::string& name : opt->get_lnames()) {
      command.long_options.insert("--" + name);
      if (opt->get_items_expected_max() == 0) command.flags.insert("--" + name);
    }
  }
  std::vector<const CLI::App*> children;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name().empty() || sub->get_group().empty()) continue;
    command.subcommands.insert(sub->get_name());
    children.push_back(sub);
  }
  out->push_back(command);
  for (const CLI::App* sub : children) {
    std::vector<std::string> child_words = words;
    child_words.push_back(sub->get_name());
    Walk(*sub, child_words, out);
  }
}

class CompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DefineCli(app_, &exit_code_);
    Walk(app_, {}, &commands_);
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("jobgate-completion-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

  // What bash offers for `jobgate <words...> <cur>` with the generated script loaded.
  std::set<std::string> BashOffers(const std::string& script, const std::vector<std::string>& words,
                                   const std::string& cur) {
    std::string array = "jobgate";
    for (const std::string& w : words) array += " '" + w + "'";
    array += " '" + cur + "'";
    const std::string probe =
        Write("probe.sh", "source '" + script + "'\nCOMP_WORDS=(" + array +
                              ")\nCOMP_CWORD=" + std::to_string(words.size() + 1) +
                              "\n_jobgate\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n");
    const RunResult r = Shell("bash --norc --noprofile " + probe + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::set<std::string> offers;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) offers.insert(line);
    }
    return offers;
  }

  CLI::App app_{"jobgate"};
  int exit_code_ = 0;
  std::vector<Command> commands_;
  fs::path dir_;
};

TEST_F(CompletionTest, TheTreeHasTheKnownVerbs) {
  // Guards the walk itself: an empty walk would make every other test vacuous.
  std::set<std::string> paths;
  for (const Command& c : commands_) {
    std::string path;
    for (const std::string& w : c.words) path += "/" + w;
    paths.insert(path);
  }
  for (const char* path :
       {"/check", "/eval", "/test", "/simulate", "/run", "/submit", "/policy/publish",
        "/policy/rollback", "/approvals/approve", "/hook/claude-code"}) {
    EXPECT_EQ(paths.count(path), 1u) << path;
  }
  EXPECT_EQ(paths.count("/completion"), 0u) << "the completion verb is hidden";
}

TEST_F(CompletionTest, EveryVerbAndOptionIsInBothScripts) {
  const std::string bash = BashCompletion(app_, "jobgate");
  const std::string zsh = ZshCompletion(app_, "jobgate");
  for (const Command& c : commands_) {
    std::string path;
    for (const std::string& w : c.words) path += "/" + w;
    if (!path.empty()) {
      EXPECT_NE(bash.find(path), std::string::npos) << path;
      EXPECT_NE(zsh.find(path), std::string::npos) << path;
    }
    for (const std::string& option : c.long_options) {
      EXPECT_NE(bash.find(option), std::string::npos) << path << " " << option;
      EXPECT_NE(zsh.find("'" + option + ":"), std::string::npos) << path << " " << option;
    }
  }
  EXPECT_EQ(bash.find("/completion"), std::string::npos);
  EXPECT_EQ(zsh.find("/completion"), std::string::npos);
}

TEST_F(CompletionTest, TheHiddenVerbPrintsTheSameScripts) {
  for (const std::string shell : {"bash", "zsh"}) {
    const RunResult r = Shell(std::string(JOBGATE_BINARY) + " completion " + shell);
    EXPECT_EQ(r.exit_code, 0) << shell;
    EXPECT_EQ(r.output,
              shell == "bash" ? BashCompletion(app_, "jobgate") : ZshCompletion(app_, "jobgate"));
  }
  const RunResult fish = Shell(std::string(JOBGATE_BINARY) + " completion fish 2>&1");
  EXPECT_EQ(fish.exit_code, 2) << fish.output;
  const RunResult help = Shell(std::string(JOBGATE_BINARY) + " --help 2>&1");
  EXPECT_EQ(help.output.find("completion"), std::string::npos) << help.output;
}

TEST_F(CompletionTest, BashCompletesEveryCommandPathToItsSubcommands) {
  if (!HaveShell("bash")) GTEST_SKIP() << "bash not installed";
  const std::string script = Write("jobgate.bash", BashCompletion(app_, "jobgate"));
  ASSERT_EQ(Shell("bash -n " + script + " 2>&1").exit_code, 0);
  for (const Command& c : commands_) {
    EXPECT_EQ(BashOffers(script, c.words, ""), c.subcommands) << ::testing::PrintToString(c.words);
    // Options: what is offered for "--" is exactly the command's long options.
    EXPECT_EQ(BashOffers(script, c.words, "--"), c.long_options)
        << ::testing::PrintToString(c.words);
  }
  // After a flag the command's subcommands are offered again; after an option that takes
  // a value nothing is (file names).
  size_t flags = 0, valued = 0;
  for (const Command& c : commands_) {
    for (const std::string& option : c.long_options) {
      std::vector<std::string> words = c.words;
      words.push_back(option);
      const bool flag = c.flags.count(option) > 0;
      (flag ? flags : valued)++;
      EXPECT_EQ(BashOffers(script, words, ""), flag ? c.subcommands : std::set<std::string>{})
          << ::testing::PrintToString(words);
    }
  }
  EXPECT_GT(flags, 10u);
  EXPECT_GT(valued, 10u);
  // Prefixes narrow, values fall back to file names (nothing offered by the function).
  EXPECT_EQ(BashOffers(script, {}, "pol"), std::set<std::string>{"policy"});
  EXPECT_EQ(BashOffers(script, {"policy"}, "ro"), std::set<std::string>{"rollback"});
  EXPECT_EQ(BashOffers(script, {"run", "--config"}, ""), std::set<std::string>{});
  // A value that happens to be a verb name does not move into that verb.
  EXPECT_EQ(BashOffers(script, {"submit", "--topic", "check"}, "--q"), std::set<std::string>{});
}

TEST_F(CompletionTest, ZshScriptParses) {
  if (!HaveShell("zsh")) GTEST_SKIP() << "zsh not installed: only the text was checked";
  const std::string script = Write("_jobgate", ZshCompletion(app_, "jobgate"));
  const RunResult r = Shell("zsh -n " + script + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Loaded by compinit from $fpath, the function is found and defined.
  const RunResult loaded = Shell("zsh -f -c 'fpath=(" + dir_.string() +
                                 " $fpath); autoload -Uz compinit; compinit -u -D; "
                                 "print -r -- ${_comps[jobgate]}' 2>&1");
  EXPECT_EQ(loaded.exit_code, 0) << loaded.output;
  EXPECT_EQ(loaded.output, "_jobgate\n") << loaded.output;
}

TEST(CompletionNames, WordsThatAreNotPlainAreLeftOut) {
  CLI::App app{"x"};
  app.add_subcommand("ok", "fine");
  app.add_subcommand("bad;rm", "not a plain word");
  app.add_subcommand("it's", "quote in the name");
  app.add_flag("--fine")->description("a 'quoted' description: with a colon\nand a newline");
  const std::string bash = BashCompletion(app, "x");
  const std::string zsh = ZshCompletion(app, "x");
  for (const std::string& s : {bash, zsh}) {
    EXPECT_NE(s.find("/ok"), std::string::npos);
    EXPECT_EQ(s.find("bad;rm"), std::string::npos);
    EXPECT_EQ(s.find("it's"), std::string::npos);
  }
  EXPECT_NE(zsh.find("'--fine:a '\\''quoted'\\'' description: with a colon and a newline'"),
            std::string::npos)
      << zsh;
}

}  // namespace
}  // namespace jobgate::gate
