// The performance paths of issue 7 against independent references: one-channel convolution
// (activation maximisation's target layer) against the direct seven-loop convolution and central
// differences, Model::forward_channels against the full forward, the 2x2 stride-2 max pooling
// against the definition, and the recycling of tensor buffers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "engine/buffer_cache.h"
#include "engine/model.h"
#include "engine/ops.h"
#include "kernels/conv2d.h"
#include "kernels/elementwise.h"
#include "kernels/pool2d.h"
#include "tests/util.h"

using namespace convis;
using convis::test::random_tensor;

namespace {

struct ConvCase {
  int N, H, W, C, K, OC, S;
  Padding p;
};

// Odd sizes, C = 3 (a first layer), stride 2, both paddings, a kernel as wide as the image.
const ConvCase kConvCases[] = {
    {3, 7, 6, 3, 3, 5, 1, Padding::same},  {2, 9, 8, 4, 3, 7, 2, Padding::valid},
    {1, 5, 5, 16, 3, 9, 1, Padding::same}, {2, 6, 7, 2, 5, 3, 2, Padding::same},
    {1, 4, 4, 3, 4, 2, 1, Padding::valid},
};

}  // namespace

TEST_CASE("conv2d_channels: forward is channel f_n of the direct convolution, for each image") {
  for (const ConvCase& k : kConvCases) {
    const Conv2dShape s = make_conv2d_shape(k.N, k.H, k.W, k.C, k.K, k.K, k.OC, k.S, k.S, k.p);
    CAPTURE(k.N); CAPTURE(k.H); CAPTURE(k.C); CAPTURE(k.K); CAPTURE(k.S);
    const Tensor x = random_tensor({k.N, k.H, k.W, k.C}, 1);
    const Tensor w = random_tensor({k.K, k.K, k.C, k.OC}, 2);
    const Tensor b = random_tensor({k.OC}, 3);
    std::vector<int> ch;
    for (int n = 0; n < k.N; ++n) ch.push_back((3 * n + 1) % k.OC);
    Tensor full(Shape{s.N, s.OH, s.OW, s.OC});
    conv2d_nhwc_direct_ref(x.data(), w.data(), b.data(), full.data(), s);
    for (bool relu : {false, true}) {
      const Var y = conv2d_channels(Var::constant(x), Var::constant(w), Var::constant(b), ch, k.S, k.S, k.p, relu);
      REQUIRE(y.shape() == Shape{s.N, s.OH, s.OW, 1});
      double diff = 0;
      for (int n = 0; n < s.N; ++n)
        for (int64_t q = 0; q < int64_t(s.OH) * s.OW; ++q) {
          float want = full[(n * int64_t(s.OH) * s.OW + q) * s.OC + ch[size_t(n)]];
          if (relu) want = std::max(want, 0.f);
          diff = std::max(diff, double(std::fabs(y.value()[n * int64_t(s.OH) * s.OW + q] - want)));
        }
      CHECK(diff < 1e-5);
    }
  }
}

TEST_CASE("conv2d_channels: input gradient by central differences / and equal to the full conv2d's") {
  for (const ConvCase& k : kConvCases) {
    CAPTURE(k.N); CAPTURE(k.H); CAPTURE(k.C); CAPTURE(k.K); CAPTURE(k.S);
    const Var w = Var::constant(random_tensor({k.K, k.K, k.C, k.OC}, 5));
    const Var b = Var::constant(random_tensor({k.OC}, 6));
    std::vector<int> ch;
    for (int n = 0; n < k.N; ++n) ch.push_back((5 * n + 2) % k.OC);
    const Var x = Var::param(random_tensor({k.N, k.H, k.W, k.C}, 4));
    convis::test::check_gradients("conv2d_channels", [&](const std::vector<Var>& in) {
      return conv2d_channels(in[0], w, b, ch, k.S, k.S, k.p);
    }, {x});

    // The full layer with the output gradient zero outside channel f_n gives the same dx.
    Tape::current().clear();
    x.zero_grad();
    const Var ys = conv2d_channels(x, w, b, ch, k.S, k.S, k.p, /*fuse_relu=*/true);
    const Tensor g = random_tensor(ys.shape(), 7);
    Tape::current().backward(ys, g);
    const Tensor dx_sel = x.grad().clone();
    x.zero_grad();
    const Var yf = conv2d(x, w, b, k.S, k.S, k.p, /*fuse_relu=*/true);
    Tensor gf = Tensor::zeros(yf.shape());
    const int64_t P = yf.shape()[1] * yf.shape()[2];
    for (int n = 0; n < k.N; ++n)
      for (int64_t q = 0; q < P; ++q) gf[(n * P + q) * k.OC + ch[size_t(n)]] = g[n * P + q];
    Tape::current().backward(yf, gf);
    double diff = 0;
    for (int64_t i = 0; i < dx_sel.numel(); ++i) diff = std::max(diff, double(std::fabs(dx_sel[i] - x.grad()[i])));
    CHECK(diff < 1e-5);
  }
}

