// Session state shared by every replica: what each agent session did, and whether it was
// terminated.
//
// A session is (tenant, policy::SessionOf(job)): the job's actor.session_id, or its
// actor.agent_id when it has none. Its state (jobgate.v1.SessionState) holds its status
// (ACTIVE, or TERMINATED with who, why, when and under which snapshot) and its notable
// decisions of the last window (policy/session.h), which `match.session` conditions read.
//
// A SessionStore keeps every session's state where all replicas see it and a copy of it
// in memory: the hot path (Find) reads that copy and never waits for the store; writes
// (Update) happen only for decisions that change the state, by compare-and-set on the
// store's revision, so concurrent writers from several replicas never lose an event.
// Sessions expire after `idle` without a write: the state does not grow without bound.
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
#include "gate/bus.h"
#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::gate {


struct SessionStoreOptions {
  std::string bucket = "jobgate-sessions";
  // A session without a write for this long is forgotten (its key expires).
  std::chrono::milliseconds idle{24LL * 3600 * 1000};
  // Events older than this are dropped from a session's state on its next write;
  // `match.session` windows longer than it see no more than it keeps.
  std::chrono::milliseconds keep{3600 * 1000};
  size_t max_events = 64;
  // How long the store may be unreachable before Ready() fails.
  std::chrono::milliseconds grace{10'000};
  int replicas = 1;
  bool memory_storage = false;
  std::chrono::milliseconds timeout{5000};
};

// The store key of a session: 64 lower-case hex digits of SHA-256 over the tenant, a
// 0x1f separator and the session. Valid as a KV key whatever the ids contain.
std::string SessionStoreKey(std::string_view tenant_id, std::string_view session);

using SessionPtr = std::shared_ptr<const v1::SessionState>;

// Changes a session's state in place; returns false when nothing needs to change (no
// write happens). Called on a fresh empty state (tenant and session set) when the
// session is new. May be called more than once (once per compare-and-set attempt).
using SessionMutation = std::function<bool(v1::SessionState* state)>;

// One session's change for SessionStore::UpdateMany.
struct SessionWrite {
  std::string tenant_id;
  std::string session;
  SessionMutation mutate;
  // Optional: `mutate` already applied to the state of revision `prepared_from` (0: no
  // state). A store whose copy is still at that revision may write it as it is, and
  // keeps it (the caller hands it over and no longer reads it).
  std::shared_ptr<v1::SessionState> prepared = nullptr;
  uint64_t prepared_from = 0;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // The in-memory copy of the session's state, or null when the session is unknown.
  virtual SessionPtr Find(std::string_view tenant_id, std::string_view session) const = 0;
  // Applies `mutate` to the current state and stores the result (compare-and-set,
  // retried against the latest state on a conflict). Returns the state as stored (the
  // current one when `mutate` changed nothing).
  virtual Result<SessionPtr> Update(std::string_view tenant_id, std::string_view session,
                                    const SessionMutation& mutate) = 0;
  // Update for several sessions, at most one write each, sent together: one wait for
  // all of them rather than a round trip each. (*out)[i] answers writes[i] as Update
  // would. This default calls Update for each.
  virtual void UpdateMany(std::span<const SessionWrite> writes,
                          std::vector<Result<SessionPtr>>* out);
  // Every session in the in-memory copy.
  virtual std::vector<SessionPtr> List() const = 0;
  // OK when the in-memory copy is current enough to judge by.
  virtual Status Ready() const = 0;
};

// The in-memory copy both stores keep: key -> newest state seen (by revision), dropping
// sessions idle past their expiry.
class SessionCache {
 public:
  // Keeps `state` unless a newer revision is held.
  void Apply(const std::string& key, SessionPtr state);
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
  SessionPtr Find(std::string_view tenant_id, std::string_view session) const override;
  Result<SessionPtr> Update(std::string_view tenant_id, std::string_view session,
                            const SessionMutation& mutate) override;
  std::vector<SessionPtr> List() const override;
  Status Ready() const override;
  // Fails Update and Ready with `status` while it is not OK.
  void set_failure(Status status);
  // Fails Update (Ready stays OK) with `status` while it is not OK.
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
