#pragma once
// Batch normalisation in inference form (moving statistics), per channel c of the last axis.
//
//   x, y, dy, dx:(rows, C)   gamma, beta, mean, var, scale, shift, inv_std:(C)
//   y = (x - mean) * inv_std * gamma + beta,   inv_std = 1 / sqrt(var + eps)
//     = x * scale + shift,                     scale = gamma * inv_std, shift = beta - mean * scale
//   dx     += dy * scale
//   dgamma += sum_rows dy * (x - mean) * inv_std        dbeta += sum_rows dy
//   dmean  += -sum_rows dy * gamma * inv_std            dvar  += sum_rows dy * gamma * (x - mean) * (-1/2) inv_std^3
// The per-channel sums run in double.
#include <cstdint>

namespace convis {

void batch_norm_fold(const float* gamma, const float* beta, const float* mean, const float* var, float eps,
                     float* scale, float* shift, float* inv_std, int64_t C);
void batch_norm_fwd(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t C);
void batch_norm_bwd_data(const float* dy, const float* scale, float* dx, int64_t rows, int64_t C);
// Any of dgamma, dbeta, dmean, dvar may be null (a frozen parameter costs nothing).
void batch_norm_bwd_params(const float* x, const float* dy, const float* gamma, const float* mean,
                           const float* inv_std, float* dgamma, float* dbeta, float* dmean, float* dvar, int64_t rows,
                           int64_t C);

// Slow twin for tests: the first line of the formula, in double, no folding.
void batch_norm_ref(const float* x, const float* gamma, const float* beta, const float* mean, const float* var,
                    float eps, float* y, int64_t rows, int64_t C);

}  // namespace convis
