// pool2d: max and average pooling against their definitions, argmax, hand-computed examples for
// ties and for `same` average pooling's divisor, and the accumulate-into backward passes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/pool2d.h"

using namespace convis;

namespace {

std::vector<float> random_vec(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = u(rng);
  return v;
}

int64_t x_size(const Pool2dShape& s) { return int64_t(s.N) * s.H * s.W * s.C; }
int64_t y_size(const Pool2dShape& s) { return int64_t(s.N) * s.OH * s.OW * s.C; }

// Visits each output element with the flat x indices of its window's cells inside the image,
// in row-major (kh, kw) order: f(y index, vector of x indices).
template <class F>
void for_each_window(const Pool2dShape& s, F f) {
  std::vector<int64_t> cells;
  for (int n = 0; n < s.N; ++n)
    for (int oh = 0; oh < s.OH; ++oh)
      for (int ow = 0; ow < s.OW; ++ow)
        for (int c = 0; c < s.C; ++c) {
          cells.clear();
          for (int kh = 0; kh < s.KH; ++kh)
            for (int kw = 0; kw < s.KW; ++kw) {
              const int ih = oh * s.SH + kh - s.pad_top, iw = ow * s.SW + kw - s.pad_left;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              cells.push_back(((int64_t(n) * s.H + ih) * s.W + iw) * s.C + c);
            }
          f(((int64_t(n) * s.OH + oh) * s.OW + ow) * s.C + c, cells);
        }
}

std::string describe(const Pool2dShape& s, Padding p) {
  return "N=" + std::to_string(s.N) + " H=" + std::to_string(s.H) + " W=" + std::to_string(s.W) +
         " C=" + std::to_string(s.C) + " pool=" + std::to_string(s.KH) + "x" + std::to_string(s.KW) +
         " stride=" + std::to_string(s.SH) + "x" + std::to_string(s.SW) + " " + padding_name(p);
}

struct PoolCase {
  int N, H, W, C, K, S;
  Padding p;
};

// Odd sizes, both paddings, overlapping (3x3 s2, 3x3 s1) and tiling (2x2 s2) windows, and
// channel counts below, at and above one 16-channel block of the backward passes.
const PoolCase kCases[] = {
    {1, 7, 9, 3, 2, 2, Padding::valid},  {2, 7, 9, 3, 2, 2, Padding::same},
    {1, 11, 5, 17, 3, 2, Padding::same}, {2, 6, 6, 16, 3, 2, Padding::same},
    {1, 5, 7, 33, 3, 1, Padding::same},  {2, 9, 8, 2, 3, 2, Padding::valid},
    {1, 1, 1, 4, 2, 2, Padding::same},   {1, 8, 8, 64, 2, 2, Padding::valid},
};

}  // namespace

TEST_CASE("pool2d: make_pool2d_shape uses the convolution padding rule") {
  Pool2dShape s = make_pool2d_shape(1, 7, 7, 3, 3, 3, 2, 2, Padding::same);
  CHECK(s.OH == 4); CHECK(s.pad_top == 1);
  s = make_pool2d_shape(1, 7, 9, 3, 2, 2, 2, 2, Padding::valid);
  CHECK(s.OH == 3); CHECK(s.OW == 4); CHECK(s.pad_left == 0);
  s = make_pool2d_shape(1, 7, 9, 3, 2, 2, 2, 2, Padding::same);  // total pad 1: all at the bottom/right
  CHECK(s.OH == 4); CHECK(s.OW == 5); CHECK(s.pad_top == 0); CHECK(s.pad_left == 0);
  CHECK_THROWS_WITH_AS(make_pool2d_shape(1, 1, 4, 3, 2, 2, 2, 2, Padding::valid),
                       doctest::Contains("height: window 2 does not fit in size 1"), std::invalid_argument);
  CHECK_THROWS_AS(make_pool2d_shape(1, 4, 4, 0, 2, 2, 2, 2, Padding::valid), std::invalid_argument);
}

