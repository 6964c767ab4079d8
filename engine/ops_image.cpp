// Image ops for activation maximisation: Fourier parametrisation, colour mixing, affine warps.
#include "engine/ops_image.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/ops.h"
#include "kernels/fourier.h"
#include "kernels/layout.h"
#include "kernels/warp.h"

namespace convis {

// The kernel works on planes (P, H, W); NHWC puts channels last, so the op transposes
// (N, C, H, W) <-> (N, H, W, C) around it.
Var irfft2_image(const Var& spectrum, int w) {
  const Shape& ss = spectrum.shape();
  const int Wf = w / 2 + 1;
  if (ss.rank() != 4 || w <= 0 || ss[3] != 2 * Wf)
    throw std::invalid_argument("irfft2_image: spectrum has shape " + ss.str() + ", expected (N, C, H, " +
                                std::to_string(2 * Wf) + ") for width " + std::to_string(w));
  const int64_t N = ss[0], C = ss[1], H = ss[2];
  const Irfft2Shape s{N * C, int(H), w};
  std::vector<float> planes(size_t(N * C * H * w));
  irfft2_planes_fwd(spectrum.value().data(), planes.data(), s);
  Tensor y(Shape{N, H, w, C});
  planes_to_nhwc(planes.data(), y.data(), N, C, H * w);
  return record_op(std::move(y), {spectrum}, [spectrum, s, N, C, H, w](const Var& out) {
    std::vector<float> dplanes(size_t(N * C * H * w));
    nhwc_to_planes(out.grad().data(), dplanes.data(), N, C, H * w);
    irfft2_planes_bwd(dplanes.data(), spectrum.grad_buffer().data(), s);
  });
}

Var mix_channels(const Var& x, const Tensor& m, const Tensor& b) {
  const Shape& xs = x.shape();
  const int64_t C = xs.rank() ? xs[xs.rank() - 1] : 0;
  if (m.rank() != 2 || m.dim(0) != C || (b.defined() && (b.rank() != 1 || b.dim(0) != m.dim(1))))
    throw std::invalid_argument("mix_channels: input " + xs.str() + " does not fit matrix " + m.shape().str() +
                                (b.defined() ? " and bias " + b.shape().str() : std::string()));
  std::vector<int64_t> dims = xs.dims();
  dims.back() = m.dim(1);
  const Var flat = reshape(x, Shape{xs.numel() / C, C});
  return reshape(dense(flat, Var::constant(m), b.defined() ? Var::constant(b) : Var()), Shape(dims));
}

Var affine_warp(const Var& x, const std::vector<Affine2d>& maps, int out_h, int out_w, float fill) {
  const Shape& xs = x.shape();
  if (xs.rank() != 4 || int64_t(maps.size()) != xs[0] || out_h <= 0 || out_w <= 0)
    throw std::invalid_argument("affine_warp: input " + xs.str() + " with " + std::to_string(maps.size()) +
                                " maps to " + std::to_string(out_h) + "x" + std::to_string(out_w) +
                                ", expected (N, H, W, C), N maps and a positive size");
  const WarpShape s{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), out_h, out_w};
  std::vector<float> a;
  for (const Affine2d& m : maps) a.insert(a.end(), m.begin(), m.end());
  Tensor y(Shape{xs[0], out_h, out_w, xs[3]});
  affine_warp_bilinear_nhwc_fwd(x.value().data(), a.data(), fill, y.data(), s);
  return record_op(std::move(y), {x}, [x, a, s](const Var& out) {
    affine_warp_bilinear_nhwc_bwd(out.grad().data(), a.data(), x.grad_buffer().data(), s);
  });
}

// Forward map (input -> output point): p_out = c + s R(theta) (p_in - c) + d, with the centre
// c = ((w-1)/2, (h-1)/2) and rows growing downwards. Inverse: p_in = c + R(-theta) (p_out - c - d) / s.
// R(theta) = [[cos, sin], [-sin, cos]] in (x right, y down) turns counter-clockwise on screen.
Affine2d centred_affine(int h, int w, float scale, float degrees, float dx, float dy) {
  const double t = double(degrees) * 3.14159265358979323846 / 180.0;
  const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  // R(-theta) = [[cos, -sin], [sin, cos]] / scale
  const double a = std::cos(t) / scale, b = -std::sin(t) / scale, c = std::sin(t) / scale, d = std::cos(t) / scale;
  const double ox = -cx - dx, oy = -cy - dy;  // p_out - c - d = (u, v) + (ox, oy)
  return {float(a), float(b), float(cx + a * ox + b * oy), float(c), float(d), float(cy + c * ox + d * oy)};
}

}  // namespace convis
