// Shape ops and reductions: reshape, flatten, sum / mean over all or some axes, channel select,
// L2 norm.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/ops.h"
#include "kernels/elementwise.h"

namespace convis {

Var reshape(const Var& x, const Shape& shape) {
  Tensor y = x.value().clone().reshape(shape);  // throws naming both shapes when sizes differ
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out]() mutable {
    accumulate(out.grad().data(), x.grad_buffer().data(), out.value().numel());
  });
  return out;
}

// NHWC is already row-major in (H, W, C), so Keras' Flatten is a reshape to (N, H*W*C).
Var flatten(const Var& x) {
  if (x.shape().rank() < 2)
    throw std::invalid_argument("flatten: input has shape " + x.shape().str() + ", expected (N, ...)");
  const int64_t N = x.shape()[0];
  return reshape(x, Shape{N, N == 0 ? 0 : x.shape().numel() / N});
}

namespace {

// Reduction over a set of axes. The input is viewed as 4-D (leading 1s); each input element
// i = (i0,i1,i2,i3) lands in the output element sum_k i_k * ostride[k], where ostride is the
// keep-dims output's stride with the reduced axes set to 0.
struct Reduction {
  int64_t dims[4] = {1, 1, 1, 1};
  int64_t ostride[4] = {0, 0, 0, 0};
  int64_t count = 1;  // elements per output value
  Shape out;
};

Reduction plan_reduction(const char* op, const Shape& in, std::vector<int> axes, bool keepdims) {
  const int r = in.rank();
  bool reduced[4] = {false, false, false, false};
  for (int a : axes) {
    const int axis = a < 0 ? a + r : a;
    if (axis < 0 || axis >= r)
      throw std::invalid_argument(std::string(op) + ": axis " + std::to_string(a) + " is out of range for shape " +
                                  in.str());
    reduced[axis] = true;
  }
  Reduction p;
  std::vector<int64_t> out_dims;
  const int off = 4 - r;
  int64_t stride = 1;
  for (int k = r - 1; k >= 0; --k) {
    p.dims[off + k] = in[k];
    if (reduced[k]) {
      p.count *= in[k];
    } else {
      p.ostride[off + k] = stride;
      stride *= in[k];
    }
  }
  for (int k = 0; k < r; ++k) {
    if (!reduced[k]) out_dims.push_back(in[k]);
    else if (keepdims) out_dims.push_back(1);
  }
  p.out = Shape(out_dims);
  return p;
}

template <class F>
void for_each_index(const Reduction& p, F f) {
  int64_t i = 0;
  for (int64_t a = 0; a < p.dims[0]; ++a)
    for (int64_t b = 0; b < p.dims[1]; ++b)
      for (int64_t c = 0; c < p.dims[2]; ++c)
        for (int64_t d = 0; d < p.dims[3]; ++d, ++i)
          f(i, a * p.ostride[0] + b * p.ostride[1] + c * p.ostride[2] + d * p.ostride[3]);
}

Var reduce(const char* op, const Var& x, const std::vector<int>& axes, bool keepdims, bool average) {
  const Reduction p = plan_reduction(op, x.shape(), axes, keepdims);
  const float scale = average ? 1.f / float(std::max<int64_t>(p.count, 1)) : 1.f;
  std::vector<double> acc(size_t(p.out.numel()), 0.0);
  const float* px = x.value().data();
  for_each_index(p, [&](int64_t i, int64_t o) { acc[size_t(o)] += px[i]; });
  Tensor y(p.out);
  for (int64_t o = 0; o < y.numel(); ++o) y[o] = float(acc[size_t(o)] * scale);
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, p, scale]() mutable {
    const float* dy = out.grad().data();
    float* dx = x.grad_buffer().data();
    for_each_index(p, [&](int64_t i, int64_t o) { dx[i] += dy[o] * scale; });
  });
  return out;
}

std::vector<int> all_axes(const Var& x) {
  std::vector<int> axes(size_t(x.shape().rank()));
  for (int k = 0; k < x.shape().rank(); ++k) axes[size_t(k)] = k;
  return axes;
}

}  // namespace

Var sum(const Var& x) { return reduce("sum", x, all_axes(x), false, false); }
Var mean(const Var& x) { return reduce("mean", x, all_axes(x), false, true); }
Var sum(const Var& x, const std::vector<int>& axes, bool keepdims) { return reduce("sum", x, axes, keepdims, false); }
Var mean(const Var& x, const std::vector<int>& axes, bool keepdims) { return reduce("mean", x, axes, keepdims, true); }

Var channel(const Var& x, int c) {
  const Shape& xs = x.shape();
  if (xs.rank() < 1) throw std::invalid_argument("channel: scalar input");
  const int64_t C = xs[xs.rank() - 1];
  if (c < 0 || c >= C)
    throw std::invalid_argument("channel: index " + std::to_string(c) + " is out of range 0.." + std::to_string(C - 1) +
                                " for shape " + xs.str());
  std::vector<int64_t> dims = xs.dims();
  dims.pop_back();
  Tensor y{Shape(dims)};
  const int64_t rows = y.numel();
  const float* px = x.value().data();
  for (int64_t r = 0; r < rows; ++r) y[r] = px[r * C + c];
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, rows, C, c]() mutable {
    const float* dy = out.grad().data();
    float* dx = x.grad_buffer().data();
    for (int64_t r = 0; r < rows; ++r) dx[r * C + c] += dy[r];
  });
  return out;
}

// y = sqrt(sum x^2);  dx = dy * x / y  (0 where y == 0, the subgradient PyTorch also picks)
Var l2_norm(const Var& x) {
  const float* px = x.value().data();
  const int64_t n = x.value().numel();
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += double(px[i]) * px[i];
  const float norm = float(std::sqrt(ss));
  const bool record = needs_record({&x});
  Var out(Tensor::scalar(norm), record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, norm, n]() mutable {
    if (norm == 0.f) { x.grad_buffer(); return; }
    const float g = out.grad().item() / norm;
    const float* px = x.value().data();
    float* dx = x.grad_buffer().data();
    for (int64_t i = 0; i < n; ++i) dx[i] += g * px[i];
  });
  return out;
}

}  // namespace convis
