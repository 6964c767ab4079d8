#pragma once
// What the CPU runs. Which kernels: kernels/dispatch.h decides (the only file that asks the CPU
// about its instruction sets); CONVIS_NO_AVX2=1 in the environment forces the portable table.
namespace convis {
bool cpu_has_avx2_fma();  // true when the table in use is the AVX2+FMA one (dispatch.cpp)
int num_threads();        // OpenMP's max threads (honours OMP_NUM_THREADS)
}  // namespace convis
