// Hostile input through the real gate (`jobgate run` on a real nats-server), where the
// path matters: size limits at the bus and the gate, bodies that would stall the JSON
// decoder, bytes that are not text, secrets hidden next to NUL bytes, many labels. In
// every case the bad message is answered (dispatched, or recorded on audit.rejected)
// and acked, and the next job flows. docs/reliability.md, "Hostile input".
#include <gtest/gtest.h>

#include <string>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/analysis/secrets.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::StoredMessage;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

constexpr char kPolicy[] = R"(version: 1
snapshot: hostile-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
  - id: redact-secrets
    match: {topics: ["job.tool.>"], secrets_present: true}
    decision: redact
  - id: allow-tool
    match: {topics: ["job.tool.>"]}
    decision: allow
)";

v1::Job MakeJob(const std::string& id, const std::string& topic) {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic(topic);
  return job;
}

std::string FakeGithubToken() { return "ghp_" + std::string("Q7mZ2kP9vL") + std::string(26, 'x'); }

class HostileGateTest : public ::testing::Test {
 protected:
  void SetUp() override { policy_file_ = dir_.WriteFile("policy.yaml", kPolicy); }

  std::unique_ptr<GateProcess> StartGate(const std::string& url) {
    auto gate = std::make_unique<GateProcess>(
        url, std::vector<std::string>{"--policy", policy_file_}, dir_);
    EXPECT_TRUE(gate->WaitReady()) << gate->process().Log();
    return gate;
  }

  // Publishes a good job after the hostile ones and waits until it is dispatched and
  // nothing is left pending or unacked.
  void ExpectNextJobFlows(JetStreamClient& client, GateProcess& gate, const std::string& id) {
    ASSERT_TRUE(client.PublishJob(MakeJob(id, "job.read.after")).ok());
    ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.read.after") >= 1; }))
        << gate.process().Log();
    EXPECT_TRUE(WaitFor([&] {
      const auto c = client.Consumer();
      return c.ok && c.num_pending == 0 && c.num_ack_pending == 0;
    }));
    EXPECT_TRUE(gate.process().running());
  }

  // No copy the gate stored (WORK, AUDIT) carries `secret`.
  void ExpectNoStoredCopyCarries(JetStreamClient& client, const std::string& secret) {
    for (const char* stream : {"WORK", "AUDIT"}) {
      for (const StoredMessage& m : client.ReadAll(stream, ">")) {
        EXPECT_EQ(m.data.find(secret), std::string::npos) << stream << " " << m.subject;
      }
    }
  }

  std::multiset<std::string> RejectedReasons(JetStreamClient& client) {
    std::multiset<std::string> reasons;
    for (const StoredMessage& m : client.ReadAll("AUDIT", "audit.rejected")) {
      v1::RejectedMessage rejected;
      EXPECT_TRUE(rejected.ParseFromString(m.data));
      reasons.insert(rejected.reason());
    }
    return reasons;
  }

  TempDir dir_;
  std::string policy_file_;
};

// A job just under the 1 MiB limits (nats-server's max_payload and the gate's
// max_message_bytes, both defaults): its dispatched copy carries a decision as well, so
// it may not fit on the bus. Either way it must be answered and acked, never redelivered
// forever, and the next job flows.
// (Such a job is judged, then rejected as too_large: its copies cannot be stored.)
TEST_F(HostileGateTest, AJobNearThePayloadLimitIsAnsweredAndTheNextFlows) {
  NatsServer server;
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());
  v1::Job job = MakeJob("near-limit", "job.read.big");
  const size_t overhead = job.ByteSizeLong() + 16;
  (*job.mutable_args()->mutable_fields())["blob"].set_string_value(
      std::string((1 << 20) - overhead - 256, 'z'));
  ASSERT_LT(job.ByteSizeLong(), size_t{1} << 20);
  ASSERT_TRUE(client.PublishJob(job).ok());
  ExpectNextJobFlows(client, *gate, "after-near-limit");
  const int64_t dispatched = client.Count("WORK", "worker.read.big");
  const int64_t rejected = client.Count("AUDIT", "audit.rejected");
  std::printf("[ measured ] near-limit job (%zu bytes): dispatched %lld, rejected %lld\n",
              job.ByteSizeLong(), static_cast<long long>(dispatched),
              static_cast<long long>(rejected));
  EXPECT_EQ(dispatched + rejected, 1) << gate->process().Log();
  EXPECT_EQ(client.Count("AUDIT", "audit.decisions.read.big") + rejected, 1);
}

// Over the gate's 1 MiB limit (the server here allows 8 MiB, so the gate sees it):
// rejected as too_large, never decoded.
TEST_F(HostileGateTest, AJobOverTheLimitIsRejectedAndAcked) {
  NatsServer server("max_payload: 8388608\n");
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());
  v1::Job job = MakeJob("over-limit", "job.read.huge");
  (*job.mutable_args()->mutable_fields())["blob"].set_string_value(std::string(3 << 19, 'z'));
  ASSERT_TRUE(client.PublishJob(job).ok());
  ExpectNextJobFlows(client, *gate, "after-over-limit");
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.rejected") == 1; }));
  EXPECT_EQ(RejectedReasons(client), std::multiset<std::string>{"too_large"});
  EXPECT_EQ(client.Count("WORK", "worker.read.huge"), 0);
}