TEST_CASE("conv2d_channels: bad input / trainable weights, a channel out of range, one channel per image") {
  const Var x = Var::param(random_tensor({2, 5, 5, 3}, 1));
  const Var w = Var::constant(random_tensor({3, 3, 3, 4}, 2));
  CHECK_THROWS_WITH_AS(conv2d_channels(x, Var::param(w.value()), Var(), {0, 1}, 1, 1, Padding::same),
                       doctest::Contains("must be frozen"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv2d_channels(x, w, Var(), {0, 4}, 1, 1, Padding::same),
                       doctest::Contains("channel 4 out of range"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv2d_channels(x, w, Var(), {0}, 1, 1, Padding::same),
                       doctest::Contains("1 channels for a batch of 2"), std::invalid_argument);
}

TEST_CASE("Model::forward_channels: the full forward's channel per image, and the same input gradient") {
  Model m = vgg16(false);
  m.build(32, 32);
  init_he_normal(m, 3);  // frozen below
  m.set_trainable(false);
  const int last = m.layer_index("block2_conv2");
  REQUIRE(m.can_select_channels(last));
  CHECK_FALSE(m.can_select_channels(m.layer_index("block2_pool")));
  const Tensor x0 = random_tensor({3, 32, 32, 3}, 9, 0.f, 1.f);
  const std::vector<int> ch = {0, 77, 127};

  Tape::current().clear();
  Var x = Var::param(x0);
  const Var ys = m.forward_channels(x, last, ch);
  const Tensor g = random_tensor(ys.shape(), 10);
  Tape::current().backward(ys, g);
  const Tensor dx_sel = x.grad().clone();

  x = Var::param(x0);
  const Var yf = m.forward(x, last);
  const int64_t P = yf.shape()[1] * yf.shape()[2], C = yf.shape()[3];
  Tensor gf = Tensor::zeros(yf.shape());
  double diff_y = 0, scale_y = 0;
  for (int n = 0; n < 3; ++n)
    for (int64_t q = 0; q < P; ++q) {
      const int64_t at = (n * P + q) * C + ch[size_t(n)];
      gf[at] = g[n * P + q];
      diff_y = std::max(diff_y, double(std::fabs(yf.value()[at] - ys.value()[n * P + q])));
      scale_y = std::max(scale_y, double(std::fabs(yf.value()[at])));
    }
  Tape::current().backward(yf, gf);
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < dx_sel.numel(); ++i) {
    diff = std::max(diff, double(std::fabs(dx_sel[i] - x.grad()[i])));
    scale = std::max(scale, double(std::fabs(x.grad()[i])));
  }
  REQUIRE(scale_y > 0);
  REQUIRE(scale > 0);
  CHECK(diff_y / scale_y < 1e-5);
  CHECK(diff / scale < 1e-5);
}

TEST_CASE("maxpool 2x2 stride 2: the definition, first maximum on ties, and the dispatcher uses it") {
  for (int H : {6, 7}) {
    const Pool2dShape s = make_pool2d_shape(2, H, 9, 19, 2, 2, 2, 2, Padding::valid);
    Tensor x = random_tensor({2, H, 9, 19}, uint32_t(H));
    for (int64_t i = 0; i < x.numel(); i += 3) x[i] = std::round(x[i] * 2.f) / 2.f;  // many ties
    const size_t ny = static_cast<size_t>(int64_t(s.N) * s.OH * s.OW * s.C);
    std::vector<float> y(ny), y_ref(ny), y_disp(ny);
    std::vector<int32_t> a(ny), a_disp(ny);
    maxpool2d_2x2s2_nhwc_fwd(x.data(), y.data(), a.data(), s);
    maxpool2d_nhwc_ref(x.data(), y_ref.data(), s);
    maxpool2d_nhwc_fwd(x.data(), y_disp.data(), a_disp.data(), s);
    CHECK(y == y_ref);
    CHECK(y_disp == y);
    CHECK(a_disp == a);
    int64_t bad = 0;
    for (int n = 0; n < s.N; ++n)
      for (int oh = 0; oh < s.OH; ++oh)
        for (int ow = 0; ow < s.OW; ++ow)
          for (int c = 0; c < s.C; ++c) {
            const int64_t i = ((int64_t(n) * s.OH + oh) * s.OW + ow) * s.C + c;
            int64_t first = -1;  // the first cell, row-major, that holds the maximum
            for (int kh = 0; kh < 2 && first < 0; ++kh)
              for (int kw = 0; kw < 2 && first < 0; ++kw) {
                const int64_t at = ((int64_t(n) * s.H + 2 * oh + kh) * s.W + 2 * ow + kw) * s.C + c;
                if (x[at] == y_ref[size_t(i)]) first = at;
              }
            bad += a[size_t(i)] != first;
          }
    CHECK(bad == 0);
  }
}

TEST_CASE("tensor buffers: a freed large buffer is reused by the next of its size / the limit bounds the cache") {
  buffer_cache::set_limit(buffer_cache::kDefaultLimit);
  const Shape big{1, 256, 256, 4};  // 1 MiB
  const int64_t live0 = buffer_cache::live_bytes();
  const float* first = nullptr;
  {
    Tensor t(big);
    first = t.data();
    CHECK(buffer_cache::live_bytes() - live0 == big.numel() * 4);
  }
  CHECK(buffer_cache::live_bytes() == live0);  // cached bytes are not live
  CHECK(buffer_cache::cached_bytes() >= big.numel() * 4);
  {
    const Tensor again = Tensor::zeros(big);
    CHECK(again.data() == first);  // the same block, taken back from the cache
    CHECK(again[0] == 0.f);
    CHECK(again[big.numel() - 1] == 0.f);
  }
  buffer_cache::set_limit(0);  // frees the cache and turns it off
  CHECK(buffer_cache::cached_bytes() == 0);
  { Tensor t(big); }
  CHECK(buffer_cache::cached_bytes() == 0);
  buffer_cache::set_limit(int64_t(3) << 20);  // room for three 1 MiB blocks: the oldest go first
  {
    std::vector<Tensor> ts;
    for (int i = 0; i < 5; ++i) ts.emplace_back(big);
  }
  CHECK(buffer_cache::cached_bytes() <= int64_t(3) << 20);
  CHECK(buffer_cache::cached_bytes() >= int64_t(2) << 20);
  buffer_cache::set_limit(buffer_cache::kDefaultLimit);
}

TEST_CASE("buffer cache policy: a guard sets the headroom and restores it / nested / through an exception / out of order") {
  const double base = buffer_cache::headroom();
  CHECK(base == buffer_cache::kDefaultHeadroom);
  {
    const BufferCachePolicy tight(1.25);
    CHECK(buffer_cache::headroom() == 1.25);
    // Trimmed at once: live + cached within the new multiple of the peak.
    CHECK(double(buffer_cache::live_bytes() + buffer_cache::cached_bytes()) <=
          1.25 * double(buffer_cache::peak_live_bytes()));
    {
      const BufferCachePolicy tighter(1.0);
      CHECK(buffer_cache::headroom() == 1.0);
      const BufferCachePolicy below_one(0.5);  // clamped: live + cached may always reach the peak
      CHECK(buffer_cache::headroom() == 1.0);
    }
    CHECK(buffer_cache::headroom() == 1.25);
    const BufferCachePolicy loose(3.0);
    CHECK(buffer_cache::headroom() == 3.0);
  }
  CHECK(buffer_cache::headroom() == base);

  bool caught = false;
  try {
    const BufferCachePolicy tight(1.5);
    CHECK(buffer_cache::headroom() == 1.5);
    throw std::runtime_error("leaves the scope");
  } catch (const std::runtime_error&) {
    caught = true;
  }
  CHECK(caught);
  CHECK(buffer_cache::headroom() == base);

  // Overlapping policies ended out of order: the newest still alive is in force.
  auto a = std::make_unique<BufferCachePolicy>(1.5);
  auto b = std::make_unique<BufferCachePolicy>(1.25);
  a.reset();
  CHECK(buffer_cache::headroom() == 1.25);
  auto c = std::make_unique<BufferCachePolicy>(4.0);
  b.reset();
  CHECK(buffer_cache::headroom() == 4.0);
  c.reset();
  CHECK(buffer_cache::headroom() == base);
}

namespace {
// The process's virtual size (VmSize in /proc/self/status), in KiB; -1 where it cannot be read.
int64_t vm_size_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int64_t kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmSize: %" SCNd64, &kib) == 1) break;
  std::fclose(f);
  return kib;
}
}  // namespace

