// Dense layers and inference-form batch normalisation.
#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/ops.h"
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
  Var out(y, false);
  if (!needs_record({&x, &w, &b})) return out;
  out.set_requires_grad(true);
  Tape::current().record({x, w, b}, out, [x, w, b, out, N, in, outn, fuse_relu]() mutable {
    Tensor dy = out.grad();
    if (fuse_relu) {
      Tensor masked = Tensor::zeros(dy.shape());
      if (guided_relu_enabled())  // guided backprop: also drop negative gradients
        relu_bwd_guided(out.value().data(), dy.data(), masked.data(), dy.numel());
      else
        relu_bwd(out.value().data(), dy.data(), masked.data(), dy.numel());
      dy = masked;
    }
    if (x.requires_grad()) gemm(false, true, N, in, outn, dy.data(), w.value().data(), x.grad_buffer().data(), true);
    if (w.requires_grad()) gemm(true, false, in, outn, N, x.value().data(), dy.data(), w.grad_buffer().data(), true);
    if (b.defined() && b.requires_grad()) sum_rows(dy.data(), b.grad_buffer().data(), N, outn);
  });
  return out;
}

// y = (x - mean) * inv_std * gamma + beta, inv_std = 1 / sqrt(var + eps), per channel c (last axis).
// dx = dy * gamma * inv_std
// dgamma = sum dy * (x - mean) * inv_std       dbeta = sum dy
// dmean = -sum dy * gamma * inv_std           dvar = sum dy * gamma * (x - mean) * (-1/2) inv_std^3
Var batch_norm_inference(const Var& x, const Var& gamma, const Var& beta, const Var& mean, const Var& var, float eps) {
  const Shape& xs = x.shape();
  if (xs.rank() < 1) throw std::invalid_argument("batch_norm: scalar input");
  const int64_t C = xs[xs.rank() - 1];
  const Var* params[] = {&gamma, &beta, &mean, &var};
  const char* names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
  for (int i = 0; i < 4; ++i)
    if (params[i]->shape().rank() != 1 || params[i]->shape()[0] != C)
      throw std::invalid_argument(std::string("batch_norm: ") + names[i] + " has shape " + params[i]->shape().str() +
                                  ", input " + xs.str() + " expects (" + std::to_string(C) + ",)");
  if (!(eps >= 0.f)) throw std::invalid_argument("batch_norm: epsilon " + std::to_string(eps) + " must be >= 0");

  // Fold the four vectors into one scale and shift per channel: y = x * scale + shift.
  Tensor scale(Shape{C}), shift(Shape{C}), inv_std(Shape{C});
  for (int64_t c = 0; c < C; ++c) {
    inv_std[c] = 1.f / std::sqrt(var.value()[c] + eps);
    scale[c] = gamma.value()[c] * inv_std[c];
    shift[c] = beta.value()[c] - mean.value()[c] * scale[c];
  }
  const int64_t rows = xs.numel() / C;
  Tensor y(xs);
  const float* px = x.value().data();
  float* py = y.data();
#pragma omp parallel for if (rows * C >= (1 << 15)) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) py[r * C + c] = px[r * C + c] * scale[c] + shift[c];

  Var out(y, false);
  if (!needs_record({&x, &gamma, &beta, &mean, &var})) return out;
  out.set_requires_grad(true);
  Tape::current().record({x, gamma, beta, mean, var}, out,
                         [x, gamma, beta, mean, var, out, scale, inv_std, rows, C]() mutable {
    const float* dy = out.grad().data();
    const float* px = x.value().data();
    if (x.requires_grad()) {
      float* dx = x.grad_buffer().data();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < C; ++c) dx[r * C + c] += dy[r * C + c] * scale[c];
    }
    if (!(gamma.requires_grad() || beta.requires_grad() || mean.requires_grad() || var.requires_grad())) return;
    // Per-channel sums of dy and of dy * (x - mean), in double.
    std::vector<double> sum_dy(size_t(C), 0.0), sum_dy_xc(size_t(C), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < C; ++c) {
        sum_dy[size_t(c)] += dy[r * C + c];
        sum_dy_xc[size_t(c)] += double(dy[r * C + c]) * (px[r * C + c] - mean.value()[c]);
      }
    for (int64_t c = 0; c < C; ++c) {
      const double g = gamma.value()[c], is = inv_std[c];
      if (gamma.requires_grad()) gamma.grad_buffer()[c] += float(sum_dy_xc[size_t(c)] * is);
      if (beta.requires_grad()) beta.grad_buffer()[c] += float(sum_dy[size_t(c)]);
      if (mean.requires_grad()) mean.grad_buffer()[c] += float(-sum_dy[size_t(c)] * g * is);
      if (var.requires_grad()) var.grad_buffer()[c] += float(sum_dy_xc[size_t(c)] * g * -0.5 * is * is * is);
    }
  });
  return out;
}

}  // namespace convis
