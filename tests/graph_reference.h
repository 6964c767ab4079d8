#pragma once
// An independent evaluator of a convis Model: every layer written as the naive loop of its
// definition (Keras' and TensorFlow's), in double, with none of the engine's ops or kernels. The
// architecture tests run each layer here on the engine's own inputs and compare outputs.
//
//   Tensor y = test::reference_layer(m, i, {x_of_input_layers...});   // per sample shapes (N, ...)
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "engine/model.h"

namespace convis::test {

namespace ref {

// TensorFlow's "same" padding: out = ceil(in / s), total padding max((out - 1) * s + k - in, 0),
// the smaller half before. "valid": out = floor((in - k) / s) + 1, no padding.
inline void window(int64_t in, int k, int s, Padding p, int64_t& out, int64_t& before) {
  if (p == Padding::same) {
    out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
    before = total / 2;
  } else {
    out = (in - k) / s + 1;
    before = 0;
  }
}

inline double act(Activation a, double x) {
  switch (a) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0 ? x : 0;
    case Activation::relu6: return std::min(std::max(x, 0.0), 6.0);
    case Activation::sigmoid: return 1 / (1 + std::exp(-x));
    case Activation::tanh: return std::tanh(x);
    case Activation::swish: return x / (1 + std::exp(-x));
    case Activation::elu: return x > 0 ? x : std::exp(x) - 1;
    case Activation::selu: return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1));
    case Activation::softplus: return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0);
    case Activation::gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    default: throw std::invalid_argument("reference: activation not covered");
  }
}

// Applies an activation over the last axis of t (softmax) or element-wise.
inline void activate(Tensor& t, Activation a) {
  if (a == Activation::softmax) {
    const int64_t k = t.dim(t.rank() - 1), rows = t.numel() / k;
    for (int64_t r = 0; r < rows; ++r) {
      float* p = t.data() + r * k;
      const double mx = *std::max_element(p, p + k);
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += std::exp(double(p[j]) - mx);
      for (int64_t j = 0; j < k; ++j) p[j] = float(std::exp(double(p[j]) - mx) / s);
    }
    return;
  }
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = float(act(a, t[i]));
}

// x:(N,H,W,C); w:(KH,KW,C,OC), or for depthwise (KH,KW,C,M) with out channel c*M+m.
inline Tensor conv(const Tensor& x, const Tensor& w, const Tensor* b, int sh, int sw, Padding p, bool depthwise) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const int KH = int(w.dim(0)), KW = int(w.dim(1));
  const int64_t M = w.dim(3), OC = depthwise ? C * M : M;
  int64_t OH, OW, pt, pl;
  window(H, KH, sh, p, OH, pt);
  window(W, KW, sw, p, OW, pl);
  Tensor y(Shape{N, OH, OW, OC});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox)
        for (int64_t o = 0; o < OC; ++o) {
          double s = b ? double((*b)[o]) : 0.0;
          for (int u = 0; u < KH; ++u)
            for (int v = 0; v < KW; ++v) {
              const int64_t iy = oy * sh - pt + u, ix = ox * sw - pl + v;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const float* px = x.data() + ((n * H + iy) * W + ix) * C;
              if (depthwise) {
                const int64_t c = o / M, m = o % M;
                s += double(px[c]) * double(w[((int64_t(u) * KW + v) * C + c) * M + m]);
              } else {
                for (int64_t c = 0; c < C; ++c) s += double(px[c]) * double(w[((int64_t(u) * KW + v) * C + c) * OC + o]);
              }
            }
          y[((n * OH + oy) * OW + ox) * OC + o] = float(s);
        }
  return y;
}