// 100,000-deep JSON arrays and objects (200 KB): protobuf's JSON writer would take hours
// on the arrays; the codec refuses them first. Invalid UTF-8 in a protobuf string field
// and a NUL-laden non-message are refused as well.
TEST_F(HostileGateTest, DeepNestingAndInvalidUtf8AreRejectedAndAcked) {
  NatsServer server;
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());
  const int kDepth = 100000;
  const std::string arrays = R"({"job_id":"deep-a","args":{"a":)" + std::string(kDepth, '[') +
                             std::string(kDepth, ']') + "}}";
  std::string objects = R"({"job_id":"deep-o","args":)";
  for (int i = 0; i < kDepth; ++i) objects += R"({"k":)";
  objects += "1" + std::string(kDepth, '}') + "}";
  const std::map<std::string, std::string> json = {{"Content-Type", "application/json"}};
  ASSERT_TRUE(client.Publish("job.read.deep", arrays, json).ok());
  ASSERT_TRUE(client.Publish("job.read.deep", objects, json).ok());
  std::string bad_utf8 = MakeJob("utf8", "job.read.utf8").SerializeAsString();
  bad_utf8 += std::string("\x3a\x02\xff\xfe", 4);  // environment (7) = "\xff\xfe"
  ASSERT_TRUE(client.Publish("job.read.utf8", bad_utf8).ok());
  ASSERT_TRUE(client.Publish("job.read.nul", std::string("\0\0\0\xff\0", 5)).ok());
  ExpectNextJobFlows(client, *gate, "after-deep");
  ASSERT_TRUE(WaitFor([&] { return client.Count("AUDIT", "audit.rejected") == 4; }))
      << gate->process().Log();
  EXPECT_EQ(RejectedReasons(client), (std::multiset<std::string>{"decode_error", "decode_error",
                                                                 "decode_error", "decode_error"}));
  EXPECT_EQ(client.Count("WORK", "worker.read.deep"), 0);
  // protobuf's own complaint about the invalid UTF-8 goes through the gate's logger (at
  // debug), not one raw stderr line per hostile message.
  EXPECT_EQ(gate->process().Log().find("[libprotobuf"), std::string::npos) << gate->process().Log();
}

// A secret in a binary payload (NUL bytes, invalid UTF-8 around it) and in a label after
// a NUL: the gate sees it, redacts it, and no copy on the bus carries it.
TEST_F(HostileGateTest, SecretsBesideNulBytesAreRedactedEverywhere) {
  NatsServer server;
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());
  const std::string token = FakeGithubToken();
  v1::Job job = MakeJob("binary-secret", "job.tool.upload");
  job.set_payload(std::string("\0\xff\x01", 3) + token + std::string("\0\xfe", 2));
  (*job.mutable_labels())["note"] = std::string("x\0", 2) + "token=" + token;
  ASSERT_TRUE(client.PublishJob(job).ok());
  ExpectNextJobFlows(client, *gate, "after-secret");
  ASSERT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.tool.upload") == 1; }))
      << gate->process().Log();
  ExpectNoStoredCopyCarries(client, token);
  v1::DispatchedJob dispatched;
  ASSERT_TRUE(dispatched.ParseFromString(client.ReadAll("WORK", "worker.tool.upload")[0].data));
  EXPECT_EQ(dispatched.decision().decision(), v1::REDACT);
  EXPECT_GE(dispatched.decision().redactions_size(), 2);
  EXPECT_FALSE(policy::SecretScanner::Default().ContainsSecret(dispatched.job()));
}

// A protobuf job with fields the gate's schema does not know (here a token in field 99 of
// the job and of its actor): protobuf would keep them as raw bytes in every copy, unseen
// by policy and the secret scan. Refused as decode_error; no copy on the bus carries it.
TEST_F(HostileGateTest, FieldsTheSchemaDoesNotKnowAreRefusedNotCarried) {
  NatsServer server;
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());
  const std::string token = FakeGithubToken();
  v1::Job job = MakeJob("newer-schema", "job.tool.upload");
  job.GetReflection()->MutableUnknownFields(&job)->AddLengthDelimited(99, token);
  v1::Job in_actor = MakeJob("newer-actor", "job.read.actor");
  v1::Actor* actor = in_actor.mutable_actor();
  actor->GetReflection()->MutableUnknownFields(actor)->AddLengthDelimited(99, token);
  ASSERT_TRUE(client.PublishJob(job).ok());
  ASSERT_TRUE(client.PublishJob(in_actor).ok());
  ExpectNextJobFlows(client, *gate, "after-unknown");
  EXPECT_EQ(RejectedReasons(client), (std::multiset<std::string>{"decode_error", "decode_error"}));
  ExpectNoStoredCopyCarries(client, token);
}

// 40,000 labels (about 600 KB): judged, dispatched, acked.
TEST_F(HostileGateTest, ManyLabelsAreJudged) {
  NatsServer server;
  auto gate = StartGate(server.url());
  JetStreamClient client(server.url());
  v1::Job job = MakeJob("labels", "job.read.labels");
  for (int i = 0; i < 40000; ++i) {
    (*job.mutable_labels())["k" + std::to_string(i)] = "v" + std::to_string(i);
  }
  ASSERT_TRUE(client.PublishJob(job).ok());
  ExpectNextJobFlows(client, *gate, "after-labels");
  EXPECT_TRUE(WaitFor([&] { return client.Count("WORK", "worker.read.labels") == 1; }))
      << gate->process().Log();
}

}  // namespace
}  // namespace jobgate::gate
