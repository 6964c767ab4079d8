#pragma once
// 2-D pooling on NHWC tensors, Keras semantics.
//
//   x:(N,H,W,C)  y:(N,OH,OW,C)  argmax:(N,OH,OW,C) int32, index into x of the chosen element
//   max: y[n,oh,ow,c] = max over the window of x (padding never wins: it is -inf)
//   avg: y[n,oh,ow,c] = mean over the window's cells that lie inside the image (TensorFlow's
//        `same` average pooling divides by the number of valid cells, not KH*KW)
// Backward passes accumulate into dx (the caller zeroes): max scatters dy through argmax,
// avg spreads dy evenly over the valid cells of each window.
#include <cstdint>

#include "kernels/padding.h"

namespace convis {

struct Pool2dShape {
  int N = 0, H = 0, W = 0, C = 0;
  int KH = 0, KW = 0, SH = 0, SW = 0;
  int pad_top = 0, pad_left = 0;
  int OH = 0, OW = 0;
};


// Same output-size and padding rules as convolution (see conv2d.h). Throws std::invalid_argument
// when the window does not fit.
Pool2dShape make_pool2d_shape(int N, int H, int W, int C, int KH, int KW, int SH, int SW, Padding padding);

void maxpool2d_nhwc_fwd(const float* x, float* y, int32_t* argmax, const Pool2dShape& s);
// The 2x2 stride-2 case with every window inside the image, which maxpool2d_nhwc_fwd hands to it;
// same results (ties, argmax), exposed for its test.
void maxpool2d_2x2s2_nhwc_fwd(const float* x, float* y, int32_t* argmax, const Pool2dShape& s);
void maxpool2d_nhwc_bwd(const float* dy, const int32_t* argmax, float* dx, const Pool2dShape& s);
void avgpool2d_nhwc_fwd(const float* x, float* y, const Pool2dShape& s);
void avgpool2d_nhwc_bwd(const float* dy, float* dx, const Pool2dShape& s);

// Global max pooling: y[n,c] = max over (h, w) of x[n,h,w,c]; argmax[n,c] is the flat index into
// x of the first maximum (of the first element when none compares greater than -inf, e.g. NaN).
//   x:(N,HW,C)  y, argmax:(N,C)      backward: dx[argmax[i]] += dy[i]
// Its twin is maxpool2d_nhwc_fwd with one window the size of the image.
void global_maxpool_nhwc_fwd(const float* x, float* y, int64_t* argmax, int64_t N, int64_t HW, int64_t C);
void global_maxpool_nhwc_bwd(const float* dy, const int64_t* argmax, float* dx, int64_t N, int64_t C);

// Slow twin for tests: max pooling by the definition, no argmax.
void maxpool2d_nhwc_ref(const float* x, float* y, const Pool2dShape& s);

}  // namespace convis
