#pragma once
// Reductions: sums over a set of axes, one channel of the last axis, the sum of squares.
//
// A sum over axes sees the input as 4-D (leading 1s for a lower rank): input element
// i = (i0, i1, i2, i3) lands in output element o(i) = sum_k i_k * ostride[k], where ostride is
// the output's row-major stride with the reduced axes' strides set to 0.
//   y[o] = scale * sum_{i : o(i) = o} x[i]     (accumulated in double)
//   dx[i] += scale * dy[o(i)]
#include <cstdint>

namespace convis {

struct ReduceShape {
  int64_t dims[4] = {1, 1, 1, 1};
  int64_t ostride[4] = {0, 0, 0, 0};
  int64_t out_numel = 1;
};

void reduce_sum_fwd(const float* x, float* y, float scale, const ReduceShape& s);
void reduce_sum_bwd(const float* dy, float* dx, float scale, const ReduceShape& s);
// Slow twin for tests: for each output element, the input elements whose reduced coordinates
// vary and whose kept coordinates match it, found by unravelling every index.
void reduce_sum_ref(const float* x, float* y, float scale, const ReduceShape& s);

// x:(rows, C) -> y:(rows) = x[:, c] ;  dx[:, c] += dy
void take_channel_fwd(const float* x, float* y, int64_t rows, int64_t C, int64_t c);
void take_channel_bwd(const float* dy, float* dx, int64_t rows, int64_t C, int64_t c);

// sum x^2 over n elements, in double (the L2 norm is its square root)
double sum_squares(const float* x, int64_t n);

}  // namespace convis
