#include "gate/api/api.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <sstream>

#include "subjects/api_errors.h"
#include "gate/lifecycle/policy_lifecycle.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace api_error = subjects::api_error;

namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(path);
  std::string segment;
  while (std::getline(ss, segment, '/')) {
    if (!segment.empty()) out.push_back(segment);
  }
  return out;
}

// Parses a JSON body into `message`; an empty body is an empty message.
Status ParseBody(const std::string& body, google::protobuf::Message* message) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return Status::Ok();
  return subjects::FromJson(body, message);
}

}  // namespace

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 422;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string EntityTag(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char text[24];
  snprintf(text, sizeof(text), "\"%016llx\"", static_cast<unsigned long long>(hash));
  return text;
}

ApiResponse JsonResponse(const google::protobuf::Message& message, int status) {
  ApiResponse response{status, subjects::ToJson(message, /*pretty=*/true)};
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);  // map entries in key order
    message.SerializeToCodedStream(&coded);
  }
  response.etag = EntityTag(binary);
  return response;
}

ApiResponse ErrorJson(int status, std::string_view code, const std::string& message,
                      const std::vector<std::string>& details,
                      const v1::SimulationSummary* simulation) {
  v1::ErrorResponse error;
  error.set_error(message);
  error.set_code(std::string(code));
  for (const auto& d : details) error.add_details(d);
  if (simulation != nullptr) *error.mutable_simulation() = *simulation;
  return JsonResponse(error, status);
}

ApiResponse ErrorJson(const Status& status, std::string_view code) {
  if (code.empty()) code = subjects::ApiErrorForStatus(status.code());
  return ErrorJson(HttpStatusFor(status.code()), code, status.message());
}

ApiRouter::ApiRouter(const Authenticator* authenticator, ApiLimits limits, const Clock* clock)
    : authenticator_(authenticator),
      limits_(limits),
      rate_limiter_(clock != nullptr ? clock : &system_clock_, limits.calls_per_second,
                    limits.burst) {}

void ApiRouter::Add(std::string method, std::string pattern, Role role, std::string nats_verb,
                    Handler handler, RefusalHandler on_refused, Body body) {
  routes_.push_back({std::move(method), SplitPath(pattern), role, std::move(nats_verb),
                     std::move(handler), std::move(on_refused), body});
}

std::vector<std::string> ApiRouter::nats_verbs() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) {
    if (!r.nats_verb.empty()) out.push_back(r.nats_verb);
  }
  return out;
}

std::optional<ApiResponse> ApiRouter::Check(const Route& route, const ApiRequest& request,
                                             const std::vector<std::string>& params,
                                             uint64_t body_bytes, Identity* identity) const {
  auto caller = authenticator_->Authorize(request.authorization, route.role);
  if (!caller.ok()) {
    if (route.on_refused) route.on_refused(request, params, caller.status());
    return ErrorJson(caller.status());
  }
  *identity = std::move(*caller);
  const size_t limit =
      route.body == Body::kPolicy ? limits_.max_policy_body_bytes : limits_.max_body_bytes;
  if (body_bytes > limit) {
    return ErrorJson(413, api_error::kTooLarge,
                     "the request body of " + std::to_string(body_bytes) +
                         " bytes is over this call's limit of " + std::to_string(limit));
  }
  return std::nullopt;
}

std::optional<ApiResponse> ApiRouter::Admit(const ApiRequest& request,
                                            uint64_t content_length) const {
  std::vector<std::string> params;
  ApiResponse not_found;
  const Route* route = Find(request, &params, &not_found);
  if (route == nullptr) return not_found;
  Identity caller;
  return Check(*route, request, params, content_length, &caller);
}

