// The seams between the dispatcher and the world: the message bus and the clock.
//
// The dispatcher (gate/core/dispatcher.h) only sees these interfaces. Production hands in
// NatsBus (gate/nats/nats_bus.h, JetStream through nats.c) and SystemClock; unit tests hand
// in fakes. Errors cross these interfaces as jobgate::Status, never as exceptions or
// library status codes.
//
// Ownership: the caller owns the Bus and Clock and keeps them alive longer than anything
// that uses them. An InboundMessage is owned by whoever fetched it.
// Thread-safety: a Bus is used by one dispatcher thread at a time (Fetch, PublishBatch,
// and the InboundMessage calls are not reentrant). A Clock is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace jobgate::gate {

// One message delivered by the job consumer. Exactly one of Ack/NakWithDelay should be
// called; a message dropped without either is redelivered after the consumer's AckWait.
class InboundMessage {
 public:
  virtual ~InboundMessage() = default;

  virtual std::string_view subject() const = 0;
  virtual std::string_view data() const = 0;
  // Value of header `key`, or "" when absent.
  virtual std::string_view header(std::string_view key) const = 0;
  // Position in the job stream; stable across redeliveries (0 when unknown).
  virtual uint64_t stream_sequence() const = 0;
  // Whether the stream delivered this message before (false when unknown).
  virtual bool redelivered() const { return false; }

  // Tells the stream the message is done with.
  virtual Status Ack() = 0;
  // Asks the stream to redeliver the message after `delay`.
  virtual Status NakWithDelay(std::chrono::milliseconds delay) = 0;
};

using InboundBatch = std::vector<std::unique_ptr<InboundMessage>>;

// One message to publish to JetStream.
struct OutboundMessage {
  std::string subject;
  // Nats-Msg-Id: the stream drops a second message with the same id inside its
  // duplicate window, which is what makes redelivery safe.
  std::string msg_id;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Nats-Msg-Id
  std::string body;
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Appends up to `max_messages` to `out`, waiting at most `timeout` for the first one.
  // Returns OK with nothing appended when nothing arrived in time.
  virtual Status Fetch(int max_messages, std::chrono::milliseconds timeout, InboundBatch* out) = 0;

  // Publishes every message asynchronously, then waits up to `timeout` for JetStream to
  // acknowledge each. On return (*results)[i] is messages[i]'s fate: OK once the stream
  // stored it (or recognised it as a duplicate), an error otherwise. A message that
  // timed out may still be stored later; its msg_id makes a retry harmless.
  virtual void PublishBatch(std::span<const OutboundMessage> messages,
                            std::chrono::milliseconds timeout, std::vector<Status>* results) = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // For intervals and rates.
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // Wall-clock time for records, in milliseconds since the Unix epoch.
  virtual int64_t UnixMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  int64_t UnixMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace jobgate::gate
