// Effects of analysed commands (see command_effects.h for the contract).
//
// One pass over the analysed commands in order. A per-program table (kTable) names the
// model of each program; each model turns a command's argv, args, flags and stdin facts
// into effects. Paths resolve against the current directory of the line (the workspace,
// moved by `cd`), then are classified by ClassifyPath.

#include "base/ascii.h"
#include "policy/analysis/command_effects.h"

#include <algorithm>
#include <unordered_map>

#include "policy/analysis/path.h"

namespace jobgate::policy {
namespace {

enum class Model : uint8_t {
  kRead,         // every non-flag argument is read (the default for known tools)
  kText,         // arguments are text, not paths (echo, printf, test, ...)
  kDelete,       // arguments deleted; recursive with -r
  kDeleteTree,   // arguments deleted recursively (rimraf, trash)
  kWrite,        // arguments written
  kModeWrite,    // first argument is a mode/owner, the rest written; recursive with -R
  kCopy,         // sources read, last argument (or -t DIR) written
  kMove,         // sources deleted (a whole tree), destination written
  kRemoteCopy,   // scp / rsync: like kCopy; remote sides are hosts sent to
  kDd,           // if= read, of= written
  kTar,
  kZip,
  kUnzip,
  kCompress,     // gzip & co: arguments replaced (written) unless -c
  kFind,         // args are the items; -delete deletes them as trees
  kGrep,         // first operand is a pattern unless -e/-f
  kJq,           // first operand is a filter
  kSed,          // script inline; -i writes the files
  kAwk,          // program inline
  kInterpreter,  // -c / -e code, or code on stdin
  kCurl,
  kWget,
  kNetcat,
  kSocat,
  kSsh,
  kGit,
  kCloud,        // cloud, infra and database CLIs: delete verbs are resource deletes
};

const std::unordered_map<std::string_view, Model>& Table() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string_view, Model>();
    auto add = [t](Model m, std::initializer_list<std::string_view> names) {
      for (std::string_view n : names) (*t)[n] = m;
    };
    add(Model::kText,
        {"echo", "printf", "true", "false", ":", "test", "[", "[[", "sleep", "date", "whoami",
         "id", "uname", "hostname", "pwd", "export", "set", "unset", "declare", "typeset", "local",
         "readonly", "alias", "unalias", "shift", "return", "exit", "wait", "jobs", "history",
         "type", "hash", "which", "whereis", "basename", "dirname", "seq", "yes", "expr", "let",
         "read", "printenv", "locale", "tty", "nproc", "arch", "logname", "groups", "umask",
         "ulimit", "trap", "cd", "pushd", "popd", "command", "sudo", "env", "nice", "nohup",
         "time", "timeout", "xargs", "exec", "builtin", "git-lfs", "getconf", "sync", "clear",
         "tput", "stty", "kill", "pkill", "killall", "ps", "top", "htop", "uptime", "free", "df",
         "lsof", "jobs", "fg", "bg", "disown", "source", ".", "eval"});
    add(Model::kRead,
        {"cat", "tac", "nl", "less", "more", "most", "head", "tail", "wc", "file", "stat",
         "md5sum", "sha1sum", "sha256sum", "sha512sum", "b2sum", "cksum", "xxd", "od", "hexdump",
         "hd", "strings", "base64", "base32", "basenc", "sort", "uniq", "cut", "paste", "join",
         "fold", "fmt", "column", "iconv", "diff", "diff3", "cmp", "comm", "colordiff", "bat",
         "batcat", "view", "ls", "ll", "tree", "du", "realpath", "readlink", "du", "openssl",
         "gpg", "tr", "rev", "expand", "unexpand", "pr", "split", "csplit", "look", "zcat",
         "bzcat", "xzcat", "zless", "lz4cat", "zstdcat", "vim", "vi", "nvim", "nano", "emacs",
         "code", "ed", "ex", "patch", "make", "gmake", "cmake", "ninja", "meson", "bazel",
         "bazelisk", "buck", "gradle", "gradlew", "mvn", "mvnw", "ant", "sbt", "lein", "dotnet",
         "swift", "swiftc", "flutter", "dart", "mix", "rebar3", "stack", "cabal", "opam", "dune",
         "npm", "pnpm", "yarn", "bun", "corepack", "pip", "pip3", "pipx", "uv", "poetry",
         "pipenv", "pdm", "hatch", "conda", "mamba", "micromamba", "cargo", "rustup", "rustc",
         "go", "gofmt", "gem", "bundle", "bundler", "rake", "rails", "composer", "apt",
         "apt-get", "apt-cache", "dpkg", "dnf", "yum", "brew", "pacman", "apk", "zypper",
         "nix", "nix-shell", "snap", "flatpak", "pytest", "py.test", "tox", "nox", "jest",
         "vitest", "mocha", "tsc", "eslint", "prettier", "black", "ruff", "isort", "mypy",
         "flake8", "pylint", "pyright", "clang-format", "clang-tidy", "gcc", "g++", "cc",
         "c++", "clang", "clang++", "ld", "ar", "nm", "objdump", "readelf", "strip", "javac",
         "java", "kotlinc", "scalac", "ghc", "zig", "nasm", "as", "ldd", "pkg-config",
         "autoreconf", "autoconf", "automake", "libtool", "configure", "ctest", "cpack",
         "ccache", "sccache", "valgrind", "gdb", "lldb", "perf", "strace", "hyperfine", "jar",
         "mkdocs", "sphinx-build", "doxygen", "hugo", "jekyll", "pre-commit", "nvm", "pyenv",
         "rbenv", "asdf", "mise", "direnv", "just", "task", "turbo", "nx", "lerna", "vite",
         "webpack", "rollup", "esbuild", "parcel", "next", "nuxt", "ng", "storybook",
         "playwright", "cypress", "protoc", "buf", "sqlite3", "shellcheck", "shfmt", "yamllint",
         "hadolint", "markdownlint", "codespell", "typos", "golangci-lint", "staticcheck",
         "gotestsum", "cargo-nextest", "wasm-pack", "trunk", "maturin", "twine", "build",
         "docker-compose", "grep-tool", "man", "info", "help", "tldr", "git-crypt", "gpgv",
         "ssh-keygen", "ssh-add", "ssh-agent", "ssh-keyscan", "gzip-info", "ldconfig",
         "update-alternatives", "locale-gen", "dig", "nslookup", "host", "ping", "traceroute",
         "whois", "jps", "jstack", "nvidia-smi", "lscpu", "lsblk", "lsusb", "lspci", "env-cmd",
         "cross-env", "dotenv", "xdg-open", "open", "pbcopy", "pbpaste", "xclip", "tmux",
         "screen", "sh", "bash", "zsh", "dash", "ksh", "fish"});
    add(Model::kDelete, {"rm", "unlink", "rmdir", "shred", "srm", "wipe"});
    add(Model::kDeleteTree, {"rimraf", "del", "del-cli", "trash", "trash-put", "gio-trash"});
    add(Model::kWrite,
        {"touch", "mkdir", "tee", "truncate", "fallocate", "mkfifo", "mknod", "mount", "umount",
         "mkfs", "mkfs.ext4", "mkfs.ext3", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat", "mkfs.fat",
         "mke2fs", "mkswap", "wipefs", "blkdiscard", "fdisk", "sfdisk", "parted", "gdisk",
         "losetup", "swapon", "swapoff", "crontab", "visudo", "passwd", "useradd", "userdel",
         "usermod", "groupadd", "sponge", "rename", "prename"});
    add(Model::kModeWrite, {"chmod", "chown", "chgrp", "chattr", "setfacl"});
    add(Model::kCopy, {"cp", "ln", "link", "install"});
    add(Model::kMove, {"mv"});
    add(Model::kRemoteCopy, {"scp", "rsync", "sftp"});
    add(Model::kDd, {"dd"});
    add(Model::kTar, {"tar", "bsdtar", "gtar"});
    add(Model::kZip, {"zip", "7z", "7za", "rar"});
    add(Model::kUnzip, {"unzip", "unrar"});
    add(Model::kCompress, {"gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd",
                           "lz4", "pigz", "brotli", "compress", "uncompress", "lzma"});
    add(Model::kFind, {"find"});
    add(Model::kGrep, {"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "pcregrep",
                       "git-grep"});
    add(Model::kJq, {"jq", "yq", "gojq", "jaq", "fx", "dasel"});
    add(Model::kSed, {"sed", "gsed"});
    add(Model::kAwk, {"awk", "gawk", "mawk", "nawk"});
    add(Model::kInterpreter,
        {"python", "python2", "python3", "pypy", "pypy3", "node", "nodejs", "deno", "perl",
         "ruby", "php", "lua", "luajit", "Rscript", "osascript", "pwsh", "powershell", "julia",
         "elixir", "groovy", "ts-node", "tsx", "irb", "jshell", "tclsh", "wish", "gjs"});
    add(Model::kCurl, {"curl", "http", "https", "xh", "httpie", "curlie"});
    add(Model::kWget, {"wget", "wget2", "aria2c"});
    add(Model::kNetcat, {"nc", "ncat", "netcat", "telnet", "openssl-s_client"});
    add(Model::kSocat, {"socat"});
    add(Model::kSsh, {"ssh", "mosh"});
    add(Model::kGit, {"git"});
    add(Model::kCloud,
        {"aws", "gcloud", "gsutil", "bq", "az", "doctl", "pulumi", "terraform", "tofu",
         "terragrunt", "kubectl", "oc", "helm", "docker", "podman", "nerdctl", "ctr", "crictl",
         "gh", "glab", "heroku", "flyctl", "fly", "vercel", "netlify", "firebase", "supabase",
         "neonctl", "pscale", "railway", "render", "linode-cli", "hcloud", "vultr-cli", "scw",
         "oci", "ibmcloud", "aliyun", "openstack", "nomad", "consul", "vault", "redis-cli",
         "mongo", "mongosh", "influx", "etcdctl", "s3cmd", "rclone", "mc", "b2", "wrangler",
         "stripe", "cf", "eksctl", "kind", "minikube", "k3d", "virsh", "vagrant", "multipass",
         "lxc", "incus", "juju", "serverless", "sls", "sam", "cdk", "cqlsh", "clickhouse-client",
         "sqlcmd", "snowsql", "databricks", "psql", "mysql", "mariadb", "kafka-topics",
         "argocd", "skaffold", "kustomize", "k9s", "istioctl", "linkerd", "velero", "azcopy",
         "dropdb", "dropuser", "mysqladmin", "pg_ctl", "createdb"});
    return t;
  }();
  return *table;
}

