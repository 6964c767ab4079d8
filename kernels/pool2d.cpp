// Max and average pooling on NHWC tensors, forward and backward side by side (see pool2d.h).
//
//   window of output (n, oh, ow): input rows ih = oh*SH - pad_top + kh, kh in [0, KH),
//                                 input cols iw = ow*SW - pad_left + kw, kw in [0, KW),
//   restricted to the cells inside the image (Keras' `same` never leaves a window empty).
//   max: y = max over the window; ties go to the first maximum in row-major (kh, kw) order,
//        and argmax records its flat index into x. Padding never wins.
//   avg: y = sum over the window / (number of cells inside the image).
//
// Forward passes write each output once, so they run in parallel over output pixels. Backward
// passes scatter into dx, and windows overlap when the window is larger than the stride (3x3
// stride 2), so two output pixels may add into the same dx cell. They run in parallel over
// (image, block of channels) instead: a window never mixes images or channels, so each thread
// owns the dx cells it writes, whatever the window and stride.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/cpu.h"
#include "kernels/pool2d.h"

namespace convis {

namespace {

// The part of a window that lies inside the image: kh in [kh_lo, kh_hi), kw in [kw_lo, kw_hi).
struct Window {
  int ih0, iw0;  // input coordinates of kernel cell (0, 0), may be negative
  int kh_lo, kh_hi, kw_lo, kw_hi;
  int cells() const { return (kh_hi - kh_lo) * (kw_hi - kw_lo); }
};

Window window_at(const Pool2dShape& s, int oh, int ow) {
  Window w;
  w.ih0 = oh * s.SH - s.pad_top;
  w.iw0 = ow * s.SW - s.pad_left;
  w.kh_lo = std::max(0, -w.ih0);
  w.kh_hi = std::min(s.KH, s.H - w.ih0);
  w.kw_lo = std::max(0, -w.iw0);
  w.kw_hi = std::min(s.KW, s.W - w.iw0);
  return w;
}

// Channels per backward work item: a cache line of floats, so threads rarely share a line.
constexpr int kChannelBlock = 16;

// Runs f(p, n, window) for each output pixel p (of N*OH*OW) of image n, in parallel.
template <class F>
void for_each_output_pixel(const Pool2dShape& s, const F& f) {
  const int64_t pixels = int64_t(s.N) * s.OH * s.OW;
#pragma omp parallel for schedule(static) if (pixels * s.C * s.KH * s.KW >= kParallelFloats)
  for (int64_t p = 0; p < pixels; ++p)
    f(p, p / (int64_t(s.OH) * s.OW), window_at(s, int(p / s.OW % s.OH), int(p % s.OW)));
}

// Runs f(n, c0, c1) for each image n and each block [c0, c1) of kChannelBlock channels, in
// parallel. The backward passes scatter into dx; an image's channel block only ever reaches the
// same image and channels of dx, so the items never write the same float.
template <class F>
void for_each_channel_block(int64_t N, int64_t C, const F& f) {
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t items = N * blocks;
#pragma omp parallel for schedule(static)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t c0 = item % blocks * kChannelBlock;
    f(item / blocks, c0, std::min(C, c0 + kChannelBlock));
  }
}

}  // namespace

Pool2dShape make_pool2d_shape(int N, int H, int W, int C, int KH, int KW, int SH, int SW, Padding padding) {
  const std::string where = "pool2d on input (N,H,W,C)=(" + std::to_string(N) + "," +
                            std::to_string(H) + "," + std::to_string(W) + "," + std::to_string(C) +
                            ") with pool (" + std::to_string(KH) + "," + std::to_string(KW) +
                            "), strides (" + std::to_string(SH) + "," + std::to_string(SW) +
                            "), padding '" + padding_name(padding) + "'";
  if (N <= 0 || C <= 0) throw std::invalid_argument(where + ": batch and channels must be positive");
  const AxisWindow h = window_along_axis(H, KH, SH, padding, (where + ": height").c_str());
  const AxisWindow w = window_along_axis(W, KW, SW, padding, (where + ": width").c_str());
  Pool2dShape s;
  s.N = N; s.H = H; s.W = W; s.C = C;
  s.KH = KH; s.KW = KW; s.SH = SH; s.SW = SW;
  s.pad_top = h.pad_before; s.pad_left = w.pad_before;
  s.OH = h.out; s.OW = w.out;
  return s;
}

