#include "kernels/cpu.h"

#include <omp.h>
#include <sched.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace convis {

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) { omp_set_num_threads(n < 1 ? 1 : n); }

namespace {

// A cgroup quota as a CPU count (quota / period, rounded up), 0 when there is none or the file
// is absent or unreadable. cgroup v2: /sys/fs/cgroup/cpu.max holds "max 100000" or "200000 100000";
// v1: cpu.cfs_quota_us (-1 for none) and cpu.cfs_period_us.
int cgroup_cpu_quota() {
  double quota = 0, period = 0;
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r")) {
    char q[32] = {0};
    const int got = std::fscanf(f, "%31s %lf", q, &period);
    std::fclose(f);
    if (got == 2 && q[0] != 'm') quota = std::strtod(q, nullptr);
  } else {
    std::FILE* fq = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r");
    std::FILE* fp = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");
    if (fq && fp && (std::fscanf(fq, "%lf", &quota) != 1 || std::fscanf(fp, "%lf", &period) != 1)) quota = 0;
    if (fq) std::fclose(fq);
    if (fp) std::fclose(fp);
  }
  if (!(quota > 0) || !(period > 0) || quota / period > 1e6) return 0;
  return int(std::ceil(quota / period));
}

}  // namespace

int available_cpus() {
  int n = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n < 1) n = omp_get_num_procs();
  const int quota = cgroup_cpu_quota();
  if (quota > 0 && quota < n) n = quota;
  return n < 1 ? 1 : n;
}

}  // namespace convis