// Unknown programs fall back to kRead plus the delete-verb scan of kCloud.
bool LookUp(std::string_view program, Model* out) {
  const auto& t = Table();
  auto it = t.find(program);
  if (it == t.end()) {
    // Versioned names: python3.12, pip3.11, mkfs.ext2, node18, ...
    const size_t cut = program.find_first_of(".0123456789");
    if (cut != std::string_view::npos && cut > 0) it = t.find(program.substr(0, cut));
  }
  if (it == t.end()) return false;
  *out = it->second;
  return true;
}

// Package managers, build tools, pagers and editors: `npm uninstall`, `make uninstall` and
// `man rm` touch no cloud or database resource.
bool DeleteVerbsAreEveryday(std::string_view p) {
  static constexpr std::string_view kNames[] = {
      "npm",   "pnpm",   "yarn",   "bun",   "pip",     "pip3",   "pipx",    "uv",    "poetry",
      "pipenv", "pdm",   "hatch",  "conda", "mamba",   "micromamba", "cargo", "rustup", "go",
      "gem",   "bundle", "bundler", "composer", "apt",  "apt-get", "dpkg",   "dnf",   "yum",
      "brew",  "pacman", "apk",    "zypper", "nix",    "snap",   "flatpak", "corepack", "nvm",
      "pyenv", "rbenv",  "asdf",   "mise",  "opam",    "cabal",  "stack",   "dotnet", "flutter",
      "dart",  "mix",    "swift",  "ls",    "cat",     "less",   "head",    "tail",   "man",
      "help",  "info",   "tldr",   "pre-commit", "vim", "vi",    "nvim",    "nano",   "emacs",
      "code",  "make",   "gmake",  "cmake", "ninja",   "meson",  "bazel",   "gradle", "mvn",
      "wc",    "sort",   "uniq",   "cut",   "diff",    "file",   "stat",    "tr",     "ls"};
  return std::find(std::begin(kNames), std::end(kNames), p) != std::end(kNames);
}

bool HasFlag(const SimpleCommand& cmd, std::string_view flag) {
  return std::binary_search(cmd.flags.begin(), cmd.flags.end(), std::string(flag));
}

bool IsDynamicText(std::string_view s) {
  return s.find('$') != std::string_view::npos || s.find('`') != std::string_view::npos;
}

