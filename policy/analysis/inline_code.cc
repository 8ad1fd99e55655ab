// Classification of inline code (see ClassifyInlineCode in command_effects.h).
//
// Fail-closed by construction: code is inert only when every identifier in it belongs to
// a small vocabulary of printing, arithmetic and version queries (plus modules imported
// by name that are not in the list of modules that touch the system). Anything else
// touches; a secret path or a deletion / process API anywhere in the text, strings
// included, makes it dangerous. awk and sed programs have their own rules: their
// language is inert except for a few commands (system, getline, pipes, output
// redirection; sed's e, w, r commands).

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "policy/analysis/command_effects.h"

namespace jobgate::policy {
namespace {

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

// True when `needle` occurs in `text` (lower-case) not followed by an identifier char.
bool HasWord(std::string_view text, std::string_view needle) {
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    const size_t end = at + needle.size();
    if (end >= text.size() || !IsIdentChar(text[end])) return true;
  }
  return false;
}

// Secret paths and deletion APIs: any mention, strings included, is dangerous.
bool NamesDangerous(std::string_view lower) {
  static constexpr std::string_view kSecretWords[] = {
      ".env",        ".ssh",      "id_rsa",       "id_ed25519",  "id_ecdsa",   "id_dsa",
      ".netrc",      ".npmrc",    ".pypirc",      ".git-credentials", ".kube/config",
      ".aws/",       ".gnupg",    "/etc/shadow",  ".docker/config", "gcloud/",  ".azure/",
      "credentials", ".pem",      "private_key",  "secret_key"};
  for (std::string_view w : kSecretWords) {
    if (HasWord(lower, w)) return true;
  }
  static constexpr std::string_view kDeleteApis[] = {
      "rmtree",  "unlink",    "rmdir",     "remove(",  "removedirs", "rmsync",   "rimraf",
      "rm -",    "rm(",       "rm_rf",     "rm_r",     "deletesync", "fs.rm",    "shred",
      "mkfs",    "truncate(", "drop table", "drop database", "dropdatabase", "deletemany",
      ".drop(",  "flushall",  "delete_object", "delete_bucket", "removesync", "removeall",
      "emptydir", "rmrf",     "file.delete", "files.delete", "fileutils.rm", "deletefile",
      "deletedirectory", "remove-item", "del /", "rd /s", "remove_file", "remove_dir"};
  for (std::string_view w : kDeleteApis) {
    if (lower.find(w) != std::string_view::npos) return true;
  }
  return false;
}

// Identifiers that print, compute or report versions, in any of the interpreters.
constexpr std::string_view kInertWords[] = {
    "print", "println", "printf", "puts", "p", "pp", "say", "echo", "console", "log", "info",
    "warn", "error", "debug", "dir", "write", "sys", "version", "version_info", "hexversion",
    "platform", "implementation", "name", "major", "minor", "micro", "maxsize", "byteorder",
    "api_version", "versions", "arch", "release", "node", "v8", "process", "json", "dumps",
    "stringify", "math", "sqrt", "pi", "e", "len", "str", "int", "float", "range", "sum", "min",
    "max", "abs", "round", "pow", "sorted", "list", "dict", "set", "tuple", "bool", "repr",
    "format", "join", "split", "upper", "lower", "strip", "replace", "import", "from", "as",
    "for", "in", "if", "else", "elif", "and", "or", "not", "is", "true", "false", "none",
    "null", "nil", "undefined", "let", "const", "var", "my", "return", "lambda", "typeof",
    "new", "date", "now", "floor", "ceil", "random", "number", "string", "array", "object",
    "keys", "values", "map", "filter", "reduce", "length", "push", "x", "y", "i", "j", "n",
    "a", "b", "c", "s", "k", "v", "ruby_version", "ruby_platform", "php_version", "phpversion",
    "php_os", "php_eol", "__version__", "__file__", "get_include", "get_python_inc",
    "get_paths", "get_config_var", "get_config_vars", "get_platform", "python_version",
    "is_available", "device_count", "cuda", "VERSION", "end", "do", "then", "local", "exit",
    "ok", "assert", "hello", "world", "_", "uname", "cwd", "getcwd", "executable", "prefix",
    "base_prefix", "path", "paths", "sysconfig", "site", "getsitepackages",
    "getusersitepackages", "purelib", "platlib", "include", "abiflags", "ext_suffix",
    "EXT_SUFFIX", "SOABI", "LIBDIR", "VERSION", "Config", "RbConfig", "CONFIG", "Deno",
    "Bun", "revision", "typescript", "deno", "__name__", "main", "setup", "def", "class",
    "PHP_VERSION", "PHP_OS", "PHP_EOL", "RUBY_VERSION", "RUBY_PLATFORM", "RUBY_ENGINE",
    "show_config", "show_versions", "JSON", "Math", "Date", "Number", "String", "Object", "Array", "RUBY_RELEASE_DATE"};

// Modules that can touch files, processes or the network: importing one is not inert.
constexpr std::string_view kTouchingModules[] = {
    "os",       "subprocess", "shutil",     "socket",     "urllib",   "urllib2",  "urllib3",
    "requests", "http",       "httpx",      "pathlib",    "glob",     "pty",      "ctypes",
    "io",       "tempfile",   "multiprocessing", "signal", "ftplib",  "smtplib",  "telnetlib",
    "paramiko", "boto3",      "botocore",   "asyncio",    "importlib", "builtins", "posix",
    "pickle",   "marshal",    "codecs",     "base64",     "zlib",     "fileinput", "sqlite3",
    "webbrowser", "aiohttp",  "fs",         "child_process", "net",   "https",    "dgram",
    "cluster",  "worker_threads", "vm",     "File",       "FileUtils", "Dir",     "IO",
    "Kernel",   "Open3",      "Net",        "Socket",     "POSIX",    "IPC",      "LWP",
    "Deno",     "zipfile",    "tarfile",    "gzip",       "bz2",      "lzma",     "mmap",
    "resource", "psutil",     "docker",     "kubernetes", "google",   "azure",    "git",
    "sh",       "plumbum",    "fabric",     "invoke",     "pexpect",  "sched",    "threading",
    "concurrent", "selectors", "ssl",       "xmlrpc",     "email",    "mailbox",  "dbm",
    "shelve",   "pydoc",      "code",       "runpy",      "imp",      "zipimport", "atexit",
    "gc",       "inspect",    "types",      "operator",   "functools", "linecache"};

bool InList(std::string_view word, const std::string_view* begin, const std::string_view* end) {
  return std::find(begin, end, word) != end;
}

// Interpolation markers inside a string literal: code runs inside it.
bool Interpolates(std::string_view body, bool fstring) {
  if (fstring && body.find('{') != std::string_view::npos) return true;
  return body.find("${") != std::string_view::npos || body.find("#{") != std::string_view::npos ||
         body.find("@{") != std::string_view::npos || body.find("{$") != std::string_view::npos ||
         body.find("$(") != std::string_view::npos;
}

// Inert: every identifier outside plain string literals is in the vocabulary or names
// an imported module that is not a touching one.
bool IsInert(std::string_view code) {
  std::vector<std::string> imported;
  std::vector<std::string_view> idents;
  bool after_import = false;
  for (size_t i = 0; i < code.size();) {
    const char c = code[i];
    if (c == '`') return false;  // shell-out in perl/ruby/php; JS templates are rare enough
    if (c == '"' || c == '\'') {
      const bool fstring = i > 0 && (code[i - 1] == 'f' || code[i - 1] == 'F');
      size_t j = i + 1;
      while (j < code.size() && code[j] != c) j += code[j] == '\\' ? 2 : 1;
      const std::string_view body = code.substr(i + 1, std::min(j, code.size()) - i - 1);
      if (Interpolates(body, fstring)) return false;
      i = j + 1;
      continue;
    }
    if (IsIdentStart(c)) {
      size_t j = i;
      while (j < code.size() && IsIdentChar(code[j])) ++j;
      const std::string_view word = code.substr(i, j - i);
      if (after_import) {
        if (imported.size() >= 16) return false;  // bounded: inert code imports little
        imported.emplace_back(word);
      }
      after_import = word == "import" || word == "from" || word == "require" || word == "use" ||
                     (word == "as" && !imported.empty());
      idents.push_back(word);
      i = j;
      continue;
    }
    if (c != ' ' && c != ',') after_import = after_import && (c == '(' || c == '\'');
    ++i;
  }
  for (const std::string& m : imported) {
    if (InList(m, std::begin(kTouchingModules), std::end(kTouchingModules))) return false;
  }
  for (std::string_view w : idents) {
    if (InList(w, std::begin(kInertWords), std::end(kInertWords))) continue;
    if (std::find(imported.begin(), imported.end(), w) != imported.end()) continue;
    return false;
  }
  return true;
}

// awk: system(), getline, pipes and output redirection to a file touch the system.
CodeClass ClassifyAwk(std::string_view code) {
  std::string lower = AsciiLower(code);
  if (NamesDangerous(lower)) return CodeClass::kDangerous;
  if (lower.find("system") != std::string::npos || lower.find("getline") != std::string::npos ||
      lower.find("close") != std::string::npos || lower.find('|') != std::string::npos) {
    return CodeClass::kTouches;
  }
  // `print > "file"` / `print >> $2`; `$3 > 100` compares.
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i] != '>') continue;
    size_t j = i + 1;
    while (j < code.size() && (code[j] == '>' || code[j] == ' ')) ++j;
    if (j < code.size() && !(code[j] >= '0' && code[j] <= '9') && code[j] != '=' &&
        code[j] != '-' && code[j] != '.') {
      return CodeClass::kTouches;
    }
  }
  return CodeClass::kInert;
}

