// The approvers' page in a real browser: a real nats-server and gate hold three jobs,
// allowed three and denied two (one agent id hostile markup), and hold a second
// snapshot; then tests/browser/ui.test.mjs drives Debian's chromium against /ui/ (sign
// in, review, approve, hostile content, viewer, activity, rollback, plain-http refusal)
// and this test checks what the bus and the gate saw: the approved job reached worker.>
// exactly once, the others are still held, the first snapshot is active again.
// Skipped when node, chromium or tests/browser's node_modules are missing.
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <iostream>
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

constexpr char kPolicy[] = R"(snapshot: ui-browser
rules:
  - id: prod-db
    match: {topics: ["job.db.>"], environment: prod}
    decision: require_approval
    approver_role: dba
    risk_score: 80
    reason: Prod database changes need a DBA
  - id: shell-review
    match: {topics: ["job.shell.>"]}
    decision: require_approval
    reason: Shell commands are reviewed
  - id: reads-ok
    match: {topics: ["job.read.>"]}
    decision: allow
    reason: Reads are fine
  - id: no-drops
    match: {topics: ["job.danger.>"]}
    decision: deny
    reason: Dropping things is denied
)";

// An agent id written by a hostile agent: the recent denials must show it as text.
constexpr char kHostileAgent[] = "<img src=x onerror=\"window.__xss=5\">agent'\"";

// The first executable called `name` on $PATH; empty when none is.
std::string OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

v1::Job HeldJob(const std::string& id, const std::string& owner) {
  v1::Job job;
  job.set_job_id(id);
  job.set_environment("prod");
  job.mutable_actor()->set_owner(owner);
  job.mutable_actor()->set_agent_id("agent-7");
  job.mutable_actor()->set_session_id("session-9");
  return job;
}

