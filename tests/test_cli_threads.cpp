// vis_tool's threads: --threads N on every command, the default team (the CPUs this process may
// use), and the wait policy it hands to OpenMP (idle threads spin briefly, then sleep).
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <sched.h>

#include "kernels/cpu.h"
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
