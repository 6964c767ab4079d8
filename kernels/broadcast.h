#pragma once
// Element-wise binary ops with Keras' broadcasting of size-1 axes (Add, Subtract, Multiply,
// Maximum on inputs such as (N,H,W,C) and (N,1,1,C), a squeeze-and-excite block's scale).
//
// Both inputs and the output are seen as 4-D (leading 1s for a lower rank). Output element
// i = (i0, i1, i2, i3) reads a[sum_k i_k * astride[k]] and b[sum_k i_k * bstride[k]], where a
// stride is the input's row-major stride, or 0 on an axis where the input has size 1 and the
// output does not.
//   y = a + b | a - b | a * b | max(a, b)
// The gradient of each side, over the output's shape (the op sums it down to its input's shape):
//   add: ga = dy, gb = dy    sub: ga = dy, gb = -dy    mul: ga = dy * b, gb = dy * a
//   max: ga = dy where a >= b, gb = dy where b > a (a tie goes to a)
#include <cstdint>

namespace convis {

enum class BinaryOp { add, sub, mul, max };

struct BroadcastShape {
  int64_t dims[4] = {1, 1, 1, 1};  // the output's
  int64_t astride[4] = {0, 0, 0, 0};
  int64_t bstride[4] = {0, 0, 0, 0};
  int64_t numel() const { return dims[0] * dims[1] * dims[2] * dims[3]; }
};

// y:(dims) overwritten.
void broadcast_binary_fwd(const float* a, const float* b, float* y, BinaryOp op, const BroadcastShape& s);
// g:(dims) += the gradient of side a (side_b false) or b (side_b true), as listed above.
void broadcast_binary_grad(const float* a, const float* b, const float* dy, float* g, BinaryOp op, bool side_b,
                           const BroadcastShape& s);

}  // namespace convis
