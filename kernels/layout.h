#pragma once
// Layout changes between channel-planar (N, C, HW) and channels-last NHWC (N, HW, C) arrays.
//   planes:(N,C,HW)  nhwc:(N,HW,C)      nhwc[(n*HW + i)*C + c] = planes[(n*C + c)*HW + i]
// Each is the other's backward (a transpose's gradient is the transpose back); both write.
#include <cstdint>

namespace convis {

void planes_to_nhwc(const float* planes, float* nhwc, int64_t N, int64_t C, int64_t HW);
void nhwc_to_planes(const float* nhwc, float* planes, int64_t N, int64_t C, int64_t HW);

}  // namespace convis
