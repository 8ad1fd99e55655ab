// The approvals routes of the control API (declared in gate/approvals/approvals.h).
#include <charconv>

#include "gate/api/api.h"
#include "subjects/api_errors.h"
#include "gate/approvals/approvals.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace api_error = subjects::api_error;

namespace {

bool Blank(const std::string& body) {
  return body.find_first_not_of(" \t\r\n") == std::string::npos;
}

// "true"/"false" (also 1/0, yes/no); nullopt when it is neither.
std::optional<bool> ParseFlag(const std::string& text) {
  if (text.empty() || text == "false" || text == "0" || text == "no") return false;
  if (text == "true" || text == "1" || text == "yes") return true;
  return std::nullopt;
}

ApiResponse OutcomeResponse(const ApprovalOutcome& out) {
  if (out.status.ok()) return JsonResponse(out.approval);
  return ErrorJson(HttpStatusFor(out.status.code()), out.code, out.status.message());
}

// HTTP: ?include_resolved=true&page_size=100&page_token=... Request-reply (no query): the
// same fields as the ListApprovalsRequest body.
ApiResponse List(ApprovalService* service, const ApiRequest& req) {
  v1::ListApprovalsRequest request;
  if (!req.query.empty()) {
    for (const auto& [name, value] : req.query) {
      if (name == "include_resolved") {
        auto flag = ParseFlag(value);
        if (!flag) return ErrorJson(400, api_error::kInvalidRequest, "include_resolved is true or false");
        request.set_include_resolved(*flag);
      } else if (name == "page_size") {
        int32_t size = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), size);
        if (error != std::errc() || end != value.data() + value.size() || size < 0) {
          return ErrorJson(400, api_error::kInvalidRequest,
                           "page_size is a whole number: 0 for the default, at most 1000 used");
        }
        request.set_page_size(size);
      } else if (name == "page_token") {
        request.set_page_token(value);
      }
    }
  } else if (!Blank(req.body)) {
    if (Status s = subjects::FromJson(req.body, &request); !s.ok()) {
      return ErrorJson(s, api_error::kInvalidRequest);
    }
  }
  auto list = service->List(request);
  if (!list.ok()) {
    const bool bad_request = list.status().code() == StatusCode::kInvalidArgument;
    return ErrorJson(list.status(), bad_request ? api_error::kInvalidRequest : "");
  }
  return JsonResponse(*list);
}

enum class Verb { kApprove, kReject };

// `path_job_id` is the {job_id} of the HTTP path, or empty for the body-only form.
ApiResponse Resolve(ApprovalService* service, Verb verb, const ApiRequest& req,
                    const Identity& caller, const std::string& path_job_id) {
  v1::ApproveRequest request;
  if (!Blank(req.body)) {
    if (Status s = subjects::FromJson(req.body, &request); !s.ok()) {
      return ErrorJson(s, api_error::kInvalidRequest);
    }
  }
  if (!path_job_id.empty()) {
    if (!request.job_id().empty() && request.job_id() != path_job_id) {
      return ErrorJson(400, api_error::kInvalidRequest, "the body's job_id differs from the path's");
    }
    request.set_job_id(path_job_id);
  }
  if (request.job_id().empty()) return ErrorJson(400, api_error::kInvalidRequest, "missing 'job_id'");
  return OutcomeResponse(verb == Verb::kApprove ? service->Approve(request, caller)
                                                : service->Reject(request, caller));
}

// A call refused before it reached the service is recorded against the job it named.
ApiRouter::RefusalHandler RecordRefusal(ApprovalService* service) {
  return [service](const ApiRequest& req, const std::vector<std::string>& params,
                   const Status& refusal) {
    v1::ApproveRequest request;
    if (!Blank(req.body) && !subjects::FromJson(req.body, &request).ok()) request.Clear();
    if (!params.empty()) request.set_job_id(params[0]);
    service->RecordRefusedCall(request, refusal);
  };
}

}  // namespace

void AddApprovalRoutes(ApiRouter* router, ApprovalService* service) {
  router->Add("GET", "/api/v1/approvals", Role::kViewer, "approvals.list",
              [service](const ApiRequest& req, const Identity&, const auto&) {
                return List(service, req);
              });
  // The HTTP forms take the job id from the path. Request-reply cannot use them: the
  // router hands a route with path parameters only the parameters, and the reason
  // must get through, so request-reply uses the body-only forms below.
  router->Add(
      "POST", "/api/v1/approvals/{job_id}/approve", Role::kApprover, "",
      [service](const ApiRequest& req, const Identity& caller,
                const std::vector<std::string>& params) {
        return Resolve(service, Verb::kApprove, req, caller, params[0]);
      },
      RecordRefusal(service));
  router->Add(
      "POST", "/api/v1/approvals/{job_id}/reject", Role::kApprover, "",
      [service](const ApiRequest& req, const Identity& caller,
                const std::vector<std::string>& params) {
        return Resolve(service, Verb::kReject, req, caller, params[0]);
      },
      RecordRefusal(service));
  router->Add(
      "POST", "/api/v1/approvals:approve", Role::kApprover, "approvals.approve",
      [service](const ApiRequest& req, const Identity& caller, const auto&) {
        return Resolve(service, Verb::kApprove, req, caller, "");
      },
      RecordRefusal(service));
  router->Add(
      "POST", "/api/v1/approvals:reject", Role::kApprover, "approvals.reject",
      [service](const ApiRequest& req, const Identity& caller, const auto&) {
        return Resolve(service, Verb::kReject, req, caller, "");
      },
      RecordRefusal(service));
}

}  // namespace jobgate::gate
