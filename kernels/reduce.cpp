#include "kernels/reduce.h"

#include <cstddef>
#include <vector>

namespace convis {

namespace {

template <class F>
void for_each_index(const ReduceShape& s, F f) {
  int64_t i = 0;
  for (int64_t a = 0; a < s.dims[0]; ++a)
    for (int64_t b = 0; b < s.dims[1]; ++b)
      for (int64_t c = 0; c < s.dims[2]; ++c)
        for (int64_t d = 0; d < s.dims[3]; ++d, ++i)
          f(i, a * s.ostride[0] + b * s.ostride[1] + c * s.ostride[2] + d * s.ostride[3]);
}

}  // namespace

void reduce_sum_fwd(const float* x, float* y, float scale, const ReduceShape& s) {
  std::vector<double> acc(size_t(s.out_numel), 0.0);
  for_each_index(s, [&](int64_t i, int64_t o) { acc[size_t(o)] += x[i]; });
  for (int64_t o = 0; o < s.out_numel; ++o) y[o] = float(acc[size_t(o)] * scale);
}

void reduce_sum_bwd(const float* dy, float* dx, float scale, const ReduceShape& s) {
  for_each_index(s, [&](int64_t i, int64_t o) { dx[i] += dy[o] * scale; });
}

void reduce_sum_ref(const float* x, float* y, float scale, const ReduceShape& s) {
  const int64_t n = s.dims[0] * s.dims[1] * s.dims[2] * s.dims[3];
  for (int64_t o = 0; o < s.out_numel; ++o) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t rest = i, target = 0;
      for (int k = 3; k >= 0; --k) {  // unravel i, row-major
        target += (rest % s.dims[k]) * s.ostride[k];
        rest /= s.dims[k];
      }
      if (target == o) acc += x[i];
    }
    y[o] = float(acc * scale);
  }
}

void take_channel_fwd(const float* x, float* y, int64_t rows, int64_t C, int64_t c) {
  for (int64_t r = 0; r < rows; ++r) y[r] = x[r * C + c];
}

void take_channel_bwd(const float* dy, float* dx, int64_t rows, int64_t C, int64_t c) {
  for (int64_t r = 0; r < rows; ++r) dx[r * C + c] += dy[r];
}

double sum_squares(const float* x, int64_t n) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  return ss;
}

}  // namespace convis
