// Winograd F(2x2,3x3) (kernels/conv2d_winograd.cpp) against independent references: the forward
// against the seven-loop direct convolution (double accumulation), the input gradient against a
// direct scatter loop written here, on odd sizes (partial 2x2 tiles at the bottom and right),
// both paddings, with and without bias, in one chunk and in many; and the dispatcher's choice.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/ops.h"
#include "kernels/conv2d.h"
#include "kernels/cpu.h"
#include "tests/util.h"

using namespace convis;
using convis::test::random_tensor;

namespace {

struct Case {
  int N, H, W, C, OC;
  Padding p;
};

const Case kCases[] = {
    {2, 9, 7, 17, 19, Padding::same},  {1, 4, 4, 16, 16, Padding::same}, {3, 6, 11, 5, 3, Padding::valid},
    {1, 3, 3, 2, 4, Padding::valid},   {2, 8, 8, 32, 8, Padding::same},  {1, 1, 5, 3, 2, Padding::same},
};

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float f : v) m = std::max(m, double(std::fabs(f)));
  return m;
}

double max_diff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

// dx[n,ih,iw,c] += sum over (oh,ow,kh,kw) with ih = oh + kh - pad_top, iw = ow + kw - pad_left of
// dy[n,oh,ow,oc] * w[kh,kw,c,oc]: the definition, in double.
std::vector<float> bwd_data_direct(const float* dy, const float* w, const std::vector<float>& dx0, const Conv2dShape& s) {
  std::vector<double> acc(dx0.begin(), dx0.end());
  for (int n = 0; n < s.N; ++n)
    for (int oh = 0; oh < s.OH; ++oh)
      for (int ow = 0; ow < s.OW; ++ow)
        for (int kh = 0; kh < 3; ++kh)
          for (int kw = 0; kw < 3; ++kw) {
            const int ih = oh + kh - s.pad_top, iw = ow + kw - s.pad_left;
            if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
            for (int c = 0; c < s.C; ++c)
              for (int oc = 0; oc < s.OC; ++oc)
                acc[size_t(((int64_t(n) * s.H + ih) * s.W + iw) * s.C + c)] +=
                    double(dy[((int64_t(n) * s.OH + oh) * s.OW + ow) * s.OC + oc]) *
                    double(w[((int64_t(kh) * 3 + kw) * s.C + c) * s.OC + oc]);
          }
  return {acc.begin(), acc.end()};
}

// The Winograd kernels are built for AVX2+FMA only (elsewhere the dispatcher keeps im2col).
bool skip_without_avx2() {
  if (cpu_has_avx2_fma()) return false;
  MESSAGE("skipped: the Winograd kernels need AVX2+FMA, which this CPU lacks");
  return true;
}

}  // namespace

TEST_CASE("winograd F(2x2,3x3): forward equals the direct convolution / in one chunk and in chunks of 1, 3, 7 tiles") {
  if (skip_without_avx2()) return;
  uint32_t seed = 100;
  for (const Case& k : kCases) {
    const Conv2dShape s = make_conv2d_shape(k.N, k.H, k.W, k.C, 3, 3, k.OC, 1, 1, k.p);
    REQUIRE(winograd_possible(s));
    const Tensor x = random_tensor(Shape{s.N, s.H, s.W, s.C}, seed++);
    const Tensor w = random_tensor(Shape{3, 3, s.C, s.OC}, seed++);
    const Tensor b = random_tensor(Shape{s.OC}, seed++);
    for (const bool with_bias : {false, true}) {
      std::vector<float> ref(size_t(int64_t(s.N) * s.OH * s.OW * s.OC));
      conv2d_nhwc_direct_ref(x.data(), w.data(), with_bias ? b.data() : nullptr, ref.data(), s);
      const double scale = max_abs(ref);
      REQUIRE(scale > 0);
      for (const int64_t chunk : {int64_t(0), int64_t(1), int64_t(3), int64_t(7)}) {
        CAPTURE(k.N); CAPTURE(k.H); CAPTURE(k.W); CAPTURE(k.C); CAPTURE(k.OC); CAPTURE(with_bias); CAPTURE(chunk);
        set_winograd_chunk_tiles(chunk);
        std::vector<float> y(ref.size(), 12345.f);  // overwritten, never read
        conv2d_nhwc_fwd_winograd(x.data(), w.data(), with_bias ? b.data() : nullptr, y.data(), s);
        CHECK(max_diff(y.data(), ref.data(), int64_t(ref.size())) / scale < 2e-6);
      }
      set_winograd_chunk_tiles(0);
    }
  }
}

