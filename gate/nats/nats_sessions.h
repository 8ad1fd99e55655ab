// NatsSessionLog: the production SessionStore (gate/core/sessions.h), a JetStream stream of
// session changes that every replica folds into memory. nats.c stays in the .cc.
// Thread-safe.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "gate/core/sessions.h"

namespace jobgate::gate {

class NatsConnection;

// Stream `options.stream` (subject `options.subject`, changes kept `idle`): one
// jobgate.v1.SessionChanges message per Apply (more when a batch's changes would not fit
// one). An ordered consumer from the stream's first message folds every message, in
// stream order, into the in-memory copy; it is re-created where it stopped when it ends.
// A session's revision is the stream sequence of the message that last changed it.
class NatsSessionLog final : public SessionStore {
 public:
  // Creates the stream when missing, then folds it up to its last message before
  // returning. `connection` and `clock` must outlive the store.
  static Result<std::unique_ptr<NatsSessionLog>> Open(NatsConnection* connection,
                                                      const Clock* clock,
                                                      const SessionStoreOptions& options);
  ~NatsSessionLog() override;
  SessionPtr FindKey(const std::string& key) const override;
  // Publishes the changes (one message, awaiting the stream's ack), then waits until the
  // fold has reached that message, so the answers include every change before it.
  void Apply(std::span<const v1::SessionChange> changes,
             std::vector<Result<SessionPtr>>* out) override;
  std::vector<SessionPtr> List() const override;
  Status Ready() const override;

 private:
  struct Impl;  // nats.c handles and the fold thread (gate/nats/nats_sessions.cc)
  explicit NatsSessionLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobgate::gate
