#pragma once
// GEMM, row-major, single precision, in three versions with one signature:
//
//   C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C(M,N)
//
// op(X) is X or X^T. Row-major: element (i,j) of a matrix with leading dimension ld is at
// X[i*ld + j]. With trans_a, A is stored as (K,M); with trans_b, B is stored as (N,K).
// beta == 0 means C is written without being read (it may hold garbage or NaN).
//
//   gemm_f32_ref     the triple loop, in double accumulation; the reference every test uses
//   gemm_f32_eigen   Eigen's GEMM built for any x86-64 (SSE2): the portable fallback
//   gemm_f32_eigen__avx2  the same Eigen GEMM built with -mavx2 -mfma: the fair benchmark baseline,
//                    linked into convis_bench only (bench/gemm_eigen__avx2.cpp)
//   gemm_f32__avx2   our packed, register- and cache-blocked AVX2/FMA kernel, OpenMP inside
//   gemm_f32         the dispatcher: __avx2 when the CPU has AVX2+FMA, else Eigen (portable)
//
// The OpenMP-parallel versions parallelise internally unless already inside a parallel
// region (then they run on the calling thread), so callers may parallelise over a batch.
#include <cstdint>

namespace convis {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  float alpha = 1.f;
  const float* A = nullptr; int64_t lda = 0;
  const float* B = nullptr; int64_t ldb = 0;
  float beta = 0.f;
  float* C = nullptr; int64_t ldc = 0;
};

void gemm_f32_ref(const GemmArgs& g);
void gemm_f32_eigen(const GemmArgs& g);
void gemm_f32_eigen__avx2(const GemmArgs& g);  // convis_bench only; needs AVX2+FMA
void gemm_f32__avx2(const GemmArgs& g);  // only where backend_available(Backend::avx2_fma)
// gemm_f32__avx2's path for 1 to 4 rows of C without trans_a and K x N >= 65536 (dense layers at
// small batch: it streams B once, at memory speed; kernels/gemv_f32__avx2.cpp). False, doing
// nothing, for any other shape.
bool gemm_few_rows_f32__avx2(const GemmArgs& g);
void gemm_f32(const GemmArgs& g);

// Convenience: C = op(A) * op(B) (+ C when accumulate), with tight leading dimensions.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
          const float* A, const float* B, float* C, bool accumulate = false);

}  // namespace convis
