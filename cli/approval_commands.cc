// `jobgate approvals list|show|approve|reject`: the approval queue of a running gate, over
// its HTTP API (cli/http_client.h: --url, --token, output, exit codes). list and show
// print for a person (cli/approval_table.h); with --json, the API's JSON.
//
// approve and reject use the body form of the endpoints (POST /api/v1/approvals:approve
// with {"job_id": ...}), so any job id works without URL escaping.

#include <httplib.h>

#include <iostream>

#include "cli/approval_table.h"
#include "cli/commands.h"
#include "cli/http_client.h"
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

// GET /api/v1/approvals with these query values.
std::string ListPath(bool include_resolved, int page_size, const std::string& page_token) {
  httplib::Params query{{"include_resolved", include_resolved ? "true" : "false"}};
  if (page_size > 0) query.emplace("page_size", std::to_string(page_size));
  if (!page_token.empty()) query.emplace("page_token", page_token);
  // httplib percent-encodes the values.
  return httplib::append_query_params("/api/v1/approvals", query);
}

// Parses an approval list from the gate; prints why not and answers false when it is not one.
bool ParseList(const std::string& body, v1::ApprovalList* list) {
  if (Status s = subjects::FromJson(body, list); !s.ok()) {
    std::cerr << "jobgate: the gate's answer is not an approval list: " << s.message() << "\n";
    return false;
  }
  return true;
}

int PrintTable(const std::string& body, bool with_status) {
  v1::ApprovalList list;
  if (!ParseList(body, &list)) return kExitUnreachable;
  std::cout << ApprovalTable(list, with_status, std::chrono::system_clock::now());
  return kExitOk;
}

// The record of job `job_id` on `list`, of `tenant` (any tenant when empty).
const v1::PendingApproval* FindJob(const v1::ApprovalList& list, const std::string& job_id,
                                   const std::string& tenant) {
  for (const auto& a : list.approvals()) {
    const std::string& t = a.job().tenant_id();
    const bool tenant_matches = tenant.empty() || t == tenant || (t.empty() && tenant == "default");
    if (a.job().job_id() == job_id && tenant_matches) return &a;
  }
  return nullptr;
}

// Pages through the pending approvals, then (if not found) the resolved ones.
int Show(const Endpoint& endpoint, const std::string& job_id, const std::string& tenant,
         bool json) {
  for (bool resolved : {false, true}) {
    std::string page_token;
    do {
      v1::ApprovalList list;
      const int code = Call(endpoint, "GET", ListPath(resolved, 1000, page_token), "",
                            [&list](const std::string& body) {
                              return ParseList(body, &list) ? kExitOk : kExitUnreachable;
                            });
      if (code != kExitOk) return code;
      if (const v1::PendingApproval* found = FindJob(list, job_id, tenant)) {
        std::cout << (json ? subjects::ToJson(*found, /*pretty=*/true) + "\n"
                           : ApprovalDetail(*found, std::chrono::system_clock::now()));
        return kExitOk;
      }
      page_token = list.next_page_token();
    } while (!page_token.empty());
  }
  std::cerr << "jobgate: no held job " << Printable(job_id) << "\n";
  return kExitRefused;
}

}  // namespace

void AddApprovalCommands(CLI::App& app, int* exit_code) {
  auto* approvals =
      app.add_subcommand("approvals", "List, approve and reject jobs held for approval");
  approvals->require_subcommand(1);
  {
    auto* cmd = approvals->add_subcommand("list", "Pending approvals, oldest first, as a table");
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
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print the API's JSON (an ApprovalList) instead of a table");
    cmd->callback([=] {
      const std::string path = ListPath(*all, *page_size, *page_token);
      *exit_code = *json ? Call(*endpoint, "GET", path, "")
                         : Call(*endpoint, "GET", path, "",
                                [all](const std::string& body) { return PrintTable(body, *all); });
    });
  }
  {
    auto* cmd = approvals->add_subcommand(
        "show", "One held job (pending or resolved) with the explanation of its decision");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto job_id = std::make_shared<std::string>();
    cmd->add_option("JOB_ID", *job_id, "The held job")->required();
    auto tenant = std::make_shared<std::string>();
    cmd->add_option("--tenant", *tenant, "The job's tenant (default: any)");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print the record's JSON (a PendingApproval)");
    cmd->callback([=] { *exit_code = Show(*endpoint, *job_id, *tenant, *json); });
  }
  AddResolveCommand(approvals, "approve", "Release a held job to its worker", exit_code);
  AddResolveCommand(approvals, "reject", "Refuse a held job (it goes to audit.denied)", exit_code);
}

}  // namespace jobgate::gate
