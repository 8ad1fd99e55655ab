// The CLI's side of the control API: one HTTP call to a running gate, its answer printed.
//
// The gate is found with --url (or $JOBGATE_URL, default http://127.0.0.1:8081); the
// bearer token comes from --token or $JOBGATE_TOKEN. An https URL's certificate is verified
// against the system's CAs, or --ca-file ($JOBGATE_CA_FILE). A success prints the API's JSON on
// stdout; a refusal prints the ErrorResponse on stderr.
// Exit codes: kExitOk, kExitRefused (the gate answered with an error), kExitUnreachable
// (no answer, or the verb's input could not be read).
// Thread-safety: plain functions; each call opens its own connection.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

namespace jobgate::gate {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUnreachable = 2;

struct Endpoint {
  std::string url;
  std::string token;
  std::string ca_file;  // https: the CA (or self-signed certificate) to trust; empty: the system's
};

// Adds --url, --token and --ca-file to `cmd`, filling `endpoint` (defaults from
// $JOBGATE_URL, $JOBGATE_TOKEN, $JOBGATE_CA_FILE).
void AddEndpointOptions(CLI::App* cmd, const std::shared_ptr<Endpoint>& endpoint);

// Sends one request (`method` "GET" or "POST"; `path` may carry a query string) and
// prints the answer. Returns the exit code.
int Call(const Endpoint& endpoint, const std::string& method, const std::string& path,
         const std::string& body);

// Handles a success's body (prints it for a person); returns the exit code.
using SuccessHandler = std::function<int(const std::string& body)>;
// As Call, but a success's body goes to `on_success` instead of stdout; refusals are
// printed as Call prints them.
int Call(const Endpoint& endpoint, const std::string& method, const std::string& path,
         const std::string& body, const SuccessHandler& on_success);

}  // namespace jobgate::gate
