// Winograd F(4x4,3x3) (kernels/conv2d_winograd4__avx2.cpp), the forward: against the seven-loop
// direct convolution in double, on odd sizes (partial 4x4 tiles at the bottom and right), both
// paddings, with and without bias, in one chunk and in many; its error beside F(2x2)'s; and the
// dispatcher's choice between them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "tests/util.h"

using namespace convis;
using convis::test::random_tensor;

namespace {

struct Case {
  int N, H, W, C, OC;
  Padding p;
};

const Case kCases[] = {
    {2, 9, 7, 17, 19, Padding::same}, {1, 4, 4, 16, 16, Padding::same}, {3, 6, 11, 5, 3, Padding::valid},
    {1, 3, 3, 2, 4, Padding::valid},  {2, 8, 8, 32, 8, Padding::same},  {1, 1, 5, 3, 2, Padding::same},
    {1, 14, 13, 64, 72, Padding::same}, {1, 30, 30, 128, 64, Padding::same},
};

// max |a - b| / max |b|
double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
    m = std::max(m, std::fabs(double(b[i])));
  }
  return m > 0 ? d / m : d;
}

}  // namespace

TEST_CASE("winograd F(4x4,3x3): forward equals the direct convolution within 2e-5 of the largest output") {
  if (!cpu_has_avx2_fma()) {
    MESSAGE("skipped: the Winograd kernels need AVX2+FMA, which this CPU lacks");
    return;
  }
  uint32_t seed = 300;
  double worst4 = 0, worst2 = 0;
  for (const Case& k : kCases) {
    const Conv2dShape s = make_conv2d_shape(k.N, k.H, k.W, k.C, 3, 3, k.OC, 1, 1, k.p);
    const Tensor x = random_tensor(Shape{s.N, s.H, s.W, s.C}, seed++);
    const Tensor w = random_tensor(Shape{3, 3, s.C, s.OC}, seed++);
    const Tensor b = random_tensor(Shape{s.OC}, seed++);
    for (const bool with_bias : {false, true}) {
      std::vector<float> ref(size_t(int64_t(s.N) * s.OH * s.OW * s.OC));
      conv2d_nhwc_direct_ref(x.data(), w.data(), with_bias ? b.data() : nullptr, ref.data(), s);
      for (const int64_t chunk : {int64_t(0), int64_t(1), int64_t(4)}) {
        CAPTURE(k.N); CAPTURE(k.H); CAPTURE(k.W); CAPTURE(k.C); CAPTURE(k.OC); CAPTURE(with_bias); CAPTURE(chunk);
        set_winograd_chunk_tiles(chunk);
        std::vector<float> y(ref.size(), 12345.f);  // overwritten, never read
        conv2d_nhwc_fwd_winograd4__avx2(x.data(), w.data(), with_bias ? b.data() : nullptr, y.data(), s);
        const double e4 = rel_error(y, ref);
        CHECK(e4 < 2e-5);
        worst4 = std::max(worst4, e4);
        std::vector<float> y2(ref.size());
        conv2d_nhwc_fwd_winograd(x.data(), w.data(), with_bias ? b.data() : nullptr, y2.data(), s);
        worst2 = std::max(worst2, rel_error(y2, ref));
      }
      set_winograd_chunk_tiles(0);
    }
  }
  MESSAGE("largest error relative to the largest output: F(4x4) " << worst4 << ", F(2x2) " << worst2);
}

TEST_CASE("conv policy: the forward takes F(4x4) where F(2x2) would run and 4x4 tiles fit, never the backward") {
  KernelTable t;
  t.conv2d_fwd_winograd = [](const float*, const float*, const float*, float*, const Conv2dShape&) {};
  t.conv2d_bwd_data_winograd = [](const float*, const float*, float*, const Conv2dShape&) {};
  t.conv2d_fwd_winograd4 = [](const float*, const float*, const float*, float*, const Conv2dShape&) {};
  ConvPolicy on;
  auto fwd = [&](int N, int H, int C, int OC, const ConvPolicy& p, const KernelTable& k) {
    return choose_conv_forward_algorithm(make_conv2d_shape(N, H, H, C, 3, 3, OC, 1, 1, Padding::same), k, p);
  };
  // VGG16 at 224: blocks 1 to 4 (28x28 and up: 49 4x4 tiles or more); block 5 (16 tiles) keeps
  // F(2x2), where F(4x4)'s 36 GEMMs of 16 rows run below their speed.
  CHECK(fwd(1, 224, 64, 64, on, t) == ConvAlgo::winograd4);
  CHECK(fwd(1, 56, 128, 256, on, t) == ConvAlgo::winograd4);
  CHECK(fwd(1, 28, 256, 512, on, t) == ConvAlgo::winograd4);
  CHECK(fwd(1, 14, 512, 512, on, t) == ConvAlgo::winograd);
  CHECK(fwd(3, 14, 512, 512, on, t) == ConvAlgo::winograd4);  // a batch of 3: 48 tiles
  // 17x17: 4x4 tiles cover 289 of 400 (72%): F(2x2) (81 tiles, 89%).
  CHECK(fwd(1, 17, 512, 512, on, t) == ConvAlgo::winograd);
  // 7x7 at batch 1 (block5 at 112): too few tiles for F(2x2) already (16 < 48): im2col.
  CHECK(fwd(1, 7, 512, 512, on, t) == ConvAlgo::im2col);
  // Switched off, or a table without it: F(2x2).
  ConvPolicy off = on;
  off.winograd4 = false;
  CHECK(fwd(1, 224, 64, 64, off, t) == ConvAlgo::winograd);
  KernelTable no4 = t;
  no4.conv2d_fwd_winograd4 = nullptr;
  CHECK(fwd(1, 224, 64, 64, on, no4) == ConvAlgo::winograd);
  // The input gradient's choice never names it.
  CHECK(choose_conv_algorithm(make_conv2d_shape(1, 224, 224, 64, 3, 3, 64, 1, 1, Padding::same), t, on) ==
        ConvAlgo::winograd);
}
