// The audit hash chain end to end: `jobgate run` on a real nats-server writes chained
// records to AUDIT, and `jobgate audit verify` (and the reader and verifier behind it)
// tells an untouched trail from one with a record deleted, altered or inserted out of
// band, and a head aged out by retention from tampering. The test creates AUDIT itself
// without deny_delete/deny_purge (the gate keeps an existing stream as it is), so that
// it can delete and purge like an operator with those permissions could.
// docs/audit.md.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <set>
#include <string>

#include "gate/approvals/approvals.h"
#include "gate/audit/audit_chain.h"
#include "gate/daemon/config.h"
#include "gate/nats/nats_audit_reader.h"
#include "gate/nats/nats_bus.h"
#include "jobgate/v1/jobgate.pb.h"
#include "subjects/headers.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::ConnectGate;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::StoredMessage;
using ::jobgate::testing::Subprocess;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;

constexpr char kPolicy[] = R"(version: 1
snapshot: chain-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
)";

v1::Job Job(const std::string& id, const std::string& topic) {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic(topic);
  job.set_capability("tickets.read");
  job.mutable_actor()->set_agent_id("agent-1");
  return job;
}

class AuditChainIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection_ = ConnectGate(server_);
    ASSERT_NE(connection_, nullptr);
    ASSERT_EQ(natsConnection_JetStream(&js_, connection_->raw(), nullptr), NATS_OK);
    StreamSpec audit = GateConfig().audit_stream;
    audit.deny_delete = false;  // so the test can tamper
    audit.deny_purge = false;
    ASSERT_TRUE(connection_->EnsureStream(audit).ok());
    policy_file_ = dir_.WriteFile("policy.yaml", kPolicy);
    StartGate("gate-1");
  }
  void TearDown() override { jsCtx_Destroy(js_); }

  void StartGate(const std::string& name) {
    gate_.reset();
    gate_ = std::make_unique<GateProcess>(
        server_.url(), std::vector<std::string>{"--policy", policy_file_}, dir_, name);
    ASSERT_TRUE(gate_->WaitReady()) << gate_->process().Log();
  }

  // Publishes `allowed` reads and `denied` other jobs (ids prefixed `tag`) and waits for
  // their decision records (a denied job also leaves its copy on audit.denied).
  void Flow(const std::string& tag, int allowed, int denied) {
    const int64_t before = client_.Count("AUDIT", "audit.decisions.>");
    for (int i = 0; i < allowed; ++i) {
      ASSERT_TRUE(client_.PublishJob(Job(tag + "-read-" + std::to_string(i), "job.read.tickets")).ok());
    }
    for (int i = 0; i < denied; ++i) {
      ASSERT_TRUE(client_.PublishJob(Job(tag + "-rm-" + std::to_string(i), "job.shell.rm")).ok());
    }
    ASSERT_TRUE(WaitFor([&] {
      return client_.Count("AUDIT", "audit.decisions.>") == before + allowed + denied;
    })) << client_.Count("AUDIT", "audit.decisions.>");
    // Acked, so every copy of the batch is stored.
    ASSERT_TRUE(WaitFor([&] {
      const auto consumer = client_.Consumer();
      return consumer.ok && consumer.num_pending == 0 && consumer.num_ack_pending == 0;
    }));
  }

  AuditReport Verify(int64_t from_ms = 0) {
    std::vector<AuditRecordInfo> records;
    AuditWindow window;
    AuditReadOptions options;
    options.from_unix_ms = from_ms;
    const Status s = ReadAuditRecords(connection_.get(), options, &records, &window);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return VerifyAuditRecords(records, window);
  }

  // `jobgate audit verify` as a user runs it: its exit code, its output in `out`.
  int VerifyCommand(std::string* out, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {JOBGATE_BINARY, "audit", "verify", "--nats", server_.url()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string log = dir_.path() + "/verify-" + std::to_string(++verifies_) + ".log";
    Subprocess verify(argv, log);
    const int code = verify.Wait(std::chrono::seconds(60));
    *out = verify.Log();
    return code;
  }

  // The stream sequence of the stored record at chain position `seq` of the first chain.
  uint64_t StreamSeqOf(const AuditReport& report, uint64_t seq) {
    std::vector<AuditRecordInfo> records;
    AuditWindow window;
    EXPECT_TRUE(ReadAuditRecords(connection_.get(), {}, &records, &window).ok());
    for (const auto& r : records) {
      if (r.chain == report.chains[0].chain && r.seq == std::to_string(seq)) return r.stream_seq;
    }
    return 0;
  }

  NatsServer server_;
  TempDir dir_;
  std::string policy_file_;
  std::unique_ptr<GateProcess> gate_;
  JetStreamClient client_{server_.url()};
  std::unique_ptr<NatsConnection> connection_;
  jsCtx* js_ = nullptr;
  int verifies_ = 0;
};

