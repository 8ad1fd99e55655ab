// The control API, independent of transport: HTTP (gate/api/http_server.h) and NATS
// request-reply (`jobgate.api.<verb>`) both turn their requests into an ApiRequest and
// send the ApiResponse back, so both surfaces run the same handlers, checks and errors.
//
// Every route names the role it needs (gate/core/auth.h); the router authenticates before a
// handler runs. Bodies are the JSON of the jobgate.v1 messages; errors are
// jobgate.v1.ErrorResponse ({"error", "code", ...}) with a fitting status.
//
// Every call is held to the budgets of gate/api/api_limits.h. Over HTTP, Admit runs them on
// the request's head before its body is read; Handle and HandleNats run them again (the
// body is then known) before a handler runs.
//
// Routes and limits are set at start-up, then the router is read-only but for the rate
// limiter's buckets: Admit, Handle and HandleNats are thread-safe.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gate/api/api_limits.h"
#include "gate/core/auth.h"
#include "gate/core/bus.h"
#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::gate {

class PolicyLifecycle;

struct ApiRequest {
  std::string method;  // "GET", "POST"
  std::string path;    // "/api/v1/policy/snapshots/v41"
  std::map<std::string, std::string> query;
  std::string body;
  std::string authorization;  // the Authorization header value
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
  int retry_after_seconds = 0;  // > 0: when to try again (429, 503)
  // A validator of the content: equal for equal messages (JsonResponse sets it from the
  // message's deterministic serialization: the JSON text orders map entries, such as a
  // job's args, differently from one print to the next). Empty: taken from `body`.
  std::string etag = {};
};

// A quoted strong validator of `bytes`: FNV-1a 64, the same on every replica and build.
std::string EntityTag(std::string_view bytes);

// HTTP status for a Status code (kConflict -> 409, ...).
int HttpStatusFor(StatusCode code);
ApiResponse JsonResponse(const google::protobuf::Message& message, int status = 200);
ApiResponse ErrorJson(int status, std::string_view code, const std::string& message,
                      const std::vector<std::string>& details = {},
                      const v1::SimulationSummary* simulation = nullptr);
ApiResponse ErrorJson(const Status& status, std::string_view code = {});

class ApiRouter {
 public:
  // `params` holds the values of `{name}` segments of the pattern, in order.
  using Handler = std::function<ApiResponse(const ApiRequest& request, const Identity& caller,
                                            const std::vector<std::string>& params)>;

  // Told of a call the router refused before its handler ran (no valid token, or not
  // the route's role), with the route's parameters and the refusal.
  using RefusalHandler = std::function<void(
      const ApiRequest& request, const std::vector<std::string>& params, const Status& refusal)>;

  // What a route's body may hold: a small request, or a whole policy (publish, simulate).
  enum class Body { kSmall, kPolicy };

  // `clock` (for the rate limiter; null: the system's) must outlive the router.
  explicit ApiRouter(const Authenticator* authenticator, ApiLimits limits = {},
                     const Clock* clock = nullptr);

  // `pattern` is a path with `{name}` segments. `nats_verb` ("policy.publish") also
  // exposes the route as `<api prefix>.<nats_verb>` for request-reply; for a route with
  // parameters the request-reply body carries them as {"name": ...}. `on_refused`, when
  // set, hears of the calls refused for want of a token or role.
  void Add(std::string method, std::string pattern, Role role, std::string nats_verb,
           Handler handler, RefusalHandler on_refused = nullptr, Body body = Body::kSmall);

  // The checks that need no body, for a transport that has read only the head of a
  // request (`request.body` empty) whose body declares `content_length` bytes: the route,
  // the token and its role, the body's size. Nothing when the body may be read; else
  // the answer, which the transport sends without reading the body.
  std::optional<ApiResponse> Admit(const ApiRequest& request, uint64_t content_length) const;

  ApiResponse Handle(const ApiRequest& request) const;
  // A request-reply call on `verb` (the subject after the API prefix).
  ApiResponse HandleNats(const std::string& verb, const std::string& body,
                         const std::string& authorization) const;

  std::vector<std::string> nats_verbs() const;
  const ApiLimits& limits() const { return limits_; }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Role role;
    std::string nats_verb;
    Handler handler;
    RefusalHandler on_refused;
    Body body;
  };
  // The route `request` names, with its parameters; or the 404/405 answer.
  const Route* Find(const ApiRequest& request, std::vector<std::string>* params,
                    ApiResponse* not_found) const;
  // Token, role and body size: the checks of Admit. Fills `*caller` when they pass.
  std::optional<ApiResponse> Check(const Route& route, const ApiRequest& request,
                                   const std::vector<std::string>& params, uint64_t body_bytes,
                                   Identity* caller) const;
  ApiResponse Dispatch(const Route& route, const ApiRequest& request,
                       const std::vector<std::string>& params) const;

  const Authenticator* authenticator_;
  const ApiLimits limits_;
  SystemClock system_clock_;
  mutable CallerRateLimiter rate_limiter_;
  std::vector<Route> routes_;
};

// The policy lifecycle routes of the contract:
//   POST /api/v1/policy/simulate          viewer        policy.simulate
//   POST /api/v1/policy/publish           policy-admin  policy.publish
//   POST /api/v1/policy/rollback          policy-admin  policy.rollback
//   POST /api/v1/policy/shadow            policy-admin  policy.shadow
//   GET  /api/v1/policy/snapshots         viewer        policy.list
//   GET  /api/v1/policy/snapshots/{name}  viewer        policy.show
void AddPolicyRoutes(ApiRouter* router, PolicyLifecycle* lifecycle);

// GET /api/v1/whoami  viewer  whoami: the calling token's name and every role it holds
// ({"name": "alice", "roles": ["viewer", "approver", "dba"]}), built-in roles first. The
// approvers' page (/ui/) decides from it what to show; the API still checks every call.
void AddIdentityRoutes(ApiRouter* router);

}  // namespace jobgate::gate
