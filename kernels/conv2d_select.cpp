// Convolution that computes one output channel per image, forward and backward side by side
// (see conv2d.h). What activation maximisation needs at its target layer: image n's objective
// reads channel f_n only, so the other OC - 1 channels are never needed, and the gradient that
// reaches the layer is zero outside channel f_n, so backward needs one column of W, not all OC.
//
//   forward:  y[n,oh,ow]   = b[f_n] + sum_{kh,kw,c} x[n, oh*SH + kh - pad_top, ow*SW + kw - pad_left, c] * w[kh,kw,c,f_n]
//   backward: dx[n,ih,iw,c] += sum over (oh,ow,kh,kw) reading (ih,iw) of dy[n,oh,ow] * w[kh,kw,c,f_n]
//
// Per image that is a GEMV, P x K by K (P = OH*OW, K = KH*KW*C): 1/OC of the full layer's work,
// so it is written directly, without im2col: each kernel row of a window is KW*C contiguous floats
// of x (inside the image), dotted with the matching KW*C floats of the gathered column w[.., f_n].
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/conv2d.h"

namespace convis {

namespace {

// w[:, :, :, f] as K contiguous floats, in (kh, kw, c) order.
std::vector<float> kernel_column(const float* w, const Conv2dShape& s, int f) {
  const int64_t K = int64_t(s.KH) * s.KW * s.C;
  std::vector<float> col(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) col[size_t(k)] = w[k * s.OC + f];
  return col;
}

float dot(const float* a, const float* b, int64_t n) {
  float acc = 0.f;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// The input columns [kw_lo, kw_hi) of the window starting at iw0 that lie inside the image.
void window_cols(const Conv2dShape& s, int iw0, int* kw_lo, int* kw_hi) {
  *kw_lo = std::max(0, -iw0);
  *kw_hi = std::min(s.KW, s.W - iw0);
}

}  // namespace

// x:(N,H,W,C) w:(KH,KW,C,OC) b:(OC) or null  channel:(N)  y:(N,OH,OW) overwritten
void conv2d_nhwc_fwd_select(const float* x, const float* w, const float* b, const int* channel, float* y,
                            const Conv2dShape& s) {
  const int64_t C = s.C;
  std::vector<std::vector<float>> cols;
  for (int n = 0; n < s.N; ++n) cols.push_back(kernel_column(w, s, channel[n]));
  const int64_t rows = int64_t(s.N) * s.OH;
  // Parallel over output rows when there is enough work to pay for a team (a 6x6 block5 map of
  // one image is not).
  const bool parallel = rows * s.OW * int64_t(s.KH) * s.KW * C >= (1 << 18);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / s.OH;
    const int oh = int(r % s.OH);
    const float* wf = cols[size_t(n)].data();
    const float bias = b ? b[channel[n]] : 0.f;
    for (int ow = 0; ow < s.OW; ++ow) {
      const int iw0 = ow * s.SW - s.pad_left;
      int kw_lo, kw_hi;
      window_cols(s, iw0, &kw_lo, &kw_hi);
      float acc = bias;
      for (int kh = 0; kh < s.KH; ++kh) {
        const int ih = oh * s.SH + kh - s.pad_top;
        if (ih < 0 || ih >= s.H) continue;
        const float* xr = x + ((n * s.H + ih) * s.W + iw0 + kw_lo) * C;  // kw_lo..kw_hi: contiguous
        acc += dot(xr, wf + (int64_t(kh) * s.KW + kw_lo) * C, int64_t(kw_hi - kw_lo) * C);
      }
      y[r * s.OW + ow] = acc;
    }
  }
}

// dy:(N,OH,OW) w:(KH,KW,C,OC) channel:(N)  dx:(N,H,W,C) accumulated
void conv2d_nhwc_bwd_data_select(const float* dy, const float* w, const int* channel, float* dx,
                                 const Conv2dShape& s) {
  const int64_t C = s.C;
  // A scatter: windows overlap within an image, so images are the unit of parallel work.
#pragma omp parallel for schedule(static) if (s.N > 1)
  for (int n = 0; n < s.N; ++n) {
    const std::vector<float> wf = kernel_column(w, s, channel[n]);
    for (int oh = 0; oh < s.OH; ++oh) {
      for (int ow = 0; ow < s.OW; ++ow) {
        const float g = dy[(int64_t(n) * s.OH + oh) * s.OW + ow];
        if (g == 0.f) continue;  // a ReLU that was off, or a guided-backprop zero
        const int iw0 = ow * s.SW - s.pad_left;
        int kw_lo, kw_hi;
        window_cols(s, iw0, &kw_lo, &kw_hi);
        const int64_t span = int64_t(kw_hi - kw_lo) * C;
        for (int kh = 0; kh < s.KH; ++kh) {
          const int ih = oh * s.SH + kh - s.pad_top;
          if (ih < 0 || ih >= s.H) continue;
          float* d = dx + ((int64_t(n) * s.H + ih) * s.W + iw0 + kw_lo) * C;
          const float* wk = wf.data() + (int64_t(kh) * s.KW + kw_lo) * C;
#pragma omp simd
          for (int64_t i = 0; i < span; ++i) d[i] += g * wk[i];
        }
      }
    }
  }
}

}  // namespace convis
