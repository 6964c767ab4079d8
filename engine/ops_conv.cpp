// Convolution and pooling ops: shape checks, kernel calls, and what backward needs to keep.
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/buffer_cache.h"
#include "engine/ops.h"
#include "engine/ops_fused.h"
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


}  // namespace

Var conv2d(const Var& x, const Var& w, const Var& b, int stride_h, int stride_w, Padding padding, bool fuse_relu) {
  const Conv2dShape s = checked_conv2d_shape("conv2d", x, w, b, stride_h, stride_w, padding);
  Tensor y(Shape{s.N, s.OH, s.OW, s.OC});
  conv2d_nhwc_fwd(x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr, y.data(), s);
  if (fuse_relu) relu_fwd(y.data(), y.data(), y.numel());
  return record_op(std::move(y), {x, w, b}, [x, w, b, s, fuse_relu](const Var& out) {
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
  return record_op(std::move(y), {x}, [x, w, s, channels, fuse_relu](const Var& out) {
    const Tensor dy = fuse_relu ? fused_relu_grad(out) : out.grad();
    conv2d_nhwc_bwd_data_select(dy.data(), w.value().data(), channels.data(), x.grad_buffer().data(), s);
  });
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
  // The argmax is what backward needs; inference does not keep it.
  // From the tensors' recycling allocator: a training step needs the same large argmax every time.
  const std::shared_ptr<void> argmax = allocate_buffer(ys.numel() * int64_t(sizeof(int32_t)));
  maxpool2d_nhwc_fwd(x.value().data(), y.data(), static_cast<int32_t*>(argmax.get()), s);
  return record_op(std::move(y), {x}, [x, s, argmax](const Var& out) {
    maxpool2d_nhwc_bwd(out.grad().data(), static_cast<const int32_t*>(argmax.get()), x.grad_buffer().data(), s);
  });
}

Var avg_pool2d(const Var& x, int kh, int kw, int stride_h, int stride_w, Padding padding) {
  const Pool2dShape s = pool_shape("avg_pool2d", x, kh, kw, stride_h, stride_w, padding);
  Tensor y(Shape{s.N, s.OH, s.OW, s.C});
  avgpool2d_nhwc_fwd(x.value().data(), y.data(), s);
  return record_op(std::move(y), {x}, [x, s](const Var& out) {
    avgpool2d_nhwc_bwd(out.grad().data(), x.grad_buffer().data(), s);
  });
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
  global_maxpool_nhwc_fwd(x.value().data(), y.data(), where.data(), N, HW, C);
  return record_op(std::move(y), {x}, [x, where = std::move(where), N, C](const Var& out) {
    global_maxpool_nhwc_bwd(out.grad().data(), where.data(), x.grad_buffer().data(), N, C);
  });
}

}  // namespace convis
