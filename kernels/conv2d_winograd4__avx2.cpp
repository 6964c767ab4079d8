// Winograd F(4x4, 3x3) for the forward pass of 3x3 stride-1 convolutions, built with -mavx2
// -mfma. The same scheme as F(2x2, 3x3) (conv2d_winograd__avx2.cpp, which explains it), on 6x6
// input tiles that give 4x4 outputs (Lavin & Gray 2015, interpolation points 0, +-1, +-2, inf):
//
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A
//
//   B^T = | 4  0 -5  0  1  0 |   G = |  1/4     0     0  |   A^T = | 1  1  1  1  1  0 |
//         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |         | 0  1 -1  2 -2  0 |
//         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |         | 0  1  1  4  4  0 |
//         | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |         | 0  1 -1  8 -8  1 |
//         | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
//         | 0  4  0 -5  0  1 |       |  0     0     1    |
//
// 36 GEMMs of the channels replace a 4x4 block's 16 x 9 = 144 multiplications per (c, oc): 4x
// fewer than im2col, 1.78x fewer than F(2x2). The price is rounding: the transforms' constants
// (up to 8 and 1/24) make the result differ from the direct sum by about 10x F(2x2)'s error
// (tests/test_winograd.cpp states the bound). Used for the forward only; the input gradient
// keeps F(2x2) (its transposed-kernel trick needs G J = P G, which holds for F(2x2) alone).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/gemm.h"
#include "kernels/scratch.h"

namespace convis {

namespace {

constexpr int kT = 6, kXi = 36;  // input tile side, transformed positions

struct Geometry {
  int N, H, W, C, pad_top, pad_left, OC, OH, OW;
  int64_t tiles_h() const { return (OH + 3) / 4; }
  int64_t tiles_w() const { return (OW + 3) / 4; }
  int64_t tiles() const { return int64_t(N) * tiles_h() * tiles_w(); }
};

// out = B^T in, six values with stride s.
template <class T>
inline void bt6(const T* in, int s, T* out, int so) {
  const T d0 = in[0], d1 = in[s], d2 = in[2 * s], d3 = in[3 * s], d4 = in[4 * s], d5 = in[5 * s];
  out[0] = 4.f * d0 - 5.f * d2 + d4;
  out[so] = -4.f * (d1 + d2) + d3 + d4;
  out[2 * so] = 4.f * (d1 - d2) - d3 + d4;
  out[3 * so] = 2.f * (d3 - d1) - d2 + d4;
  out[4 * so] = 2.f * (d1 - d3) - d2 + d4;
  out[5 * so] = 4.f * d1 - 5.f * d3 + d5;
}

// out = G in, three values with stride s -> six with stride so.
template <class T>
inline void g6(const T* in, int s, T* out, int so) {
  const T g0 = in[0], g1 = in[s], g2 = in[2 * s];
  const T p = g0 / 24.f + g2 / 6.f, q = g1 / 12.f;
  out[0] = 0.25f * g0;
  out[so] = -(g0 + g1 + g2) / 6.f;
  out[2 * so] = -(g0 - g1 + g2) / 6.f;
  out[3 * so] = p + q;
  out[4 * so] = p - q;
  out[5 * so] = g2;
}

// out = A^T in, six values with stride s -> four with stride so.
template <class T>
inline void at4(const T* in, int s, T* out, int so) {
  const T m0 = in[0], m1 = in[s], m2 = in[2 * s], m3 = in[3 * s], m4 = in[4 * s], m5 = in[5 * s];
  const T p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4;
  out[0] = m0 + p12 + p34;
  out[so] = d12 + 2.f * d34;
  out[2 * so] = p12 + 4.f * p34;
  out[3 * so] = d12 + 8.f * d34 + m5;
}

// U[xi](C, OC) = G g G^T, w:(3,3,C,OC): eight output channels at a time.
template <class T, class Load, class Store>
inline void kernel_tile(const float* const* r, int64_t oc, float* u0, int64_t plane, Load load, Store store) {
  T g[9], t[6 * 3], u[36];
  for (int i = 0; i < 9; ++i) g[i] = load(r[i] + oc);
  for (int j = 0; j < 3; ++j) g6(g + j, 3, t + j, 3);         // t(6,3) = G g
  for (int i = 0; i < 6; ++i) g6(t + 3 * i, 1, u + 6 * i, 1);  // u(6,6) = t G^T
  for (int xi = 0; xi < kXi; ++xi) store(u0 + xi * plane + oc, u[xi]);
}

const auto load8 = [](const float* p) { return _mm256_loadu_ps(p); };
const auto store8 = [](float* p, __m256 v) { _mm256_storeu_ps(p, v); };
const auto load1 = [](const float* p) { return *p; };
const auto store1 = [](float* p, float v) { *p = v; };

void transform_kernel(const float* w, int C, int OC, float* U) {
  const int64_t plane = int64_t(C) * OC, OC8 = OC / 8 * 8;
#pragma omp parallel for schedule(static) if (plane >= (1 << 14))
  for (int c = 0; c < C; ++c) {
    const float* r[9];
    for (int i = 0; i < 9; ++i) r[i] = w + (int64_t(i) * C + c) * OC;
    float* u0 = U + int64_t(c) * OC;
    int64_t oc = 0;
    for (; oc < OC8; oc += 8) kernel_tile<__m256>(r, oc, u0, plane, load8, store8);
    for (; oc < OC; ++oc) kernel_tile<float>(r, oc, u0, plane, load1, store1);
  }
}

// V[xi](nt, C) = B^T d B for tiles [t0, t0 + nt).
void transform_input(const float* x, const Geometry& g, int64_t t0, int64_t nt, float* V, const float* zeros) {
  const int64_t C = g.C, th_n = g.tiles_h(), tw_n = g.tiles_w(), plane = nt * C;
#pragma omp parallel for schedule(static) if (nt * C >= (1 << 12))
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tile = t0 + t, n = tile / (th_n * tw_n), r = tile % (th_n * tw_n);
    const int64_t ih0 = 4 * (r / tw_n) - g.pad_top, iw0 = 4 * (r % tw_n) - g.pad_left;
    const float* d[36];
    for (int i = 0; i < kT; ++i)
      for (int j = 0; j < kT; ++j) {
        const int64_t ih = ih0 + i, iw = iw0 + j;
        d[kT * i + j] = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? x + ((n * g.H + ih) * g.W + iw) * C : zeros;
      }
    float* v = V + t * C;
    const auto one = [&](auto zero, int64_t c, auto load, auto store) {
      using T = decltype(zero);
      T in[36], b[36], o[36];
      for (int k = 0; k < 36; ++k) in[k] = load(d[k] + c);
      for (int j = 0; j < kT; ++j) bt6(in + j, kT, b + j, kT);        // b = B^T d (columns)
      for (int i = 0; i < kT; ++i) bt6(b + kT * i, 1, o + kT * i, 1);  // o = b B (rows)
      for (int xi = 0; xi < kXi; ++xi) store(v + xi * plane + c, o[xi]);
    };
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) one(_mm256_setzero_ps(), c, load8, store8);
    for (; c < C; ++c) one(0.f, c, load1, store1);
  }
}

