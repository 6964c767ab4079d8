// vis_tool's threads: --threads N on every command, the default team (the CPUs this process may
// use, fewer while others keep them busy: tools/threads.h), the wait policy it hands to OpenMP
// (idle threads spin briefly, then sleep), and the pictures' independence of the thread count.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <sched.h>

#include "kernels/cpu.h"
#include "tools/threads.h"
#include "tests/cli_util.h"
#include "tests/util.h"

using convis::test::CliResult;
using convis::test::contains;
using convis::test::run_vis_tool;

namespace {

// The thread count `vis_tool version` reports, -1 when the line is missing.
int reported_threads(const std::string& out) {
  const size_t at = out.find(" OpenMP thread(s)");
  if (at == std::string::npos) return -1;
  size_t begin = out.rfind(' ', at - 1);
  return std::atoi(out.substr(begin + 1, at - begin - 1).c_str());
}

}  // namespace

TEST_CASE("vis_tool --threads N sets the team of any command, before or after its options") {
  for (const int n : {1, 3, 7}) {
    CAPTURE(n);
    const CliResult a = run_vis_tool({"version", "--threads", std::to_string(n)});
    CHECK(a.rc == 0);
    CHECK(reported_threads(a.out) == n);
    const CliResult b = run_vis_tool({"version", "--threads=" + std::to_string(n)}, {"OMP_NUM_THREADS=2"});
    CHECK(reported_threads(b.out) == n);  // the flag wins over the environment
  }
  CHECK(reported_threads(run_vis_tool({"version"}, {"OMP_NUM_THREADS=3"}).out) == 3);
}

TEST_CASE("vis_tool's default team is the CPUs of its affinity mask") {
  if (std::getenv("OMP_NUM_THREADS")) {
    MESSAGE("skipped: OMP_NUM_THREADS is set in the test environment, and it wins");
    return;
  }
  CHECK(reported_threads(run_vis_tool({"version"}).out) == convis::available_cpus());
  // A child inherits the mask: pinned to one CPU, vis_tool starts one thread, not one per core.
  cpu_set_t saved, one;
  REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
  int first = 0;
  while (first < CPU_SETSIZE && !CPU_ISSET(first, &saved)) ++first;
  REQUIRE(first < CPU_SETSIZE);
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  const CliResult pinned = run_vis_tool({"version"});
  REQUIRE(sched_setaffinity(0, sizeof saved, &saved) == 0);
  CHECK(reported_threads(pinned.out) == 1);
  CHECK(convis::available_cpus() >= 1);
}

TEST_CASE("vis_tool's idle threads spin 1000 times then sleep, unless the user chose a policy") {
  CHECK(contains(run_vis_tool({"version"}).out, "spin 1000 times, then sleep (GOMP_SPINCOUNT)"));
  CHECK(contains(run_vis_tool({"version"}, {"GOMP_SPINCOUNT=50"}).out, "spin 50 times"));
  const CliResult passive = run_vis_tool({"version"}, {"OMP_WAIT_POLICY=passive"});
  CHECK(contains(passive.out, "OMP_WAIT_POLICY=passive"));
  CHECK_FALSE(contains(passive.out, "GOMP_SPINCOUNT"));
}

