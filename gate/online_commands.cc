// Online verbs: `jobgate policy ...` talks to a running gate's HTTP API.
//
// The gate is found with --url (or $JOBGATE_URL, default http://127.0.0.1:8081); the
// bearer token comes from --token or $JOBGATE_TOKEN. Answers are printed as the API's
// JSON; exit 0 on success, 1 when the gate refused (the error on stderr), 2 when it
// could not be reached or the input could not be read.

#include <httplib.h>

#include <cstdlib>
#include <iostream>

#include "gate/commands.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUnreachable = 2;

struct Endpoint {
  std::string url;
  std::string token;
};

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// Sends one request; prints the answer. Returns the exit code.
int Call(const Endpoint& endpoint, const std::string& method, const std::string& path,
         const std::string& body) {
  httplib::Client client(endpoint.url);
  client.set_connection_timeout(5);
  client.set_read_timeout(120);  // publish simulates on recent jobs
  httplib::Headers headers;
  if (!endpoint.token.empty()) headers.emplace("Authorization", "Bearer " + endpoint.token);
  httplib::Result result = method == "GET"
                               ? client.Get(path.c_str(), headers)
                               : client.Post(path.c_str(), headers, body, "application/json");
  if (!result) {
    std::cerr << "jobgate: cannot reach " << endpoint.url << ": "
              << httplib::to_string(result.error()) << "\n";
    return kExitUnreachable;
  }
  if (result->status >= 200 && result->status < 300) {
    std::cout << result->body << "\n";
    return kExitOk;
  }
  v1::ErrorResponse error;
  if (subjects::FromJson(result->body, &error).ok() && !error.error().empty()) {
    std::cerr << "jobgate: " << result->status << " " << error.code() << ": " << error.error()
              << "\n";
    for (const auto& d : error.details()) std::cerr << "  " << d << "\n";
    if (error.has_simulation() && error.simulation().jobs() > 0) {
      const auto& sim = error.simulation();
      std::cerr << "  simulation: " << sim.flipped() << " of " << sim.jobs() << " recent jobs flip, "
                << sim.loosened() << " loosening\n";
      for (const auto& cell : sim.flips()) {
        std::cerr << "    " << policy::VerdictName(cell.from()) << " -> "
                  << policy::VerdictName(cell.to()) << ": " << cell.count()
                  << (cell.loosening() ? " LOOSENING" : "");
        if (cell.example_job_ids_size() > 0) std::cerr << " e.g. " << cell.example_job_ids(0);
        std::cerr << "\n";
      }
    }
  } else {
    std::cerr << "jobgate: " << result->status << ": " << result->body << "\n";
  }
  return kExitRefused;
}

// Adds --url and --token to `cmd`, filling `endpoint` (defaults from the environment).
void AddEndpointOptions(CLI::App* cmd, const std::shared_ptr<Endpoint>& endpoint) {
  endpoint->url = EnvOr("JOBGATE_URL", "http://127.0.0.1:8081");
  endpoint->token = EnvOr("JOBGATE_TOKEN", "");
  cmd->add_option("--url", endpoint->url, "The gate's HTTP API ($JOBGATE_URL)");
  cmd->add_option("--token", endpoint->token, "Bearer token ($JOBGATE_TOKEN)");
}

// Reads a file for a request body field; prints the error and returns false on failure.
bool ReadInto(const std::string& path, std::string* out) {
  auto text = policy::ReadFile(path);
  if (!text.ok()) {
    std::cerr << "jobgate: " << text.status().message() << "\n";
    return false;
  }
  *out = std::move(*text);
  return true;
}

