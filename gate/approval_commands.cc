// `jobgate approvals list|approve|reject`: the approval queue of a running gate, over its
// HTTP API (gate/http_client.h: --url, --token, output, exit codes).
//
// approve and reject use the body form of the endpoints (POST /api/v1/approvals:approve
// with {"job_id": ...}), so any job id works without URL escaping.

#include <httplib.h>

#include "gate/commands.h"
#include "gate/http_client.h"
#include "jobgate/v1/jobgate.pb.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace {

void AddResolveCommand(CLI::App* approvals, const std::string& verb, const std::string& help,
                       int* exit_code) {
  auto* cmd = approvals->add_subcommand(verb, help);
  auto endpoint = std::make_shared<Endpoint>();
  AddEndpointOptions(cmd, endpoint);
  auto request = std::make_shared<v1::ApproveRequest>();
  cmd->add_option("JOB_ID", *request->mutable_job_id(), "The held job")->required();
  cmd->add_option("--reason", *request->mutable_reason(), "Why: recorded with the resolution");
  cmd->add_option("--tenant", *request->mutable_tenant_id(), "The job's tenant (default: default)");
  if (verb == "approve") {
    cmd->add_option("--digest", *request->mutable_job_digest(),
                    "The job digest you reviewed (from `approvals list`); refused if the job "
                    "held differs");
  }
  cmd->callback([=] {
    *exit_code = Call(*endpoint, "POST", "/api/v1/approvals:" + verb, subjects::ToJson(*request));
  });
}

}  // namespace

void AddApprovalCommands(CLI::App& app, int* exit_code) {
  auto* approvals =
      app.add_subcommand("approvals", "List, approve and reject jobs held for approval");
  approvals->require_subcommand(1);
  {
    auto* cmd = approvals->add_subcommand("list", "Pending approvals, oldest first");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto all = std::make_shared<bool>(false);
    cmd->add_flag("--all,--include-resolved", *all, "Also approved, rejected and expired ones");
    auto page_size = std::make_shared<int>(0);
    cmd->add_option("--page-size", *page_size, "Approvals per page (default 100, at most 1000)")
        ->check(CLI::Range(0, 1000));
    auto page_token = std::make_shared<std::string>();
    cmd->add_option("--page-token", *page_token,
                    "Where to go on from: the next_page_token of the previous page");
    cmd->callback([=] {
      httplib::Params query{{"include_resolved", *all ? "true" : "false"}};
      if (*page_size > 0) query.emplace("page_size", std::to_string(*page_size));
      if (!page_token->empty()) query.emplace("page_token", *page_token);
      // httplib percent-encodes the values.
      *exit_code =
          Call(*endpoint, "GET", httplib::append_query_params("/api/v1/approvals", query), "");
    });
  }
  AddResolveCommand(approvals, "approve", "Release a held job to its worker", exit_code);
  AddResolveCommand(approvals, "reject", "Refuse a held job (it goes to audit.denied)", exit_code);
}

}  // namespace jobgate::gate
