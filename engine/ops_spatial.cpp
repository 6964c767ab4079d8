// Ops that move data rather than compute it: zero padding, cropping, upsampling, concatenation
// and axis permutation (kernels/pad2d.h, upsample2d.h, layout.h).
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "kernels/layout.h"
#include "kernels/pad2d.h"
#include "kernels/upsample2d.h"

namespace convis {

namespace {

void require_image(const char* op, const Var& x) {
  if (x.shape().rank() != 4)
    throw std::invalid_argument(std::string(op) + ": input has shape " + x.shape().str() + ", expected (N,H,W,C)");
}

Border2d border_of(const char* op, const Var& x, int top, int bottom, int left, int right) {
  require_image(op, x);
  if (top < 0 || bottom < 0 || left < 0 || right < 0)
    throw std::invalid_argument(std::string(op) + ": border (" + std::to_string(top) + "," + std::to_string(bottom) +
                                "," + std::to_string(left) + "," + std::to_string(right) +
                                ") has a negative size (expected top, bottom, left, right >= 0)");
  const Shape& xs = x.shape();
  return Border2d{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), top, bottom, left, right};
}

}  // namespace

Var zero_pad2d(const Var& x, int top, int bottom, int left, int right) {
  const Border2d s = border_of("zero_pad2d", x, top, bottom, left, right);
  Tensor y(Shape{s.N, int64_t(s.H) + top + bottom, int64_t(s.W) + left + right, s.C});
  pad2d_nhwc_fwd(x.value().data(), y.data(), s);
  return record_op(std::move(y), {x}, [x, s](const Var& out) {
    pad2d_nhwc_bwd(out.grad().data(), x.grad_buffer().data(), s);
  });
}

Var crop2d(const Var& x, int top, int bottom, int left, int right) {
  const Border2d s = border_of("crop2d", x, top, bottom, left, right);
  const int64_t h = int64_t(s.H) - top - bottom, w = int64_t(s.W) - left - right;
  if (h < 1 || w < 1)
    throw std::invalid_argument("crop2d: cropping (" + std::to_string(top) + "," + std::to_string(bottom) + "," +
                                std::to_string(left) + "," + std::to_string(right) + ") leaves nothing of input " +
                                x.shape().str());
  Tensor y(Shape{s.N, h, w, s.C});
  crop2d_nhwc_fwd(x.value().data(), y.data(), s);
  return record_op(std::move(y), {x}, [x, s](const Var& out) {
    crop2d_nhwc_bwd(out.grad().data(), x.grad_buffer().data(), s);
  });
}

Var upsample2d(const Var& x, int size_h, int size_w, bool bilinear) {
  require_image("upsample2d", x);
  if (size_h < 1 || size_w < 1)
    throw std::invalid_argument("upsample2d: size (" + std::to_string(size_h) + "," + std::to_string(size_w) +
                                ") must be positive");
  const Shape& xs = x.shape();
  const Upsample2dShape s{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), size_h, size_w};
  Tensor y(Shape{xs[0], xs[1] * size_h, xs[2] * size_w, xs[3]});
  if (bilinear) upsample2d_bilinear_nhwc_fwd(x.value().data(), y.data(), s);
  else upsample2d_nearest_nhwc_fwd(x.value().data(), y.data(), s);
  return record_op(std::move(y), {x}, [x, s, bilinear](const Var& out) {
    if (bilinear) upsample2d_bilinear_nhwc_bwd(out.grad().data(), x.grad_buffer().data(), s);
    else upsample2d_nearest_nhwc_bwd(out.grad().data(), x.grad_buffer().data(), s);
  });
}

Var concat(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw std::invalid_argument("concat: no inputs");
  const Shape& first = xs[0].shape();
  const int r = first.rank();
  const int a = axis < 0 ? axis + r : axis;
  if (r < 1 || a < 0 || a >= r)
    throw std::invalid_argument("concat: axis " + std::to_string(axis) + " is out of range for shape " + first.str());
  int64_t outer = 1, inner = 1, total = 0;
  for (int k = 0; k < a; ++k) outer *= first[k];
  for (int k = a + 1; k < r; ++k) inner *= first[k];
  std::vector<const float*> ptrs;
  std::vector<int64_t> widths;
  for (const Var& v : xs) {
    const Shape& s = v.shape();
    bool fits = s.rank() == r;
    for (int k = 0; fits && k < r; ++k) fits = k == a || s[k] == first[k];
    if (!fits)
      throw std::invalid_argument("concat: shapes " + first.str() + " and " + s.str() +
                                  " differ on an axis other than the concatenation axis " + std::to_string(axis));
    ptrs.push_back(v.value().data());
    widths.push_back(s[a] * inner);
    total += s[a];
  }
  std::vector<int64_t> dims = first.dims();
  dims[size_t(a)] = total;
  Tensor y{Shape(dims)};
  const int64_t width = total * inner;
  concat_fwd(ptrs.data(), widths.data(), int(xs.size()), y.data(), outer, width);
  // record_op takes a fixed list of inputs; a concatenation has any number, so it records itself.
  bool any = false;
  for (const Var& v : xs) any = any || v.requires_grad();
  if (!any || !grad_enabled()) return Var::constant(std::move(y));
  Var result(std::move(y), true);
  const std::vector<Var> inputs = xs;
  Tape::current().record(inputs, result, [inputs, widths, outer, width, result]() {
    int64_t offset = 0;
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (inputs[k].requires_grad())
        concat_bwd(result.grad().data(), inputs[k].grad_buffer().data(), outer, widths[k], offset, width);
      offset += widths[k];
    }
  });
  return result;
}

Var permute(const Var& x, const std::vector<int>& dims) {
  const Shape& xs = x.shape();
  const int r = xs.rank();
  std::string listed;
  for (int d : dims) listed += (listed.empty() ? "" : ",") + std::to_string(d);
  std::vector<bool> used(size_t(r), false);
  bool ok = r >= 1 && int(dims.size()) == r - 1;
  for (size_t k = 0; ok && k < dims.size(); ++k) {
    ok = dims[k] >= 1 && dims[k] < r && !used[size_t(dims[k])];
    if (ok) used[size_t(dims[k])] = true;
  }
  if (!ok)
    throw std::invalid_argument("permute: dims (" + listed + ") is not a permutation of 1.." + std::to_string(r - 1) +
                                " for input " + xs.str());
  std::vector<int64_t> stride(size_t(r), 1), out_dims(size_t(r), 0);
  for (int k = r - 2; k >= 0; --k) stride[size_t(k)] = stride[size_t(k + 1)] * xs[k + 1];
  PermuteShape s;
  const int off = 4 - r;
  for (int k = 0; k < r; ++k) {
    const int from = k == 0 ? 0 : dims[size_t(k - 1)];
    out_dims[size_t(k)] = xs[from];
    s.out_dims[off + k] = xs[from];
    s.in_stride[off + k] = stride[size_t(from)];
  }
  Tensor y{Shape(out_dims)};
  permute_fwd(x.value().data(), y.data(), s);
  return record_op(std::move(y), {x}, [x, s](const Var& out) {
    permute_bwd(out.grad().data(), x.grad_buffer().data(), s);
  });
}

}  // namespace convis
