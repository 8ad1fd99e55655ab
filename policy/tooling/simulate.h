// Simulation: evaluate a candidate policy (and optionally a baseline) over a set of jobs
// and summarize what would change: the decision mix, and the flip matrix (from -> to
// counts with the first job ids of each cell). Flips toward a less strict decision are
// "loosening" and called out. Used by `jobgate simulate` and by policy publish.
//
// Sessions are replayed: the jobs are taken in order (at their submitted_at, when set), and
// each policy judges a job with the history of its session that its own earlier decisions
// made, as the gate would (policy/session.h): `match.session` conditions and terminated
// sessions behave as they would have.
//
// Pure; the caller times it if it wants throughput. Thread-compatible.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/json.h"
#include "policy/policy.h"

namespace jobgate::policy {

struct FlipCell {
  int64_t count = 0;
  std::vector<std::string> example_job_ids;  // the first few, in input order
};

struct SimulationReport {
  int64_t jobs = 0;
  std::map<v1::Verdict, int64_t> mix;           // candidate's decisions
  std::map<v1::Verdict, int64_t> baseline_mix;  // empty without a baseline
  std::map<std::string, int64_t> rule_hits;     // candidate's matched_rule counts ("" = default)
  // (from baseline, to candidate) -> cell; only cells where the decision changed.
  std::map<std::pair<v1::Verdict, v1::Verdict>, FlipCell> flips;
  bool has_baseline = false;

  int64_t flipped() const;
  int64_t loosened() const;  // flips toward a less strict decision
  double flip_share() const { return jobs == 0 ? 0 : static_cast<double>(flipped()) / jobs; }

  JsonValue ToJson() const;
  std::string ToText() const;
};

// The sessions one policy's decisions built during a simulation.
class SessionReplay {
 public:
  // Evaluates `job` by `policy` with its session's history and records the decision in
  // it. Returns the verdict the gate would enforce (TERMINATE for a terminated session).
  v1::Verdict Judge(const Policy& policy, const v1::Job& job, Evaluation* eval);

 private:
  std::unordered_map<std::string, v1::SessionState> states_;
  int64_t clock_ms_ = 0;
};

// What the simulated jobs are: the jobs as they came (a JSONL file of traffic), or the
// scrubbed copies the audit trail records, whose redaction markers then count as the
// secrets they replaced (Evaluation::markers_are_secrets), so `match.secrets_present`
// judges a copy as it judged the raw job.
enum class JobCopies { kRaw, kScrubbed };

class Simulator {
 public:
  // `baseline` may be null. Both must outlive the simulator.
  Simulator(const Policy* candidate, const Policy* baseline, JobCopies copies = JobCopies::kRaw,
            size_t examples_per_cell = 3);

  void Add(const v1::Job& job);
  const SimulationReport& report() const { return report_; }

 private:
  const Policy* candidate_;
  const Policy* baseline_;
  size_t examples_per_cell_;
  Evaluation eval_;
  Evaluation baseline_eval_;
  SessionReplay candidate_sessions_;
  SessionReplay baseline_sessions_;
  SimulationReport report_;
};

}  // namespace jobgate::policy
