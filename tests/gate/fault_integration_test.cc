// Reliability under faults: a stream of jobs of every outcome (allowed, denied,
// held for approval, unreadable) is published while the gate is killed with SIGKILL at
// random moments and restarted, while nats-server itself is restarted, and on a
// three-node JetStream cluster (replicated streams) while a node is killed and brought
// back. Afterwards every job published is accounted for exactly once: in WORK, in
// APPROVALS, denied on audit.denied or rejected on audit.rejected, never in two places,
// never twice, and with a decision record on audit.decisions (for an unreadable message,
// which has no job to decide on, its RejectedMessage is the record). Some jobs reuse the
// job id of an earlier one with other content: of each such pair exactly one is judged
// and the other refused as idempotency_conflict, whatever the faults.
//
// Every server runs the deploy configs' users and least-privilege permissions
// (deploy/nats/permissions.conf): jobs come from the `agent` user, the gate runs as
// `jobgate`, and the accounting reads the streams as `jobgate`.
//
// Sizes and the seed come from the environment; the defaults are the short run of
// scripts/test, scripts/fault-run sets the full one (docs/reliability.md):
//   JOBGATE_FAULT_SEED        RNG seed (default: from the clock; always printed)
//   JOBGATE_FAULT_JOBS        jobs per test (3000)
//   JOBGATE_FAULT_RATE        jobs published per second (600)
//   JOBGATE_FAULT_KILLS       gate SIGKILLs (5)
//   JOBGATE_FAULT_RESTARTS    nats-server restarts, alternately SIGKILL and SIGTERM (4)
//   JOBGATE_FAULT_NODE_KILLS  cluster node kills, alternately the JOBS leader and any (2)
// Each test prints one `FAULT_RESULT` line with its figures.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>

#include "jobgate/v1/jobgate.pb.h"
#include "base/hash.h"
#include "policy/policy.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::GateProcess;
using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::NatsCluster;
using ::jobgate::testing::NatsServer;
using ::jobgate::testing::StoredMessage;
using ::jobgate::testing::TempDir;
using ::jobgate::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kGateUser[] = "jobgate";
constexpr char kGatePassword[] = "gate-password";
constexpr char kAgentUser[] = "agent";
constexpr char kAgentPassword[] = "agent-password";

constexpr char kPolicy[] = R"(snapshot: fault-1
defaults: {decision: deny, reason: no rule matched}
rules:
  - {id: reads, match: {topics: ["job.read.>"]}, decision: allow}
  - id: shell
    match: {topics: ["job.shell.>"]}
    decision: allow_with_constraints
    constraints: {max_runtime_sec: 60}
  - id: prod-db
    match: {topics: ["job.db.>"], environment: prod}
    decision: require_approval
    approver_role: dba
  - {id: rm, match: {topics: ["job.rm.>"]}, decision: terminate}
)";

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoll(text, nullptr, 10);
}

struct Knobs {
  uint64_t seed = 0;
  int64_t jobs = 0;
  int64_t rate = 0;
  int64_t kills = 0;
  int64_t restarts = 0;
  int64_t node_kills = 0;
};

Knobs ReadKnobs() {
  Knobs k;
  k.seed = static_cast<uint64_t>(
      EnvInt("JOBGATE_FAULT_SEED", Clock::now().time_since_epoch().count() & 0x7fffffff));
  k.jobs = EnvInt("JOBGATE_FAULT_JOBS", 3000);
  k.rate = std::max<int64_t>(1, EnvInt("JOBGATE_FAULT_RATE", 600));
  k.kills = EnvInt("JOBGATE_FAULT_KILLS", 5);
  k.restarts = EnvInt("JOBGATE_FAULT_RESTARTS", 4);
  k.node_kills = EnvInt("JOBGATE_FAULT_NODE_KILLS", 2);
  return k;
}

// Where a job must end up.
enum Place { kWork, kApprovals, kDenied, kRejected, kPlaces };
constexpr const char* kPlaceNames[kPlaces] = {"WORK", "APPROVALS", "audit.denied",
                                              "audit.rejected"};

struct JobSpec {
  std::string id;  // the accounting key: the job id, or "<job id>#<label>" for a collision
  Place expected = kWork;
  std::string subject;
  std::string body;
  // A collision: another job under the job id of jobs[collides_with], with other content
  // (a label). Whichever of the two the gate claims first is judged, the other refused
  // as idempotency_conflict; the accounting accepts either order.
  int64_t collides_with = -1;
};