TEST_CASE("vis_tool --threads with a bad count is one line and exit 2") {
  for (const std::string bad : {"0", "-1", "abc", "1025", "2x", "99999999999999999999", ""}) {
    CAPTURE(bad);
    const CliResult r = run_vis_tool({"version", "--threads", bad});
    CHECK(r.rc == 2);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "--threads expects a thread count from 1 to 1024"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const CliResult missing = run_vis_tool({"version", "--threads"});
  CHECK(missing.rc == 2);
  CHECK(contains(missing.err, "--threads expects"));
}

TEST_CASE("the thread rule: idle CPUs plus this process's own, rounded, at least 1, at most the cap") {
  using convis::cli::threads_for_free_cpus;
  CHECK(threads_for_free_cpus(2.0, 0.0, 2) == 2);   // a quiet machine
  CHECK(threads_for_free_cpus(0.0, 0.67, 2) == 1);  // four busy loops beside our two threads
  CHECK(threads_for_free_cpus(0.0, 0.4, 2) == 1);   // ... beside our one
  CHECK(threads_for_free_cpus(0.6, 1.4, 2) == 2);   // only us, partly serial
  CHECK(threads_for_free_cpus(0.4, 1.0, 2) == 1);   // one other busy loop: 1.4 CPUs free
  CHECK(threads_for_free_cpus(0.5, 1.0, 2) == 2);   // 1.5 rounds up
  CHECK(threads_for_free_cpus(40.0, 0.0, 2) == 2);  // a big idle host: the cap (affinity, quota)
  CHECK(threads_for_free_cpus(-1.0, -1.0, 4) == 1);
  CHECK(threads_for_free_cpus(std::nan(""), 1e300, 4) == 4);
}

namespace {
bool cpus_0_and_2(int cpu, const void*) { return cpu == 0 || cpu == 2; }
}  // namespace

TEST_CASE("parse_proc_stat sums idle and total jiffies over the CPUs of the mask") {
  const std::string text =
      "cpu  100 0 50 800 10 0 5 0 0 0\n"
      "cpu0 10 1 2 30 4 0 1 2 0 0\n"
      "cpu1 99 99 99 99 99 99 99 99 0 0\n"
      "cpu2 5 0 5 20 0 0 0 0\n"
      "cpu3 1 2 3\n"
      "intr 12345 6 7\n"
      "cpufreq junk\n";
  convis::cli::CpuTimes t;
  REQUIRE(convis::cli::parse_proc_stat(text, cpus_0_and_2, nullptr, &t));
  CHECK(t.cpus == 2);
  CHECK(t.idle == (30 + 4) + (20 + 0));
  CHECK(t.total == (10 + 1 + 2 + 30 + 4 + 0 + 1 + 2) + (5 + 0 + 5 + 20 + 0 + 0 + 0 + 0));
  convis::cli::CpuTimes none;
  CHECK_FALSE(convis::cli::parse_proc_stat("cpu  1 2 3 4\nintr 5\n", cpus_0_and_2, nullptr, &none));
  CHECK_FALSE(convis::cli::parse_proc_stat("", cpus_0_and_2, nullptr, &none));
}

TEST_CASE("vis_tool's pictures are the same bits on 1 and 3 threads") {
  // The adaptive team changes the thread count while a command runs; that is safe only because
  // no kernel's result depends on it. The embedded model's maps are large enough to run in
  // parallel (a batch of 16 26x26x32 maps per step).
  namespace fs = std::filesystem;
  const fs::path dir = convis::test::temp_dir("threads_bits");
  const std::string sneaker = std::string(CONVIS_SOURCE_DIR) + "/weights/samples/0009_sneaker.png";
  const std::vector<std::vector<std::string>> commands = {
      {"maximize", "--weights", "fashion", "--layer", "conv2d_1", "--filters", "0-15", "--iters", "12", "--seed", "3"},
      {"maximize", "--weights", "fashion", "--layer", "conv2d", "--all", "--method", "yosinski", "--iters", "12",
       "--seed", "3", "--objective", "channel"},
      {"maximize", "--weights", "fashion", "--layer", "dense_1", "--all", "--method", "seed", "--iters", "12", "--seed", "3"},
      {"saliency", "--weights", "fashion", "--image", sneaker, "--method", "smoothgrad", "--samples", "6"},
      {"saliency", "--weights", "fashion", "--image", sneaker},
      {"occlusion", "--weights", "fashion", "--image", sneaker},
  };
  int compared = 0;
  for (const auto& c : commands) {
    CAPTURE(c[0]);
    CAPTURE(c[4]);
    for (const char* t : {"1", "3"}) {
      std::vector<std::string> args = c;
      args.insert(args.end(), {std::string("--threads"), std::string(t), std::string("--out"), (dir / t).string()});
      REQUIRE(convis::test::run_vis_tool(args).rc == 0);
    }
    for (const auto& e : fs::directory_iterator(dir / "1")) {
      const fs::path other = dir / "3" / e.path().filename();
      REQUIRE(fs::exists(other));
      CAPTURE(e.path().filename().string());
      CHECK(convis::test::slurp(e.path()) == convis::test::slurp(other));
      ++compared;
    }
  }
  CHECK(compared >= 40);
  fs::remove_all(dir);
}
