#pragma once
// Differentiable image ops for activation maximisation (vis/maximize.h): an image parametrised
// by its Fourier spectrum, per-pixel colour mixing, and random geometric transforms (jitter,
// scale, rotation) as one bilinear affine warp. Gradients flow to the image / spectrum; the
// transform parameters are constants.
#include <array>
#include <vector>

#include "engine/autograd.h"

namespace convis {

// spectrum:(N, C, H, 2*Wf) (re, im) pairs of each (n, c) plane's half spectrum, Wf = w/2 + 1
//   -> (N, H, w, C): numpy.fft.irfft2 of every plane (kernels/fourier.h), moved to NHWC.
Var irfft2_image(const Var& spectrum, int w);

// x:(..., C) -> (..., C'): y = x M + b at every pixel, M:(C, C') and b:(C') constants (b may be
// empty). Colour decorrelation and the keras.applications preprocessing modes are of this form.
Var mix_channels(const Var& x, const Tensor& m, const Tensor& b);

// One affine map per image, output pixel (u, v) -> input point (a0 u + a1 v + a2, a3 u + a4 v + a5),
// sampled bilinearly; points outside read `fill` (kernels/warp.h).  x:(N,H,W,C) -> (N,out_h,out_w,C)
using Affine2d = std::array<float, 6>;
Var affine_warp(const Var& x, const std::vector<Affine2d>& maps, int out_h, int out_w, float fill);

// The map that, about the centre of an h x w image, scales by `scale`, rotates by `degrees`
// (counter-clockwise as seen on screen) and shifts the content by (dx, dy) pixels, output size =
// input size. Its inverse is what affine_warp wants, and what this returns.
Affine2d centred_affine(int h, int w, float scale, float degrees, float dx, float dy);

}  // namespace convis
