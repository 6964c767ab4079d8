// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions: the arithmetic, built with -mavx2 -mfma
// (the transforms are a fifth of a VGG16 forward). The policy (when to use it) is in
// conv2d_winograd.cpp. The algorithm:
//
// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin & Gray 2015), forward and input
// gradient, on NHWC tensors with HWIO kernels (see conv2d.h).
//
// A 2x2 block of outputs of one channel needs a 4x4 block of input. Computed directly that is
// 4 x 9 = 36 multiplications per (input channel, output channel); Winograd's minimal filtering
// algorithm does it in 16:
//
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A          g: 3x3 kernel, d: 4x4 input tile, Y: 2x2
//
//   B^T = | 1  0 -1  0 |     G = | 1    0    0  |     A^T = | 1  1  1  0 |
//         | 0  1  1  0 |         | 1/2  1/2  1/2|           | 0  1 -1 -1 |
//         | 0 -1  1  0 |         | 1/2 -1/2  1/2|
//         | 0  1  0 -1 |         | 0    0    1  |
//
// Summed over input channels, the 16 element-wise products become 16 independent GEMMs:
//   V[xi](T, C) = B^T d B of every tile, U[xi](C, OC) = G g G^T, M[xi](T, OC) = V[xi] U[xi],
// and every output tile is A^T M A. So the GEMM does 16/36 = 1/2.25 of im2col's multiplications,
// which is how the convolution gets past the GEMM's own peak. The transforms are additions only
// (the 1/2 of G is exact), so the result differs from im2col's by float rounding alone.
//
// The input gradient of a 3x3 stride-1 convolution is itself one: dx = conv(dy, w') with w'
// rotated by 180 degrees and its channel axes swapped (w'[kh,kw,oc,c] = w[2-kh,2-kw,c,oc]) and
// padding 2 - pad, which the same code runs on w's own transform, read transposed at a permuted
// index (no second kernel is built: transposing one first cost as much as the GEMMs saved).
//
// Tiles are processed in chunks whose V and M stay near 4 MiB each, so the scratch is bounded
// whatever the batch and the transforms' output is still in cache for the GEMMs.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/gemm.h"
#include "kernels/scratch.h"

namespace convis {

namespace {

struct Geometry {
  int N, H, W, C;         // input (x, or dy for the input gradient)
  int pad_top, pad_left;  // rows / columns of zeros before the input
  int OC, OH, OW;         // output
  int64_t tiles_h() const { return (OH + 1) / 2; }
  int64_t tiles_w() const { return (OW + 1) / 2; }
  int64_t tiles() const { return int64_t(N) * tiles_h() * tiles_w(); }
};


// U[xi](C, OC) = G g G^T for every 3x3 kernel g of (c, oc); w:(3,3,C,OC) as Keras stores it.
// Vectorised across oc: the nine taps of (c, .) are nine contiguous rows of w.
void transform_kernel(const float* w, int C, int OC, float* U) {
  const int64_t plane = int64_t(C) * OC;
#pragma omp parallel for schedule(static) if (plane >= (1 << 14))
  for (int c = 0; c < C; ++c) {
    const float* r[9];
    for (int i = 0; i < 9; ++i) r[i] = w + (int64_t(i) * C + c) * OC;
    float* u = U + int64_t(c) * OC;
#pragma omp simd
    for (int oc = 0; oc < OC; ++oc) {
      float t[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        const float g0 = r[j][oc], g1 = r[3 + j][oc], g2 = r[6 + j][oc];
        t[0][j] = g0;
        t[1][j] = 0.5f * (g0 + g1 + g2);
        t[2][j] = 0.5f * (g0 - g1 + g2);
        t[3][j] = g2;
      }
      for (int i = 0; i < 4; ++i) {  // (G g) G^T
        u[(4 * i + 0) * plane + oc] = t[i][0];
        u[(4 * i + 1) * plane + oc] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[(4 * i + 2) * plane + oc] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[(4 * i + 3) * plane + oc] = t[i][2];
      }
    }
  }
}

// V[xi](nt, C) = B^T d B for tiles [t0, t0 + nt).
void transform_input(const float* x, const Geometry& g, int64_t t0, int64_t nt, float* V, const float* zeros) {
  const int64_t C = g.C, th_n = g.tiles_h(), tw_n = g.tiles_w();
  const int64_t plane = nt * C;
#pragma omp parallel for schedule(static) if (nt * C >= (1 << 12))
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tile = t0 + t;
    const int64_t n = tile / (th_n * tw_n), r = tile % (th_n * tw_n);
    const int64_t ih0 = 2 * (r / tw_n) - g.pad_top, iw0 = 2 * (r % tw_n) - g.pad_left;
    const float* d[16];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const int64_t ih = ih0 + i, iw = iw0 + j;
        d[4 * i + j] = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? x + ((n * g.H + ih) * g.W + iw) * C : zeros;
      }
    float* v = V + t * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      float b[4][4];  // B^T d
      for (int j = 0; j < 4; ++j) {
        const float d0 = d[j][c], d1 = d[4 + j][c], d2 = d[8 + j][c], d3 = d[12 + j][c];
        b[0][j] = d0 - d2;
        b[1][j] = d1 + d2;
        b[2][j] = d2 - d1;
        b[3][j] = d1 - d3;
      }
      for (int i = 0; i < 4; ++i) {  // (B^T d) B
        v[(4 * i + 0) * plane + c] = b[i][0] - b[i][2];
        v[(4 * i + 1) * plane + c] = b[i][1] + b[i][2];
        v[(4 * i + 2) * plane + c] = b[i][2] - b[i][1];
        v[(4 * i + 3) * plane + c] = b[i][1] - b[i][3];
      }
    }
  }
}

