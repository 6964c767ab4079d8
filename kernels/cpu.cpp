#include "kernels/cpu.h"

#include <cstdlib>
#include <cstring>

#include <omp.h>

namespace convis {

bool cpu_has_avx2_fma() {
  static const bool has = [] {
    const char* force = std::getenv("CONVIS_NO_AVX2");
    if (force && std::strcmp(force, "0") != 0 && force[0] != '\0') return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace convis
