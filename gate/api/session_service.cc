#include "gate/api/session_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>

#include "subjects/api_errors.h"
#include "policy/session.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace api_error = subjects::api_error;
namespace {

using google::protobuf::util::TimeUtil;

std::string TenantOf(const v1::SessionRequest& request) {
  return request.tenant_id().empty() ? "default" : request.tenant_id();
}

}  // namespace

Result<std::string> ParseSessionName(std::string_view text) {
  if (text.empty()) return InvalidArgument("name a session: session:<id>, agent:<id>, or an id");
  if (text.starts_with("session:") || text.starts_with("agent:")) {
    const size_t colon = text.find(':');
    if (colon + 1 == text.size()) return InvalidArgument("the session id is empty");
    return std::string(text);
  }
  return "session:" + std::string(text);
}

Result<v1::SessionList> SessionService::List(const v1::ListSessionsRequest& request) const {
  std::vector<SessionPtr> all = store_->List();
  v1::SessionList out;
  std::erase_if(all, [&](const SessionPtr& s) {
    if (s->status() == v1::SessionState::TERMINATED) {
      out.set_terminated(out.terminated() + 1);
    } else {
      out.set_active(out.active() + 1);
    }
    return (request.terminated_only() && s->status() != v1::SessionState::TERMINATED) ||
           (!request.tenant_id().empty() && s->tenant_id() != request.tenant_id());
  });
  std::sort(all.begin(), all.end(), [](const SessionPtr& a, const SessionPtr& b) {
    const int64_t at = TimeUtil::TimestampToMilliseconds(a->last_seen());
    const int64_t bt = TimeUtil::TimestampToMilliseconds(b->last_seen());
    if (at != bt) return at > bt;
    return std::tie(a->tenant_id(), a->session()) < std::tie(b->tenant_id(), b->session());
  });
  size_t offset = 0;
  if (!request.page_token().empty()) {
    const std::string& token = request.page_token();
    auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), offset);
    if (error != std::errc() || end != token.data() + token.size()) {
      return InvalidArgument("page_token is not one this API gave");
    }
  }
  const size_t page = request.page_size() <= 0 ? 100 : std::min(request.page_size(), 1000);
  for (size_t i = offset; i < all.size() && i < offset + page; ++i) {
    v1::SessionState* s = out.add_sessions();
    *s = *all[i];
    s->clear_events();
  }
  if (offset + page < all.size()) out.set_next_page_token(std::to_string(offset + page));
  return out;
}

Result<v1::SessionState> SessionService::Show(const v1::SessionRequest& request) const {
  auto name = ParseSessionName(request.session());
  if (!name.ok()) return name.status();
  SessionPtr state = store_->Find(TenantOf(request), *name);
  if (state == nullptr) return NotFound("no session " + *name + " of tenant " + TenantOf(request));
  return *state;
}

Result<v1::SessionState> SessionService::Terminate(const v1::SessionRequest& request,
                                                   const Caller& caller) {
  return Change(request, caller, /*terminate=*/true);
}

Result<v1::SessionState> SessionService::Restore(const v1::SessionRequest& request,
                                                 const Caller& caller) {
  return Change(request, caller, /*terminate=*/false);
}

Result<v1::SessionState> SessionService::Change(const v1::SessionRequest& request,
                                                const Caller& caller, bool terminate) {
  auto name = ParseSessionName(request.session());
  if (!name.ok()) return name.status();
  const std::string tenant = TenantOf(request);
  if (!terminate && store_->Find(tenant, *name) == nullptr) {
    return NotFound("no session " + *name + " of tenant " + tenant);
  }
  const auto refused = [&] {
    return Conflict("session " + *name + (terminate ? " is terminated already" : " is active"));
  };
  SessionPtr current = store_->Find(tenant, *name);
  const bool is_terminated =
      current != nullptr && current->status() == v1::SessionState::TERMINATED;
  if (is_terminated == terminate) return refused();
  const int64_t now = clock_->UnixMillis();
  v1::SessionChange change;
  change.set_tenant_id(tenant);
  change.set_session(*name);
  change.set_at_unix_ms(now);
  v1::SessionOperatorAction* action =
      terminate ? change.mutable_terminate() : change.mutable_restore();
  action->set_operator_name(caller.name);
  action->set_reason(request.reason());
  std::vector<Result<SessionPtr>> out;
  store_->Apply(std::span<const v1::SessionChange>(&change, 1), &out);
  if (!out[0].ok()) return out[0].status();
  const SessionPtr& stored = *out[0];
  // Another change folded first (a replica's TERMINATE, another operator) decides.
  const auto at = TimeUtil::MillisecondsToTimestamp(now);
  const bool applied =
      stored != nullptr &&
      (terminate ? stored->terminated_by() == "operator:" + caller.name &&
                       stored->terminated_at() == at
                 : stored->restored_by() == caller.name && stored->restored_at() == at);
  if (!applied) return refused();
  if (metrics_ != nullptr && terminate) metrics_->terminations.Add({{"by", "operator"}}).Increment();
  if (events_ != nullptr) {
    v1::PolicyEvent event;
    event.set_kind(terminate ? "session_terminated" : "session_restored");
    event.set_actor(caller.name);
    event.set_note(tenant + "/" + *name + (request.reason().empty() ? "" : ": " + request.reason()));
    *event.mutable_at() = TimeUtil::MillisecondsToTimestamp(now);
    events_->Emit(event);
  }
  UpdateGauges();
  return *stored;
}

