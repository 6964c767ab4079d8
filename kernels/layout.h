#pragma once
// Layout changes: data moved, never computed. Each forward has its backward beside it.
//
// Channel-planar (N, C, HW) and channels-last NHWC (N, HW, C) arrays:
//   planes:(N,C,HW)  nhwc:(N,HW,C)      nhwc[(n*HW + i)*C + c] = planes[(n*C + c)*HW + i]
// Each is the other's backward (a transpose's gradient is the transpose back); both write.
#include <cstdint>

namespace convis {

void planes_to_nhwc(const float* planes, float* nhwc, int64_t N, int64_t C, int64_t HW);
void nhwc_to_planes(const float* nhwc, float* planes, int64_t N, int64_t C, int64_t HW);

// Concatenation along one axis (Keras' Concatenate). Every tensor seen as (outer, width) rows,
// width = its size along the axis times the sizes after it; input k's row sits in the output's
// row at column offset[k]:
//   y[o, offset[k] + j] = x_k[o, j]            y:(outer, total) overwritten
//   dx_k[o, j] += dy[o, offset[k] + j]         (concat_bwd, one input at a time)
void concat_fwd(const float* const* xs, const int64_t* widths, int count, float* y, int64_t outer, int64_t total);
void concat_bwd(const float* dy, float* dx, int64_t outer, int64_t width, int64_t offset, int64_t total);

// A permutation of the axes of a 4-D array (lower ranks: leading 1s). Output axis k is input axis
// perm[k]; in_stride[k] is the input's row-major stride of axis perm[k]:
//   y[i0, i1, i2, i3] = x[sum_k i_k * in_stride[k]]      y:(out_dims) overwritten
//   dx[sum_k i_k * in_stride[k]] += dy[i0, i1, i2, i3]   (a bijection: no two writes collide)
struct PermuteShape {
  int64_t out_dims[4] = {1, 1, 1, 1};
  int64_t in_stride[4] = {0, 0, 0, 0};
};
void permute_fwd(const float* x, float* y, const PermuteShape& s);
void permute_bwd(const float* dy, float* dx, const PermuteShape& s);

}  // namespace convis
