// JOBS keeps no raw job once judged: the gate's default JOBS is a work queue, so a job
// leaves it when the gate acks it, and publish's simulation reads the recent traffic from
// the decision records on AUDIT instead (the scrubbed copies), with the same decision mix
// and the same secret-rule outcomes as on the raw jobs. One `jobgate run` on a real
// nats-server, driven as operators and agents would.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <string>

#include "gate/daemon/config.h"
#include "gate/nats/nats_bus.h"
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

// Secret-shaped values are built at run time; the repository holds none.
std::string FakeGithubPat() { return "ghp_" + std::string("Zt8kQ2mW5xR9vB3nL7pJ4hF6dS1gC0aE8yU2"); }

// The enforced policy; Candidate() only turns the secret rule from redact to deny.
std::string PolicyYaml(const std::string& secret_decision) {
  return "defaults: {decision: allow}\nrules:\n"
         "  - {id: reads, match: {topics: ['job.read.>']}, decision: allow}\n"
         "  - {id: deletes, match: {topics: ['job.fs.delete']}, decision: deny}\n"
         "  - {id: prod-writes, match: {topics: ['job.db.>'], environment: prod},\n"
         "     decision: require_approval}\n"
         "  - {id: tokens, match: {secrets_present: [github-pat]}, decision: " +
         secret_decision + "}\n";
}

constexpr char kAdminToken[] = "admin-token-for-queue-tests";
constexpr char kApproverToken[] = "approver-token-for-queue-tests";

// What the test sends, by the decision the enforced policy gives.
constexpr int kReads = 10;    // ALLOW
constexpr int kDeletes = 5;   // DENY
constexpr int kWrites = 4;    // REQUIRE_APPROVAL
constexpr int kSecrets = 3;   // REDACT (a read carrying a token)
constexpr int kJobs = kReads + kDeletes + kWrites + kSecrets;

class JobsQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_file_ = dir_.WriteFile("policy.yaml", "snapshot: v1\n" + PolicyYaml("redact"));
    config_file_ = dir_.WriteFile(
        "config.yaml", std::string("api:\n  tokens:\n") +
                           "    - {name: admin, roles: [policy-admin, approver], token: \"" +
                           kAdminToken + "\"}\n" + "    - {name: ann, roles: [approver], token: \"" +
                           kApproverToken + "\"}\n");
    gate_ = std::make_unique<GateProcess>(
        server_.url(), std::vector<std::string>{"--config", config_file_, "--policy", policy_file_},
        dir_);
    ASSERT_TRUE(gate_->WaitReady()) << gate_->process().Log();
  }

  // Publishes the mix (each job with a Nats-Msg-Id, as `jobgate submit` does) and waits
  // until every one has its decision record.
  void SendMix() {
    JetStreamClient client(server_.url());
    auto send = [&](const std::string& subject, v1::Job job) {
      job.set_tenant_id("acme");
      ASSERT_TRUE(client
                      .Publish(subject, job.SerializeAsString(),
                               {{"Nats-Msg-Id", "acme:" + job.job_id()}})
                      .ok());
    };
    for (int i = 0; i < kReads; ++i) {
      v1::Job job;
      job.set_job_id("read-" + std::to_string(i));
      send("job.read.file", job);
    }
    for (int i = 0; i < kDeletes; ++i) {
      v1::Job job;
      job.set_job_id("delete-" + std::to_string(i));
      send("job.fs.delete", job);
    }
    for (int i = 0; i < kWrites; ++i) {
      v1::Job job;
      job.set_job_id("write-" + std::to_string(i));
      job.set_environment("prod");
      send("job.db.write", job);
    }
    for (int i = 0; i < kSecrets; ++i) {
      v1::Job job;
      job.set_job_id("token-" + std::to_string(i));
      (*job.mutable_args()->mutable_fields())["token"].set_string_value(FakeGithubPat());
      send("job.read.file", job);
    }
    ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") >= kJobs; }))
        << gate_->process().Log();
  }

  // POST with a bearer token; the status, and the body in *body.
  int Post(const std::string& path, const std::string& json, const std::string& token,
           std::string* body) {
    httplib::Client client("127.0.0.1", gate_->http_port());
    client.set_read_timeout(60);
    auto r = client.Post(path.c_str(), {{"Authorization", "Bearer " + token}}, json,
                         "application/json");
    if (r && body != nullptr) *body = r->body;
    return r ? r->status : 0;
  }

  // The candidate simulated over recent jobs through the API (what publish runs).
  v1::SimulationSummary SimulateRecent(const std::string& candidate_yaml) {
    v1::SimulateRequest request;
    request.set_policy(candidate_yaml);
    std::string body;
    EXPECT_EQ(Post("/api/v1/policy/simulate", subjects::ToJson(request), kAdminToken, &body), 200)
        << body;
    v1::SimulationSummary summary;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &summary, options).ok())
        << body;
    return summary;
  }

  NatsServer server_;
  TempDir dir_;
  std::string policy_file_;
  std::string config_file_;
  std::unique_ptr<GateProcess> gate_;
};

