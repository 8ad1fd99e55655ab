// `jobgate sessions list|show|terminate|restore`: the sessions of a running gate, over its
// HTTP API (cli/http_client.h: --url, --token, output, exit codes).
//
// show, terminate and restore use the body forms of the endpoints
// (POST /api/v1/sessions:<verb> with a SessionRequest), so any session id works without
// URL escaping.

#include <httplib.h>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "jobgate/v1/jobgate.pb.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

void AddSessionVerb(CLI::App* sessions, const std::string& verb, const std::string& help,
                    int* exit_code) {
  auto* cmd = sessions->add_subcommand(verb, help);
  auto endpoint = std::make_shared<Endpoint>();
  AddEndpointOptions(cmd, endpoint);
  auto request = std::make_shared<v1::SessionRequest>();
  cmd->add_option("SESSION", *request->mutable_session(),
                  "session:<id>, agent:<id> (a job without a session id), or a session id")
      ->required();
  cmd->add_option("--tenant", *request->mutable_tenant_id(), "The session's tenant (default: default)");
  if (verb != "show") {
    cmd->add_option("--reason", *request->mutable_reason(), "Why: recorded on audit.policy");
  }
  cmd->callback([=] {
    *exit_code = Call(*endpoint, "POST", "/api/v1/sessions:" + verb, subjects::ToJson(*request));
  });
}

}  // namespace

void AddSessionCommands(CLI::App& app, int* exit_code) {
  auto* sessions = app.add_subcommand(
      "sessions", "List, show, terminate and restore agent sessions of a running gate");
  sessions->require_subcommand(1);
  {
    auto* cmd = sessions->add_subcommand("list", "Sessions, most recently seen first");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto terminated = std::make_shared<bool>(false);
    cmd->add_flag("--terminated", *terminated, "Only terminated sessions");
    auto tenant = std::make_shared<std::string>();
    cmd->add_option("--tenant", *tenant, "Only this tenant's sessions");
    auto page_size = std::make_shared<int>(0);
    cmd->add_option("--page-size", *page_size, "Sessions per page (default 100, at most 1000)")
        ->check(CLI::Range(0, 1000));
    auto page_token = std::make_shared<std::string>();
    cmd->add_option("--page-token", *page_token, "The next_page_token of the previous page");
    cmd->callback([=] {
      httplib::Params query{{"terminated_only", *terminated ? "true" : "false"}};
      if (!tenant->empty()) query.emplace("tenant_id", *tenant);
      if (*page_size > 0) query.emplace("page_size", std::to_string(*page_size));
      if (!page_token->empty()) query.emplace("page_token", *page_token);
      *exit_code =
          Call(*endpoint, "GET", httplib::append_query_params("/api/v1/sessions", query), "");
    });
  }
  AddSessionVerb(sessions, "show", "One session: its status and recent notable decisions",
                 exit_code);
  AddSessionVerb(sessions, "terminate",
                 "End a session: every later job of it is decided TERMINATE (policy-admin)",
                 exit_code);
  AddSessionVerb(sessions, "restore", "Lift a session's termination (policy-admin)", exit_code);
}

}  // namespace jobgate::gate
