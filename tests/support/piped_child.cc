#include "tests/support/piped_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace jobgate::testing {
namespace {

int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

PipedChild::PipedChild(std::vector<std::string> argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits before reading all its input
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int in[2], out[2];
  if (::pipe(in) != 0) return;
  if (::pipe(out) != 0) {
    ::close(in[0]), ::close(in[1]);
    return;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  in_ = in[1];
  out_ = out[0];
  if (pid_ < 0) {
    CloseStdin();
    ::close(out_);
    out_ = -1;
  }
}

PipedChild::~PipedChild() {
  CloseStdin();
  if (pid_ > 0 && exit_code_ < 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) ::close(out_);
}

bool PipedChild::Write(std::string_view data) {
  for (size_t written = 0; written < data.size();) {
    const ssize_t n = ::write(in_, data.data() + written, data.size() - written);
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

void PipedChild::CloseStdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

std::string PipedChild::ReadAll() {
  std::string text;
  char chunk[65536];
  for (ssize_t n; (n = ::read(out_, chunk, sizeof(chunk))) > 0;) {
    text.append(chunk, static_cast<size_t>(n));
  }
  return text;
}

int PipedChild::Wait() {
  if (exit_code_ >= 0 || pid_ <= 0) return exit_code_;
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) exit_code_ = ExitCodeOf(status);
  return exit_code_;
}

int PipedChild::Poll() {
  if (exit_code_ >= 0 || pid_ <= 0) return exit_code_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = ExitCodeOf(status);
  return exit_code_;
}

ChildRun RunWithInput(std::vector<std::string> argv, std::string_view input) {
  ChildRun run;
  PipedChild child(std::move(argv));
  if (!child.started()) return run;
  child.Write(input);
  child.CloseStdin();
  run.out = child.ReadAll();
  run.exit_code = child.Wait();
  return run;
}

}  // namespace jobgate::testing