// y tiles [t0, t0 + nt) = A^T M A + bias.
void transform_output(const float* M, const Geometry& g, int64_t t0, int64_t nt, const float* bias, float* y) {
  const int64_t OC = g.OC, th_n = g.tiles_h(), tw_n = g.tiles_w(), plane = nt * OC;
#pragma omp parallel if (nt * OC >= (1 << 12))
  {
  std::vector<float> buf(size_t(16 * OC));  // the tile's 16 output pixels, OC floats each
  float* tmp = buf.data();
#pragma omp for schedule(static)
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tile = t0 + t, n = tile / (th_n * tw_n), r = tile % (th_n * tw_n);
    const int64_t oh0 = 4 * (r / tw_n), ow0 = 4 * (r % tw_n);
    const int rows = int(std::min<int64_t>(4, g.OH - oh0)), cols = int(std::min<int64_t>(4, g.OW - ow0));
    const float* m = M + t * OC;
    const auto one = [&](auto zero, int64_t oc, auto load, auto store) {
      using T = decltype(zero);
      T in[36], s[4 * 6], o[16];
      for (int xi = 0; xi < kXi; ++xi) in[xi] = load(m + xi * plane + oc);
      for (int j = 0; j < kT; ++j) at4(in + j, kT, s + j, kT);      // s(4,6) = A^T m
      for (int i = 0; i < 4; ++i) at4(s + kT * i, 1, o + 4 * i, 1);  // o(4,4) = s A
      const T b = bias ? load(bias + oc) : zero;
      for (int k = 0; k < 16; ++k) store(tmp + k * OC + oc, o[k] + b);
    };
    int64_t oc = 0;
    for (; oc + 8 <= OC; oc += 8) one(_mm256_setzero_ps(), oc, load8, store8);
    for (; oc < OC; ++oc) one(0.f, oc, load1, store1);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        const float* src = tmp + (4 * i + j) * OC;
        std::copy(src, src + OC, y + ((n * g.OH + oh0 + i) * g.OW + ow0 + j) * OC);
      }
  }
  }
}

}  // namespace

void conv2d_nhwc_fwd_winograd4__avx2(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  const Geometry g{s.N, s.H, s.W, s.C, s.pad_top, s.pad_left, s.OC, s.OH, s.OW};
  const float* U = winograd_kernel_transform(kXi, w, s.C, s.OC, transform_kernel);
  const int64_t T = g.tiles(), chunk = winograd_chunk(T, g.C, g.OC, kXi);
  float* V = thread_scratch(ScratchSlot::winograd_v, kXi * chunk * g.C);
  float* M = thread_scratch(ScratchSlot::winograd_m, kXi * chunk * g.OC);
  float* zeros = thread_scratch(ScratchSlot::winograd_zeros, g.C);
  std::fill(zeros, zeros + g.C, 0.f);
  const int64_t cp = int64_t(g.C) * g.OC;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t nt = std::min(chunk, T - t0);
    transform_input(x, g, t0, nt, V, zeros);
    if (nt < 256) {
#pragma omp parallel for schedule(dynamic, 1)
      for (int xi = 0; xi < kXi; ++xi) gemm(false, false, nt, g.OC, g.C, V + xi * nt * g.C, U + xi * cp, M + xi * nt * g.OC);
    } else {
      for (int xi = 0; xi < kXi; ++xi) gemm(false, false, nt, g.OC, g.C, V + xi * nt * g.C, U + xi * cp, M + xi * nt * g.OC);
    }
    transform_output(M, g, t0, nt, b, y);
  }
}

}  // namespace convis