// The accounting key of a job as the gate published it (a collision carries its label).
std::string KeyOf(const v1::Job& job) {
  auto it = job.labels().find("collision");
  return it == job.labels().end() ? job.job_id() : job.job_id() + "#" + it->second;
}

// A seeded mix: 60% allowed (plain or constrained), 20% denied (no rule, or
// TERMINATE), 10% held for approval, 5% unreadable (each body distinct, so its
// rejection record can be matched to it by the body's SHA-256), 5% collisions: a job
// under the id of an earlier judged job of the mix, with other content.
std::vector<JobSpec> MakeJobs(int64_t n, std::mt19937_64& rng) {
  std::vector<JobSpec> jobs;
  jobs.reserve(static_cast<size_t>(n));
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<int64_t> originals;  // judged jobs no collision has used yet
  for (int64_t i = 0; i < n; ++i) {
    JobSpec spec;
    spec.id = "fault-" + std::to_string(i);
    const int roll = pick(rng);
    v1::Job job;
    job.set_job_id(spec.id);
    job.mutable_actor()->set_agent_id("agent-" + std::to_string(i % 7));
    // One session per job: the expected decision is the topic's, whatever a TERMINATE of
    // the same agent decided before.
    job.mutable_actor()->set_session_id(spec.id);
    if (roll >= 95 && !originals.empty()) {
      const size_t at = std::uniform_int_distribution<size_t>(0, originals.size() - 1)(rng);
      const int64_t original = originals[at];
      originals[at] = originals.back();
      originals.pop_back();
      v1::Job other;
      EXPECT_TRUE(other.ParseFromString(jobs[static_cast<size_t>(original)].body));
      (*other.mutable_labels())["collision"] = "c" + std::to_string(i);
      spec.id = KeyOf(other);
      spec.expected = kRejected;
      spec.subject = jobs[static_cast<size_t>(original)].subject;
      spec.body = other.SerializeAsString();
      spec.collides_with = original;
      jobs.push_back(std::move(spec));
      continue;
    }
    if (roll < 90) originals.push_back(i);
    if (roll < 60) {
      spec.expected = kWork;
      spec.subject = roll % 2 == 0 ? "job.read.file" : "job.shell.exec";
    } else if (roll < 80) {
      spec.expected = kDenied;
      spec.subject = roll % 2 == 0 ? "job.misc.thing" : "job.rm.rf";
    } else if (roll < 90) {
      spec.expected = kApprovals;
      spec.subject = "job.db.migrate";
      job.set_environment("prod");
    } else {
      spec.expected = kRejected;
      spec.subject = "job.bad.input";
      spec.body = "{not json " + spec.id;
    }
    if (spec.body.empty()) spec.body = job.SerializeAsString();
    jobs.push_back(std::move(spec));
  }
  return jobs;
}

// Publishes every job at `rate` per second, each with a Nats-Msg-Id of its own, retrying
// until JetStream acknowledged it (the JOBS stream drops a retry of a publish that was
// stored but whose ack was lost). A job counts as published once acknowledged.
class Publisher {
 public:
  Publisher(std::string url, const std::vector<JobSpec>* jobs, int64_t rate)
      : url_(std::move(url)), jobs_(jobs), rate_(rate) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Publisher() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_.load(); }
  size_t acked() const { return acked_.load(); }
  size_t retries() const { return retries_.load(); }

 private:
  void Run() {
    JetStreamClient client(url_);
    const auto start = Clock::now();
    for (size_t i = 0; i < jobs_->size(); ++i) {
      std::this_thread::sleep_until(
          start + std::chrono::microseconds(static_cast<int64_t>(i) * 1'000'000 / rate_));
      const JobSpec& job = (*jobs_)[i];
      const auto give_up = Clock::now() + std::chrono::minutes(5);
      while (!client.Publish(job.subject, job.body, {{"Nats-Msg-Id", "pub-" + job.id}}).ok()) {
        ++retries_;
        if (Clock::now() > give_up) break;
        std::this_thread::sleep_for(milliseconds(100));  // back-off, not synchronisation
      }
      if (Clock::now() <= give_up) ++acked_;
    }
    done_ = true;
  }

  std::string url_;
  const std::vector<JobSpec>* jobs_;
  int64_t rate_;
  std::atomic<size_t> acked_{0};
  std::atomic<size_t> retries_{0};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Every job of `jobs` against what the streams hold.
