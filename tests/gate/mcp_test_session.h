// A `jobgate mcp-proxy` process in front of the test MCP server
// (testdata/mcp_test_server.py), driven as an MCP client drives it: JSON-RPC lines on its
// stdin and stdout. Shared by the proxy's integration tests. Not thread-safe.
#pragma once

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "subjects/codec.h"

namespace jobgate::gate::mcp_test {

using Clock = std::chrono::steady_clock;

// One proxy process with the test server behind it.
class ProxySession {
 public:
  // `server_args` follow the log file on the test server's command line.
  ProxySession(const std::vector<std::string>& flags, const std::string& server_log,
               const std::vector<std::string>& server_args = {}) {
    ::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args = {JOBGATE_BINARY, "mcp-proxy"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(
        args.end(),
        {"--", "python3",
         std::string(JOBGATE_SOURCE_DIR) + "/tests/gate/testdata/mcp_test_server.py", server_log});
    args.insert(args.end(), server_args.begin(), server_args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 2);
      ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    in_ = in[1];
    out_ = out[0];
  }
  ~ProxySession() {
    if (in_ >= 0) ::close(in_);
    if (pid_ > 0 && exit_code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  void Send(const std::string& line) {
    const std::string data = line + "\n";
    for (size_t written = 0; written < data.size();) {
      const ssize_t n = ::write(in_, data.data() + written, data.size() - written);
      if (n <= 0) return;
      written += static_cast<size_t>(n);
    }
  }

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
      pollfd fd{out_, POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[65536];
      const ssize_t n = ::read(out_, chunk, sizeof(chunk));
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
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      ReadLine(std::chrono::milliseconds(50));
    }
    return -1;
  }

  // Closes the proxy's stdin and waits for its exit code (-1 on timeout).
  int CloseAndWait() {
    ::close(in_);
    in_ = -1;
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      ReadLine(std::chrono::milliseconds(50));  // drains; the wait is on the exit
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int exit_code_ = -1;
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