// 2x2 windows, stride 2, every window inside the image (VGG16's and the tutorial CNN's pooling):
// four input rows of C floats per output pixel, compared in the row-major window order with a
// strict >, so ties and argmax are exactly those of the general loop below, without its window
// bookkeeping. The channel loop is branch-free and vectorises.
void maxpool2d_2x2s2_nhwc_fwd(const float* x, float* y, int32_t* argmax, const Pool2dShape& s) {
  const int64_t C = s.C, rows = int64_t(s.N) * s.OH;
#pragma omp parallel for schedule(static) if (rows * s.OW * C >= (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / s.OH, oh = r % s.OH;
    const int64_t top = (n * s.H + 2 * oh) * s.W * C, bottom = top + int64_t(s.W) * C;
    for (int64_t ow = 0; ow < s.OW; ++ow) {
      const int64_t i00 = top + 2 * ow * C, i01 = i00 + C, i10 = bottom + 2 * ow * C, i11 = i10 + C;
      float* yp = y + (r * s.OW + ow) * C;
      int32_t* ap = argmax + (r * s.OW + ow) * C;
      for (int64_t c = 0; c < C; ++c) {
        float m = x[i00 + c];
        int32_t a = int32_t(i00 + c);
        const float v01 = x[i01 + c], v10 = x[i10 + c], v11 = x[i11 + c];
        a = v01 > m ? int32_t(i01 + c) : a; m = v01 > m ? v01 : m;
        a = v10 > m ? int32_t(i10 + c) : a; m = v10 > m ? v10 : m;
        a = v11 > m ? int32_t(i11 + c) : a; m = v11 > m ? v11 : m;
        yp[c] = m;
        ap[c] = a;
      }
    }
  }
}

