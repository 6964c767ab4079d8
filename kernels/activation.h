#pragma once
// The activations of Keras graph models, on flat arrays of n floats. Forward writes y; backward
// adds dx += dy * f'(x) (the caller zeroes). At a kink the derivative is one-sided, as written
// beside each; those are the choices TensorFlow's gradients make.
#include <cstdint>

namespace convis {

// Keras' ReLU layer, as backend.relu computes it:
//                         y = min(x, max_value)                  if x > threshold
//                         y = negative_slope * (x - threshold)   otherwise (0 at x == threshold)
// f' = 1 on (threshold, max_value), negative_slope for x <= threshold, 0 for x >= max_value
// (ReLU6: 1 on (0, 6), TensorFlow's Relu6Grad). max_value may be +infinity.
// guided (guided backprop, engine/autograd.h): dx += dy where threshold < x < max_value and dy > 0.
void relu_layer_fwd(const float* x, float* y, float max_value, float threshold, float negative_slope, int64_t n);
void relu_layer_bwd(const float* x, const float* dy, float* dx, float max_value, float threshold, float negative_slope,
                    bool guided, int64_t n);

// swish (silu):           y = x * sigmoid(x);           f' = s (1 + x (1 - s)),  s = sigmoid(x)
void swish_fwd(const float* x, float* y, int64_t n);
void swish_bwd(const float* x, const float* dy, float* dx, int64_t n);

// hard_sigmoid (Keras 3): y = clip(x / 6 + 1/2, 0, 1) = relu6(x + 3) / 6;   f' = 1/6 on (-3, 3), else 0
void hard_sigmoid_fwd(const float* x, float* y, int64_t n);
void hard_sigmoid_bwd(const float* x, const float* dy, float* dx, int64_t n);

// hard_swish (hard_silu): y = x * relu6(x + 3) / 6;   f' = (2x + 3) / 6 on (-3, 3), 1 for x >= 3, 0 for x <= -3
void hard_swish_fwd(const float* x, float* y, int64_t n);
void hard_swish_bwd(const float* x, const float* dy, float* dx, int64_t n);

// elu (alpha) and selu:   elu(x) = x if x > 0 else alpha (e^x - 1);   selu(x) = scale * elu(x, alpha_selu)
// f' = 1 (selu: scale) for x >= 0, alpha e^x (selu: scale alpha e^x) for x < 0 (TensorFlow's EluGrad
// and SeluGrad; elu with alpha 1 is smooth at 0 anyway).
void elu_fwd(const float* x, float* y, float alpha, int64_t n);
void elu_bwd(const float* x, const float* dy, float* dx, float alpha, int64_t n);
// Klambauer et al.'s constants, as tf.nn.selu has them.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
void selu_fwd(const float* x, float* y, int64_t n);
void selu_bwd(const float* x, const float* dy, float* dx, int64_t n);

// gelu exact:             y = x Phi(x) = x/2 (1 + erf(x / sqrt 2));    f' = Phi(x) + x phi(x)
// gelu tanh approximation: y = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//                         f' = (1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  t = tanh(u)
void gelu_fwd(const float* x, float* y, bool approximate, int64_t n);
void gelu_bwd(const float* x, const float* dy, float* dx, bool approximate, int64_t n);

// softplus, stably:       y = max(x, 0) + log1p(e^-|x|);   f' = sigmoid(x)
void softplus_fwd(const float* x, float* y, int64_t n);
void softplus_bwd(const float* x, const float* dy, float* dx, int64_t n);

}  // namespace convis
