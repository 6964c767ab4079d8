// The entry points of Winograd F(2x2,3x3) (the arithmetic: conv2d_winograd__avx2.cpp, which
// explains the algorithm; when the dispatcher takes it: choose_conv_algorithm in dispatch.cpp).
// The arithmetic is built for AVX2+FMA, so the portable table has none and these throw there.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/dispatch.h"

namespace convis {

namespace {

std::atomic<int64_t> g_chunk_tiles{0};  // 0: automatic

const KernelTable& winograd_table(const char* what) {
  const KernelTable& t = kernels();
  if (!t.conv2d_fwd_winograd || !t.conv2d_bwd_data_winograd)
    throw std::runtime_error(std::string(what) + ": the '" + t.name + "' kernels have no Winograd (it needs AVX2+FMA)");
  return t;
}

}  // namespace

int64_t winograd_chunk_tiles_forced() { return g_chunk_tiles.load(); }
void set_winograd_chunk_tiles(int64_t tiles) { g_chunk_tiles.store(std::max<int64_t>(tiles, 0)); }

bool winograd_possible(const Conv2dShape& s) {
  return s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1;
}

void conv2d_nhwc_fwd_winograd(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  winograd_table("conv2d_nhwc_fwd_winograd").conv2d_fwd_winograd(x, w, b, y, s);
}

void conv2d_nhwc_fwd_winograd4(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  const KernelTable& t = winograd_table("conv2d_nhwc_fwd_winograd4");
  if (!t.conv2d_fwd_winograd4) throw std::runtime_error(std::string("conv2d_nhwc_fwd_winograd4: the '") + t.name + "' kernels have no F(4x4)");
  t.conv2d_fwd_winograd4(x, w, b, y, s);
}

void conv2d_nhwc_bwd_data_winograd(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  winograd_table("conv2d_nhwc_bwd_data_winograd").conv2d_bwd_data_winograd(dy, w, dx, s);
}

}  // namespace convis
