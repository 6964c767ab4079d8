#pragma once
// File helpers shared by every reader and writer. Readers accept regular files only (a FIFO or a
// device would block or never end); writers never leave anything half-written behind:
//
//   write_atomically(path, [&](const std::string& tmp) { ... write tmp ... });
//   write_file_atomically(path, bytes);    // the same for bytes already in memory (PNG, npy)
//
// The temporary file is created next to `path` with O_CREAT|O_EXCL|O_NOFOLLOW and a random name
// (mkstemp), so a planted symlink is never written through; it is flushed to disk (fsync) and
// renamed onto `path` only when complete. On any failure it is removed and `path` keeps its old
// contents. A `path` that exists and is not a regular file (a directory, FIFO, device, socket) is
// refused. With remove_temp_files_on_signals() installed, SIGINT/SIGTERM/SIGHUP during a write
// remove the temporary file before the process dies.
#include <cstdint>
#include <functional>
#include <string>

namespace convis {

void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);
void write_file_atomically(const std::string& path, const void* data, size_t bytes);

// A folder of outputs (a report) built in a hidden staging folder next to `dir` and moved into
// `dir` file by file only when complete (commit): a failure leaves `dir` as it was, and the
// staging folder is removed. Files in `dir` that the new set does not have are kept.
class StagedDir {
 public:
  explicit StagedDir(const std::string& dir);  // creates dir's parents and the staging folder
  ~StagedDir();                                // removes the staging folder unless committed
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;
  const std::string& path() const { return staging_; }  // write here until commit
  void commit();                                      // creates `dir` if needed, moves every file

 private:
  std::string dir_, staging_;
};

// Throws std::runtime_error "<what> '<path>' does not exist" / "... is a directory" /
// "... is a FIFO, not a regular file" (device, socket likewise).
void require_regular_file(const std::string& path, const char* what);

// Reads a whole regular file of at most max_bytes; throws naming the file otherwise.
std::string read_small_file(const std::string& path, const char* what, uint64_t max_bytes);

// Installs handlers for SIGINT, SIGTERM and SIGHUP that unlink the temporary files of writes in
// progress, then die of the same signal (the exit status says which). For programs (vis_tool);
// a library does not take signals on its own.
void remove_temp_files_on_signals();

}  // namespace convis
