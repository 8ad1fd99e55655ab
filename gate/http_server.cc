#include "gate/http_server.h"

#include <httplib.h>

#include "gate/api.h"
#include "gate/config.h"

namespace jobgate::gate {
namespace {

std::string JsonEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& pattern, Handler handler) {
  server_->Get(pattern, std::move(handler));
}

void HttpServer::Post(const std::string& pattern, Handler handler) {
  server_->Post(pattern, std::move(handler));
}

Status HttpServer::Start(const std::string& address) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(address, &host, &port)) {
    return InvalidArgument("HTTP address '" + address + "' is not host:port");
  }
  if (port == 0) {
    port = server_->bind_to_any_port(host);
    if (port <= 0) return Unavailable("cannot listen on " + address);
  } else if (!server_->bind_to_port(host, port)) {
    return Unavailable("cannot listen on " + address);
  }
  port_ = port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

void ReplyError(httplib::Response& response, int status, const std::string& code,
                const std::string& message) {
  response.status = status;
  response.set_content(
      "{\"error\": \"" + JsonEscape(message) + "\", \"code\": \"" + JsonEscape(code) + "\"}\n",
      "application/json");
}

std::string Readiness::Problem() const {
  if (!policy_active.load()) return "no active policy";
  if (!connected.load()) return "not connected to NATS";
  if (!streams_ensured.load()) return "streams not ensured yet";
  if (!consumer_attached.load()) return "consumer not attached";
  return {};
}

void RegisterHealthRoutes(HttpServer& server, const Readiness& readiness) {
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("{\"status\": \"ok\"}\n", "application/json");
  });
  server.Get("/readyz", [&readiness](const httplib::Request&, httplib::Response& response) {
    const std::string problem = readiness.Problem();
    if (!problem.empty()) {
      ReplyError(response, 503, "NOT_READY", problem);
      return;
    }
    response.set_content("{\"status\": \"ready\"}\n", "application/json");
  });
}

void RegisterApiRoutes(HttpServer& server, const std::atomic<const ApiRouter*>& router) {
  auto handle = [&router](const httplib::Request& req, httplib::Response& res) {
    const ApiRouter* r = router.load(std::memory_order_acquire);
    if (r == nullptr) {
      ReplyError(res, 503, "unavailable", "the control plane is starting");
      return;
    }
    ApiRequest request;
    request.method = req.method;
    request.path = req.path;
    for (const auto& [k, v] : req.params) request.query[k] = v;
    request.body = req.body;
    request.authorization = req.get_header_value("Authorization");
    const ApiResponse response = r->Handle(request);
    res.status = response.status;
    res.set_content(response.body, "application/json");
  };
  server.Get("/api/v1/.*", handle);
  server.Post("/api/v1/.*", handle);
}

}  // namespace jobgate::gate
