// Approvals through running gates: a job held by one replica is approved over HTTP on
// the other and reaches WORK exactly once; self-approval and the wrong role are refused.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"
#include "subjects/codec.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::Subprocess;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

constexpr char kPolicy[] = R"(snapshot: approvals-e2e
rules:
  - id: prod-db
    match: {topics: ["job.db.>"], environment: prod}
    decision: require_approval
    approver_role: dba
    reason: Prod database changes need a DBA
)";

int PostStatus(const GateProcess& gate, const std::string& path, const std::string& token,
               std::string* body = nullptr) {
  httplib::Client client("127.0.0.1", gate.http_port());
  client.set_read_timeout(30);
  auto r = client.Post(path.c_str(), {{"Authorization", "Bearer " + token}},
                       R"({"reason": "reviewed the migration"})", "application/json");
  if (body != nullptr && r) *body = r->body;
  return r ? r->status : 0;
}

TEST(ApprovalsEndToEnd, HeldByOneReplicaApprovedThroughTheOtherReleasedOnce) {
  NatsServer server;
  TempDir dir;
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config =
      dir.WriteFile("config.yaml",
                    "api:\n  tokens:\n"
                    "    - {name: dana, roles: [approver, dba], token: dana-token}\n"
                    "    - {name: alice, roles: [approver, dba], token: alice-token}\n"
                    "    - {name: sam, roles: [approver], token: sam-token}\n");
  GateProcess a(server.url(), {"--config", config, "--policy", policy}, dir, "gate-a");
  GateProcess b(server.url(), {"--config", config, "--policy", policy}, dir, "gate-b");
  ASSERT_TRUE(a.WaitReady()) << a.process().Log();
  ASSERT_TRUE(b.WaitReady()) << b.process().Log();

  JetStreamClient client(server.url());
  v1::Job job;
  job.set_job_id("migrate-42");
  job.set_environment("prod");
  job.mutable_actor()->set_owner("alice");
  job.mutable_actor()->set_agent_id("agent-7");
  ASSERT_TRUE(client.Publish("job.db.migrate", job.SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] { return client.Count("APPROVALS", "approval.requests.>") == 1; }));
  EXPECT_EQ(client.Count("WORK", "worker.>"), 0);

  // Whoever judged it, both replicas list it (the store is shared).
  for (const GateProcess* gate : {&a, &b}) {
    httplib::Client http("127.0.0.1", gate->http_port());
    auto r = http.Get("/api/v1/approvals?include_resolved=false",
                      {{"Authorization", "Bearer sam-token"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_NE(r->body.find("migrate-42"), std::string::npos) << r->body;
  }

  std::string body;
  // The job's owner may not approve it; a token without the rule's role may not either.
  EXPECT_EQ(PostStatus(b, "/api/v1/approvals/migrate-42/approve", "alice-token", &body), 403)
      << body;
  EXPECT_EQ(PostStatus(b, "/api/v1/approvals/migrate-42/approve", "sam-token", &body), 403) << body;
  EXPECT_EQ(PostStatus(b, "/api/v1/approvals/migrate-42/approve", "", &body), 401) << body;

  ASSERT_EQ(PostStatus(b, "/api/v1/approvals/migrate-42/approve", "dana-token", &body), 200)
      << body;
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.db.migrate") == 1; }));
  v1::DispatchedJob released;
  ASSERT_TRUE(released.ParseFromString(client.ReadAll("WORK", "worker.db.migrate")[0].data));
  EXPECT_EQ(released.job().job_id(), "migrate-42");
  EXPECT_EQ(released.approval().approver(), "dana");
  EXPECT_EQ(released.approval().held_snapshot(), "approvals-e2e");
  EXPECT_FALSE(released.approval().job_digest().empty());

  // No replay: a second approve (through either replica) is refused and nothing more is
  // released.
  EXPECT_EQ(PostStatus(a, "/api/v1/approvals/migrate-42/approve", "dana-token", &body), 409)
      << body;
  EXPECT_EQ(client.Count("WORK", "worker.>"), 1);
}

// `jobgate approvals list` as an approver runs it: the real binary against a running gate,
// a page at a time.
TEST(ApprovalsEndToEnd, TheCliPagesThroughTheQueue) {
  NatsServer server;
  TempDir dir;
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config = dir.WriteFile(
      "config.yaml", "api:\n  tokens:\n    - {name: sam, roles: [viewer], token: sam-token}\n");
  GateProcess gate(server.url(), {"--config", config, "--policy", policy}, dir, "gate");
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  JetStreamClient client(server.url());
  for (int i = 0; i < 3; ++i) {
    v1::Job job;
    job.set_job_id("migrate-" + std::to_string(i));
    job.set_environment("prod");
    ASSERT_TRUE(client.Publish("job.db.migrate", job.SerializeAsString()).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return client.Count("APPROVALS", "approval.requests.>") == 3; }));

  const std::string url = "http://127.0.0.1:" + std::to_string(gate.http_port());
  std::vector<std::string> listed;
  std::vector<std::string> page_token_flag;
  for (int page = 0; page < 2; ++page) {
    std::vector<std::string> argv = {JOBGATE_BINARY, "approvals", "list", "--json",
                                     "--url",        url,         "--token",    "sam-token",
                                     "--page-size",  "2"};
    argv.insert(argv.end(), page_token_flag.begin(), page_token_flag.end());
    Subprocess cli(argv, dir.path() + "/cli-" + std::to_string(page) + ".log");
    ASSERT_EQ(cli.Wait(), 0) << cli.Log();
    v1::ApprovalList list;
    ASSERT_TRUE(subjects::FromJson(cli.Log(), &list).ok()) << cli.Log();
    EXPECT_EQ(list.pending(), 3);
    for (const auto& approval : list.approvals()) listed.push_back(approval.job().job_id());
    EXPECT_EQ(list.next_page_token().empty(), page == 1) << cli.Log();
    page_token_flag = {"--page-token", list.next_page_token()};
  }
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, (std::vector<std::string>{"migrate-0", "migrate-1", "migrate-2"}));

  Subprocess forged({JOBGATE_BINARY, "approvals", "list", "--url", url, "--token", "sam-token",
                     "--page-token", "p1.1&page_size=5"},
                    dir.path() + "/cli-forged.log");
  EXPECT_NE(forged.Wait(), 0);
  EXPECT_NE(forged.Log().find("invalid_request"), std::string::npos) << forged.Log();
}

