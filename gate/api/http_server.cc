#include "gate/api/http_server.h"

#include <httplib.h>

#include <charconv>
#include <deque>

#include "base/json.h"
#include "subjects/api_errors.h"
#include "base/mutex.h"
#include "gate/api/api.h"
#include "gate/api/tls_credentials.h"

namespace jobgate::gate {

namespace api_error = subjects::api_error;

bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  int value = 0;
  const char* begin = address.data() + colon + 1;
  const char* end = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || value < 0 || value > 65535) return false;
  *host = address.substr(0, colon);
  if (host->empty()) *host = "0.0.0.0";
  *port = value;
  return true;
}
namespace {

// True on the thread that serves shed connections.
thread_local bool t_shedding = false;

// httplib's task queue with a bound: `threads` workers take connections in order; a
// connection arriving while `queue` already wait goes to the shedding threads instead,
// which serve it with t_shedding set: each request is answered 503 once its head is
// read, its body never. A client too slow to send its head holds a shedding thread for
// the read timeout at most, so there are several.
constexpr int kShedThreads = 32;
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(int threads, int queue) : max_waiting_(static_cast<size_t>(std::max(queue, 0))) {
    for (int i = 0; i < std::max(threads, 1); ++i) workers_.emplace_back([this] { Work(false); });
    for (int i = 0; i < kShedThreads; ++i) workers_.emplace_back([this] { Work(true); });
  }

  void enqueue(std::function<void()> fn) override {
    {
      MutexLock lock(&mu_);
      if (waiting_.size() < max_waiting_) {
        waiting_.push_back(std::move(fn));
      } else {
        shed_.push_back(std::move(fn));
      }
    }
    cv_.NotifyAll();
  }

  void shutdown() override {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    cv_.NotifyAll();
    for (auto& t : workers_) t.join();
  }

 private:
  void Work(bool shedder) {
    t_shedding = shedder;
    for (;;) {
      std::function<void()> fn;
      {
        MutexLock lock(&mu_);
        std::deque<std::function<void()>>& mine = shedder ? shed_ : waiting_;
        while (mine.empty() && !stopping_) cv_.Wait(&mu_);
        if (mine.empty()) return;  // stopping, and nothing left to close
        fn = std::move(mine.front());
        mine.pop_front();
      }
      fn();  // serves the connection, then closes it
    }
  }

  const size_t max_waiting_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> waiting_ GUARDED_BY(mu_);
  std::deque<std::function<void()>> shed_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

std::unique_ptr<httplib::Server> MakeServer(TlsCredentials* tls) {
  if (tls == nullptr) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>(
      [tls](SSL_CTX& ctx) { return tls->Install(&ctx); });
}

}  // namespace

HttpServer::HttpServer(const ApiLimits& limits, TlsCredentials* tls)
    : server_(MakeServer(tls)) {
  const int threads = limits.http_threads;
  const int queue = limits.http_queue;
  server_->new_task_queue = [threads, queue] { return new BoundedPool(threads, queue); };
  server_->set_read_timeout(limits.http_read_timeout);
  server_->set_write_timeout(limits.http_write_timeout);
  server_->set_keep_alive_timeout(limits.http_idle_timeout.count());
  // A response is written in more than one segment; with Nagle's algorithm the last one
  // waits for the client's delayed ACK (about 40 ms on Linux) on a kept-alive connection.
  server_->set_tcp_nodelay(true);
  server_->set_payload_max_length(std::max(limits.max_body_bytes, limits.max_policy_body_bytes));
  auto refuse = [this](const httplib::Request& request, httplib::Response& response) {
    return Refuse(request, response);
  };
  server_->set_pre_routing_handler(
      [refuse](const httplib::Request& request, httplib::Response& response) {
        return refuse(request, response) ? httplib::Server::HandlerResponse::Handled
                                         : httplib::Server::HandlerResponse::Unhandled;
      });
  // A client that waits for "100 Continue" before sending its body is answered the
  // refusal instead, and never sends it.
  server_->set_expect_100_continue_handler(
      [refuse](const httplib::Request& request, httplib::Response& response) {
        return refuse(request, response) ? response.status : 100;
      });
}

