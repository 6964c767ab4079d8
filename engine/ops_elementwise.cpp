// Element-wise ops: activations, arithmetic on equal or broadcast shapes, and scalar arithmetic.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/ops_fused.h"
#include "engine/ops_unary.h"
#include "kernels/broadcast.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace convis {

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

Var relu(const Var& x) {
  return unary(x, relu_fwd, [](const float*, const float* y, const float* dy, float* dx, int64_t n) {
    if (guided_relu_enabled())
      relu_bwd_guided(y, dy, dx, n);
    else
      relu_bwd(y, dy, dx, n);
  });
}

Var leaky_relu(const Var& x, float alpha) {
  return unary(
      x, [alpha](const float* in, float* y, int64_t n) { leaky_relu_fwd(in, y, alpha, n); },
      [alpha](const float* in, const float*, const float* dy, float* dx, int64_t n) {
        if (guided_relu_enabled())
          relu_bwd_guided(in, dy, dx, n);  // guided mode: a ReLU (see GuidedRelu)
        else
          leaky_relu_bwd(in, dy, dx, alpha, n);
      });
}

Var sigmoid(const Var& x) {
  return unary(x, sigmoid_fwd, [](const float*, const float* y, const float* dy, float* dx, int64_t n) {
    sigmoid_bwd(y, dy, dx, n);
  });
}

Var tanh(const Var& x) {
  return unary(x, tanh_fwd, [](const float*, const float* y, const float* dy, float* dx, int64_t n) {
    tanh_bwd(y, dy, dx, n);
  });
}

Var add_scalar(const Var& x, float s) {
  return unary(
      x, [s](const float* in, float* y, int64_t n) { add_scalar_fwd(in, s, y, n); },
      [](const float*, const float*, const float* dy, float* dx, int64_t n) { accumulate(dy, dx, n); });
}

Var mul_scalar(const Var& x, float s) {
  return unary(
      x, [s](const float* in, float* y, int64_t n) { mul_scalar_fwd(in, s, y, n); },
      [s](const float*, const float*, const float* dy, float* dx, int64_t n) { accumulate_scaled(dy, s, dx, n); });
}

// Binary ops. On equal shapes (the fast path, flat loops): y = a + b, a - b, a * b, with
//   d(a+b): da += dy, db += dy.   d(a-b): da += dy, db -= dy.   d(a*b): da += dy*b, db += dy*a.
// Otherwise Keras' broadcasting (kernels/broadcast.h): a side with a size-1 axis where the output
// has more gets its gradient over the output's shape, summed down to its own (kernels/reduce.h).
namespace {

// The 4-D broadcast of a and b: same rank, each axis equal or 1 in one of them. Throws otherwise,
// with check_same_shape's message.
BroadcastShape plan_broadcast(const char* name, const Shape& a, const Shape& b, Shape& out) {
  if (a.rank() != b.rank()) check_same_shape(name, a, b);
  const int r = a.rank(), off = 4 - r;
  std::vector<int64_t> dims(size_t(r), 0);
  BroadcastShape s;
  int64_t sa = 1, sb = 1;
  for (int k = r - 1; k >= 0; --k) {
    if (a[k] != b[k] && a[k] != 1 && b[k] != 1) check_same_shape(name, a, b);
    dims[size_t(k)] = std::max(a[k], b[k]);
    s.dims[off + k] = dims[size_t(k)];
    s.astride[off + k] = a[k] == 1 && dims[size_t(k)] != 1 ? 0 : sa;
    s.bstride[off + k] = b[k] == 1 && dims[size_t(k)] != 1 ? 0 : sb;
    sa *= a[k];
    sb *= b[k];
  }
  out = Shape(dims);
  return s;
}

// d loss / d side += its gradient over the output's shape, summed over its broadcast axes.
void add_side_grad(const Var& side, const Var& a, const Var& b, const Tensor& dy, BinaryOp op, bool side_b,
                   const BroadcastShape& s) {
  const Tensor& av = a.value();
  const Tensor& bv = b.value();
  if (side.shape().numel() == s.numel()) {  // this side is not broadcast: straight into its gradient
    broadcast_binary_grad(av.data(), bv.data(), dy.data(), side.grad_buffer().data(), op, side_b, s);
    return;
  }
  Tensor full = Tensor::zeros(dy.shape()), small(side.shape());
  broadcast_binary_grad(av.data(), bv.data(), dy.data(), full.data(), op, side_b, s);
  ReduceShape rs;
  for (int k = 0; k < 4; ++k) {
    rs.dims[k] = s.dims[k];
    rs.ostride[k] = side_b ? s.bstride[k] : s.astride[k];
  }
  rs.out_numel = side.shape().numel();
  reduce_sum_fwd(full.data(), small.data(), 1.f, rs);
  accumulate(small.data(), side.grad_buffer().data(), rs.out_numel);
}

Var broadcast_binary(const char* name, const Var& a, const Var& b, BinaryOp op) {
  Shape out;
  const BroadcastShape s = plan_broadcast(name, a.shape(), b.shape(), out);
  Tensor y(out);
  broadcast_binary_fwd(a.value().data(), b.value().data(), y.data(), op, s);
  return record_op(std::move(y), {a, b}, [a, b, op, s](const Var& o) {
    if (a.requires_grad()) add_side_grad(a, a, b, o.grad(), op, false, s);
    if (b.requires_grad()) add_side_grad(b, a, b, o.grad(), op, true, s);
  });
}

Var binary(const char* name, const Var& a, const Var& b, BinaryOp op) {
  if (a.shape() != b.shape() || op == BinaryOp::max) return broadcast_binary(name, a, b, op);
  const int64_t n = a.value().numel();
  Tensor y(a.shape());
  const float* pa = a.value().data();
  const float* pb = b.value().data();
  if (op == BinaryOp::add) add_fwd(pa, pb, y.data(), n);
  if (op == BinaryOp::sub) sub_fwd(pa, pb, y.data(), n);
  if (op == BinaryOp::mul) mul_fwd(pa, pb, y.data(), n);
  return record_op(std::move(y), {a, b}, [a, b, n, op](const Var& out) {
    const float* dy = out.grad().data();
    // a and b may be the same Var (x * x): each side adds its own term, so both land.
    if (a.requires_grad()) {
      if (op == BinaryOp::mul) accumulate_product(dy, b.value().data(), a.grad_buffer().data(), n);
      else accumulate(dy, a.grad_buffer().data(), n);
    }
    if (b.requires_grad()) {
      if (op == BinaryOp::mul) accumulate_product(dy, a.value().data(), b.grad_buffer().data(), n);
      else if (op == BinaryOp::sub) accumulate_scaled(dy, -1.f, b.grad_buffer().data(), n);
      else accumulate(dy, b.grad_buffer().data(), n);
    }
  });
}
}  // namespace

Var add(const Var& a, const Var& b) { return binary("add", a, b, BinaryOp::add); }
Var sub(const Var& a, const Var& b) { return binary("sub", a, b, BinaryOp::sub); }
Var mul(const Var& a, const Var& b) { return binary("mul", a, b, BinaryOp::mul); }
Var maximum(const Var& a, const Var& b) { return binary("maximum", a, b, BinaryOp::max); }

Var average(const std::vector<Var>& xs) {
  if (xs.empty()) throw std::invalid_argument("average: no inputs");
  Var sum = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) sum = add(sum, xs[i]);
  return xs.size() == 1 ? sum : mul_scalar(sum, 1.f / float(xs.size()));
}

}  // namespace convis
