#include "policy/tooling/simulate.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>

#include "policy/session.h"

namespace jobgate::policy {

v1::Verdict SessionReplay::Judge(const Policy& policy, const v1::Job& job, Evaluation* eval) {
  const std::string session = SessionOf(job);
  if (session.empty()) {
    policy.Evaluate(job, eval);
    return eval->verdict;
  }
  // Time moves with the jobs: their submitted_at when set, else a millisecond per job.
  const int64_t submitted =
      job.has_submitted_at()
          ? google::protobuf::util::TimeUtil::TimestampToMilliseconds(job.submitted_at())
          : 0;
  clock_ms_ = std::max(clock_ms_ + 1, submitted);
  auto [it, inserted] = states_.try_emplace(job.tenant_id() + '\x1f' + session);
  v1::SessionState& state = it->second;
  if (inserted) {
    state.set_session(session);
    state.set_status(v1::SessionState::ACTIVE);
  }
  policy.Evaluate(job, SessionContext{&state, clock_ms_}, eval);
  v1::Decision decision;
  decision.set_decision(eval->verdict);
  if (eval->deciding_rule >= 0) {
    decision.set_matched_rule(policy.rule_id(static_cast<size_t>(eval->deciding_rule)));
  }
  if (state.status() == v1::SessionState::TERMINATED) decision.set_decision(v1::TERMINATE);
  const std::vector<std::string> targets =
      IsDenial(decision.decision()) ? JobTargets(job) : std::vector<std::string>();
  RecordDecision(job, decision, targets, clock_ms_, SessionRecording{}, &state);
  return decision.decision();
}

Simulator::Simulator(const Policy* candidate, const Policy* baseline, JobCopies copies,
                     size_t examples_per_cell)
    : candidate_(candidate), baseline_(baseline), examples_per_cell_(examples_per_cell) {
  report_.has_baseline = baseline != nullptr;
  eval_.markers_are_secrets = copies == JobCopies::kScrubbed;
  baseline_eval_.markers_are_secrets = copies == JobCopies::kScrubbed;
}

void Simulator::Add(const v1::Job& job) {
  ++report_.jobs;
  const v1::Verdict verdict = candidate_sessions_.Judge(*candidate_, job, &eval_);
  ++report_.mix[verdict];
  report_.rule_hits[eval_.deciding_rule < 0
                        ? std::string()
                        : candidate_->rule_id(static_cast<size_t>(eval_.deciding_rule))]++;
  if (baseline_ == nullptr) return;
  const v1::Verdict baseline_verdict = baseline_sessions_.Judge(*baseline_, job, &baseline_eval_);
  ++report_.baseline_mix[baseline_verdict];
  if (baseline_verdict == verdict) return;
  FlipCell& cell = report_.flips[{baseline_verdict, verdict}];
  ++cell.count;
  if (cell.example_job_ids.size() < examples_per_cell_)
    cell.example_job_ids.push_back(job.job_id());
}

int64_t SimulationReport::flipped() const {
  int64_t n = 0;
  for (const auto& [_, cell] : flips) n += cell.count;
  return n;
}

int64_t SimulationReport::loosened() const {
  int64_t n = 0;
  for (const auto& [key, cell] : flips) {
    if (IsLoosening(key.first, key.second)) n += cell.count;
  }
  return n;
}

JsonValue SimulationReport::ToJson() const {
  JsonValue out = JsonValue::MakeObject();
  out["jobs"] = JsonValue(jobs);
  auto mix_json = [](const std::map<v1::Verdict, int64_t>& m) {
    JsonValue j = JsonValue::MakeObject();
    for (const auto& [v, n] : m) j[std::string(VerdictName(v))] = JsonValue(n);
    return j;
  };
  out["mix"] = mix_json(mix);
  JsonValue hits = JsonValue::MakeObject();
  for (const auto& [rule, n] : rule_hits) hits[rule.empty() ? "(default)" : rule] = JsonValue(n);
  out["rule_hits"] = std::move(hits);
  if (has_baseline) {
    out["baseline_mix"] = mix_json(baseline_mix);
    JsonValue cells = JsonValue::MakeArray();
    for (const auto& [key, cell] : flips) {
      JsonValue c = JsonValue::MakeObject();
      c["from"] = JsonValue(VerdictName(key.first));
      c["to"] = JsonValue(VerdictName(key.second));
      c["count"] = JsonValue(cell.count);
      c["loosening"] = JsonValue(IsLoosening(key.first, key.second));
      JsonValue ids = JsonValue::MakeArray();
      for (const auto& id : cell.example_job_ids) ids.push_back(JsonValue(id));
      c["example_job_ids"] = std::move(ids);
      cells.push_back(std::move(c));
    }
    out["flips"] = std::move(cells);
    out["flipped"] = JsonValue(flipped());
    out["loosened"] = JsonValue(loosened());
    out["flip_share"] = JsonValue(flip_share());
  }
  return out;
}

std::string SimulationReport::ToText() const {
  std::string out;
  char line[256];
  auto pct = [&](int64_t n) { return jobs == 0 ? 0.0 : 100.0 * static_cast<double>(n) / jobs; };
  std::snprintf(line, sizeof(line), "%lld jobs\n\ndecision mix%s\n", static_cast<long long>(jobs),
                has_baseline ? " (baseline -> candidate)" : "");
  out += line;
  for (int v = v1::TERMINATE; v >= v1::ALLOW; --v) {
    const auto verdict = static_cast<v1::Verdict>(v);
    const auto it = mix.find(verdict);
    const int64_t n = it == mix.end() ? 0 : it->second;
    const auto bit = baseline_mix.find(verdict);
    const int64_t b = bit == baseline_mix.end() ? 0 : bit->second;
    if (n == 0 && b == 0) continue;
    if (has_baseline) {
      std::snprintf(line, sizeof(line), "  %-24s %8lld -> %8lld  (%5.1f%%)\n",
                    std::string(VerdictName(verdict)).c_str(), static_cast<long long>(b),
                    static_cast<long long>(n), pct(n));
    } else {
      std::snprintf(line, sizeof(line), "  %-24s %8lld  (%5.1f%%)\n",
                    std::string(VerdictName(verdict)).c_str(), static_cast<long long>(n), pct(n));
    }
    out += line;
  }
  if (!has_baseline) return out;
  std::snprintf(line, sizeof(line), "\nflips: %lld of %lld jobs (%.2f%%), %lld loosening\n",
                static_cast<long long>(flipped()), static_cast<long long>(jobs),
                100.0 * flip_share(), static_cast<long long>(loosened()));
  out += line;
  for (const auto& [key, cell] : flips) {
    std::string ids;
    for (const auto& id : cell.example_job_ids) ids += (ids.empty() ? "" : ", ") + id;
    std::snprintf(line, sizeof(line), "  %-22s -> %-22s %8lld%s  e.g. %s\n",
                  std::string(VerdictName(key.first)).c_str(),
                  std::string(VerdictName(key.second)).c_str(), static_cast<long long>(cell.count),
                  IsLoosening(key.first, key.second) ? "  LOOSENING" : "", ids.c_str());
    out += line;
  }
  return out;
}

}  // namespace jobgate::policy
