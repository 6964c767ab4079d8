#pragma once
// Run-time CPU feature checks: the one place that decides which instruction set runs.
// CONVIS_NO_AVX2=1 in the environment forces the portable paths (for testing them).
namespace convis {
bool cpu_has_avx2_fma();
int num_threads();  // OpenMP's max threads (honours OMP_NUM_THREADS)
}  // namespace convis
