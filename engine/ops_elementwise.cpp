// Element-wise ops: activations, arithmetic on equal shapes, and scalar arithmetic.
#include "engine/ops.h"
#include "engine/ops_fused.h"
#include "kernels/elementwise.h"

namespace convis {

namespace {

// The pattern every unary op shares: forward fills y from x; backward gets (x, y, dy, dx) and
// adds into dx. `Fwd` and `Bwd` are the kernels.
template <class Fwd, class Bwd>
Var unary(const Var& x, Fwd fwd, Bwd bwd) {
  Tensor y(x.shape());
  fwd(x.value().data(), y.data(), y.numel());
  return record_op(std::move(y), {x}, [x, bwd](const Var& out) {
    bwd(x.value().data(), out.value().data(), out.grad().data(), x.grad_buffer().data(), out.value().numel());
  });
}

}  // namespace

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

// Binary ops on equal shapes: y = a + b, a - b, a * b.
// d(a+b): da += dy, db += dy.   d(a-b): da += dy, db -= dy.   d(a*b): da += dy*b, db += dy*a.
namespace {
enum class BinOp { add, sub, mul };

Var binary(const char* name, const Var& a, const Var& b, BinOp op) {
  check_same_shape(name, a.shape(), b.shape());
  const int64_t n = a.value().numel();
  Tensor y(a.shape());
  const float* pa = a.value().data();
  const float* pb = b.value().data();
  if (op == BinOp::add) add_fwd(pa, pb, y.data(), n);
  if (op == BinOp::sub) sub_fwd(pa, pb, y.data(), n);
  if (op == BinOp::mul) mul_fwd(pa, pb, y.data(), n);
  return record_op(std::move(y), {a, b}, [a, b, n, op](const Var& out) {
    const float* dy = out.grad().data();
    // a and b may be the same Var (x * x): each side adds its own term, so both land.
    if (a.requires_grad()) {
      if (op == BinOp::mul) accumulate_product(dy, b.value().data(), a.grad_buffer().data(), n);
      else accumulate(dy, a.grad_buffer().data(), n);
    }
    if (b.requires_grad()) {
      if (op == BinOp::mul) accumulate_product(dy, a.value().data(), b.grad_buffer().data(), n);
      else if (op == BinOp::sub) accumulate_scaled(dy, -1.f, b.grad_buffer().data(), n);
      else accumulate(dy, b.grad_buffer().data(), n);
    }
  });
}
}  // namespace

Var add(const Var& a, const Var& b) { return binary("add", a, b, BinOp::add); }
Var sub(const Var& a, const Var& b) { return binary("sub", a, b, BinOp::sub); }
Var mul(const Var& a, const Var& b) { return binary("mul", a, b, BinOp::mul); }

}  // namespace convis