int64_t MixOf(const google::protobuf::Map<std::string, int64_t>& mix, const std::string& name) {
  auto it = mix.find(name);
  return it == mix.end() ? 0 : it->second;
}

TEST_F(JobsQueueTest, AnAckedJobLeavesJobsAndADuplicateIsStillDropped) {
  SendMix();
  JetStreamClient client(server_.url());
  // Judged and acked: none is left raw in JOBS (the ack removes it; wait for the server).
  EXPECT_TRUE(WaitFor([&] { return client.Count("JOBS") == 0; })) << client.Count("JOBS");
  // It stored each once: its sequences count every message it ever held.
  EXPECT_EQ(client.LastSequence("JOBS"), kJobs);
  const auto consumer = client.Consumer();
  ASSERT_TRUE(consumer.ok);
  EXPECT_EQ(consumer.num_pending, 0u);
  EXPECT_EQ(consumer.num_ack_pending, 0);

  // Resubmitted within the duplicate window after the first copy left: still dropped by
  // its Nats-Msg-Id (no new sequence, no second judgement).
  v1::Job again;
  again.set_tenant_id("acme");
  again.set_job_id("read-0");
  ASSERT_TRUE(
      client.Publish("job.read.file", again.SerializeAsString(), {{"Nats-Msg-Id", "acme:read-0"}})
          .ok());
  EXPECT_EQ(client.LastSequence("JOBS"), kJobs);
  EXPECT_EQ(client.Count("JOBS"), 0);
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.>"), kJobs);
}