TEST_CASE("tensor buffers: huge-page blocks give back their whole mapping, whatever their size") {
  // A block of 2 MiB + 64 bytes is mapped over-sized to align it to 2 MiB; the unused head and
  // tail must be unmapped at once and the rest when it is freed, or every allocation would leave
  // up to 2 MiB of address space behind.
  buffer_cache::set_limit(0);  // every free really unmaps
  const Shape odd{int64_t((2 << 20) + 64) / 4};
  { Tensor warm(odd); }
  const int64_t before = vm_size_kib();
  if (before < 0) {
    MESSAGE("skipped: /proc/self/status is not readable");
    buffer_cache::set_limit(buffer_cache::kDefaultLimit);
    return;
  }
  for (int i = 0; i < 200; ++i) {
    Tensor t(odd);
    t[0] = 1.f;
    t[t.numel() - 1] = 2.f;
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % (2 << 20) == 0);  // huge-page aligned
  }
  CHECK(vm_size_kib() - before < 8 * 1024);  // 200 leaked tails would be ~400 MiB
  buffer_cache::set_limit(buffer_cache::kDefaultLimit);
}

TEST_CASE("relu_mask: dx = dy where the ReLU was on, 0 elsewhere, overwriting dx") {
  const Tensor y = random_tensor({70000}, 11);  // large enough for the parallel loop
  const Tensor dy = random_tensor({70000}, 12);
  Tensor dx = Tensor::full({70000}, 123.f);  // garbage that must be overwritten
  relu_mask(y.data(), dy.data(), dx.data(), y.numel());
  int64_t bad = 0;
  for (int64_t i = 0; i < y.numel(); ++i) bad += dx[i] != (y[i] > 0.f ? dy[i] : 0.f);
  CHECK(bad == 0);
}
