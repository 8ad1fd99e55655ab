// Approvals cannot be forged or replayed, on a nats-server running
// the deploy users and least-privilege permissions
// (deploy/nats/permissions.conf): the gate runs as `jobgate`, jobs come from
// `agent`, request-reply calls from `approver`. Every refused attempt is
// recorded on the job's audit trail (a DecisionRecord on audit.decisions.<rest>
// with approval.outcome REFUSED and approval.refusal saying why) and counted in
// jobgate_approvals_resolved_total{outcome="refused"}:
//   no token or a wrong one (HTTP and request-reply)   unauthenticated   401
//   the approver reviewed another digest than held      digest_mismatch   409
//   a token without the rule's role                     wrong_role        403
//   a second approve of a released job                  already_resolved  409
// and the job, republished on the bus after its release, is neither held nor
// released again.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nats/nats.h>

#include <set>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

constexpr char kPolicy[] = R"(snapshot: approvals-security
rules:
  - id: prod-db
    match: {topics: ["job.db.>"], environment: prod}
    decision: require_approval
    approver_role: dba
)";

struct Answer {
  int status = 0;
  std::string body;
};

Answer Approve(const GateProcess& gate, const std::string& job_id, const std::string& token,
               const std::string& body = R"({"reason": "reviewed"})") {
  httplib::Client client("127.0.0.1", gate.http_port());
  client.set_read_timeout(30);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto r = client.Post(("/api/v1/approvals/" + job_id + "/approve").c_str(), headers, body,
                       "application/json");
  return r ? Answer{r->status, r->body} : Answer{};
}

// jobgate.api.approvals.approve over NATS as `url`'s user; the Jobgate-Status
// header.
std::string ApproveOverNats(const std::string& url, const std::string& job_id,
                            const std::string& token) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return "connect failed";
  const std::string body = R"({"job_id": ")" + job_id + R"("})";
  natsMsg* msg = nullptr;
  natsMsg_Create(&msg, "jobgate.api.approvals.approve", nullptr, body.data(),
                 static_cast<int>(body.size()));
  if (!token.empty()) natsMsgHeader_Set(msg, "Authorization", ("Bearer " + token).c_str());
  natsMsg* reply = nullptr;
  std::string status = "no reply";
  if (natsConnection_RequestMsg(&reply, nc, msg, 10000) == NATS_OK) {
    const char* code = nullptr;
    natsMsgHeader_Get(reply, "Jobgate-Status", &code);
    status = code != nullptr ? code : "";
    natsMsg_Destroy(reply);
  }
  natsMsg_Destroy(msg);
  natsConnection_Destroy(nc);
  return status;
}

TEST(ApprovalSecurity, ForgedAndReplayedApprovalsAreRefusedAndRecorded) {
  auto permissions =
      policy::ReadFile(std::string(JOBGATE_SOURCE_DIR) + "/deploy/nats/permissions.conf");
  ASSERT_TRUE(permissions.ok());
  NatsServer server(*permissions);
  TempDir dir;
  const std::string policy = dir.WriteFile("policy.yaml", kPolicy);
  const std::string config =
      dir.WriteFile("config.yaml",
                    "api:\n  tokens:\n"
                    "    - {name: dana, roles: [approver, dba], token: dana-token}\n"
                    "    - {name: sam, roles: [approver], token: sam-token}\n");
  GateProcess gate(server.url("jobgate", "gate-password"), {"--config", config, "--policy", policy},
                   dir);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();

  JetStreamClient agent(server.url("agent", "agent-password"));
  JetStreamClient inspector(server.url("jobgate", "gate-password"));
  v1::Job job;
  job.set_job_id("migrate-7");
  job.set_environment("prod");
  job.mutable_actor()->set_owner("alice");
  ASSERT_TRUE(agent.Publish("job.db.migrate", job.SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] { return inspector.Count("APPROVALS") == 1; })) << gate.process().Log();

  // Forged: no token, a wrong token, over HTTP and over NATS as the approver
  // user.
  EXPECT_EQ(Approve(gate, "migrate-7", "").status, 401);
  EXPECT_EQ(Approve(gate, "migrate-7", "forged-token").status, 401);
  EXPECT_EQ(ApproveOverNats(server.url("approver", "approver-password"), "migrate-7", ""), "401");
  // Stale: the approver reviewed another version of the job than the one held.
  Answer stale = Approve(gate, "migrate-7", "dana-token",
                         R"({"reason": "reviewed", "job_digest": "sha256:not-the-held-job"})");
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_NE(stale.body.find("digest_mismatch"), std::string::npos) << stale.body;
  // A real token without the rule's role.
  EXPECT_EQ(Approve(gate, "migrate-7", "sam-token").status, 403);
  EXPECT_EQ(inspector.Count("WORK"), 0);

  ASSERT_EQ(Approve(gate, "migrate-7", "dana-token").status, 200);
  ASSERT_TRUE(WaitFor([&] { return inspector.Count("WORK") == 1; })) << gate.process().Log();

  // Replayed: a second approve, over HTTP and NATS; and the job itself sent
  // again.
  Answer again = Approve(gate, "migrate-7", "dana-token");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("already_resolved"), std::string::npos) << again.body;
  EXPECT_EQ(ApproveOverNats(server.url("approver", "approver-password"), "migrate-7", "dana-token"),
            "409");
  ASSERT_TRUE(agent.Publish("job.db.migrate", job.SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] {
    const auto c = inspector.Consumer();
    return c.ok && c.num_pending == 0 && c.num_ack_pending == 0;
  })) << gate.process().Log();
  EXPECT_EQ(inspector.Count("WORK"), 1);
  EXPECT_EQ(inspector.Count("APPROVALS"), 1);

  // Every refusal is on the audit trail, once per attempt.
  const std::multiset<std::string> expected = {
      "unauthenticated", "unauthenticated",  "unauthenticated", "digest_mismatch",
      "wrong_role",      "already_resolved", "already_resolved"};
  std::multiset<std::string> refusals;
  ASSERT_TRUE(WaitFor([&] {
    refusals.clear();
    for (const auto& m : inspector.ReadAll("AUDIT", "audit.decisions.db.migrate")) {
      v1::DecisionRecord record;
      if (!record.ParseFromString(m.data) || record.approval().outcome() != "REFUSED") continue;
      EXPECT_EQ(record.job().job_id(), "migrate-7");
      refusals.insert(record.approval().refusal());
    }
    return refusals.size() >= expected.size();
  }));
  EXPECT_EQ(refusals, expected);
  EXPECT_EQ(gate.MetricReaching("jobgate_approvals_resolved_total{outcome=\"refused\"}", 7), 7);
  EXPECT_EQ(gate.MetricReaching("jobgate_approvals_resolved_total{outcome=\"approved\"}", 1), 1);
}

}  // namespace
}  // namespace jobgate::gate
