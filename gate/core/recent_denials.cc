#include "gate/core/recent_denials.h"

#include <algorithm>

namespace jobgate::gate {

v1::DecisionRecord RecentDenials::Trimmed(const v1::DecisionRecord& record) {
  v1::DecisionRecord out;
  *out.mutable_decision() = record.decision();
  out.set_subject(record.subject());
  out.set_routed_to(record.routed_to());
  const v1::Job& job = record.job();
  v1::Job* kept = out.mutable_job();
  kept->set_job_id(job.job_id());
  kept->set_tenant_id(job.tenant_id());
  kept->set_topic(job.topic());
  kept->set_capability(job.capability());
  kept->set_environment(job.environment());
  *kept->mutable_risk_tags() = job.risk_tags();
  *kept->mutable_actor() = job.actor();
  if (job.has_submitted_at()) *kept->mutable_submitted_at() = job.submitted_at();
  return out;
}

void RecentDenials::Add(std::vector<v1::DecisionRecord>* records) {
  if (records->empty()) return;
  MutexLock lock(&mutex_);
  for (auto& record : *records) {
    if (records_.size() == capacity_) records_.pop_front();
    records_.push_back(std::move(record));
  }
  records->clear();
}

std::vector<v1::DecisionRecord> RecentDenials::Newest(size_t limit) const {
  MutexLock lock(&mutex_);
  std::vector<v1::DecisionRecord> out;
  const size_t n = std::min(limit, records_.size());
  out.reserve(n);
  for (auto it = records_.rbegin(); it != records_.rend() && out.size() < n; ++it) {
    out.push_back(*it);
  }
  return out;
}

}  // namespace jobgate::gate
