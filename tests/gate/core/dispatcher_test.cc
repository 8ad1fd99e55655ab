// The dispatch core with a fake bus: routing, records, headers, rejection, throttling,
// publish failures, fail-closed without policy, idempotent redelivery.
#include "gate/core/dispatcher.h"

#include <gtest/gtest.h>

#include <map>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "subjects/codec.h"
#include "tests/support/fake_bus.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::FakeBus;
using ::jobgate::testing::FakeClock;
using ::jobgate::testing::Settlement;

constexpr char kPolicy[] = R"(version: 1
snapshot: unit-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
  - id: constrain-shell
    match: {topics: ["job.shell.>"]}
    decision: allow_with_constraints
    constraints: {max_runtime_sec: 60}
  - id: approve-db
    match: {topics: ["job.db.>"]}
    decision: require_approval
  - id: alert-net
    match: {topics: ["job.net.>"]}
    decision: alert
  - id: kill-rm
    match: {topics: ["job.rm.>"]}
    decision: terminate
  - id: redact-secret
    match: {topics: ["job.secret.>"]}
    decision: redact
  - id: throttle-llm
    match: {topics: ["job.llm.>"]}
    decision: throttle
    rate: {limit: 1, period: 10s, key: actor.agent_id}
)";

std::string JobJson(const std::string& id, const std::string& agent = "a1") {
  return R"({"job_id": ")" + id + R"(", "actor": {"agent_id": ")" + agent + R"("}})";
}

std::string Header(const OutboundMessage& m, const std::string& key) {
  for (const auto& [k, v] : m.headers) {
    if (k == key) return v;
  }
  return {};
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : limiter_(&clock_), dispatcher_(Options(), &bus_, &clock_, &policy_, &limiter_, nullptr) {
    auto compiled = policy::Compile(kPolicy);
    EXPECT_TRUE(compiled.ok()) << compiled.ErrorText();
    policy_.Set(compiled.policy);
  }

  static DispatcherOptions Options() {
    DispatcherOptions options;
    options.max_message_bytes = 1024;
    options.retry_delay = std::chrono::milliseconds(1500);
    return options;
  }

  Dispatcher::BatchStats Run() {
    auto stats = dispatcher_.RunOnce();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : Dispatcher::BatchStats{};
  }

  FakeClock clock_;
  FakeBus bus_;
  ActivePolicy policy_;
  RateLimiter limiter_;
  Dispatcher dispatcher_;
};

TEST_F(DispatcherTest, RoutesEachDecisionAndRecordsIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"job.read.file", "worker.read.file"},
      {"job.shell.ls", "worker.shell.ls"},
      {"job.db.migrate", "approval.requests.db.migrate"},
      {"job.net.curl", "worker.net.curl"},
      {"job.rm.rf", "audit.denied.rm.rf"},
      {"job.secret.get", "worker.secret.get"},
      {"job.llm.chat", "worker.llm.chat"},
      {"job.other.thing", "audit.denied.other.thing"},
  };
  for (size_t i = 0; i < cases.size(); ++i)
    bus_.Enqueue(cases[i].first, JobJson("j" + std::to_string(i)));
  const auto stats = Run();
  EXPECT_EQ(stats.dispatched, cases.size());

  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(bus_.settlement(i).kind, Settlement::Kind::kAck) << cases[i].first;
    const auto targets = bus_.PublishedOn(cases[i].second);
    ASSERT_EQ(targets.size(), 1u) << cases[i].second;
    v1::DispatchedJob dispatched;
    ASSERT_TRUE(dispatched.ParseFromString(targets[0]->body));
    EXPECT_EQ(dispatched.job().job_id(), "j" + std::to_string(i));
    EXPECT_EQ(dispatched.job().topic(), cases[i].first);
    EXPECT_EQ(Header(*targets[0], subjects::kDecisionHeader),
              policy::VerdictName(dispatched.decision().decision()));
    EXPECT_EQ(Header(*targets[0], subjects::kSnapshotHeader), "unit-1");
    EXPECT_EQ(Header(*targets[0], subjects::kDecisionIdHeader), dispatched.decision().decision_id());
    EXPECT_EQ(targets[0]->msg_id, subjects::MessageId("default", "j" + std::to_string(i), "dispatch"));

    const std::string rest = cases[i].first.substr(4);
    const auto records = bus_.PublishedOn("audit.decisions." + rest);
    ASSERT_EQ(records.size(), 1u);
    v1::DecisionRecord record;
    ASSERT_TRUE(record.ParseFromString(records[0]->body));
    EXPECT_EQ(record.routed_to(), cases[i].second);
    EXPECT_EQ(record.subject(), cases[i].first);
    EXPECT_EQ(record.decision().decision_id(), dispatched.decision().decision_id());
    EXPECT_EQ(record.decision().evaluated_at().seconds(), clock_.UnixMillis() / 1000);
  }
  EXPECT_EQ(bus_.PublishedOn("alert.").size(), 2u);  // ALERT and TERMINATE
  EXPECT_EQ(bus_.PublishedOn("alert.net.curl").size(), 1u);
  EXPECT_EQ(bus_.PublishedOn("alert.rm.rf").size(), 1u);

  v1::DispatchedJob shell;
  ASSERT_TRUE(shell.ParseFromString(bus_.PublishedOn("worker.shell.ls")[0]->body));
  EXPECT_EQ(shell.decision().constraints().max_runtime_sec(), 60u);
  v1::DispatchedJob secret;
  ASSERT_TRUE(secret.ParseFromString(bus_.PublishedOn("worker.secret.get")[0]->body));
  EXPECT_EQ(secret.decision().decision(), v1::REDACT);
}

