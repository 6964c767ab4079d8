// Depthwise convolution, forward and backward side by side (see depthwise_conv2d.h).
//
// Napkin numbers: MobileNetV2's largest depthwise layer (112x112x96, 3x3, stride 2) is 5.4 MFLOP
// against 4.8 MB of input: 1.1 FLOP per byte, so it is bound by memory, not by arithmetic. What
// matters is reading x once per output row band, contiguously, and keeping the accumulators in
// registers: with M = 1 each output pixel sums its KH*KW taps for a block of 16 channels in
// registers (two AVX or four SSE vectors) before storing them, so y is written once.
#include "kernels/depthwise_conv2d.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/elementwise.h"

namespace convis {

namespace {

constexpr int kBlock = 16;  // channels summed in registers at a time (M = 1)

// The kernel rows kh (and columns) whose input row oh*S + k - pad lies inside [0, size).
struct TapRange {
  int lo = 0, hi = 0;  // k in [lo, hi)
};
TapRange taps_inside(int o, int S, int pad, int K, int size) {
  const int start = o * S - pad;  // input index of tap 0
  return {std::max(0, -start), std::min(K, size - start)};
}

// One output pixel: yp[j] = b[j] + sum over its taps (M = 1: channels j = c).
void pixel_fwd_m1(const float* x_img, const float* w, const float* b, float* yp, int oh, int ow, const DepthwiseShape& s) {
  const TapRange th = taps_inside(oh, s.SH, s.pad_top, s.KH, s.H), tw = taps_inside(ow, s.SW, s.pad_left, s.KW, s.W);
  const int C = s.C, ih0 = oh * s.SH - s.pad_top, iw0 = ow * s.SW - s.pad_left;
  int c0 = 0;
  for (; c0 + kBlock <= C; c0 += kBlock) {
    float acc[kBlock];
    for (int i = 0; i < kBlock; ++i) acc[i] = b ? b[c0 + i] : 0.f;
    for (int kh = th.lo; kh < th.hi; ++kh)
      for (int kw = tw.lo; kw < tw.hi; ++kw) {
        const float* xp = x_img + (int64_t(ih0 + kh) * s.W + (iw0 + kw)) * C + c0;
        const float* wp = w + int64_t(kh * s.KW + kw) * C + c0;
        for (int i = 0; i < kBlock; ++i) acc[i] += xp[i] * wp[i];
      }
    for (int i = 0; i < kBlock; ++i) yp[c0 + i] = acc[i];
  }
  if (c0 == C) return;
  for (int c = c0; c < C; ++c) yp[c] = b ? b[c] : 0.f;
  for (int kh = th.lo; kh < th.hi; ++kh)
    for (int kw = tw.lo; kw < tw.hi; ++kw) {
      const float* xp = x_img + (int64_t(ih0 + kh) * s.W + (iw0 + kw)) * C;
      const float* wp = w + int64_t(kh * s.KW + kw) * C;
      for (int c = c0; c < C; ++c) yp[c] += xp[c] * wp[c];
    }
}

// One output pixel for any M: yp[c*M + m] = b + sum_taps x[c] * w[tap, c*M + m].
void pixel_fwd(const float* x_img, const float* w, const float* b, float* yp, int oh, int ow, const DepthwiseShape& s) {
  const TapRange th = taps_inside(oh, s.SH, s.pad_top, s.KH, s.H), tw = taps_inside(ow, s.SW, s.pad_left, s.KW, s.W);
  const int C = s.C, M = s.M, ih0 = oh * s.SH - s.pad_top, iw0 = ow * s.SW - s.pad_left;
  const int64_t CM = s.out_channels();
  for (int64_t j = 0; j < CM; ++j) yp[j] = b ? b[j] : 0.f;
  for (int kh = th.lo; kh < th.hi; ++kh)
    for (int kw = tw.lo; kw < tw.hi; ++kw) {
      const float* xp = x_img + (int64_t(ih0 + kh) * s.W + (iw0 + kw)) * C;
      const float* wp = w + int64_t(kh * s.KW + kw) * CM;
      for (int c = 0; c < C; ++c) {
        const float xv = xp[c];
        for (int m = 0; m < M; ++m) yp[c * M + m] += xv * wp[c * M + m];
      }
    }
}

}  // namespace

DepthwiseShape make_depthwise_shape(int N, int H, int W, int C, int KH, int KW, int M, int SH, int SW,
                                    Padding padding) {
  const std::string where = "depthwise_conv2d on input (N,H,W,C)=(" + std::to_string(N) + "," + std::to_string(H) +
                            "," + std::to_string(W) + "," + std::to_string(C) + ") with kernel (" +
                            std::to_string(KH) + "," + std::to_string(KW) + "," + std::to_string(C) + "," +
                            std::to_string(M) + "), strides (" + std::to_string(SH) + "," + std::to_string(SW) +
                            "), padding '" + padding_name(padding) + "'";
  if (N <= 0 || C <= 0 || M <= 0)
    throw std::invalid_argument(where + ": batch, channels and depth multiplier must be positive");
  const AxisWindow h = window_along_axis(H, KH, SH, padding, (where + ": height").c_str());
  const AxisWindow w = window_along_axis(W, KW, SW, padding, (where + ": width").c_str());
  DepthwiseShape s;
  s.N = N; s.H = H; s.W = W; s.C = C;
  s.KH = KH; s.KW = KW; s.M = M;
  s.SH = SH; s.SW = SW;
  s.pad_top = h.pad_before; s.pad_left = w.pad_before;
  s.OH = h.out; s.OW = w.out;
  return s;
}

void depthwise_conv2d_nhwc_fwd(const float* x, const float* w, const float* b, float* y, const DepthwiseShape& s) {
  const int64_t rows = int64_t(s.N) * s.OH, CM = s.out_channels();
  const int64_t img = int64_t(s.H) * s.W * s.C;
#pragma omp parallel for schedule(static) if (rows * s.OW * CM >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int n = int(r / s.OH), oh = int(r % s.OH);
    float* yrow = y + r * s.OW * CM;
    for (int ow = 0; ow < s.OW; ++ow) {
      if (s.M == 1) pixel_fwd_m1(x + n * img, w, b, yrow + ow * CM, oh, ow, s);
      else pixel_fwd(x + n * img, w, b, yrow + ow * CM, oh, ow, s);
    }
  }
}

