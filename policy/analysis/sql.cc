// SQL classification (see sql.h for the contract).

#include "policy/analysis/sql.h"

#include <algorithm>
#include <array>
#include <span>

#include "base/ascii.h"

namespace jobgate::policy {
namespace {

struct Token {
  enum Type { kWord, kIdentifier, kNumber, kString, kPunct } type = kWord;
  std::string text;  // words upper-cased; strings without their quotes
  int depth = 0;     // parenthesis depth
};

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

// The end of the comment that starts at sql[i] (`-- ...`, MySQL's `# ...`, `/* ... */`),
// or i when none starts there.
size_t SkipComment(std::string_view sql, size_t i) {
  const char c = sql[i];
  const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
  if ((c == '-' && next == '-') || c == '#') {
    const size_t eol = sql.find('\n', i);
    return eol == std::string_view::npos ? sql.size() : eol;
  }
  if (c == '/' && next == '*') {
    const size_t end = sql.find("*/", i + 2);
    return end == std::string_view::npos ? sql.size() : end + 2;
  }
  return i;
}

// Reads the text quoted by sql[i] (`'`, `"` or a backquote) into `text`, with doubled
// quotes and (in strings) MySQL's backslash escapes undone; returns the index after it.
size_t ReadQuoted(std::string_view sql, size_t i, std::string* text) {
  const char quote = sql[i];
  size_t j = i + 1;
  while (j < sql.size()) {
    if (sql[j] == quote) {
      if (j + 1 < sql.size() && sql[j + 1] == quote) {  // '' inside a string
        text->push_back(quote);
        j += 2;
        continue;
      }
      break;
    }
    if (sql[j] == '\\' && quote == '\'' && j + 1 < sql.size()) {  // MySQL escapes
      text->push_back(sql[j + 1]);
      j += 2;
      continue;
    }
    text->push_back(sql[j++]);
  }
  return std::min(j + 1, sql.size());
}

// PostgreSQL dollar quoting at sql[i] ($$..$$ or $tag$..$tag$): reads the body into
// `body` and returns the index after it, or i when sql[i] does not open one.
size_t ReadDollarQuoted(std::string_view sql, size_t i, std::string* body) {
  size_t j = i + 1;
  while (j < sql.size() && IsWordChar(sql[j]) && sql[j] != '$') ++j;
  if (j >= sql.size() || sql[j] != '$') return i;
  const std::string_view tag = sql.substr(i, j - i + 1);
  const size_t end = sql.find(tag, j + 1);
  const size_t body_end = end == std::string_view::npos ? sql.size() : end;
  body->assign(sql.substr(j + 1, body_end - j - 1));
  return end == std::string_view::npos ? sql.size() : end + tag.size();
}

// Splits `sql` into statements of tokens. Returns false when it stopped at a limit.
bool Tokenize(std::string_view sql, std::vector<std::vector<Token>>* statements) {
  statements->emplace_back();
  int depth = 0;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (const size_t after = SkipComment(sql, i); after != i) {
      i = after;
      continue;
    }
    if (c == ';') {
      ++i;
      depth = 0;
      if (!statements->back().empty()) {
        if (statements->size() >= kMaxSqlStatements) return i >= sql.size();
        statements->emplace_back();
      }
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      Token t{c == '\'' ? Token::kString : Token::kIdentifier, {}, depth};
      i = ReadQuoted(sql, i, &t.text);
      statements->back().push_back(std::move(t));
      continue;
    }
    if (c == '$') {
      Token t{Token::kString, {}, depth};
      if (const size_t after = ReadDollarQuoted(sql, i, &t.text); after != i) {
        i = after;
        statements->back().push_back(std::move(t));
        continue;
      }
    }
    if (IsWordChar(c)) {
      size_t j = i;
      while (j < sql.size() && IsWordChar(sql[j])) ++j;
      Token t{(c >= '0' && c <= '9') ? Token::kNumber : Token::kWord, {}, depth};
      for (size_t k = i; k < j; ++k) t.text.push_back(Upper(sql[k]));
      statements->back().push_back(std::move(t));
      i = j;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '(') ++depth;
    statements->back().push_back({Token::kPunct, std::string(1, c), depth});
    if (c == ')' && depth > 0) --depth;
    ++i;
  }
  if (statements->back().empty()) statements->pop_back();
  return true;
}

bool IsWord(const Token& t, std::string_view word) {
  return t.type == Token::kWord && t.text == word;
}

// True when a WHERE disjunct always holds: TRUE, a non-zero number, `x = x` for one
// literal or column on both sides, optionally in parentheses.
bool IsTautology(std::span<const Token> d) {
  while (d.size() >= 2 && d.front().text == "(" && d.back().text == ")" &&
         d.front().type == Token::kPunct) {
    d = d.subspan(1, d.size() - 2);
  }
  if (d.size() == 1) {
    if (IsWord(d[0], "TRUE")) return true;
    if (d[0].type == Token::kNumber) {
      return d[0].text.find_first_not_of("0.") != std::string::npos;
    }
    return false;
  }
  if (d.size() == 3 && d[1].type == Token::kPunct && d[1].text == "=") {
    return d[0].type == d[2].type && d[0].text == d[2].text;
  }
  return false;
}

// True when the statement, from `verb` on, has a WHERE clause that can filter rows.
bool HasEffectiveWhere(const std::vector<Token>& tokens, size_t verb) {
  const int base = tokens[verb].depth;
  size_t where = tokens.size();
  for (size_t k = verb + 1; k < tokens.size(); ++k) {
    if (tokens[k].depth == base && IsWord(tokens[k], "WHERE")) {
      where = k;
      break;
    }
  }
  if (where == tokens.size()) return false;
  size_t end = where + 1;
  while (end < tokens.size() && !(tokens[end].depth == base &&
                                  (IsWord(tokens[end], "RETURNING") ||
                                   IsWord(tokens[end], "ORDER") || IsWord(tokens[end], "LIMIT")))) {
    ++end;
  }
  const std::span<const Token> clause(tokens.data() + where + 1, end - where - 1);
  if (clause.empty()) return false;
  // Split on OR at the clause's own depth: any always-true disjunct makes it all true.
  size_t start = 0;
  for (size_t k = 0; k <= clause.size(); ++k) {
    if (k == clause.size() || (clause[k].depth == base && IsWord(clause[k], "OR"))) {
      if (IsTautology(clause.subspan(start, k - start))) return false;
      start = k + 1;
    }
  }
  return true;
}

std::string ObjectAfter(const std::vector<Token>& tokens, size_t verb) {
  for (size_t k = verb + 1; k < tokens.size(); ++k) {
    const std::string& t = tokens[k].text;
    if (tokens[k].type != Token::kWord) break;
    if (t == "TEMPORARY" || t == "TEMP" || t == "MATERIALIZED" || t == "FOREIGN" || t == "UNIQUE" ||
        t == "ONLINE" || t == "OFFLINE") {
      continue;
    }
    std::string out;
    for (char c : t) out.push_back(AsciiLower(c));
    return out;
  }
  return {};
}

SqlStatement Classify(const std::vector<Token>& tokens) {
  SqlStatement s;
  size_t verb = tokens.size();
  for (size_t k = 0; k < tokens.size(); ++k) {
    if (tokens[k].type == Token::kWord) {
      verb = k;
      break;
    }
  }
  if (verb == tokens.size()) return s;  // kOther: nothing to do
  std::string_view v = tokens[verb].text;
  if (v == "WITH") {  // WITH cte AS (...) <main statement>
    const int base = tokens[verb].depth;
    for (size_t k = verb + 1; k < tokens.size(); ++k) {
      const std::string& t = tokens[k].text;
      if (tokens[k].depth == base && tokens[k].type == Token::kWord &&
          (t == "SELECT" || t == "INSERT" || t == "UPDATE" || t == "DELETE" || t == "MERGE")) {
        verb = k;
        v = t;
        break;
      }
    }
  }
  if (v == "EXPLAIN") {  // EXPLAIN ANALYZE runs the statement
    if (verb + 1 < tokens.size() && IsWord(tokens[verb + 1], "ANALYZE")) {
      return Classify(
          std::vector<Token>(tokens.begin() + static_cast<ptrdiff_t>(verb) + 2, tokens.end()));
    }
    s.kind = SqlKind::kRead;
    return s;
  }
  if (v == "SELECT" || v == "SHOW" || v == "DESCRIBE" || v == "DESC" || v == "VALUES" ||
      v == "TABLE") {
    s.kind = SqlKind::kRead;
    for (size_t k = verb + 1; k < tokens.size(); ++k) {
      if (tokens[k].depth == tokens[verb].depth && IsWord(tokens[k], "INTO")) {
        s.kind = SqlKind::kWrite;  // SELECT ... INTO creates a table
      }
    }
    return s;
  }
  if (v == "DROP") {
    s.kind = SqlKind::kDrop;
    s.object = ObjectAfter(tokens, verb);
  } else if (v == "TRUNCATE") {
    s.kind = SqlKind::kTruncate;
    s.object = "table";
  } else if (v == "DELETE") {
    s.kind = HasEffectiveWhere(tokens, verb) ? SqlKind::kWrite : SqlKind::kDeleteWithoutWhere;
  } else if (v == "UPDATE") {
    s.kind = HasEffectiveWhere(tokens, verb) ? SqlKind::kWrite : SqlKind::kUpdateWithoutWhere;
  } else if (v == "GRANT") {
    s.kind = SqlKind::kGrant;
  } else if (v == "REVOKE") {
    s.kind = SqlKind::kRevoke;
  } else if (v == "ALTER") {
    s.kind = SqlKind::kAlter;
    s.object = ObjectAfter(tokens, verb);
  } else if (v == "BEGIN" || v == "COMMIT" || v == "ROLLBACK" || v == "START" || v == "END" ||
             v == "SAVEPOINT" || v == "RELEASE" || v == "SET" || v == "RESET" || v == "USE") {
    s.kind = SqlKind::kOther;
  } else {
    s.kind = SqlKind::kWrite;  // INSERT, CREATE, COPY, CALL, ... and anything unknown
  }
  return s;
}

}  // namespace