// A token-shaped value assembled at run time: the repository carries no secret literal.
std::string FakeToken() { return "ghp_" + std::string(36, '7'); }

std::string JobWithSecret(const std::string& id) {
  return R"({"job_id": ")" + id + R"(", "args": {"env": {"GH": ")" + FakeToken() + R"("}}})";
}

// The same job as protobuf, the bus's usual format.
std::string ProtobufJobWithSecret(const std::string& id) {
  return subjects::DecodeJob(JobWithSecret(id), subjects::BodyFormat::kJson)->SerializeAsString();
}

// Every message body the bus saw, concatenated; `audit_only` leaves out worker subjects.
std::string AllPublished(const FakeBus& bus, bool audit_only = false) {
  std::string all;
  for (const OutboundMessage* m : bus.PublishedOn("")) {
    if (audit_only && m->subject.rfind("worker.", 0) == 0) continue;
    all += m->body;
  }
  return all;
}

TEST_F(DispatcherTest, RedactDecisionReplacesSecretsInEveryCopy) {
  bus_.Enqueue("job.secret.get", JobWithSecret("s1"));
  bus_.Enqueue("job.secret.get", ProtobufJobWithSecret("s2"));
  Run();
  const std::string all = AllPublished(bus_);
  EXPECT_EQ(all.find(FakeToken()), std::string::npos);
  ASSERT_EQ(bus_.PublishedOn("worker.secret.get").size(), 2u);
  for (const OutboundMessage* published : bus_.PublishedOn("worker.secret.get")) {
    v1::DispatchedJob worker;
    ASSERT_TRUE(worker.ParseFromString(published->body));
    const std::string gh =
        worker.job().args().fields().at("env").struct_value().fields().at("GH").string_value();
    EXPECT_EQ(gh.rfind("[REDACTED:github-pat:", 0), 0u) << gh;
    ASSERT_EQ(worker.decision().redactions_size(), 1);
    EXPECT_EQ(worker.decision().redactions(0).path(), "args.env.GH");
    EXPECT_EQ(worker.decision().redactions(0).detector(), "github-pat");
  }
}