struct Ledger {
  size_t held[kPlaces] = {};  // messages per place
  size_t records = 0;         // decision records (judgements, not approval attempts)
  size_t lost = 0;            // in no place at all
  size_t duplicates = 0;      // extra copies in any place or extra decision records
  size_t duplicates_work = 0;
  size_t duplicates_approvals = 0;
  size_t misrouted = 0;               // in a place it should not be
  size_t missing_records = 0;         // no decision record
  size_t unknown = 0;                 // a message for no job published
  size_t collisions = 0;              // jobs reusing an earlier job's id
  size_t collisions_swapped = 0;      // of which the original was the one refused
  std::vector<std::string> problems;  // the first few, for the failure message

  bool clean() const {
    return lost == 0 && duplicates == 0 && misrouted == 0 && missing_records == 0 && unknown == 0;
  }
  void Problem(const std::string& text) {
    if (problems.size() < 20) problems.push_back(text);
  }
};

std::string DispatchedId(const StoredMessage& m) {
  v1::DispatchedJob d;
  return d.ParseFromString(m.data) ? KeyOf(d.job()) : "";
}

Ledger Account(JetStreamClient& inspector, const std::vector<JobSpec>& jobs) {
  Ledger ledger;
  std::unordered_map<std::string, size_t> index;  // job id -> jobs[]
  std::unordered_map<std::string, size_t> by_body_sha;
  for (size_t i = 0; i < jobs.size(); ++i) {
    index.emplace(jobs[i].id, i);
    if (jobs[i].expected == kRejected || jobs[i].collides_with >= 0) {
      by_body_sha.emplace(jobgate::Sha256Hex(jobs[i].body), i);
    }
  }
  // Either job of a collision may be the one refused: the original when the collision
  // was claimed first (a redelivery of the original after a kill can come later).
  for (const JobSpec& job : jobs) {
    if (job.collides_with >= 0) {
      by_body_sha.emplace(jobgate::Sha256Hex(jobs[static_cast<size_t>(job.collides_with)].body),
                          static_cast<size_t>(job.collides_with));
    }
  }
  std::vector<std::array<int, kPlaces>> seen(jobs.size(), std::array<int, kPlaces>{});
  std::vector<int> records(jobs.size(), 0);
  const milliseconds read_timeout = seconds(60) + milliseconds(jobs.size());

  const auto count = [&](Place place, const std::string& id) {
    ++ledger.held[place];
    auto it = index.find(id);
    if (it == index.end()) {
      ++ledger.unknown;
      ledger.Problem(std::string("unknown job '") + id + "' in " + kPlaceNames[place]);
      return;
    }
    ++seen[it->second][place];
  };
  for (const auto& m : inspector.ReadAll("WORK", "worker.>", read_timeout)) {
    count(kWork, DispatchedId(m));
  }
  for (const auto& m : inspector.ReadAll("APPROVALS", "approval.requests.>", read_timeout)) {
    count(kApprovals, DispatchedId(m));
  }
  for (const auto& m : inspector.ReadAll("AUDIT", "audit.denied.>", read_timeout)) {
    count(kDenied, DispatchedId(m));
  }
  for (const auto& m : inspector.ReadAll("AUDIT", "audit.rejected", read_timeout)) {
    v1::RejectedMessage rejected;
    rejected.ParseFromString(m.data);
    auto it = by_body_sha.find(rejected.body_sha256());
    count(kRejected,
          it == by_body_sha.end() ? "sha:" + rejected.body_sha256() : jobs[it->second].id);
  }
  for (const auto& m : inspector.ReadAll("AUDIT", "audit.decisions.>", read_timeout)) {
    v1::DecisionRecord record;
    record.ParseFromString(m.data);
    if (record.has_approval()) continue;  // an approval's resolution or attempt, not a judgement
    ++ledger.records;
    auto it = index.find(KeyOf(record.job()));
    if (it == index.end()) {
      ++ledger.unknown;
      ledger.Problem("decision record for unknown job '" + record.decision().job_id() + "'");
      continue;
    }
    ++records[it->second];
  }

  // The order the gate claimed a collision's two jobs in decides which is refused.
  std::vector<Place> expected(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) expected[i] = jobs[i].expected;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].collides_with < 0) continue;
    const size_t original = static_cast<size_t>(jobs[i].collides_with);
    ++ledger.collisions;
    if (seen[original][kRejected] > 0 && seen[i][kRejected] == 0) {
      expected[i] = jobs[original].expected;
      expected[original] = kRejected;
      ++ledger.collisions_swapped;
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    JobSpec job = jobs[i];
    job.expected = expected[i];
    int total = 0;
    for (int p = 0; p < kPlaces; ++p) {
      total += seen[i][p];
      if (p != job.expected && seen[i][p] > 0) {
        ++ledger.misrouted;
        ledger.Problem(job.id + " in " + kPlaceNames[p] + ", expected in " +
                       kPlaceNames[job.expected]);
      }
      if (seen[i][p] > 1) {
        const size_t extra = static_cast<size_t>(seen[i][p] - 1);
        ledger.duplicates += extra;
        if (p == kWork) ledger.duplicates_work += extra;
        if (p == kApprovals) ledger.duplicates_approvals += extra;
        ledger.Problem(job.id + " " + std::to_string(seen[i][p]) + " times in " + kPlaceNames[p]);
      }
    }
    if (total == 0) {
      ++ledger.lost;
      ledger.Problem(job.id + " lost (expected in " + std::string(kPlaceNames[job.expected]) + ")");
    }
    const int expected_records = job.expected == kRejected ? 0 : 1;
    if (records[i] < expected_records) {
      ++ledger.missing_records;
      ledger.Problem(job.id + " has no decision record");
    } else if (records[i] > expected_records) {
      ledger.duplicates += static_cast<size_t>(records[i] - expected_records);
      ledger.Problem(job.id + " has " + std::to_string(records[i]) + " decision records");
    }
  }
  return ledger;
}

