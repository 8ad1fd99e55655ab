// Test doubles for the dispatcher's seams (gate/core/bus.h): an in-memory Bus that records
// what was published, acked and nak'ed, and a Clock the test moves by hand.
// Not thread-safe; one test thread drives them.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gate/core/bus.h"

namespace jobgate::testing {

class FakeClock final : public gate::Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now_; }
  int64_t UnixMillis() const override { return unix_ms_; }
  void Advance(std::chrono::milliseconds d) {
    now_ += d;
    unix_ms_ += d.count();
  }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
  int64_t unix_ms_ = 1'790'000'000'000;
};

// What happened to one inbound message.
struct Settlement {
  enum class Kind { kNone, kAck, kNak } kind = Kind::kNone;
  std::chrono::milliseconds delay{0};
};

class FakeBus final : public gate::Bus {
 public:
  // Queues a message; returns its index for settlement().
  size_t Enqueue(std::string subject, std::string data,
                 std::map<std::string, std::string> headers = {});

  Status Fetch(int max_messages, std::chrono::milliseconds timeout,
               gate::InboundBatch* out) override;
  void PublishBatch(std::span<const gate::OutboundMessage> messages,
                    std::chrono::milliseconds timeout, std::vector<Status>* results) override;

  // Publishes to subjects for which this returns true fail.
  std::function<bool(const std::string& subject)> fail_publish;
  // Messages fetched while this is set say they were delivered before.
  bool mark_redelivered = false;
  // Fetch fails with this when not OK.
  Status fetch_error;
  // Runs inside Fetch before messages are handed out: what happens while a real fetch
  // waits for messages (a policy swap, say).
  std::function<void()> during_fetch;

  const std::vector<gate::OutboundMessage>& published() const { return published_; }
  std::vector<const gate::OutboundMessage*> PublishedOn(const std::string& prefix) const;
  const Settlement& settlement(size_t index) const { return settlements_[index]; }
  size_t queued() const { return queue_.size(); }

 private:
  struct Stored {
    size_t index;
    std::string subject;
    std::string data;
    std::map<std::string, std::string> headers;
  };
  std::deque<Stored> queue_;
  std::deque<Settlement> settlements_;  // deque: pointers to elements stay valid
  std::vector<gate::OutboundMessage> published_;
  // Msg ids already stored: JetStream's duplicate window.
  std::map<std::string, bool> seen_ids_;
};

}  // namespace jobgate::testing