std::string_view SqlKindName(SqlKind kind) { return SqlKindNames()[static_cast<size_t>(kind)]; }

const std::vector<std::string_view>& SqlKindNames() {
  static const std::vector<std::string_view> kNames = {"read",
                                                       "write",
                                                       "other",
                                                       "drop",
                                                       "truncate",
                                                       "delete_without_where",
                                                       "update_without_where",
                                                       "grant",
                                                       "revoke",
                                                       "alter",
                                                       "unparsed"};
  return kNames;
}

std::vector<SqlStatement> ClassifySql(std::string_view sql) {
  const bool too_long = sql.size() > kMaxSqlBytes;
  if (too_long) sql = sql.substr(0, kMaxSqlBytes);
  std::vector<std::vector<Token>> statements;
  const bool complete = Tokenize(sql, &statements);
  std::vector<SqlStatement> out;
  out.reserve(statements.size() + 1);
  for (const auto& tokens : statements) out.push_back(Classify(tokens));
  if (too_long || !complete) out.push_back({SqlKind::kUnparsed, {}});
  return out;
}

std::vector<std::string> SqlFromCommand(const SimpleCommand& cmd) {
  std::vector<std::string> out;
  const std::string& p = cmd.program;
  // Short options of each client that take a value, and the one that carries SQL.
  std::string_view value_letters;
  char sql_letter = 0;
  std::string_view sql_long;
  if (p == "psql") {
    value_letters = "cdfhpUvoTLFRP";
    sql_letter = 'c';
    sql_long = "--command";
  } else if (p == "mysql" || p == "mariadb") {
    value_letters = "ehuDPS";
    sql_letter = 'e';
    sql_long = "--execute";
  } else if (p == "sqlite3") {
    if (cmd.args.size() >= 2) out.push_back(cmd.args[1]);
  } else {
    return out;
  }
  const std::vector<std::string>& argv = cmd.argv;
  for (size_t i = 1; i < argv.size() && sql_letter != 0; ++i) {
    const std::string& a = argv[i];
    if (a == "--") break;
    if (a.rfind("--", 0) == 0) {
      if (a.size() > sql_long.size() && a.compare(0, sql_long.size(), sql_long) == 0 &&
          a[sql_long.size()] == '=') {
        out.push_back(a.substr(sql_long.size() + 1));
      } else if (a == sql_long && i + 1 < argv.size()) {
        out.push_back(argv[++i]);
      }
      continue;
    }
    if (a.size() < 2 || a[0] != '-') continue;
    for (size_t j = 1; j < a.size(); ++j) {
      if (a[j] == 'p' && p != "psql") break;  // mysql -pSECRET: the rest is a password
      if (value_letters.find(a[j]) == std::string_view::npos) continue;
      const bool attached = j + 1 < a.size();
      if (a[j] == sql_letter) {
        if (attached)
          out.push_back(a.substr(j + 1));
        else if (i + 1 < argv.size())
          out.push_back(argv[i + 1]);
      }
      if (!attached) ++i;  // the value is the next word
      break;
    }
  }
  if (!cmd.stdin_text.empty()) out.push_back(cmd.stdin_text);
  return out;
}

}  // namespace jobgate::policy
