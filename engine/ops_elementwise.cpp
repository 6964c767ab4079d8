// Element-wise ops: activations, arithmetic on equal shapes, and scalar arithmetic.
#include "engine/ops.h"
#include "kernels/elementwise.h"

namespace convis {

namespace {

// The pattern every unary op shares: forward fills y from x; backward gets (x, y, dy, dx) and
// adds into dx. `Fwd` and `Bwd` are the kernels.
template <class Fwd, class Bwd>
Var unary(const Var& x, Fwd fwd, Bwd bwd) {
  Tensor y(x.shape());
  fwd(x.value().data(), y.data(), y.numel());
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, bwd]() mutable {
    bwd(x.value().data(), out.value().data(), out.grad().data(), x.grad_buffer().data(), out.value().numel());
  });
  return out;
}

}  // namespace

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
      x, [s](const float* in, float* y, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = in[i] + s; },
      [](const float*, const float*, const float* dy, float* dx, int64_t n) { accumulate(dy, dx, n); });
}

Var mul_scalar(const Var& x, float s) {
  return unary(
      x, [s](const float* in, float* y, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = in[i] * s; },
      [s](const float*, const float*, const float* dy, float* dx, int64_t n) {
        for (int64_t i = 0; i < n; ++i) dx[i] += s * dy[i];
      });
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
  float* py = y.data();
  for (int64_t i = 0; i < n; ++i)
    py[i] = op == BinOp::add ? pa[i] + pb[i] : op == BinOp::sub ? pa[i] - pb[i] : pa[i] * pb[i];
  const bool record = needs_record({&a, &b});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({a, b}, out, [a, b, out, n, op]() mutable {
    const float* dy = out.grad().data();
    // a and b may be the same Var (x * x): each side adds its own term, so both land.
    if (a.requires_grad()) {
      float* da = a.grad_buffer().data();
      const float* pb = b.value().data();
      for (int64_t i = 0; i < n; ++i) da[i] += op == BinOp::mul ? dy[i] * pb[i] : dy[i];
    }
    if (b.requires_grad()) {
      float* db = b.grad_buffer().data();
      const float* pa = a.value().data();
      for (int64_t i = 0; i < n; ++i) db[i] += op == BinOp::mul ? dy[i] * pa[i] : op == BinOp::sub ? -dy[i] : dy[i];
    }
  });
  return out;
}
}  // namespace

Var add(const Var& a, const Var& b) { return binary("add", a, b, BinOp::add); }
Var sub(const Var& a, const Var& b) { return binary("sub", a, b, BinOp::sub); }
Var mul(const Var& a, const Var& b) { return binary("mul", a, b, BinOp::mul); }

}  // namespace convis
