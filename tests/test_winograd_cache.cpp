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

TEST_CASE("winograd kernel cache: the size limit evicts, and off still computes right") {
  if (!cpu_has_avx2_fma()) {
    MESSAGE("skipped: the Winograd kernels need AVX2+FMA, which this CPU lacks");
    return;
  }
  const Conv2dShape s = make_conv2d_shape(1, 10, 10, 32, 3, 3, 32, 1, 1, Padding::same);
  const int64_t entry = (9 + 16) * 32 * 32 * int64_t(sizeof(float));  // kernel copy + F(2x2) transform
  LimitScope scope(entry + entry / 2);  // room for one entry
  const Tensor x = random_tensor(Shape{1, 10, 10, 32}, 21);
  const Tensor a = random_tensor(Shape{3, 3, 32, 32}, 22), b = random_tensor(Shape{3, 3, 32, 32}, 23);
  std::vector<float> y(size_t(10 * 10 * 32)), ref(y.size());
  const WinogradCacheStats s0 = winograd_cache_stats();
  for (int k = 0; k < 3; ++k)
    for (const Tensor* w : {&a, &b}) {
      conv2d_nhwc_fwd_winograd(x.data(), w->data(), nullptr, y.data(), s);
      conv2d_nhwc_direct_ref(x.data(), w->data(), nullptr, ref.data(), s);
      CHECK(rel_error(y, ref) < 2e-6);
      CHECK(winograd_cache_stats().bytes <= entry + entry / 2);
    }
  CHECK(winograd_cache_stats().misses == s0.misses + 6);  // a and b push each other out
  // Off: nothing kept, every call transforms, results unchanged.
  set_winograd_cache_limit(0);
  CHECK(winograd_cache_stats().bytes == 0);
  conv2d_nhwc_fwd_winograd(x.data(), a.data(), nullptr, y.data(), s);
  conv2d_nhwc_direct_ref(x.data(), a.data(), nullptr, ref.data(), s);
  CHECK(rel_error(y, ref) < 2e-6);
  CHECK(winograd_cache_stats().bytes == 0);
}
