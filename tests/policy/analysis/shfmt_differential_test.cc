// Differential test of the command-line parser (policy/analysis/command.h) against an independent
// one: shfmt (mvdan/sh, Debian package shfmt) prints bash's syntax tree as JSON. A
// generated corpus of command lines (quoting, escapes, expansions, substitutions,
// pipelines, lists, compound commands, redirections, comments) is parsed by both; for
// every line shfmt parses, the simple commands (argv after quote removal; expansions
// as their source text) must be the same multiset. Lines go to shfmt in batches, one
// process per batch, so the test runs in about a second.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "policy/analysis/command.h"

namespace jobgate::policy {
namespace {

using Argv = std::vector<std::string>;

// A minimal JSON tree and parser: shfmt's output is tens of megabytes, and a general
// protobuf Struct parse of it takes seconds.
struct Json {
  enum Kind { kNull, kNumber, kString, kArray, kObject } kind = kNull;
  double number = 0;
  std::string text;
  std::vector<Json> items;                            // kArray
  std::vector<std::pair<std::string, Json>> fields;  // kObject
  const Json* Get(std::string_view key) const {
    for (const auto& [k, v] : fields) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  bool Parse(Json* out) { return Value(out) && (Skip(), i_ == s_.size()); }

 private:
  void Skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  bool String(std::string* out) {
    if (s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\' && i_ < s_.size()) {
        const char e = s_[i_++];
        switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'u': {
            const unsigned cp = static_cast<unsigned>(std::stoul(s_.substr(i_, 4), nullptr, 16));
            i_ += 4;
            if (cp < 0x80) {
              c = static_cast<char>(cp);
            } else if (cp < 0x800) {
              out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
              c = static_cast<char>(0x80 | (cp & 0x3F));
            } else {
              out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
              out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
              c = static_cast<char>(0x80 | (cp & 0x3F));
            }
            break;
          }
          default: c = e;
        }
      }
      out->push_back(c);
    }
    ++i_;
    return true;
  }
  bool Value(Json* out) {
    Skip();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      out->kind = Json::kObject;
      ++i_;
      for (Skip(); i_ < s_.size() && s_[i_] != '}'; Skip()) {
        std::string key;
        if (!String(&key)) return false;
        Skip();
        ++i_;  // ':'
        out->fields.emplace_back(std::move(key), Json());
        if (!Value(&out->fields.back().second)) return false;
        Skip();
        if (s_[i_] == ',') ++i_;
      }
      ++i_;
      return true;
    }
    if (c == '[') {
      out->kind = Json::kArray;
      ++i_;
      for (Skip(); i_ < s_.size() && s_[i_] != ']'; Skip()) {
        out->items.emplace_back();
        if (!Value(&out->items.back())) return false;
        Skip();
        if (s_[i_] == ',') ++i_;
      }
      ++i_;
      return true;
    }
    if (c == '"') {
      out->kind = Json::kString;
      return String(&out->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      out->kind = Json::kNumber;
      size_t used = 0;
      out->number = std::stod(s_.substr(i_, 32), &used);
      i_ += used;
      return true;
    }
    for (const char* lit : {"true", "false", "null"}) {
      if (s_.compare(i_, std::strlen(lit), lit) == 0) {
        i_ += std::strlen(lit);
        return true;
      }
    }
    return false;
  }
  const std::string& s_;
  size_t i_ = 0;
};

// --- Generator -------------------------------------------------------------------------

class LineGenerator {
 public:
  explicit LineGenerator(uint32_t seed) : rng_(seed) {}

  std::string Line() {
    std::string out = List(0);
    if (Pick(8) == 0) out += " # note 'x' \"y\"";
    return out;
  }

 private:
  size_t Pick(size_t n) { return rng_() % n; }

