#include "kernels/fourier.h"

#include <cmath>
#include <vector>

#include "kernels/gemm.h"

namespace convis {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

// The two real matrices of the transform (see the header):
//   A:(H, 2H)   A[y, j] = cos(2 pi j y / H), A[y, H + j] = sin(2 pi j y / H)
//   B:(2 Wf, W) B[2k, x] = c_k cos(2 pi k x / W) / (H W), B[2k + 1, x] = -c_k sin(2 pi k x / W) / (H W)
// so that with S = [X ; X'] (X' = i X, i.e. (re, im) -> (-im, re)), Z = A S and img = Z B.
struct Tables {
  std::vector<float> A, B;
};

Tables make_tables(const Irfft2Shape& s) {
  const int H = s.H, W = s.W, Wf = s.Wf();
  Tables t;
  t.A.resize(size_t(H) * 2 * H);
  for (int y = 0; y < H; ++y)
    for (int j = 0; j < H; ++j) {
      // Reduce j*y modulo H before the float angle, so large indices lose no precision.
      const double a = kTwoPi * double((int64_t(j) * y) % H) / H;
      t.A[size_t(y) * 2 * H + size_t(j)] = float(std::cos(a));
      t.A[size_t(y) * 2 * H + size_t(H + j)] = float(std::sin(a));
    }
  t.B.resize(size_t(2 * Wf) * W);
  for (int k = 0; k < Wf; ++k) {
    const bool self_mirrored = k == 0 || (W % 2 == 0 && k == W / 2);
    const double c = (self_mirrored ? 1.0 : 2.0) / (double(H) * W);
    for (int x = 0; x < W; ++x) {
      const double a = kTwoPi * double((int64_t(k) * x) % W) / W;
      t.B[size_t(2 * k) * W + size_t(x)] = float(c * std::cos(a));
      t.B[size_t(2 * k + 1) * W + size_t(x)] = float(-c * std::sin(a));
    }
  }
  return t;
}

}  // namespace

// Per plane: S = [X ; iX] (2H, 2Wf); Z = A S (H, 2Wf); img = Z B (H, W).
void irfft2_planes_fwd(const float* X, float* img, const Irfft2Shape& s) {
  const int H = s.H, W = s.W, Wf = s.Wf();
  const Tables t = make_tables(s);
  const int64_t plane_in = int64_t(H) * 2 * Wf, plane_out = int64_t(H) * W;
  std::vector<float> S(size_t(2 * H) * 2 * Wf), Z(size_t(H) * 2 * Wf);
  for (int64_t p = 0; p < s.planes; ++p) {
    const float* x = X + p * plane_in;
    for (int j = 0; j < H; ++j)
      for (int k = 0; k < Wf; ++k) {
        const float re = x[(int64_t(j) * Wf + k) * 2], im = x[(int64_t(j) * Wf + k) * 2 + 1];
        S[(size_t(j) * Wf + size_t(k)) * 2] = re;
        S[(size_t(j) * Wf + size_t(k)) * 2 + 1] = im;
        S[(size_t(H + j) * Wf + size_t(k)) * 2] = -im;
        S[(size_t(H + j) * Wf + size_t(k)) * 2 + 1] = re;
      }
    gemm(false, false, H, 2 * Wf, 2 * H, t.A.data(), S.data(), Z.data());
    gemm(false, false, H, W, 2 * Wf, Z.data(), t.B.data(), img + p * plane_out);
  }
}

// The adjoint, step by step in reverse: dZ = dimg B^T ; dS = A^T dZ ; dX = dS_top + (i^T) dS_bottom,
// where i^T maps (re, im) -> (im, -re).
void irfft2_planes_bwd(const float* dimg, float* dX, const Irfft2Shape& s) {
  const int H = s.H, W = s.W, Wf = s.Wf();
  const Tables t = make_tables(s);
  const int64_t plane_in = int64_t(H) * 2 * Wf, plane_out = int64_t(H) * W;
  std::vector<float> dS(size_t(2 * H) * 2 * Wf), dZ(size_t(H) * 2 * Wf);
  for (int64_t p = 0; p < s.planes; ++p) {
    gemm(false, true, H, 2 * Wf, W, dimg + p * plane_out, t.B.data(), dZ.data());
    gemm(true, false, 2 * H, 2 * Wf, H, t.A.data(), dZ.data(), dS.data());
    float* dx = dX + p * plane_in;
    for (int j = 0; j < H; ++j)
      for (int k = 0; k < Wf; ++k) {
        const size_t top = (size_t(j) * Wf + size_t(k)) * 2, bottom = (size_t(H + j) * Wf + size_t(k)) * 2;
        dx[(int64_t(j) * Wf + k) * 2] += dS[top] + dS[bottom + 1];
        dx[(int64_t(j) * Wf + k) * 2 + 1] += dS[top + 1] - dS[bottom];
      }
  }
}

}  // namespace convis
