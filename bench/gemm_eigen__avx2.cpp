// The benchmark baseline: the same Eigen GEMM as kernels/gemm_eigen.cpp, built with -mavx2 -mfma.
// It lives in the benchmark binary only: Eigen's inline templates compiled with different
// instruction sets must not meet in one program that has to run on CPUs without AVX2.
//
// Even here the two builds would meet: Eigen's GEMM is templates, instantiated under the same
// mangled names in kernels/gemm_eigen.cpp (SSE2) and in this file (AVX2), and the linker keeps
// one copy of each, so "eigen" and "eigen_avx2" would silently run the same code. Renaming the
// namespace for this translation unit gives its instantiations names of their own.
#define Eigen convis_eigen_avx2
#define CONVIS_EIGEN_GEMM_NAME gemm_f32_eigen__avx2
#include "kernels/gemm_eigen_impl.h"