// y tiles [t0, t0 + nt) = A^T M A (+ bias), written or added.
void transform_output(const float* M, const Geometry& g, int64_t t0, int64_t nt, const float* bias, float* y,
                      bool accumulate) {
  const int64_t OC = g.OC, th_n = g.tiles_h(), tw_n = g.tiles_w();
  const int64_t plane = nt * OC;
#pragma omp parallel if (nt * OC >= (1 << 12))
  {
  std::vector<float> buf(size_t(4 * OC));
  float* tmp = buf.data();
#pragma omp for schedule(static)
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tile = t0 + t;
    const int64_t n = tile / (th_n * tw_n), r = tile % (th_n * tw_n);
    const int64_t oh0 = 2 * (r / tw_n), ow0 = 2 * (r % tw_n);
    const bool has_row1 = oh0 + 1 < g.OH, has_col1 = ow0 + 1 < g.OW;
    float* out[4];
    out[0] = y + ((n * g.OH + oh0) * g.OW + ow0) * OC;
    out[1] = has_col1 ? out[0] + OC : nullptr;
    out[2] = has_row1 ? out[0] + int64_t(g.OW) * OC : nullptr;
    out[3] = has_row1 && has_col1 ? out[2] + OC : nullptr;
    const float* m = M + t * OC;
    float* o = tmp;  // the tile's four output pixels, OC floats each
#pragma omp simd
    for (int64_t oc = 0; oc < OC; ++oc) {
      float s[2][4];  // A^T M
      for (int j = 0; j < 4; ++j) {
        const float m0 = m[(0 + j) * plane + oc], m1 = m[(4 + j) * plane + oc];
        const float m2 = m[(8 + j) * plane + oc], m3 = m[(12 + j) * plane + oc];
        s[0][j] = m0 + m1 + m2;
        s[1][j] = m1 - m2 - m3;
      }
      const float b = bias ? bias[oc] : 0.f;
      o[oc] = s[0][0] + s[0][1] + s[0][2] + b;
      o[OC + oc] = s[0][1] - s[0][2] - s[0][3] + b;
      o[2 * OC + oc] = s[1][0] + s[1][1] + s[1][2] + b;
      o[3 * OC + oc] = s[1][1] - s[1][2] - s[1][3] + b;
    }
    for (int k = 0; k < 4; ++k) {
      float* dst = out[k];
      if (!dst) continue;
      const float* src = o + k * OC;
      if (accumulate) {
#pragma omp simd
        for (int64_t oc = 0; oc < OC; ++oc) dst[oc] += src[oc];
      } else {
        std::copy(src, src + OC, dst);
      }
    }
  }
  }
}