// A path under `dir` (or `dir` itself).
bool Under(std::string_view path, std::string_view dir) {
  if (dir == "/") return path.starts_with("/");
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

// State of one pass: the current directory and the effects found so far.
struct Pass {
  std::string workspace;      // normalized; empty when none was given
  std::string base;           // the current directory; empty: the workspace (unknown root)
  bool base_unknown = false;  // `cd $X` happened
  CommandEffects out;
};

// A relative path NormalizePath would return unchanged: no empty, `.` or `..` segment
// and no trailing slash.
bool IsCleanRelative(std::string_view arg) {
  if (arg.empty() || arg.back() == '/') return false;
  size_t start = 0;
  while (start <= arg.size()) {
    size_t end = arg.find('/', start);
    if (end == std::string_view::npos) end = arg.size();
    const std::string_view seg = arg.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string Resolve(const Pass& p, std::string_view base, std::string_view arg) {
  (void)p;
  if (arg.empty()) return {};
  const bool rooted = arg.front() == '/' || arg.front() == '~' || arg.starts_with("$HOME") ||
                      arg.starts_with("${HOME}");
  if (rooted || base.empty()) return NormalizePath(arg);
  if ((base.front() == '/' || base.front() == '~') && IsCleanRelative(arg)) {
    // Fast path: a normalized absolute base and a clean relative path need no work.
    std::string joined;
    joined.reserve(base.size() + 1 + arg.size());
    joined.append(base);
    if (base.back() != '/') joined.push_back('/');  // base "/" (cd /)
    joined.append(arg);
    return joined;
  }
  std::string joined;
  joined.reserve(base.size() + 1 + arg.size());
  joined.append(base).push_back('/');
  joined.append(arg);
  return NormalizePath(joined);
}

PathEffect MakePath(const Pass& p, std::string_view base, std::string_view arg, bool recursive,
                    const std::string& program) {
  PathEffect e;
  e.program = program;
  e.recursive = recursive;
  e.path = Resolve(p, base, arg);
  const bool relative = !e.path.empty() && e.path.front() != '/' && e.path.front() != '~';
  if (IsDynamicText(e.path) || (relative && p.base_unknown)) {
    e.place = PathPlace::kUnknown;
  } else {
    e.place = ClassifyPath(e.path, p.workspace);
  }
  if (e.place == PathPlace::kWorkspace && !p.workspace.empty() && Under(e.path, p.workspace)) {
    e.relative = e.path.size() == p.workspace.size() ? "." : e.path.substr(p.workspace.size() + 1);
  }
  return e;
}

// The value of option `opt` in argv ("-o X", "-oX" for short; "--opt X", "--opt=X").
bool OptionValue(const std::vector<std::string>& argv, std::string_view opt, std::string* out,
                 size_t* index = nullptr) {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& t = argv[i];
    if (t == "--") return false;
    if (t == opt && i + 1 < argv.size()) {
      *out = argv[i + 1];
      if (index != nullptr) *index = i + 1;
      return true;
    }
    if (t.size() > opt.size() && t.starts_with(opt)) {
      if (opt.size() == 2 && opt[1] != '-') {
        *out = t.substr(2);
        if (index != nullptr) *index = i;
        return true;
      }
      if (t[opt.size()] == '=') {
        *out = t.substr(opt.size() + 1);
        if (index != nullptr) *index = i;
        return true;
      }
    }
  }
  return false;
}

// Non-flag operands of argv for programs whose options (in `value_opts`) take a value.
std::vector<std::string> Operands(const std::vector<std::string>& argv,
                                  std::initializer_list<std::string_view> value_opts) {
  std::vector<std::string> out;
  bool done = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& t = argv[i];
    if (!done && t == "--") {
      done = true;
      continue;
    }
    if (!done && t.size() > 1 && t[0] == '-') {
      for (std::string_view o : value_opts) {
        if (t == o) {
          ++i;
          break;
        }
      }
      continue;
    }
    out.push_back(t);
  }
  return out;
}

// The command gets input: text or an unknown stream on stdin, or an input redirection.
bool FeedsInput(const SimpleCommand& cmd) {
  return cmd.stdin_unknown || !cmd.stdin_text.empty() ||
         std::any_of(cmd.redirects.begin(), cmd.redirects.end(),
                     [](const Redirection& r) { return !r.writes; });
}

// An interpreter's (or awk's, sed's) argv as EffectsBuilder::Interpreter reads it.
struct InterpreterArgs {
  std::string letters = "e";  // the short options whose value is code (python -c, php -r)
  bool awk = false;
  bool sed = false;
  bool found_code = false;  // an option gave the code, or the file it is in
  bool in_place = false;    // sed -i, perl -i: the files are written
  std::vector<std::string> operands;
};

class EffectsBuilder {
 public:
  EffectsBuilder(std::string_view workspace, std::string_view start) {
    pass_.out.reads.reserve(8);
    pass_.out.writes.reserve(4);
    if (!workspace.empty()) pass_.workspace = NormalizePath(workspace);
    pass_.base = pass_.workspace;
    if (!start.empty() && start.front() == '/') pass_.base = NormalizePath(start);
  }

  void Add(const SimpleCommand& cmd, const SimpleCommand* previous);
  CommandEffects Take() { return std::move(pass_.out); }

 private:
  void Read(std::string_view arg) { Path(&pass_.out.reads, arg, false); }
  void Write(std::string_view arg, bool recursive) { Path(&pass_.out.writes, arg, recursive); }
  void Delete(std::string_view arg, bool recursive) { Path(&pass_.out.deletes, arg, recursive); }
  void Path(std::vector<PathEffect>* into, std::string_view arg, bool recursive) {
    if (arg.empty() || arg == "-") return;
    into->push_back(MakePath(pass_, base_, arg, recursive, *program_));
  }
  void Host(std::string host, bool sends) {
    pass_.out.hosts.push_back(HostEffect{std::move(host), sends, *program_});
  }
  void Code(std::string_view code, bool known) {
    InlineCode c;
    c.program = *program_;
    c.known = known;
    c.code = std::string(code);
    c.cls = known ? ClassifyInlineCode(*program_, code) : CodeClass::kTouches;
    pass_.out.inline_code.push_back(std::move(c));
  }
  void ChangeDirectory(const SimpleCommand& cmd);
  void Redirections(const SimpleCommand& cmd);
  void ByModel(Model m, const SimpleCommand& cmd);
  void FileArguments(Model m, const SimpleCommand& cmd, const std::vector<std::string>& args);
  void Copy(const SimpleCommand& cmd, bool move, bool remote);
  void Archive(Model m, const SimpleCommand& cmd, const std::vector<std::string>& args);
  void Tar(const SimpleCommand& cmd);
  void Grep(const SimpleCommand& cmd);
  void Jq(const SimpleCommand& cmd);
  void Interpreter(const SimpleCommand& cmd);
  bool InterpreterOption(const SimpleCommand& cmd, InterpreterArgs* a, size_t* index);
  void AwkSedOperands(const InterpreterArgs& a);
  void InterpreterOperands(const SimpleCommand& cmd, const InterpreterArgs& a);
  void Curl(const SimpleCommand& cmd);
  void Wget(const SimpleCommand& cmd);
  void Netcat(const SimpleCommand& cmd);
  void Socat(const SimpleCommand& cmd, const std::vector<std::string>& args);
  void Ssh(const SimpleCommand& cmd);
  void Git(const SimpleCommand& cmd);
  void DeleteVerbs(const SimpleCommand& cmd);

  Pass pass_;
  std::string base_;  // the directory of the current command
  const std::string* program_ = nullptr;
  std::vector<std::string> extra_args_;  // unknown items (xargs from a pipe)
};

void EffectsBuilder::ChangeDirectory(const SimpleCommand& cmd) {
  if (cmd.program == "popd" || (!cmd.args.empty() && cmd.args[0] == "-")) {
    pass_.base_unknown = true;
    pass_.base.clear();
    return;
  }
  const std::string target = cmd.args.empty() ? "~" : cmd.args[0];
  if (IsDynamicText(target)) {
    pass_.base_unknown = true;
    pass_.base.clear();  // relative paths stay as written, classified kUnknown
    return;
  }
  const std::string resolved = Resolve(pass_, pass_.base, target);
  if (resolved.front() == '/' || resolved.front() == '~') {
    pass_.base = resolved;
    pass_.base_unknown = false;
  } else if (pass_.base.empty()) {
    pass_.base = resolved;  // relative to an unknown workspace root
  }
}

void EffectsBuilder::Redirections(const SimpleCommand& cmd) {
  for (const Redirection& r : cmd.redirects) {
    std::string_view t = r.target;
    if (t.starts_with("/dev/tcp/") || t.starts_with("/dev/udp/")) {
      t.remove_prefix(9);
      std::string host(t.substr(0, t.find('/')));
      AsciiLowerInPlace(&host);
      Host(std::move(host), true);
      continue;
    }
    if (r.writes) {
      Write(r.target, false);
    } else {
      Read(r.target);
    }
  }
}

void EffectsBuilder::Add(const SimpleCommand& cmd, const SimpleCommand* previous) {
  program_ = &cmd.program;
  base_ = pass_.base;
  Redirections(cmd);
  if (cmd.program == "cd" || cmd.program == "pushd" || cmd.program == "popd") {
    return ChangeDirectory(cmd);
  }
  // `-C DIR` moves git, make and tar for this command.
  if (cmd.program == "git" || cmd.program == "make" || cmd.program == "gmake" ||
      cmd.program == "tar" || cmd.program == "ninja") {
    std::string dir;
    if (OptionValue(cmd.argv, "-C", &dir) || OptionValue(cmd.argv, "--directory", &dir)) {
      base_ = IsDynamicText(dir) ? "$UNKNOWN" : Resolve(pass_, pass_.base, dir);
    }
  }
  // xargs fed by a pipe whose text is unknown: the command gets unknown targets.
  extra_args_.clear();
  if (previous != nullptr && previous->program == "xargs" && previous->stdin_unknown) {
    extra_args_.push_back("$(xargs)");
  }
  Model m = Model::kRead;
  const bool known = LookUp(cmd.program, &m);
  // Hosts come from URLs, user@host:path and host arguments: all contain ':' or belong
  // to the network models, which find their hosts themselves.
  const bool may_name_host = std::any_of(cmd.args.begin(), cmd.args.end(), [](const auto& a) {
    return a.find(':') != std::string::npos;
  });
  for (std::string& host : may_name_host ? CommandHosts(cmd) : std::vector<std::string>()) {
    if (m != Model::kCurl && m != Model::kWget && m != Model::kRemoteCopy &&
        m != Model::kNetcat && m != Model::kSsh) {
      Host(std::move(host), false);
    }
  }
  ByModel(m, cmd);
  if (!known || m == Model::kCloud || (m == Model::kRead && !DeleteVerbsAreEveryday(cmd.program))) {
    DeleteVerbs(cmd);
  }
}

void EffectsBuilder::ByModel(Model m, const SimpleCommand& cmd) {
  std::vector<std::string> joined;
  if (!extra_args_.empty()) {
    joined = cmd.args;
    joined.insert(joined.end(), extra_args_.begin(), extra_args_.end());
  }
  const std::vector<std::string>& args = extra_args_.empty() ? cmd.args : joined;
  switch (m) {
    case Model::kText:
      return;
    case Model::kRead:
    case Model::kCloud:
    case Model::kDelete:
    case Model::kDeleteTree:
    case Model::kWrite:
    case Model::kModeWrite:
    case Model::kDd:
    case Model::kFind:
      return FileArguments(m, cmd, args);
    case Model::kCopy:
      return Copy(cmd, false, false);
    case Model::kMove:
      return Copy(cmd, true, false);
    case Model::kRemoteCopy:
      return Copy(cmd, false, true);
    case Model::kTar:
    case Model::kZip:
    case Model::kUnzip:
    case Model::kCompress:
      return Archive(m, cmd, args);
    case Model::kGrep:
      return Grep(cmd);
    case Model::kJq:
      return Jq(cmd);
    case Model::kSed:
    case Model::kAwk:
    case Model::kInterpreter:
      return Interpreter(cmd);
    case Model::kCurl:
      return Curl(cmd);
    case Model::kWget:
      return Wget(cmd);
    case Model::kNetcat:
      return Netcat(cmd);
    case Model::kSocat:
      return Socat(cmd, args);
    case Model::kSsh:
      return Ssh(cmd);
    case Model::kGit:
      return Git(cmd);
  }
}

// Tools whose arguments are the files they act on: each argument is read, written or
// deleted as the model says.
void EffectsBuilder::FileArguments(Model m, const SimpleCommand& cmd,
                                   const std::vector<std::string>& args) {
  const bool recursive_r = HasFlag(cmd, "-r") || HasFlag(cmd, "-R");
  switch (m) {
    case Model::kRead:
    case Model::kCloud:
      for (const std::string& a : args) Read(a);
      return;
    case Model::kDelete:
      for (const std::string& a : args) Delete(a, recursive_r && cmd.program != "rmdir");
      return;
    case Model::kDeleteTree:
      for (const std::string& a : args) Delete(a, true);
      return;
    case Model::kWrite:
      for (const std::string& a : args) Write(a, false);
      return;
    case Model::kModeWrite: {
      const bool reference = std::any_of(cmd.argv.begin(), cmd.argv.end(), [](const auto& a) {
        return a.starts_with("--reference");
      });
      for (size_t i = reference ? 0 : 1; i < args.size(); ++i) Write(args[i], recursive_r);
      return;
    }
    case Model::kDd:
      for (const std::string& a : args) {
        if (a.starts_with("if=")) Read(std::string_view(a).substr(3));
        if (a.starts_with("of=")) Write(std::string_view(a).substr(3), false);
      }
      return;
    case Model::kFind:
      for (const std::string& a : args) {
        if (HasFlag(cmd, "-delete")) {
          Delete(a, true);
        } else {
          Read(a);
        }
      }
      return;
    default:  // ByModel sends the other models elsewhere
      return;
  }
}

void EffectsBuilder::Copy(const SimpleCommand& cmd, bool move, bool remote) {
  std::vector<std::string> args = cmd.args;
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  if (remote) {  // drop option values scp/rsync take (-i key, -P port, -e cmd)
    args = Operands(cmd.argv, {"-i", "-P", "-p", "-e", "-F", "-o", "-S", "-l", "-J", "-c",
                               "--rsh", "--exclude", "--include", "--filter", "-f"});
    std::string key;
    if (OptionValue(cmd.argv, "-i", &key)) Read(key);
  }
  std::string dest;
  if (OptionValue(cmd.argv, "-t", &dest) || OptionValue(cmd.argv, "--target-directory", &dest)) {
    // every operand is a source; remove dest from the list
    args.erase(std::remove(args.begin(), args.end(), dest), args.end());
  } else if (!args.empty()) {
    dest = args.back();
    args.pop_back();
  }
  const bool recursive =
      HasFlag(cmd, "-r") || HasFlag(cmd, "-R") || HasFlag(cmd, "-a") || move || remote;
  auto remote_host = [](std::string_view a) -> std::string {
    if (a.find("://") != std::string_view::npos) return {};
    const size_t colon = a.find(':');
    if (colon == std::string_view::npos || colon == 0 || a.find('/') < colon) return {};
    std::string_view h = a.substr(0, colon);
    const size_t at = h.find('@');
    if (at != std::string_view::npos) h.remove_prefix(at + 1);
    return AsciiLower(h);
  };
  const std::string dest_host = remote ? remote_host(dest) : "";
  for (const std::string& a : args) {
    const std::string h = remote ? remote_host(a) : "";
    if (!h.empty()) {
      Host(h, false);
      continue;
    }
    if (move) {
      Delete(a, true);
    } else {
      Read(a);
    }
    if (remote && cmd.program == "rsync" && HasFlag(cmd, "--remove-source-files")) Delete(a, false);
  }
  if (dest.empty()) return;
  if (!dest_host.empty()) {
    Host(dest_host, true);
    return;
  }
  if (cmd.program == "ln" || cmd.program == "link") {
    Write(dest, false);
    return;
  }
  Write(dest, recursive);
  if (cmd.program == "rsync") {
    for (const std::string& f : cmd.flags) {
      if (f.starts_with("--delete") || f == "--del") {
        Delete(dest, true);
        break;
      }
    }
  }
}

// tar, zip, unzip and the single-file compressors.
void EffectsBuilder::Archive(Model m, const SimpleCommand& cmd,
                             const std::vector<std::string>& args) {
  switch (m) {
    case Model::kTar:
      return Tar(cmd);
    case Model::kZip:
      for (size_t i = 0; i < args.size(); ++i) {
        if (i == 0) {
          Write(args[i], false);
        } else {
          Read(args[i]);
        }
      }
      return;
    case Model::kUnzip: {
      std::string dir;
      const bool has_dir = OptionValue(cmd.argv, "-d", &dir);
      for (const std::string& a : Operands(cmd.argv, {"-d", "-x", "-P"})) Read(a);
      Write(has_dir && cmd.program == "unzip" ? dir : ".", true);
      return;
    }
    case Model::kCompress:
      for (const std::string& a : args) {
        if (HasFlag(cmd, "-c") || HasFlag(cmd, "--stdout")) {
          Read(a);
        } else {
          Write(a, false);
        }
      }
      return;
    default:  // ByModel sends the other models elsewhere
      return;
  }
}

void EffectsBuilder::Tar(const SimpleCommand& cmd) {
  // Mode letters: -c/-x/-t/-r/-u, or old style `tar xzf FILE` (first word without '-').
  char mode = 0;
  std::string file;
  bool remove_files = false;
  const std::vector<std::string>& argv = cmd.argv;
  std::vector<std::string> operands;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& t = argv[i];
    const bool old_style = i == 1 && !t.empty() && t[0] != '-' &&
                           t.find_first_not_of("cxtrudvzjJfpPkowWSOaZ") == std::string::npos;
    if (t.starts_with("--")) {
      if (t == "--create") mode = 'c';
      if (t == "--extract" || t == "--get") mode = 'x';
      if (t == "--list") mode = 't';
      if (t == "--append" || t == "--update") mode = 'r';
      if (t == "--remove-files") remove_files = true;
      if (t == "--file" && i + 1 < argv.size()) file = argv[++i];
      if (t.starts_with("--file=")) file = t.substr(7);
      if (t == "--directory" || t == "--exclude" || t == "--transform") ++i;
      continue;
    }
    if ((t.size() > 1 && t[0] == '-') || old_style) {
      for (size_t j = (old_style ? 0 : 1); j < t.size(); ++j) {
        const char c = t[j];
        if (c == 'c' || c == 'x' || c == 't' || c == 'r' || c == 'u') mode = c;
        if (c == 'f') {
          if (j + 1 < t.size()) {
            file = t.substr(j + 1);
          } else if (i + 1 < argv.size()) {
            file = argv[++i];
          }
          break;
        }
        if (c == 'C' && !old_style) {
          if (j + 1 == t.size()) ++i;
          break;
        }
      }
      continue;
    }
    operands.push_back(t);
  }
  if (mode == 'x') {
    Read(file);
    Write(".", true);
    return;
  }
  if (mode == 'c' || mode == 'r' || mode == 'u') {
    Write(file, false);
    for (const std::string& o : operands) {
      if (remove_files) {
        Delete(o, true);
      } else {
        Read(o);
      }
    }
    return;
  }
  Read(file);
}

