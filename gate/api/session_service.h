// The operator's view of sessions: list, show, terminate, restore (the API's
// /api/v1/sessions routes, request-reply `sessions.*`, and `jobgate sessions`).
//
// Terminations and restores by an operator are written to the session store (every
// replica applies them within its watch's delay) and recorded as policy events on
// audit.policy (kind session_terminated / session_restored, the caller as actor).
//
// Ownership: borrows the store, event sink, clock and metrics (any of the last may be
// null); all must outlive it. Thread-safety: thread-safe.
#pragma once

#include <string>

#include "gate/api/api.h"
#include "gate/lifecycle/policy_lifecycle.h"
#include "gate/core/sessions.h"
#include "jobgate/v1/jobgate.pb.h"
#include "metrics/metrics.h"
#include "base/status.h"

namespace jobgate::gate {

// The session an operator names: "session:<id>" or "agent:<id>" as they are, a bare id
// as "session:<id>". kInvalidArgument when empty.
Result<std::string> ParseSessionName(std::string_view text);

class SessionService {
 public:
  SessionService(SessionStore* store, PolicyEventSink* events, const Clock* clock,
                 metrics::SessionMetrics* metrics = nullptr)
      : store_(store), events_(events), clock_(clock), metrics_(metrics) {}

  // Most recently seen first; events omitted. Paged by offset.
  Result<v1::SessionList> List(const v1::ListSessionsRequest& request) const;
  // One session with its events. kNotFound when unknown (or expired).
  Result<v1::SessionState> Show(const v1::SessionRequest& request) const;
  // kConflict when already terminated (restore: when active). A session never seen can
  // be terminated ahead of its first job.
  Result<v1::SessionState> Terminate(const v1::SessionRequest& request, const Caller& caller);
  Result<v1::SessionState> Restore(const v1::SessionRequest& request, const Caller& caller);

  // Sets the jobgate_sessions gauges from the store's copy.
  void UpdateGauges() const;

 private:
  Result<v1::SessionState> Change(const v1::SessionRequest& request, const Caller& caller,
                                  bool terminate);

  SessionStore* const store_;
  PolicyEventSink* const events_;
  const Clock* const clock_;
  metrics::SessionMetrics* const metrics_;
};

// The /api/v1/sessions routes. The HTTP forms take the session from the path
// (`GET /api/v1/sessions/{id}`, `POST /api/v1/sessions/{id}/terminate|restore`);
// request-reply uses the body-only forms (`sessions.show|terminate|restore`, a
// SessionRequest body). Reading needs the viewer role; changing needs policy-admin.
void AddSessionRoutes(ApiRouter* router, SessionService* service);

}  // namespace jobgate::gate
