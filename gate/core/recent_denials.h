// The last denied and terminated decisions of this gate process, for the approvers'
// page (GET /api/v1/denials).
//
// Holds the decision records the gate published on audit.decisions (already scrubbed of
// secrets: gate/core/dispatcher.h), trimmed to what identifies a denial: the job keeps its
// ids, topic, tenant, capability, environment and actor, not its args, payload or
// labels, so the ring's memory is bounded by `capacity` small records whatever the jobs
// carried. The oldest record is dropped when a new one would exceed `capacity`. Per
// replica: replicas do not share it.
//
// Thread-safety: Add and Newest are thread-safe; Add takes one mutex per call and is
// meant to be called once per dispatched batch with that batch's denials.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "base/mutex.h"
#include "jobgate/v1/jobgate.pb.h"

namespace jobgate::gate {

class RecentDenials {
 public:
  static constexpr size_t kDefaultCapacity = 50;

  explicit RecentDenials(size_t capacity = kDefaultCapacity)
      : capacity_(capacity == 0 ? 1 : capacity) {}
  RecentDenials(const RecentDenials&) = delete;
  RecentDenials& operator=(const RecentDenials&) = delete;

  // The trimmed copy of `record` that the ring keeps.
  static v1::DecisionRecord Trimmed(const v1::DecisionRecord& record);

  // Appends `records` (oldest first, already trimmed) and moves them out of the vector.
  void Add(std::vector<v1::DecisionRecord>* records);

  // Up to `limit` records, newest first.
  std::vector<v1::DecisionRecord> Newest(size_t limit) const;

  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable Mutex mutex_;
  std::deque<v1::DecisionRecord> records_ GUARDED_BY(mutex_);  // oldest first
};

}  // namespace jobgate::gate