// The first operand is the pattern unless -e/-f gave it; the other operands, a -f file
// and xargs input are read.
void EffectsBuilder::Grep(const SimpleCommand& cmd) {
  std::string unused;
  const bool has_e =
      OptionValue(cmd.argv, "-e", &unused) || OptionValue(cmd.argv, "--regexp", &unused) ||
      OptionValue(cmd.argv, "-f", &unused) || OptionValue(cmd.argv, "--file", &unused);
  std::string file;
  if (OptionValue(cmd.argv, "-f", &file) || OptionValue(cmd.argv, "--file", &file)) Read(file);
  const auto ops = Operands(cmd.argv, {"-e", "-f", "-A", "-B", "-C", "-m", "--regexp", "--file",
                                       "-g", "-t", "-T", "--type"});
  for (size_t i = has_e ? 0 : 1; i < ops.size(); ++i) Read(ops[i]);
  for (const std::string& a : extra_args_) Read(a);
}

// The first operand is the filter (yq & co: the second after `e`/`eval`); the other
// operands, --slurpfile/--rawfile files and a -f filter file are read.
void EffectsBuilder::Jq(const SimpleCommand& cmd) {
  std::vector<std::string> ops;
  for (size_t i = 1; i < cmd.argv.size(); ++i) {
    const std::string& t = cmd.argv[i];
    if (t == "--arg" || t == "--argjson" || t == "--slurpfile" || t == "--rawfile") {
      if (i + 2 < cmd.argv.size() && (t == "--slurpfile" || t == "--rawfile")) {
        Read(cmd.argv[i + 2]);
      }
      i += 2;
      continue;
    }
    if (t == "-f" || t == "--from-file") {
      if (i + 1 < cmd.argv.size()) Read(cmd.argv[++i]);
      continue;
    }
    if (t.size() > 1 && t[0] == '-') continue;
    ops.push_back(t);
  }
  size_t first = 1;
  if (!ops.empty() && (ops[0] == "e" || ops[0] == "eval") && cmd.program != "jq") first = 2;
  for (size_t i = first; i < ops.size(); ++i) Read(ops[i]);
}

