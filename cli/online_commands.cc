// Online verbs: `jobgate policy ...` talks to a running gate's HTTP API (cli/http_client.h:
// --url, --token, how answers are printed, exit codes).

#include <iostream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "gate/lifecycle/snapshot_signing.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace jobgate::gate {
namespace {

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

// policy publish: validate, simulate, publish (or --dry-run) a snapshot.
void AddPublishCommand(CLI::App* policy, int* exit_code) {
  auto* cmd = policy->add_subcommand(
      "publish", "Validate, simulate on recent jobs, and publish a policy snapshot");
  auto endpoint = std::make_shared<Endpoint>();
  AddEndpointOptions(cmd, endpoint);
  auto file = std::make_shared<std::string>();
  auto tests = std::make_shared<std::vector<std::string>>();
  auto name = std::make_shared<std::string>();
  auto note = std::make_shared<std::string>();
  auto allow_loosening = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  auto dry_run = std::make_shared<bool>(false);
  auto signing_key = std::make_shared<std::string>();
  cmd->add_option("POLICY", *file, "Policy file (omit to activate a stored --snapshot)");
  cmd->add_option("--snapshot", *name, "Snapshot name (default: the policy's, or its hash)");
  cmd->add_option("--note", *note, "Why: recorded in the publish event");
  cmd->add_option("--test", *tests, "Test suites (*_test.yaml) the candidate must pass");
  cmd->add_flag("--allow-loosening", *allow_loosening, "Publish even if decisions loosen");
  cmd->add_flag("--force", *force, "Publish even if more jobs flip than the gate allows");
  cmd->add_flag("--dry-run", *dry_run, "Validate and simulate only");
  cmd->add_option("--signing-key", *signing_key,
                  "Sign the snapshot with this Ed25519 private key (PEM)");
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
    if (!signing_key->empty()) {
      std::string pem;
      if (!ReadInto(*signing_key, &pem)) {
        *exit_code = kExitUnreachable;
        return;
      }
      auto key = policy::SnapshotSigningKey::FromPem(pem);
      Status signed_ok = key.ok() ? SignPublishRequest(*key, &r) : key.status();
      if (!signed_ok.ok()) {
        std::cerr << "jobgate: " << *signing_key << ": " << signed_ok.message() << "\n";
        *exit_code = kExitUnreachable;
        return;
      }
    }
    *exit_code = Call(*endpoint, "POST", "/api/v1/policy/publish", subjects::ToJson(r));
  });
}

// policy rollback SNAPSHOT.
void AddRollbackCommand(CLI::App* policy, int* exit_code) {
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

// policy list: the snapshots, newest first, and the active one.
void AddListCommand(CLI::App* policy, int* exit_code) {
  auto* cmd = policy->add_subcommand("list", "List snapshots, newest first, and the active one");
  auto endpoint = std::make_shared<Endpoint>();
  AddEndpointOptions(cmd, endpoint);
  cmd->callback([=] { *exit_code = Call(*endpoint, "GET", "/api/v1/policy/snapshots", ""); });
}

// policy show SNAPSHOT.
void AddShowCommand(CLI::App* policy, int* exit_code) {
  auto* cmd = policy->add_subcommand("show", "Show one snapshot with its policy source");
  auto endpoint = std::make_shared<Endpoint>();
  AddEndpointOptions(cmd, endpoint);
  auto name = std::make_shared<std::string>();
  cmd->add_option("SNAPSHOT", *name, "Snapshot name")->required();
  cmd->callback(
      [=] { *exit_code = Call(*endpoint, "GET", "/api/v1/policy/snapshots/" + *name, ""); });
}

// policy simulate: one job's decision, or a candidate's flips on recent jobs.
void AddSimulateCommand(CLI::App* policy, int* exit_code) {
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

// policy shadow SNAPSHOT | --clear.
void AddShadowCommand(CLI::App* policy, int* exit_code) {
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

void AddPolicyCommands(CLI::App& app, int* exit_code) {
  auto* policy =
      app.add_subcommand("policy", "Publish, roll back and inspect policy on a running gate");
  policy->require_subcommand(1);
  AddPublishCommand(policy, exit_code);
  AddRollbackCommand(policy, exit_code);
  AddListCommand(policy, exit_code);
  AddShowCommand(policy, exit_code);
  AddSimulateCommand(policy, exit_code);
  AddShadowCommand(policy, exit_code);
  AddPolicyVerifyCommand(policy, exit_code);
}

}  // namespace

void AddOnlineCommands(CLI::App& app, int* exit_code) { AddPolicyCommands(app, exit_code); }

}  // namespace jobgate::gate
