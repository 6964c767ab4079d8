// The picture measures of image_metrics.h: a direct 2-D DFT (double precision, no FFT library)
// and neighbour differences.
#include "tests/image_metrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace convis::test {

double high_frequency_fraction(const Tensor& hwc) {
  const int64_t H = hwc.dim(0), W = hwc.dim(1), C = hwc.dim(2);
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  std::vector<double> cw(size_t(W * W)), sw(size_t(W * W)), ch(size_t(H * H)), sh(size_t(H * H));
  for (int64_t k = 0; k < W; ++k)
    for (int64_t x = 0; x < W; ++x) {
      cw[size_t(k * W + x)] = std::cos(kTwoPi * double((k * x) % W) / double(W));
      sw[size_t(k * W + x)] = std::sin(kTwoPi * double((k * x) % W) / double(W));
    }
  for (int64_t j = 0; j < H; ++j)
    for (int64_t y = 0; y < H; ++y) {
      ch[size_t(j * H + y)] = std::cos(kTwoPi * double((j * y) % H) / double(H));
      sh[size_t(j * H + y)] = std::sin(kTwoPi * double((j * y) % H) / double(H));
    }
  double high = 0.0, total = 0.0;
  std::vector<double> re(size_t(H * W)), im(size_t(H * W));
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0.0;
    for (int64_t i = 0; i < H * W; ++i) mean += hwc[i * C + c];
    mean /= double(H * W);
    // Along rows: R[y, k] = sum_x v[y, x] e^{-2 pi i k x / W}
    for (int64_t y = 0; y < H; ++y)
      for (int64_t k = 0; k < W; ++k) {
        double r = 0.0, s = 0.0;
        for (int64_t x = 0; x < W; ++x) {
          const double v = hwc[(y * W + x) * C + c] - mean;
          r += v * cw[size_t(k * W + x)];
          s -= v * sw[size_t(k * W + x)];
        }
        re[size_t(y * W + k)] = r;
        im[size_t(y * W + k)] = s;
      }
    // Along columns: F[j, k] = sum_y R[y, k] e^{-2 pi i j y / H}; accumulate |F|^2 by frequency.
    for (int64_t j = 0; j < H; ++j) {
      const double fy = double(std::min(j, H - j)) / double(H);
      for (int64_t k = 0; k < W; ++k) {
        double r = 0.0, s = 0.0;
        for (int64_t y = 0; y < H; ++y) {
          const double a = re[size_t(y * W + k)], b = im[size_t(y * W + k)];
          const double cs = ch[size_t(j * H + y)], sn = sh[size_t(j * H + y)];
          r += a * cs + b * sn;
          s += b * cs - a * sn;
        }
        const double power = r * r + s * s, fx = double(std::min(k, W - k)) / double(W);
        total += power;
        if (fx * fx + fy * fy > 0.25 * 0.25) high += power;
      }
    }
  }
  return total > 0.0 ? high / total : 0.0;
}

double neighbour_roughness(const Tensor& hwc) {
  const int64_t H = hwc.dim(0), W = hwc.dim(1), C = hwc.dim(2);
  double diff = 0.0, var = 0.0;
  int64_t pairs = 0;
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0.0;
    for (int64_t i = 0; i < H * W; ++i) mean += hwc[i * C + c];
    mean /= double(H * W);
    for (int64_t i = 0; i < H * W; ++i) var += (hwc[i * C + c] - mean) * (hwc[i * C + c] - mean);
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const double v = hwc[(y * W + x) * C + c];
        if (x + 1 < W) { const double d = hwc[(y * W + x + 1) * C + c] - v; diff += d * d; ++pairs; }
        if (y + 1 < H) { const double d = hwc[((y + 1) * W + x) * C + c] - v; diff += d * d; ++pairs; }
      }
  }
  var /= double(H * W * C);
  return var > 0.0 && pairs > 0 ? diff / double(pairs) / (2.0 * var) : 0.0;
}

}  // namespace convis::test
