#include "kernels/gemm.h"

namespace convis {

// The definition, nothing more: c_ij = alpha * sum_k a_ik b_kj + beta * c_ij, summed in double.
void gemm_f32_ref(const GemmArgs& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    for (int64_t j = 0; j < g.N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < g.K; ++k) {
        const float a = g.trans_a ? g.A[k * g.lda + i] : g.A[i * g.lda + k];
        const float b = g.trans_b ? g.B[j * g.ldb + k] : g.B[k * g.ldb + j];
        acc += double(a) * double(b);
      }
      float& c = g.C[i * g.ldc + j];
      c = float(g.alpha * acc + (g.beta == 0.f ? 0.0 : double(g.beta) * c));
    }
  }
}

}  // namespace convis
