// Shape ops and reductions: reshape, flatten, sum / mean over all or some axes, channel select,
// L2 norm.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/ops.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace convis {

Var reshape(const Var& x, const Shape& shape) {
  Tensor y = x.value().clone().reshape(shape);  // throws naming both shapes when sizes differ
  return record_op(std::move(y), {x}, [x](const Var& out) {
    accumulate(out.grad().data(), x.grad_buffer().data(), out.value().numel());
  });
}

// NHWC is already row-major in (H, W, C), so Keras' Flatten is a reshape to (N, H*W*C).
Var flatten(const Var& x) {
  if (x.shape().rank() < 2)
    throw std::invalid_argument("flatten: input has shape " + x.shape().str() + ", expected (N, ...)");
  const int64_t N = x.shape()[0];
  return reshape(x, Shape{N, N == 0 ? 0 : x.shape().numel() / N});
}

namespace {

// The kernel's 4-D view of a reduction (kernels/reduce.h) and the output's shape.
struct Reduction {
  ReduceShape kernel;
  int64_t count = 1;  // elements per output value
  Shape out;
};

Reduction plan_reduction(const char* op, const Shape& in, std::vector<int> axes, bool keepdims) {
  const int r = in.rank();
  if (r > 4)
    throw std::invalid_argument(std::string(op) + ": input has shape " + in.str() + ", expected rank 4 or less");
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
    p.kernel.dims[off + k] = in[k];
    if (reduced[k]) {
      p.count *= in[k];
    } else {
      p.kernel.ostride[off + k] = stride;
      stride *= in[k];
    }
  }
  for (int k = 0; k < r; ++k) {
    if (!reduced[k]) out_dims.push_back(in[k]);
    else if (keepdims) out_dims.push_back(1);
  }
  p.out = Shape(out_dims);
  p.kernel.out_numel = p.out.numel();
  return p;
}

Var reduce(const char* op, const Var& x, const std::vector<int>& axes, bool keepdims, bool average) {
  const Reduction p = plan_reduction(op, x.shape(), axes, keepdims);
  const float scale = average ? 1.f / float(std::max<int64_t>(p.count, 1)) : 1.f;
  Tensor y(p.out);
  reduce_sum_fwd(x.value().data(), y.data(), scale, p.kernel);
  return record_op(std::move(y), {x}, [x, k = p.kernel, scale](const Var& out) {
    reduce_sum_bwd(out.grad().data(), x.grad_buffer().data(), scale, k);
  });
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
  take_channel_fwd(x.value().data(), y.data(), rows, C, c);
  return record_op(std::move(y), {x}, [x, rows, C, c](const Var& out) {
    take_channel_bwd(out.grad().data(), x.grad_buffer().data(), rows, C, c);
  });
}

// y = sqrt(sum x^2);  dx = dy * x / y  (0 where y == 0, the subgradient PyTorch also picks)
Var l2_norm(const Var& x) {
  const int64_t n = x.value().numel();
  const float norm = float(std::sqrt(sum_squares(x.value().data(), n)));
  return record_op(Tensor::scalar(norm), {x}, [x, norm, n](const Var& out) {
    if (norm == 0.f) {
      x.grad_buffer();  // the gradient is 0, but it has reached x
      return;
    }
    accumulate_scaled(x.value().data(), out.grad().item() / norm, x.grad_buffer().data(), n);
  });
}

}  // namespace convis
