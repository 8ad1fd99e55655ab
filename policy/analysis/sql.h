// SQL statement classification, for rules about what a database statement does.
//
// ClassifySql() splits text into statements on `;` outside quotes and comments, strips
// `--` and `/* */` comments, and gives each statement a kind: DROP, TRUNCATE, DELETE or
// UPDATE without a WHERE clause (or with a WHERE clause that is always true, such as
// `WHERE 1=1` or `WHERE true`), GRANT, REVOKE, ALTER; anything else is READ (SELECT,
// SHOW, EXPLAIN, ...), WRITE (INSERT, UPDATE/DELETE with WHERE, CREATE, ...) or OTHER
// (transaction control and session settings). Keywords are case-insensitive. Quoted
// text ('..', "..", `..`, PostgreSQL $tag$..$tag$) is never read as keywords.
//
// SqlFromCommand() extracts the SQL a command would send: `psql -c SQL` /
// `--command=SQL`, `mysql -e SQL` / `--execute=SQL`, `sqlite3 DB SQL`, and SQL known to
// arrive on standard input (`echo 'DROP ...' | psql`, here-strings).
//
// Pure functions; thread-safe; never throw except std::bad_alloc; linear in the input.
// More than kMaxSqlStatements statements, or text over kMaxSqlBytes, yields one extra
// statement of kind kUnparsed for the rest, so a hostile input cannot hide a DROP past
// the limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "policy/analysis/command.h"

namespace jobgate::policy {

enum class SqlKind {
  kRead,
  kWrite,
  kOther,
  kDrop,
  kTruncate,
  kDeleteWithoutWhere,
  kUpdateWithoutWhere,
  kGrant,
  kRevoke,
  kAlter,
  kUnparsed,
};

// Policy spelling: "read", "write", "other", "drop", "truncate", "delete_without_where",
// "update_without_where", "grant", "revoke", "alter", "unparsed".
std::string_view SqlKindName(SqlKind kind);
// Every SqlKindName, in enum order.
const std::vector<std::string_view>& SqlKindNames();

struct SqlStatement {
  SqlKind kind = SqlKind::kOther;
  // What a DROP, ALTER or TRUNCATE acts on, lower-case: "database", "table", "schema",
  // "index", "view", "user", ...; "table" for TRUNCATE; "" otherwise.
  std::string object;
};

inline constexpr size_t kMaxSqlStatements = 1000;
inline constexpr size_t kMaxSqlBytes = 1 << 20;

std::vector<SqlStatement> ClassifySql(std::string_view sql);

// SQL texts that `cmd` would run (empty when it is not a SQL client or carries none).
std::vector<std::string> SqlFromCommand(const SimpleCommand& cmd);

}  // namespace jobgate::policy
