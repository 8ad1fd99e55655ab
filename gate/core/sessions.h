// Session state shared by every replica: what each agent session did, and whether it was
// terminated.
//
// A session is (tenant, policy::SessionOf(job)): the job's actor.session_id, or its
// actor.agent_id when it has none. Its state (jobgate.v1.SessionState) holds its status
// (ACTIVE, or TERMINATED with who, why, when and under which snapshot) and its notable
// decisions of the last window (policy/session.h), which `match.session` conditions read.
//
// The state is a fold of a log of changes (jobgate.v1.SessionChange: a judged job's
// notable decision, an operator's terminate or restore). A SessionStore appends changes
// where every replica reads them and keeps the fold in memory: the hot path (Find) reads
// that copy and never waits for the store; a batch's changes are appended together, as
// one write (Apply). Every replica folds the same log in the same order with
// policy::ApplySessionChange, at each change's own time, so all reach the same state and
// concurrent writers never lose a change. Sessions expire after `idle` without a change:
// the state does not grow without bound.
//
// Fail closed: Ready() says whether the copy can be trusted (the store answered its
// initial state and has been reachable within the grace period); the dispatcher fetches
// no job while it cannot.
//
// Ownership: stores are owned by their caller. Thread-safety: every method of a store is
// thread-safe; states handed out are immutable snapshots.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "gate/core/bus.h"
#include "policy/session.h"
#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::gate {


struct SessionStoreOptions {
  // The session log: a stream of SessionChanges messages on `subject`.
  std::string stream = "JOBGATE_SESSIONS";
  std::string subject = "jobgate.sessions.changes";
  // A session without a change for this long is forgotten (and the log keeps changes
  // this long).
  std::chrono::milliseconds idle{24LL * 3600 * 1000};
  // Events older than this are dropped from a session's state on its next change;
  // `match.session` windows longer than it see no more than it keeps.
  std::chrono::milliseconds keep{3600 * 1000};
  size_t max_events = 64;
  // How long the store may be unreachable before Ready() fails.
  std::chrono::milliseconds grace{10'000};
  int replicas = 1;
  bool memory_storage = false;
  std::chrono::milliseconds timeout{5000};
};

// The key of a session in the in-memory copy: the tenant's length in decimal, ':', the
// tenant, then the session. Distinct for distinct (tenant, session) pairs whatever the
// ids hold; never stored or sent.
std::string SessionStoreKey(std::string_view tenant_id, std::string_view session);

using SessionPtr = std::shared_ptr<const v1::SessionState>;

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // The in-memory copy of the session's state, or null when the session is unknown.
  SessionPtr Find(std::string_view tenant_id, std::string_view session) const {
    return FindKey(SessionStoreKey(tenant_id, session));
  }
  // Find by SessionStoreKey, for a caller that made the key already.
  virtual SessionPtr FindKey(const std::string& key) const = 0;
  // Appends `changes`, in order, and folds them. (*out)[i] is the state of changes[i]'s
  // session once the whole batch is folded, or why the change may not have been stored
  // (the caller retries: a decision folded twice counts once).
  virtual void Apply(std::span<const v1::SessionChange> changes,
                     std::vector<Result<SessionPtr>>* out) = 0;
  // Every session in the in-memory copy.
  virtual std::vector<SessionPtr> List() const = 0;
  // OK when the in-memory copy is current enough to judge by.
  virtual Status Ready() const = 0;
};

// The recording limits a store folds with (the same on every replica of a deployment).
policy::SessionRecording RecordingOf(const SessionStoreOptions& options);

// The in-memory copy both stores keep: key -> newest state folded (by revision),
// dropping sessions idle past their expiry.
class SessionCache {
 public:
  // Folds `change` (a change of the log at `revision`) into the session it names.
  void Fold(const v1::SessionChange& change, uint64_t revision,
            const policy::SessionRecording& recording);
  void Erase(const std::string& key);
  SessionPtr Find(const std::string& key) const;
  std::vector<SessionPtr> List() const;
  // Drops sessions whose last_seen is before `oldest_unix_ms`. Returns how many.
  size_t Expire(int64_t oldest_unix_ms);

 private:
  mutable Mutex mu_;
  std::unordered_map<std::string, SessionPtr> states_ GUARDED_BY(mu_);
};

// In process, for tests and the offline tools.
class InMemorySessionStore final : public SessionStore {
 public:
  explicit InMemorySessionStore(const Clock* clock, SessionStoreOptions options = {})
      : clock_(clock), options_(std::move(options)) {}
  SessionPtr FindKey(const std::string& key) const override;
  void Apply(std::span<const v1::SessionChange> changes,
             std::vector<Result<SessionPtr>>* out) override;
  std::vector<SessionPtr> List() const override;
  Status Ready() const override;
  // Fails Apply and Ready with `status` while it is not OK.
  void set_failure(Status status);
  // Fails Apply (Ready stays OK) with `status` while it is not OK.
  void set_write_failure(Status status);

 private:
  const Clock* const clock_;
  const SessionStoreOptions options_;
  SessionCache cache_;
  mutable Mutex mu_;
  uint64_t revision_ GUARDED_BY(mu_) = 0;
  Status failure_ GUARDED_BY(mu_) = Status::Ok();
  Status write_failure_ GUARDED_BY(mu_) = Status::Ok();
};

// A fresh state for a session first seen now.
v1::SessionState NewSessionState(std::string_view tenant_id, std::string_view session,
                                 int64_t now_unix_ms);

}  // namespace jobgate::gate
