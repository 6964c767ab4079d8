#include "kernels/layout.h"

#include <cstring>

#include "kernels/cpu.h"

namespace convis {

void planes_to_nhwc(const float* planes, float* nhwc, int64_t N, int64_t C, int64_t HW) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) nhwc[(n * HW + i) * C + c] = planes[(n * C + c) * HW + i];
}

void nhwc_to_planes(const float* nhwc, float* planes, int64_t N, int64_t C, int64_t HW) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) planes[(n * C + c) * HW + i] = nhwc[(n * HW + i) * C + c];
}

void concat_fwd(const float* const* xs, const int64_t* widths, int count, float* y, int64_t outer, int64_t total) {
#pragma omp parallel for schedule(static) if (outer * total >= kParallelFloats && outer > 1)
  for (int64_t o = 0; o < outer; ++o) {
    float* row = y + o * total;
    for (int k = 0; k < count; ++k) {
      std::memcpy(row, xs[k] + o * widths[k], size_t(widths[k]) * sizeof(float));
      row += widths[k];
    }
  }
}

void concat_bwd(const float* dy, float* dx, int64_t outer, int64_t width, int64_t offset, int64_t total) {
#pragma omp parallel for schedule(static) if (outer * width >= kParallelFloats && outer > 1)
  for (int64_t o = 0; o < outer; ++o) {
    const float* src = dy + o * total + offset;
    float* dst = dx + o * width;
    for (int64_t j = 0; j < width; ++j) dst[j] += src[j];
  }
}

namespace {

// Calls f(output index, input index) for every element, the output walked in order.
template <class F>
void for_each_element(const PermuteShape& s, const F& f) {
  const int64_t* d = s.out_dims;
  const int64_t* st = s.in_stride;
  const int64_t rows = d[0] * d[1] * d[2];
#pragma omp parallel for schedule(static) if (rows * d[3] >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i2 = r % d[2], i1 = (r / d[2]) % d[1], i0 = r / (d[2] * d[1]);
    const int64_t base = i0 * st[0] + i1 * st[1] + i2 * st[2];
    for (int64_t i3 = 0; i3 < d[3]; ++i3) f(r * d[3] + i3, base + i3 * st[3]);
  }
}

}  // namespace

void permute_fwd(const float* x, float* y, const PermuteShape& s) {
  for_each_element(s, [&](int64_t out, int64_t in) { y[out] = x[in]; });
}

void permute_bwd(const float* dy, float* dx, const PermuteShape& s) {
  for_each_element(s, [&](int64_t out, int64_t in) { dx[in] += dy[out]; });
}

}  // namespace convis
