// Convolution and pooling ops: shape checks, kernel calls, and what backward needs to keep.
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "engine/buffer_cache.h"
#include "engine/ops.h"
#include "kernels/conv2d.h"
#include "kernels/elementwise.h"
#include "kernels/pool2d.h"

namespace convis {

namespace {

void require_rank(const char* op, const char* what, const Var& v, int rank) {
  if (v.shape().rank() != rank)
    throw std::invalid_argument(std::string(op) + ": " + what + " has shape " + v.shape().str() + ", expected rank " +
                                std::to_string(rank));
}

// conv2d's and conv2d_channels' checks: x (N,H,W,C), w (KH,KW,C,OC), b (OC) or undefined.
Conv2dShape checked_conv2d_shape(const char* op, const Var& x, const Var& w, const Var& b, int stride_h,
                                 int stride_w, Padding padding) {
  require_rank(op, "input", x, 4);
  require_rank(op, "kernel", w, 4);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  if (ws[2] != xs[3])
    throw std::invalid_argument(std::string(op) + ": input " + xs.str() + " has " + std::to_string(xs[3]) +
                                " channels but kernel " + ws.str() + " expects " + std::to_string(ws[2]) +
                                " (kernel is KH,KW,C,OC)");
  if (b.defined() && (b.shape().rank() != 1 || b.shape()[0] != ws[3]))
    throw std::invalid_argument(std::string(op) + ": bias has shape " + b.shape().str() + ", kernel " + ws.str() +
                                " expects (" + std::to_string(ws[3]) + ",)");
  return make_conv2d_shape(int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ws[0]), int(ws[1]), int(ws[3]),
                           stride_h, stride_w, padding);
}

// The gradient before a fused ReLU: out.grad() where the output was positive (guided backprop:
// and where the gradient is positive), 0 elsewhere.
Tensor fused_relu_grad(const Var& out) {
  const Tensor& dy = out.grad();
  Tensor masked(dy.shape());
  if (guided_relu_enabled()) {
    masked.zero();
    relu_bwd_guided(out.value().data(), dy.data(), masked.data(), dy.numel());
  } else {
    relu_mask(out.value().data(), dy.data(), masked.data(), dy.numel());
  }
  return masked;
}

}  // namespace

Var conv2d(const Var& x, const Var& w, const Var& b, int stride_h, int stride_w, Padding padding, bool fuse_relu) {
  const Conv2dShape s = checked_conv2d_shape("conv2d", x, w, b, stride_h, stride_w, padding);
  Tensor y(Shape{s.N, s.OH, s.OW, s.OC});
  conv2d_nhwc_fwd(x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr, y.data(), s);
  if (fuse_relu) relu_fwd(y.data(), y.data(), y.numel());
  Var out(y, false);
  if (!needs_record({&x, &w, &b})) return out;

  out.set_requires_grad(true);
  Tape::current().record({x, w, b}, out, [x, w, b, out, s, fuse_relu]() mutable {
    const Tensor dy = fuse_relu ? fused_relu_grad(out) : out.grad();
    if (x.requires_grad()) conv2d_nhwc_bwd_data(dy.data(), w.value().data(), x.grad_buffer().data(), s);
    // Frozen weights (and bias) cost nothing here: no col^T dY GEMM at all.
    const bool need_w = w.requires_grad(), need_b = b.defined() && b.requires_grad();
    if (need_w) {
      conv2d_nhwc_bwd_filter(x.value().data(), dy.data(), w.grad_buffer().data(),
                             need_b ? b.grad_buffer().data() : nullptr, s);
    } else if (need_b) {
      sum_rows(dy.data(), b.grad_buffer().data(), int64_t(s.N) * s.OH * s.OW, s.OC);
    }
  });
  return out;
}

