// The control API's budgets over real HTTP (cpp-httplib on a loopback port, raw sockets
// as clients): a token is refused before the body is read, whatever the body claims;
// slow clients and a thousand concurrent calls each get an answer (200, 429 or 503),
// never a hang or a dropped connection without one.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gate/api/api.h"
#include "gate/api/http_server.h"
#include "base/hash.h"

namespace jobgate::gate {
namespace {

// A TCP connection to the server, closed when it goes out of scope.
class Conn {
 public:
  explicit Conn(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Conn() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads one response's status line and headers (and whatever body came with them);
  // the status code, or 0 when the connection closed or timed out first.
  int ReadStatus(std::string* head = nullptr) {
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return 0;
      got.append(buf, static_cast<size_t>(n));
    }
    if (head != nullptr) *head = got;
    return got.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(got.c_str() + 9) : 0;
  }

 private:
  int fd_;
  bool connected_ = false;
};

std::string PostHead(const std::string& path, const std::string& token, uint64_t length,
                     const std::string& extra = "") {
  std::string head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
  head += "Content-Length: " + std::to_string(length) + "\r\n" + extra + "\r\n";
  return head;
}

ApiToken Token(const std::string& name, const std::string& secret, Role role) {
  return ApiToken{name, jobgate::Sha256Hex(secret), static_cast<uint8_t>(role), {}};
}

class ApiLimitsHttpTest : public ::testing::Test {
 protected:
  void Start(ApiLimits limits) {
    auth_ = std::make_unique<Authenticator>(std::vector<ApiToken>{
        Token("admin", "admin-secret", Role::kPolicyAdmin),
        Token("viewer", "viewer-secret", Role::kViewer)});
    router_ = std::make_unique<ApiRouter>(auth_.get(), limits);
    auto ok = [this](const ApiRequest& request, const Identity&, const auto&) {
      handled_bytes_ += request.body.size();
      ++handled_;
      return ApiResponse{200, "{}"};
    };
    router_->Add("POST", "/api/v1/policy/simulate", Role::kViewer, "policy.simulate", ok,
                 nullptr, ApiRouter::Body::kPolicy);
    router_->Add("POST", "/api/v1/policy/publish", Role::kPolicyAdmin, "policy.publish", ok,
                 nullptr, ApiRouter::Body::kPolicy);
    router_ptr_.store(router_.get());
    server_ = std::make_unique<HttpServer>(limits);
    RegisterApiRoutes(*server_, router_ptr_);
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<ApiRouter> router_;
  std::atomic<const ApiRouter*> router_ptr_{nullptr};
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
  std::atomic<size_t> handled_bytes_{0};
};

TEST_F(ApiLimitsHttpTest, A300MegabyteBodyIsRefusedOnItsHeadWithoutBeingRead) {
  Start({});
  const uint64_t huge = 300ull << 20;
  struct Case {
    std::string path, token;
    int status;
  };
  for (const Case& c : {Case{"/api/v1/policy/simulate", "", 401},
                        Case{"/api/v1/policy/simulate", "not-a-token", 401},
                        Case{"/api/v1/policy/publish", "viewer-secret", 403},
                        Case{"/api/v1/policy/simulate", "viewer-secret", 413}}) {
    Conn conn(server_->port());
    ASSERT_TRUE(conn.connected());
    // Only the head is sent: the answer must come without the body.
    ASSERT_TRUE(conn.Send(PostHead(c.path, c.token, huge)));
    std::string head;
    EXPECT_EQ(conn.ReadStatus(&head), c.status) << c.path << " " << c.token << "\n" << head;
    EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
  }
  // A client that waits for "100 Continue" gets the refusal instead and sends nothing.
  Conn conn(server_->port());
  ASSERT_TRUE(conn.Send(PostHead("/api/v1/policy/simulate", "", huge, "Expect: 100-continue\r\n")));
  EXPECT_EQ(conn.ReadStatus(), 401);
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(ApiLimitsHttpTest, ABodyWithoutALengthIsRefused) {
  Start({});
  Conn conn(server_->port());
  ASSERT_TRUE(conn.Send(
      "POST /api/v1/policy/simulate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer viewer-secret\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"));
  EXPECT_EQ(conn.ReadStatus(), 411);
}

TEST_F(ApiLimitsHttpTest, SlowClientsCostTheirOwnConnectionsOnly) {
  ApiLimits limits;
  limits.http_threads = 4;
  limits.http_queue = 8;
  limits.http_read_timeout = std::chrono::seconds(1);
  limits.calls_per_second = 0;
  Start(limits);
  // 200 clients that open a connection and send half a request head, then nothing.
  std::vector<std::unique_ptr<Conn>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<Conn>(server_->port()));
    ASSERT_TRUE(slow.back()->connected());
    slow.back()->Send("POST /api/v1/policy/simulate HTTP/1.1\r\nHost: x\r\n");
  }
  // Meanwhile an ordinary call gets an answer: served, or shed with 503.
  const std::string body = "{}";
  Conn conn(server_->port());
  ASSERT_TRUE(conn.Send(PostHead("/api/v1/policy/simulate", "viewer-secret", body.size()) + body));
  std::string head;
  const int status = conn.ReadStatus(&head);
  EXPECT_TRUE(status == 200 || status == 503) << head;
  if (status == 503) {
    EXPECT_NE(head.find("Retry-After: 1"), std::string::npos) << head;
  }
  // Every slow client is timed out or shed, and the next call is served.
  for (auto& c : slow) c->ReadStatus();
  slow.clear();
  Conn after(server_->port());
  ASSERT_TRUE(after.Send(PostHead("/api/v1/policy/simulate", "viewer-secret", body.size()) + body));
  EXPECT_EQ(after.ReadStatus(), 200);
}

TEST_F(ApiLimitsHttpTest, AThousandConcurrentCallsAreEachAnswered) {
  ApiLimits limits;
  limits.http_threads = 4;
  limits.http_queue = 16;
  Start(limits);
  const std::string body = R"({"policy": "version: v1\nrules: []\n"})";
  std::atomic<int> ok{0}, limited{0}, shed{0}, other{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 50; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        Conn conn(server_->port());
        if (!conn.connected() ||
            !conn.Send(PostHead("/api/v1/policy/simulate", "viewer-secret", body.size()) + body)) {
          ++other;
          continue;
        }
        switch (conn.ReadStatus()) {
          case 200: ++ok; break;
          case 429: ++limited; break;
          case 503: ++shed; break;
          default: ++other;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  std::printf("1,000 concurrent simulate calls: %d served, %d rate limited, %d shed\n", ok.load(),
              limited.load(), shed.load());
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok + limited + shed, 1000);
  EXPECT_EQ(ok.load(), handled_.load());
  // One token's default budget: a burst of 40, then 10 a second.
  EXPECT_GE(ok.load(), 40);
  EXPECT_GT(limited.load(), 0);
}

}  // namespace
}  // namespace jobgate::gate
