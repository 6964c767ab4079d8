// The graph models' activations (see activation.h): one loop per function and direction, split
// by OpenMP over large arrays as kernels/elementwise.cpp's are.
#include "kernels/activation.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu.h"

namespace convis {

namespace {

inline float sigmoid_of(float x) {
  // Two branches keep exp() from overflowing for large |x|.
  if (x >= 0.f) return 1.f / (1.f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.f + e);
}

constexpr float kSqrt2OverPi = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kInvSqrt2 = 0.7071067811865476f;     // 1 / sqrt(2)
constexpr float kInvSqrt2Pi = 0.3989422804014327f;   // 1 / sqrt(2 pi)
constexpr float kGeluCubic = 0.044715f;

}  // namespace

// Keras' own arithmetic (backend.relu): y = [x > threshold] min(x, max_value)
//   + negative_slope min(x - threshold, 0), so x == threshold gives 0; the gradient is 1 on
// (threshold, max_value), 0 at or above max_value, negative_slope at or below threshold.
// Written as selects of constants and min, the loops vectorise; the per-element branches they
// replace mispredicted on real activations and made these loops two fifths of a MobileNetV2
// maximisation step. The parameters are firstprivate: shared, they are read through a pointer
// on every element (a store to y might change them), which also keeps a loop scalar.
void relu_layer_fwd(const float* x, float* y, float max_value, float threshold, float negative_slope, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static) firstprivate(max_value, threshold, negative_slope)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float above = v > threshold ? std::min(v, max_value) : 0.f;
    y[i] = above + negative_slope * std::min(v - threshold, 0.f);
  }
}

void relu_layer_bwd(const float* x, const float* dy, float* dx, float max_value, float threshold, float negative_slope,
                    bool guided, int64_t n) {
  if (guided) {  // only what passes where the unit is on (open interval), and only positive gradients
#pragma omp parallel for if (n >= kParallelFloats) schedule(static) firstprivate(max_value, threshold)
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i], d = dy[i];
      const float in = v < max_value ? 1.f : 0.f;
      const float on = v > threshold ? in : 0.f;
      dx[i] += on * std::max(d, 0.f);
    }
    return;
  }
#pragma omp parallel for if (n >= kParallelFloats) schedule(static) firstprivate(max_value, threshold, negative_slope)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i], d = dy[i];
    const float in = v < max_value ? 1.f : 0.f;
    const float slope = v > threshold ? in : negative_slope;
    dx[i] += slope * d;
  }
}

void swish_fwd(const float* x, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid_of(x[i]);
}

void swish_bwd(const float* x, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float s = sigmoid_of(x[i]);
    dx[i] += dy[i] * s * (1.f + x[i] * (1.f - s));
  }
}

void hard_sigmoid_fwd(const float* x, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = std::fmin(std::fmax(x[i] + 3.f, 0.f), 6.f) * (1.f / 6.f);
}

void hard_sigmoid_bwd(const float* x, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float d = dy[i];
    dx[i] += x[i] > -3.f && x[i] < 3.f ? d * (1.f / 6.f) : 0.f;
  }
}

void hard_swish_fwd(const float* x, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * std::fmin(std::fmax(x[i] + 3.f, 0.f), 6.f) * (1.f / 6.f);
}

void hard_swish_bwd(const float* x, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i], d = dy[i];
    dx[i] += v >= 3.f ? d : v > -3.f ? d * (2.f * v + 3.f) * (1.f / 6.f) : 0.f;
  }
}

void elu_fwd(const float* x, float* y, float alpha, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : alpha * std::expm1(x[i]);
}

void elu_bwd(const float* x, const float* dy, float* dx, float alpha, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += x[i] >= 0.f ? dy[i] : dy[i] * alpha * std::exp(x[i]);
}

void selu_fwd(const float* x, float* y, int64_t n) {
  const float scale = float(kSeluScale), scale_alpha = float(kSeluScale * kSeluAlpha);
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? scale * x[i] : scale_alpha * std::expm1(x[i]);
}

void selu_bwd(const float* x, const float* dy, float* dx, int64_t n) {
  const float scale = float(kSeluScale), scale_alpha = float(kSeluScale * kSeluAlpha);
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += x[i] >= 0.f ? scale * dy[i] : dy[i] * scale_alpha * std::exp(x[i]);
}

void gelu_fwd(const float* x, float* y, bool approximate, int64_t n) {
  if (approximate) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      y[i] = 0.5f * v * (1.f + std::tanh(kSqrt2OverPi * (v + kGeluCubic * v * v * v)));
    }
    return;
  }
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.f + std::erf(x[i] * kInvSqrt2));
}

void gelu_bwd(const float* x, const float* dy, float* dx, bool approximate, int64_t n) {
  if (approximate) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i], t = std::tanh(kSqrt2OverPi * (v + kGeluCubic * v * v * v));
      const float du = kSqrt2OverPi * (1.f + 3.f * kGeluCubic * v * v);
      dx[i] += dy[i] * (0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * du);
    }
    return;
  }
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float cdf = 0.5f * (1.f + std::erf(v * kInvSqrt2)), pdf = kInvSqrt2Pi * std::exp(-0.5f * v * v);
    dx[i] += dy[i] * (cdf + v * pdf);
  }
}

void softplus_fwd(const float* x, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = std::fmax(x[i], 0.f) + std::log1p(std::exp(-std::fabs(x[i])));
}

void softplus_bwd(const float* x, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelFloats) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * sigmoid_of(x[i]);
}

}  // namespace convis