TEST_F(JobsQueueTest, PublishSimulatesOnTheAuditCopiesWithTheSameMix) {
  SendMix();
  JetStreamClient client(server_.url());
  ASSERT_TRUE(WaitFor([&] { return client.Count("JOBS") == 0; })) << client.Count("JOBS");

  // The audit copies hold no raw token, only its marker.
  int scrubbed = 0;
  std::map<std::string, int64_t> recorded;  // the decisions the gate recorded, by name
  for (const auto& m : client.ReadAll("AUDIT", "audit.decisions.>")) {
    v1::DecisionRecord record;
    ASSERT_TRUE(record.ParseFromString(m.data));
    const std::string job = record.job().SerializeAsString();
    EXPECT_EQ(job.find(FakeGithubPat()), std::string::npos) << record.job().job_id();
    if (job.find("[REDACTED:github-pat:") != std::string::npos) ++scrubbed;
    ++recorded[v1::Verdict_Name(record.decision().decision())];
  }
  EXPECT_EQ(scrubbed, kSecrets);
  EXPECT_EQ(recorded, (std::map<std::string, int64_t>{{"ALLOW", kReads},
                                                       {"DENY", kDeletes},
                                                       {"REQUIRE_APPROVAL", kWrites},
                                                       {"REDACT", kSecrets}}));

  // A held job approved, then approved again (refused, recorded), another rejected: three
  // more records on the decisions' subjects, for jobs already counted.
  std::string body;
  ASSERT_EQ(Post("/api/v1/approvals/write-0/approve", R"({"tenant_id": "acme"})", kApproverToken,
                 &body),
            200)
      << body;
  EXPECT_EQ(Post("/api/v1/approvals/write-0/approve", R"({"tenant_id": "acme"})", kApproverToken,
                 &body),
            409)
      << body;
  ASSERT_EQ(Post("/api/v1/approvals/write-1/reject", R"({"tenant_id": "acme"})", kApproverToken,
                 &body),
            200)
      << body;
  ASSERT_TRUE(
      WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") >= kJobs + 3; }))
      << client.Count("AUDIT", "audit.decisions.>");

  // The enforced policy simulated on recent traffic decides as it did: the same mix,
  // every job once, the secret-bearing ones included.
  const v1::SimulationSummary same = SimulateRecent(PolicyYaml("redact"));
  EXPECT_EQ(same.jobs(), kJobs);
  EXPECT_FALSE(same.stopped_early());
  for (const auto& [name, n] : recorded) {
    EXPECT_EQ(MixOf(same.baseline_mix(), name), n) << name;
    EXPECT_EQ(MixOf(same.mix(), name), n) << name;
  }
  EXPECT_EQ(same.flipped(), 0);

  // Turning the token rule into deny flips exactly the jobs that carried a token: their
  // markers count as github-pat secrets.
  const v1::SimulationSummary stricter = SimulateRecent(PolicyYaml("deny"));
  EXPECT_EQ(stricter.jobs(), kJobs);
  EXPECT_EQ(stricter.flipped(), kSecrets);
  ASSERT_EQ(stricter.flips_size(), 1);
  EXPECT_EQ(stricter.flips(0).from(), v1::REDACT);
  EXPECT_EQ(stricter.flips(0).to(), v1::DENY);
  EXPECT_EQ(MixOf(stricter.mix(), "DENY"), kDeletes + kSecrets);

  // Publish runs the same simulation: loosening deletes to allow is refused with the
  // count of the jobs that would loosen.
  v1::PublishRequest publish;
  publish.set_snapshot("v2");
  std::string loose = PolicyYaml("redact");
  loose.replace(loose.find("decision: deny"), 14, "decision: allow");
  publish.set_policy(loose);
  EXPECT_EQ(Post("/api/v1/policy/publish", subjects::ToJson(publish), kAdminToken, &body), 422)
      << body;
  EXPECT_NE(body.find("\"loosened\": \"" + std::to_string(kDeletes) + "\""), std::string::npos)
      << body;
}

TEST_F(JobsQueueTest, CliSimulateFromStreamReadsTheDecisionRecords) {
  SendMix();
  const std::string candidate = dir_.WriteFile("candidate.yaml", PolicyYaml("deny"));
  const std::string baseline = dir_.WriteFile("baseline.yaml", PolicyYaml("redact"));
  Subprocess cli({JOBGATE_BINARY, "simulate", "--policy", candidate, "--baseline", baseline,
                  "--from-stream", "--nats", server_.url(), "--json"},
                 dir_.path() + "/simulate.log");
  ASSERT_EQ(cli.Wait(), 0) << cli.Log();
  const std::string log = cli.Log();
  const size_t open = log.find('{');
  const size_t close = log.rfind('}');
  ASSERT_NE(open, std::string::npos) << log;
  google::protobuf::Struct report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(log.substr(open, close - open + 1),
                                                          &report)
                  .ok())
      << log;
  const auto& fields = report.fields();
  EXPECT_EQ(fields.at("jobs").number_value(), kJobs) << log;
  EXPECT_EQ(fields.at("flipped").number_value(), kSecrets) << log;
  const auto& baseline_mix = fields.at("baseline_mix").struct_value().fields();
  EXPECT_EQ(baseline_mix.at("REDACT").number_value(), kSecrets) << log;
  EXPECT_EQ(baseline_mix.at("ALLOW").number_value(), kReads) << log;
  EXPECT_EQ(baseline_mix.at("DENY").number_value(), kDeletes) << log;
  EXPECT_EQ(baseline_mix.at("REQUIRE_APPROVAL").number_value(), kWrites) << log;

  // The raw-jobs source of old has nothing to read in a work-queue JOBS, and says so.
  Subprocess raw({JOBGATE_BINARY, "simulate", "--policy", candidate, "--from-jobs-stream", "JOBS",
                  "--nats", server_.url()},
                 dir_.path() + "/simulate-raw.log");
  EXPECT_EQ(raw.Wait(), 2) << raw.Log();
  EXPECT_NE(raw.Log().find("JOBS is a work queue"), std::string::npos) << raw.Log();
}

// A deployment from before: JOBS exists with limits retention. The gate keeps it as it is
// and says at start what that costs; publish's simulation reads AUDIT all the same.
TEST(JobsQueueExistingStreamTest, ALimitsJobsIsKeptWithAWarning) {
  NatsServer server;
  TempDir dir;
  {
    NatsConnectOptions options;
    options.servers = {server.url()};
    auto connection = NatsConnection::Connect(options, /*wait=*/true);
    ASSERT_TRUE(connection.ok()) << connection.status().ToString();
    StreamSpec jobs = GateConfig().jobs_stream;
    jobs.retention = StreamSpec::Retention::kLimits;
    ASSERT_TRUE((*connection)->EnsureStream(jobs).ok());
  }
  const std::string policy = dir.WriteFile("policy.yaml", PolicyYaml("redact"));
  GateProcess gate(server.url(), {"--policy", policy}, dir);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  EXPECT_NE(gate.process().Log().find("stream JOBS has limits retention: every job stays in it "
                                      "raw"),
            std::string::npos)
      << gate.process().Log();

  JetStreamClient client(server.url());
  v1::Job job;
  job.set_job_id("kept");
  ASSERT_TRUE(client.Publish("job.read.file", job.SerializeAsString()).ok());
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.decisions.>") == 1; }));
  EXPECT_TRUE(WaitFor([&] { return client.Consumer().num_ack_pending == 0; }));
  EXPECT_EQ(client.Count("JOBS"), 1);  // left as configured: the acked job stays
}

}  // namespace
}  // namespace jobgate::gate
