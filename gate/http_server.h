// The gate's HTTP listener (cpp-httplib): /healthz, /readyz, and whatever later
// components register (the policy and approvals API of the lifecycle issues).
//
// Register routes before Start(). Handlers run on the server's worker threads and must
// be thread-safe. Error answers use the contract's shape {"error": "...", "code": "..."}
// (see ErrorJson).
// Ownership: HttpServer owns its listener thread; Stop() (or the destructor) joins it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "policy/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace jobgate::gate {

class HttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Get(const std::string& pattern, Handler handler);
  void Post(const std::string& pattern, Handler handler);

  // Binds `address` ("host:port"; port 0 picks a free one) and serves in a thread.
  Status Start(const std::string& address);
  void Stop();
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// {"error": message, "code": code} with `status`.
void ReplyError(httplib::Response& response, int status, const std::string& code,
                const std::string& message);

// What /readyz reports. Each flag is set by the component that owns the condition.
// Thread-safe (atomics).
struct Readiness {
  std::atomic<bool> connected{false};
  std::atomic<bool> streams_ensured{false};
  std::atomic<bool> policy_active{false};
  std::atomic<bool> consumer_attached{false};

  // "" when ready, else the first unmet condition.
  std::string Problem() const;
};

// GET /healthz: 200 while the process serves; GET /readyz: 200 when `readiness` is met,
// else 503 with {"error": ..., "code": "NOT_READY"}. `readiness` must outlive `server`.
void RegisterHealthRoutes(HttpServer& server, const Readiness& readiness);

class ApiRouter;
// Serves /api/v1/... through `router` (gate/api.h) once it is set; 503 before. `router`
// must outlive the server's handlers (stop the server before clearing it).
void RegisterApiRoutes(HttpServer& server, const std::atomic<const ApiRouter*>& router);

}  // namespace jobgate::gate