TEST_CASE("pool2d: max pooling matches the definition and argmax points at the maximum") {
  for (const PoolCase& pc : kCases) {
    const Pool2dShape s = make_pool2d_shape(pc.N, pc.H, pc.W, pc.C, pc.K, pc.K, pc.S, pc.S, pc.p);
    CAPTURE(describe(s, pc.p));
    const auto x = random_vec(x_size(s), uint32_t(s.H * 100 + s.C));
    std::vector<float> y(size_t(y_size(s)), NAN), y_ref(y.size());
    std::vector<int32_t> arg(y.size(), -1);
    maxpool2d_nhwc_fwd(x.data(), y.data(), arg.data(), s);
    maxpool2d_nhwc_ref(x.data(), y_ref.data(), s);
    CHECK(y == y_ref);  // a max is exact

    // argmax: the first window cell (row-major) holding the maximum.
    int64_t bad_arg = 0;
    for_each_window(s, [&](int64_t i, const std::vector<int64_t>& cells) {
      const auto first = *std::max_element(cells.begin(), cells.end(),
                                           [&](int64_t a, int64_t b) { return x[a] < x[b]; });
      bad_arg += arg[i] != first || x[arg[i]] != y[i];
    });
    CHECK(bad_arg == 0);

    // backward: dx = dx0 + dy routed to the argmax cell of each window.
    const auto dy = random_vec(y_size(s), 5);
    std::vector<float> dx = random_vec(x_size(s), 6);
    std::vector<double> dx_want(dx.begin(), dx.end());
    for_each_window(s, [&](int64_t i, const std::vector<int64_t>&) { dx_want[arg[i]] += dy[i]; });
    maxpool2d_nhwc_bwd(dy.data(), arg.data(), dx.data(), s);
    double diff = 0;
    for (size_t i = 0; i < dx.size(); ++i) diff = std::max(diff, std::abs(dx[i] - dx_want[i]));
    CHECK(diff < 1e-6);
  }
}

TEST_CASE("pool2d: average pooling matches the definition / dividing by the valid cells") {
  for (const PoolCase& pc : kCases) {
    const Pool2dShape s = make_pool2d_shape(pc.N, pc.H, pc.W, pc.C, pc.K, pc.K, pc.S, pc.S, pc.p);
    CAPTURE(describe(s, pc.p));
    const auto x = random_vec(x_size(s), uint32_t(s.W * 100 + s.C));
    const auto dy = random_vec(y_size(s), 7);
    std::vector<double> y_want(size_t(y_size(s))), dx_want;
    std::vector<float> dx = random_vec(x_size(s), 8);
    dx_want.assign(dx.begin(), dx.end());
    for_each_window(s, [&](int64_t i, const std::vector<int64_t>& cells) {
      double sum = 0;
      for (int64_t j : cells) sum += x[j];
      y_want[i] = sum / double(cells.size());
      for (int64_t j : cells) dx_want[j] += dy[i] / double(cells.size());
    });
    std::vector<float> y(y_want.size(), NAN);
    avgpool2d_nhwc_fwd(x.data(), y.data(), s);
    avgpool2d_nhwc_bwd(dy.data(), dx.data(), s);
    double y_diff = 0, dx_diff = 0;
    for (size_t i = 0; i < y.size(); ++i) y_diff = std::max(y_diff, std::abs(y[i] - y_want[i]));
    for (size_t i = 0; i < dx.size(); ++i) dx_diff = std::max(dx_diff, std::abs(dx[i] - dx_want[i]));
    CHECK(y_diff < 1e-6);
    CHECK(dx_diff < 1e-5);
  }
}