void SessionService::UpdateGauges() const {
  if (metrics_ == nullptr) return;
  double active = 0, terminated = 0;
  for (const SessionPtr& s : store_->List()) {
    (s->status() == v1::SessionState::TERMINATED ? terminated : active) += 1;
  }
  metrics_->sessions_active.Set(active);
  metrics_->sessions_terminated.Set(terminated);
}

namespace {

bool Blank(const std::string& body) {
  return body.find_first_not_of(" \t\r\n") == std::string::npos;
}

ApiResponse StateResponse(const Result<v1::SessionState>& state) {
  if (!state.ok()) {
    return ErrorJson(state.status(),
                     state.status().code() == StatusCode::kInvalidArgument ? api_error::kInvalidRequest : "");
  }
  return JsonResponse(*state);
}

// The SessionRequest of a call: its body, with the session of the path when there is one
// (and the tenant from ?tenant_id= on a GET).
Result<v1::SessionRequest> ReadRequest(const ApiRequest& req, const std::string& path_id) {
  v1::SessionRequest request;
  if (!Blank(req.body)) JOBGATE_RETURN_IF_ERROR(subjects::FromJson(req.body, &request));
  if (auto it = req.query.find("tenant_id"); it != req.query.end()) {
    request.set_tenant_id(it->second);
  }
  if (!path_id.empty()) {
    if (!request.session().empty() && request.session() != path_id) {
      return InvalidArgument("the body's session differs from the path's");
    }
    request.set_session(path_id);
  }
  return request;
}

enum class Verb { kShow, kTerminate, kRestore };

ApiResponse Run(SessionService* service, Verb verb, const ApiRequest& req, const Identity& caller,
                const std::string& path_id) {
  auto request = ReadRequest(req, path_id);
  if (!request.ok()) return ErrorJson(request.status(), api_error::kInvalidRequest);
  switch (verb) {
    case Verb::kShow:
      return StateResponse(service->Show(*request));
    case Verb::kTerminate:
      return StateResponse(service->Terminate(*request, Caller{caller.name}));
    case Verb::kRestore:
      return StateResponse(service->Restore(*request, Caller{caller.name}));
  }
  return ErrorJson(500, api_error::kInternal, "unknown verb");
}

ApiResponse ListRoute(SessionService* service, const ApiRequest& req) {
  v1::ListSessionsRequest request;
  if (!req.query.empty()) {
    for (const auto& [name, value] : req.query) {
      if (name == "terminated_only") {
        request.set_terminated_only(value == "true" || value == "1");
      } else if (name == "tenant_id") {
        request.set_tenant_id(value);
      } else if (name == "page_token") {
        request.set_page_token(value);
      } else if (name == "page_size") {
        int32_t size = 0;
        auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), size);
        if (error != std::errc() || end != value.data() + value.size() || size < 0) {
          return ErrorJson(400, api_error::kInvalidRequest, "page_size is a whole number");
        }
        request.set_page_size(size);
      }
    }
  } else if (!Blank(req.body)) {
    if (Status s = subjects::FromJson(req.body, &request); !s.ok()) {
      return ErrorJson(s, api_error::kInvalidRequest);
    }
  }
  auto list = service->List(request);
  if (!list.ok()) return ErrorJson(list.status(), api_error::kInvalidRequest);
  return JsonResponse(*list);
}

}  // namespace

void AddSessionRoutes(ApiRouter* router, SessionService* service) {
  router->Add("GET", "/api/v1/sessions", Role::kViewer, "sessions.list",
              [service](const ApiRequest& req, const Identity&, const auto&) {
                return ListRoute(service, req);
              });
  const std::pair<Verb, const char*> changes[] = {{Verb::kTerminate, "terminate"},
                                                  {Verb::kRestore, "restore"}};
  router->Add("GET", "/api/v1/sessions/{id}", Role::kViewer, "",
              [service](const ApiRequest& req, const Identity& caller,
                        const std::vector<std::string>& p) {
                return Run(service, Verb::kShow, req, caller, p[0]);
              });
  router->Add("POST", "/api/v1/sessions:show", Role::kViewer, "sessions.show",
              [service](const ApiRequest& req, const Identity& caller, const auto&) {
                return Run(service, Verb::kShow, req, caller, "");
              });
  for (const auto& change : changes) {
    // Copies, not a structured binding: clang 14 cannot capture those in a lambda.
    const Verb verb = change.first;
    const char* const name = change.second;
    router->Add("POST", std::string("/api/v1/sessions/{id}/") + name, Role::kPolicyAdmin, "",
                [service, verb](const ApiRequest& req, const Identity& caller,
                                const std::vector<std::string>& p) {
                  return Run(service, verb, req, caller, p[0]);
                });
    router->Add("POST", std::string("/api/v1/sessions:") + name, Role::kPolicyAdmin,
                std::string("sessions.") + name,
                [service, verb](const ApiRequest& req, const Identity& caller, const auto&) {
                  return Run(service, verb, req, caller, "");
                });
  }
}

}  // namespace jobgate::gate