// Max: padded cells never win; average: over the cells inside the image only (TensorFlow).
inline Tensor pool(const Tensor& x, const Layer& l, bool max) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  int64_t OH, OW, pt, pl;
  window(H, l.kernel_h, l.stride_h, l.padding, OH, pt);
  window(W, l.kernel_w, l.stride_w, l.padding, OW, pl);
  Tensor y(Shape{N, OH, OW, C});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox)
        for (int64_t c = 0; c < C; ++c) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int count = 0;
          for (int u = 0; u < l.kernel_h; ++u)
            for (int v = 0; v < l.kernel_w; ++v) {
              const int64_t iy = oy * l.stride_h - pt + u, ix = ox * l.stride_w - pl + v;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const double val = x[((n * H + iy) * W + ix) * C + c];
              best = std::max(best, val);
              sum += val;
              ++count;
            }
          y[((n * OH + oy) * OW + ox) * C + c] = float(max ? best : sum / count);
        }
  return y;
}

inline Tensor pad_or_crop(const Tensor& x, int t, int b, int l, int r, bool crop) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const int64_t OH = crop ? H - t - b : H + t + b, OW = crop ? W - l - r : W + l + r;
  Tensor y = Tensor::zeros(Shape{N, OH, OW, C});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t iy = crop ? oy + t : oy - t, ix = crop ? ox + l : ox - l;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        for (int64_t c = 0; c < C; ++c) y[((n * OH + oy) * OW + ox) * C + c] = x[((n * H + iy) * W + ix) * C + c];
      }
  return y;
}

}  // namespace ref