TEST_F(DispatcherTest, AuditCopiesNeverCarrySecretsWhateverTheDecision) {
  // Denied, held, alerted and terminated jobs: no decision record, alert, approval
  // request or denied copy carries the token (an alerted job's worker copy keeps its
  // arguments: only a redact decision or rule changes what workers get).
  for (const char* subject : {"job.other.x", "job.db.migrate", "job.net.curl", "job.rm.rf"}) {
    bus_.Enqueue(subject, JobWithSecret(std::string("a-") + subject));
    bus_.Enqueue(subject, ProtobufJobWithSecret(std::string("p-") + subject));
  }
  Run();
  // Each of the two: 4 records, 2 denied (DENY, TERMINATE), 2 alerts, 1 approval request.
  EXPECT_EQ(bus_.PublishedOn("audit.").size() + bus_.PublishedOn("alert.").size() +
                bus_.PublishedOn("approval.").size(),
            18u);
  EXPECT_EQ(AllPublished(bus_, /*audit_only=*/true).find(FakeToken()), std::string::npos);
  // An allowed job keeps its arguments for the worker; its decision record is scrubbed.
  bus_.Enqueue("job.read.a", ProtobufJobWithSecret("allowed"));
  Run();
  v1::DispatchedJob worker;
  ASSERT_TRUE(worker.ParseFromString(bus_.PublishedOn("worker.read.a").back()->body));
  EXPECT_NE(worker.job().ShortDebugString().find(FakeToken()), std::string::npos);
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(bus_.PublishedOn("audit.decisions.read.a").back()->body));
  EXPECT_EQ(record.job().ShortDebugString().find(FakeToken()), std::string::npos);
  EXPECT_EQ(record.SerializeAsString().find(FakeToken()), std::string::npos);
}

// What the schema does not know, policy cannot judge and the secret scan cannot see: a
// protobuf job carrying such a field is rejected, and nothing of it travels on.
TEST_F(DispatcherTest, AProtobufJobWithFieldsTheSchemaDoesNotKnowIsRejected) {
  v1::Job job;
  job.set_job_id("newer-schema");
  job.GetReflection()->MutableUnknownFields(&job)->AddLengthDelimited(99, FakeToken());
  bus_.Enqueue("job.read.a", job.SerializeAsString());
  const auto stats = Run();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.dispatched, 0u);
  ASSERT_EQ(bus_.PublishedOn("audit.rejected").size(), 1u);
  v1::RejectedMessage rejected;
  ASSERT_TRUE(rejected.ParseFromString(bus_.PublishedOn("audit.rejected")[0]->body));
  EXPECT_EQ(rejected.reason(), "decode_error");
  EXPECT_NE(rejected.error().find("does not know"), std::string::npos) << rejected.error();
  EXPECT_EQ(AllPublished(bus_).find(FakeToken()), std::string::npos);
}

// A rejected message is recorded once per publish: a publisher's retry that JOBS stored
// a second time (its duplicate map does not survive every server restart) carries the
// same Nats-Msg-Id, so both copies' records share one and AUDIT keeps one. Without the
// header, each stored message is its own publish.
TEST_F(DispatcherTest, ARejectedPublishStoredTwiceIsRecordedUnderOneMessageId) {
  const std::map<std::string, std::string> publish{{"Nats-Msg-Id", "tenant-a:retried"}};
  bus_.Enqueue("job.read.a", "{not json", publish);
  bus_.Enqueue("job.read.a", "{not json", publish);
  bus_.Enqueue("job.read.a", "{not json");
  bus_.Enqueue("job.read.a", "{not json");
  const auto stats = Run();
  EXPECT_EQ(stats.rejected, 4u);
  // The fake bus drops a publish whose Nats-Msg-Id it has stored, as a stream does.
  const auto rejected = bus_.PublishedOn("audit.rejected");
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_NE(rejected[0]->msg_id, rejected[1]->msg_id);
  EXPECT_NE(rejected[1]->msg_id, rejected[2]->msg_id);
  EXPECT_NE(rejected[0]->msg_id, rejected[2]->msg_id);
}

