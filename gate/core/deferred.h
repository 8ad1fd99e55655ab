// Deferral of over-rate THROTTLE jobs: where they wait, and how they come back.
//
// A job over its rate does not stay pending on the job consumer (where a flood on one key
// would fill the consumer's ack window and stop every other key). The dispatcher parks it
// instead: it publishes the job's original bytes to `<deferred prefix>.<key token>`, a
// subject of the gate's own deferred stream, with its arrival subject and content type in
// headers, and acks the job only once the stream stored the park. A park that fails
// leaves the job nak'ed on the job consumer, as a publish failure does: never an allow.
//
// DeferredScheduler brings parked jobs back. It is a Bus: a second Dispatcher fetches
// from it, so every parked job is re-judged through the same path as a new one, bound to
// its arrival subject. Each Fetch serves the keys with a backlog round robin, at most a
// quantum of jobs per key and fetch, skipping keys whose rate has no token due yet. A
// re-judged job that is routed is removed from the stream (its Ack); one still over its
// rate stays parked and its key waits for the delay its nak names (its NakWithDelay).
// The key's quantum doubles while its jobs are admitted and falls back to one when one
// is not, so a key draining at a high rate costs few round trips per job and one over
// rate costs one probe per due time.
//
// Never dropped: a parked job leaves the stream only through the Ack of a re-judged copy
// whose publishes were all stored. Never duplicated: parks carry the Nats-Msg-Id
// MessageId(tenant, job, "park"), re-injected jobs publish under the same msg ids as any
// dispatch of that job, so a job parked or re-judged twice (a redelivery, two replicas
// reading the same head) is stored once inside the stream's duplicate window.
//
// At rest a parked job is sealed when the gate has a key (DispatcherSeams::park_sealer),
// and opened here before it is re-judged.
//
// Ownership: the scheduler borrows its store, publisher and clock; all must outlive it
// and every message it hands out. Thread-safety: one thread drives a scheduler and the
// messages it fetched (the Bus contract); the store is used from that thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gate/core/bus.h"
#include "gate/core/job_sealer.h"
#include "base/status.h"
#include "subjects/headers.h"

namespace jobgate::gate {

// Headers a parked job carries besides Nats-Msg-Id.
inline constexpr char kContentTypeHeader[] = "Content-Type";

// The subject token a rate's bucket parks under: 32 hex digits of SHA-256 over the rule
// (length-prefixed) and the key value, so neither a raw key value nor anything it
// carries reaches a subject.
std::string DeferredKeyToken(std::string_view rule, std::string_view key_value);

// One parked job as the deferred stream holds it.
struct ParkedJob {
  uint64_t sequence = 0;        // in the deferred stream
  std::string arrival_subject;  // the job subject it was published on
  std::string content_type;     // its Content-Type header ("" when it had none)
  std::string data;             // its original bytes, or them sealed
  std::string msg_id;           // its Nats-Msg-Id (what a sealed job is bound to)
  std::string sealed_key_id;    // the key that sealed `data`; "": stored as it came
};

// The deferred stream, as the scheduler sees it. Production: NatsDeferredStore
// (gate/nats/nats_deferred.h).
class DeferredStore {
 public:
  virtual ~DeferredStore() = default;

  // Every key token with parked jobs, and how many each holds.
  struct KeyBacklog {
    std::string key;
    uint64_t count = 0;
  };
  virtual Result<std::vector<KeyBacklog>> Backlog() = 0;
  // The oldest job parked under `key` at stream sequence `from` or later; kNotFound when
  // there is none.
  virtual Result<ParkedJob> Next(std::string_view key, uint64_t from) = 0;
  // Removes the job at `sequence`. Removing one already gone (another replica routed it)
  // is OK.
  virtual Status Remove(uint64_t sequence) = 0;
};

struct DeferredSchedulerOptions {
  // How often the list of keys with a backlog is read again.
  std::chrono::milliseconds refresh_interval{250};
  // The most jobs one key contributes to one fetch.
  int max_quantum = 256;
  // Opens parked jobs that were sealed (borrowed; null: none can be opened). A sealed job
  // that does not open stays parked and its key waits a refresh interval: a replica
  // holding the key routes it.
  const JobSealer* sealer = nullptr;
};

class DeferredScheduler final : public Bus {
 public:
  // `publisher` carries the re-judged jobs' publishes (PublishBatch is forwarded).
  // `wait` pauses Fetch when no key is due (a real sleep by default; tests pass a fake).
  DeferredScheduler(DeferredStore* store, Bus* publisher, const Clock* clock,
                    DeferredSchedulerOptions options = {},
                    std::function<void(std::chrono::milliseconds)> wait = {});

  // Parked jobs of the keys that are due, round robin from where the last fetch stopped.
  // When none is due, waits until the next key is (at most `timeout`) and returns OK with
  // nothing. A store error is returned only when nothing was fetched.
  Status Fetch(int max_messages, std::chrono::milliseconds timeout, InboundBatch* out) override;
  void PublishBatch(std::span<const OutboundMessage> messages, std::chrono::milliseconds timeout,
                    std::vector<Status>* results) override;

  // Parked jobs in the last backlog read.
  uint64_t backlog() const { return backlog_; }

 private:
  class Reinjected;
  struct KeyState {
    std::chrono::steady_clock::time_point not_before{};
    // Parked jobs as of the last backlog read, less those routed since: a key read dry
    // is not asked again until the next read (which also brings jobs parked since).
    uint64_t parked = 0;
    int quantum = 1;
    int taken = 0;     // jobs handed out at the key's last serving
    int admitted = 0;  // of those, routed; -1 once one was nak'ed
  };

  Status RefreshBacklog(std::chrono::steady_clock::time_point now);
  // Appends up to `limit` jobs of `key`; false when the store failed.
  bool TakeFrom(const std::string& key, int limit, InboundBatch* out, Status* error);
  // Opens a sealed `job` in place; false (logged) when it cannot be opened.
  bool Unseal(ParkedJob* job) const;
  // Outcomes the re-injected messages report.
  Status Admitted(const std::string& key, uint64_t sequence);
  void Deferred(const std::string& key, std::chrono::milliseconds delay);

  DeferredStore* const store_;
  Bus* const publisher_;
  const Clock* const clock_;
  const DeferredSchedulerOptions options_;
  const std::function<void(std::chrono::milliseconds)> wait_;

  std::vector<std::string> keys_;  // with a backlog, in the order of the last read
  std::unordered_map<std::string, KeyState> states_;
  size_t cursor_ = 0;  // index into keys_ of the key served first next time
  uint64_t backlog_ = 0;
  std::chrono::steady_clock::time_point next_refresh_{};
};

}  // namespace jobgate::gate
