// The benchmark baseline: the same Eigen GEMM as kernels/gemm_eigen.cpp, built with -mavx2 -mfma.
// It lives in the benchmark binary only: Eigen's inline templates compiled with different
// instruction sets must not meet in one program that has to run on CPUs without AVX2
// (the linker would keep one copy of each), so the library keeps just the portable build.
#define CONVIS_EIGEN_GEMM_NAME gemm_f32_eigen__avx2
#include "kernels/gemm_eigen_impl.h"
