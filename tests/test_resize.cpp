// kernels/resize: the three filters on hand-computed rows and a 2-D case, against the slow
// twin (the formula summed in double over every source pixel) on odd shapes, and the defining
// properties: the same size is the identity, a constant stays constant, bytes read as floats.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/resize.h"
#include "tests/util.h"

using namespace convis;
using convis::test::contains;
using convis::test::error_of;

namespace {

constexpr ResizeFilter kFilters[] = {ResizeFilter::bilinear, ResizeFilter::bilinear_area, ResizeFilter::triangle};

const char* name(ResizeFilter f) {
  switch (f) {
    case ResizeFilter::bilinear: return "bilinear";
    case ResizeFilter::bilinear_area: return "bilinear_area";
    case ResizeFilter::triangle: return "triangle";
  }
  return "?";
}

int64_t x_size(const ResizeShape& s) { return int64_t(s.N) * s.H * s.W * s.C; }
int64_t y_size(const ResizeShape& s) { return int64_t(s.N) * s.OH * s.OW * s.C; }

std::vector<float> resize(const std::vector<float>& x, const ResizeShape& s, ResizeFilter f) {
  std::vector<float> y(size_t(y_size(s)), -1.f);
  resize_bilinear_nhwc(x.data(), y.data(), s, f);
  return y;
}

// One row of `in` values resized to `out` along x.
std::vector<float> row(const std::vector<float>& x, int out, ResizeFilter f) {
  return resize(x, {1, 1, int(x.size()), 1, 1, out}, f);
}

void check_row(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
}

}  // namespace

TEST_CASE("resize: hand-computed rows for each filter") {
  // Enlarging 2 -> 4: centres at source x = -0.25, 0.25, 0.75, 1.25, clamped at the edges:
  // [v0, 0.75 v0 + 0.25 v1, 0.25 v0 + 0.75 v1, v1], the same for all three filters.
  for (ResizeFilter f : kFilters) {
    CAPTURE(name(f));
    check_row(row({0.f, 4.f}, 4, f), {0.0, 1.0, 3.0, 4.0});
  }
  // Shrinking 3 -> 2 (scale 1.5) tells them apart, on the ramp [0, 3, 6]:
  //   bilinear samples at s = 0.25, 1.75:             0.75 * 0 + 0.25 * 3 = 0.75, 0.25 * 3 + 0.75 * 6 = 5.25
  //   bilinear_area averages [0, 1.5) and [1.5, 3):   (1 * 0 + 0.5 * 3) / 1.5 = 1, (0.5 * 3 + 1 * 6) / 1.5 = 5
  //   triangle, centre 0.75, support 1.5: tents at pixel centres 0.5, 1.5, 2.5 are 5/6, 1/2, 0,
  //   normalised 5/8, 3/8: 9/8 = 1.125, and by symmetry 6 - 1.125 = 4.875.
  check_row(row({0.f, 3.f, 6.f}, 2, ResizeFilter::bilinear), {0.75, 5.25});
  check_row(row({0.f, 3.f, 6.f}, 2, ResizeFilter::bilinear_area), {1.0, 5.0});
  check_row(row({0.f, 3.f, 6.f}, 2, ResizeFilter::triangle), {1.125, 4.875});
  // Triangle 4 -> 2 (PIL's antialiased shrink): centre 1, support 2, tents at 0.5 .. 3.5 are
  // 3/4, 3/4, 1/4, 0 (sum 7/4): (0 * 3 + 7 * 3 + 14 * 1) / 7 = 5; the mirror image gives 16.
  check_row(row({0.f, 7.f, 14.f, 21.f}, 2, ResizeFilter::triangle), {5.0, 16.0});
  // Shrinking 8 -> 2, bilinear samples at s = 1.5 and 5.5, between zeros, and misses the two 8s
  // entirely (it aliases); the area average sees them: 8 / 4 in each half.
  check_row(row({0.f, 0.f, 0.f, 8.f, 8.f, 0.f, 0.f, 0.f}, 2, ResizeFilter::bilinear), {0.0, 0.0});
  check_row(row({0.f, 0.f, 0.f, 8.f, 8.f, 0.f, 0.f, 0.f}, 2, ResizeFilter::bilinear_area), {2.0, 2.0});
}

