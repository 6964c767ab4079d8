#pragma once
// What the CPU runs. Which kernels: kernels/dispatch.h decides (the only file that asks the CPU
// about its instruction sets); CONVIS_NO_AVX2=1 in the environment forces the portable table.
#include <cstdint>

namespace convis {

// Loops that touch fewer floats than this run on one thread: waking a team costs microseconds
// quiet, and on a busy machine a wait for a descheduled partner far more than the loop itself.
constexpr int64_t kParallelFloats = int64_t(1) << 15;

bool cpu_has_avx2_fma();  // true when the table in use is the AVX2+FMA one (dispatch.cpp)
int num_threads();        // OpenMP's max threads (honours OMP_NUM_THREADS and set_num_threads)
void set_num_threads(int n);  // n >= 1: the team size of every later parallel region

// The CPUs this process may use: the affinity mask (taskset, cpusets), capped by a cgroup CPU
// quota (docker --cpus, systemd CPUQuota) rounded up; at least 1. OpenMP's default team counts
// only the mask, so a container limited to 2 CPUs on a 64-core host would start 64 threads.
int available_cpus();
}  // namespace convis
