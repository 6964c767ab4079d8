#pragma once
// Keras' UpSampling2D by integer factors (SH, SW) on NHWC images: x:(N,H,W,C) -> y:(N,H*SH,W*SW,C).
//
//   nearest:  y[n, oh, ow, c] = x[n, oh / SH, ow / SW, c]         (each pixel repeated SH x SW times)
//             dx[n, h, w, c] += the sum of dy over that SH x SW block
//   bilinear: tf.image.resize(method="bilinear"), which Keras 2 (backend.resize_images) and Keras 3
//             (ops.image.resize) both call: half-pixel centres, no antialiasing. Along an axis of
//             `in` pixels, output o samples s = clamp((o + 1/2) / S - 1/2, 0, in - 1) between
//             lo = floor(s) and hi = min(lo + 1, in - 1) with weight f = s - lo on hi:
//               y[oh, ow] = sum over (i, j) in {lo, hi}^2 of wy(oh, i) wx(ow, j) x[i, j]
//             dx[i, j] += the same weights times dy, gathered per input row (each dx row is
//             written by one thread).
#include <cstdint>

namespace convis {

struct Upsample2dShape {
  int N = 0, H = 0, W = 0, C = 0;  // input
  int SH = 1, SW = 1;              // factors; the output is (N, H*SH, W*SW, C)
};

void upsample2d_nearest_nhwc_fwd(const float* x, float* y, const Upsample2dShape& s);
void upsample2d_nearest_nhwc_bwd(const float* dy, float* dx, const Upsample2dShape& s);
void upsample2d_bilinear_nhwc_fwd(const float* x, float* y, const Upsample2dShape& s);
void upsample2d_bilinear_nhwc_bwd(const float* dy, float* dx, const Upsample2dShape& s);

}  // namespace convis
