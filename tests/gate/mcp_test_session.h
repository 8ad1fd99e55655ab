// A `jobgate mcp-proxy` process in front of the test MCP server
// (testdata/mcp_test_server.py), driven as an MCP client drives it: JSON-RPC lines on its
// stdin and stdout. Shared by the proxy's integration tests. Not thread-safe.
#pragma once

#include <google/protobuf/struct.pb.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "subjects/codec.h"
#include "tests/support/piped_child.h"

namespace jobgate::gate::mcp_test {

using Clock = std::chrono::steady_clock;

// One proxy process with the test server behind it.
class ProxySession {
 public:
  // `server_args` follow the log file on the test server's command line.
  ProxySession(const std::vector<std::string>& flags, const std::string& server_log,
               const std::vector<std::string>& server_args = {})
      : child_(Argv(flags, server_log, server_args)) {}

  void Send(const std::string& line) { child_.Write(line + "\n"); }

  // The next line from the proxy, or "" when none comes within `timeout`.
  std::string ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return "";
      pollfd fd{child_.stdout_fd(), POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[65536];
      const ssize_t n = ::read(child_.stdout_fd(), chunk, sizeof(chunk));
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Reads lines until the answer whose id is `id_json`; "" when none comes in time.
  std::string AnswerTo(const std::string& id_json) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      const std::string line = ReadLine();
      if (line.empty()) return "";
      google::protobuf::Struct parsed;
      if (!subjects::FromJson(line, &parsed).ok()) continue;
      auto id = parsed.fields().find("id");
      if (id == parsed.fields().end()) continue;
      if (subjects::ToJson(id->second) == id_json) return line;
    }
    return "";
  }

  // Waits for the proxy's exit code without closing its stdin (-1 on timeout).
  int WaitExit() {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (const int code = child_.Poll(); code >= 0) return code;
      ReadLine(std::chrono::milliseconds(50));
    }
    return -1;
  }

  // Closes the proxy's stdin and waits for its exit code (-1 on timeout).
  int CloseAndWait() {
    child_.CloseStdin();
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      if (const int code = child_.Poll(); code >= 0) return code;
      ReadLine(std::chrono::milliseconds(50));  // drains; the wait is on the exit
    }
    return -1;
  }

 private:
  static std::vector<std::string> Argv(const std::vector<std::string>& flags,
                                       const std::string& server_log,
                                       const std::vector<std::string>& server_args) {
    std::vector<std::string> args = {JOBGATE_BINARY, "mcp-proxy"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(
        args.end(),
        {"--", "python3",
         std::string(JOBGATE_SOURCE_DIR) + "/tests/gate/testdata/mcp_test_server.py", server_log});
    args.insert(args.end(), server_args.begin(), server_args.end());
    return args;
  }

  ::jobgate::testing::PipedChild child_;
  std::string buffer_;
};

inline std::string Call(int id, const std::string& tool, const std::string& arguments = "{}") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":")" + tool + R"(","arguments":)" + arguments +
         "}}";
}

inline bool IsToolError(const std::string& answer) {
  return answer.find("\"isError\":true") != std::string::npos;
}

inline std::vector<std::string> LoggedCalls(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> tools;
  for (std::string line; std::getline(in, line);) {
    google::protobuf::Struct parsed;
    if (subjects::FromJson(line, &parsed).ok()) {
      tools.push_back(parsed.fields().at("name").string_value());
    }
  }
  return tools;
}

}  // namespace jobgate::gate::mcp_test