TEST_F(DispatcherTest, ShadowIsJudgedRecordedAndNotEnforced) {
  ActivePolicy shadow;
  auto strict = policy::Compile("snapshot: strict\nrules: [{id: no, match: {}, decision: deny}]\n");
  ASSERT_TRUE(strict.ok());
  shadow.Set(strict.policy);
  Dispatcher with_shadow(Options(), &bus_, &clock_, &policy_, &limiter_, nullptr,
                         DispatcherSeams{&shadow, nullptr, nullptr});
  bus_.Enqueue("job.read.a", JobJson("r1"));
  ASSERT_TRUE(with_shadow.RunOnce().ok());
  ASSERT_EQ(bus_.PublishedOn("worker.read.a").size(), 1u);  // enforced: allow
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(bus_.PublishedOn("audit.decisions.read.a")[0]->body));
  EXPECT_EQ(record.decision().decision(), v1::ALLOW);
  EXPECT_EQ(record.decision().shadow().decision(), v1::DENY);
  EXPECT_EQ(record.decision().shadow().matched_rule(), "no");
  EXPECT_EQ(record.decision().shadow().snapshot(), "strict");
}

TEST_F(DispatcherTest, ProtobufAndJsonBodiesBothDecode) {
  v1::Job job;
  job.set_job_id("pb-1");
  bus_.Enqueue("job.read.a", job.SerializeAsString());
  bus_.Enqueue("job.read.b", JobJson("json-1"), {{"Content-Type", "application/json"}});
  EXPECT_EQ(Run().dispatched, 2u);
  EXPECT_EQ(bus_.PublishedOn("worker.read.").size(), 2u);
}

// The worker and the audit trail see the job normalized (defaults filled in), whatever
// the bytes it came as.
TEST_F(DispatcherTest, AProtobufJobReachesTheWorkerNormalized) {
  v1::Job job;
  job.set_job_id("pb-2");
  job.set_environment("dev");
  (*job.mutable_labels())["team"] = "data";
  bus_.Enqueue("job.read.a", job.SerializeAsString());
  ASSERT_EQ(Run().dispatched, 1u);
  ASSERT_EQ(bus_.PublishedOn("worker.read.a").size(), 1u);
  v1::DispatchedJob dispatched;
  ASSERT_TRUE(dispatched.ParseFromString(bus_.PublishedOn("worker.read.a")[0]->body));
  v1::Job want = job;
  want.set_tenant_id("default");
  want.set_topic("job.read.a");
  EXPECT_EQ(dispatched.job().SerializeAsString(), want.SerializeAsString());
  v1::DecisionRecord record;
  ASSERT_TRUE(record.ParseFromString(bus_.PublishedOn("audit.decisions.read.a")[0]->body));
  EXPECT_EQ(record.job().SerializeAsString(), want.SerializeAsString());
}

// A field that picks the route holding a secret: refused on audit.rejected as
// secret_in_routing_field, never judged, never written raw; the arrival subject too.
TEST_F(DispatcherTest, ASecretInARoutingFieldRefusesTheJob) {
  const std::string token = FakeToken();
  bus_.Enqueue("job.read." + token, JobJson("on-subject"));
  bus_.Enqueue("job.read.a", R"({"job_id": ")" + token + R"("})");
  bus_.Enqueue("job.read.a", R"({"job_id": "t1", "tenant_id": ")" + token + R"("})");
  bus_.Enqueue("job.read.a", R"({"job_id": "t2", "topic": "job.read.)" + token + R"("})");
  bus_.Enqueue("job.read.a", JobJson("fine"));
  const auto stats = Run();
  EXPECT_EQ(stats.rejected, 4u);
  EXPECT_EQ(stats.dispatched, 1u);
  const auto rejected = bus_.PublishedOn("audit.rejected");
  ASSERT_EQ(rejected.size(), 4u);
  std::vector<std::string> errors;
  for (const auto* m : rejected) {
    v1::RejectedMessage r;
    ASSERT_TRUE(r.ParseFromString(m->body));
    EXPECT_EQ(r.reason(), "secret_in_routing_field");
    errors.push_back(r.error().substr(0, r.error().find(" holds")));
  }
  // The first job's body names no topic: the secret is found in its arrival subject,
  // before binding would copy the subject into the topic.
  EXPECT_EQ(errors, (std::vector<std::string>{"the job's subject", "the job's job_id",
                                              "the job's tenant_id", "the job's topic"}));
  v1::RejectedMessage first;
  ASSERT_TRUE(first.ParseFromString(rejected[0]->body));
  EXPECT_EQ(first.subject().rfind("job.read.[REDACTED:github-pat:", 0), 0u) << first.subject();
  EXPECT_EQ(AllPublished(bus_).find(token), std::string::npos);
}

