#include "gate/core/deferred.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "base/hash.h"

namespace jobgate::gate {

std::string DeferredKeyToken(std::string_view rule, std::string_view key_value) {
  // The rule's length first: no rule and key value pair reads as another.
  const std::string rule_length = std::to_string(rule.size());
  unsigned char digest[jobgate::kSha256Bytes];
  jobgate::Sha256({"jobgate-deferred-key:", rule_length, ":", rule, key_value}, digest);
  std::string token;
  jobgate::AppendHex(digest, 16, &token);
  return token;
}

// A parked job handed to the re-judging dispatcher: its subject is the arrival subject;
// Ack removes it from the deferred stream, NakWithDelay leaves it parked and pauses its
// key.
class DeferredScheduler::Reinjected final : public InboundMessage {
 public:
  Reinjected(DeferredScheduler* scheduler, std::string key, ParkedJob job)
      : scheduler_(scheduler), key_(std::move(key)), job_(std::move(job)) {}

  std::string_view subject() const override { return job_.arrival_subject; }
  std::string_view data() const override { return job_.data; }
  std::string_view header(std::string_view key) const override {
    return key == kContentTypeHeader ? std::string_view(job_.content_type) : std::string_view();
  }
  uint64_t stream_sequence() const override { return job_.sequence; }
  Status Ack() override { return scheduler_->Admitted(key_, job_.sequence); }
  Status NakWithDelay(std::chrono::milliseconds delay) override {
    scheduler_->Deferred(key_, delay);
    return Status::Ok();
  }