TEST_CASE("pool2d: max pooling ties go to the first maximum in row-major window order") {
  // One 4x4 channel, 2x2 stride 2 valid. Windows:
  //   top-left {5,5 / 1,5}: three tied 5s -> (0,0);   top-right {2,7 / 7,7}: ties -> (0,3)
  //   bottom-left {0,0 / 0,0}: all equal -> (2,0);    bottom-right {-1,-3 / -2,-1} -> (2,2)
  const float x[16] = {5, 5, 2, 7,
                       1, 5, 7, 7,
                       0, 0, -1, -3,
                       0, 0, -2, -1};
  const Pool2dShape s = make_pool2d_shape(1, 4, 4, 1, 2, 2, 2, 2, Padding::valid);
  float y[4];
  int32_t arg[4];
  maxpool2d_nhwc_fwd(x, y, arg, s);
  CHECK(y[0] == 5.f); CHECK(y[1] == 7.f); CHECK(y[2] == 0.f); CHECK(y[3] == -1.f);
  CHECK(arg[0] == 0); CHECK(arg[1] == 3); CHECK(arg[2] == 8); CHECK(arg[3] == 10);

  // Backward: each dy lands on its window's argmax only, added to what dx held.
  const float dy[4] = {1.f, 2.f, 3.f, 4.f};
  std::vector<float> dx(16, 0.5f);
  maxpool2d_nhwc_bwd(dy, arg, dx.data(), s);
  std::vector<float> want(16, 0.5f);
  want[0] += 1.f; want[3] += 2.f; want[8] += 3.f; want[10] += 4.f;
  CHECK(dx == want);
}

TEST_CASE("pool2d: padding never wins a max / even against negative values") {
  // 3x3 same stride 1 on an all-negative 2x2 image: every window has padding cells (which would
  // be 0 if read as zeros), yet the result must be the largest real value.
  const float x[4] = {-4, -3, -2, -1};
  const Pool2dShape s = make_pool2d_shape(1, 2, 2, 1, 3, 3, 1, 1, Padding::same);
  float y[4];
  int32_t arg[4];
  maxpool2d_nhwc_fwd(x, y, arg, s);
  for (int i = 0; i < 4; ++i) {
    CHECK(y[i] == -1.f);
    CHECK(arg[i] == 3);
  }
}

TEST_CASE("pool2d: `same` average pooling divides by the cells inside the image") {
  // x = 1..9 on a 3x3 image, 2x2 stride 2 same: OH = 2, total pad 1, all of it bottom/right.
  //   y = [(1+2+4+5)/4, (3+6)/2 ; (7+8)/2, 9/1] = [3, 4.5 ; 7.5, 9]
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const Pool2dShape s = make_pool2d_shape(1, 3, 3, 1, 2, 2, 2, 2, Padding::same);
  REQUIRE(s.OH == 2);
  float y[4];
  avgpool2d_nhwc_fwd(x, y, s);
  CHECK(y[0] == 3.f); CHECK(y[1] == 4.5f); CHECK(y[2] == 7.5f); CHECK(y[3] == 9.f);

  // Backward with dy = 1 everywhere: each cell gets 1/(cells of its window).
  const float dy[4] = {1, 1, 1, 1};
  float dx[9] = {};
  avgpool2d_nhwc_bwd(dy, dx, s);
  const float want[9] = {0.25f, 0.25f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f, 0.5f, 1.f};
  for (int i = 0; i < 9; ++i) CHECK(dx[i] == doctest::Approx(want[i]));

  // 3x3 stride 1 same on the same image: corners average 4 cells, edges 6, the centre 9.
  const Pool2dShape t = make_pool2d_shape(1, 3, 3, 1, 3, 3, 1, 1, Padding::same);
  float z[9];
  avgpool2d_nhwc_fwd(x, z, t);
  CHECK(z[0] == doctest::Approx((1 + 2 + 4 + 5) / 4.0));
  CHECK(z[1] == doctest::Approx((1 + 2 + 3 + 4 + 5 + 6) / 6.0));
  CHECK(z[4] == doctest::Approx(5.0));
  CHECK(z[8] == doctest::Approx((5 + 6 + 8 + 9) / 4.0));
}
