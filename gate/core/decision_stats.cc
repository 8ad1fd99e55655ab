#include "gate/core/decision_stats.h"

#include "policy/policy.h"

namespace jobgate::gate {

namespace {

constexpr int64_t kMinuteMs = 60'000;

int64_t MinuteOf(int64_t unix_ms) {
  return unix_ms >= 0 ? unix_ms / kMinuteMs : (unix_ms - kMinuteMs + 1) / kMinuteMs;
}

size_t SlotOf(int64_t minute) {
  const int64_t n = DecisionStats::kMinutes;
  return static_cast<size_t>(((minute % n) + n) % n);
}

}  // namespace

uint64_t DecisionCounts::Total() const {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  return total;
}

std::string_view OutcomeName(int outcome) {
  if (outcome == DecisionCounts::kRejected) return "REJECTED";
  return policy::VerdictName(static_cast<v1::Verdict>(outcome));
}

void DecisionStats::Add(const DecisionCounts& batch) {
  if (batch.Empty()) return;
  const int64_t minute = MinuteOf(clock_->UnixMillis());
  MutexLock lock(&mutex_);
  Bucket& bucket = ring_[SlotOf(minute)];
  if (bucket.minute != minute) {
    // The slot held a minute an hour or more ago (or nothing): start it afresh.
    bucket.minute = minute;
    bucket.counts = DecisionCounts{};
  }
  for (int i = 0; i < DecisionCounts::kOutcomes; ++i) bucket.counts.counts[i] += batch.counts[i];
}

DecisionStats::Snapshot DecisionStats::Read() const {
  Snapshot out;
  out.now_unix_ms = clock_->UnixMillis();
  const int64_t current = MinuteOf(out.now_unix_ms);
  {
    MutexLock lock(&mutex_);
    for (int i = 0; i < kMinutes; ++i) {
      const int64_t minute = current - (kMinutes - 1) + i;
      Minute& m = out.minutes[i];
      m.start_unix_ms = minute * kMinuteMs;
      const Bucket& bucket = ring_[SlotOf(minute)];
      if (bucket.minute == minute) m.counts = bucket.counts;
    }
  }
  for (const Minute& m : out.minutes) {
    for (int i = 0; i < DecisionCounts::kOutcomes; ++i) out.totals.counts[i] += m.counts.counts[i];
  }
  const double into_minute =
      static_cast<double>(out.now_unix_ms - current * kMinuteMs) / static_cast<double>(kMinuteMs);
  const double last = static_cast<double>(out.minutes[kMinutes - 1].counts.Total());
  const double previous = static_cast<double>(out.minutes[kMinutes - 2].counts.Total());
  out.per_second_last_minute = (last + previous * (1.0 - into_minute)) / 60.0;
  out.per_second_last_hour = static_cast<double>(out.totals.Total()) / 3600.0;
  return out;
}

}  // namespace jobgate::gate
