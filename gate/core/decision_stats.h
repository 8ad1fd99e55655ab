// Decisions of the last hour, counted per minute and per outcome, for the approvers'
// page (GET /api/v1/stats). The page cannot query Prometheus; this keeps what it shows.
//
// A fixed ring of 60 one-minute buckets indexed by the wall-clock minute of the
// Clock's UnixMillis: bucket (minute % 60) holds the counts of that minute, and a bucket
// whose minute is older than the current one when it is written to or read is treated
// as zero. Memory is fixed; nothing grows with traffic. Counts are of this gate process
// (per replica): replicas do not share them.
//
// Outcomes: the eight verdicts (v1::Verdict ALLOW .. TERMINATE), and kRejected for
// messages refused before judgement (audit.rejected).
//
// Ownership: borrows the clock (must outlive it).
// Thread-safety: Add and Read are thread-safe. Add is meant to be called once per
// dispatched batch (DecisionCounts accumulates a batch without any lock); it takes one
// mutex, so dispatch threads meet at most once per batch.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/mutex.h"
#include "gate/core/bus.h"

namespace jobgate::gate {

// Per-outcome counts: index a v1::Verdict value (1..8), or kRejected.
struct DecisionCounts {
  static constexpr int kRejected = 9;
  static constexpr int kOutcomes = 10;  // index 0 (unspecified) stays unused
  std::array<uint64_t, kOutcomes> counts{};

  void Add(int outcome, uint64_t n = 1) {
    if (outcome > 0 && outcome < kOutcomes) counts[outcome] += n;
  }
  uint64_t Total() const;
  bool Empty() const { return Total() == 0; }
};

// The name of an outcome index in JSON: the verdict's name, or "REJECTED".
std::string_view OutcomeName(int outcome);

class DecisionStats {
 public:
  static constexpr int kMinutes = 60;

  explicit DecisionStats(const Clock* clock) : clock_(clock) {}
  DecisionStats(const DecisionStats&) = delete;
  DecisionStats& operator=(const DecisionStats&) = delete;

  // Adds `batch` to the current minute's bucket.
  void Add(const DecisionCounts& batch);

  struct Minute {
    int64_t start_unix_ms = 0;  // the minute's first millisecond
    DecisionCounts counts;
  };
  struct Snapshot {
    int64_t now_unix_ms = 0;
    // The current minute last: kMinutes entries, oldest first, zero where nothing was
    // counted.
    std::array<Minute, kMinutes> minutes;
    DecisionCounts totals;  // over the whole window
    // Decisions per second over the last 60 s: the current minute's count plus the
    // previous minute's weighted by the part of it still inside those 60 s, over 60.
    double per_second_last_minute = 0;
    // Over the window (the current minute and the 59 before it), over 3600 s.
    double per_second_last_hour = 0;
  };
  Snapshot Read() const;

 private:
  struct Bucket {
    int64_t minute = -1;  // minutes since the epoch of what `counts` holds
    DecisionCounts counts;
  };

  const Clock* const clock_;
  mutable Mutex mutex_;
  std::array<Bucket, kMinutes> ring_ GUARDED_BY(mutex_);
};

}  // namespace jobgate::gate
