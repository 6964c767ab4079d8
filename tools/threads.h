#pragma once
// How many threads vis_tool runs, on a machine it shares. By default it starts with the CPUs it
// may use (available_cpus) and, while it runs, uses no more threads than there are CPUs nobody
// else is using: idle ones plus its own share. Two threads that meet at a barrier every few
// hundred microseconds lose whole time slices when the other processes keep one of them waiting;
// one thread then beats two (the demo beside four busy loops on two cores: 6.3 s on one thread,
// 7.4 s on two). The results do not change: every kernel gives the same bits on any thread count
// (tests/test_cli_threads.cpp checks the pictures). --threads N or OMP_NUM_THREADS fix the count.
//
//   configure_threads(0);      // in main: adaptive, up to available_cpus()
//   ...
//   adapt_threads();           // often (Progress::update calls it): re-reads the load every 0.5 s
#include <cstdint>
#include <string>

namespace convis::cli {

// fixed > 0: exactly that many, never adapted. 0: OMP_NUM_THREADS when set (fixed), else adaptive
// up to available_cpus().
void configure_threads(int fixed);
// In adaptive mode, at most every 0.5 s: samples the CPUs of the process's affinity mask
// (/proc/stat) and its own CPU time (getrusage), and sets the team for the next parallel regions.
// Must be called outside parallel regions, from the main thread.
void adapt_threads();
// "2 (adaptive: fewer while other processes keep the CPUs busy)", "1 (--threads)" and so on.
std::string describe_threads();

// The rule, a pure function: free = idle CPUs + this process's own CPU use (both in CPUs, over
// the last sample); the team is free rounded to the nearest whole CPU, at least 1, at most max.
int threads_for_free_cpus(double idle_cpus, double own_cpus, int max);

// Idle (idle + iowait) and total jiffies summed over the "cpuN" lines of /proc/stat text for the
// CPUs N that in_mask accepts, and how many such lines there were; false when none parses.
struct CpuTimes {
  uint64_t idle = 0, total = 0;
  int cpus = 0;
};
bool parse_proc_stat(const std::string& text, bool (*in_mask)(int cpu, const void* ctx), const void* ctx,
                     CpuTimes* out);

}  // namespace convis::cli
