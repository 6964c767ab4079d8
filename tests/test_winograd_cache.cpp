// The cache of transformed Winograd kernels (kernels/conv2d_winograd.h): a kernel used again is
// not transformed again, a kernel changed in place is (the result follows the new values), and
// the cache keeps to its size.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/cpu.h"
#include "tests/util.h"

using namespace convis;
using convis::test::random_tensor;

namespace {

double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
    m = std::max(m, std::fabs(double(b[i])));
  }
  return d / m;
}

struct LimitScope {
  int64_t saved = winograd_cache_limit();
  explicit LimitScope(int64_t bytes) { set_winograd_cache_limit(bytes); }
  ~LimitScope() { set_winograd_cache_limit(saved); }
};

}  // namespace

TEST_CASE("winograd kernel cache: a hit for the same kernel, a fresh transform for one changed in place") {
  if (!cpu_has_avx2_fma()) {
    MESSAGE("skipped: the Winograd kernels need AVX2+FMA, which this CPU lacks");
    return;
  }
  LimitScope scope(int64_t(64) << 20);
  set_winograd_cache_limit(0);  // start empty
  set_winograd_cache_limit(int64_t(64) << 20);
  const Conv2dShape s = make_conv2d_shape(1, 12, 12, 16, 3, 3, 24, 1, 1, Padding::same);
  const Tensor x = random_tensor(Shape{1, 12, 12, 16}, 11);
  Tensor w = random_tensor(Shape{3, 3, 16, 24}, 12);
  std::vector<float> ref(size_t(12 * 12 * 24)), y(ref.size());
  for (const bool f4 : {false, true}) {
    CAPTURE(f4);
    auto run = [&] {
      if (f4) conv2d_nhwc_fwd_winograd4(x.data(), w.data(), nullptr, y.data(), s);
      else conv2d_nhwc_fwd_winograd(x.data(), w.data(), nullptr, y.data(), s);
    };
    const WinogradCacheStats s0 = winograd_cache_stats();
    run();
    const WinogradCacheStats s1 = winograd_cache_stats();
    CHECK(s1.misses == s0.misses + 1);
    const std::vector<float> first = y;
    run();
    const WinogradCacheStats s2 = winograd_cache_stats();
    CHECK(s2.hits == s1.hits + 1);
    CHECK(s2.misses == s1.misses);
    CHECK(y == first);
    // One weight changed in place, at the same address: transformed again, and right.
    w[w.numel() / 2] += 0.75f;
    run();
    const WinogradCacheStats s3 = winograd_cache_stats();
    CHECK(s3.misses == s2.misses + 1);
    conv2d_nhwc_direct_ref(x.data(), w.data(), nullptr, ref.data(), s);
    CHECK(rel_error(y, ref) < 2e-5);
    CHECK(y != first);
  }
  CHECK(winograd_cache_stats().bytes <= winograd_cache_limit());
}

namespace {

int g_transforms = 0;
// A stand-in transform whose output says which kernel it came from: U[i] = w[0] + i.
void marking_transform(const float* w, int C, int OC, float* U) {
  ++g_transforms;
  for (int64_t i = 0; i < 16 * int64_t(C) * OC; ++i) U[i] = w[0] + float(i);
}

}  // namespace

TEST_CASE("winograd kernel cache: a full cache keeps what it has, and idle entries make room") {
  const int C = 8, OC = 8;
  const int64_t entry = (9 + 16) * C * OC * int64_t(sizeof(float));
  LimitScope scope(0);                   // empty
  set_winograd_cache_limit(entry + entry / 2);  // room for one
  std::vector<float> a(size_t(9 * C * OC), 1.f), b(size_t(9 * C * OC), 2.f), d(size_t(9 * C * OC), 3.f);
  g_transforms = 0;
  auto get = [&](const std::vector<float>& w) { return winograd_kernel_transform(16, w.data(), C, OC, marking_transform); };
  // a and b in turn: a is kept, b never gets in (it would push a out every time), both right.
  for (int k = 0; k < 3; ++k) {
    CHECK(get(a)[5] == 1.f + 5.f);
    CHECK(get(b)[5] == 2.f + 5.f);
  }
  CHECK(g_transforms == 1 + 3);
  CHECK(winograd_cache_stats().bytes == entry);
  // Only b for a while: once a has been unused for more than 1024 lookups, b takes its place.
  for (int k = 0; k < 1030; ++k) get(b);
  const int before = g_transforms;
  CHECK(get(b)[5] == 2.f + 5.f);
  CHECK(g_transforms == before);  // a hit now
  CHECK(get(d)[0] == 3.f);        // d does not push b out
  CHECK(get(b)[0] == 2.f);
  CHECK(g_transforms == before + 1);
  CHECK(winograd_cache_stats().bytes == entry);
  // Off: nothing kept, every use transforms.
  set_winograd_cache_limit(0);
  CHECK(winograd_cache_stats().bytes == 0);
  const int off = g_transforms;
  get(a);
  get(a);
  CHECK(g_transforms == off + 2);
}

TEST_CASE("winograd kernel cache: off, the convolution is still right") {
  if (!cpu_has_avx2_fma()) {
    MESSAGE("skipped: the Winograd kernels need AVX2+FMA, which this CPU lacks");
    return;
  }
  LimitScope scope(0);
  const Conv2dShape s = make_conv2d_shape(1, 10, 10, 32, 3, 3, 32, 1, 1, Padding::same);
  const Tensor x = random_tensor(Shape{1, 10, 10, 32}, 21), a = random_tensor(Shape{3, 3, 32, 32}, 22);
  std::vector<float> y(size_t(10 * 10 * 32)), ref(y.size());
  conv2d_nhwc_fwd_winograd(x.data(), a.data(), nullptr, y.data(), s);
  conv2d_nhwc_direct_ref(x.data(), a.data(), nullptr, ref.data(), s);
  CHECK(rel_error(y, ref) < 2e-6);
  CHECK(winograd_cache_stats().bytes == 0);
}
