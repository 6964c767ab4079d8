// im2col and its adjoint col2im for NHWC convolution (see conv2d.h).
//
// A row of col is one output pixel's receptive field, flattened in the kernel's HWIO order:
//   col[(r - row0)*OW + ow, (kh*KW + kw)*C + c] = x[n, oh*SH + kh - pad_top, ow*SW + kw - pad_left, c]
// where r = n*OH + oh is the flattened output row, and x outside the image reads as 0.
// col2im is the transpose of that linear map: every col entry is added back to the x cell it
// was read from (entries that came from padding are dropped).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/conv2d.h"
#include "kernels/cpu.h"

namespace convis {

// x:(N,H,W,C)  col:(rows*OW, KH*KW*C)
void im2col_nhwc(const float* x, float* col, const Conv2dShape& s, int64_t row0, int64_t rows) {
  const int64_t C = s.C;
  const int64_t K = int64_t(s.KH) * s.KW * C;  // one col row
  const int64_t span = int64_t(s.KW) * C;      // one kernel row of a patch, contiguous in x when inside
  const int64_t pixels = rows * s.OW;

#pragma omp parallel for schedule(static) if (pixels * K >= kParallelFloats)
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t r = row0 + p / s.OW;  // flattened (n, oh)
    const int ow = int(p % s.OW);
    const int64_t n = r / s.OH;
    const int oh = int(r % s.OH);
    const int iw0 = ow * s.SW - s.pad_left;  // leftmost input column of the window
    float* dst = col + p * K;
    for (int kh = 0; kh < s.KH; ++kh, dst += span) {
      const int ih = oh * s.SH + kh - s.pad_top;
      if (ih < 0 || ih >= s.H) {  // the whole kernel row lies in the top/bottom padding
        std::fill(dst, dst + span, 0.f);
        continue;
      }
      const float* src = x + (n * s.H + ih) * s.W * C;  // x[n, ih, 0, 0]
      if (iw0 >= 0 && iw0 + s.KW <= s.W) {              // interior: KW*C contiguous floats
        std::memcpy(dst, src + iw0 * C, size_t(span) * sizeof(float));
        continue;
      }
      for (int kw = 0; kw < s.KW; ++kw) {  // near the left/right edge: cell by cell
        const int iw = iw0 + kw;
        float* d = dst + kw * C;
        if (iw < 0 || iw >= s.W) std::fill(d, d + C, 0.f);
        else std::memcpy(d, src + iw * C, size_t(C) * sizeof(float));
      }
    }
  }
}

// col:(rows*OW, KH*KW*C)  dx:(N,H,W,C), accumulated:
//   dx[n,ih,iw,c] += sum of col[(n*OH + oh - row0)*OW + ow, (kh*KW + kw)*C + c]
//                    over oh*SH + kh - pad_top == ih, ow*SW + kw - pad_left == iw, (n, oh) in the tile.
// Written as a gather over input pixels rather than a scatter over output pixels: when the
// kernel is larger than the stride, neighbouring windows overlap and a parallel scatter would
// race. Here each thread owns the dx cells it writes.
void col2im_nhwc(const float* col, float* dx, const Conv2dShape& s, int64_t row0, int64_t rows) {
  const int64_t C = s.C;
  const int64_t r_end = row0 + rows;
  const int64_t n_first = row0 / s.OH, n_last = (r_end - 1) / s.OH;
  const int64_t work = rows * s.OW * int64_t(s.KH) * s.KW * C;  // floats of col read

#pragma omp parallel if (work >= kParallelFloats)
  for (int64_t n = n_first; n <= n_last; ++n) {
    // The tile's output rows inside image n, and the input rows their windows reach.
    const int oh_lo = int(std::max<int64_t>(row0 - n * s.OH, 0));
    const int oh_hi = int(std::min<int64_t>(r_end - n * s.OH, s.OH));
    const int ih_lo = std::max(oh_lo * s.SH - s.pad_top, 0);
    const int ih_hi = std::min((oh_hi - 1) * s.SH - s.pad_top + s.KH, s.H);
    const int64_t r_n = n * s.OH - row0;  // col row of output pixel (n, oh, ow): (r_n + oh)*OW + ow

#pragma omp for collapse(2) schedule(static)
    for (int ih = ih_lo; ih < ih_hi; ++ih) {
      for (int iw = 0; iw < s.W; ++iw) {
        float* d = dx + ((n * s.H + ih) * s.W + iw) * C;
        for (int kh = 0; kh < s.KH; ++kh) {
          const int t = ih + s.pad_top - kh;  // = oh*SH when some output row oh reads ih via kh
          if (t < 0 || t % s.SH != 0) continue;
          const int oh = t / s.SH;
          if (oh < oh_lo || oh >= oh_hi) continue;
          for (int kw = 0; kw < s.KW; ++kw) {
            const int u = iw + s.pad_left - kw;  // = ow*SW
            if (u < 0 || u % s.SW != 0) continue;
            const int ow = u / s.SW;
            if (ow >= s.OW) continue;
            const int64_t col_row = (r_n + oh) * s.OW + ow;
            const float* c_src = col + (col_row * s.KH * s.KW + int64_t(kh) * s.KW + kw) * C;
            for (int64_t c = 0; c < C; ++c) d[c] += c_src[c];
          }
        }
      }
    }
  }
}

}  // namespace convis
