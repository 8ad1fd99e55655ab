// jobgate under a real Prometheus (Debian's `prometheus`, installed by scripts/install-deps):
// deploy/prometheus/prometheus.yml's scrape job (every 1 s here) and alerts.yml's rules
// against a live gate on a real nats-server. What Prometheus stores must equal what was
// sent (decisions per decision) and what JetStream reports (the consumer backlog), every
// dashboard and alert expression must be accepted by its query engine, and the rules
// must evaluate healthy.
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <map>
#include <set>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "subjects/codec.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::google::protobuf::Value;
using ::jobgate::testing::FreePort;
using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::Subprocess;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;
using std::chrono::seconds;

constexpr char kPrometheus[] = "/usr/bin/prometheus";
const std::string kDeploy = std::string(JOBGATE_SOURCE_DIR) + "/deploy";

constexpr char kPolicy[] = R"(version: 1
snapshot: prom-1
defaults:
  decision: deny
  reason: no rule matched
rules:
  - id: allow-read
    match: {topics: ["job.read.>"]}
    decision: allow
  - id: constrain-shell
    match: {topics: ["job.shell.>"]}
    decision: allow_with_constraints
    constraints: {max_runtime_sec: 60}
  - id: approve-prod-db
    match: {topics: ["job.db.>"], environment: prod}
    decision: require_approval
    approver_role: dba
  - id: alert-net
    match: {topics: ["job.net.>"]}
    decision: alert
  - id: kill-rm
    match: {topics: ["job.rm.>"]}
    decision: terminate
  - id: throttle-llm
    match: {topics: ["job.llm.>"]}
    decision: throttle
    rate: {limit: 1, period: 1h, key: actor.agent_id}
)";

std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

// JSON object member, or a null Value when absent.
const Value& Get(const Value& object, const std::string& key) {
  static const Value* const kNull = new Value();
  const auto& fields = object.struct_value().fields();
  auto it = fields.find(key);
  return it == fields.end() ? *kNull : it->second;
}

// One instant-query answer.
struct QueryResult {
  std::string status;  // "success", or "error" with error_type and error
  std::string error_type;
  std::string error;
  // Series labels (sorted "k=v,..." without __name__) to value, for vector results.
  std::map<std::string, double> samples;
  size_t size = 0;  // result entries (vector, matrix) or 1 for scalars
};

// A Prometheus server in `dir` scraping one gate, with deploy/prometheus's config.
class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, int gate_metrics_port) : port_(FreePort()) {
    // The deploy config, with the scrape target, faster intervals and absolute rule paths.
    YAML::Node config = YAML::LoadFile(kDeploy + "/prometheus/prometheus.yml");
    config["global"]["scrape_interval"] = "1s";
    config["global"]["evaluation_interval"] = "1s";
    for (size_t i = 0; i < config["rule_files"].size(); ++i) {
      config["rule_files"][i] =
          kDeploy + "/prometheus/" + config["rule_files"][i].as<std::string>();
    }
    YAML::Node scrape = config["scrape_configs"][0];
    job_name_ = scrape["job_name"].as<std::string>();
    scrape["static_configs"][0]["targets"][0] = Address(gate_metrics_port);
    YAML::Emitter out;
    out << config;
    const std::string config_file = dir.WriteFile("prometheus.yml", out.c_str());
    process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{kPrometheus, "--config.file=" + config_file,
                                 "--storage.tsdb.path=" + dir.path() + "/tsdb",
                                 "--web.listen-address=" + Address(port_), "--log.level=warn"},
        dir.path() + "/prometheus.log");
  }
  ~PrometheusServer() {
    process_->Signal(SIGTERM);
    process_->Wait();
  }

  const std::string& job_name() const { return job_name_; }
  std::string Log() const { return process_->Log(); }

  bool WaitReady() const {
    return WaitFor([this] { return Status("/-/ready") == 200; }, seconds(60));
  }

  QueryResult Query(const std::string& expr) const {
    QueryResult result;
    Value json;
    if (!Post("/api/v1/query", {{"query", expr}}, &json)) {
      result.status = "unreachable";
      return result;
    }
    result.status = Get(json, "status").string_value();
    result.error_type = Get(json, "errorType").string_value();
    result.error = Get(json, "error").string_value();
    const Value& data = Get(json, "data");
    const Value& entries = Get(data, "result");
    if (Get(data, "resultType").string_value() == "scalar") {
      result.size = 1;
      return result;
    }
    result.size = entries.list_value().values_size();
    for (const Value& entry : entries.list_value().values()) {
      std::string key;
      for (const auto& [name, value] :
           std::map<std::string, Value>(Get(entry, "metric").struct_value().fields().begin(),
                                        Get(entry, "metric").struct_value().fields().end())) {
        if (name == "__name__") continue;
        key += (key.empty() ? "" : ",") + name + "=" + value.string_value();
      }
      const Value& sample = Get(entry, "value");
      if (sample.list_value().values_size() == 2) {
        result.samples[key] = std::stod(sample.list_value().values(1).string_value());
      }
    }
    return result;
  }

  // GET /api/v1/rules, parsed; a null Value when unreachable.
  Value Rules() const {
    Value json;
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(2, 0);
    auto response = client.Get("/api/v1/rules");
    if (!response || response->status != 200) return json;
    if (!subjects::FromJson(response->body, &json).ok()) return Value();
    return json;
  }

 private:
  int Status(const std::string& path) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(1, 0);
    auto response = client.Get(path.c_str());
    return response ? response->status : 0;
  }
  bool Post(const std::string& path, const httplib::Params& params, Value* json) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(30, 0);
    auto response = client.Post(path.c_str(), params);
    // 400 and 422 carry the query engine's error as JSON too.
    return response && subjects::FromJson(response->body, json).ok();
  }

  int port_;
  std::string job_name_;
  std::unique_ptr<Subprocess> process_;
};

