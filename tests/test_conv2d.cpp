// conv2d: the im2col + GEMM kernels against direct definitions, Keras' padding rule by hand,
// tiling of the im2col buffer, and the accumulate-into semantics of the backward passes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.h"

using namespace convis;

namespace {

std::vector<float> random_vec(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = u(rng);
  return v;
}

// max |a - b| measured against the scale of the reference values
double rel_max_diff(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double diff = 0, scale = 1;
  for (size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::abs(double(got[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return diff / scale;
}

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

int64_t x_size(const Conv2dShape& s) { return int64_t(s.N) * s.H * s.W * s.C; }
int64_t w_size(const Conv2dShape& s) { return int64_t(s.KH) * s.KW * s.C * s.OC; }
int64_t y_size(const Conv2dShape& s) { return int64_t(s.N) * s.OH * s.OW * s.OC; }

// Visits every (output pixel, kernel cell) pair whose input cell lies inside the image:
// f(x offset of the C-vector, y offset of the OC-vector, w offset of the (C, OC) block).
template <class F>
void for_each_tap(const Conv2dShape& s, F f) {
  for (int n = 0; n < s.N; ++n)
    for (int oh = 0; oh < s.OH; ++oh)
      for (int ow = 0; ow < s.OW; ++ow)
        for (int kh = 0; kh < s.KH; ++kh)
          for (int kw = 0; kw < s.KW; ++kw) {
            const int ih = oh * s.SH + kh - s.pad_top, iw = ow * s.SW + kw - s.pad_left;
            if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
            f(((int64_t(n) * s.H + ih) * s.W + iw) * s.C, ((int64_t(n) * s.OH + oh) * s.OW + ow) * s.OC,
              (int64_t(kh) * s.KW + kw) * s.C * s.OC);
          }
}

// dx[n,ih,iw,c] = dx0 + sum over taps reading (n,ih,iw) of dy[n,oh,ow,oc] * w[kh,kw,c,oc]
std::vector<double> bwd_data_def(const std::vector<float>& dy, const std::vector<float>& w,
                                 const std::vector<float>& dx0, const Conv2dShape& s) {
  std::vector<double> dx = to_double(dx0);
  for_each_tap(s, [&](int64_t xo, int64_t yo, int64_t wo) {
    for (int c = 0; c < s.C; ++c)
      for (int oc = 0; oc < s.OC; ++oc) dx[xo + c] += double(dy[yo + oc]) * w[wo + int64_t(c) * s.OC + oc];
  });
  return dx;
}

// dw[kh,kw,c,oc] = dw0 + sum over taps of x[n,ih,iw,c] * dy[n,oh,ow,oc]
std::vector<double> bwd_filter_def(const std::vector<float>& x, const std::vector<float>& dy,
                                   const std::vector<float>& dw0, const Conv2dShape& s) {
  std::vector<double> dw = to_double(dw0);
  for_each_tap(s, [&](int64_t xo, int64_t yo, int64_t wo) {
    for (int c = 0; c < s.C; ++c)
      for (int oc = 0; oc < s.OC; ++oc) dw[wo + int64_t(c) * s.OC + oc] += double(x[xo + c]) * dy[yo + oc];
  });
  return dw;
}

// Runs forward and both backward passes on s and checks each against the definitions. The
// backward outputs start non-zero, to check that they are added to, not overwritten.
void check_against_definitions(const Conv2dShape& s, bool with_bias, uint32_t seed) {
  const auto x = random_vec(x_size(s), seed), w = random_vec(w_size(s), seed + 1);
  const auto b = random_vec(s.OC, seed + 2), dy = random_vec(y_size(s), seed + 3);
  const float* bias = with_bias ? b.data() : nullptr;

  std::vector<float> y(size_t(y_size(s)), NAN), y_ref(y.size());
  conv2d_nhwc_fwd(x.data(), w.data(), bias, y.data(), s);
  conv2d_nhwc_direct_ref(x.data(), w.data(), bias, y_ref.data(), s);
  CHECK(rel_max_diff(y, to_double(y_ref)) < 1e-5);

  std::vector<float> dx = random_vec(x_size(s), seed + 4);
  const auto dx_want = bwd_data_def(dy, w, dx, s);
  conv2d_nhwc_bwd_data(dy.data(), w.data(), dx.data(), s);
  CHECK(rel_max_diff(dx, dx_want) < 1e-5);

  std::vector<float> dw = random_vec(w_size(s), seed + 5), db = random_vec(s.OC, seed + 6);
  const auto dw_want = bwd_filter_def(x, dy, dw, s);
  std::vector<double> db_want = to_double(db);
  for (int64_t i = 0; i < y_size(s); ++i) db_want[i % s.OC] += dy[i];
  conv2d_nhwc_bwd_filter(x.data(), dy.data(), dw.data(), with_bias ? db.data() : nullptr, s);
  CHECK(rel_max_diff(dw, dw_want) < 1e-5);
  if (with_bias) CHECK(rel_max_diff(db, db_want) < 1e-5);
}

std::string describe(const Conv2dShape& s, Padding p, bool bias) {
  return "N=" + std::to_string(s.N) + " H=" + std::to_string(s.H) + " W=" + std::to_string(s.W) +
         " C=" + std::to_string(s.C) + " K=" + std::to_string(s.KH) + " S=" + std::to_string(s.SH) +
         " OC=" + std::to_string(s.OC) + " " + padding_name(p) + (bias ? " bias" : " no-bias");
}

// Restores the default im2col budget when a test that lowered it ends, even by an exception.
struct BudgetGuard {
  explicit BudgetGuard(int64_t bytes) { set_im2col_budget_bytes(bytes); }
  ~BudgetGuard() { set_im2col_budget_bytes(0); }
};

}  // namespace

TEST_CASE("conv2d: make_conv2d_shape follows Keras' padding rule") {
  // same, H=7 K=3 S=2: OH = ceil(7/2) = 4; total pad = 3*2 + 3 - 7 = 2 -> 1 on top, 1 below.
  Conv2dShape s = make_conv2d_shape(1, 7, 7, 3, 3, 3, 8, 2, 2, Padding::same);
  CHECK(s.OH == 4); CHECK(s.OW == 4); CHECK(s.pad_top == 1); CHECK(s.pad_left == 1);
  // same, H=6 K=3 S=2: OH = 3; total pad = 2*2 + 3 - 6 = 1 -> 0 on top, the extra row below.
  s = make_conv2d_shape(1, 6, 6, 3, 3, 3, 8, 2, 2, Padding::same);
  CHECK(s.OH == 3); CHECK(s.pad_top == 0);
  // same, the VGG16 case: H=224 K=3 S=1 keeps the size, padding 1 each side.
  s = make_conv2d_shape(1, 224, 224, 3, 3, 3, 64, 1, 1, Padding::same);
  CHECK(s.OH == 224); CHECK(s.OW == 224); CHECK(s.pad_top == 1); CHECK(s.pad_left == 1);
  // same, H=5 K=4 S=1: total pad 3 -> 1 on top, 2 below.
  s = make_conv2d_shape(1, 5, 5, 1, 4, 4, 1, 1, 1, Padding::same);
  CHECK(s.OH == 5); CHECK(s.pad_top == 1);
  // valid: floor((7 - 3) / 2) + 1 = 3, no padding; height and width are independent.
  s = make_conv2d_shape(2, 7, 9, 3, 3, 5, 4, 2, 1, Padding::valid);
  CHECK(s.OH == 3); CHECK(s.OW == 5); CHECK(s.pad_top == 0); CHECK(s.pad_left == 0);
  CHECK(s.flops() == 2LL * 2 * 3 * 5 * 4 * 3 * 5 * 3);
}

TEST_CASE("conv2d: make_conv2d_shape rejects kernels that do not fit / with the sizes in the message") {
  CHECK_THROWS_WITH_AS(make_conv2d_shape(1, 3, 8, 1, 5, 3, 4, 1, 1, Padding::valid),
                       doctest::Contains("height: window 5 does not fit in size 3 with 'valid' padding"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_conv2d_shape(1, 8, 2, 1, 3, 3, 4, 1, 1, Padding::valid),
                       doctest::Contains("width: window 3 does not fit in size 2"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_conv2d_shape(1, 8, 8, 1, 3, 3, 4, 0, 1, Padding::same),
                       doctest::Contains("stride 0"), std::invalid_argument);
  CHECK_THROWS_AS(make_conv2d_shape(0, 8, 8, 1, 3, 3, 4, 1, 1, Padding::same), std::invalid_argument);
  CHECK_THROWS_AS(make_conv2d_shape(1, 8, 8, 1, 3, 3, 0, 1, 1, Padding::same), std::invalid_argument);
  // 'same' pads whatever is missing, so a kernel larger than the image is fine there.
  CHECK(make_conv2d_shape(1, 3, 3, 1, 5, 5, 1, 1, 1, Padding::same).OH == 3);
}

TEST_CASE("conv2d: im2col path matches the direct definition (fwd / bwd data / bwd filter)") {
  // Every kernel size x stride x padding x channel count, with batch, image size, filter count
  // and bias cycling through their values so each appears with each of the others' neighbours.
  const int kernels[] = {1, 3, 5}, strides[] = {1, 2}, channels[] = {1, 3, 64};
  const Padding paddings[] = {Padding::valid, Padding::same};
  const int batches[] = {1, 2}, out_channels[] = {1, 5, 16};
  const int sizes[][2] = {{7, 9}, {11, 5}};
  uint32_t i = 0;
  for (int k : kernels)
    for (int st : strides)
      for (Padding p : paddings)
        for (int c : channels) {
          const int n = batches[i % 2], oc = out_channels[i % 3];
          const int h = sizes[i / 2 % 2][0], w = sizes[i / 2 % 2][1];
          const bool bias = i / 3 % 2 == 0;
          const Conv2dShape s = make_conv2d_shape(n, h, w, c, k, k, oc, st, st, p);
          CAPTURE(describe(s, p, bias));
          check_against_definitions(s, bias, 100 + 10 * i);
          ++i;
        }
  CHECK(i == 36);
}

TEST_CASE("conv2d: rectangular kernels / unequal strides and a kernel wider than the image") {
  const Conv2dShape a = make_conv2d_shape(2, 8, 6, 3, 3, 1, 4, 2, 1, Padding::same);
  check_against_definitions(a, true, 7);
  const Conv2dShape b = make_conv2d_shape(1, 5, 4, 2, 2, 5, 3, 1, 3, Padding::same);
  check_against_definitions(b, false, 8);
  const Conv2dShape c = make_conv2d_shape(1, 6, 6, 4, 4, 4, 5, 1, 1, Padding::same);  // pad 1 top, 2 bottom
  check_against_definitions(c, true, 9);
}

TEST_CASE("conv2d: many output pixels (several db summation chunks) / pointwise and 3x3") {
  // N*OH*OW = 2*40*41 = 3280 rows of dy: more than one 1024-row chunk of the bias reduction.
  check_against_definitions(make_conv2d_shape(2, 40, 41, 2, 1, 1, 3, 1, 1, Padding::valid), true, 11);
  check_against_definitions(make_conv2d_shape(2, 40, 41, 2, 3, 3, 3, 1, 1, Padding::same), true, 12);
}

TEST_CASE("conv2d: tiling the im2col buffer gives the same result as one tile") {
  // N*OH = 2*7 = 14 output rows. Budgets of one row, three rows (tiles straddle the two images,
  // and the last tile is short) and less than one row (still one row at a time).
  const Conv2dShape s = make_conv2d_shape(2, 13, 9, 6, 3, 3, 7, 2, 1, Padding::same);
  REQUIRE(s.OH == 7);
  const int64_t row_bytes = int64_t(s.OW) * s.KH * s.KW * s.C * int64_t(sizeof(float));
  for (int64_t budget : {row_bytes, 3 * row_bytes + 5, int64_t(1)}) {
    CAPTURE(budget);
    BudgetGuard guard(budget);
    CHECK(im2col_budget_bytes() == budget);
    check_against_definitions(s, true, 42);
  }
  CHECK(im2col_budget_bytes() == kIm2colBytes);
}

TEST_CASE("conv2d: col2im is the adjoint of im2col on a partial row range") {
  // <im2col(x), g> == <x, col2im(g)> for any x and g: the two are transposes of one linear map.
  const Conv2dShape s = make_conv2d_shape(2, 7, 6, 3, 3, 3, 1, 2, 2, Padding::same);  // overlapping windows
  const int64_t row0 = 2, rows = 3;  // crosses from image 0 (OH = 4) into image 1
  const int64_t col_size = rows * s.OW * s.KH * s.KW * s.C;
  const auto x = random_vec(x_size(s), 1), g = random_vec(col_size, 2);
  std::vector<float> col(static_cast<size_t>(col_size)), back(static_cast<size_t>(x_size(s)), 0.f);
  im2col_nhwc(x.data(), col.data(), s, row0, rows);
  col2im_nhwc(g.data(), back.data(), s, row0, rows);
  double lhs = 0, rhs = 0;
  for (int64_t i = 0; i < col_size; ++i) lhs += double(col[i]) * g[i];
  for (int64_t i = 0; i < x_size(s); ++i) rhs += double(x[i]) * back[i];
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-6));  // col2im sums in float
  // Rows outside the range are untouched by col2im: image 0's first input row feeds only oh=0.
  for (int64_t i = 0; i < int64_t(s.W) * s.C; ++i) CHECK(back[i] == 0.f);
}

TEST_CASE("conv2d: im2col writes zeros for padding cells") {
  // 1x1 image, 3x3 kernel, same: the centre cell is x, the other eight are padding.
  const Conv2dShape s = make_conv2d_shape(1, 1, 1, 2, 3, 3, 1, 1, 1, Padding::same);
  const float x[2] = {3.f, -4.f};
  std::vector<float> col(18, NAN);
  im2col_nhwc(x, col.data(), s, 0, 1);
  for (int cell = 0; cell < 9; ++cell)
    for (int c = 0; c < 2; ++c) CHECK(col[cell * 2 + c] == (cell == 4 ? x[c] : 0.f));
}
