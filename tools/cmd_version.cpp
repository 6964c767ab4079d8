// vis_tool version: the version and which CPU kernels run here.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "tools/cli.h"
#include "tools/threads.h"

namespace convis::cli {

namespace {

int run_version(const std::vector<std::string>& argv) {
  Args args("version", argv, {});
  args.allow_only({});
  std::printf("convis %s\n", CONVIS_VERSION);
  std::printf("kernels: %s, %d OpenMP thread(s)\n",
              cpu_has_avx2_fma() ? kernels().name : "portable (no AVX2+FMA on this CPU, or CONVIS_NO_AVX2 set)",
              num_threads());
  std::printf("threads: %s\n", describe_threads().c_str());
  // vis_tool sets GOMP_SPINCOUNT=1000 before OpenMP starts unless the user chose a policy.
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spins = std::getenv("GOMP_SPINCOUNT");
  std::printf("waiting threads: %s\n", policy ? (std::string("OMP_WAIT_POLICY=") + policy).c_str()
                                      : spins ? (std::string("spin ") + spins + " times, then sleep (GOMP_SPINCOUNT)").c_str()
                                              : "OpenMP's default");
  return 0;
}

}  // namespace

static const Registration reg_version(1, {"version", "print the version and which CPU kernels run here",
       "vis_tool version\n\n"
       "Prints the convis version, the kernel set chosen for this CPU (AVX2+FMA or portable) and the\n"
       "number of threads and how idle threads wait.\n\n"
       "Threads, with every command: --threads N, else OMP_NUM_THREADS, else adaptive: up to the CPUs\n"
       "this process may use (its affinity mask, capped by a cgroup CPU quota), and while a long command\n"
       "runs no more than the CPUs other processes leave free (sampled every 0.5 s); the results are\n"
       "the same bits on any thread count. Idle threads spin 1,000 times and then sleep, so that other\n"
       "work on the machine is not starved (set OMP_WAIT_POLICY or GOMP_SPINCOUNT to choose otherwise).\n\n"
       "example:\n  vis_tool version --threads 1",
       run_version});

}  // namespace convis::cli