// Inline code: python -c, node -e/-p, perl/ruby -e (clusters such as -ne), php -r,
// deno eval, awk and sed programs; an interpreter without a script reads code from stdin.
void EffectsBuilder::Interpreter(const SimpleCommand& cmd) {
  const std::string& p = cmd.program;
  const std::vector<std::string>& argv = cmd.argv;
  InterpreterArgs a;
  if (p.starts_with("python") || p.starts_with("pypy")) a.letters = "c";
  if (p == "php") a.letters = "r";
  if (p == "pwsh" || p == "powershell") a.letters = "cC";
  a.awk = p == "awk" || p == "gawk" || p == "mawk" || p == "nawk";
  a.sed = p == "sed" || p == "gsed";
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& t = argv[i];
    if (t == "--") {
      a.operands.insert(a.operands.end(), argv.begin() + static_cast<ptrdiff_t>(i) + 1, argv.end());
      break;
    }
    if (t.size() > 1 && t[0] == '-') {
      if (!InterpreterOption(cmd, &a, &i)) return;  // python -m
      continue;
    }
    if (p == "deno" && t == "eval" && a.operands.empty()) {
      if (i + 1 < argv.size()) Code(argv[++i], true);
      a.found_code = true;
      continue;
    }
    a.operands.push_back(t);
  }
  if (a.awk || a.sed) return AwkSedOperands(a);
  InterpreterOperands(cmd, a);
}