TEST_CASE("winograd F(2x2,3x3): input gradient equals the direct scatter and accumulates into dx") {
  if (skip_without_avx2()) return;
  uint32_t seed = 200;
  for (const Case& k : kCases) {
    const Conv2dShape s = make_conv2d_shape(k.N, k.H, k.W, k.C, 3, 3, k.OC, 1, 1, k.p);
    const Tensor dy = random_tensor(Shape{s.N, s.OH, s.OW, s.OC}, seed++);
    const Tensor w = random_tensor(Shape{3, 3, s.C, s.OC}, seed++);
    const Tensor dx0 = random_tensor(Shape{s.N, s.H, s.W, s.C}, seed++);
    const std::vector<float> start = dx0.to_vector();
    const std::vector<float> ref = bwd_data_direct(dy.data(), w.data(), start, s);
    const double scale = max_abs(ref);
    for (const int64_t chunk : {int64_t(0), int64_t(2), int64_t(5)}) {
      CAPTURE(k.N); CAPTURE(k.H); CAPTURE(k.W); CAPTURE(k.C); CAPTURE(k.OC); CAPTURE(chunk);
      set_winograd_chunk_tiles(chunk);
      std::vector<float> dx = start;
      conv2d_nhwc_bwd_data_winograd(dy.data(), w.data(), dx.data(), s);
      CHECK(max_diff(dx.data(), ref.data(), int64_t(ref.size())) / scale < 2e-6);
    }
    set_winograd_chunk_tiles(0);
  }
}

TEST_CASE("winograd: the dispatcher takes it for VGG16's 3x3 layers with enough tiles, and only then") {
  if (skip_without_avx2()) return;
  set_winograd_enabled(true);
  CHECK(winograd_applies(make_conv2d_shape(1, 96, 96, 64, 3, 3, 64, 1, 1, Padding::same)));
  CHECK(winograd_applies(make_conv2d_shape(16, 6, 6, 512, 3, 3, 512, 1, 1, Padding::same)));  // 144 tiles
  CHECK_FALSE(winograd_applies(make_conv2d_shape(1, 6, 6, 512, 3, 3, 512, 1, 1, Padding::same)));  // 9 tiles
  CHECK_FALSE(winograd_applies(make_conv2d_shape(1, 12, 12, 512, 3, 3, 512, 1, 1, Padding::same)));  // 36 tiles
  CHECK(winograd_applies(make_conv2d_shape(1, 14, 14, 512, 3, 3, 512, 1, 1, Padding::same)));  // 49 tiles
  CHECK_FALSE(winograd_applies(make_conv2d_shape(1, 96, 96, 3, 3, 3, 64, 1, 1, Padding::same)));  // C = 3
  CHECK_FALSE(winograd_applies(make_conv2d_shape(64, 13, 13, 32, 3, 3, 64, 1, 1, Padding::valid)));  // C = 32
  CHECK_FALSE(winograd_applies(make_conv2d_shape(64, 5, 5, 64, 3, 3, 64, 1, 1, Padding::valid)));  // 3x3 out: 56%
  CHECK(winograd_applies(make_conv2d_shape(64, 7, 7, 64, 3, 3, 64, 1, 1, Padding::same)));  // 7x7 out: 77%
  CHECK_FALSE(winograd_applies(make_conv2d_shape(1, 96, 96, 64, 3, 3, 64, 2, 2, Padding::same)));  // stride 2
  CHECK_FALSE(winograd_applies(make_conv2d_shape(1, 96, 96, 64, 5, 5, 64, 1, 1, Padding::same)));  // 5x5
  set_winograd_enabled(false);
  CHECK_FALSE(winograd_applies(make_conv2d_shape(1, 96, 96, 64, 3, 3, 64, 1, 1, Padding::same)));
  set_winograd_enabled(true);
}

TEST_CASE("winograd through conv2d: the op's forward and input gradient match the im2col path") {
  if (skip_without_avx2()) return;
  // 2 x 16 x 16 x 64 -> 128 tiles: the dispatcher takes Winograd.
  const Tensor xv = random_tensor(Shape{2, 16, 16, 64}, 301u);
  const Tensor wv = random_tensor(Shape{3, 3, 64, 72}, 302u);
  const Tensor bv = random_tensor(Shape{72}, 303u);
  const Tensor r = random_tensor(Shape{2, 16, 16, 72}, 304u);
  REQUIRE(winograd_applies(make_conv2d_shape(2, 16, 16, 64, 3, 3, 72, 1, 1, Padding::same)));
  std::vector<float> y[2], g[2];
  for (int path = 0; path < 2; ++path) {
    set_winograd_enabled(path == 0);
    Tape::current().clear();
    const Var x = Var::param(xv);
    const Var out = conv2d(x, Var::constant(wv), Var::constant(bv), 1, 1, Padding::same);
    Tape::current().backward(out, r);
    y[path] = out.value().to_vector();
    g[path] = x.grad().to_vector();
  }
  set_winograd_enabled(true);
  CHECK(max_diff(y[0].data(), y[1].data(), int64_t(y[0].size())) / max_abs(y[1]) < 2e-6);
  CHECK(max_diff(g[0].data(), g[1].data(), int64_t(g[0].size())) / max_abs(g[1]) < 2e-6);
}
