// The production DeferredStore (gate/core/deferred.h): the gate's deferred JetStream stream.
//
// Parked jobs are stored on `<prefix>.<key token>`; the store lists the key tokens with
// their counts (stream info with a subjects filter), reads a key's jobs in stream order
// (direct get, next message by subject: the stream must allow direct get, which
// NatsConnection::EnsureStream sets when the spec asks for it) and removes a routed job
// by sequence. No nats.c type appears here.
//
// Ownership: borrows the connection (which must outlive it), owns its JetStream context.
// Thread-safety: one thread at a time (the scheduler's).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gate/core/deferred.h"
#include "gate/nats/nats_bus.h"

struct __jsCtx;

namespace jobgate::gate {

class NatsDeferredStore final : public DeferredStore {
 public:
  // `stream` holds the subjects `<prefix>.>`.
  static Result<std::unique_ptr<NatsDeferredStore>> Open(NatsConnection* connection,
                                                         std::string stream, std::string prefix);
  ~NatsDeferredStore() override;

  Result<std::vector<KeyBacklog>> Backlog() override;
  Result<ParkedJob> Next(std::string_view key, uint64_t from) override;
  Status Remove(uint64_t sequence) override;

 private:
  NatsDeferredStore() = default;
  // Whether the message at `sequence` is still stored.
  Result<bool> Exists(uint64_t sequence);

  __jsCtx* js_ = nullptr;  // owned
  std::string stream_;
  std::string prefix_;  // with its trailing dot
};

}  // namespace jobgate::gate
