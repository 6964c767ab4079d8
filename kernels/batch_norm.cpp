#include "kernels/batch_norm.h"

#include <cmath>
#include <cstddef>
#include <vector>

#include "kernels/cpu.h"

namespace convis {

void batch_norm_fold(const float* gamma, const float* beta, const float* mean, const float* var, float eps,
                     float* scale, float* shift, float* inv_std, int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    inv_std[c] = 1.f / std::sqrt(var[c] + eps);
    scale[c] = gamma[c] * inv_std[c];
    shift[c] = beta[c] - mean[c] * scale[c];
  }
}

void batch_norm_fwd(const float* x, const float* scale, const float* shift, float* y, int64_t outer, int64_t C,
                    int64_t inner) {
  if (inner == 1) {
#pragma omp parallel for if (outer * C >= kParallelFloats) schedule(static)
    for (int64_t r = 0; r < outer; ++r)
      for (int64_t c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] * scale[c] + shift[c];
    return;
  }
  const int64_t rows = outer * C;
#pragma omp parallel for if (rows * inner >= kParallelFloats) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float a = scale[r % C], b = shift[r % C];
    for (int64_t i = 0; i < inner; ++i) y[r * inner + i] = x[r * inner + i] * a + b;
  }
}

void batch_norm_bwd_data(const float* dy, const float* scale, float* dx, int64_t outer, int64_t C, int64_t inner) {
  if (inner == 1) {  // NHWC, the channel axis last: one contiguous, vectorised row of C per pixel
#pragma omp parallel for if (outer * C >= kParallelFloats) schedule(static)
    for (int64_t r = 0; r < outer; ++r)
      for (int64_t c = 0; c < C; ++c) dx[r * C + c] += dy[r * C + c] * scale[c];
    return;
  }
  const int64_t rows = outer * C;
#pragma omp parallel for if (rows * inner >= kParallelFloats) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float a = scale[r % C];
    for (int64_t i = 0; i < inner; ++i) dx[r * inner + i] += dy[r * inner + i] * a;
  }
}

void batch_norm_bwd_params(const float* x, const float* dy, const float* gamma, const float* mean,
                           const float* inv_std, float* dgamma, float* dbeta, float* dmean, float* dvar, int64_t outer,
                           int64_t C, int64_t inner) {
  if (!dgamma && !dbeta && !dmean && !dvar) return;
  std::vector<double> sum_dy(size_t(C), 0.0), sum_dy_xc(size_t(C), 0.0);  // sum dy, sum dy * (x - mean)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = (o * C + c) * inner + i;
        sum_dy[size_t(c)] += dy[k];
        sum_dy_xc[size_t(c)] += double(dy[k]) * (x[k] - mean[c]);
      }
  for (int64_t c = 0; c < C; ++c) {
    const double g = gamma[c], is = inv_std[c];
    if (dgamma) dgamma[c] += float(sum_dy_xc[size_t(c)] * is);
    if (dbeta) dbeta[c] += float(sum_dy[size_t(c)]);
    if (dmean) dmean[c] += float(-sum_dy[size_t(c)] * g * is);
    if (dvar) dvar[c] += float(sum_dy_xc[size_t(c)] * g * -0.5 * is * is * is);
  }
}

void batch_norm_ref(const float* x, const float* gamma, const float* beta, const float* mean, const float* var,
                    float eps, float* y, int64_t outer, int64_t C, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = (o * C + c) * inner + i;
        y[k] = float((double(x[k]) - mean[c]) / std::sqrt(double(var[c]) + eps) * gamma[c] + beta[c]);
      }
}

void normalization_fold(const float* mean, const float* var, float* scale, float* shift, int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    const float sd = std::fmax(std::sqrt(var[c]), kNormalizationEpsilon);
    scale[c] = 1.f / sd;
    shift[c] = -mean[c] / sd;
  }
}

void normalization_bwd_params(const float* x, const float* dy, const float* mean, const float* var, float* dmean,
                              float* dvar, int64_t rows, int64_t C) {
  if (!dmean && !dvar) return;
  std::vector<double> sum_dy(size_t(C), 0.0), sum_dy_xc(size_t(C), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {
      sum_dy[size_t(c)] += dy[r * C + c];
      sum_dy_xc[size_t(c)] += double(dy[r * C + c]) * (x[r * C + c] - mean[c]);
    }
  for (int64_t c = 0; c < C; ++c) {
    const double root = std::sqrt(double(var[c])), sd = std::fmax(root, double(kNormalizationEpsilon));
    if (dmean) dmean[c] += float(-sum_dy[size_t(c)] / sd);
    if (dvar && root > double(kNormalizationEpsilon)) dvar[c] += float(-sum_dy_xc[size_t(c)] / (2.0 * sd * sd * sd));
  }
}

}  // namespace convis
