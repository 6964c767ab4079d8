#include "kernels/layout.h"

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

}  // namespace convis