// The option argv[*index] of an interpreter, awk or sed: reports the code or file it
// names and moves *index past the value it takes. False for `python -m`, which runs a
// module: what it does is the module's business.
bool EffectsBuilder::InterpreterOption(const SimpleCommand& cmd, InterpreterArgs* a,
                                       size_t* index) {
  const std::string& p = cmd.program;
  const std::vector<std::string>& argv = cmd.argv;
  size_t& i = *index;
  const std::string& t = argv[i];
  if (t == "--eval" || t == "--print" || t == "--expression" || t == "-Command" ||
      t == "--command" || t == "-eval") {
    if (i + 1 < argv.size()) Code(argv[++i], true);
    a->found_code = true;
    return true;
  }
  if (t.starts_with("--eval=") || t.starts_with("--print=") || t.starts_with("--expression=")) {
    Code(t.substr(t.find('=') + 1), true);
    a->found_code = true;
    return true;
  }
  if (t.starts_with("--in-place") || (a->sed && t.starts_with("-i")) ||
      ((p == "perl" || p == "ruby") && t[1] != '-' && t[1] != 'M' && t[1] != 'I' && t[1] != 'r' &&
       t.find('i') != std::string::npos)) {
    a->in_place = true;
  }
  if ((a->awk || a->sed) && (t == "-f" || t == "--file")) {
    if (i + 1 < argv.size()) Read(argv[++i]);
    a->found_code = true;  // the program is in a file
    return true;
  }
  if (a->awk && (t == "-v" || t == "-F")) {
    ++i;
    return true;
  }
  if (p == "node" || p == "nodejs" || p == "bun" || p == "ts-node" || p == "tsx") {
    if (t == "-e" || t == "-p") {
      if (i + 1 < argv.size()) Code(argv[++i], true);
      a->found_code = true;
    } else if (t == "-r" || t == "--require" || t == "--import" || t == "--loader") {
      if (i + 1 < argv.size()) Read(argv[++i]);
      pass_.out.inline_code.push_back(InlineCode{p, "", false, CodeClass::kTouches});
    }
    return true;
  }
  if (p.starts_with("python") && (t == "-m" || t == "-W" || t == "-X")) {
    if (t == "-m") return false;
    ++i;
    return true;
  }
  if (t[1] != '-' && a->letters.find(t.back()) != std::string::npos && !a->awk && !a->sed) {
    if (i + 1 < argv.size()) Code(argv[++i], true);
    a->found_code = true;
    return true;
  }
  if (a->sed && (t == "-e")) {
    if (i + 1 < argv.size()) Code(argv[++i], true);
    a->found_code = true;
    return true;
  }
  if (t[1] != '-' && t.size() > 2 && a->letters.find(t[1]) != std::string::npos && !a->awk &&
      !a->sed && !p.starts_with("python")) {
    Code(t.substr(2), true);  // -e'code' attached
    a->found_code = true;
  }
  return true;
}

// awk and sed: the first operand is the program unless -e or -f gave it; the other
// operands are files, read, or written with -i.
void EffectsBuilder::AwkSedOperands(const InterpreterArgs& a) {
  size_t first_file = 0;
  if (!a.found_code && !a.operands.empty()) {
    Code(a.operands[0], true);
    first_file = 1;
  }
  for (size_t i = first_file; i < a.operands.size(); ++i) {
    if (a.awk && a.operands[i].find('=') != std::string::npos) continue;  // var=value
    if (a.in_place) {
      Write(a.operands[i], false);
    } else {
      Read(a.operands[i]);
    }
  }
}

