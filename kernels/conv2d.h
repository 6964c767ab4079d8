#pragma once
// 2-D convolution on NHWC tensors with Keras' HWIO kernels.
//
//   x:(N,H,W,C)  w:(KH,KW,C,OC)  b:(OC)  y:(N,OH,OW,OC)
//   y[n,oh,ow,oc] = b[oc] + sum_{kh,kw,c} x[n, oh*SH + kh - pad_top, ow*SW + kw - pad_left, c] * w[kh,kw,c,oc]
//   (x outside the image reads as 0)
//
// As a GEMM: col(N*OH*OW, KH*KW*C) x W(KH*KW*C, OC) = Y(N*OH*OW, OC), with no transpose, because
// HWIO flattened row-major is exactly the (K, OC) matrix and an NHWC patch flattened is a row of col.
//   forward:  Y = col * W (+ b)
//   backward: dW = col^T dY ; db = sum over rows of dY ; dcol = dY W^T ; dx = col2im(dcol)
// im2col is done for a tile of output rows at a time, so its buffer stays bounded (kIm2colBytes)
// whatever the image and batch size. A 1x1 stride-1 unpadded convolution needs no im2col at all.
#include <cstdint>

#include "kernels/padding.h"

namespace convis {

struct Conv2dShape {
  int N = 0, H = 0, W = 0, C = 0;   // input
  int KH = 0, KW = 0, OC = 0;       // kernel
  int SH = 1, SW = 1;               // strides
  int pad_top = 0, pad_left = 0;    // bottom/right padding is implied by OH/OW
  int OH = 0, OW = 0;               // output
  int64_t flops() const { return 2LL * N * OH * OW * OC * KH * KW * C; }
};



// Keras' rule: `valid` -> OH = floor((H - KH) / SH) + 1, no padding.
// `same` -> OH = ceil(H / SH); total padding max((OH-1)*SH + KH - H, 0), the smaller half on top
// (odd totals put the extra row at the bottom, as TensorFlow does). Same for width.
// Throws std::invalid_argument when the kernel does not fit (valid and KH > H, etc.).
Conv2dShape make_conv2d_shape(int N, int H, int W, int C, int KH, int KW, int OC,
                              int SH, int SW, Padding padding);

// Bound on the im2col scratch buffer (bytes). At least one output row is always processed.
// Tiles aim smaller, near 8 MiB or twice W's size (see tile_rows in conv2d.cpp), within the bound.
constexpr int64_t kIm2colBytes = 32LL << 20;
// Tests and benchmarks may lower the bound to force several tiles; bytes <= 0 restores
// kIm2colBytes. Process-wide; not meant to be changed while a convolution runs.
void set_im2col_budget_bytes(int64_t bytes);
int64_t im2col_budget_bytes();

// Forward: y is overwritten. b may be null (no bias).
void conv2d_nhwc_fwd(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s);
// Input gradient: dx += col2im(dy * W^T).
void conv2d_nhwc_bwd_data(const float* dy, const float* w, float* dx, const Conv2dShape& s);
// Weight/bias gradients: dw += col^T dy; db += column sums of dy. db may be null.
void conv2d_nhwc_bwd_filter(const float* x, const float* dy, float* dw, float* db, const Conv2dShape& s);

// One output channel per image (activation maximisation's target layer; kernels/conv2d_select.cpp):
//   y[n,oh,ow] = channel[n] of the convolution above, for image n       y:(N,OH,OW) overwritten
//   dx += the input gradient of that channel alone, given dy:(N,OH,OW)  (one column of W per image)
// 1/OC of the full layer's work, both ways. channel:(N), each in [0, OC).
void conv2d_nhwc_fwd_select(const float* x, const float* w, const float* b, const int* channel, float* y,
                            const Conv2dShape& s);
void conv2d_nhwc_bwd_data_select(const float* dy, const float* w, const int* channel, float* dx,
                                 const Conv2dShape& s);

// Winograd F(2x2,3x3) (kernels/conv2d_winograd.cpp): 3x3 stride-1 convolutions with 16 instead of
// 36 multiplications per 2x2 output block and channel pair. conv2d_nhwc_fwd and _bwd_data use it
// when choose_conv_algorithm (kernels/dispatch.h) says so: 3x3, stride 1, at least 64 channels in
// and out, at least 48 output tiles of 2x2 of which at least 75% of the outputs are used, a table
// with Winograd kernels, and not switched off (CONVIS_NO_WINOGRAD=1, or set_winograd_enabled(false)).
// Same contract as the im2col versions (y overwritten; dx accumulated); any padding.
bool winograd_possible(const Conv2dShape& s);  // 3x3 stride 1: the algorithm can run
bool conv2d_is_pointwise(const Conv2dShape& s);  // 1x1, stride 1, unpadded: x is already the im2col matrix
void conv2d_nhwc_fwd_winograd(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s);
void conv2d_nhwc_bwd_data_winograd(const float* dy, const float* w, float* dx, const Conv2dShape& s);
// Winograd F(4x4,3x3), the forward only (kernels/conv2d_winograd4__avx2.cpp); throws without it.
void conv2d_nhwc_fwd_winograd4(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s);
// Process-wide switches for tests and benchmarks: the dispatcher's use of Winograd, and a fixed
// number of tiles per chunk (0: automatic, about 4 MiB of transformed input per chunk).
void set_winograd_enabled(bool on);
void set_winograd4_enabled(bool on);  // F(4x4,3x3) for the forward (on by default)
void set_winograd_chunk_tiles(int64_t tiles);

// The slow twin: a direct seven-loop convolution, y overwritten, accumulating in double.
void conv2d_nhwc_direct_ref(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s);

// Building blocks, exposed for tests and benchmarks.
// im2col for output rows [row0, row0 + rows) of the flattened (N*OH) row index:
// col: (rows*OW, KH*KW*C).
void im2col_nhwc(const float* x, float* col, const Conv2dShape& s, int64_t row0, int64_t rows);
// The adjoint of im2col: dx += scatter of col (same row range). Race-free under OpenMP: it is
// computed as a gather over input pixels, each thread owning distinct elements of dx.
void col2im_nhwc(const float* col, float* dx, const Conv2dShape& s, int64_t row0, int64_t rows);

}  // namespace convis
