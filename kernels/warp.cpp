#include "kernels/warp.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace convis {

namespace {

// The four neighbours of a sample point and their bilinear weights; an index is -1 when that
// neighbour lies outside the image.
struct Bilinear {
  int64_t idx[4];
  float w[4];
};

inline Bilinear bilinear_at(const float* a, int u, int v, int H, int W) {
  const float sx = a[0] * float(u) + a[1] * float(v) + a[2];
  const float sy = a[3] * float(u) + a[4] * float(v) + a[5];
  const float fx0 = std::floor(sx), fy0 = std::floor(sy);
  const float fx = sx - fx0, fy = sy - fy0;
  Bilinear b;
  const int x0 = int(fx0), y0 = int(fy0);
  const int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
  b.w[0] = (1.f - fx) * (1.f - fy);
  b.w[1] = fx * (1.f - fy);
  b.w[2] = (1.f - fx) * fy;
  b.w[3] = fx * fy;
  for (int q = 0; q < 4; ++q)
    b.idx[q] = xs[q] >= 0 && xs[q] < W && ys[q] >= 0 && ys[q] < H ? int64_t(ys[q]) * W + xs[q] : -1;
  return b;
}

}  // namespace

void affine_warp_bilinear_nhwc_fwd(const float* x, const float* a, float fill, float* y, const WarpShape& s) {
  const int C = s.C;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < s.N; ++n)
    for (int v = 0; v < s.OH; ++v) {
      const float* xn = x + int64_t(n) * s.H * s.W * C;
      const float* an = a + int64_t(n) * 6;
      for (int u = 0; u < s.OW; ++u) {
        const Bilinear b = bilinear_at(an, u, v, s.H, s.W);
        float* out = y + ((int64_t(n) * s.OH + v) * s.OW + u) * C;
        for (int c = 0; c < C; ++c) {
          float acc = 0.f;
          for (int q = 0; q < 4; ++q) acc += b.w[q] * (b.idx[q] >= 0 ? xn[b.idx[q] * C + c] : fill);
          out[c] = acc;
        }
      }
    }
}

// Scatter: several outputs may read the same input pixel, so images run in parallel and the
// pixels of one image serially.
void affine_warp_bilinear_nhwc_bwd(const float* dy, const float* a, float* dx, const WarpShape& s) {
  const int C = s.C;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < s.N; ++n) {
    float* dxn = dx + int64_t(n) * s.H * s.W * C;
    const float* an = a + int64_t(n) * 6;
    for (int v = 0; v < s.OH; ++v)
      for (int u = 0; u < s.OW; ++u) {
        const Bilinear b = bilinear_at(an, u, v, s.H, s.W);
        const float* g = dy + ((int64_t(n) * s.OH + v) * s.OW + u) * C;
        for (int q = 0; q < 4; ++q) {
          if (b.idx[q] < 0) continue;
          float* d = dxn + b.idx[q] * C;
          for (int c = 0; c < C; ++c) d[c] += b.w[q] * g[c];
        }
      }
  }
}

void gaussian_blur_nhwc(float* x, int N, int H, int W, int C, float sigma) {
  if (!(sigma > 0.f)) return;
  const int r = std::max(1, int(std::ceil(3.f * sigma)));
  std::vector<float> k(size_t(2 * r + 1));
  float total = 0.f;
  for (int i = -r; i <= r; ++i) total += k[size_t(i + r)] = std::exp(-0.5f * float(i * i) / (sigma * sigma));
  for (float& v : k) v /= total;
  const int64_t image = int64_t(H) * W * C;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    float* xn = x + n * image;
    std::vector<float> tmp(static_cast<size_t>(image));
    // Along rows (x), then along columns (y), replicating edge pixels.
    for (int yy = 0; yy < H; ++yy)
      for (int xx = 0; xx < W; ++xx)
        for (int c = 0; c < C; ++c) {
          float acc = 0.f;
          for (int i = -r; i <= r; ++i) {
            const int sx = std::clamp(xx + i, 0, W - 1);
            acc += k[size_t(i + r)] * xn[(int64_t(yy) * W + sx) * C + c];
          }
          tmp[size_t((int64_t(yy) * W + xx) * C + c)] = acc;
        }
    for (int yy = 0; yy < H; ++yy)
      for (int xx = 0; xx < W; ++xx)
        for (int c = 0; c < C; ++c) {
          float acc = 0.f;
          for (int i = -r; i <= r; ++i) {
            const int sy = std::clamp(yy + i, 0, H - 1);
            acc += k[size_t(i + r)] * tmp[size_t((int64_t(sy) * W + xx) * C + c)];
          }
          xn[(int64_t(yy) * W + xx) * C + c] = acc;
        }
  }
}

}  // namespace convis
