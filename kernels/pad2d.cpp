// Zero padding and cropping (see pad2d.h): one walk over the rows of the smaller image, which
// sit inside the larger one at offset (top, left).
#include "kernels/pad2d.h"

#include <cstring>

#include "kernels/cpu.h"

namespace convis {

namespace {

enum class Copy { small_to_big, big_to_small, add_small_to_big, add_big_to_small };

// The small image (N, h, w, C) inside the big one (N, h + t + b, w + l + r, C) at (t, l).
void walk(const float* src, float* dst, int N, int h, int w, int C, int t, int b, int l, int r, Copy how) {
  const int64_t BW = int64_t(w) + l + r, BH = int64_t(h) + t + b;
  const int64_t run = int64_t(w) * C, rows = int64_t(N) * h;
#pragma omp parallel for schedule(static) if (rows * run >= kParallelFloats && rows > 1)
  for (int64_t q = 0; q < rows; ++q) {
    const int64_t n = q / h, i = q % h;
    const int64_t small = q * run, big = ((n * BH + i + t) * BW + l) * C;
    switch (how) {
      case Copy::small_to_big: std::memcpy(dst + big, src + small, size_t(run) * sizeof(float)); break;
      case Copy::big_to_small: std::memcpy(dst + small, src + big, size_t(run) * sizeof(float)); break;
      case Copy::add_small_to_big:
        for (int64_t k = 0; k < run; ++k) dst[big + k] += src[small + k];
        break;
      case Copy::add_big_to_small:
        for (int64_t k = 0; k < run; ++k) dst[small + k] += src[big + k];
        break;
    }
  }
}

}  // namespace

void pad2d_nhwc_fwd(const float* x, float* y, const Border2d& s) {
  const int64_t n = int64_t(s.N) * (s.H + s.top + s.bottom) * (s.W + s.left + s.right) * s.C;
  std::memset(y, 0, size_t(n) * sizeof(float));
  walk(x, y, s.N, s.H, s.W, s.C, s.top, s.bottom, s.left, s.right, Copy::small_to_big);
}

void pad2d_nhwc_bwd(const float* dy, float* dx, const Border2d& s) {
  walk(dy, dx, s.N, s.H, s.W, s.C, s.top, s.bottom, s.left, s.right, Copy::add_big_to_small);
}

void crop2d_nhwc_fwd(const float* x, float* y, const Border2d& s) {
  walk(x, y, s.N, s.H - s.top - s.bottom, s.W - s.left - s.right, s.C, s.top, s.bottom, s.left, s.right,
       Copy::big_to_small);
}

void crop2d_nhwc_bwd(const float* dy, float* dx, const Border2d& s) {
  walk(dy, dx, s.N, s.H - s.top - s.bottom, s.W - s.left - s.right, s.C, s.top, s.bottom, s.left, s.right,
       Copy::add_small_to_big);
}

}  // namespace convis
