#pragma once
// Softmax over the last axis, row by row, and the sparse categorical cross-entropy built on it.
//
//   x, y, dy, dx:(rows, K) ; labels:(N) ints in [0, K) ; logp:(N, K)
//   log softmax   y = x - m - log sum_k exp(x_k - m),  m = max_k x_k (stable for any x)
//                 dx += dy - exp(y) * sum_k dy_k
//   softmax       y = exp(log softmax x)
//                 dx += y * (dy - sum_k dy_k y_k)
//   cross-entropy loss = -(1/N) sum_n logp[n, label_n]
//                 dlogits += g/N * (exp(logp) - onehot(labels))   (g: the loss's incoming gradient)
// Sums over a row run in double, so rows of many classes lose nothing to float rounding.
#include <cstdint>

namespace convis {

void log_softmax_rows_fwd(const float* x, float* y, int64_t rows, int64_t K);
void log_softmax_rows_bwd(const float* y, const float* dy, float* dx, int64_t rows, int64_t K);
void softmax_rows_fwd(const float* x, float* y, int64_t rows, int64_t K);
void softmax_rows_bwd(const float* y, const float* dy, float* dx, int64_t rows, int64_t K);

// Writes logp = log softmax(logits) and returns the mean loss (0 for N = 0). Labels are trusted:
// the op checks them.
float sparse_xent_fwd(const float* logits, const int* labels, float* logp, int64_t N, int64_t K);
void sparse_xent_bwd(const float* logp, const int* labels, float g, float* dx, int64_t N, int64_t K);

// Slow twins for tests, by the definitions in double: softmax = exp(x) / sum exp(x) (no max
// shift, so keep |x| small), and the backward as the full Jacobian product
// dx_j += sum_i dy_i * dy_i/dx_j, with d softmax_i / dx_j = y_i (delta_ij - y_j).
void softmax_rows_ref(const float* x, float* y, int64_t rows, int64_t K);
void softmax_rows_bwd_ref(const float* y, const float* dy, float* dx, int64_t rows, int64_t K);

}  // namespace convis