bool HttpServer::Refuse(const httplib::Request& request, httplib::Response& response) const {
  if (t_shedding) {
    ReplyError(response, 503, api_error::kOverloaded, "the gate's API is at its connection limit");
    response.set_header("Retry-After", "1");
  } else if (!admit_ || !admit_(request, response)) {
    return false;
  }
  // The body, if any, is left unread: the connection cannot carry another request.
  response.set_header("Connection", "close");
  return true;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& pattern, Handler handler) {
  server_->Get(pattern, std::move(handler));
}

void HttpServer::Post(const std::string& pattern, Handler handler) {
  server_->Post(pattern, std::move(handler));
}

Status HttpServer::Start(const std::string& address) {
  if (!server_->is_valid()) return Unavailable("cannot set up TLS for " + address);
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

void ReplyError(httplib::Response& response, int status, std::string_view code,
                const std::string& message) {
  response.status = status;
  response.set_content(
      "{\"error\": " + JsonQuote(message) + ", \"code\": " + JsonQuote(code) + "}\n",
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
      ReplyError(response, 503, api_error::kNotReady, problem);
      return;
    }
    response.set_content("{\"status\": \"ready\"}\n", "application/json");
  });
}

namespace {

ApiRequest HeadOf(const httplib::Request& req) {
  ApiRequest request;
  request.method = req.method;
  request.path = req.path;
  for (const auto& [k, v] : req.params) request.query[k] = v;
  request.authorization = req.get_header_value("Authorization");
  return request;
}

void Send(const ApiResponse& response, httplib::Response& res) {
  res.status = response.status;
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
  if (response.retry_after_seconds > 0) {
    res.set_header("Retry-After", std::to_string(response.retry_after_seconds));
  }
  res.set_content(response.body, "application/json");
}

// A successful GET carries an ETag; one whose If-None-Match names it is answered 304
// with no body (what a polling client, such as the approvers' page, already has).
void SendGet(const ApiResponse& response, const httplib::Request& req, httplib::Response& res) {
  Send(response, res);
  if (response.status != 200) return;
  const std::string tag = response.etag.empty() ? EntityTag(response.body) : response.etag;
  res.set_header("ETag", tag);
  if (req.get_header_value("If-None-Match") == tag) {
    res.status = 304;
    res.body.clear();
  }
}

}  // namespace

void RegisterApiRoutes(HttpServer& server, const std::atomic<const ApiRouter*>& router) {
  server.SetAdmission([&router](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/", 0) != 0) return false;
    const ApiRouter* r = router.load(std::memory_order_acquire);
    if (r == nullptr) return false;  // the handler answers 503
    uint64_t length = 0;
    if (req.has_header("Content-Length")) {
      const std::string text = req.get_header_value("Content-Length");
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
      if (ec != std::errc() || ptr != text.data() + text.size()) {
        ReplyError(res, 400, api_error::kInvalidRequest, "Content-Length is not a number");
        return true;
      }
    } else if (req.has_header("Transfer-Encoding")) {
      ReplyError(res, 411, api_error::kLengthRequired, "a request body needs a Content-Length");
      return true;
    }
    auto refusal = r->Admit(HeadOf(req), length);
    if (!refusal) return false;
    Send(*refusal, res);
    return true;
  });
  auto handle = [&router](const httplib::Request& req, httplib::Response& res) {
    const ApiRouter* r = router.load(std::memory_order_acquire);
    if (r == nullptr) {
      ReplyError(res, 503, api_error::kUnavailable, "the control plane is starting");
      res.set_header("Retry-After", "1");
      return;
    }
    ApiRequest request = HeadOf(req);
    request.body = req.body;
    if (req.method == "GET") {
      SendGet(r->Handle(request), req, res);
    } else {
      Send(r->Handle(request), res);
    }
  };
  server.Get("/api/v1/.*", handle);
  server.Post("/api/v1/.*", handle);
}

}  // namespace jobgate::gate