// Skips a delimited field (`/re/`, `|x|`) starting after its opening delimiter;
// returns the index after the closing one (or the end).
size_t SkipDelimited(std::string_view code, size_t i, char delim) {
  while (i < code.size() && code[i] != delim) i += code[i] == '\\' ? 2 : 1;
  return std::min(i + 1, code.size() + 1);
}

// sed: a small parser of the script's commands. The e (execute), w/W (write) and r/R
// (read) commands, and the e and w flags of s///, touch the system; the rest of the
// language (print, delete from the pattern space, substitute, branch, ...) is inert.
CodeClass ClassifySed(std::string_view code) {
  const std::string lower = AsciiLower(code);
  if (NamesDangerous(lower)) return CodeClass::kDangerous;
  const size_t n = code.size();
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == ';'; };
  while (i < n) {
    while (i < n && (is_space(code[i]) || code[i] == '{' || code[i] == '}')) ++i;
    if (i >= n) break;
    // Addresses: N, $, /re/, \cREc, first~step, with ',' for a range and '!' to negate.
    for (bool more = true; more && i < n;) {
      const char c = code[i];
      if ((c >= '0' && c <= '9') || c == '~' || c == '+' || c == '$' || c == ',' || c == '!' ||
          c == ' ' || c == 'I' || c == 'M') {
        // 'I'/'M' only directly after a regex address; harmless elsewhere (not commands).
        if ((c == 'I' || c == 'M') && (i == 0 || code[i - 1] != '/')) break;
        ++i;
      } else if (c == '/') {
        i = SkipDelimited(code, i + 1, '/');
      } else if (c == '\\' && i + 1 < n) {
        i = SkipDelimited(code, i + 2, code[i + 1]);
      } else {
        more = false;
      }
    }
    if (i >= n) break;
    const char cmd = code[i++];
    switch (cmd) {
      case 's': {
        if (i >= n) return CodeClass::kInert;
        const char delim = code[i];
        i = SkipDelimited(code, i + 1, delim);
        i = SkipDelimited(code, i, delim);
        while (i < n && !is_space(code[i]) && code[i] != '}') {
          if (code[i] == 'e' || code[i] == 'w' || code[i] == 'W') return CodeClass::kTouches;
          ++i;
        }
        break;
      }
      case 'y': {
        if (i >= n) return CodeClass::kInert;
        const char delim = code[i];
        i = SkipDelimited(code, i + 1, delim);
        i = SkipDelimited(code, i, delim);
        break;
      }
      case 'e':
      case 'w':
      case 'W':
      case 'r':
      case 'R':
        return CodeClass::kTouches;
      case 'a':
      case 'i':
      case 'c':
      case '#':
        while (i < n && code[i] != '\n') ++i;  // text or comment to the end of the line
        break;
      case 'b':
      case 't':
      case 'T':
      case ':':
        while (i < n && code[i] != ';' && code[i] != '\n') ++i;  // a label
        break;
      default:
        break;  // p P d D n N g G h H x l = q Q z F: the pattern and hold spaces only
    }
  }
  return CodeClass::kInert;
}

}  // namespace

CodeClass ClassifyInlineCode(std::string_view program, std::string_view code) {
  if (program == "awk" || program == "gawk" || program == "mawk" || program == "nawk" ||
      program == "busybox-awk") {
    return ClassifyAwk(code);
  }
  if (program == "sed" || program == "gsed") return ClassifySed(code);
  const std::string lower = AsciiLower(code);
  if (NamesDangerous(lower)) return CodeClass::kDangerous;
  return IsInert(code) ? CodeClass::kInert : CodeClass::kTouches;
}

std::string_view CodeClassName(CodeClass c) {
  switch (c) {
    case CodeClass::kInert:
      return "inert";
    case CodeClass::kTouches:
      return "touches";
    case CodeClass::kDangerous:
      return "dangerous";
  }
  return "touches";
}

bool ParseCodeClass(std::string_view name, CodeClass* out) {
  for (CodeClass c : {CodeClass::kInert, CodeClass::kTouches, CodeClass::kDangerous}) {
    if (CodeClassName(c) == name) {
      *out = c;
      return true;
    }
  }
  return false;
}

}  // namespace jobgate::policy
