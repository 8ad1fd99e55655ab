// SQL classification and extraction from psql/mysql/sqlite3 invocations.
#include "policy/analysis/sql.h"

#include <gtest/gtest.h>

#include "policy/analysis/command.h"

namespace jobgate::policy {
namespace {

std::string Kinds(std::string_view sql) {
  std::string out;
  for (const SqlStatement& s : ClassifySql(sql)) {
    if (!out.empty()) out += " ";
    out += SqlKindName(s.kind);
    if (!s.object.empty()) out += ":" + s.object;
  }
  return out;
}

TEST(SqlTest, Kinds) {
  EXPECT_EQ(Kinds("SELECT * FROM t"), "read");
  EXPECT_EQ(Kinds("drop database prod"), "drop:database");
  EXPECT_EQ(Kinds("DROP TABLE IF EXISTS users"), "drop:table");
  EXPECT_EQ(Kinds("drop materialized view v"), "drop:view");
  EXPECT_EQ(Kinds("DROP SCHEMA s CASCADE"), "drop:schema");
  EXPECT_EQ(Kinds("truncate users"), "truncate:table");
  EXPECT_EQ(Kinds("DELETE FROM users"), "delete_without_where");
  EXPECT_EQ(Kinds("DELETE FROM users WHERE id = 3"), "write");
  EXPECT_EQ(Kinds("UPDATE users SET admin = true"), "update_without_where");
  EXPECT_EQ(Kinds("update users set a = 1 where id = 2"), "write");
  EXPECT_EQ(Kinds("GRANT ALL ON db TO x"), "grant");
  EXPECT_EQ(Kinds("REVOKE SELECT ON t FROM x"), "revoke");
  EXPECT_EQ(Kinds("ALTER TABLE t DROP COLUMN c"), "alter:table");
  EXPECT_EQ(Kinds("INSERT INTO t VALUES (1)"), "write");
  EXPECT_EQ(Kinds("CREATE TABLE t (id int)"), "write");
  EXPECT_EQ(Kinds("BEGIN; COMMIT"), "other other");
  EXPECT_EQ(Kinds("SHOW TABLES"), "read");
  EXPECT_EQ(Kinds("EXPLAIN SELECT 1"), "read");
  EXPECT_EQ(Kinds("EXPLAIN ANALYZE DELETE FROM t"), "delete_without_where");
  EXPECT_EQ(Kinds("SELECT * INTO backup FROM t"), "write");
  EXPECT_EQ(Kinds(""), "");
}

TEST(SqlTest, TautologicalWhereIsNoWhere) {
  EXPECT_EQ(Kinds("DELETE FROM t WHERE 1=1"), "delete_without_where");
  EXPECT_EQ(Kinds("DELETE FROM t WHERE true"), "delete_without_where");
  EXPECT_EQ(Kinds("DELETE FROM t WHERE (1 = 1)"), "delete_without_where");
  EXPECT_EQ(Kinds("DELETE FROM t WHERE id = 3 OR 'a' = 'a'"), "delete_without_where");
  EXPECT_EQ(Kinds("UPDATE t SET x = 1 WHERE 1"), "update_without_where");
  EXPECT_EQ(Kinds("DELETE FROM t WHERE 0"), "write");
  EXPECT_EQ(Kinds("DELETE FROM t WHERE id IN (SELECT id FROM u WHERE 1=1)"), "write");
}

TEST(SqlTest, SubqueryWhereDoesNotCount) {
  EXPECT_EQ(Kinds("DELETE FROM t USING (SELECT * FROM u WHERE u.a = 1) s"), "delete_without_where");
  EXPECT_EQ(Kinds("WITH x AS (SELECT id FROM t WHERE a = 1) DELETE FROM t"),
            "delete_without_where");
  EXPECT_EQ(Kinds("WITH x AS (DELETE FROM t WHERE a = 1) SELECT 1"), "read");
}

TEST(SqlTest, CommentsQuotesAndSplitting) {
  EXPECT_EQ(Kinds("SELECT 1; DROP DATABASE prod"), "read drop:database");
  EXPECT_EQ(Kinds("SELECT 'x; DROP DATABASE prod'"), "read");
  EXPECT_EQ(Kinds("SELECT 1 -- ; DROP DATABASE prod"), "read");
  EXPECT_EQ(Kinds("/* DROP DATABASE x */ SELECT 1"), "read");
  EXPECT_EQ(Kinds("/**/DROP/**/DATABASE/**/prod"), "drop:database");
  EXPECT_EQ(Kinds("SELECT $$ ; DROP TABLE t $$"), "read");
  EXPECT_EQ(Kinds("SELECT $f$ x $f$; TRUNCATE t"), "read truncate:table");
  EXPECT_EQ(Kinds("SELECT \"drop\" FROM t"), "read");
  EXPECT_EQ(Kinds(";;; DrOp TaBlE x;;"), "drop:table");
}

TEST(SqlTest, LimitsReportTheRestAsUnparsed) {
  std::string many;
  for (size_t i = 0; i < kMaxSqlStatements + 5; ++i) many += "SELECT 1;";
  many += "DROP DATABASE prod";
  const auto statements = ClassifySql(many);
  EXPECT_EQ(statements.back().kind, SqlKind::kUnparsed);
  EXPECT_EQ(ClassifySql(std::string(kMaxSqlBytes + 10, ' ')).back().kind, SqlKind::kUnparsed);
}

std::vector<std::string> SqlOf(std::string_view line) {
  std::vector<std::string> out;
  for (const auto& cmd : AnalyzeCommandLine(line).commands) {
    for (auto& s : SqlFromCommand(cmd)) out.push_back(s);
  }
  return out;
}

TEST(SqlTest, FromCommands) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SqlOf("psql -c 'DROP DATABASE prod'"), V{"DROP DATABASE prod"});
  EXPECT_EQ(SqlOf("psql -h db -U admin -c 'DROP DATABASE prod' app"), V{"DROP DATABASE prod"});
  EXPECT_EQ(SqlOf("psql --command='TRUNCATE t'"), V{"TRUNCATE t"});
  EXPECT_EQ(SqlOf("psql --command 'TRUNCATE t'"), V{"TRUNCATE t"});
  EXPECT_EQ(SqlOf("psql -tAc 'select 1'"), V{"select 1"});
  EXPECT_EQ(SqlOf("mysql -uroot -psecret -e 'DROP DATABASE x'"), V{"DROP DATABASE x"});
  EXPECT_EQ(SqlOf("mysql --execute=\"DELETE FROM t\""), V{"DELETE FROM t"});
  EXPECT_EQ(SqlOf("sqlite3 app.db 'DELETE FROM t'"), V{"DELETE FROM t"});
  EXPECT_EQ(SqlOf("echo 'DROP DATABASE prod;' | psql"), V{"DROP DATABASE prod;\n"});
  EXPECT_EQ(SqlOf("psql <<< 'DROP TABLE t'"), V{"DROP TABLE t\n"});
  EXPECT_EQ(SqlOf("sudo -u postgres psql -c 'DROP DATABASE prod'"), V{"DROP DATABASE prod"});
  EXPECT_EQ(SqlOf("psql -h db app"), V{});
  EXPECT_EQ(SqlOf("ls -c"), V{});
}

}  // namespace
}  // namespace jobgate::policy