// Other interpreters: after inline code the operands are files (written with -i); without
// it the first operand is a script file, or else the code comes from stdin.
void EffectsBuilder::InterpreterOperands(const SimpleCommand& cmd, const InterpreterArgs& a) {
  const std::vector<std::string>& operands = a.operands;
  if (a.found_code) {
    for (const std::string& o : operands) (a.in_place ? Write(o, false) : Read(o));
    return;
  }
  if (!operands.empty() && operands[0] != "-") {  // a script file
    Read(operands[0]);
    return;
  }
  if (!cmd.stdin_text.empty()) {
    Code(cmd.stdin_text, true);
  } else if (cmd.stdin_unknown || (!operands.empty() && operands[0] == "-")) {
    Code("", false);
  }
}

void EffectsBuilder::Curl(const SimpleCommand& cmd) {
  bool sends = false;
  for (size_t i = 1; i < cmd.argv.size(); ++i) {
    const std::string& t = cmd.argv[i];
    const bool data = t == "-d" || t.starts_with("--data") || t == "-F" || t == "--form" ||
                      t.starts_with("--form-string") || t == "--json" || t == "-T" ||
                      t == "--upload-file";
    const bool method = t == "-X" || t == "--request";
    if (method && i + 1 < cmd.argv.size()) {
      const std::string& v = cmd.argv[i + 1];
      sends = sends || (v != "GET" && v != "HEAD" && v != "OPTIONS");
    }
    if (data) {
      sends = true;
      if (i + 1 < cmd.argv.size()) {
        const std::string& v = cmd.argv[++i];
        if (t == "-T" || t == "--upload-file") {
          Read(v);
        } else {
          const size_t at = v.find('@');
          const size_t lt = v.find('<');
          if (at != std::string::npos && (at == 0 || v[at - 1] == '=')) Read(v.substr(at + 1));
          if (lt != std::string::npos && lt > 0 && v[lt - 1] == '=') Read(v.substr(lt + 1));
        }
      }
      continue;
    }
    if ((t == "-o" || t == "--output") && i + 1 < cmd.argv.size()) {
      Write(cmd.argv[++i], false);
      continue;
    }
    if ((t == "-K" || t == "--config") && i + 1 < cmd.argv.size()) {
      Read(cmd.argv[++i]);
      continue;
    }
    // httpie request items: field=value, field:=json, field@file.
    if (cmd.program != "curl" && t.find('@') != std::string::npos && t.find("://") == std::string::npos) {
      Read(t.substr(t.find('@') + 1));
      sends = true;
    } else if (cmd.program != "curl" && t.find('=') != std::string::npos && t[0] != '-') {
      sends = true;
    }
  }
  for (std::string& h : CommandHosts(cmd)) Host(std::move(h), sends);
  if (cmd.program != "curl" && !cmd.args.empty()) {
    // httpie: `http [METHOD] host/path`: a bare host.
    for (const std::string& a : cmd.args) {
      if (a.find("://") != std::string::npos || a.find('.') == std::string::npos ||
          a.find('=') != std::string::npos || a.find('@') != std::string::npos) {
        continue;
      }
      std::string host = a.substr(0, a.find_first_of("/:"));
      AsciiLowerInPlace(&host);
      Host(std::move(host), sends);
      break;
    }
  }
}

void EffectsBuilder::Wget(const SimpleCommand& cmd) {
  bool sends = false;
  std::string v;
  if (OptionValue(cmd.argv, "--post-file", &v) || OptionValue(cmd.argv, "--body-file", &v)) {
    Read(v);
    sends = true;
  }
  if (OptionValue(cmd.argv, "--post-data", &v) || OptionValue(cmd.argv, "--body-data", &v) ||
      OptionValue(cmd.argv, "--method", &v)) {
    sends = true;
  }
  if (OptionValue(cmd.argv, "-O", &v) || OptionValue(cmd.argv, "--output-document", &v)) {
    Write(v, false);
  }
  if (OptionValue(cmd.argv, "-i", &v) || OptionValue(cmd.argv, "--input-file", &v)) Read(v);
  for (std::string& h : CommandHosts(cmd)) Host(std::move(h), sends);
}

// Hosts, sent to when the command gets input; -e/-c/--exec run a program on the
// connection.
void EffectsBuilder::Netcat(const SimpleCommand& cmd) {
  const bool sends = FeedsInput(cmd);
  for (std::string& h : CommandHosts(cmd)) Host(std::move(h), sends);
  for (const std::string& a : cmd.argv) {
    if (a == "-e" || a == "-c" || a == "--exec" || a == "--sh-exec" || a == "--lua-exec") {
      InlineCode c{cmd.program, a, true, CodeClass::kDangerous};
      pass_.out.inline_code.push_back(std::move(c));
    }
  }
}

// socat addresses: EXEC:/SYSTEM: run code, TCP/UDP/OPENSSL/SSL name a host sent to,
// OPEN:/FILE:/CREATE:/GOPEN: name a file.
void EffectsBuilder::Socat(const SimpleCommand& cmd, const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    std::string up = a;
    for (char& c : up) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    if (up.starts_with("EXEC:") || up.starts_with("SYSTEM:")) {
      pass_.out.inline_code.push_back(
          InlineCode{cmd.program, a.substr(a.find(':') + 1), true, CodeClass::kDangerous});
    } else if (up.starts_with("TCP") || up.starts_with("UDP") || up.starts_with("OPENSSL") ||
               up.starts_with("SSL")) {
      const size_t colon = a.find(':');
      std::string rest = a.substr(colon + 1);
      Host(rest.substr(0, rest.find_first_of(":,")), true);
    } else if (up.starts_with("OPEN:") || up.starts_with("FILE:") || up.starts_with("CREATE:") ||
               up.starts_with("GOPEN:")) {
      Read(std::string_view(a).substr(a.find(':') + 1));
    }
  }
}

// Hosts, sent to when the command gets input; the -i identity file is read.
void EffectsBuilder::Ssh(const SimpleCommand& cmd) {
  const bool sends = FeedsInput(cmd);
  for (std::string& h : CommandHosts(cmd)) Host(std::move(h), sends);
  std::string identity;
  if (OptionValue(cmd.argv, "-i", &identity)) Read(identity);
}