Var conv2d_channels(const Var& x, const Var& w, const Var& b, const std::vector<int>& channels, int stride_h,
                    int stride_w, Padding padding, bool fuse_relu) {
  const Conv2dShape s = checked_conv2d_shape("conv2d_channels", x, w, b, stride_h, stride_w, padding);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  if (int64_t(channels.size()) != xs[0])
    throw std::invalid_argument("conv2d_channels: " + std::to_string(channels.size()) + " channels for a batch of " +
                                std::to_string(xs[0]) + " images (one per image)");
  for (int c : channels)
    if (c < 0 || c >= ws[3])
      throw std::invalid_argument("conv2d_channels: channel " + std::to_string(c) + " out of range for kernel " +
                                  ws.str() + " (0.." + std::to_string(ws[3] - 1) + ")");
  if (w.requires_grad() || b.requires_grad())
    throw std::invalid_argument("conv2d_channels: the kernel and bias must be frozen (it computes no weight gradients)");
  Tensor y(Shape{s.N, s.OH, s.OW, 1});
  conv2d_nhwc_fwd_select(x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr,
                         channels.data(), y.data(), s);
  if (fuse_relu) relu_fwd(y.data(), y.data(), y.numel());
  Var out(y, false);
  if (!needs_record({&x})) return out;

  out.set_requires_grad(true);
  Tape::current().record({x}, out, [x, w, out, s, channels, fuse_relu]() mutable {
    const Tensor dy = fuse_relu ? fused_relu_grad(out) : out.grad();
    conv2d_nhwc_bwd_data_select(dy.data(), w.value().data(), channels.data(), x.grad_buffer().data(), s);
  });
  return out;
}

namespace {

Pool2dShape pool_shape(const char* op, const Var& x, int kh, int kw, int sh, int sw, Padding padding) {
  require_rank(op, "input", x, 4);
  const Shape& xs = x.shape();
  return make_pool2d_shape(int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), kh, kw, sh, sw, padding);
}

}  // namespace

Var max_pool2d(const Var& x, int kh, int kw, int stride_h, int stride_w, Padding padding) {
  const Pool2dShape s = pool_shape("max_pool2d", x, kh, kw, stride_h, stride_w, padding);
  const Shape ys{s.N, s.OH, s.OW, s.C};
  Tensor y(ys);
  const bool record = needs_record({&x});
  // The argmax is what backward needs; inference does not keep it.
  // From the tensors' recycling allocator: a training step needs the same large argmax every time.
  const std::shared_ptr<void> argmax = allocate_buffer(ys.numel() * int64_t(sizeof(int32_t)));
  maxpool2d_nhwc_fwd(x.value().data(), y.data(), static_cast<int32_t*>(argmax.get()), s);
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, s, argmax]() mutable {
    maxpool2d_nhwc_bwd(out.grad().data(), static_cast<const int32_t*>(argmax.get()), x.grad_buffer().data(), s);
  });
  return out;
}

Var avg_pool2d(const Var& x, int kh, int kw, int stride_h, int stride_w, Padding padding) {
  const Pool2dShape s = pool_shape("avg_pool2d", x, kh, kw, stride_h, stride_w, padding);
  Tensor y(Shape{s.N, s.OH, s.OW, s.C});
  avgpool2d_nhwc_fwd(x.value().data(), y.data(), s);
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, s]() mutable {
    avgpool2d_nhwc_bwd(out.grad().data(), x.grad_buffer().data(), s);
  });
  return out;
}

Var global_avg_pool2d(const Var& x) {
  require_rank("global_avg_pool2d", "input", x, 4);
  return mean(x, {1, 2});
}

Var global_max_pool2d(const Var& x) {
  require_rank("global_max_pool2d", "input", x, 4);
  const Shape& xs = x.shape();
  const int64_t N = xs[0], HW = xs[1] * xs[2], C = xs[3];
  Tensor y(Shape{N, C});
  std::vector<int64_t> where(size_t(N * C));
  const float* px = x.value().data();
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      float best = -std::numeric_limits<float>::infinity();
      int64_t at = n * HW * C + c;
      for (int64_t p = 0; p < HW; ++p) {
        const int64_t i = (n * HW + p) * C + c;
        if (px[i] > best) { best = px[i]; at = i; }
      }
      y[n * C + c] = best;
      where[size_t(n * C + c)] = at;
    }
  }
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, where]() mutable {
    const float* dy = out.grad().data();
    float* dx = x.grad_buffer().data();
    for (size_t i = 0; i < where.size(); ++i) dx[where[i]] += dy[i];
  });
  return out;
}

}  // namespace convis