void AddPolicyCommands(CLI::App& app, int* exit_code) {
  auto* policy = app.add_subcommand("policy", "Publish, roll back and inspect policy on a running gate");
  policy->require_subcommand(1);
  {
    auto* cmd = policy->add_subcommand(
        "publish", "Validate, simulate on recent jobs, and publish a policy snapshot");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto file = std::make_shared<std::string>();
    auto tests = std::make_shared<std::vector<std::string>>();
    auto request = std::make_shared<v1::PublishRequest>();
    auto name = std::make_shared<std::string>();
    auto note = std::make_shared<std::string>();
    auto allow_loosening = std::make_shared<bool>(false);
    auto force = std::make_shared<bool>(false);
    auto dry_run = std::make_shared<bool>(false);
    cmd->add_option("POLICY", *file, "Policy file (omit to activate a stored --snapshot)");
    cmd->add_option("--snapshot", *name, "Snapshot name (default: the policy's, or its hash)");
    cmd->add_option("--note", *note, "Why: recorded in the publish event");
    cmd->add_option("--test", *tests, "Test suites (*_test.yaml) the candidate must pass");
    cmd->add_flag("--allow-loosening", *allow_loosening, "Publish even if decisions loosen");
    cmd->add_flag("--force", *force, "Publish even if more jobs flip than the gate allows");
    cmd->add_flag("--dry-run", *dry_run, "Validate and simulate only");
    cmd->callback([=] {
      v1::PublishRequest r;
      if (!file->empty() && !ReadInto(*file, r.mutable_policy())) {
        *exit_code = kExitUnreachable;
        return;
      }
      for (const auto& t : *tests) {
        if (!ReadInto(t, r.add_tests())) {
          *exit_code = kExitUnreachable;
          return;
        }
      }
      r.set_snapshot(*name);
      r.set_note(*note);
      r.set_allow_loosening(*allow_loosening);
      r.set_force(*force);
      r.set_dry_run(*dry_run);
      *exit_code = Call(*endpoint, "POST", "/api/v1/policy/publish", subjects::ToJson(r));
    });
  }
  {
    auto* cmd = policy->add_subcommand("rollback", "Make a stored snapshot active again");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto target = std::make_shared<std::string>();
    auto note = std::make_shared<std::string>();
    cmd->add_option("SNAPSHOT", *target, "The snapshot to roll back to")->required();
    cmd->add_option("--note", *note, "Why: recorded in the rollback event");
    cmd->callback([=] {
      v1::RollbackRequest r;
      r.set_target_snapshot(*target);
      r.set_note(*note);
      *exit_code = Call(*endpoint, "POST", "/api/v1/policy/rollback", subjects::ToJson(r));
    });
  }
  {
    auto* cmd = policy->add_subcommand("list", "List snapshots, newest first, and the active one");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    cmd->callback([=] { *exit_code = Call(*endpoint, "GET", "/api/v1/policy/snapshots", ""); });
  }
  {
    auto* cmd = policy->add_subcommand("show", "Show one snapshot with its policy source");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto name = std::make_shared<std::string>();
    cmd->add_option("SNAPSHOT", *name, "Snapshot name")->required();
    cmd->callback([=] {
      *exit_code = Call(*endpoint, "GET", "/api/v1/policy/snapshots/" + *name, "");
    });
  }
  {
    auto* cmd = policy->add_subcommand(
        "simulate", "One job's decision (--job), or a candidate's flips on recent jobs");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto file = std::make_shared<std::string>();
    auto job_file = std::make_shared<std::string>();
    auto snapshot = std::make_shared<std::string>();
    cmd->add_option("POLICY", *file, "Candidate policy (default: the active snapshot)");
    cmd->add_option("--job", *job_file, "A job (JSON)");
    cmd->add_option("--snapshot", *snapshot, "Evaluate with this stored snapshot");
    cmd->callback([=] {
      v1::SimulateRequest r;
      if (!file->empty() && !ReadInto(*file, r.mutable_policy())) {
        *exit_code = kExitUnreachable;
        return;
      }
      if (!job_file->empty()) {
        std::string text;
        if (!ReadInto(*job_file, &text)) {
          *exit_code = kExitUnreachable;
          return;
        }
        if (Status s = subjects::FromJson(text, r.mutable_job()); !s.ok()) {
          std::cerr << "jobgate: " << *job_file << ": " << s.message() << "\n";
          *exit_code = kExitUnreachable;
          return;
        }
      }
      r.set_snapshot(*snapshot);
      *exit_code = Call(*endpoint, "POST", "/api/v1/policy/simulate", subjects::ToJson(r));
    });
  }
  {
    auto* cmd = policy->add_subcommand(
        "shadow", "Evaluate a stored snapshot next to the active one without enforcing it");
    auto endpoint = std::make_shared<Endpoint>();
    AddEndpointOptions(cmd, endpoint);
    auto name = std::make_shared<std::string>();
    auto clear = std::make_shared<bool>(false);
    auto note = std::make_shared<std::string>();
    cmd->add_option("SNAPSHOT", *name, "Snapshot to shadow");
    cmd->add_flag("--clear", *clear, "Stop shadowing");
    cmd->add_option("--note", *note, "Why: recorded in the shadow event");
    cmd->callback([=] {
      if (name->empty() != *clear) {
        std::cerr << "jobgate: give a SNAPSHOT to shadow, or --clear\n";
        *exit_code = kExitUnreachable;
        return;
      }
      v1::ShadowRequest r;
      r.set_snapshot(*name);
      r.set_note(*note);
      *exit_code = Call(*endpoint, "POST", "/api/v1/policy/shadow", subjects::ToJson(r));
    });
  }
}

}  // namespace

void AddOnlineCommands(CLI::App& app, int* exit_code) { AddPolicyCommands(app, exit_code); }

}  // namespace jobgate::gate