TEST_F(AuditChainIntegrationTest, RecordsCarryTheChainAndVerifyIntact) {
  Flow("a", 6, 4);
  const auto stored = client_.ReadAll("AUDIT", ">");
  ASSERT_GE(stored.size(), 14u);  // 10 decision records, 4 denied copies, policy events
  std::set<std::string> chains;
  std::set<std::string> positions;
  for (const StoredMessage& m : stored) {
    ASSERT_TRUE(m.headers.count(subjects::kChainHeader)) << m.subject;
    chains.insert(m.headers.at(subjects::kChainHeader));
    EXPECT_TRUE(positions.insert(m.headers.at(subjects::kChainSeqHeader)).second) << m.subject;
    EXPECT_EQ(m.headers.at(subjects::kChainPrevHeader).size(), 64u);
    if (m.subject.rfind("audit.decisions.", 0) == 0) {
      v1::DecisionRecord record;
      ASSERT_TRUE(record.ParseFromString(m.data));
      // The record proves which input it decided.
      EXPECT_EQ(record.decision().job_hash(), JobDigest(record.job())) << record.job().job_id();
      EXPECT_EQ(record.decision().job_hash().rfind("sha256:", 0), 0u);
    }
  }
  EXPECT_EQ(chains.size(), 1u);

  const AuditReport report = Verify();
  EXPECT_TRUE(report.intact()) << report.Text();
  ASSERT_EQ(report.chains.size(), 1u);
  EXPECT_EQ(report.chains[0].first_seq, 1u);
  EXPECT_EQ(report.chains[0].records, stored.size());

  std::string out;
  EXPECT_EQ(VerifyCommand(&out), 0) << out;
  EXPECT_NE(out.find("intact"), std::string::npos) << out;
  EXPECT_EQ(VerifyCommand(&out, {"--json"}), 0) << out;
  EXPECT_NE(out.find("\"intact\": true"), std::string::npos) << out;
  EXPECT_EQ(out.rfind("{", 0), 0u) << "stdout is the JSON document alone: " << out;
}

TEST_F(AuditChainIntegrationTest, ARestartStartsASecondChainBothIntact) {
  Flow("before", 3, 1);
  StartGate("gate-2");
  Flow("after", 3, 1);
  const AuditReport report = Verify();
  EXPECT_TRUE(report.intact()) << report.Text();
  ASSERT_EQ(report.chains.size(), 2u) << report.Text();
  EXPECT_NE(report.chains[0].chain, report.chains[1].chain);
  EXPECT_EQ(report.chains[1].first_seq, 1u);
}

TEST_F(AuditChainIntegrationTest, ARecordTheStreamDroppedAsADuplicateLeavesNoHole) {
  // The same jobs again: retries, judged again and published again under the same
  // Nats-Msg-Ids, which AUDIT drops inside its duplicate window. Each position a dropped
  // record took is held by a placeholder on audit.chain; no record is duplicated.
  Flow("dup", 2, 1);
  const int64_t decisions = client_.Count("AUDIT", "audit.decisions.>");
  const int64_t denied = client_.Count("AUDIT", "audit.denied.>");
  ASSERT_TRUE(client_.PublishJob(Job("dup-read-0", "job.read.tickets")).ok());
  ASSERT_TRUE(client_.PublishJob(Job("dup-rm-0", "job.shell.rm")).ok());
  // Two decision records and the denied copy, all dropped: three placeholders.
  ASSERT_TRUE(WaitFor([&] { return client_.Count("AUDIT", "audit.chain") == 3; }))
      << client_.Count("AUDIT", "audit.chain") << gate_->process().Log();
  ASSERT_TRUE(WaitFor([&] {
    const auto consumer = client_.Consumer();
    return consumer.ok && consumer.num_pending == 0 && consumer.num_ack_pending == 0;
  }));
  EXPECT_EQ(client_.Count("AUDIT", "audit.decisions.>"), decisions);
  EXPECT_EQ(client_.Count("AUDIT", "audit.denied.>"), denied);
  for (const StoredMessage& m : client_.ReadAll("AUDIT", "audit.chain")) {
    EXPECT_TRUE(m.data.empty());
    EXPECT_EQ(m.headers.at(subjects::kChainHashHeader).size(), 64u);
    EXPECT_FALSE(m.headers.at(subjects::kChainRefillHeader).empty());
  }
  const AuditReport report = Verify();
  EXPECT_TRUE(report.intact()) << report.Text();
  ASSERT_EQ(report.chains.size(), 1u);
  EXPECT_EQ(report.chains[0].placeholders, 3u);
  EXPECT_EQ(report.chains[0].records, report.chains[0].last_seq);
}

TEST_F(AuditChainIntegrationTest, ADeletedRecordIsNamedMissing) {
  Flow("del", 5, 2);
  const AuditReport clean = Verify();
  ASSERT_TRUE(clean.intact()) << clean.Text();
  const uint64_t victim = StreamSeqOf(clean, 4);
  ASSERT_NE(victim, 0u);
  jsErrCode error = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_DeleteMsg(js_, "AUDIT", victim, nullptr, &error), NATS_OK) << error;

  const AuditReport report = Verify();
  EXPECT_FALSE(report.intact());
  EXPECT_EQ(report.chains[0].missing, std::vector<uint64_t>{4}) << report.Text();
  EXPECT_EQ(report.deleted_stream_seqs, std::vector<uint64_t>{victim});
  EXPECT_TRUE(report.chains[0].altered.empty()) << report.Text();
  std::string out;
  EXPECT_EQ(VerifyCommand(&out), 1) << out;
  EXPECT_NE(out.find("missing: positions 4"), std::string::npos) << out;
}