ApiResponse ApiRouter::Dispatch(const Route& route, const ApiRequest& request,
                                const std::vector<std::string>& params) const {
  Identity caller;
  if (auto refusal = Check(route, request, params, request.body.size(), &caller)) {
    return *refusal;
  }
  if (route.method == "POST") {
    const auto wait = rate_limiter_.Acquire(caller.name);
    if (wait.count() > 0) {
      ApiResponse response = ErrorJson(429, api_error::kRateLimited,
                                       "over this token's call rate; try again in " +
                                           std::to_string(wait.count()) + " ms");
      response.retry_after_seconds = static_cast<int>((wait.count() + 999) / 1000);
      return response;
    }
  }
  try {
    return route.handler(request, caller, params);
  } catch (const std::exception& e) {
    // Handlers do not throw by design; a library that does must not take the gate down.
    return ErrorJson(500, api_error::kInternal, std::string("internal error: ") + e.what());
  }
}

const ApiRouter::Route* ApiRouter::Find(const ApiRequest& request,
                                        std::vector<std::string>* params,
                                        ApiResponse* not_found) const {
  const std::vector<std::string> segments = SplitPath(request.path);
  bool path_matched = false;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    params->clear();
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        params->push_back(segments[i]);
      } else {
        match = want == segments[i];
      }
    }
    if (!match) continue;
    path_matched = true;
    if (route.method != request.method) continue;
    return &route;
  }
  *not_found = path_matched ? ErrorJson(405, api_error::kMethodNotAllowed, "method not allowed here")
                            : ErrorJson(404, api_error::kNotFound, "no such endpoint: " + request.path);
  return nullptr;
}

ApiResponse ApiRouter::Handle(const ApiRequest& request) const {
  std::vector<std::string> params;
  ApiResponse not_found;
  const Route* route = Find(request, &params, &not_found);
  if (route == nullptr) return not_found;
  return Dispatch(*route, request, params);
}

ApiResponse ApiRouter::HandleNats(const std::string& verb, const std::string& body,
                                  const std::string& authorization) const {
  if (body.size() > std::max(limits_.max_body_bytes, limits_.max_policy_body_bytes)) {
    return ErrorJson(413, api_error::kTooLarge,
                     "the request of " + std::to_string(body.size()) + " bytes is over the limit");
  }
  for (const auto& route : routes_) {
    if (route.nats_verb != verb) continue;
    ApiRequest request;
    request.method = route.method;
    request.body = body;
    request.authorization = authorization;
    std::vector<std::string> params;
    for (const auto& segment : route.segments) {
      if (segment.size() > 2 && segment.front() == '{') {
        // Parameters travel in the body: {"name": "v41"}.
        google::protobuf::Struct fields;
        if (!ParseBody(body, &fields).ok()) {
          return ErrorJson(400, api_error::kInvalidRequest, "expected a JSON object with the parameters");
        }
        const std::string key = segment.substr(1, segment.size() - 2);
        auto it = fields.fields().find(key);
        if (it == fields.fields().end() || !it->second.has_string_value()) {
          return ErrorJson(400, api_error::kInvalidRequest, "missing '" + key + "'");
        }
        params.push_back(it->second.string_value());
        request.body.clear();
      }
    }
    return Dispatch(route, request, params);
  }
  return ErrorJson(404, api_error::kNotFound, "no such API verb: " + verb);
}

