// Hostile machines: a full disk, a planted symlink, an --out that is a FIFO, a directory or a
// device, and SIGINT in the middle of a large write. Nothing half-written, nothing overwritten,
// no temporary file left behind.
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/hostile/hostile.h"

using namespace convis;
using test::contains;
using test::Dir;
using test::expect_failure;
namespace fs = std::filesystem;

TEST_CASE("hostile writes: on a full disk every writer fails cleanly and keeps the old file") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: mounting a small tmpfs needs root");
    return;
  }
  Dir d("hostile_full");
  const fs::path mnt = d.dir / "mnt";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) {
    MESSAGE("skipped: cannot mount a tmpfs here (" << std::strerror(errno) << ")");
    return;
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  // Old outputs of every kind, then filler until only a few KiB are free.
  fs::create_directories(mnt / "figs");
  const std::string png = (mnt / "figs" / "filters_conv2d.png").string(), h5 = (mnt / "model.h5").string(),
                    npy = (mnt / "out.npy").string();
  fs::create_directories(mnt / "report");
  const std::string old_index = (mnt / "report" / "index.html").string();
  for (const std::string& p : {png, h5, npy, old_index}) test::write_bytes(p, "old contents of " + p);
  const std::vector<std::string> before = test::listing(mnt);
  {
    std::string block(4096, 'x');
    const std::string fill = (mnt / "fill").string();
    FILE* f = std::fopen(fill.c_str(), "wb");
    REQUIRE(f);
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  const std::vector<std::string> full = test::listing(mnt);
  auto check = [&](const std::vector<std::string>& args, const std::string& says) {
    CAPTURE(args[0]);
    const test::CliResult r = test::run_vis_tool(args);
    INFO("stderr: " << r.err);
    CHECK(r.rc == 2);
    CHECK(r.one_line_error());
    CHECK(contains(r.err, says));
    CHECK(test::listing(mnt) == full);  // no temporary file left, nothing new
  };
  check({"init", "--arch", "vgg16", "--layout", "model", "--out", h5}, "No space left on device");
  // train used to crash at exit (libhdf5's atexit tidy-up) after its final write failed.
  {  // (train reports progress on stderr; its error is the last line)
    const test::CliResult r = test::run_vis_tool({"train", "--epochs", "1", "--limit", "64", "--out", h5});
    INFO("stderr: " << r.err);
    CHECK(r.rc == 2);
    const size_t last = r.err.rfind('\n', r.err.size() - 2);
    CHECK(r.err.compare(last == std::string::npos ? 0 : last + 1, 22, "vis_tool train: error:") == 0);
    CHECK(contains(r.err, "No space left on device"));
    CHECK(test::listing(mnt) == full);
  }
  check({"filters", "--weights", "fashion", "--layer", "conv2d", "--out", (mnt / "figs").string()}, "No space left on device");
  CHECK(test::listing(mnt / "figs") == std::vector<std::string>{"filters_conv2d.png"});
  check({"forward", "--weights", "fashion", "--input", "/dev/null", "--out", npy}, "/dev/null");
  check({"report", "--weights", "fashion", "--image", (fs::path(CONVIS_SOURCE_DIR) / "weights/samples/0009_sneaker.png").string(),
         "--iters", "2", "--per-block", "1", "--out", (mnt / "report").string()},
        "No space left on device");
  for (const std::string& p : {png, h5, npy, old_index}) CHECK(test::slurp(p) == "old contents of " + p);
  CHECK(test::listing(mnt / "report") == std::vector<std::string>{"index.html"});
  CHECK(before.size() + 1 == full.size());
}

TEST_CASE("hostile writes: an --out that is a FIFO, a directory or a device is refused, not replaced") {
  Dir d("hostile_out");
  const std::string fifo = d / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_directories(d.dir / "adir");
  for (const std::string& out : {fifo, d / "adir", std::string("/dev/null")}) {
    CAPTURE(out);
    const test::CliResult r = test::run_vis_tool({"init", "--arch", "vgg16", "--layout", "keras3", "--out", out});
    CHECK(r.rc == 2);
    CHECK(r.one_line_error());
    CHECK((contains(r.err, "it is a FIFO, not a regular file") || contains(r.err, "it is a directory") ||
           contains(r.err, "it is a character device, not a regular file")));
  }
  struct stat st;
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(test::listing(d.dir) == std::vector<std::string>{"adir", "fifo"});
}

TEST_CASE("hostile writes: a symlink as --out is replaced, never written through") {
  Dir d("hostile_symlink");
  const std::string victim = d / "victim.txt", link = d / "filters_conv2d.png";
  test::write_bytes(victim, "precious");
  fs::create_symlink(victim, link);
  const test::CliResult r = test::run_vis_tool({"filters", "--weights", "fashion", "--layer", "conv2d", "--out", d.dir.string()});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(test::slurp(victim) == "precious");
  CHECK(fs::is_regular_file(fs::symlink_status(link)));
  CHECK(test::slurp(link).compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  CHECK(test::listing(d.dir) == std::vector<std::string>{"filters_conv2d.png", "victim.txt"});
}

TEST_CASE("hostile writes: SIGINT or SIGTERM during a large .h5 write leaves no temporary file") {
  for (const int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    Dir d("hostile_signal_" + std::to_string(sig));
    const std::string out = d / "vgg16.h5";
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::execl(CONVIS_VIS_TOOL, CONVIS_VIS_TOOL, "init", "--arch", "vgg16", "--top", "--layout", "model", "--out",
              out.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait for the temporary file to appear (the 528 MB write is under way), then signal. Making
    // 138 M random weights first takes a while under the sanitizers on a loaded machine: up to
    // 3 minutes, and no longer than the child lives.
    bool seen = false, exited = false;
    int status = 0;
    for (int i = 0; i < 18000 && !seen && !exited; ++i) {
      for (const auto& e : fs::directory_iterator(d.dir))
        if (e.path().filename().string().rfind(".vgg16.h5.tmp-", 0) == 0) seen = true;
      exited = !seen && ::waitpid(pid, &status, WNOHANG) == pid;
      if (!seen && !exited) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK_MESSAGE((seen || exited), "no temporary file after 3 minutes");
    if (!exited) {
      ::kill(pid, sig);
      ::waitpid(pid, &status, 0);
    }
    if (WIFSIGNALED(status)) {
      CHECK(WTERMSIG(status) == sig);
      CHECK(test::listing(d.dir).empty());
    } else {
      MESSAGE("the write finished before the signal arrived; nothing to check");
      CHECK(test::listing(d.dir) == std::vector<std::string>{"vgg16.h5"});
    }
  }
}
