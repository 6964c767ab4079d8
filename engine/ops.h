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

// ---- depthwise convolution (engine/ops_depthwise.cpp) ---------------------------------------
// x:(N,H,W,C) w:(KH,KW,C,M) b:(C*M) or empty -> (N,OH,OW,C*M), output channel c*M + m (Keras'
// DepthwiseConv2D); OH, OW and the padding as conv2d's. SeparableConv2D is this with no bias,
// then conv2d with its (1,1,C*M,filters) pointwise kernel and the bias.
Var depthwise_conv2d(const Var& x, const Var& w, const Var& b, int stride_h, int stride_w, Padding padding);

// ---- spatial layout (engine/ops_spatial.cpp) ------------------------------------------------
// (N,H,W,C) -> (N, H+top+bottom, W+left+right, C) with zeros around (Keras' ZeroPadding2D).
Var zero_pad2d(const Var& x, int top, int bottom, int left, int right);
// (N,H,W,C) -> (N, H-top-bottom, W-left-right, C) (Keras' Cropping2D); something must remain.
Var crop2d(const Var& x, int top, int bottom, int left, int right);
// (N,H,W,C) -> (N, H*size_h, W*size_w, C), Keras' UpSampling2D: nearest repeats each pixel;
// bilinear is tf.image.resize's (half-pixel centres, no antialiasing), kernels/upsample2d.h.
Var upsample2d(const Var& x, int size_h, int size_w, bool bilinear);
// Along `axis` of (N, ...): -1 the last, 0 the batch, 1..rank-1 the per-sample axes (Keras'
// Concatenate counts them so). Every other axis must agree.
Var concat(const std::vector<Var>& xs, int axis);
// Keras' Permute: dims is a permutation of 1..rank-1 (the per-sample axes, 1-based); output
// per-sample axis k is input axis dims[k]. The batch axis stays first.
Var permute(const Var& x, const std::vector<int>& dims);

// ---- dense and normalisation (engine/ops_dense.cpp) ----------------------------------------
// x:(N,in) w:(in,out) b:(out) or empty -> (N,out)
Var dense(const Var& x, const Var& w, const Var& b, bool fuse_relu = false);
// Inference-form batch normalisation over one axis (default the last, the channels):
//   y = (x - mean) / sqrt(var + eps) * gamma + beta
// gamma, beta, mean, var:(C), C = the size of `axis` (negative counts from the end, 0 is the
// batch). Any of them may be parameters (gradients for all four).
Var batch_norm_inference(const Var& x, const Var& gamma, const Var& beta, const Var& mean,
                         const Var& var, float eps, int axis = -1);
// Keras' Normalization layer over the last axis: y = (x - mean) / max(sqrt(var), 1e-7), mean and
// var:(C) or (1) (one value for every channel). Gradients for x, mean and var.
Var normalize_inference(const Var& x, const Var& mean, const Var& var);

// ---- element-wise (engine/ops_elementwise.cpp) ---------------------------------------------
Var relu(const Var& x);
Var leaky_relu(const Var& x, float alpha);  // x if x > 0 else alpha * x (Keras' default alpha 0.3)
Var sigmoid(const Var& x);
Var tanh(const Var& x);
// a + b, a - b, a * b, max(a, b): same shapes, or Keras' broadcasting (same rank, each axis
// equal or 1 in one of them; the gradient of a broadcast input is summed over its size-1 axes).
// maximum's gradient goes to the larger, to a on a tie.
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var maximum(const Var& a, const Var& b);
Var average(const std::vector<Var>& xs);  // Keras' Average: (x0 + x1 + ...) / n, broadcasting as add
Var add_scalar(const Var& x, float s);
Var mul_scalar(const Var& x, float s);

// ---- the activations of graph models (engine/ops_activation.cpp; formulas, and the one-sided
// derivative each takes at its kinks, in kernels/activation.h) ---------------------------------
// Keras' ReLU layer as backend.relu computes it: min(x, max_value) for x > threshold, else
// negative_slope * (x - threshold) (so 0 at x == threshold). max_value may be +infinity. Under GuidedRelu its backward is
// guided as relu's (dy > 0 where threshold < x < max_value; the slope is dropped).
Var relu_layer(const Var& x, float max_value, float threshold, float negative_slope);
Var relu6(const Var& x);         // min(max(x, 0), 6), relu_layer(x, 6, 0, 0)
Var swish(const Var& x);         // x * sigmoid(x) (Keras 3 also calls it silu)
Var hard_sigmoid(const Var& x);  // Keras 3's: relu6(x + 3) / 6 (Keras 2's was clip(0.2 x + 0.5, 0, 1))
Var hard_swish(const Var& x);    // x * relu6(x + 3) / 6 (Keras 3's hard_silu)
Var elu(const Var& x, float alpha = 1.f);  // x if x > 0 else alpha (e^x - 1)
Var selu(const Var& x);          // scale * elu(x, alpha) with Keras' (tf.nn.selu's) constants
Var gelu(const Var& x, bool approximate = false);  // x Phi(x) exactly (erf), or the tanh approximation
Var softplus(const Var& x);      // log(1 + e^x), computed stably

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
