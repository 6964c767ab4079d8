// Depthwise convolution: shape checks, the kernel calls (kernels/depthwise_conv2d.h), and what
// backward keeps (the input and kernel, shared, not copied).
#include <stdexcept>
#include <string>

#include "engine/ops.h"
#include "kernels/depthwise_conv2d.h"

namespace convis {

Var depthwise_conv2d(const Var& x, const Var& w, const Var& b, int stride_h, int stride_w, Padding padding) {
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  if (xs.rank() != 4 || ws.rank() != 4 || ws[2] != xs[3])
    throw std::invalid_argument("depthwise_conv2d: input " + xs.str() + " does not fit kernel " + ws.str() +
                                " (expected input (N,H,W,C) and kernel (KH,KW,C,M))");
  if (b.defined() && (b.shape().rank() != 1 || b.shape()[0] != ws[2] * ws[3]))
    throw std::invalid_argument("depthwise_conv2d: bias has shape " + b.shape().str() + ", kernel " + ws.str() +
                                " expects (" + std::to_string(ws[2] * ws[3]) + ",)");
  const DepthwiseShape s = make_depthwise_shape(int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ws[0]),
                                                int(ws[1]), int(ws[3]), stride_h, stride_w, padding);
  Tensor y(Shape{s.N, s.OH, s.OW, s.out_channels()});
  depthwise_conv2d_nhwc_fwd(x.value().data(), w.value().data(), b.defined() ? b.value().data() : nullptr, y.data(), s);
  return record_op(std::move(y), {x, w, b}, [x, w, b, s](const Var& out) {
    const float* dy = out.grad().data();
    if (x.requires_grad()) depthwise_conv2d_nhwc_bwd_data(dy, w.value().data(), x.grad_buffer().data(), s);
    const bool need_b = b.defined() && b.requires_grad();
    if (w.requires_grad() || need_b)
      depthwise_conv2d_nhwc_bwd_filter(x.value().data(), dy, w.requires_grad() ? w.grad_buffer().data() : nullptr,
                                       need_b ? b.grad_buffer().data() : nullptr, s);
  });
}

}  // namespace convis
