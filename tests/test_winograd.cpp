// Winograd F(2x2,3x3) (kernels/conv2d_winograd.cpp) and F(4x4,3x3) (conv2d_winograd4__avx2.cpp)
// against independent references: the forward against the seven-loop direct convolution (double
// accumulation), the input gradient against a direct scatter loop written here, on odd sizes
// (partial tiles at the bottom and right), both paddings, with and without bias, in one chunk and
// in many; F(4x4)'s error beside F(2x2)'s; and the dispatcher's choices.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/dispatch.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
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

TEST_CASE("conv policy: Winograd for VGG16's 3x3 layers with enough tiles, and only then") {
  // The policy alone, on a table filled by hand: it never calls the kernels, so any CPU runs this.
  KernelTable with;
  with.conv2d_fwd_winograd = [](const float*, const float*, const float*, float*, const Conv2dShape&) {};
  with.conv2d_bwd_data_winograd = [](const float*, const float*, float*, const Conv2dShape&) {};
  const KernelTable without;  // no Winograd kernels: the portable table's case
  const ConvPolicy on;
  ConvPolicy off;
  off.winograd = false;
  auto algo = [&](int N, int H, int C, int K, int OC, int S, Padding p, const ConvPolicy& pol) {
    return choose_conv_algorithm(make_conv2d_shape(N, H, H, C, K, K, OC, S, S, p), with, pol);
  };
  const ConvAlgo W = ConvAlgo::winograd, I = ConvAlgo::im2col;
  CHECK(algo(1, 96, 64, 3, 64, 1, Padding::same, on) == W);
  CHECK(algo(16, 6, 512, 3, 512, 1, Padding::same, on) == W);   // 144 tiles
  CHECK(algo(1, 6, 512, 3, 512, 1, Padding::same, on) == I);    // 9 tiles
  CHECK(algo(1, 12, 512, 3, 512, 1, Padding::same, on) == I);   // 36 tiles
  CHECK(algo(1, 14, 512, 3, 512, 1, Padding::same, on) == W);   // 49 tiles
  CHECK(algo(1, 96, 3, 3, 64, 1, Padding::same, on) == I);      // C = 3
  CHECK(algo(64, 13, 32, 3, 64, 1, Padding::valid, on) == I);   // C = 32
  CHECK(algo(64, 5, 64, 3, 64, 1, Padding::valid, on) == I);    // 3x3 out: 56% of the tiles used
  CHECK(algo(64, 7, 64, 3, 64, 1, Padding::same, on) == W);     // 7x7 out: 77%
  CHECK(algo(1, 96, 64, 3, 64, 2, Padding::same, on) == I);     // stride 2
  CHECK(algo(1, 96, 64, 5, 64, 1, Padding::same, on) == I);     // 5x5
  CHECK(algo(1, 96, 64, 1, 64, 1, Padding::valid, on) == ConvAlgo::pointwise);
  CHECK(algo(1, 96, 64, 1, 64, 2, Padding::valid, on) == I);    // 1x1 with stride 2 still needs im2col
  CHECK(algo(1, 96, 64, 3, 64, 1, Padding::same, off) == I);  // switched off
  CHECK(choose_conv_algorithm(make_conv2d_shape(1, 96, 96, 64, 3, 3, 64, 1, 1, Padding::same), without, on) == I);
  CHECK(std::string(conv_algo_name(W)) == "winograd");
}