// Layer i of a built model on the given inputs (the outputs of m.inputs_of(i), batched).
inline Tensor reference_layer(const Model& m, int i, const std::vector<Tensor>& in) {
  const Layer& l = m.layers[size_t(i)];
  const Tensor& x = in.at(0);
  auto w = [&](size_t k) -> const Tensor& { return l.weights.at(k).value(); };
  const Tensor* bias = nullptr;
  Tensor y;
  switch (l.type) {
    case LayerType::input:
    case LayerType::dropout: return x.clone();
    case LayerType::conv2d:
      if (l.use_bias) bias = &w(1);
      y = ref::conv(x, w(0), bias, l.stride_h, l.stride_w, l.padding, false);
      ref::activate(y, l.activation);
      return y;
    case LayerType::depthwise_conv2d:
      if (l.use_bias) bias = &w(1);
      y = ref::conv(x, w(0), bias, l.stride_h, l.stride_w, l.padding, true);
      ref::activate(y, l.activation);
      return y;
    case LayerType::separable_conv2d:
      if (l.use_bias) bias = &w(2);
      y = ref::conv(x, w(0), nullptr, l.stride_h, l.stride_w, l.padding, true);
      y = ref::conv(y, w(1), bias, 1, 1, Padding::valid, false);
      ref::activate(y, l.activation);
      return y;
    case LayerType::max_pool2d: return ref::pool(x, l, true);
    case LayerType::avg_pool2d: return ref::pool(x, l, false);
    case LayerType::global_avg_pool2d:
    case LayerType::global_max_pool2d: {
      const int64_t N = x.dim(0), HW = x.dim(1) * x.dim(2), C = x.dim(3);
      y = l.keepdims ? Tensor(Shape{N, 1, 1, C}) : Tensor(Shape{N, C});
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) {
          double s = 0, mx = -std::numeric_limits<double>::infinity();
          for (int64_t p = 0; p < HW; ++p) {
            s += x[(n * HW + p) * C + c];
            mx = std::max(mx, double(x[(n * HW + p) * C + c]));
          }
          y[n * C + c] = float(l.type == LayerType::global_max_pool2d ? mx : s / double(HW));
        }
      return y;
    }
    case LayerType::dense: {
      const int64_t N = x.dim(0), K = x.numel() / N, U = l.units;
      y = Tensor(Shape{N, U});
      for (int64_t n = 0; n < N; ++n)
        for (int64_t u = 0; u < U; ++u) {
          double s = l.use_bias ? double(w(1)[u]) : 0.0;
          for (int64_t k = 0; k < K; ++k) s += double(x[n * K + k]) * double(w(0)[k * U + u]);
          y[n * U + u] = float(s);
        }
      ref::activate(y, l.activation);
      return y;
    }
    case LayerType::flatten:
    case LayerType::reshape: {
      std::vector<int64_t> dims{x.dim(0)};
      for (int k = 0; k < l.output_shape.rank(); ++k) dims.push_back(l.output_shape[k]);
      y = Tensor(Shape(dims));
      std::copy(x.data(), x.data() + x.numel(), y.data());
      return y;
    }
    case LayerType::batch_norm: {
      // Over the last axis (the architectures' only use).
      const int64_t C = x.dim(x.rank() - 1);
      size_t k = 0;
      const Tensor* gamma = l.bn_scale ? &w(k++) : nullptr;
      const Tensor* beta = l.bn_center ? &w(k++) : nullptr;
      const Tensor& mean = w(k), &var = w(k + 1);
      y = x.clone();
      for (int64_t i2 = 0; i2 < y.numel(); ++i2) {
        const int64_t c = i2 % C;
        const double v = (double(x[i2]) - mean[c]) / std::sqrt(double(var[c]) + double(l.epsilon));
        y[i2] = float(v * (gamma ? double((*gamma)[c]) : 1.0) + (beta ? double((*beta)[c]) : 0.0));
      }
      return y;
    }
    case LayerType::activation:
      y = x.clone();
      ref::activate(y, l.activation);
      return y;
    case LayerType::relu:
      y = x.clone();
      for (int64_t k = 0; k < y.numel(); ++k) {
        const double v = x[k];
        // Keras' backend.relu: x [x > threshold], clipped at max_value, minus the negative part.
        y[k] = float((v > double(l.threshold) ? std::min(v, double(l.max_value)) : 0.0) -
                     double(l.negative_slope) * std::max(double(l.threshold) - v, 0.0));
      }
      return y;
    case LayerType::leaky_relu:
      y = x.clone();
      for (int64_t k = 0; k < y.numel(); ++k) y[k] = x[k] > 0 ? x[k] : float(double(l.alpha) * x[k]);
      return y;
    case LayerType::zero_padding2d: return ref::pad_or_crop(x, l.pad_top, l.pad_bottom, l.pad_left, l.pad_right, false);
    case LayerType::cropping2d: return ref::pad_or_crop(x, l.pad_top, l.pad_bottom, l.pad_left, l.pad_right, true);
    case LayerType::add:
    case LayerType::average:
    case LayerType::multiply:
    case LayerType::maximum:
    case LayerType::subtract: {
      // Same shapes (the architectures' use).
      y = x.clone();
      for (int64_t k = 0; k < y.numel(); ++k) {
        double acc = x[k];
        for (size_t j = 1; j < in.size(); ++j) {
          const double v = in[j][k];
          if (l.type == LayerType::multiply) acc *= v;
          else if (l.type == LayerType::maximum) acc = std::max(acc, v);
          else if (l.type == LayerType::subtract) acc -= v;
          else acc += v;
        }
        y[k] = float(l.type == LayerType::average ? acc / double(in.size()) : acc);
      }
      return y;
    }
    case LayerType::concatenate: {
      // Along the last axis (NHWC channels, the architectures' use).
      const int64_t rows = x.numel() / x.dim(x.rank() - 1);
      int64_t total = 0;
      for (const Tensor& t : in) total += t.dim(t.rank() - 1);
      std::vector<int64_t> dims = x.shape().dims();
      dims.back() = total;
      y = Tensor(Shape(dims));
      for (int64_t r = 0; r < rows; ++r) {
        int64_t at = 0;
        for (const Tensor& t : in) {
          const int64_t c = t.dim(t.rank() - 1);
          std::copy(t.data() + r * c, t.data() + (r + 1) * c, y.data() + r * total + at);
          at += c;
        }
      }
      return y;
    }
    case LayerType::rescaling:
      y = x.clone();
      for (int64_t k = 0; k < y.numel(); ++k) y[k] = float(double(x[k]) * l.scale + l.offset);
      return y;
    default: throw std::invalid_argument("reference: layer type of '" + l.name + "' not covered");
  }
}

}  // namespace convis::test