// Waits until JOBS is drained by the gate and the places hold at least one message per
// job; false when that did not happen within `timeout` (the accounting then says what is
// missing).
bool WaitDrained(JetStreamClient& inspector, size_t jobs, milliseconds timeout) {
  return WaitFor(
      [&] {
        const auto consumer = inspector.Consumer();
        if (!consumer.ok || consumer.num_pending != 0 || consumer.num_ack_pending != 0) {
          return false;
        }
        const int64_t held = inspector.Count("WORK") + inspector.Count("APPROVALS") +
                             inspector.Count("AUDIT", "audit.denied.>") +
                             inspector.Count("AUDIT", "audit.rejected");
        return held >= static_cast<int64_t>(jobs);
      },
      timeout);
}

std::string PermissionsInclude() {
  auto text = policy::ReadFile(std::string(JOBGATE_SOURCE_DIR) + "/deploy/nats/permissions.conf");
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? *text : "";
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    knobs_ = ReadKnobs();
    rng_.seed(knobs_.seed);
    std::printf("fault test seed %llu (rerun with JOBGATE_FAULT_SEED=%llu)\n",
                static_cast<unsigned long long>(knobs_.seed),
                static_cast<unsigned long long>(knobs_.seed));
    policy_file_ = dir_.WriteFile("policy.yaml", kPolicy);
    jobs_ = MakeJobs(knobs_.jobs, rng_);
    started_ = Clock::now();
  }

  // A gate as the `jobgate` user. Redelivery after a crash comes after ack_wait: short.
  std::unique_ptr<GateProcess> StartGate(const std::string& url,
                                         const std::string& extra_yaml = "") {
    const std::string config =
        dir_.WriteFile("gate.yaml", "consumer: {ack_wait: 2s}\n" + extra_yaml);
    auto gate = std::make_unique<GateProcess>(
        url, std::vector<std::string>{"--config", config, "--policy", policy_file_}, dir_,
        "gate-" + std::to_string(gates_started_++));
    return gate;
  }

  milliseconds RandomMillis(int lo, int hi) {
    return milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng_));
  }

  // Drains, accounts and reports; `faults` names what was done, for the result line.
  void AccountAndReport(const std::string& test, JetStreamClient& inspector,
                        const Publisher& publisher, const std::string& faults) {
    const bool drained =
        WaitDrained(inspector, jobs_.size(), seconds(120) + milliseconds(jobs_.size() * 2));
    EXPECT_TRUE(drained) << "JOBS not drained; accounting what is there";
    // Each read is an ephemeral consumer's view, and after a node kill the replica it
    // reads from may not have caught up with the newest messages yet: read again until
    // the ledger is clean or 30 s pass. A job really lost (or duplicated) stays so, and
    // fails below; `account_reads` in the result line shows any lag.
    Ledger ledger;
    int account_reads = 0;
    WaitFor(
        [&] {
          ledger = Account(inspector, jobs_);
          ++account_reads;
          return ledger.clean();
        },
        seconds(30));
    // Retried publishes were dropped by JOBS as duplicates: one stored message per job.
    // JOBS is a work queue, so an acked job left it: the sequences it assigned count what
    // it stored, and nothing is left in it. A server killed after an ack can come back
    // with that job still stored; the gate purges such jobs every 10 s.
    const int64_t stored = inspector.LastSequence("JOBS");
    int64_t left_in_jobs = -1;
    WaitFor([&] { return (left_in_jobs = inspector.Count("JOBS")) == 0; }, seconds(30));
    const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
    std::printf(
        "FAULT_RESULT test=%s seed=%llu jobs=%zu published=%zu publish_retries=%zu "
        "jobs_stored=%lld %s work=%zu approvals=%zu denied=%zu rejected=%zu records=%zu "
        "lost=%zu duplicates=%zu duplicates_work=%zu duplicates_approvals=%zu misrouted=%zu "
        "missing_records=%zu unknown=%zu collisions=%zu collisions_swapped=%zu "
        "account_reads=%d seconds=%.1f\n",
        test.c_str(), static_cast<unsigned long long>(knobs_.seed), jobs_.size(), publisher.acked(),
        publisher.retries(), static_cast<long long>(stored), faults.c_str(), ledger.held[kWork],
        ledger.held[kApprovals], ledger.held[kDenied], ledger.held[kRejected], ledger.records,
        ledger.lost, ledger.duplicates, ledger.duplicates_work, ledger.duplicates_approvals,
        ledger.misrouted, ledger.missing_records, ledger.unknown, ledger.collisions,
        ledger.collisions_swapped, account_reads, secs);
    std::fflush(stdout);
    EXPECT_EQ(publisher.acked(), jobs_.size());
    // JOBS stores each job once, but for a retry after a server restart: JOBS is a work
    // queue, a restarted server rebuilds its duplicate map from the messages it still
    // holds, and a job the gate had judged (so removed) before the publisher heard its
    // ack is stored again. Only retries can add a message; the gate takes the second copy
    // as a retry, whose copies WORK and AUDIT drop as duplicates (the ledger below).
    EXPECT_GE(stored, static_cast<int64_t>(jobs_.size()));
    EXPECT_LE(stored - static_cast<int64_t>(jobs_.size()),
              static_cast<int64_t>(publisher.retries()));
    EXPECT_EQ(left_in_jobs, 0);
    std::string problems;
    for (const auto& p : ledger.problems) problems += "  " + p + "\n";
    EXPECT_TRUE(ledger.clean()) << problems;
    EXPECT_EQ(ledger.held[kWork] + ledger.held[kApprovals] + ledger.held[kDenied] +
                  ledger.held[kRejected],
              jobs_.size());
  }

  Knobs knobs_;
  std::mt19937_64 rng_;
  TempDir dir_;
  std::string policy_file_;
  std::vector<JobSpec> jobs_;
  int gates_started_ = 0;
  Clock::time_point started_;
};

