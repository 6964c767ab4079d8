#include "engine/file_util.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace convis {

namespace fs = std::filesystem;

namespace {

// Temporary files being written, for the signal handler: fixed slots of fixed-size buffers, so
// the handler touches no allocator. A slot is claimed by a compare-exchange on `used`.
constexpr int kSlots = 16;
constexpr size_t kPathMax = 4096;
struct Slot {
  std::atomic<int> used{0};
  char path[kPathMax];
};
Slot g_slots[kSlots];

int register_temp(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slots[i].used.compare_exchange_strong(expected, 2)) {  // 2: being filled
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].used.store(1);
      return i;
    }
  }
  return -1;
}

void unregister_temp(int slot) {
  if (slot >= 0) g_slots[slot].used.store(0);
}

extern "C" void on_fatal_signal(int sig) {
  for (Slot& s : g_slots)
    if (s.used.load() == 1) ::unlink(s.path);
  std::signal(sig, SIG_DFL);
  ::raise(sig);
}

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

std::string errno_text(int e) { return std::strerror(e); }

// A temporary file in `dir` (O_CREAT|O_EXCL, never through a symlink), registered for removal
// on a signal. Closes and unlinks itself unless committed.
struct TempFile {
  std::string path;
  int fd = -1;
  int slot = -1;
  TempFile(const fs::path& dir, const std::string& base, const std::string& target) {
    std::string templ = (dir / ("." + base + ".tmp-XXXXXX")).string();
    // The file exists from mkostemp on; the signals that remove it wait until it is registered.
    sigset_t block, old;
    sigemptyset(&block);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
    ::pthread_sigmask(SIG_BLOCK, &block, &old);
    fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd >= 0) slot = register_temp(templ);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (fd < 0) throw std::runtime_error("cannot write '" + target + "': cannot create a file in '" + dir.string() + "' (" + errno_text(errno) + ")");
    path = templ;
    // mkstemp makes 0600; a finished file gets the permissions a plain open(O_CREAT, 0666) would.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
  }
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
    unregister_temp(slot);
  }
  void close_checked(const std::string& target) {
    const int f = fd;
    fd = -1;
    if (::fsync(f) != 0 || ::close(f) != 0)
      throw std::runtime_error("cannot write '" + target + "': " + errno_text(errno) + " (disk full?)");
  }
  void commit(const std::string& target) {
    if (::rename(path.c_str(), target.c_str()) != 0)
      throw std::runtime_error("cannot write '" + target + "': rename failed (" + errno_text(errno) + ")");
    path.clear();
  }
};

// The folder of `path`, after checking that it exists and that `path` is absent or a regular
// file (or a symlink to one, which the rename replaces).
fs::path checked_target(const std::string& path) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (target.filename().empty() || target.filename() == "." || target.filename() == "..")
    throw std::runtime_error("cannot write '" + path + "': not a file name");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error("cannot write '" + path + "': directory '" + dir.string() + "' does not exist");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw std::runtime_error("cannot write '" + path + "': it is " + kind_of(st.st_mode) + ", not a regular file");
  return dir;
}

}  // namespace

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  const fs::path dir = checked_target(path);
  TempFile tmp(dir, fs::path(path).filename().string(), path);
  ::close(tmp.fd);  // the writer opens the path itself (HDF5, ofstream)
  tmp.fd = -1;
  write(tmp.path);
  // Flush what the writer left in the page cache: a full disk can surface only here.
  tmp.fd = ::open(tmp.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (tmp.fd < 0) throw std::runtime_error("cannot write '" + path + "': the temporary file vanished");
  tmp.close_checked(path);
  tmp.commit(path);
}

void write_file_atomically(const std::string& path, const void* data, size_t bytes) {
  const fs::path dir = checked_target(path);
  TempFile tmp(dir, fs::path(path).filename().string(), path);
  const char* p = static_cast<const char*>(data);
  size_t left = bytes;
  while (left > 0) {
    const ssize_t w = ::write(tmp.fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw std::runtime_error("cannot write '" + path + "': " + (w < 0 ? errno_text(errno) : std::string("no progress")) +
                               " after " + std::to_string(bytes - left) + " of " + std::to_string(bytes) + " bytes");
    p += w;
    left -= size_t(w);
  }
  tmp.close_checked(path);
  tmp.commit(path);
}

StagedDir::StagedDir(const std::string& dir) : dir_(dir) {
  if (dir.empty()) throw std::runtime_error("output directory: empty path");
  fs::path target = fs::path(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/" -> "out"
  std::error_code ec;
  if (fs::exists(target, ec) && !fs::is_directory(target, ec))
    throw std::runtime_error("output directory '" + dir + "' exists and is not a directory");
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (!fs::is_directory(parent, ec))
    throw std::runtime_error("output directory '" + dir + "' cannot be created (" + parent.string() + " is not a directory)");
  std::string templ = (parent / ("." + target.filename().string() + ".staging-XXXXXX")).string();
  if (!::mkdtemp(templ.data()))
    throw std::runtime_error("output directory '" + dir + "' is not writable (" + errno_text(errno) + ")");
  staging_ = templ;
  dir_ = target.string();
}

StagedDir::~StagedDir() {
  if (staging_.empty()) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedDir::commit() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (!fs::is_directory(dir_, ec)) throw std::runtime_error("output directory '" + dir_ + "' cannot be created");
  for (const auto& e : fs::directory_iterator(staging_)) {
    const fs::path to = fs::path(dir_) / e.path().filename();
    struct stat st;
    if (::lstat(to.c_str(), &st) == 0 && S_ISDIR(st.st_mode) != e.is_directory())
      throw std::runtime_error("cannot write '" + to.string() + "': it is " + kind_of(st.st_mode) + " in the way");
    if (e.is_directory() && ::lstat(to.c_str(), &st) == 0) fs::remove_all(to, ec);
    if (::rename(e.path().c_str(), to.c_str()) != 0)
      throw std::runtime_error("cannot write '" + to.string() + "': rename failed (" + errno_text(errno) + ")");
  }
  fs::remove_all(staging_, ec);
  staging_.clear();
}

void require_regular_file(const std::string& path, const char* what) {
  struct stat st;
  if (path.empty()) throw std::runtime_error(std::string(what) + ": empty path");
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw std::runtime_error(std::string(what) + " '" + path + "' does not exist");
    throw std::runtime_error(std::string(what) + " '" + path + "' cannot be read (" + errno_text(errno) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw std::runtime_error(std::string(what) + " '" + path + "' is a directory");
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error(std::string(what) + " '" + path + "' is " + kind_of(st.st_mode) + ", not a regular file");
}

std::string read_small_file(const std::string& path, const char* what, uint64_t max_bytes) {
  require_regular_file(path, what);
  // O_NONBLOCK: should the path be swapped for a FIFO after the check, open does not block.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw std::runtime_error(std::string(what) + " '" + path + "' cannot be opened (" + errno_text(errno) + ")");
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(std::string(what) + " '" + path + "' is not a regular file");
  }
  if (uint64_t(st.st_size) > max_bytes) {
    ::close(fd);
    throw std::runtime_error(std::string(what) + " '" + path + "' is " + std::to_string(st.st_size) + " bytes, more than the " +
                             std::to_string(max_bytes) + " accepted");
  }
  std::string out(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += size_t(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

void remove_temp_files_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace convis
