// NatsKvSessionStore: the production SessionStore (gate/sessions.h), a JetStream KV bucket
// watched into memory. nats.c stays in the .cc. Thread-safe.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "gate/sessions.h"

namespace jobgate::gate {

class NatsConnection;

// JetStream KV bucket `bucket` (history 1, max age `idle`): key SessionStoreKey -> the
// serialized SessionState. A watcher on the whole bucket keeps the in-memory copy
// current; it is re-created when it ends.
class NatsKvSessionStore final : public SessionStore {
 public:
  // Opens the bucket (creating it when missing) and waits for the initial state.
  // `connection` and `clock` must outlive the store.
  static Result<std::unique_ptr<NatsKvSessionStore>> Open(NatsConnection* connection,
                                                          const Clock* clock,
                                                          const SessionStoreOptions& options);
  ~NatsKvSessionStore() override;
  SessionPtr Find(std::string_view tenant_id, std::string_view session) const override;
  Result<SessionPtr> Update(std::string_view tenant_id, std::string_view session,
                            const SessionMutation& mutate) override;
  // Publishes every write asynchronously with its compare-and-set header, waits for the
  // acks together, and falls back to Update for any write not acknowledged.
  void UpdateMany(std::span<const SessionWrite> writes,
                  std::vector<Result<SessionPtr>>* out) override;
  std::vector<SessionPtr> List() const override;
  Status Ready() const override;

 private:
  struct Impl;  // nats.c handles and the watch thread (gate/nats/nats_sessions.cc)
  explicit NatsKvSessionStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobgate::gate