// y = conv(x, U) as above; U: 16 x (C, OC), or with `rotated`, the forward transform of the
// kernel whose input gradient this is: 16 x (OC, C) = 16 x (g.OC, g.C), read transposed and with
// its 4x4 index permuted (see conv2d_nhwc_bwd_data_winograd).
void winograd_run(const float* x, const float* U, const float* bias, float* y, const Geometry& g, bool accumulate,
                  bool rotated) {
  const int64_t T = g.tiles(), chunk = winograd_chunk(T, g.C, g.OC, 16);
  float* V = thread_scratch(ScratchSlot::winograd_v, 16 * chunk * g.C);
  float* M = thread_scratch(ScratchSlot::winograd_m, 16 * chunk * g.OC);
  float* zeros = thread_scratch(ScratchSlot::winograd_zeros, g.C);
  std::fill(zeros, zeros + g.C, 0.f);
  const int64_t cp = int64_t(g.C) * g.OC;
  constexpr int kFlip[4] = {3, 1, 2, 0};  // G J = P G: rotating g by 180 degrees swaps rows 0 and 3
  auto one_gemm = [&](int xi, int64_t nt) {
    if (rotated) {  // M[xi](nt, OC) = V[xi](nt, C) * U_fwd[p(xi)]^T, U_fwd stored (OC, C)
      const int src = 4 * kFlip[xi / 4] + kFlip[xi % 4];
      gemm(false, true, nt, g.OC, g.C, V + xi * nt * g.C, U + src * cp, M + xi * nt * g.OC);
    } else {
      gemm(false, false, nt, g.OC, g.C, V + xi * nt * g.C, U + xi * cp, M + xi * nt * g.OC);
    }
  };
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t nt = std::min(chunk, T - t0);
    transform_input(x, g, t0, nt, V, zeros);
    // The 16 GEMMs: parallel over xi when each is small, else OpenMP inside each GEMM.
    if (nt < 256) {
#pragma omp parallel for schedule(dynamic, 1)
      for (int xi = 0; xi < 16; ++xi) one_gemm(xi, nt);
    } else {
      for (int xi = 0; xi < 16; ++xi) one_gemm(xi, nt);
    }
    transform_output(M, g, t0, nt, bias, y, accumulate);
  }
}

// w's transform, 16 x (C, OC), from the cache of transformed kernels (conv2d_winograd.h): made
// once for a kernel that does not change (inference, activation maximisation), and shared by a
// training step's forward and input gradient.
const float* transformed_kernel(const float* w, const Conv2dShape& s) {
  return winograd_kernel_transform(16, w, s.C, s.OC, transform_kernel);
}

}  // namespace

void conv2d_nhwc_fwd_winograd__avx2(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  const float* U = transformed_kernel(w, s);
  const Geometry g{s.N, s.H, s.W, s.C, s.pad_top, s.pad_left, s.OC, s.OH, s.OW};
  winograd_run(x, U, b, y, g, /*accumulate=*/false, /*rotated=*/false);
}

void conv2d_nhwc_bwd_data_winograd__avx2(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  // dx = conv(dy, w') with w'[kh,kw,oc,c] = w[2-kh,2-kw,c,oc] and padding 2 - pad. Its transform
  // needs no second kernel: with J the 3x3 exchange matrix, G J = P G (P swaps rows 0 and 3), so
  // G (J g J) G^T = P (G g G^T) P^T, and w''s transform is w's, read transposed (channels swapped)
  // at the permuted 4x4 index: winograd_run's `rotated`.
  const float* U = transformed_kernel(w, s);
  const Geometry g{s.N, s.OH, s.OW, s.OC, 2 - s.pad_top, 2 - s.pad_left, s.C, s.H, s.W};
  winograd_run(dy, U, nullptr, dx, g, /*accumulate=*/true, /*rotated=*/true);
}

}  // namespace convis
