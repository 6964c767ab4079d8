// UpSampling2D (see upsample2d.h). Bilinear follows TensorFlow's resize_bilinear kernel step for
// step: the source coordinate (o + 0.5) * (in / out) - 0.5 in float, and the interpolation
// top + (bottom - top) * fy of top = tl + (tr - tl) * fx, so its outputs match to rounding.
#include "kernels/upsample2d.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu.h"

namespace convis {

namespace {

struct Tap {
  int lo = 0, hi = 0;
  float f = 0.f;  // weight on hi; 1 - f on lo
};

std::vector<Tap> axis_taps(int in, int factor) {
  const int out = in * factor;
  const float scale = float(in) / float(out);
  std::vector<Tap> taps(static_cast<size_t>(out));
  for (int o = 0; o < out; ++o) {
    const float s = std::clamp((float(o) + 0.5f) * scale - 0.5f, 0.f, float(in - 1));
    Tap& t = taps[size_t(o)];
    t.lo = int(std::floor(s));
    t.hi = std::min(t.lo + 1, in - 1);
    t.f = s - float(t.lo);
  }
  return taps;
}

// For each input index, the outputs that read it and with what weight (the transpose of the taps).
std::vector<std::vector<std::pair<int, float>>> axis_readers(int in, const std::vector<Tap>& taps) {
  std::vector<std::vector<std::pair<int, float>>> r(static_cast<size_t>(in));
  for (size_t o = 0; o < taps.size(); ++o) {
    r[size_t(taps[o].lo)].push_back({int(o), 1.f - taps[o].f});
    r[size_t(taps[o].hi)].push_back({int(o), taps[o].f});
  }
  return r;
}

}  // namespace

void upsample2d_nearest_nhwc_fwd(const float* x, float* y, const Upsample2dShape& s) {
  const int64_t OH = int64_t(s.H) * s.SH, OW = int64_t(s.W) * s.SW, C = s.C, rows = s.N * OH;
#pragma omp parallel for schedule(static) if (rows * OW * C >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / OH, ih = (r % OH) / s.SH;
    const float* xrow = x + (n * s.H + ih) * s.W * C;
    float* yrow = y + r * OW * C;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const float* xp = xrow + (ow / s.SW) * C;
      float* yp = yrow + ow * C;
      for (int64_t c = 0; c < C; ++c) yp[c] = xp[c];
    }
  }
}

void upsample2d_nearest_nhwc_bwd(const float* dy, float* dx, const Upsample2dShape& s) {
  const int64_t OH = int64_t(s.H) * s.SH, OW = int64_t(s.W) * s.SW, C = s.C, rows = int64_t(s.N) * s.H;
#pragma omp parallel for schedule(static) if (rows * s.W * C >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / s.H, ih = r % s.H;
    float* dxrow = dx + r * s.W * C;
    for (int a = 0; a < s.SH; ++a) {
      const float* dyrow = dy + (n * OH + ih * s.SH + a) * OW * C;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const float* dp = dyrow + ow * C;
        float* xp = dxrow + (ow / s.SW) * C;
        for (int64_t c = 0; c < C; ++c) xp[c] += dp[c];
      }
    }
  }
}

void upsample2d_bilinear_nhwc_fwd(const float* x, float* y, const Upsample2dShape& s) {
  const std::vector<Tap> ty = axis_taps(s.H, s.SH), tx = axis_taps(s.W, s.SW);
  const int64_t OH = int64_t(s.H) * s.SH, OW = int64_t(s.W) * s.SW, C = s.C, rows = s.N * OH;
#pragma omp parallel for schedule(static) if (rows * OW * C >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / OH;
    const Tap& v = ty[size_t(r % OH)];
    const float* top = x + (n * s.H + v.lo) * s.W * C;
    const float* bottom = x + (n * s.H + v.hi) * s.W * C;
    float* yrow = y + r * OW * C;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const Tap& u = tx[size_t(ow)];
      const float* tl = top + u.lo * C;
      const float* tr = top + u.hi * C;
      const float* bl = bottom + u.lo * C;
      const float* br = bottom + u.hi * C;
      float* yp = yrow + ow * C;
      for (int64_t c = 0; c < C; ++c) {
        const float t = tl[c] + (tr[c] - tl[c]) * u.f, b = bl[c] + (br[c] - bl[c]) * u.f;
        yp[c] = t + (b - t) * v.f;
      }
    }
  }
}

void upsample2d_bilinear_nhwc_bwd(const float* dy, float* dx, const Upsample2dShape& s) {
  const std::vector<Tap> tx = axis_taps(s.W, s.SW);
  const auto readers = axis_readers(s.H, axis_taps(s.H, s.SH));
  const int64_t OH = int64_t(s.H) * s.SH, OW = int64_t(s.W) * s.SW, C = s.C, rows = int64_t(s.N) * s.H;
#pragma omp parallel for schedule(static) if (rows * s.W * C >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / s.H;
    float* dxrow = dx + r * s.W * C;
    for (const auto& [oh, wy] : readers[size_t(r % s.H)]) {
      if (wy == 0.f) continue;
      const float* dyrow = dy + (n * OH + oh) * OW * C;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const Tap& u = tx[size_t(ow)];
        const float* dp = dyrow + ow * C;
        float* lo = dxrow + u.lo * C;
        float* hi = dxrow + u.hi * C;
        const float wlo = wy * (1.f - u.f), whi = wy * u.f;
        for (int64_t c = 0; c < C; ++c) lo[c] += wlo * dp[c];
        for (int64_t c = 0; c < C; ++c) hi[c] += whi * dp[c];
      }
    }
  }
}

}  // namespace convis