// The dashboard's expressions, as deploy/grafana/generate-dashboard --expressions prints
// them (Grafana's range variables replaced by fixed ranges).
std::vector<std::string> DashboardExpressions() {
  const std::string command =
      "python3 " + kDeploy + "/grafana/generate-dashboard --expressions 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  if (pipe != nullptr) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
    EXPECT_EQ(pclose(pipe), 0) << output;
  }
  std::vector<std::string> expressions;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) expressions.push_back(line);
  }
  return expressions;
}

// Every rule in deploy/prometheus/alerts.yml: group name to (rule name, expression).
std::map<std::string, std::vector<std::pair<std::string, std::string>>> AlertRules() {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> rules;
  const YAML::Node file = YAML::LoadFile(kDeploy + "/prometheus/alerts.yml");
  for (const YAML::Node& group : file["groups"]) {
    auto& list = rules[group["name"].as<std::string>()];
    for (const YAML::Node& rule : group["rules"]) {
      const std::string name =
          rule["alert"] ? rule["alert"].as<std::string>() : rule["record"].as<std::string>();
      list.emplace_back(name, rule["expr"].as<std::string>());
    }
  }
  return rules;
}

v1::Job MakeJob(const std::string& id, const std::string& topic,
                const std::string& environment = "") {
  v1::Job job;
  job.set_job_id(id);
  job.set_topic(topic);
  job.set_environment(environment);
  job.mutable_actor()->set_agent_id("agent-1");
  job.mutable_actor()->set_session_id("session-" + id);  // no job inherits a TERMINATE
  return job;
}

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPrometheus, X_OK) != 0) {
      GTEST_SKIP() << kPrometheus << " is missing: scripts/install-deps installs Debian's "
                   << "`prometheus` package, which this test needs";
    }
    policy_file_ = dir_.WriteFile("policy.yaml", kPolicy);
  }

  TempDir dir_;
  std::string policy_file_;
};

