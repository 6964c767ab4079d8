#include "kernels/gemm.h"

#include "kernels/dispatch.h"

namespace convis {

void gemm_f32(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  kernels().gemm_f32(g);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
          const float* A, const float* B, float* C, bool accumulate) {
  GemmArgs g;
  g.trans_a = trans_a; g.trans_b = trans_b;
  g.M = M; g.N = N; g.K = K;
  g.A = A; g.lda = trans_a ? M : K;
  g.B = B; g.ldb = trans_b ? K : N;
  g.C = C; g.ldc = N;
  g.beta = accumulate ? 1.f : 0.f;
  gemm_f32(g);
}

}  // namespace convis