void EffectsBuilder::Git(const SimpleCommand& cmd) {
  const std::string& sub = cmd.subcommand;
  if (sub == "clean" && (HasFlag(cmd, "-f") || HasFlag(cmd, "--force"))) {
    Delete("<untracked>", true);  // untracked files under the current directory
  } else if (sub == "rm") {
    for (const std::string& a : cmd.args) Delete(a, HasFlag(cmd, "-r"));
  } else if (sub == "clone") {
    std::vector<std::string> ops = Operands(cmd.argv, {"-b", "--branch", "--depth", "-o",
                                                       "--origin", "-c", "--config", "-C",
                                                       "--reference", "--separate-git-dir",
                                                       "-j", "--jobs", "--filter"});
    // ops[0] is the subcommand "clone"; then the repository and the directory.
    if (ops.size() >= 3) Write(ops[2], true);
  }
}

// Cloud and infrastructure CLIs (and any program the table does not know): a word among
// delete/destroy/remove/rm/rb/terminate/purge/drop (alone or as a part of a compound
// such as delete-bucket, apps:destroy, drop_table) deletes a resource.
void EffectsBuilder::DeleteVerbs(const SimpleCommand& cmd) {
  static constexpr std::string_view kVerbs[] = {
      "delete", "destroy", "remove", "rm",      "rb",       "terminate", "purge", "drop",
      "del",    "rmi",     "prune",  "uninstall", "flushall", "flushdb", "wipe",  "erase",
      "nuke",   "teardown", "deregister", "unregister", "truncate", "kill", "rmr", "deleteall",
      "dropdb", "un"};
  auto is_verb = [](std::string_view word) -> bool {
    const std::string w = AsciiLower(word);
    size_t start = 0;
    while (start <= w.size()) {
      size_t end = w.find_first_of("-_:.", start);
      if (end == std::string::npos) end = w.size();
      const std::string_view part = std::string_view(w).substr(start, end - start);
      if (std::find(std::begin(kVerbs), std::end(kVerbs), part) != std::end(kVerbs)) {
        return part != "un" || w == "un";
      }
      start = end + 1;
    }
    return false;
  };
  std::vector<std::string_view> words;
  if (!cmd.subcommand.empty()) words.push_back(cmd.subcommand);
  for (const std::string& a : cmd.args) words.push_back(a);
  if (cmd.program == "dropdb" || cmd.program == "dropuser") {
    pass_.out.deleted_resources.push_back(
        ResourceEffect{cmd.program, cmd.program, words.empty() ? "" : std::string(words.back())});
    return;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string_view w = words[i];
    if (w.empty() || w.find('/') != std::string_view::npos ||
        w.find('=') != std::string_view::npos || w.find(' ') != std::string_view::npos ||
        w.size() > 40) {
      continue;
    }
    if (!is_verb(w)) continue;
    pass_.out.deleted_resources.push_back(ResourceEffect{
        cmd.program, std::string(w), i + 1 < words.size() ? std::string(words[i + 1]) : ""});
    return;
  }
}

}  // namespace

std::string_view PathPlaceName(PathPlace place) {
  static constexpr std::string_view kNames[] = {"workspace", "temp",     "outside", "home",
                                                "data",      "system",   "ancestor", "unknown"};
  return kNames[static_cast<int>(place)];
}

bool ParsePathPlace(std::string_view name, PathPlace* out) {
  for (int i = 0; i < kNumPathPlaces; ++i) {
    if (PathPlaceName(static_cast<PathPlace>(i)) == name) {
      *out = static_cast<PathPlace>(i);
      return true;
    }
  }
  return false;
}

PathPlace ClassifyPath(std::string_view path, std::string_view workspace) {
  if (path.empty() || IsDynamicText(path)) return PathPlace::kUnknown;
  const bool relative = path.front() != '/' && path.front() != '~';
  if (relative) {
    if (path == ".." || path.starts_with("../..") || path == "../" ) return PathPlace::kAncestor;
    if (path.starts_with("../")) {
      // `../*`, `../\*`: every sibling of the workspace, the parent included.
      const std::string_view rest = path.substr(3);
      if (rest.find_first_not_of("*\\") == std::string_view::npos) return PathPlace::kAncestor;
      return PathPlace::kOutside;
    }
    return PathPlace::kWorkspace;
  }
  if (!workspace.empty()) {
    if (Under(path, workspace)) return PathPlace::kWorkspace;
    if (Under(workspace, path)) return PathPlace::kAncestor;
    // `/home/u/*` when the workspace is /home/u/proj: the glob covers it.
    const size_t star = path.find('*');
    if (star != std::string_view::npos) {
      const std::string_view dir = path.substr(0, path.rfind('/', star));
      if (Under(workspace, dir.empty() ? "/" : dir)) return PathPlace::kAncestor;
    }
  }
  if (path == "/" || (path.size() > 1 && path[1] == '*')) return PathPlace::kSystem;
  if (path.starts_with("/tmp/") || path.starts_with("/var/tmp/") || path == "/dev/null" ||
      path == "/dev/stdout" || path == "/dev/stderr" || path == "/dev/tty" ||
      path.starts_with("/dev/fd/") || path.starts_with("/private/tmp/")) {
    // /tmp/* (every file of /tmp) is not one temporary file.
    return path.find('*') == 4 || path.find('*') == 8 ? PathPlace::kSystem : PathPlace::kTemp;
  }
  if (path.front() == '~' || Under(path, "/home") || Under(path, "/root") ||
      Under(path, "/Users")) {
    return PathPlace::kHome;
  }
  static constexpr std::string_view kData[] = {
      "/srv",         "/opt",        "/data",      "/mnt",      "/media",     "/backup",
      "/backups",     "/var/lib",    "/var/backups", "/var/www", "/var/mail", "/var/spool",
      "/var/opt",     "/var/log",    "/var/db",    "/var/cache", "/var/local", "/var/vmail",
      "/usr/local/var", "/opt/homebrew/var", "/Volumes", "/var/lib/docker"};
  for (std::string_view d : kData) {
    if (Under(path, d)) return PathPlace::kData;
  }
  static constexpr std::string_view kSystem[] = {
      "/etc",  "/usr",   "/bin",  "/sbin",  "/lib",   "/lib32", "/lib64", "/libx32",
      "/boot", "/dev",   "/proc", "/sys",   "/run",   "/var",   "/snap",  "/nix",
      "/System", "/Library", "/Applications", "/private", "/efi", "/lost+found", "/cdrom"};
  for (std::string_view d : kSystem) {
    if (Under(path, d)) return PathPlace::kSystem;
  }
  return PathPlace::kOutside;
}

CommandEffects CommandEffectsOf(const CommandAnalysis& analysis, std::string_view workspace,
                                std::string_view start) {
  EffectsBuilder b(workspace, start);
  const SimpleCommand* previous = nullptr;
  for (const SimpleCommand& cmd : analysis.commands) {
    b.Add(cmd, previous);
    previous = &cmd;
  }
  return b.Take();
}

}  // namespace jobgate::policy
