#include "kernels/cpu.h"

#include <omp.h>

namespace convis {

int num_threads() { return omp_get_max_threads(); }

}  // namespace convis
