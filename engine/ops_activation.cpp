// The activations of graph models (formulas and kink choices in kernels/activation.h): each one
// a kernel pair behind the shared unary pattern.
#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/ops.h"
#include "engine/ops_unary.h"
#include "kernels/activation.h"

namespace convis {

Var relu_layer(const Var& x, float max_value, float threshold, float negative_slope) {
  if (!(max_value >= 0.f) || !std::isfinite(threshold) || !std::isfinite(negative_slope))
    throw std::invalid_argument("relu_layer: max_value " + std::to_string(max_value) + ", threshold " +
                                std::to_string(threshold) + ", negative_slope " + std::to_string(negative_slope) +
                                " (expected max_value >= 0 or +infinity, finite threshold and slope)");
  return unary(
      x,
      [=](const float* in, float* y, int64_t n) { relu_layer_fwd(in, y, max_value, threshold, negative_slope, n); },
      [=](const float* in, const float*, const float* dy, float* dx, int64_t n) {
        relu_layer_bwd(in, dy, dx, max_value, threshold, negative_slope, guided_relu_enabled(), n);
      });
}

Var relu6(const Var& x) { return relu_layer(x, 6.f, 0.f, 0.f); }

Var swish(const Var& x) {
  return unary(x, swish_fwd, [](const float* in, const float*, const float* dy, float* dx, int64_t n) {
    swish_bwd(in, dy, dx, n);
  });
}

Var hard_sigmoid(const Var& x) {
  return unary(x, hard_sigmoid_fwd, [](const float* in, const float*, const float* dy, float* dx, int64_t n) {
    hard_sigmoid_bwd(in, dy, dx, n);
  });
}

Var hard_swish(const Var& x) {
  return unary(x, hard_swish_fwd, [](const float* in, const float*, const float* dy, float* dx, int64_t n) {
    hard_swish_bwd(in, dy, dx, n);
  });
}

Var elu(const Var& x, float alpha) {
  return unary(
      x, [alpha](const float* in, float* y, int64_t n) { elu_fwd(in, y, alpha, n); },
      [alpha](const float* in, const float*, const float* dy, float* dx, int64_t n) { elu_bwd(in, dy, dx, alpha, n); });
}

Var selu(const Var& x) {
  return unary(x, selu_fwd, [](const float* in, const float*, const float* dy, float* dx, int64_t n) {
    selu_bwd(in, dy, dx, n);
  });
}

Var gelu(const Var& x, bool approximate) {
  return unary(
      x, [approximate](const float* in, float* y, int64_t n) { gelu_fwd(in, y, approximate, n); },
      [approximate](const float* in, const float*, const float* dy, float* dx, int64_t n) {
        gelu_bwd(in, dy, dx, approximate, n);
      });
}

Var softplus(const Var& x) {
  return unary(x, softplus_fwd, [](const float* in, const float*, const float* dy, float* dx, int64_t n) {
    softplus_bwd(in, dy, dx, n);
  });
}

}  // namespace convis
