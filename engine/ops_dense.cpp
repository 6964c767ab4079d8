// Dense layers and inference-form batch normalisation.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/ops.h"
#include "engine/ops_fused.h"
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace convis {

// y = x W + b        x:(N,in) W:(in,out) b:(out) y:(N,out)
// dx = dy W^T ; dW = x^T dy ; db = column sums of dy
Var dense(const Var& x, const Var& w, const Var& b, bool fuse_relu) {
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  if (xs.rank() != 2 || ws.rank() != 2 || xs[1] != ws[0])
    throw std::invalid_argument("dense: input " + xs.str() + " does not fit kernel " + ws.str() +
                                " (expected input (N, in) and kernel (in, out))");
  if (b.defined() && (b.shape().rank() != 1 || b.shape()[0] != ws[1]))
    throw std::invalid_argument("dense: bias has shape " + b.shape().str() + ", kernel " + ws.str() + " expects (" +
                                std::to_string(ws[1]) + ",)");
  const int64_t N = xs[0], in = xs[1], outn = ws[1];
  Tensor y(Shape{N, outn});
  gemm(false, false, N, outn, in, x.value().data(), w.value().data(), y.data());
  if (b.defined()) add_bias_rows(y.data(), b.value().data(), N, outn);
  if (fuse_relu) relu_fwd(y.data(), y.data(), y.numel());
  return record_op(std::move(y), {x, w, b}, [x, w, b, N, in, outn, fuse_relu](const Var& out) {
    const Tensor dy = fuse_relu ? fused_relu_grad(out) : out.grad();
    if (x.requires_grad()) gemm(false, true, N, in, outn, dy.data(), w.value().data(), x.grad_buffer().data(), true);
    if (w.requires_grad()) gemm(true, false, in, outn, N, x.value().data(), dy.data(), w.grad_buffer().data(), true);
    if (b.defined() && b.requires_grad()) sum_rows(dy.data(), b.grad_buffer().data(), N, outn);
  });
}

// The formulas are in kernels/batch_norm.h. The tensor is seen as (outer, C, inner) around `axis`.
Var batch_norm_inference(const Var& x, const Var& gamma, const Var& beta, const Var& mean, const Var& var, float eps,
                         int axis) {
  const Shape& xs = x.shape();
  if (xs.rank() < 1) throw std::invalid_argument("batch_norm: scalar input");
  const int a = axis < 0 ? axis + xs.rank() : axis;
  if (a < 0 || a >= xs.rank())
    throw std::invalid_argument("batch_norm: axis " + std::to_string(axis) + " is out of range for input " + xs.str());
  const int64_t C = xs[a];
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < a; ++k) outer *= xs[k];
  for (int k = a + 1; k < xs.rank(); ++k) inner *= xs[k];
  const Var* params[] = {&gamma, &beta, &mean, &var};
  const char* names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
  for (int i = 0; i < 4; ++i)
    if (params[i]->shape().rank() != 1 || params[i]->shape()[0] != C)
      throw std::invalid_argument(std::string("batch_norm: ") + names[i] + " has shape " + params[i]->shape().str() +
                                  ", input " + xs.str() + " on axis " + std::to_string(axis) + " expects (" +
                                  std::to_string(C) + ",)");
  if (!(eps >= 0.f)) throw std::invalid_argument("batch_norm: epsilon " + std::to_string(eps) + " must be >= 0");

  Tensor scale(Shape{C}), shift(Shape{C}), inv_std(Shape{C});
  batch_norm_fold(gamma.value().data(), beta.value().data(), mean.value().data(), var.value().data(), eps,
                  scale.data(), shift.data(), inv_std.data(), C);
  Tensor y(xs);
  batch_norm_fwd(x.value().data(), scale.data(), shift.data(), y.data(), outer, C, inner);
  return record_op(std::move(y), {x, gamma, beta, mean, var},
                   [x, gamma, beta, mean, var, scale, inv_std, outer, C, inner](const Var& out) {
    const float* dy = out.grad().data();
    if (x.requires_grad()) batch_norm_bwd_data(dy, scale.data(), x.grad_buffer().data(), outer, C, inner);
    auto grad_of = [](const Var& v) { return v.requires_grad() ? v.grad_buffer().data() : nullptr; };
    batch_norm_bwd_params(x.value().data(), dy, gamma.value().data(), mean.value().data(), inv_std.data(),
                          grad_of(gamma), grad_of(beta), grad_of(mean), grad_of(var), outer, C, inner);
  });
}

// Keras' Normalization as an affine map per channel (kernels/batch_norm.h). A (1) mean and
// variance (one value given for every channel) are spread over the C channels first.
Var normalize_inference(const Var& x, const Var& mean, const Var& var) {
  const Shape& xs = x.shape();
  if (xs.rank() < 1) throw std::invalid_argument("normalize_inference: scalar input");
  const int64_t C = xs[xs.rank() - 1], rows = xs.numel() / std::max<int64_t>(C, 1);
  const int64_t k = mean.shape().rank() == 1 ? mean.shape()[0] : -1;
  if ((k != C && k != 1) || var.shape() != mean.shape())
    throw std::invalid_argument("normalize_inference: mean " + mean.shape().str() + " and variance " +
                                var.shape().str() + " do not fit input " + xs.str() + " (expected (" +
                                std::to_string(C) + ",) or (1,) each)");
  const Var m = k == C ? mean : mul(Var::constant(Tensor::full({C}, 1.f)), mean);  // broadcast (1) -> (C)
  const Var v = k == C ? var : mul(Var::constant(Tensor::full({C}, 1.f)), var);
  Tensor scale(Shape{C}), shift(Shape{C});
  normalization_fold(m.value().data(), v.value().data(), scale.data(), shift.data(), C);
  Tensor y(xs);
  batch_norm_fwd(x.value().data(), scale.data(), shift.data(), y.data(), rows, C);
  return record_op(std::move(y), {x, m, v}, [x, m, v, scale, rows, C](const Var& out) {
    const float* dy = out.grad().data();
    if (x.requires_grad()) batch_norm_bwd_data(dy, scale.data(), x.grad_buffer().data(), rows, C);
    auto grad_of = [](const Var& p) { return p.requires_grad() ? p.grad_buffer().data() : nullptr; };
    normalization_bwd_params(x.value().data(), dy, m.value().data(), v.value().data(), grad_of(m), grad_of(v), rows, C);
  });
}

}  // namespace convis
