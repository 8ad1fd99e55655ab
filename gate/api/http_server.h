// The gate's HTTP listener (cpp-httplib): /healthz, /readyz, the control API and the
// approvers' page; HTTPS when given a certificate (cpp-httplib's SSLServer, OpenSSL).
//
// Register routes before Start(). Handlers run on the server's worker threads and must
// be thread-safe. Error answers use the contract's shape {"error": "...", "code": "..."}
// (see ErrorJson).
// Ownership: HttpServer owns its listener thread; Stop() (or the destructor) joins it.
//
// Bounded: a fixed number of worker threads serve connections; beyond `queue` connections
// waiting for a worker, a new connection is served by a shedding thread that answers
// every request on it 503 with Retry-After, without reading a body. Reads and writes
// time out, idle keep-alive connections are closed, and no body over `max_body_bytes`
// is read.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "gate/api/api_limits.h"
#include "base/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace jobgate::gate {

// "host:port" -> host and port; false when malformed.
bool SplitHostPort(const std::string& address, std::string* host, int* port);

class TlsCredentials;

class HttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // With `tls` (which must outlive the server) the listener serves HTTPS only, with the
  // certificate `tls` holds at each handshake (gate/api/tls_credentials.h).
  explicit HttpServer(const ApiLimits& limits = {}, TlsCredentials* tls = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Get(const std::string& pattern, Handler handler);
  void Post(const std::string& pattern, Handler handler);
  // A check run on every request's head before its body is read: true when it answered
  // the request itself (the body is then never read). Set before Start().
  using Admission = std::function<bool(const httplib::Request&, httplib::Response&)>;
  void SetAdmission(Admission admit) { admit_ = std::move(admit); }

  // Binds `address` ("host:port"; port 0 picks a free one) and serves in a thread.
  Status Start(const std::string& address);
  void Stop();
  int port() const { return port_; }

 private:
  // Answers a request 503 without reading its body when its connection was shed; else
  // asks `admit_` (when set) whether its body may be read.
  bool Refuse(const httplib::Request& request, httplib::Response& response) const;

  std::unique_ptr<httplib::Server> server_;
  Admission admit_;
  std::thread thread_;
  int port_ = 0;
};

// {"error": message, "code": code} with `status`.
void ReplyError(httplib::Response& response, int status, std::string_view code,
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
// Serves /api/v1/... through `router` (gate/api/api.h) once it is set; 503 before. `router`
// must outlive the server's handlers (stop the server before clearing it).
void RegisterApiRoutes(HttpServer& server, const std::atomic<const ApiRouter*>& router);

}  // namespace jobgate::gate
