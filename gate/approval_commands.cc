// `jobgate approvals list|approve|reject`: the approval queue of a running gate, over its
// HTTP API (gate/http_client.h: --url, --token, output, exit codes).
//
// approve and reject use the body form of the endpoints (POST /api/v1/approvals:approve
// with {"job_id": ...}), so any job id works without URL escaping.

#include <cctype>
#include <string_view>

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

// Percent-encodes all but RFC 3986's unreserved characters, for a query parameter value.
std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
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
      std::string target =
          std::string("/api/v1/approvals?include_resolved=") + (*all ? "true" : "false");
      if (*page_size > 0) target += "&page_size=" + std::to_string(*page_size);
      if (!page_token->empty()) target += "&page_token=" + QueryEscape(*page_token);
      *exit_code = Call(*endpoint, "GET", target, "");
    });
  }
  AddResolveCommand(approvals, "approve", "Release a held job to its worker", exit_code);
  AddResolveCommand(approvals, "reject", "Refuse a held job (it goes to audit.denied)", exit_code);
}

}  // namespace jobgate::gate
