// Test support: a child process with pipes to its stdin and stdout (its stderr goes to
// /dev/null), for tests that talk to the jobgate binary the way an agent does: a hook
// payload on stdin, MCP JSON-RPC both ways.
// Owns the child and both pipe ends: the destructor closes them, and kills and reaps a
// child still running. Not thread-safe: one test thread drives it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace jobgate::testing {

class PipedChild {
 public:
  // Starts argv[0] with `argv` (argv[0] a path). started() says whether it did.
  explicit PipedChild(std::vector<std::string> argv);
  ~PipedChild();
  PipedChild(const PipedChild&) = delete;
  PipedChild& operator=(const PipedChild&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_; }

  // Writes all of `data` to the child's stdin; false when it could not (the child
  // closed it). SIGPIPE is ignored for the process from the first PipedChild on.
  bool Write(std::string_view data);
  void CloseStdin();
  // The child's stdout until it closes it.
  std::string ReadAll();
  // Waits for the child to exit: its exit code, or 128 + the signal that ended it.
  int Wait();
  // The exit code if the child has exited by now (Wait's value), else -1.
  int Poll();

 private:
  pid_t pid_ = -1;
  int in_ = -1;   // the child's stdin, our end
  int out_ = -1;  // the child's stdout, our end
  int exit_code_ = -1;
};

// Runs `argv`, writes `input` to its stdin and closes it, reads its stdout to the end and
// waits for it.
struct ChildRun {
  int exit_code = -1;
  std::string out;
};
ChildRun RunWithInput(std::vector<std::string> argv, std::string_view input);

}  // namespace jobgate::testing
