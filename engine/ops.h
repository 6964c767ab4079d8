#pragma once
// Differentiable ops. Each computes its forward value with a kernel (kernels/) and, when an input
// requires a gradient, records on the current Tape how to compute the inputs' gradients.
// Layouts follow Keras: images NHWC, conv kernels HWIO (KH,KW,C,OC), dense kernels (in,out).
// Shape errors throw std::invalid_argument naming the op and both shapes.
#include <vector>

#include "engine/autograd.h"
#include "kernels/padding.h"

namespace convis {

// ---- convolution and pooling (engine/ops_conv.cpp) -----------------------------------------
// x:(N,H,W,C) w:(KH,KW,C,OC) b:(OC) or empty -> (N,OH,OW,OC). fuse_relu applies max(0, .) to the
// output in place (Keras' Conv2D(activation="relu")); its backward masks by output > 0.
Var conv2d(const Var& x, const Var& w, const Var& b, int stride_h, int stride_w, Padding padding,
           bool fuse_relu = false);
// conv2d's output channel channels[n] for image n only: x:(N,H,W,C) -> (N,OH,OW,1). What
// activation maximisation needs at its target layer, at 1/OC of the work both ways (forward: one
// channel; backward: one column of w). Differentiable in x only: throws if w or b requires grad.
Var conv2d_channels(const Var& x, const Var& w, const Var& b, const std::vector<int>& channels, int stride_h,
                    int stride_w, Padding padding, bool fuse_relu = false);
Var max_pool2d(const Var& x, int kh, int kw, int stride_h, int stride_w, Padding padding);
Var avg_pool2d(const Var& x, int kh, int kw, int stride_h, int stride_w, Padding padding);
Var global_avg_pool2d(const Var& x);  // (N,H,W,C) -> (N,C)
Var global_max_pool2d(const Var& x);  // (N,H,W,C) -> (N,C); gradient to the first maximum

// ---- dense and normalisation (engine/ops_dense.cpp) ----------------------------------------
// x:(N,in) w:(in,out) b:(out) or empty -> (N,out)
Var dense(const Var& x, const Var& w, const Var& b, bool fuse_relu = false);
// Inference-form batch normalisation over the last axis (channels):
//   y = (x - mean) / sqrt(var + eps) * gamma + beta
// gamma, beta, mean, var:(C). Any of them may be parameters (gradients for all four).
Var batch_norm_inference(const Var& x, const Var& gamma, const Var& beta, const Var& mean,
                         const Var& var, float eps);

// ---- element-wise (engine/ops_elementwise.cpp) ---------------------------------------------
Var relu(const Var& x);
Var leaky_relu(const Var& x, float alpha);  // x if x > 0 else alpha * x (Keras' default alpha 0.3)
Var sigmoid(const Var& x);
Var tanh(const Var& x);
Var add(const Var& a, const Var& b);  // same shapes
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var add_scalar(const Var& x, float s);
Var mul_scalar(const Var& x, float s);

// ---- shapes and reductions (engine/ops_reduce.cpp) ----------------------------------------
Var reshape(const Var& x, const Shape& shape);
Var flatten(const Var& x);  // (N, ...) -> (N, prod ...), in NHWC order as Keras' Flatten
Var sum(const Var& x);      // all elements -> scalar
Var mean(const Var& x);
// Over the given axes (negative counts from the end), dropping them unless keepdims.
Var sum(const Var& x, const std::vector<int>& axes, bool keepdims = false);
Var mean(const Var& x, const std::vector<int>& axes, bool keepdims = false);
Var channel(const Var& x, int c);  // last-axis slice: (..., C) -> (...), channel c
Var l2_norm(const Var& x);         // sqrt(sum x^2) -> scalar

// ---- probabilities and losses (engine/ops_loss.cpp) ----------------------------------------
Var softmax(const Var& x);      // over the last axis
Var log_softmax(const Var& x);  // over the last axis, computed stably
// logits:(N,K), labels: N class indices in [0,K). Mean over the batch of -log softmax(logits)[label],
// fused: the gradient is (softmax - onehot) / N. Keras' SparseCategoricalCrossentropy(from_logits).
Var sparse_categorical_crossentropy(const Var& logits, const std::vector<int>& labels);

}  // namespace convis
