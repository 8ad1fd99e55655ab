// The program and wrapper tables (see command_programs.h).

#include "policy/analysis/command_programs.h"

#include <algorithm>
#include <unordered_map>

namespace jobgate::policy::analysis {
namespace {

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

constexpr std::string_view kShells[] = {"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh"};

}  // namespace

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

const WrapperSpec* FindWrapper(std::string_view name) {
  static const auto* index = [] {
    auto* m = new std::unordered_map<std::string_view, const WrapperSpec*>();
    for (const WrapperSpec& w : kWrappers) m->emplace(w.name, &w);
    return m;
  }();
  const auto it = index->find(name);
  return it == index->end() ? nullptr : it->second;
}

bool IsShell(std::string_view name) {
  return std::find(std::begin(kShells), std::end(kShells), name) != std::end(kShells);
}

}  // namespace jobgate::policy::analysis