TEST_F(FaultTest, GateKilledAtRandomMomentsAccountsForEveryJobOnce) {
  NatsServer server(PermissionsInclude());
  const std::string gate_url = server.url(kGateUser, kGatePassword);
  JetStreamClient inspector(gate_url);
  auto gate = StartGate(gate_url);
  ASSERT_TRUE(gate->WaitReady()) << gate->process().Log();
  Publisher publisher(server.url(kAgentUser, kAgentPassword), &jobs_, knobs_.rate);

  int kills = 0;
  int kills_under_load = 0;
  while (kills < knobs_.kills) {
    // A random moment of the gate's life: start-up included, ready or not.
    std::this_thread::sleep_for(RandomMillis(0, 1500));
    const bool under_load = !publisher.done() || inspector.Consumer().num_pending > 0;
    gate->process().Signal(SIGKILL);
    ASSERT_EQ(gate->process().Wait(), 128 + SIGKILL);
    ++kills;
    kills_under_load += under_load ? 1 : 0;
    gate = StartGate(gate_url);
    if (kills % 3 == 0) {
      // Sometimes only once it is up again; otherwise possibly mid start-up.
      ASSERT_TRUE(gate->WaitReady()) << gate->process().Log();
    }
  }
  ASSERT_TRUE(gate->WaitReady()) << gate->process().Log();
  publisher.Join();
  AccountAndReport(
      "gate_kill", inspector, publisher,
      "kills=" + std::to_string(kills) + " kills_under_load=" + std::to_string(kills_under_load));
  EXPECT_GE(kills_under_load, 1);
}