TEST_CASE("dispatch: the tables hold the kernels of their backend, and ops follow use_backend") {
  const KernelTable& p = kernel_table(Backend::portable);
  CHECK((p.gemm_f32 == &gemm_f32_eigen));
  CHECK((p.conv2d_fwd_winograd == nullptr));
  CHECK((p.conv2d_bwd_data_winograd == nullptr));
  CHECK((p.conv2d_fwd_winograd4 == nullptr));
  if (backend_available(Backend::avx2_fma)) {
    const KernelTable& a = kernel_table(Backend::avx2_fma);
    CHECK((a.gemm_f32 == &gemm_f32__avx2));
    CHECK((a.conv2d_fwd_winograd != nullptr));
    CHECK((a.conv2d_fwd_winograd4 != nullptr));
    CHECK(&kernels() == (std::getenv("CONVIS_NO_AVX2") ? &p : &a));  // the best one, unless told
  } else {
    CHECK(&kernels() == &p);
    CHECK_THROWS_AS(kernel_table(Backend::avx2_fma), std::runtime_error);
  }
  // The same layer on each available backend: the op's forward equals the direct convolution,
  // and only the AVX2+FMA table takes Winograd for it.
  const Conv2dShape s = make_conv2d_shape(2, 16, 16, 64, 3, 3, 72, 1, 1, Padding::same);
  const Tensor x = random_tensor(Shape{2, 16, 16, 64}, 401u), w = random_tensor(Shape{3, 3, 64, 72}, 402u);
  std::vector<float> ref(size_t(2) * 16 * 16 * 72);
  conv2d_nhwc_direct_ref(x.data(), w.data(), nullptr, ref.data(), s);
  const Backend before = kernels().backend;
  for (const Backend b : {Backend::portable, Backend::avx2_fma}) {
    if (!backend_available(b)) continue;
    use_backend(b);
    CAPTURE(kernels().name);
    CHECK(&kernels() == &kernel_table(b));
    CHECK(cpu_has_avx2_fma() == (b == Backend::avx2_fma));
    CHECK((choose_conv_algorithm(s, kernels(), conv_policy()) == ConvAlgo::winograd) == (b == Backend::avx2_fma));
    // 32 4x4 tiles: too few for F(4x4) (tests/test_winograd4.cpp), so F(2x2) for the forward too.
    CHECK((choose_conv_forward_algorithm(s, kernels(), conv_policy()) == ConvAlgo::winograd) ==
          (b == Backend::avx2_fma));
    std::vector<float> y(ref.size());
    conv2d_nhwc_fwd(x.data(), w.data(), nullptr, y.data(), s);
    CHECK(max_diff(y.data(), ref.data(), int64_t(ref.size())) / max_abs(ref) < 2e-6);
    if (b == Backend::portable) {
      CHECK_THROWS_AS(conv2d_nhwc_fwd_winograd(x.data(), w.data(), nullptr, y.data(), s), std::runtime_error);
    }
  }
  use_backend(before);
}

TEST_CASE("winograd through conv2d: the op's forward and input gradient match the im2col path") {
  if (skip_without_avx2()) return;
  // 2 x 40 x 40 x 64 -> 200 4x4 tiles: the dispatcher takes F(4x4) forward, F(2x2) backward.
  const Tensor xv = random_tensor(Shape{2, 40, 40, 64}, 301u);
  const Tensor wv = random_tensor(Shape{3, 3, 64, 72}, 302u);
  const Tensor bv = random_tensor(Shape{72}, 303u);
  const Tensor r = random_tensor(Shape{2, 40, 40, 72}, 304u);
  const Conv2dShape s = make_conv2d_shape(2, 40, 40, 64, 3, 3, 72, 1, 1, Padding::same);
  REQUIRE(choose_conv_algorithm(s, kernels(), conv_policy()) == ConvAlgo::winograd);
  REQUIRE(choose_conv_forward_algorithm(s, kernels(), conv_policy()) == ConvAlgo::winograd4);
  // Paths: 0 the default (F(4x4) forward, F(2x2) input gradient), 1 im2col, 2 F(2x2) both ways.
  std::vector<float> y[3], g[3];
  for (int path = 0; path < 3; ++path) {
    set_winograd_enabled(path != 1);
    set_winograd4_enabled(path == 0);
    Tape::current().clear();
    const Var x = Var::param(xv);
    const Var out = conv2d(x, Var::constant(wv), Var::constant(bv), 1, 1, Padding::same);
    Tape::current().backward(out, r);
    y[path] = out.value().to_vector();
    g[path] = x.grad().to_vector();
  }
  set_winograd_enabled(true);
  set_winograd4_enabled(true);
  CHECK(max_diff(y[0].data(), y[1].data(), int64_t(y[0].size())) / max_abs(y[1]) < 2e-5);  // F(4x4)'s bound
  CHECK(max_diff(y[2].data(), y[1].data(), int64_t(y[0].size())) / max_abs(y[1]) < 2e-6);
  CHECK(max_diff(g[0].data(), g[1].data(), int64_t(g[0].size())) / max_abs(g[1]) < 2e-6);
  CHECK(max_diff(g[2].data(), g[1].data(), int64_t(g[0].size())) / max_abs(g[1]) < 2e-6);
}

// ---- F(4x4,3x3), the forward ------------------------------------------------------------------

TEST_CASE("winograd F(4x4,3x3): forward equals the direct convolution within 2e-5 of the largest output") {
  if (skip_without_avx2()) return;
  uint32_t seed = 300;
  double worst4 = 0, worst2 = 0;
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  cases.push_back({1, 14, 13, 64, 72, Padding::same});   // partial 4x4 tiles, many channels
  cases.push_back({1, 30, 30, 128, 64, Padding::same});
  for (const Case& k : cases) {
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
        const double e4 = max_diff(y.data(), ref.data(), int64_t(ref.size())) / max_abs(ref);
        CHECK(e4 < 2e-5);
        worst4 = std::max(worst4, e4);
        std::vector<float> y2(ref.size());
        conv2d_nhwc_fwd_winograd(x.data(), w.data(), with_bias ? b.data() : nullptr, y2.data(), s);
        worst2 = std::max(worst2, max_diff(y2.data(), ref.data(), int64_t(ref.size())) / max_abs(ref));
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