  std::string Plain() {
    static const char* kWords[] = {"src", "a.txt", "-v", "--flag=1", "x/y_z", "1", "-rf", "out.o",
                                   "..", "*.c",   "{a,b}", "foo-bar", "~/x",   "%s", "--", "@f"};
    return kWords[Pick(16)];
  }
  std::string SingleQuoted() {
    static const char* kBodies[] = {"a b", "$X", "\"q\"", "\\n", "*", "a;b|c", "", "x  y"};
    return std::string("'") + kBodies[Pick(8)] + "'";
  }
  std::string DoubleQuoted() {
    static const char* kParts[] = {"a b", "\\\"", "\\\\", "\\$", "$X", "${Y}", "$(pwd)", "\\n",
                                   "*",   "'s'",  "c d"};
    std::string out = "\"";
    const size_t n = 1 + Pick(3);
    for (size_t i = 0; i < n; ++i) out += kParts[Pick(11)];
    return out + "\"";
  }
  std::string Escaped() {
    static const char kChars[] = " $'\"&;|()<>*?#a";
    return std::string("\\") + kChars[Pick(sizeof kChars - 1)];
  }
  std::string Expansion() {
    static const char* kExp[] = {"$X", "${Y}", "$HOME", "$(echo hi)", "$(ls src | wc -l)", "$1"};
    return kExp[Pick(6)];
  }
  std::string Word() {
    std::string out;
    const size_t pieces = 1 + Pick(3);
    for (size_t i = 0; i < pieces; ++i) {
      switch (Pick(6)) {
        case 0:
          out += SingleQuoted();
          break;
        case 1:
          out += DoubleQuoted();
          break;
        case 2:
          out += Escaped();
          break;
        case 3:
          out += Expansion();
          break;
        default:
          out += Plain();
      }
    }
    // A word must not start with '#' (a comment) or be a lone '--' after assignments.
    return out;
  }
  std::string Simple() {
    static const char* kPrograms[] = {"ls", "cat",  "grep", "make", "cp",    "mv",   "printf",
                                      "echo", "sort", "wc", "npm", "cargo", "go",   "node",
                                      "jq", "sed",  "awk",  "head", "tail", "mkdir", "touch",
                                      "diff", "python3", "rustc"};
    std::string out;
    if (Pick(6) == 0) out += "Z9=" + Plain() + " ";
    out += kPrograms[Pick(24)];
    const size_t n = Pick(5);
    for (size_t i = 0; i < n; ++i) out += " " + Word();
    static const char* kRedirs[] = {" > out.txt", " 2>&1", " < in.txt", " >> \"log file\"",
                                    " 2>/dev/null", " &>/dev/null"};
    if (Pick(4) == 0) out += kRedirs[Pick(6)];
    return out;
  }
  std::string Pipeline() {
    std::string out = Simple();
    const size_t n = Pick(3);
    for (size_t i = 0; i < n; ++i) out += " | " + Simple();
    return out;
  }
  std::string List(int depth) {
    std::string out = Compound(depth);
    const size_t n = Pick(3);
    static const char* kOps[] = {"; ", " && ", " || ", " & "};
    for (size_t i = 0; i < n; ++i) out += kOps[Pick(4)] + Compound(depth);
    return out;
  }
  std::string Compound(int depth) {
    if (depth >= 2) return Pipeline();
    switch (Pick(10)) {
      case 0:
        return "( " + List(depth + 1) + " )";
      case 1:
        return "{ " + List(depth + 1) + "; }";
      case 2:
        return "if " + Simple() + "; then " + List(depth + 1) + "; fi";
      case 3:
        return "while " + Simple() + "; do " + Simple() + "; done";
      case 4:
        return "for i in a b; do " + Simple() + "; done";
      case 5:
        return "Z9=" + Plain();
      default:
        return Pipeline();
    }
  }

  std::mt19937 rng_;
};

// --- shfmt side ------------------------------------------------------------------------

// Runs shfmt on `lines` (joined by newlines); false if it fails to parse them.
bool RunShfmt(const std::vector<std::string>& lines, std::string* source, Json* tree) {
  source->clear();
  for (const std::string& l : lines) *source += l + "\n";
  char path[] = "/tmp/jobgate_shfmt_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return false;
  close(fd);
  std::ofstream(path) << *source;
  const std::string cmd = std::string("shfmt --to-json < ") + path + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string json;
  if (pipe != nullptr) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) json.append(buf, n);
  }
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  unlink(path);
  if (status != 0 || json.empty()) return false;
  return JsonParser(json).Parse(tree);
}

double Num(const Json& s, const char* key, const char* sub) {
  const Json* k = s.Get(key);
  const Json* v = k == nullptr ? nullptr : k->Get(sub);
  return v == nullptr ? -1 : v->number;
}

std::string Str(const Json& s, const char* key) {
  const Json* v = s.Get(key);
  return v == nullptr ? "" : v->text;
}

std::string Unescape(const std::string& lit, bool in_double) {
  std::string out;
  for (size_t i = 0; i < lit.size(); ++i) {
    if (lit[i] == '\\' && i + 1 < lit.size()) {
      const char n = lit[i + 1];
      if (n == '\n') {
        ++i;
        continue;
      }
      if (!in_double || n == '$' || n == '`' || n == '"' || n == '\\') {
        out += n;
        ++i;
        continue;
      }
    }
    out += lit[i];
  }
  return out;
}

std::string Slice(const std::string& src, const Json& node) {
  const double from = Num(node, "Pos", "Offset");
  const double to = Num(node, "End", "Offset");
  if (from < 0 || to < from) return "?";
  return src.substr(static_cast<size_t>(from), static_cast<size_t>(to - from));
}

std::string WordText(const std::string& src, const Json& parts, bool in_double) {
  std::string out;
  for (const Json& part : parts.items) {
    const std::string type = Str(part, "Type");
    if (type == "Lit") {
      out += Unescape(Str(part, "Value"), in_double);
    } else if (type == "SglQuoted") {
      out += Str(part, "Value");
    } else if (type == "DblQuoted") {
      if (const Json* inner = part.Get("Parts")) out += WordText(src, *inner, true);
    } else {
      out += Slice(src, part);
    }
  }
  return out;
}

