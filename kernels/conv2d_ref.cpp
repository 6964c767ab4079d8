// The slow twin of conv2d_nhwc_fwd: the definition from conv2d.h as seven nested loops, summed
// in double. Every fast convolution path is tested against it.
#include <cstdint>

#include "kernels/conv2d.h"

namespace convis {

// x:(N,H,W,C) w:(KH,KW,C,OC) b:(OC) or null  y:(N,OH,OW,OC)
//   y[n,oh,ow,oc] = b[oc] + sum_{kh,kw,c} x[n, oh*SH + kh - pad_top, ow*SW + kw - pad_left, c] * w[kh,kw,c,oc]
// with x outside the image read as 0 (those terms are skipped).
void conv2d_nhwc_direct_ref(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  for (int n = 0; n < s.N; ++n)
    for (int oh = 0; oh < s.OH; ++oh)
      for (int ow = 0; ow < s.OW; ++ow)
        for (int oc = 0; oc < s.OC; ++oc) {
          double acc = b ? double(b[oc]) : 0.0;
          for (int kh = 0; kh < s.KH; ++kh) {
            const int ih = oh * s.SH + kh - s.pad_top;
            if (ih < 0 || ih >= s.H) continue;
            for (int kw = 0; kw < s.KW; ++kw) {
              const int iw = ow * s.SW + kw - s.pad_left;
              if (iw < 0 || iw >= s.W) continue;
              for (int c = 0; c < s.C; ++c) {
                const double xv = x[((int64_t(n) * s.H + ih) * s.W + iw) * s.C + c];
                const double wv = w[((int64_t(kh) * s.KW + kw) * s.C + c) * s.OC + oc];
                acc += xv * wv;
              }
            }
          }
          y[((int64_t(n) * s.OH + oh) * s.OW + ow) * s.OC + oc] = float(acc);
        }
}

}  // namespace convis
