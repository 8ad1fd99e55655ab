#include "policy/simulate.h"

#include <cstdio>

namespace jobgate::policy {

Simulator::Simulator(const Policy* candidate, const Policy* baseline, size_t examples_per_cell)
    : candidate_(candidate), baseline_(baseline), examples_per_cell_(examples_per_cell) {
  report_.has_baseline = baseline != nullptr;
}

void Simulator::Add(const v1::Job& job) {
  ++report_.jobs;
  candidate_->Evaluate(job, &eval_);
  ++report_.mix[eval_.verdict];
  report_.rule_hits[eval_.deciding_rule < 0
                        ? std::string()
                        : candidate_->rule_id(static_cast<size_t>(eval_.deciding_rule))]++;
  if (baseline_ == nullptr) return;
  baseline_->Evaluate(job, &baseline_eval_);
  ++report_.baseline_mix[baseline_eval_.verdict];
  if (baseline_eval_.verdict == eval_.verdict) return;
  FlipCell& cell = report_.flips[{baseline_eval_.verdict, eval_.verdict}];
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