TEST_F(FaultTest, NatsServerRestartedUnderLoadAccountsForEveryJobOnce) {
  NatsServer server(PermissionsInclude());
  const std::string gate_url = server.url(kGateUser, kGatePassword);
  JetStreamClient inspector(gate_url);
  auto gate = StartGate(gate_url);
  ASSERT_TRUE(gate->WaitReady()) << gate->process().Log();
  Publisher publisher(server.url(kAgentUser, kAgentPassword), &jobs_, knobs_.rate);

  int restarts = 0;
  int sigkills = 0;
  while (restarts < knobs_.restarts) {
    std::this_thread::sleep_for(RandomMillis(200, 2000));
    const int64_t before = std::max<int64_t>(0, inspector.Count("AUDIT", "audit.decisions.>"));
    const bool kill = restarts % 2 == 0;
    server.Stop(kill);
    server.Start();  // same port, same store
    ++restarts;
    sigkills += kill ? 1 : 0;
    // Under load again before the next restart: the gate makes progress (or all is done).
    ASSERT_TRUE(WaitFor(
        [&] {
          const int64_t now = inspector.Count("AUDIT", "audit.decisions.>");
          if (now > before) return true;
          const auto c = inspector.Consumer();
          return publisher.done() && c.ok && c.num_pending == 0 && c.num_ack_pending == 0;
        },
        seconds(60)))
        << gate->process().Log();
  }
  publisher.Join();
  AccountAndReport("nats_restart", inspector, publisher,
                   "restarts=" + std::to_string(restarts) + " sigkill=" + std::to_string(sigkills) +
                       " sigterm=" + std::to_string(restarts - sigkills));
  EXPECT_TRUE(gate->process().running()) << gate->process().Log();
  EXPECT_TRUE(gate->WaitReady()) << gate->process().Log();
}

TEST_F(FaultTest, ClusterNodeKilledUnderLoadAccountsForEveryJobOnce) {
  NatsCluster cluster;
  const std::string gate_url = cluster.url(kGateUser, kGatePassword);
  auto gate = StartGate(gate_url, "streams: {replicas: 3}\n");
  ASSERT_TRUE(gate->WaitReady(seconds(90))) << gate->process().Log();
  JetStreamClient inspector(gate_url);
  const std::vector<std::string> streams = {"JOBS", "WORK", "APPROVALS", "AUDIT"};
  const auto all_replicas_current = [&] {
    for (const std::string& s : streams) {
      const auto c = inspector.Cluster(s);
      if (c.leader.empty() || c.current_replicas != NatsCluster::kNodes - 1) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitFor(all_replicas_current, seconds(60)));
  Publisher publisher(cluster.url(kAgentUser, kAgentPassword), &jobs_, knobs_.rate);

  int node_kills = 0;
  int leader_kills = 0;
  while (node_kills < knobs_.node_kills) {
    std::this_thread::sleep_for(RandomMillis(500, 2000));
    int victim = std::uniform_int_distribution<int>(0, NatsCluster::kNodes - 1)(rng_);
    if (node_kills % 2 == 0) {
      const int leader = cluster.NodeNamed(inspector.Cluster("JOBS").leader);
      if (leader >= 0) {
        victim = leader;
        ++leader_kills;
      }
    }
    std::printf("killing node %s\n", cluster.server_name(victim).c_str());
    cluster.Stop(victim, /*kill=*/true);
    std::this_thread::sleep_for(RandomMillis(500, 3000));  // down for a while, under load
    cluster.Start(victim);
    ++node_kills;
    // Whole again before the next kill: every stream has a leader and current replicas.
    ASSERT_TRUE(WaitFor(all_replicas_current, seconds(90))) << gate->process().Log();
  }
  publisher.Join();
  AccountAndReport(
      "cluster_node_kill", inspector, publisher,
      "node_kills=" + std::to_string(node_kills) + " leader_kills=" + std::to_string(leader_kills));
  EXPECT_TRUE(gate->process().running()) << gate->process().Log();
}

}  // namespace
}  // namespace jobgate::gate