TEST_F(PrometheusTest, SeesEveryDecisionAndAcceptsEveryDashboardAndAlertExpression) {
  NatsServer server;
  GateProcess gate(server.url(), {"--policy", policy_file_}, dir_);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  PrometheusServer prometheus(dir_, gate.metrics_port());
  ASSERT_TRUE(prometheus.WaitReady()) << prometheus.Log();
  const std::string up = "up{job=\"" + prometheus.job_name() + "\"}";
  ASSERT_TRUE(WaitFor([&] { return prometheus.Query(up).samples.size() == 1; }, seconds(60)))
      << prometheus.Log();

  // A known mix: topic prefix, environment, decision, how many.
  struct Kind {
    std::string topic, environment, decision;
    int count;
  };
  const std::vector<Kind> kinds = {
      {"job.read.file", "", "ALLOW", 7},
      {"job.shell.ls", "", "ALLOW_WITH_CONSTRAINTS", 5},
      {"job.db.migrate", "prod", "REQUIRE_APPROVAL", 3},
      {"job.net.curl", "", "ALERT", 4},
      {"job.rm.rf", "", "TERMINATE", 2},
      {"job.misc.thing", "", "DENY", 6},
  };
  JetStreamClient client(server.url());
  std::map<std::string, double> expected;
  int total = 0;
  for (const Kind& kind : kinds) {
    for (int i = 0; i < kind.count; ++i) {
      const v1::Job job =
          MakeJob(kind.decision + "-" + std::to_string(i), kind.topic, kind.environment);
      ASSERT_TRUE(client.PublishJob(job, /*as_json=*/i % 2 == 0).ok());
    }
    expected["decision=" + kind.decision] = kind.count;
    total += kind.count;
  }
  ASSERT_TRUE(client.Publish("job.bad.input", "\x0f not a job").ok());

  ASSERT_TRUE(WaitFor([&] { return gate.Metric("jobgate_decisions_total") == total; }))
      << gate.process().Log();
  EXPECT_TRUE(WaitFor(
      [&] {
        return prometheus.Query("sum by (decision) (jobgate_decisions_total)").samples == expected;
      },
      seconds(60)))
      << "Prometheus has "
      << ::testing::PrintToString(
             prometheus.Query("sum by (decision) (jobgate_decisions_total)").samples)
      << ", sent " << ::testing::PrintToString(expected);
  EXPECT_TRUE(WaitFor(
      [&] {
        return prometheus.Query("sum(jobgate_jobs_received_total)").samples ==
               std::map<std::string, double>{{"", total + 1}};
      },
      seconds(60)));
  EXPECT_TRUE(WaitFor(
      [&] {
        return prometheus.Query("sum by (reason) (jobgate_rejected_jobs_total)").samples ==
               std::map<std::string, double>{{"reason=decode_error", 1}};
      },
      seconds(60)));
  EXPECT_TRUE(WaitFor(
      [&] {
        return prometheus.Query("count(jobgate_build_info{version!=\"\",git_commit!=\"\"} == 1)")
                   .samples == std::map<std::string, double>{{"", 1}};
      },
      seconds(60)));

  // Every dashboard expression is accepted; those over metrics this traffic moved have
  // data (rates need two scrapes of a series, hence the wait). The snapshot-change
  // annotation (a snapshot absent a minute earlier) is not asserted either way: whether
  // it answers depends on how long Prometheus has been up.
  const std::vector<std::string> dashboard = DashboardExpressions();
  ASSERT_GE(dashboard.size(), 10u);
  const std::vector<std::string> moved = {
      "jobgate_decisions_total",    "jobgate_jobs_received_total", "jobgate_rejected_jobs_total",
      "jobgate_evaluation_seconds", "jobgate_dispatch_seconds",    "jobgate_queue_pending",
      "jobgate_approvals_pending",  "jobgate_policy_info",         "jobgate_build_info",
      // The TERMINATE jobs above end their sessions.
      "jobgate_sessions",           "jobgate_session_terminations_total"};
  for (const std::string& expr : dashboard) {
    const QueryResult result = prometheus.Query(expr);
    EXPECT_EQ(result.status, "success")
        << expr << ": " << result.error_type << ": " << result.error;
    const bool has_data = expr.find(" unless ") == std::string::npos &&
                          std::any_of(moved.begin(), moved.end(), [&](const std::string& m) {
                            return expr.find(m) != std::string::npos;
                          });
    if (has_data) {
      EXPECT_TRUE(WaitFor([&] { return prometheus.Query(expr).size > 0; }, seconds(60)))
          << "no data for dashboard expression " << expr;
    }
  }
  // The decision-mix panel has one series per decision sent.
  const std::string mix = dashboard.at(1);
  ASSERT_NE(mix.find("group_left"), std::string::npos) << mix;
  EXPECT_TRUE(WaitFor([&] { return prometheus.Query(mix).size == kinds.size(); }, seconds(60)))
      << mix << " answers " << prometheus.Query(mix).size << " series";

  // Every alert expression is accepted, and Prometheus loaded and evaluated every rule.
  const auto alert_rules = AlertRules();
  size_t rule_count = 0;
  for (const auto& [group, rules] : alert_rules) {
    for (const auto& [name, expr] : rules) {
      const QueryResult result = prometheus.Query(expr);
      EXPECT_EQ(result.status, "success")
          << name << ": " << expr << ": " << result.error_type << ": " << result.error;
      ++rule_count;
    }
  }
  ASSERT_GT(rule_count, 0u);
  std::string last_rules;
  EXPECT_TRUE(WaitFor(
      [&] {
        const Value rules = prometheus.Rules();
        last_rules = subjects::ToJson(rules, /*pretty=*/false);
        if (Get(rules, "status").string_value() != "success") return false;
        std::map<std::string, std::set<std::string>> healthy;
        for (const Value& group : Get(Get(rules, "data"), "groups").list_value().values()) {
          for (const Value& rule : Get(group, "rules").list_value().values()) {
            const bool evaluated =
                Get(rule, "lastEvaluation").string_value().rfind("0001-", 0) != 0;
            if (Get(rule, "health").string_value() == "ok" && evaluated) {
              healthy[Get(group, "name").string_value()].insert(Get(rule, "name").string_value());
            }
          }
        }
        std::map<std::string, std::set<std::string>> want;
        for (const auto& [group, list] : alert_rules) {
          for (const auto& [name, expr] : list) want[group].insert(name);
        }
        return healthy == want;
      },
      seconds(60)))
      << last_rules;
}