// Every CallExpr with arguments under `v`, as argv.
void Collect(const std::string& src, const Json& s, std::vector<Argv>* out) {
  if (s.kind == Json::kArray) {
    for (const Json& item : s.items) Collect(src, item, out);
    return;
  }
  if (s.kind != Json::kObject) return;
  if (Str(s, "Type") == "CallExpr") {
    const Json* args = s.Get("Args");
    if (args != nullptr && !args->items.empty()) {
      Argv argv;
      for (const Json& w : args->items) {
        const Json* parts = w.Get("Parts");
        argv.push_back(parts == nullptr ? "" : WordText(src, *parts, false));
      }
      const size_t slash = argv[0].rfind('/');
      if (slash != std::string::npos && slash + 1 < argv[0].size()) argv[0] = argv[0].substr(slash + 1);
      out->push_back(std::move(argv));
    }
  }
  for (const auto& [key, child] : s.fields) {
    if (key != "Pos" && key != "End") Collect(src, child, out);
  }
}

// shfmt's simple commands per input line (1-based), for a batch that parses.
std::map<int, std::vector<Argv>> ShfmtCommands(const std::string& src, const Json& tree) {
  std::map<int, std::vector<Argv>> out;
  const Json* stmts = tree.Get("Stmts");
  if (stmts == nullptr) return out;
  for (const Json& stmt : stmts->items) {
    const int line = static_cast<int>(Num(stmt, "Pos", "Line"));
    Collect(src, stmt, &out[line]);
  }
  return out;
}

// Parses `lines` with shfmt, splitting the batch when some line does not parse; fills
// `by_index` for every line shfmt parses.
void ParseBatches(const std::vector<std::string>& lines, size_t first, size_t count,
                  std::map<size_t, std::vector<Argv>>* by_index, int* shfmt_runs) {
  if (count == 0) return;
  std::vector<std::string> batch(lines.begin() + static_cast<ptrdiff_t>(first),
                                 lines.begin() + static_cast<ptrdiff_t>(first + count));
  std::string src;
  Json tree;
  ++*shfmt_runs;
  if (RunShfmt(batch, &src, &tree)) {
    auto per_line = ShfmtCommands(src, tree);
    for (size_t i = 0; i < count; ++i) (*by_index)[first + i] = per_line[static_cast<int>(i) + 1];
    return;
  }
  if (count == 1) return;  // shfmt rejects this line: not compared
  ParseBatches(lines, first, count / 2, by_index, shfmt_runs);
  ParseBatches(lines, first + count / 2, count - count / 2, by_index, shfmt_runs);
}

std::string Show(const std::vector<Argv>& cmds) {
  std::string out;
  for (const Argv& a : cmds) {
    out += "  [";
    for (const std::string& w : a) out += "<" + w + ">";
    out += "]\n";
  }
  return out;
}

TEST(ShfmtDifferentialTest, SameSimpleCommandsAndWords) {
  if (std::system("shfmt --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "shfmt is not installed (scripts/install-deps installs it)";
  }
  LineGenerator gen(20261205);
  std::vector<std::string> lines;
  for (int i = 0; i < 2000; ++i) lines.push_back(gen.Line());

  std::map<size_t, std::vector<Argv>> theirs;
  int runs = 0;
  const size_t kBatch = 250;
  for (size_t first = 0; first < lines.size(); first += kBatch) {
    ParseBatches(lines, first, std::min(kBatch, lines.size() - first), &theirs, &runs);
  }
  size_t compared = 0, opaque = 0, mismatched = 0, commands = 0, words = 0;
  for (const auto& [index, expected_in] : theirs) {
    const CommandAnalysis a = AnalyzeCommandLine(lines[index]);
    if (a.opaque) {
      ++opaque;
      continue;
    }
    std::vector<Argv> mine;
    for (const SimpleCommand& c : a.commands) {
      if (c.program == ":" && c.argv.size() == 1) continue;  // redirections alone
      mine.push_back(c.argv);
    }
    std::vector<Argv> expected = expected_in;
    std::sort(mine.begin(), mine.end());
    std::sort(expected.begin(), expected.end());
    ++compared;
    commands += expected.size();
    for (const Argv& argv : expected) words += argv.size();
    if (mine != expected && ++mismatched <= 20) {
      ADD_FAILURE() << "line: " << lines[index] << "\nshfmt:\n"
                    << Show(expected) << "jobgate:\n"
                    << Show(mine);
    }
  }
  std::printf(
      "shfmt differential: %zu lines, %zu parsed by shfmt (%d shfmt runs), %zu compared "
      "(%zu simple commands, %zu words), %zu opaque to jobgate, %zu mismatched\n",
      lines.size(), theirs.size(), runs, compared, commands, words, opaque, mismatched);
  EXPECT_EQ(mismatched, 0u);
  EXPECT_GE(compared, lines.size() * 9 / 10);
}

}  // namespace
}  // namespace jobgate::policy