// x:(N,H,W,C)  y:(N,OH,OW,C)  argmax:(N,OH,OW,C) flat indices into x
void maxpool2d_nhwc_fwd(const float* x, float* y, int32_t* argmax, const Pool2dShape& s) {
  const int64_t C = s.C;
  if (int64_t(s.N) * s.H * s.W * C > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument("maxpool2d: input (N,H,W,C)=(" + std::to_string(s.N) + "," +
                                std::to_string(s.H) + "," + std::to_string(s.W) + "," +
                                std::to_string(s.C) + ") has more elements than an int32 argmax can index");
  if (s.KH == 2 && s.KW == 2 && s.SH == 2 && s.SW == 2 && s.pad_top == 0 && s.pad_left == 0 &&
      2 * s.OH <= s.H && 2 * s.OW <= s.W) {
    maxpool2d_2x2s2_nhwc_fwd(x, y, argmax, s);
    return;
  }

  for_each_output_pixel(s, [&](int64_t p, int64_t n, const Window& win) {
    float* yp = y + p * C;
    int32_t* ap = argmax + p * C;
    bool first = true;  // the first valid cell seeds the maximum, so y is always some x
    for (int kh = win.kh_lo; kh < win.kh_hi; ++kh) {
      for (int kw = win.kw_lo; kw < win.kw_hi; ++kw) {
        const int64_t base = ((n * s.H + win.ih0 + kh) * s.W + win.iw0 + kw) * C;
        const float* xp = x + base;
        if (first) {
          for (int64_t c = 0; c < C; ++c) { yp[c] = xp[c]; ap[c] = int32_t(base + c); }
          first = false;
          continue;
        }
        for (int64_t c = 0; c < C; ++c) {  // strictly greater: the earlier of equal values stays
          const bool gt = xp[c] > yp[c];
          yp[c] = gt ? xp[c] : yp[c];
          ap[c] = gt ? int32_t(base + c) : ap[c];
        }
      }
    }
  });
}

// dy:(N,OH,OW,C) argmax:(N,OH,OW,C)  dx:(N,H,W,C) accumulated:  dx[argmax[i]] += dy[i]
void maxpool2d_nhwc_bwd(const float* dy, const int32_t* argmax, float* dx, const Pool2dShape& s) {
  const int64_t C = s.C, out_pixels = int64_t(s.OH) * s.OW;
  // argmax[i] lies in the same image and channel as i.
  for_each_channel_block(s.N, C, [&](int64_t n, int64_t c0, int64_t c1) {
    for (int64_t q = 0; q < out_pixels; ++q) {
      const int64_t i = (n * out_pixels + q) * C;
      for (int64_t c = c0; c < c1; ++c) dx[argmax[i + c]] += dy[i + c];
    }
  });
}

// x:(N,H,W,C)  y:(N,OH,OW,C)
void avgpool2d_nhwc_fwd(const float* x, float* y, const Pool2dShape& s) {
  const int64_t C = s.C;
  for_each_output_pixel(s, [&](int64_t p, int64_t n, const Window& win) {
    float* yp = y + p * C;
    std::fill(yp, yp + C, 0.f);
    for (int kh = win.kh_lo; kh < win.kh_hi; ++kh)
      for (int kw = win.kw_lo; kw < win.kw_hi; ++kw) {
        const float* xp = x + ((n * s.H + win.ih0 + kh) * s.W + win.iw0 + kw) * C;
        for (int64_t c = 0; c < C; ++c) yp[c] += xp[c];
      }
    const float inv = 1.f / float(win.cells());
    for (int64_t c = 0; c < C; ++c) yp[c] *= inv;
  });
}

// dy:(N,OH,OW,C)  dx:(N,H,W,C) accumulated:  each valid cell of a window gets dy / cells
void avgpool2d_nhwc_bwd(const float* dy, float* dx, const Pool2dShape& s) {
  const int64_t C = s.C;
  for_each_channel_block(s.N, C, [&](int64_t n, int64_t c0, int64_t c1) {
    for (int oh = 0; oh < s.OH; ++oh)
      for (int ow = 0; ow < s.OW; ++ow) {
        const Window win = window_at(s, oh, ow);
        const float inv = 1.f / float(win.cells());
        const float* dyp = dy + ((n * s.OH + oh) * s.OW + ow) * C;
        for (int kh = win.kh_lo; kh < win.kh_hi; ++kh)
          for (int kw = win.kw_lo; kw < win.kw_hi; ++kw) {
            float* dxp = dx + ((n * s.H + win.ih0 + kh) * s.W + win.iw0 + kw) * C;
            for (int64_t c = c0; c < c1; ++c) dxp[c] += dyp[c] * inv;
          }
      }
  });
}

// The slow twin: max over each window by the definition, padding cells skipped.
void maxpool2d_nhwc_ref(const float* x, float* y, const Pool2dShape& s) {
  for (int n = 0; n < s.N; ++n)
    for (int oh = 0; oh < s.OH; ++oh)
      for (int ow = 0; ow < s.OW; ++ow)
        for (int c = 0; c < s.C; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          for (int kh = 0; kh < s.KH; ++kh)
            for (int kw = 0; kw < s.KW; ++kw) {
              const int ih = oh * s.SH + kh - s.pad_top, iw = ow * s.SW + kw - s.pad_left;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              best = std::max(best, x[((int64_t(n) * s.H + ih) * s.W + iw) * s.C + c]);
            }
          y[((int64_t(n) * s.OH + oh) * s.OW + ow) * s.C + c] = best;
        }
}

void global_maxpool_nhwc_fwd(const float* x, float* y, int64_t* argmax, int64_t N, int64_t HW, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      float best = -std::numeric_limits<float>::infinity();
      int64_t at = n * HW * C + c;
      for (int64_t p = 0; p < HW; ++p) {
        const int64_t i = (n * HW + p) * C + c;
        if (x[i] > best) {
          best = x[i];
          at = i;
        }
      }
      y[n * C + c] = best;
      argmax[n * C + c] = at;
    }
  }
}

void global_maxpool_nhwc_bwd(const float* dy, const int64_t* argmax, float* dx, int64_t N, int64_t C) {
  for (int64_t i = 0; i < N * C; ++i) dx[argmax[i]] += dy[i];
}

}  // namespace convis
