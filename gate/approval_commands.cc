// `jobgate approvals list|approve|reject`: the approval queue of a running gate, over its
// HTTP API (gate/http_client.h: --url, --token, output, exit codes).
//
// approve and reject use the body form of the endpoints (POST /api/v1/approvals:approve
// with {"job_id": ...}), so any job id works without URL escaping.

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
    cmd->callback([=] {
      *exit_code =
          Call(*endpoint, "GET",
               std::string("/api/v1/approvals?include_resolved=") + (*all ? "true" : "false"), "");
    });
  }
  AddResolveCommand(approvals, "approve", "Release a held job to its worker", exit_code);
  AddResolveCommand(approvals, "reject", "Refuse a held job (it goes to audit.denied)", exit_code);
}

}  // namespace jobgate::gate