void AddPolicyRoutes(ApiRouter* router, PolicyLifecycle* lifecycle) {
  using Body = ApiRouter::Body;
  router->Add("POST", "/api/v1/policy/simulate", Role::kViewer, "policy.simulate",
              [lifecycle](const ApiRequest& req, const Identity&, const auto&) {
                v1::SimulateRequest request;
                if (Status s = ParseBody(req.body, &request); !s.ok()) {
                  return ErrorJson(s, api_error::kInvalidRequest);
                }
                if (!request.has_job()) {
                  // No job: simulate the candidate on recent jobs (the flip matrix).
                  if (request.policy().empty()) {
                    return ErrorJson(400, api_error::kInvalidRequest,
                                     "simulate needs a 'job', or a 'policy' to try on recent jobs");
                  }
                  auto summary = lifecycle->SimulateRecent(request.policy());
                  if (!summary.ok()) return ErrorJson(summary.status(), api_error::kInvalidPolicy);
                  return JsonResponse(*summary);
                }
                auto decision = lifecycle->Simulate(request);
                if (!decision.ok()) {
                  return ErrorJson(decision.status(),
                                   decision.status().code() == StatusCode::kInvalidArgument
                                       ? api_error::kInvalidPolicy
                                       : "");
                }
                return ApiResponse{200, subjects::DecisionToJson(*decision, /*pretty=*/true)};
              },
              nullptr, Body::kPolicy);
  router->Add("POST", "/api/v1/policy/publish", Role::kPolicyAdmin, "policy.publish",
              [lifecycle](const ApiRequest& req, const Identity& caller, const auto&) {
                v1::PublishRequest request;
                if (Status s = ParseBody(req.body, &request); !s.ok()) {
                  return ErrorJson(s, api_error::kInvalidRequest);
                }
                PublishOutcome out = lifecycle->Publish(request, Caller{caller.name});
                // The caller sent the source; answer the snapshot's metadata (show has it).
                out.response.mutable_snapshot()->clear_policy();
                if (!out.status.ok()) {
                  return ErrorJson(
                      HttpStatusFor(out.status.code()), out.code, out.status.message(), out.errors,
                      out.response.has_simulation() ? &out.response.simulation() : nullptr);
                }
                return JsonResponse(out.response);
              },
              nullptr, Body::kPolicy);
  router->Add("POST", "/api/v1/policy/rollback", Role::kPolicyAdmin, "policy.rollback",
              [lifecycle](const ApiRequest& req, const Identity& caller, const auto&) {
                v1::RollbackRequest request;
                if (Status s = ParseBody(req.body, &request); !s.ok()) {
                  return ErrorJson(s, api_error::kInvalidRequest);
                }
                auto out = lifecycle->Rollback(request, Caller{caller.name});
                if (!out.ok()) return ErrorJson(out.status());
                return JsonResponse(*out);
              });
  router->Add("POST", "/api/v1/policy/shadow", Role::kPolicyAdmin, "policy.shadow",
              [lifecycle](const ApiRequest& req, const Identity& caller, const auto&) {
                v1::ShadowRequest request;
                if (Status s = ParseBody(req.body, &request); !s.ok()) {
                  return ErrorJson(s, api_error::kInvalidRequest);
                }
                auto out = lifecycle->SetShadow(request, Caller{caller.name});
                if (!out.ok()) return ErrorJson(out.status());
                return JsonResponse(*out);
              });
  router->Add("GET", "/api/v1/policy/snapshots", Role::kViewer, "policy.list",
              [lifecycle](const ApiRequest&, const Identity&, const auto&) {
                auto list = lifecycle->List();
                if (!list.ok()) return ErrorJson(list.status());
                return JsonResponse(*list);
              });
  router->Add("GET", "/api/v1/policy/snapshots/{name}", Role::kViewer, "policy.show",
              [lifecycle](const ApiRequest&, const Identity&, const std::vector<std::string>& p) {
                auto snapshot = lifecycle->Show(p[0]);
                if (!snapshot.ok()) return ErrorJson(snapshot.status());
                return JsonResponse(*snapshot);
              });
}

void AddIdentityRoutes(ApiRouter* router) {
  router->Add("GET", "/api/v1/whoami", Role::kViewer, "whoami",
              [](const ApiRequest&, const Identity& caller, const auto&) {
                google::protobuf::Struct out;
                (*out.mutable_fields())["name"].set_string_value(caller.name);
                auto* roles = (*out.mutable_fields())["roles"].mutable_list_value();
                for (Role role : {Role::kViewer, Role::kApprover, Role::kPolicyAdmin}) {
                  if (caller.Has(role)) roles->add_values()->set_string_value(RoleName(role));
                }
                for (const auto& named : caller.named_roles) {
                  roles->add_values()->set_string_value(named);
                }
                return JsonResponse(out);
              });
}

}  // namespace jobgate::gate
