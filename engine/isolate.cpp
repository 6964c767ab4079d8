// trial_run: fork, run, report through a pipe; the parent polls the pipe with a deadline.
#include "engine/isolate.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace convis {

namespace {

constexpr size_t kMaxMessage = 1000;

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= size_t(w);
  }
}

[[noreturn]] void child(int fd, const std::function<void()>& fn) {
  // Exit codes: 0 fn returned, 2 fn threw (its message on the pipe). _exit: no atexit handlers,
  // no static destructors, no flushing of stdio buffers copied from the parent.
  int code = 0;
  std::string message;
  try {
    fn();
  } catch (const std::exception& e) {
    message = e.what();
    code = 2;
  } catch (...) {
    message = "unknown error";
    code = 2;
  }
  if (message.size() > kMaxMessage) message.resize(kMaxMessage);
  write_all(fd, message.data(), message.size());
  ::close(fd);
  ::_exit(code);
}

}  // namespace

double read_timeout_s(unsigned long long bytes) {
  if (const char* env = std::getenv("CONVIS_READ_TIMEOUT")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && *end == '\0' && v > 0 && v < 1e6) return v;
  }
  return 10.0 + double(bytes) / 50e6;
}

void trial_run(const std::string& what, double timeout_s, const std::function<void()>& fn) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  if (pid == 0) {
    ::close(fds[0]);
    // The child speaks only through the pipe: a crash report (a sanitizer's, a library's own
    // diagnostics) must not reach the user's terminal as a second line.
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, 2);
    child(fds[1], fn);
  }
  ::close(fds[1]);

  std::string message;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  bool timed_out = false;
  for (;;) {  // read until EOF (the child exited or closed the pipe) or the deadline
    const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, int(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // re-check the deadline
    char buf[512];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (message.size() < kMaxMessage) message.append(buf, size_t(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    throw std::runtime_error(what + ": reading took longer than " + std::to_string(int(timeout_s + 0.5)) +
                             " s; the file is damaged (or the disk stalled)");
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    throw std::runtime_error(what + ": the reader crashed (signal " + std::to_string(sig) + (name ? ", SIG" + std::string(name) : "") +
                             "); the file is damaged");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    if (message.size() > kMaxMessage) message.resize(kMaxMessage);
    throw std::runtime_error(message.empty() ? what + ": the reader failed" : message);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(what + ": the reader exited with status " + std::to_string(WEXITSTATUS(status)));
}

}  // namespace convis