// jobgate_queue_pending{stream="JOBS"} is the consumer's num_pending as JetStream reports
// it, on the gate's /metrics and in Prometheus, also while delivery is stalled: here the
// consumer's max_ack_pending is reached by throttled jobs held for an hour, which only
// happens with deferral off (on, they are parked and acked).
TEST_F(PrometheusTest, QueuePendingIsTheConsumersBacklog) {
  constexpr int kMaxAckPending = 4;
  const std::string config = dir_.WriteFile(
      "gate.yaml", "consumer: {max_ack_pending: " + std::to_string(kMaxAckPending) +
                       "}\ndispatch: {batch_size: 4, workers: 1, defer_throttled: false}\n");
  NatsServer server;
  GateProcess gate(server.url(), {"--policy", policy_file_, "--config", config}, dir_);
  ASSERT_TRUE(gate.WaitReady()) << gate.process().Log();
  PrometheusServer prometheus(dir_, gate.metrics_port());
  ASSERT_TRUE(prometheus.WaitReady()) << prometheus.Log();

  JetStreamClient client(server.url());
  const auto publish = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(client.PublishJob(MakeJob("llm-" + std::to_string(i), "job.llm.chat")).ok());
    }
  };
  // Agreement between JetStream, the gate and Prometheus on `want` pending messages,
  // before any held job comes back: the held jobs are nak'ed for up to a minute, and until
  // one is redelivered the gate fetches nothing, so the value cannot come from a fetched
  // batch (whose metadata would also carry the backlog).
  const auto agree_on = [&](uint64_t want) {
    return WaitFor(
        [&] {
          const auto consumer = client.Consumer();
          return consumer.ok && consumer.num_pending == want && consumer.num_redelivered == 0 &&
                 gate.Metric("jobgate_queue_pending{stream=\"JOBS\"}") == want &&
                 prometheus.Query("jobgate_queue_pending").samples ==
                     std::map<std::string, double>{{"instance=" + Address(gate.metrics_port()) +
                                                        ",job=" + prometheus.job_name() +
                                                        ",stream=JOBS",
                                                    static_cast<double>(want)}};
        },
        seconds(60));
  };
  const auto describe = [&] {
    const auto consumer = client.Consumer();
    return "consumer num_pending=" + std::to_string(consumer.num_pending) +
           " num_ack_pending=" + std::to_string(consumer.num_ack_pending) +
           " num_redelivered=" + std::to_string(consumer.num_redelivered) + ", gate says " +
           std::to_string(gate.Metric("jobgate_queue_pending{stream=\"JOBS\"}")) +
           ", Prometheus says " +
           ::testing::PrintToString(prometheus.Query("jobgate_queue_pending").samples);
  };

  // One job takes the hour's token; the next kMaxAckPending are held un-acked, which
  // stops delivery; the rest wait in JOBS.
  constexpr int kFirst = 20;
  publish(0, kFirst);
  EXPECT_TRUE(agree_on(kFirst - 1 - kMaxAckPending)) << describe();
  EXPECT_TRUE(
      WaitFor([&] { return gate.Metric("jobgate_decisions_total{decision=\"THROTTLE\"") == 1; }));
  EXPECT_EQ(client.Consumer().num_ack_pending, kMaxAckPending);

  // More jobs while delivery is stalled: the backlog grows and the metric follows.
  constexpr int kMore = 7;
  publish(kFirst, kFirst + kMore);
  EXPECT_TRUE(agree_on(kFirst + kMore - 1 - kMaxAckPending)) << describe();
}

}  // namespace
}  // namespace jobgate::gate
