#pragma once
// Running a risky reader in a child process first. libhdf5 1.10 trusts its file's internal
// pointers: some single-byte corruptions of a valid file make it read wild memory (SIGSEGV in
// H5HG_read) or loop forever, and no check of ours can run before that code does. So a reader
// that hands a downloaded file to such a library runs the same read in a forked child first:
//
//   trial_run("weights file 'x.h5'", timeout_s, [&] { read_everything(); });
//   read_everything();   // in this process, only once the child got through
//
// The child runs `fn` and exits; the parent waits at most `timeout_s` seconds. The library is
// deterministic on the same bytes, so a read that finished in the child finishes here too.
#include <functional>
#include <string>

namespace convis {

// Runs fn in a forked child. Returns when the child returned from fn. Throws std::runtime_error:
//   "<what>: <message>"                               fn threw (the message, capped at 1000 bytes)
//   "<what>: the reader crashed (signal 11, SIGSEGV); the file is damaged"
//   "<what>: reading took longer than N s; the file is damaged (or the disk stalled)"
// The child shares nothing with the caller after fork: what fn computes there is lost. When no
// child can be started (fork fails) it returns without running fn, and the caller's own run is
// then the only one. The caller must hold any lock fn's work needs (a child must not wait for a
// lock held by a thread that fork did not copy).
void trial_run(const std::string& what, double timeout_s, const std::function<void()>& fn);

// Seconds a trial read of a file of `bytes` may take: 10 s plus 1 s per 50 MB (VGG16's 528 MB
// file reads in a quarter of a second from the page cache; a slow disk needs more). The
// CONVIS_READ_TIMEOUT environment variable (seconds, > 0) overrides it.
double read_timeout_s(unsigned long long bytes);

}  // namespace convis