// Secrets outside args values: map keys, risk tags, capability, environment, actor
// fields. A redact decision takes them out of the worker's copy; every audit copy is
// scrubbed of them whatever the decision.
TEST_F(DispatcherTest, SecretsInKeysAndEveryFieldAreScrubbed) {
  const std::string token = FakeToken();
  const std::string job = R"({"job_id": "k1", "capability": "use )" + token +
                          R"(", "risk_tags": ["x", ")" + token + R"("], "environment": ")" +
                          token + R"(", "actor": {"agent_id": "a", "owner": ")" + token +
                          R"("}, "labels": {")" + token + R"(": "v"}, "args": {"env": {")" +
                          token + R"(": "1"}}})";
  bus_.Enqueue("job.secret.get", job);
  bus_.Enqueue("job.other.x", job);
  bus_.Enqueue("job.read.a", job);
  Run();
  ASSERT_EQ(bus_.PublishedOn("worker.secret.get").size(), 1u);
  EXPECT_EQ(bus_.PublishedOn("worker.secret.get")[0]->body.find(token), std::string::npos);
  EXPECT_EQ(AllPublished(bus_, /*audit_only=*/true).find(token), std::string::npos);
  v1::DispatchedJob worker;
  ASSERT_TRUE(worker.ParseFromString(bus_.PublishedOn("worker.secret.get")[0]->body));
  EXPECT_EQ(worker.decision().redactions_size(), 6);
  EXPECT_EQ(worker.job().labels().begin()->second, "v");
}

// Every rejection path, and a publish failure, with a secret in the body, the subject or
// the error: neither the gate's log (at debug level) nor anything it publishes carries it.
TEST_F(DispatcherTest, NoRejectionPathLogsOrPublishesASecret) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  capture->set_level(spdlog::level::debug);
  spdlog::set_default_logger(capture);

  const std::string token = FakeToken();
  bus_.Enqueue("job.x.a", "{\"job_id\": \"j\", \"args\": {broken " + token + "}");  // decode_error
  bus_.Enqueue("job.x.b", R"({"topic": "job.x.b", "labels": {"t": ")" + token + R"("}})");
  bus_.Enqueue("job.x.c", "{\"job_id\": \"" + token + std::string(2000, 'x') + "\"}");  // too_large
  bus_.Enqueue("job", R"({"job_id": "no-rest", "labels": {"t": ")" + token + R"("}})");
  bus_.Enqueue("job.read." + token, JobJson("routing"));           // secret_in_routing_field
  bus_.Enqueue("job.read.a", R"({"job_id": ")" + token + R"("})");  // secret_in_routing_field
  Run();
  // A publish failure of a job carrying a secret: left for redelivery, logged.
  bus_.fail_publish = [](const std::string&) { return true; };
  bus_.Enqueue("job.read.b", JobWithSecret("fails"));
  bus_.Enqueue("job.read.b." + token, JobWithSecret("fails-2"));
  Run();
  bus_.fail_publish = nullptr;

  spdlog::set_default_logger(previous);
  EXPECT_NE(log.str().find("rejected message"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find(token), std::string::npos) << log.str();
  EXPECT_EQ(AllPublished(bus_).find(token), std::string::npos);
}

