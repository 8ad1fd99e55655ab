// deploy/nats/permissions.conf against a real nats-server: each role can do what it
// needs and nothing more, and the gate runs under its own least-privilege user.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <mutex>
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

// The deploy config's users and permissions, verbatim (nats-server resolves `include`
// relative to the including file, so the text is appended instead).
std::string PermissionsInclude() {
  auto text = policy::ReadFile(std::string(JOBGATE_SOURCE_DIR) + "/deploy/nats/permissions.conf");
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? *text : "";
}

// Records the subjects a connection receives on `filter`.
class Observer {
 public:
  Observer(const std::string& url, const std::string& filter) {
    EXPECT_EQ(natsConnection_ConnectTo(&nc_, url.c_str()), NATS_OK);
    EXPECT_EQ(natsConnection_Subscribe(&sub_, nc_, filter.c_str(), &Observer::OnMsg, this),
              NATS_OK);
    EXPECT_EQ(natsConnection_Flush(nc_), NATS_OK);
  }
  ~Observer() {
    natsSubscription_Destroy(sub_);
    natsConnection_Destroy(nc_);
  }
  bool Saw(const std::string& subject) {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.count(subject) > 0;
  }

 private:
  static void OnMsg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Observer*>(closure);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->seen_.insert(natsMsg_GetSubject(msg));
    natsMsg_Destroy(msg);
  }
  natsConnection* nc_ = nullptr;
  natsSubscription* sub_ = nullptr;
  std::mutex mu_;
  std::set<std::string> seen_;
};

// Publishes `subject` as `user` and waits for the server's permissions violation.
bool RefusedToPublish(const NatsServer& server, const std::string& user,
                      const std::string& password, const std::string& subject) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, server.url(user, password).c_str()) != NATS_OK) return false;
  natsConnection_PublishString(nc, subject.c_str(), "x");
  natsConnection_Flush(nc);
  const bool refused = WaitFor([&] {
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    return text != nullptr &&
           std::string(text).find("Permissions Violation") != std::string::npos &&
           std::string(text).find(subject) != std::string::npos;
  });
  natsConnection_Destroy(nc);
  return refused;
}

void Publish(const NatsServer& server, const std::string& user, const std::string& password,
             const std::string& subject) {
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server.url(user, password).c_str()), NATS_OK);
  natsConnection_PublishString(nc, subject.c_str(), "x");
  natsConnection_Flush(nc);
  natsConnection_Destroy(nc);
}

TEST(DeployPermissions, EachRoleIsConfinedToItsSubjects) {
  NatsServer server(PermissionsInclude());
  // The agent platform submits jobs and nothing else.
  EXPECT_TRUE(RefusedToPublish(server, "agent", "agent-password", "worker.db.migrate"));
  EXPECT_TRUE(RefusedToPublish(server, "agent", "agent-password", "jobgate.api.policy.publish"));
  EXPECT_TRUE(RefusedToPublish(server, "agent", "agent-password", "audit.decisions.db.migrate"));
  // Parked jobs are re-judged under the arrival subject their header names: only the gate
  // may park.
  EXPECT_TRUE(RefusedToPublish(server, "agent", "agent-password", "jobgate.deferred.0123abcd"));
  EXPECT_TRUE(RefusedToPublish(server, "worker", "worker-password", "jobgate.deferred.0123abcd"));
  // Approvers reach the approvals API only; the gate (which serves it) sees their calls.
  EXPECT_TRUE(
      RefusedToPublish(server, "approver", "approver-password", "jobgate.api.policy.rollback"));
  Observer api(server.url("jobgate", "gate-password"), "jobgate.api.>");
  Publish(server, "approver", "approver-password", "jobgate.api.approvals.approve");
  EXPECT_TRUE(WaitFor([&] { return api.Saw("jobgate.api.approvals.approve"); }));
  // Policy admins reach the policy API; workers cannot.
  Publish(server, "policy-admin", "admin-password", "jobgate.api.policy.publish");
  EXPECT_TRUE(WaitFor([&] { return api.Saw("jobgate.api.policy.publish"); }));
  EXPECT_TRUE(RefusedToPublish(server, "worker", "worker-password", "jobgate.api.policy.publish"));
}

TEST(DeployPermissions, WorkersCannotSubmitJobs) {
  NatsServer server(PermissionsInclude());
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server.url("worker", "worker-password").c_str()),
            NATS_OK);
  natsConnection_PublishString(nc, "job.db.migrate", "x");
  natsConnection_Flush(nc);
  // The server answers a permissions violation; nats.c keeps it as the last error.
  EXPECT_TRUE(WaitFor([&] {
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    return text != nullptr && std::string(text).find("Permissions Violation") != std::string::npos;
  }));
  natsConnection_Destroy(nc);
}

TEST(DeployPermissions, TheGateRunsUnderItsOwnUser) {
  NatsServer server(PermissionsInclude());
  TempDir dir;
  const std::string policy = dir.WriteFile(
      "policy.yaml", "rules: [{id: reads, match: {topics: ['job.read.>']}, decision: allow}]\n");
  GateProcess gate(server.url("jobgate", "gate-password"), {"--policy", policy}, dir);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  // A job from the agent user reaches WORK through the gate.
  JetStreamClient agent(server.url("agent", "agent-password"));
  v1::Job job;
  job.set_job_id("least-privilege-1");
  ASSERT_TRUE(agent.Publish("job.read.file", job.SerializeAsString()).ok());
  JetStreamClient admin(server.url("jobgate", "gate-password"));
  EXPECT_TRUE(WaitFor([&] { return admin.Count("WORK", "worker.read.file") == 1; }))
      << gate.process().Log();
}

TEST(DeployPermissions, TheGateParksAndReinjectsUnderItsOwnUser) {
  NatsServer server(PermissionsInclude());
  TempDir dir;
  const std::string policy =
      dir.WriteFile("policy.yaml",
                    "rules: [{id: llm, match: {topics: ['job.llm.>']}, decision: throttle,\n"
                    "         rate: {limit: 2, period: 1s, key: tenant_id}}]\n");
  GateProcess gate(server.url("jobgate", "gate-password"), {"--policy", policy}, dir);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  JetStreamClient agent(server.url("agent", "agent-password"));
  for (int i = 0; i < 6; ++i) {
    v1::Job job;
    job.set_job_id("parked-" + std::to_string(i));
    ASSERT_TRUE(agent.Publish("job.llm.chat", job.SerializeAsString()).ok());
  }
  // Two at once, four parked (publish, direct get, delete under the gate's user), then
  // routed: the deferred stream ends empty.
  JetStreamClient admin(server.url("jobgate", "gate-password"));
  EXPECT_TRUE(WaitFor([&] { return admin.Count("WORK", "worker.llm.chat") == 6; }))
      << gate.process().Log();
  EXPECT_TRUE(WaitFor([&] { return admin.Count("JOBS_DEFERRED") == 0; })) << gate.process().Log();
  EXPECT_GT(gate.Metric("jobgate_throttled_total"), 0);
  EXPECT_EQ(gate.Metric("jobgate_publish_errors_total"), 0) << gate.process().Log();
}

}  // namespace
}  // namespace jobgate::gate
