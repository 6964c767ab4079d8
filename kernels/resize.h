#pragma once
// Resampling NHWC images to a new height and width: one separable bilinear-family kernel, three
// filters (the conventions of PIL, cv2 and TensorFlow that convis's pictures and inputs follow).
//
// Pixel i of an axis covers [i, i + 1) (half-pixel centres). Resizing an axis of `in` pixels to
// `out`, scale = in / out, output pixel o has centre c = (o + 0.5) * scale, and
//   y[n, oy, ox, k] = sum_i sum_j wy(oy, i) * wx(ox, j) * x[n, i, j, k]
// with per-axis weights w(o, i) that sum to 1 over i:
//   bilinear       interpolation at s = clamp(c - 0.5, 0, in - 1), whatever the scale:
//                    w(o, floor(s)) = 1 - f,  w(o, floor(s) + 1) = f,  f = s - floor(s)
//                  (cv2.resize INTER_LINEAR, tf.image.resize(antialias=False)); a shrink samples,
//                  so detail finer than the output grid aliases. For maps being enlarged.
//   bilinear_area  bilinear as above on an axis kept or enlarged (scale <= 1); on a shrunk axis
//                  the mean over the footprint [o scale, (o + 1) scale), fractional at its edges:
//                    w(o, i) = |[i, i + 1) n [o scale, (o + 1) scale)| / scale
//                  (cv2 INTER_AREA), so thin lines and text do not alias away. For pictures.
//   triangle       PIL's Image.resize(BILINEAR), tf.image.resize("bilinear", antialias=True): a
//                  tent widened to the footprint when shrinking, support = max(scale, 1),
//                    w(o, i) = tent((i + 0.5 - c) / support) / sum_i' tent((i' + 0.5 - c) / support)
//                  tent(t) = max(0, 1 - |t|); the normalisation clamps the edges. For model inputs.
// Enlarging, all three are the same interpolation (up to the float rounding of their weights).
//
// Computed in two passes, along x into a float buffer (N, H, OW, C), then along y; each output
// is the sum of its taps in increasing source index, starting from 0.f, in float.
//   x:(N,H,W,C)  y:(N,OH,OW,C)
#include <cstdint>

namespace convis {

enum class ResizeFilter { bilinear, bilinear_area, triangle };

struct ResizeShape {
  int N = 0, H = 0, W = 0, C = 0;  // input
  int OH = 0, OW = 0;              // output
};

// Throws std::invalid_argument naming the shape when a size is not positive. 8-bit input (a
// picture's or a decoded photo's pixels) is read as the float of each byte.
void resize_bilinear_nhwc(const float* x, float* y, const ResizeShape& s, ResizeFilter filter);
void resize_bilinear_nhwc(const uint8_t* x, float* y, const ResizeShape& s, ResizeFilter filter);

// Slow twin for tests: every output as the double sum of the formula above over all source
// pixels, the weights computed from their definitions (no taps, no passes).
void resize_bilinear_nhwc_ref(const float* x, float* y, const ResizeShape& s, ResizeFilter filter);

}  // namespace convis
