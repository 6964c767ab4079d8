#pragma once
// Depthwise 2-D convolution on NHWC tensors (Keras' DepthwiseConv2D, the first half of
// SeparableConv2D): each input channel c is convolved with its own M filters, and output channel
// c*M + m is channel c's filter m (Keras' order).
//
//   x:(N,H,W,C)  w:(KH,KW,C,M)  b:(C*M)  y:(N,OH,OW,C*M)
//   y[n,oh,ow,c*M+m] = b[c*M+m] + sum_{kh,kw} x[n, oh*SH + kh - pad_top, ow*SW + kw - pad_left, c] * w[kh,kw,c,m]
//   (x outside the image reads as 0; OH, OW and the padding follow conv2d's rule, kernels/padding.h)
//
// w flattened row-major is (KH*KW, C*M): tap t = kh*KW + kw holds one weight per output channel,
// in the output's channel order. So with M = 1 every tap is a contiguous row of C weights
// multiplied into a contiguous pixel of C values: the inner loop is a vector FMA over channels.
//
//   dx[n,ih,iw,c] += sum over the (oh,ow,kh,kw) that read (ih,iw) of sum_m dy[n,oh,ow,c*M+m] * w[kh,kw,c,m]
//   dw[kh,kw,c,m] += sum_{n,oh,ow} x[n, ih, iw, c] * dy[n,oh,ow,c*M+m]      (ih, iw as in the forward)
//   db[j]         += sum_{n,oh,ow} dy[n,oh,ow,j]
// The forward runs in parallel over output rows (n, oh); the input gradient over input rows, as a
// gather (each dx row is written by one thread, no atomics); the filter gradient over fixed
// chunks of output rows, each into its own dw, summed in chunk order in double: the same bits on
// any thread count.
#include <cstdint>

#include "kernels/padding.h"

namespace convis {

struct DepthwiseShape {
  int N = 0, H = 0, W = 0, C = 0;  // input
  int KH = 0, KW = 0, M = 1;       // kernel and depth multiplier
  int SH = 1, SW = 1;              // strides
  int pad_top = 0, pad_left = 0;   // bottom/right padding is implied by OH/OW
  int OH = 0, OW = 0;              // output
  int64_t out_channels() const { return int64_t(C) * M; }
  int64_t flops() const { return 2LL * N * OH * OW * out_channels() * KH * KW; }
};

// Throws std::invalid_argument when a size is not positive or the window does not fit ('valid').
DepthwiseShape make_depthwise_shape(int N, int H, int W, int C, int KH, int KW, int M, int SH, int SW,
                                    Padding padding);

// y overwritten; b may be null.
void depthwise_conv2d_nhwc_fwd(const float* x, const float* w, const float* b, float* y, const DepthwiseShape& s);
// dx += the input gradient.
void depthwise_conv2d_nhwc_bwd_data(const float* dy, const float* w, float* dx, const DepthwiseShape& s);
// dw += the kernel gradient (null: skipped); db += column sums of dy (null: skipped).
void depthwise_conv2d_nhwc_bwd_filter(const float* x, const float* dy, float* dw, float* db, const DepthwiseShape& s);

}  // namespace convis
