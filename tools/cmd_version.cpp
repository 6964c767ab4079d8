// vis_tool version: the version and which CPU kernels run here.
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "tools/cli.h"

namespace convis::cli {

namespace {

int run_version(const std::vector<std::string>& argv) {
  Args args("version", argv, {});
  args.allow_only({});
  std::printf("convis %s\n", CONVIS_VERSION);
  std::printf("kernels: %s, %d OpenMP thread(s)\n",
              cpu_has_avx2_fma() ? kernels().name : "portable (no AVX2+FMA on this CPU, or CONVIS_NO_AVX2 set)",
              num_threads());
  return 0;
}

}  // namespace

static const Registration reg_version(1, {"version", "print the version and which CPU kernels run here",
       "vis_tool version\n\n"
       "Prints the convis version, the kernel set chosen for this CPU (AVX2+FMA or portable) and the\n"
       "number of OpenMP threads (set OMP_NUM_THREADS to change it).\n\n"
       "example:\n  OMP_NUM_THREADS=1 vis_tool version",
       run_version});

}  // namespace convis::cli