TEST(UiBrowser, ApproverReviewsAndApprovesViewerOnlyReads) {
  const std::string node = OnPath("node");
  const char* chromium_env = std::getenv("JOBGATE_CHROMIUM");
  const std::string chromium = chromium_env != nullptr ? chromium_env : OnPath("chromium");
  const std::string browser_dir = std::string(JOBGATE_SOURCE_DIR) + "/tests/browser";
  if (node.empty()) GTEST_SKIP() << "node not found";
  if (chromium.empty()) GTEST_SKIP() << "chromium not found (apt package chromium)";
  if (!std::filesystem::exists(browser_dir + "/node_modules/playwright-core")) {
    GTEST_SKIP() << "playwright-core not installed (npm ci in tests/browser)";
  }

  NatsServer server;
  TempDir dir;
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config =
      dir.WriteFile("config.yaml",
                    "api:\n  tokens:\n"
                    "    - {name: alice, roles: [approver, dba], token: alice-token}\n"
                    "    - {name: vera, roles: [viewer], token: vera-token}\n"
                    "    - {name: pat, roles: [policy-admin], token: pat-token}\n");
  GateProcess gate(server.url(), {"--config", config, "--policy", policy}, dir, "gate");
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();

  JetStreamClient client(server.url());
  v1::Job migrate = HeldJob("migrate-1", "bob");
  (*migrate.mutable_args()->mutable_fields())["sql"].set_string_value(
      "ALTER TABLE users ADD COLUMN last_seen timestamptz");
  ASSERT_TRUE(client.Publish("job.db.migrate", migrate.SerializeAsString()).ok());
  // Arguments written by a hostile agent: markup and quote tricks must render as text.
  v1::Job hostile = HeldJob("xss-1", "o'neil</b><b>");
  auto& fields = *hostile.mutable_args()->mutable_fields();
  fields["command"].set_string_value("<script>window.__xss=1</script>");
  fields["path"].set_string_value("\"><img src=x onerror=\"window.__xss=2\">");
  fields["note"].set_string_value("'; window.__xss=3; //");
  ASSERT_TRUE(client.Publish("job.shell.exec", hostile.SerializeAsString()).ok());
  // Alice's own job: she may not approve it.
  v1::Job own = HeldJob("own-1", "alice");
  ASSERT_TRUE(client.Publish("job.db.seed", own.SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] { return client.Count("APPROVALS", "approval.requests.>") == 3; }));
  // The decision mix the activity view must show: three allowed, two denied.
  for (int i = 0; i < 3; ++i) {
    v1::Job read = HeldJob("read-" + std::to_string(i), "bob");
    ASSERT_TRUE(client.Publish("job.read.file", read.SerializeAsString()).ok());
  }
  for (int i = 0; i < 2; ++i) {
    v1::Job drop = HeldJob("drop-" + std::to_string(i), "mallory");
    drop.mutable_actor()->set_agent_id(kHostileAgent);
    drop.mutable_actor()->set_session_id("session-d");
    ASSERT_TRUE(client.Publish("job.danger.drop", drop.SerializeAsString()).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.read.file") == 3; }));
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.denied.danger.drop") == 2; }));

  // A second snapshot, active, for the policy-admin to roll back from.
  httplib::Client http("127.0.0.1", gate.http_port());
  const httplib::Headers admin = {{"Authorization", "Bearer pat-token"}};
  google::protobuf::Struct publish;
  (*publish.mutable_fields())["policy"].set_string_value(
      std::regex_replace(kPolicy, std::regex("snapshot: ui-browser"), "snapshot: ui-browser-2"));
  (*publish.mutable_fields())["note"].set_string_value("the one to roll back");
  (*publish.mutable_fields())["force"].set_bool_value(true);
  (*publish.mutable_fields())["allow_loosening"].set_bool_value(true);
  auto published =
      http.Post("/api/v1/policy/publish", admin, subjects::ToJson(publish), "application/json");
  ASSERT_TRUE(published);
  ASSERT_EQ(published->status, 200) << published->body;

  // Screenshots go next to the binary, in the build directory.
  const std::string out =
      std::filesystem::path(JOBGATE_BINARY).parent_path().string() + "/ui-screenshots";
  const std::string url = "http://127.0.0.1:" + std::to_string(gate.http_port()) + "/ui/";
  Subprocess test({node, browser_dir + "/ui.test.mjs", "--url", url, "--approver", "alice-token",
                   "--viewer", "vera-token", "--admin", "pat-token", "--hostile-agent",
                   kHostileAgent, "--out", out, "--chromium", chromium},
                  dir.path() + "/browser.log");
  const int status = test.Wait(std::chrono::minutes(4));
  if (status == 77) GTEST_SKIP() << test.Log();
  ASSERT_EQ(status, 0) << test.Log() << "\n--- gate log\n" << gate.process().Log();
  std::cout << test.Log() << "screenshots in " << out << "\n";

  // The approval released the job once, to its worker; nothing else left the queue.
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.db.migrate") == 1; }));
  v1::DispatchedJob released;
  ASSERT_TRUE(released.ParseFromString(client.ReadAll("WORK", "worker.db.migrate")[0].data));
  EXPECT_EQ(released.job().job_id(), "migrate-1");
  EXPECT_EQ(released.approval().approver(), "alice");
  EXPECT_EQ(released.approval().reason(), "reviewed the migration");
  EXPECT_EQ(client.Count("WORK", "worker.>"), 4);  // the approved one and the three reads
  EXPECT_EQ(client.Count("WORK", "worker.db.>"), 1);
  EXPECT_EQ(client.Count("WORK", "worker.shell.>"), 0);

  auto list = http.Get("/api/v1/approvals", {{"Authorization", "Bearer vera-token"}});
  ASSERT_TRUE(list);
  v1::ApprovalList pending;
  ASSERT_TRUE(subjects::FromJson(list->body, &pending).ok()) << list->body;
  EXPECT_EQ(pending.pending(), 2) << list->body;

  // The page's rollback moved the pointer back to the first snapshot.
  auto snapshots = http.Get("/api/v1/policy/snapshots", {{"Authorization", "Bearer vera-token"}});
  ASSERT_TRUE(snapshots);
  v1::SnapshotList listed;
  ASSERT_TRUE(subjects::FromJson(snapshots->body, &listed).ok()) << snapshots->body;
  EXPECT_EQ(listed.active(), "ui-browser") << snapshots->body;
}

// Without a browser: the page's files and headers, whoami, and the API's ETags.
TEST(UiServing, PageHeadersWhoamiAndEtags) {
  NatsServer server;
  TempDir dir;
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config =
      dir.WriteFile("config.yaml",
                    "api:\n  tokens:\n"
                    "    - {name: alice, roles: [approver, dba], token: alice-token}\n"
                    "    - {name: vera, roles: [viewer], token: vera-token}\n");
  GateProcess gate(server.url(), {"--config", config, "--policy", policy}, dir, "gate");
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  httplib::Client http("127.0.0.1", gate.http_port());

  for (const char* path : {"/ui/", "/ui/app.js", "/ui/app.css"}) {
    auto r = http.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Security-Policy"),
              "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
        << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
  }
  auto index = http.Get("/ui/");
  EXPECT_NE(index->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(index->body.find("<script src=\"app.js\" defer></script>"), std::string::npos);
  EXPECT_EQ(index->body.find("<script>"), std::string::npos) << "no inline script";
  EXPECT_NE(http.Get("/ui/app.js")->get_header_value("Content-Type").find("text/javascript"),
            std::string::npos);
  EXPECT_EQ(http.Get("/ui/nothing.js")->status, 404);
  EXPECT_EQ(http.Get("/ui/../api/v1/whoami")->status, 404);
  auto redirect = http.Get("/ui");
  EXPECT_EQ(redirect->status, 301);
  EXPECT_EQ(redirect->get_header_value("Location"), "/ui/");

  auto who = http.Get("/api/v1/whoami", {{"Authorization", "Bearer alice-token"}});
  ASSERT_TRUE(who);
  EXPECT_EQ(who->status, 200) << who->body;
  google::protobuf::Struct identity;
  ASSERT_TRUE(subjects::FromJson(who->body, &identity).ok()) << who->body;
  EXPECT_EQ(identity.fields().at("name").string_value(), "alice");
  std::vector<std::string> roles;
  for (const auto& v : identity.fields().at("roles").list_value().values()) {
    roles.push_back(v.string_value());
  }
  EXPECT_EQ(roles, (std::vector<std::string>{"viewer", "approver", "dba"}));
  auto viewer = http.Get("/api/v1/whoami", {{"Authorization", "Bearer vera-token"}});
  EXPECT_NE(viewer->body.find("\"viewer\""), std::string::npos);
  EXPECT_EQ(viewer->body.find("approver"), std::string::npos) << viewer->body;
  EXPECT_EQ(http.Get("/api/v1/whoami")->status, 401);

  // A GET answers an ETag; sending it back answers 304 until the list changes.
  const httplib::Headers auth = {{"Authorization", "Bearer vera-token"}};
  auto first = http.Get("/api/v1/approvals", auth);
  ASSERT_TRUE(first);
  const std::string tag = first->get_header_value("ETag");
  ASSERT_FALSE(tag.empty());
  httplib::Headers conditional = auth;
  conditional.emplace("If-None-Match", tag);
  auto again = http.Get("/api/v1/approvals", conditional);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  JetStreamClient client(server.url());
  v1::Job many_args = HeldJob("m-2", "bob");
  for (const char* key : {"command", "path", "sql", "url", "note", "mode", "cwd", "env"}) {
    (*many_args.mutable_args()->mutable_fields())[key].set_string_value(key);
  }
  ASSERT_TRUE(client.Publish("job.db.migrate", many_args.SerializeAsString()).ok());
  std::string changed;
  ASSERT_TRUE(WaitFor([&] {
    auto r = http.Get("/api/v1/approvals", conditional);
    if (r && r->status == 200 && r->get_header_value("ETag") != tag) {
      changed = r->get_header_value("ETag");
      return true;
    }
    return false;
  }));
  // Unchanged content keeps its tag, however the JSON happens to order a job's args.
  httplib::Headers again_conditional = auth;
  again_conditional.emplace("If-None-Match", changed);
  for (int i = 0; i < 10; ++i) {
    auto r = http.Get("/api/v1/approvals", again_conditional);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 304) << i;
  }
}

}  // namespace
}  // namespace jobgate::gate