// For a person: `approvals list` prints a table, `approvals show ID` one job explained.
TEST(ApprovalsEndToEnd, TheCliPrintsATableAndShowsOneJob) {
  NatsServer server;
  TempDir dir;
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config = dir.WriteFile(
      "config.yaml", "api:\n  tokens:\n    - {name: sam, roles: [viewer], token: sam-token}\n");
  GateProcess gate(server.url(), {"--config", config, "--policy", policy}, dir, "gate");
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  JetStreamClient client(server.url());
  v1::Job job;
  job.set_job_id("migrate-7");
  job.set_environment("prod");
  job.mutable_actor()->set_owner("bob");
  (*job.mutable_args()->mutable_fields())["sql"].set_string_value("ALTER TABLE t ADD c int");
  ASSERT_TRUE(client.Publish("job.db.migrate", job.SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] { return client.Count("APPROVALS", "approval.requests.>") == 1; }));

  const std::string url = "http://127.0.0.1:" + std::to_string(gate.http_port());
  Subprocess list({JOBGATE_BINARY, "approvals", "list", "--url", url, "--token", "sam-token"},
                  dir.path() + "/list.log");
  ASSERT_EQ(list.Wait(), 0) << list.Log();
  const std::string table = list.Log();
  EXPECT_EQ(table.rfind("JOB ID", 0), 0u) << table;
  const size_t row = table.find("\nmigrate-7");
  ASSERT_NE(row, std::string::npos) << table;
  EXPECT_EQ(table.find("job.db.migrate", row) - row - 1, table.find("TOPIC")) << table;
  EXPECT_NE(table.find("prod-db", row), std::string::npos) << table;
  EXPECT_NE(table.find("1 job pending"), std::string::npos) << table;

  Subprocess show({JOBGATE_BINARY, "approvals", "show", "migrate-7", "--url", url, "--token",
                   "sam-token"},
                  dir.path() + "/show.log");
  ASSERT_EQ(show.Wait(), 0) << show.Log();
  for (const char* want : {"Job migrate-7 (PENDING)", "Why it is held", "prod-db",
                           "Prod database changes need a DBA", "approver role   dba",
                           "ALTER TABLE t ADD c int", "digest          sha256:"}) {
    EXPECT_NE(show.Log().find(want), std::string::npos) << want << "\n" << show.Log();
  }
  Subprocess missing({JOBGATE_BINARY, "approvals", "show", "nope", "--url", url, "--token",
                      "sam-token"},
                     dir.path() + "/missing.log");
  EXPECT_EQ(missing.Wait(), 1) << missing.Log();
  EXPECT_NE(missing.Log().find("no held job nope"), std::string::npos) << missing.Log();
}

}  // namespace
}  // namespace jobgate::gate
