// Eigen's GEMM, compiled twice from this one body (STYLE.md habit 7: flags per file):
//   kernels/gemm_eigen.cpp          -> gemm_f32_eigen          (portable: SSE2, the fallback path)
//   bench/gemm_eigen__avx2.cpp      -> gemm_f32_eigen__avx2    (-mavx2 -mfma, the fair baseline;
//                                      in convis_bench only)
// The including file defines CONVIS_EIGEN_GEMM_NAME.
#include <Eigen/Core>

#include "kernels/gemm.h"

namespace convis {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using ConstMap = Eigen::Map<const RowMat, 0, Stride>;
using Map = Eigen::Map<RowMat, 0, Stride>;
}  // namespace

// Eigen's blocked GEMM. A stored transposed is just a row-major map of the other shape, .transpose()'d.
void CONVIS_EIGEN_GEMM_NAME(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  Map C(g.C, g.M, g.N, Stride(g.ldc));
  if (g.K <= 0) {
    if (g.beta == 0.f) C.setZero(); else C *= g.beta;
    return;
  }
  ConstMap A(g.A, g.trans_a ? g.K : g.M, g.trans_a ? g.M : g.K, Stride(g.lda));
  ConstMap B(g.B, g.trans_b ? g.N : g.K, g.trans_b ? g.K : g.N, Stride(g.ldb));
  if (g.beta == 0.f) C.setZero();
  else if (g.beta != 1.f) C *= g.beta;
  if (!g.trans_a && !g.trans_b) C.noalias() += g.alpha * A * B;
  else if (g.trans_a && !g.trans_b) C.noalias() += g.alpha * A.transpose() * B;
  else if (!g.trans_a && g.trans_b) C.noalias() += g.alpha * A * B.transpose();
  else C.noalias() += g.alpha * A.transpose() * B.transpose();
}

}  // namespace convis