TEST_F(DispatcherTest, BadInputIsRejectedAndAckedAndTheNextJobFlows) {
  bus_.Enqueue("job.x.a", "{broken");
  bus_.Enqueue("job.x.b", R"({"topic": "job.x.b"})");
  bus_.Enqueue("job.x.c", "{\"job_id\": \"" + std::string(2000, 'x') + "\"}");
  bus_.Enqueue("job", JobJson("no-rest"));
  bus_.Enqueue("job.read.ok", JobJson("ok-1"));
  const auto stats = Run();
  EXPECT_EQ(stats.rejected, 4u);
  EXPECT_EQ(stats.dispatched, 1u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(bus_.settlement(i).kind, Settlement::Kind::kAck);

  const auto rejected = bus_.PublishedOn("audit.rejected");
  ASSERT_EQ(rejected.size(), 4u);
  std::vector<std::string> reasons;
  for (const auto* m : rejected) {
    v1::RejectedMessage r;
    ASSERT_TRUE(r.ParseFromString(m->body));
    reasons.push_back(r.reason());
    EXPECT_EQ(r.body_sha256().size(), 64u);
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{"decode_error", "missing_job_id", "too_large",
                                               "bad_subject"}));
  EXPECT_EQ(bus_.PublishedOn("worker.read.ok").size(), 1u);
}

TEST(DispatcherLimitsTest, AJudgedJobWhoseCopiesCannotBeStoredIsRejectedNotRetried) {
  FakeClock clock;
  FakeBus bus;
  ActivePolicy policy;
  auto compiled = policy::Compile(kPolicy);
  ASSERT_TRUE(compiled.ok()) << compiled.ErrorText();
  policy.Set(compiled.policy);
  RateLimiter limiter(&clock);
  DispatcherOptions options;
  options.max_message_bytes = 4096;  // the job itself is within the gate's limit...
  options.max_publish_bytes = 1024;  // ...but job + decision is not within the server's
  Dispatcher dispatcher(options, &bus, &clock, &policy, &limiter, nullptr);
  const std::string big =
      R"({"job_id": "big", "args": {"blob": ")" + std::string(900, 'z') + R"("}})";
  bus.Enqueue("job.read.big", big);
  bus.Enqueue("job.read.ok", JobJson("ok"));
  auto stats = dispatcher.RunOnce();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rejected, 1u);
  EXPECT_EQ(stats->dispatched, 1u);
  EXPECT_EQ(bus.settlement(0).kind, Settlement::Kind::kAck);
  EXPECT_EQ(bus.settlement(1).kind, Settlement::Kind::kAck);
  EXPECT_TRUE(bus.PublishedOn("worker.read.big").empty());
  EXPECT_TRUE(bus.PublishedOn("audit.decisions.read.big").empty());
  const auto rejected = bus.PublishedOn("audit.rejected");
  ASSERT_EQ(rejected.size(), 1u);
  v1::RejectedMessage r;
  ASSERT_TRUE(r.ParseFromString(rejected[0]->body));
  EXPECT_EQ(r.reason(), "too_large");
  EXPECT_NE(r.error().find("max_payload of 1024"), std::string::npos) << r.error();
  EXPECT_EQ(bus.PublishedOn("worker.read.ok").size(), 1u);
}

TEST_F(DispatcherTest, PublishFailureLeavesTheJobForRedeliveryAndRetryDoesNotDuplicate) {
  bus_.fail_publish = [](const std::string& subject) {
    return subject.rfind("audit.decisions.", 0) == 0;
  };
  bus_.Enqueue("job.read.file", JobJson("retry-1"));
  auto stats = Run();
  EXPECT_EQ(stats.retried, 1u);
  EXPECT_EQ(bus_.settlement(0).kind, Settlement::Kind::kNak);
  EXPECT_EQ(bus_.settlement(0).delay, std::chrono::milliseconds(1500));
  EXPECT_EQ(bus_.PublishedOn("worker.").size(), 1u);  // stored, but not acked

  // Redelivery: the worker copy is a duplicate (same msg id), the record now lands.
  bus_.fail_publish = nullptr;
  bus_.Enqueue("job.read.file", JobJson("retry-1"));
  stats = Run();
  EXPECT_EQ(stats.dispatched, 1u);
  EXPECT_EQ(bus_.settlement(1).kind, Settlement::Kind::kAck);
  EXPECT_EQ(bus_.PublishedOn("worker.").size(), 1u);
  EXPECT_EQ(bus_.PublishedOn("audit.decisions.").size(), 1u);
}

