#pragma once
// Batch normalisation in inference form (moving statistics), per channel c of one axis; and
// Keras' Normalization layer, which is the same affine map with another scale.
//
// The tensor is seen as (outer, C, inner): the axis normalised is the middle one (the last axis,
// Keras' default: inner = 1; BatchNormalization(axis=1) on (N,H,W,C): outer = N, C = H, inner = W*C).
//   x, y, dy, dx:(outer, C, inner)   gamma, beta, mean, var, scale, shift, inv_std:(C)
//   y = (x - mean) * inv_std * gamma + beta,   inv_std = 1 / sqrt(var + eps)
//     = x * scale + shift,                     scale = gamma * inv_std, shift = beta - mean * scale
//   dx     += dy * scale
//   dgamma += sum dy * (x - mean) * inv_std        dbeta += sum dy
//   dmean  += -sum dy * gamma * inv_std            dvar  += sum dy * gamma * (x - mean) * (-1/2) inv_std^3
// (sums over outer and inner). The per-channel sums run in double.
#include <cstdint>

namespace convis {

void batch_norm_fold(const float* gamma, const float* beta, const float* mean, const float* var, float eps,
                     float* scale, float* shift, float* inv_std, int64_t C);
void batch_norm_fwd(const float* x, const float* scale, const float* shift, float* y, int64_t outer, int64_t C,
                    int64_t inner = 1);
void batch_norm_bwd_data(const float* dy, const float* scale, float* dx, int64_t outer, int64_t C, int64_t inner = 1);
// Any of dgamma, dbeta, dmean, dvar may be null (a frozen parameter costs nothing).
void batch_norm_bwd_params(const float* x, const float* dy, const float* gamma, const float* mean,
                           const float* inv_std, float* dgamma, float* dbeta, float* dmean, float* dvar, int64_t outer,
                           int64_t C, int64_t inner = 1);

// Slow twin for tests: the first line of the formula, in double, no folding.
void batch_norm_ref(const float* x, const float* gamma, const float* beta, const float* mean, const float* var,
                    float eps, float* y, int64_t outer, int64_t C, int64_t inner = 1);

// Keras' Normalization (keras.layers.Normalization, Keras 2 and 3 alike):
//   y = (x - mean) / sd,   sd = max(sqrt(var), 1e-7)   (backend.epsilon(): a floor, not a term)
//     = x * scale + shift,  scale = 1 / sd, shift = -mean / sd     (batch_norm_fwd / _bwd_data run it)
//   dmean += -sum dy / sd
//   dvar  += sum dy * (x - mean) * (-1 / sd^2) * d sd / d var,  d sd / d var = 1 / (2 sd) where
//            sqrt(var) > 1e-7, else 0 (the floor is flat)
constexpr float kNormalizationEpsilon = 1e-7f;
void normalization_fold(const float* mean, const float* var, float* scale, float* shift, int64_t C);
void normalization_bwd_params(const float* x, const float* dy, const float* mean, const float* var, float* dmean,
                              float* dvar, int64_t rows, int64_t C);

}  // namespace convis