 private:
  DeferredScheduler* const scheduler_;
  const std::string key_;
  const ParkedJob job_;
};

DeferredScheduler::DeferredScheduler(DeferredStore* store, Bus* publisher, const Clock* clock,
                                     DeferredSchedulerOptions options,
                                     std::function<void(std::chrono::milliseconds)> wait)
    : store_(store),
      publisher_(publisher),
      clock_(clock),
      options_(options),
      wait_(wait ? std::move(wait)
                 : [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }) {}

Status DeferredScheduler::RefreshBacklog(std::chrono::steady_clock::time_point now) {
  auto backlog = store_->Backlog();
  if (!backlog.ok()) return backlog.status();
  // The key served last, so the rotation continues after it in the new list.
  const std::string last_served =
      keys_.empty() ? std::string() : keys_[(cursor_ + keys_.size() - 1) % keys_.size()];
  keys_.clear();
  backlog_ = 0;
  for (const DeferredStore::KeyBacklog& entry : *backlog) {
    if (entry.count == 0) continue;
    keys_.push_back(entry.key);
    states_[entry.key].parked = entry.count;
    backlog_ += entry.count;
  }
  std::sort(keys_.begin(), keys_.end());
  cursor_ = keys_.empty()
                ? 0
                : static_cast<size_t>(std::upper_bound(keys_.begin(), keys_.end(), last_served) -
                                      keys_.begin()) %
                      keys_.size();
  // Forget keys whose backlog is gone (their pause and quantum no longer matter).
  std::erase_if(states_, [this](const auto& entry) {
    return !std::binary_search(keys_.begin(), keys_.end(), entry.first);
  });
  next_refresh_ = now + options_.refresh_interval;
  return Status::Ok();
}

bool DeferredScheduler::TakeFrom(const std::string& key, int limit, InboundBatch* out,
                                 Status* error) {
  uint64_t from = 1;
  for (int taken = 0; taken < limit; ++taken) {
    Result<ParkedJob> job = store_->Next(key, from);
    if (!job.ok()) {
      if (job.status().code() == StatusCode::kNotFound) {
        // Drained (here or by another replica): nothing to ask for until the next read.
        states_[key].parked = 0;
        return true;
      }
      *error = job.status();
      return false;
    }
    from = job->sequence + 1;
    if (!job->sealed_key_id.empty() && !Unseal(&*job)) {
      // Not for this replica's keys: the key's later jobs wait behind it, as they would
      // behind a job still over its rate.
      states_[key].not_before = clock_->Now() + options_.refresh_interval;
      return true;
    }
    out->push_back(std::make_unique<Reinjected>(this, key, std::move(job).value()));
  }
  return true;
}

bool DeferredScheduler::Unseal(ParkedJob* job) const {
  if (options_.sealer == nullptr) {
    spdlog::error("parked job #{} is sealed (key {}) and this gate has no key to open it; "
                  "left parked", job->sequence, job->sealed_key_id);
    return false;
  }
  auto plain = options_.sealer->Open(job->sealed_key_id, job->data, job->msg_id);
  if (!plain.ok()) {
    spdlog::error("parked job #{} does not open: {}; left parked", job->sequence,
                  plain.status().ToString());
    return false;
  }
  job->data = std::move(*plain);
  job->sealed_key_id.clear();
  return true;
}

Status DeferredScheduler::Fetch(int max_messages, std::chrono::milliseconds timeout,
                                InboundBatch* out) {
  auto now = clock_->Now();
  if (now >= next_refresh_) JOBGATE_RETURN_IF_ERROR(RefreshBacklog(now));
  const size_t first = out->size();
  const size_t limit = static_cast<size_t>(std::max(1, max_messages));
  const size_t n = keys_.size();
  Status error;
  size_t served = n;  // index of the last key served, n when none was
  for (size_t i = 0; i < n && out->size() - first < limit; ++i) {
    const size_t index = (cursor_ + i) % n;
    KeyState& state = states_[keys_[index]];
    if (state.not_before > now || state.parked == 0) continue;
    // The last serving's outcome: all admitted doubles the quantum (a nak reset it).
    if (state.taken > 0 && state.admitted == state.taken) {
      state.quantum = std::min(state.quantum * 2, options_.max_quantum);
    }
    state.taken = 0;
    state.admitted = 0;
    const uint64_t room = limit - (out->size() - first);
    const uint64_t quantum = std::min<uint64_t>({uint64_t(state.quantum), room, state.parked});
    served = index;
    const size_t before = out->size();
    const bool ok = TakeFrom(keys_[index], static_cast<int>(quantum), out, &error);
    state.taken = static_cast<int>(out->size() - before);
    if (!ok) break;
  }
  if (served < n) cursor_ = (served + 1) % n;
  if (out->size() > first) return Status::Ok();
  if (!error.ok()) return error;

  // Nothing due: wait for the earliest key, the next backlog read or the timeout.
  auto until = std::min(next_refresh_, now + timeout);
  for (const std::string& key : keys_) {
    const KeyState& state = states_[key];
    if (state.parked > 0 && state.not_before > now) until = std::min(until, state.not_before);
  }
  if (until > now) {
    wait_(std::chrono::ceil<std::chrono::milliseconds>(until - now));
  }
  return Status::Ok();
}

void DeferredScheduler::PublishBatch(std::span<const OutboundMessage> messages,
                                     std::chrono::milliseconds timeout,
                                     std::vector<Status>* results) {
  publisher_->PublishBatch(messages, timeout, results);
}

Status DeferredScheduler::Admitted(const std::string& key, uint64_t sequence) {
  JOBGATE_RETURN_IF_ERROR(store_->Remove(sequence));
  KeyState& state = states_[key];
  ++state.admitted;
  if (state.parked > 0) --state.parked;
  if (backlog_ > 0) --backlog_;
  return Status::Ok();
}

void DeferredScheduler::Deferred(const std::string& key, std::chrono::milliseconds delay) {
  KeyState& state = states_[key];
  state.not_before = std::max(state.not_before, clock_->Now() + delay);
  state.quantum = 1;
  state.admitted = -1;  // not all admitted: no growth at the next serving
}

}  // namespace jobgate::gate
