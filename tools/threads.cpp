#include "tools/threads.h"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kernels/cpu.h"

namespace convis::cli {

namespace {

enum class Mode { adaptive, flag, environment };

struct State {
  Mode mode = Mode::adaptive;
  int max = 1, current = 1;
  bool have_sample = false;
  double wall = 0, own = 0;  // seconds at the last sample
  CpuTimes cpu;
  cpu_set_t mask;
};

State& state() {
  static State s;
  return s;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double own_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

bool in_affinity(int cpu, const void* ctx) {
  const cpu_set_t* m = static_cast<const cpu_set_t*>(ctx);
  return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, m);
}

bool sample(CpuTimes* t) {
  std::ifstream f("/proc/stat");
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_proc_stat(ss.str(), in_affinity, &state().mask, t);
}

}  // namespace

int threads_for_free_cpus(double idle_cpus, double own_cpus, int max) {
  const double free = (std::isfinite(idle_cpus) ? std::max(0.0, idle_cpus) : 0.0) +
                      (std::isfinite(own_cpus) ? std::max(0.0, own_cpus) : 0.0);
  const double n = std::floor(free + 0.5);
  if (!(n >= 1.0)) return 1;
  return n >= double(max) ? max : int(n);
}

bool parse_proc_stat(const std::string& text, bool (*in_mask)(int cpu, const void* ctx), const void* ctx,
                     CpuTimes* out) {
  std::istringstream in(text);
  std::string line;
  CpuTimes sum;
  bool any = false;
  while (std::getline(in, line)) {
    // "cpu3 user nice system idle iowait irq softirq steal guest guest_nice"; "cpu " is the total.
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    fields >> cpu;
    uint64_t v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int got = 0;
    while (got < 8 && fields >> v[got]) ++got;
    if (got < 4 || !in_mask(cpu, ctx)) continue;
    // guest time is already counted in user; idle and iowait are the idle time.
    uint64_t total = 0;
    for (int k = 0; k < got; ++k) total += v[k];
    sum.idle += v[3] + (got > 4 ? v[4] : 0);
    sum.total += total;
    ++sum.cpus;
    any = true;
  }
  if (any) *out = sum;
  return any;
}

void configure_threads(int fixed) {
  State& s = state();
  if (sched_getaffinity(0, sizeof s.mask, &s.mask) != 0) {
    CPU_ZERO(&s.mask);
    for (int c = 0; c < available_cpus(); ++c) CPU_SET(c, &s.mask);
  }
  if (fixed > 0) {
    s.mode = Mode::flag;
    s.max = s.current = fixed;
    set_num_threads(fixed);
    return;
  }
  if (std::getenv("OMP_NUM_THREADS")) {
    s.mode = Mode::environment;
    s.max = s.current = num_threads();
    return;
  }
  s.mode = Mode::adaptive;
  s.max = s.current = available_cpus();
  set_num_threads(s.max);
}

void adapt_threads() {
  State& s = state();
  if (s.mode != Mode::adaptive || s.max <= 1) return;
  const double now = wall_seconds();
  if (s.have_sample && now - s.wall < 0.5) return;
  CpuTimes t;
  if (!sample(&t)) return;
  const double own = own_cpu_seconds();
  if (s.have_sample && t.total > s.cpu.total) {
    // The share of the mask's jiffies that were idle, as CPUs.
    const double window = now - s.wall;
    const double idle_share = t.idle >= s.cpu.idle ? double(t.idle - s.cpu.idle) / double(t.total - s.cpu.total) : 0.0;
    const double idle = double(t.cpus) * std::min(1.0, idle_share);
    const int n = threads_for_free_cpus(idle, (own - s.own) / window, s.max);
    if (n != s.current) {
      s.current = n;
      set_num_threads(n);
    }
  }
  s.have_sample = true;
  s.wall = now;
  s.own = own;
  s.cpu = t;
}

std::string describe_threads() {
  const State& s = state();
  switch (s.mode) {
    case Mode::flag: return std::to_string(s.max) + " (--threads)";
    case Mode::environment: return std::to_string(s.max) + " (OMP_NUM_THREADS)";
    case Mode::adaptive: break;
  }
  return "up to " + std::to_string(s.max) + " (the CPUs this process may use; fewer while other processes keep them busy)";
}

}  // namespace convis::cli
