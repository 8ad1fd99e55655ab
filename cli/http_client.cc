#include "cli/http_client.h"

#include <httplib.h>

#include <cstdlib>
#include <iostream>

#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace jobgate::gate {

namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

int Call(const Endpoint& endpoint, const std::string& method, const std::string& path,
         const std::string& body) {
  return Call(endpoint, method, path, body, [](const std::string& answer) {
    std::cout << answer << "\n";
    return kExitOk;
  });
}

int Call(const Endpoint& endpoint, const std::string& method, const std::string& path,
         const std::string& body, const SuccessHandler& on_success) {
  httplib::Client client(endpoint.url);
  client.enable_server_certificate_verification(true);
  if (!endpoint.ca_file.empty()) client.set_ca_cert_path(endpoint.ca_file.c_str());
  client.set_connection_timeout(5);
  client.set_tcp_nodelay(true);
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
  if (result->status >= 200 && result->status < 300) return on_success(result->body);
  v1::ErrorResponse error;
  if (subjects::FromJson(result->body, &error).ok() && !error.error().empty()) {
    std::cerr << "jobgate: " << result->status << " " << error.code() << ": " << error.error()
              << "\n";
    for (const auto& d : error.details()) std::cerr << "  " << d << "\n";
    if (error.has_simulation() && error.simulation().jobs() > 0) {
      const auto& sim = error.simulation();
      std::cerr << "  simulation: " << sim.flipped() << " of " << sim.jobs()
                << " recent jobs flip, " << sim.loosened() << " loosening\n";
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

void AddEndpointOptions(CLI::App* cmd, const std::shared_ptr<Endpoint>& endpoint) {
  endpoint->url = EnvOr("JOBGATE_URL", "http://127.0.0.1:8081");
  endpoint->token = EnvOr("JOBGATE_TOKEN", "");
  cmd->add_option("--url", endpoint->url, "The gate's HTTP API ($JOBGATE_URL)");
  cmd->add_option("--token", endpoint->token, "Bearer token ($JOBGATE_TOKEN)");
  endpoint->ca_file = EnvOr("JOBGATE_CA_FILE", "");
  cmd->add_option("--ca-file", endpoint->ca_file,
                  "https: the CA certificate to trust instead of the system's ($JOBGATE_CA_FILE)");
}

}  // namespace jobgate::gate