TEST_CASE("resize: a 2-D case by hand, two images and two channels kept apart") {
  // 3x3 -> 2x2 area average: per axis the weights are (2/3, 1/3, 0) and (0, 1/3, 2/3), whose
  // means of the index are 1/3 and 5/3. For v[i][j] = 9 i + j: y[a][b] = 9 m_a + m_b.
  const ResizeShape s{2, 3, 3, 2, 2, 2};
  std::vector<float> x(size_t(x_size(s)));
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        const float v = float(9 * i + j) * float(n + 1);
        x[size_t(((n * 3 + i) * 3 + j) * 2 + 0)] = v;
        x[size_t(((n * 3 + i) * 3 + j) * 2 + 1)] = 100.f - v;
      }
  const std::vector<float> y = resize(x, s, ResizeFilter::bilinear_area);
  const double m[2] = {1.0 / 3.0, 5.0 / 3.0};
  for (int n = 0; n < 2; ++n)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) {
        const double v = (9.0 * m[a] + m[b]) * (n + 1);
        CHECK(y[size_t(((n * 2 + a) * 2 + b) * 2 + 0)] == doctest::Approx(v).epsilon(1e-6));
        CHECK(y[size_t(((n * 2 + a) * 2 + b) * 2 + 1)] == doctest::Approx(100.0 - v).epsilon(1e-6));
      }
}

TEST_CASE("resize: the two-pass kernel matches the formula summed over every source pixel") {
  // Odd sizes, each axis enlarged, kept or shrunk (by integer and fractional factors), N = 2, C = 3.
  const ResizeShape shapes[] = {{2, 7, 5, 3, 3, 11}, {1, 13, 4, 2, 6, 9}, {1, 1, 9, 1, 4, 1}, {2, 5, 5, 3, 5, 5},
                                {1, 16, 12, 3, 5, 7}, {1, 3, 17, 2, 8, 2}, {1, 9, 1, 3, 2, 6}, {1, 20, 30, 1, 7, 4}};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-5.f, 5.f);
  for (const ResizeShape& s : shapes)
    for (ResizeFilter f : kFilters) {
      CAPTURE(name(f));
      CAPTURE(s.H);
      CAPTURE(s.W);
      CAPTURE(s.OH);
      CAPTURE(s.OW);
      std::vector<float> x(size_t(x_size(s)));
      for (float& v : x) v = u(rng);
      const std::vector<float> y = resize(x, s, f);
      std::vector<float> ref(y.size());
      resize_bilinear_nhwc_ref(x.data(), ref.data(), s, f);
      double worst = 0.0;
      for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(double(y[i]) - ref[i]) / (1.0 + std::fabs(ref[i])));
      CHECK(worst < 1e-5);
    }
}

TEST_CASE("resize: the same size is the identity, a constant stays constant, bytes read as floats") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-100.f, 100.f);
  for (ResizeFilter f : kFilters) {
    CAPTURE(name(f));
    const ResizeShape same{2, 6, 7, 3, 6, 7};
    std::vector<float> x(size_t(x_size(same)));
    for (float& v : x) v = u(rng);
    CHECK(resize(x, same, f) == x);  // exactly: every weight is 1 or 0

    for (const ResizeShape& s : {ResizeShape{1, 5, 9, 2, 13, 4}, ResizeShape{1, 31, 7, 1, 3, 10}}) {
      const std::vector<float> y = resize(std::vector<float>(size_t(x_size(s)), 123.456f), s, f);
      for (float v : y) CHECK(v == doctest::Approx(123.456f).epsilon(1e-6));
    }

    // The 8-bit overload reads each byte as its float: the same numbers, bit for bit.
    const ResizeShape s{1, 11, 8, 3, 4, 13};
    std::vector<uint8_t> bytes(size_t(x_size(s)));
    for (uint8_t& b : bytes) b = uint8_t(rng() & 255);
    std::vector<float> from_bytes(size_t(y_size(s)));
    resize_bilinear_nhwc(bytes.data(), from_bytes.data(), s, f);
    CHECK(from_bytes == resize(std::vector<float>(bytes.begin(), bytes.end()), s, f));
  }
}

TEST_CASE("resize: a size that is not positive is refused, naming the shapes") {
  std::vector<float> x(12), y(12);
  const std::string e = error_of([&] { resize_bilinear_nhwc(x.data(), y.data(), {1, 3, 4, 1, 2, 0}, ResizeFilter::triangle); });
  CHECK(contains(e, "cannot resize (1, 3, 4, 1) to 2x0"));
  CHECK(!error_of([&] { resize_bilinear_nhwc_ref(x.data(), y.data(), {1, 0, 4, 1, 2, 2}, ResizeFilter::bilinear); }).empty());
}