TEST_F(DispatcherTest, ThrottleOverRateIsNakedWithDelayAndLaterDispatched) {
  bus_.Enqueue("job.llm.chat", JobJson("t1", "agent-a"));
  bus_.Enqueue("job.llm.chat", JobJson("t2", "agent-a"));
  bus_.Enqueue("job.llm.chat", JobJson("t3", "agent-b"));  // its own bucket
  auto stats = Run();
  EXPECT_EQ(stats.dispatched, 2u);
  EXPECT_EQ(stats.throttled, 1u);
  EXPECT_EQ(bus_.settlement(1).kind, Settlement::Kind::kNak);
  EXPECT_EQ(bus_.settlement(1).delay, std::chrono::milliseconds(10000));
  // Not recorded while held back.
  EXPECT_EQ(bus_.PublishedOn("audit.decisions.").size(), 2u);

  clock_.Advance(std::chrono::seconds(10));
  bus_.Enqueue("job.llm.chat", JobJson("t2", "agent-a"));
  stats = Run();
  EXPECT_EQ(stats.dispatched, 1u);
  EXPECT_EQ(bus_.PublishedOn("worker.llm.chat").size(), 3u);
}

TEST_F(DispatcherTest, NoPolicyFetchesNothing) {
  ActivePolicy empty;
  Dispatcher dispatcher(Options(), &bus_, &clock_, &empty, &limiter_, nullptr);
  bus_.Enqueue("job.read.file", JobJson("p1"));
  auto result = dispatcher.RunOnce();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(bus_.queued(), 1u);
  EXPECT_TRUE(bus_.published().empty());
}

TEST_F(DispatcherTest, APolicyWithdrawnDuringTheFetchNaksTheBatchUnjudged) {
  bus_.Enqueue("job.read.file", JobJson("w1"));
  bus_.Enqueue("job.llm.chat", JobJson("w2"));
  bus_.during_fetch = [this] { policy_.Set(nullptr); };
  auto result = dispatcher_.RunOnce();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(bus_.settlement(i).kind, Settlement::Kind::kNak);
    EXPECT_EQ(bus_.settlement(i).delay, std::chrono::milliseconds(1500));
  }
  EXPECT_TRUE(bus_.published().empty());
}

TEST_F(DispatcherTest, PolicySwapAppliesFromTheNextBatch) {
  bus_.Enqueue("job.read.file", JobJson("s1"));
  Run();
  auto stricter =
      policy::Compile("version: 1\nsnapshot: unit-2\ndefaults: {decision: deny}\nrules: []\n");
  ASSERT_TRUE(stricter.ok()) << stricter.ErrorText();
  policy_.Set(stricter.policy);
  bus_.Enqueue("job.read.file", JobJson("s2"));
  Run();
  EXPECT_EQ(bus_.PublishedOn("worker.read.file").size(), 1u);
  const auto denied = bus_.PublishedOn("audit.denied.read.file");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(Header(*denied[0], subjects::kSnapshotHeader), "unit-2");
}

TEST_F(DispatcherTest, AJobArrivingAfterASwapIsJudgedByTheNewPolicy) {
  // The swap lands while the fetch waits: the fetched job must not be judged by the
  // snapshot that was active when the fetch began.
  auto stricter = policy::Compile("snapshot: unit-3\ndefaults: {decision: deny}\nrules: []\n");
  ASSERT_TRUE(stricter.ok());
  bus_.during_fetch = [&] { policy_.Set(stricter.policy); };
  bus_.Enqueue("job.read.file", JobJson("late"));
  Run();
  EXPECT_TRUE(bus_.PublishedOn("worker.read.file").empty());
  const auto denied = bus_.PublishedOn("audit.denied.read.file");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(Header(*denied[0], subjects::kSnapshotHeader), "unit-3");
}

TEST_F(DispatcherTest, FetchErrorIsReported) {
  bus_.fetch_error = Unavailable("down");
  auto result = dispatcher_.RunOnce();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
}

TEST(DecisionIdTest, RandomHex128) {
  const std::string a = NewDecisionId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, NewDecisionId());
}

}  // namespace
}  // namespace jobgate::gate
