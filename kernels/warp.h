#pragma once
// Geometric image kernels for activation maximisation, NHWC.
//
// Affine warp with bilinear sampling, one 2x3 map per image. Output pixel (u, v) (column, row;
// pixel centres at integer coordinates) reads the input at
//   sx = a[0] u + a[1] v + a[2],   sy = a[3] u + a[4] v + a[5]
// as the bilinear mix of its four neighbours; neighbours outside the image read `fill`:
//   y = (1-fx)(1-fy) x00 + fx (1-fy) x01 + (1-fx) fy x10 + fx fy x11,  fx = sx - floor(sx), ...
// so padding with a constant and cropping (an integer shift), scaling and rotating are all one
// warp. y is linear in x; backward scatters dy back with the same four weights (fill gets none).
//
//   x:(N,H,W,C)  a:(N,6)  y:(N,OH,OW,C)
#include <cstdint>

namespace convis {

struct WarpShape {
  int N = 0, H = 0, W = 0, C = 0;  // input
  int OH = 0, OW = 0;              // output
};

void affine_warp_bilinear_nhwc_fwd(const float* x, const float* a, float fill, float* y, const WarpShape& s);
// dx += (dy / dx)^T dy
void affine_warp_bilinear_nhwc_bwd(const float* dy, const float* a, float* dx, const WarpShape& s);

// In place Gaussian blur of every channel of x:(N,H,W,C): separable, taps out to 3 sigma,
// normalised to sum 1, edges replicated (a constant image stays constant). Not differentiable:
// a regulariser applied between steps (Yosinski et al. 2015).
void gaussian_blur_nhwc(float* x, int N, int H, int W, int C, float sigma);

}  // namespace convis
