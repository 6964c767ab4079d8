#include "kernels/cam.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace convis {

void grad_cam_weights(const float* G, float* weights, int64_t HW, int64_t K) {
  for (int64_t k = 0; k < K; ++k) weights[k] = 0.f;
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) weights[k] += G[p * K + k];
  for (int64_t k = 0; k < K; ++k) weights[k] /= float(HW);
}

void grad_cam_pp_weights(const float* A, const float* G, float* weights, int64_t HW, int64_t K) {
  std::vector<double> sum_a(size_t(K), 0.0);
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) sum_a[size_t(k)] += double(A[p * K + k]);
  for (int64_t k = 0; k < K; ++k) weights[k] = 0.f;
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) {
      const double g = G[p * K + k];
      const double g2 = g * g, g3 = g2 * g;
      const double denom = 2.0 * g2 + sum_a[size_t(k)] * g3;
      const double alpha = g != 0.0 && denom != 0.0 ? g2 / denom : 0.0;
      weights[k] += float(alpha * std::max(g, 0.0));
    }
}

void cam_combine(const float* A, const float* weights, float* cam, int64_t HW, int64_t K) {
  for (int64_t p = 0; p < HW; ++p) {
    double v = 0.0;
    for (int64_t k = 0; k < K; ++k) v += double(weights[k]) * double(A[p * K + k]);
    cam[p] = float(std::max(v, 0.0));
  }
}

void channel_max_abs(const float* g, float* out, int64_t HW, int64_t C) {
  for (int64_t p = 0; p < HW; ++p) {
    float v = 0.f;
    for (int64_t c = 0; c < C; ++c) v = std::max(v, std::fabs(g[p * C + c]));
    out[p] = v;
  }
}

}  // namespace convis
