#pragma once
// Zero padding and cropping of NHWC images (Keras' ZeroPadding2D and Cropping2D): each is the
// other's backward. With the border t, b, l, r (rows on top and bottom, columns left and right):
//
//   pad:  x:(N,H,W,C) -> y:(N, H+t+b, W+l+r, C)    y[n, h+t, w+l, c] = x[n,h,w,c], 0 on the border
//         dx[n,h,w,c] += dy[n, h+t, w+l, c]        (the crop of dy)
//   crop: x:(N,H,W,C) -> y:(N, H-t-b, W-l-r, C)    y[n,h,w,c] = x[n, h+t, w+l, c]
//         dx[n, h+t, w+l, c] += dy[n,h,w,c]        (the border of dx gets nothing)
// A row of the smaller image is one contiguous run of W*C floats in both.
#include <cstdint>

namespace convis {

struct Border2d {
  int N = 0, H = 0, W = 0, C = 0;  // the op's input
  int top = 0, bottom = 0, left = 0, right = 0;
};

void pad2d_nhwc_fwd(const float* x, float* y, const Border2d& s);    // y overwritten
void pad2d_nhwc_bwd(const float* dy, float* dx, const Border2d& s);  // dx accumulated
void crop2d_nhwc_fwd(const float* x, float* y, const Border2d& s);   // y overwritten
void crop2d_nhwc_bwd(const float* dy, float* dx, const Border2d& s); // dx accumulated

}  // namespace convis