TEST_F(AuditChainIntegrationTest, ARepublishedAlteredRecordIsNamedAltered) {
  Flow("alt", 5, 0);
  const AuditReport clean = Verify();
  ASSERT_TRUE(clean.intact()) << clean.Text();
  // Position 3 again: the same chain headers, a decision record that says DENY.
  StoredMessage original;
  for (const StoredMessage& m : client_.ReadAll("AUDIT", ">")) {
    if (m.headers.at(subjects::kChainSeqHeader) == "3") original = m;
  }
  ASSERT_FALSE(original.subject.empty());
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(original.data));
  record.mutable_decision()->set_decision(v1::DENY);
  std::map<std::string, std::string> headers = {
      {subjects::kChainHeader, original.headers.at(subjects::kChainHeader)},
      {subjects::kChainSeqHeader, "3"},
      {subjects::kChainPrevHeader, original.headers.at(subjects::kChainPrevHeader)}};
  ASSERT_TRUE(client_.Publish(original.subject, record.SerializeAsString(), headers).ok());

  const AuditReport report = Verify();
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.chains[0].altered.size(), 1u) << report.Text();
  EXPECT_EQ(report.chains[0].altered[0].seq, 3u);
  EXPECT_TRUE(report.chains[0].missing.empty()) << report.Text();
  std::string out;
  EXPECT_EQ(VerifyCommand(&out), 1) << out;
  EXPECT_NE(out.find("altered: position 3"), std::string::npos) << out;
}

TEST_F(AuditChainIntegrationTest, AnInsertedRecordIsNamedInserted) {
  Flow("ins", 4, 0);
  ASSERT_TRUE(Verify().intact());
  // A decision record with no chain position, and one squatting position 2.
  v1::DecisionRecord record;
  record.mutable_job()->set_job_id("never-judged");
  ASSERT_TRUE(client_.Publish("audit.decisions.read.tickets", record.SerializeAsString()).ok());
  const AuditReport clean = Verify();
  ASSERT_TRUE(client_
                  .Publish("audit.decisions.read.tickets", record.SerializeAsString(),
                           {{subjects::kChainHeader, clean.chains[0].chain},
                            {subjects::kChainSeqHeader, "2"},
                            {subjects::kChainPrevHeader, std::string(64, 'e')}})
                  .ok());

  const AuditReport report = Verify();
  EXPECT_FALSE(report.intact());
  EXPECT_EQ(report.unchained.size(), 1u) << report.Text();
  ASSERT_EQ(report.chains[0].inserted.size(), 1u) << report.Text();
  EXPECT_EQ(report.chains[0].inserted[0].seq, 2u);
  std::string out;
  EXPECT_EQ(VerifyCommand(&out), 1) << out;
  EXPECT_NE(out.find("inserted: stream seq"), std::string::npos) << out;
  EXPECT_NE(out.find("inserted: position 2"), std::string::npos) << out;
}

TEST_F(AuditChainIntegrationTest, RetentionAgingTheHeadIsNotTampering) {
  Flow("old", 5, 0);
  const AuditReport clean = Verify();
  ASSERT_TRUE(clean.intact()) << clean.Text();
  // What the limits do: the oldest records leave from the front (here a purge up to a
  // sequence, which is what max_age or max_bytes amounts to).
  const uint64_t keep_from = StreamSeqOf(clean, 4);
  ASSERT_NE(keep_from, 0u);
  jsOptions options;
  jsOptions_Init(&options);
  options.Stream.Purge.Sequence = keep_from;
  jsErrCode error = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_PurgeStream(js_, "AUDIT", &options, &error), NATS_OK) << error;
  Flow("new", 2, 0);

  const AuditReport report = Verify();
  EXPECT_TRUE(report.intact()) << report.Text();
  EXPECT_GT(report.chains[0].aged_out, 0u) << report.Text();
  EXPECT_EQ(report.chains[0].aged_out, report.chains[0].first_seq - 1);
  std::string out;
  EXPECT_EQ(VerifyCommand(&out), 0) << out;
  EXPECT_NE(out.find("aged out by retention"), std::string::npos) << out;
}

TEST_F(AuditChainIntegrationTest, FromAWindowLeavesTheEarlierHeadOut) {
  Flow("early", 3, 0);
  const int64_t between = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  Flow("late", 3, 0);
  const AuditReport report = Verify(between);
  EXPECT_TRUE(report.intact()) << report.Text();
  ASSERT_EQ(report.chains.size(), 1u);
  EXPECT_GT(report.chains[0].before_window, 0u);
  EXPECT_EQ(report.records, 3u);
}

}  // namespace
}  // namespace jobgate::gate