// A gather over input rows: input row ih of image n is read by output row oh through kernel row
// kh exactly when oh*SH + kh - pad_top = ih, so each dx row sums what reaches it with no other
// thread writing there.
void depthwise_conv2d_nhwc_bwd_data(const float* dy, const float* w, float* dx, const DepthwiseShape& s) {
  const int64_t rows = int64_t(s.N) * s.H, CM = s.out_channels();
  const int C = s.C, M = s.M;
#pragma omp parallel for schedule(static) if (rows * s.W * C >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int n = int(r / s.H), ih = int(r % s.H);
    float* dxrow = dx + r * s.W * C;
    for (int kh = 0; kh < s.KH; ++kh) {
      const int t = ih + s.pad_top - kh;
      if (t < 0 || t % s.SH != 0 || t / s.SH >= s.OH) continue;
      const float* dyrow = dy + (int64_t(n) * s.OH + t / s.SH) * s.OW * CM;
      const float* wk = w + int64_t(kh) * s.KW * CM;
      for (int iw = 0; iw < s.W; ++iw) {
        float* dxp = dxrow + int64_t(iw) * C;
        for (int kw = 0; kw < s.KW; ++kw) {
          const int u = iw + s.pad_left - kw;
          if (u < 0 || u % s.SW != 0 || u / s.SW >= s.OW) continue;
          const float* dyp = dyrow + int64_t(u / s.SW) * CM;
          const float* wp = wk + int64_t(kw) * CM;
          if (M == 1) {
            for (int c = 0; c < C; ++c) dxp[c] += dyp[c] * wp[c];
          } else {
            for (int c = 0; c < C; ++c) {
              float acc = 0.f;
              for (int m = 0; m < M; ++m) acc += dyp[c * M + m] * wp[c * M + m];
              dxp[c] += acc;
            }
          }
        }
      }
    }
  }
}

void depthwise_conv2d_nhwc_bwd_filter(const float* x, const float* dy, float* dw, float* db, const DepthwiseShape& s) {
  const int64_t rows = int64_t(s.N) * s.OH, CM = s.out_channels(), taps = int64_t(s.KH) * s.KW;
  if (db) sum_rows(dy, db, rows * s.OW, CM);
  if (!dw) return;
  // Fixed chunks of output rows (at least 4, at most 256 chunks): which rows a chunk sums depends
  // on the shape alone, so the result does not depend on the thread count.
  const int64_t chunk_rows = std::max<int64_t>(4, (rows + 255) / 256), chunks = (rows + chunk_rows - 1) / chunk_rows;
  const int64_t wsize = taps * CM, img = int64_t(s.H) * s.W * s.C;
  std::vector<float> partial(size_t(chunks * wsize), 0.f);
  const int C = s.C, M = s.M;
#pragma omp parallel for schedule(static) if (chunks > 1 && rows * s.OW * CM * taps >= kParallelFloats)
  for (int64_t k = 0; k < chunks; ++k) {
    float* acc = partial.data() + k * wsize;
    for (int64_t r = k * chunk_rows; r < std::min(rows, (k + 1) * chunk_rows); ++r) {
      const int n = int(r / s.OH), oh = int(r % s.OH);
      const float* dyrow = dy + r * s.OW * CM;
      const TapRange th = taps_inside(oh, s.SH, s.pad_top, s.KH, s.H);
      for (int ow = 0; ow < s.OW; ++ow) {
        const TapRange tw = taps_inside(ow, s.SW, s.pad_left, s.KW, s.W);
        const float* dyp = dyrow + int64_t(ow) * CM;
        for (int kh = th.lo; kh < th.hi; ++kh)
          for (int kw = tw.lo; kw < tw.hi; ++kw) {
            const int ih = oh * s.SH + kh - s.pad_top, iw = ow * s.SW + kw - s.pad_left;
            const float* xp = x + n * img + (int64_t(ih) * s.W + iw) * C;
            float* ap = acc + int64_t(kh * s.KW + kw) * CM;
            if (M == 1) {
              for (int c = 0; c < C; ++c) ap[c] += xp[c] * dyp[c];
            } else {
              for (int c = 0; c < C; ++c)
                for (int m = 0; m < M; ++m) ap[c * M + m] += xp[c] * dyp[c * M + m];
            }
          }
      }
    }
  }
#pragma omp parallel for schedule(static) if (chunks * wsize >= kParallelFloats)
  for (int64_t i = 0; i < wsize; ++i) {
    double sum = 0.0;
    for (int64_t k = 0; k < chunks; ++k) sum += partial[size_t(k * wsize + i)];
    dw[i] += float(sum);
  }
}

}  // namespace convis
