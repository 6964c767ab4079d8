// Colour bars (vis/layout.h): round tick values and their labels, against examples worked out by
// hand and against the rule's defining properties (multiples of one 1-2-5 step, inside the range,
// the smallest such step with at most max_ticks of them); the ticks drawn at their values' rows.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "vis/layout.h"

using namespace convis;

namespace {

// ticks == want, element by element, to a billionth of the step.
void check_ticks(double lo, double hi, int max_ticks, const std::vector<double>& want, double want_step) {
  double step = -1.0;
  const std::vector<double> t = colorbar_ticks(lo, hi, max_ticks, &step);
  INFO("[" << lo << ", " << hi << "] max " << max_ticks);
  CHECK(step == doctest::Approx(want_step).epsilon(1e-12));
  REQUIRE(t.size() == want.size());
  for (size_t i = 0; i < t.size(); ++i) CHECK(std::fabs(t[i] - want[i]) <= 1e-9 * want_step);
}

std::vector<std::string> labels(double lo, double hi, int max_ticks = 6) {
  double step = 0.0;
  std::vector<std::string> out;
  for (double v : colorbar_ticks(lo, hi, max_ticks, &step)) out.push_back(tick_label(v, step));
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("colorbar ticks: worked examples") {
  // [0, 0.87]: steps 0.1 (9 ticks) too many, 0.2 gives 0 .. 0.8.
  check_ticks(0.0, 0.87, 6, {0.0, 0.2, 0.4, 0.6, 0.8}, 0.2);
  // [-3.7, 3.7]: step 1 gives 7 ticks (-3 .. 3): allowed with 7, too many with 6, then step 2.
  check_ticks(-3.7, 3.7, 7, {-3, -2, -1, 0, 1, 2, 3}, 1.0);
  check_ticks(-3.7, 3.7, 6, {-2, 0, 2}, 2.0);
  // The fashion model's first-layer weights, -1.4 .. 0.326: 0.2 gives 9 (-1.4 .. 0.2), 0.5 gives 3.
  check_ticks(-1.4, 0.326, 6, {-1.0, -0.5, 0.0}, 0.5);
  // All negative, small: 0.001 gives 8 (-0.012 .. -0.005), 0.002 gives 4.
  check_ticks(-0.0123, -0.0041, 6, {-0.012, -0.010, -0.008, -0.006}, 0.002);
  // Tiny: 5e-10 gives 7 (0 .. 3e-9), 1e-9 gives 4.
  check_ticks(0.0, 3e-9, 6, {0.0, 1e-9, 2e-9, 3e-9}, 1e-9);
  // Huge: 5e5 gives exactly 6, both ends included.
  check_ticks(0.0, 2.5e6, 6, {0.0, 5e5, 1e6, 1.5e6, 2e6, 2.5e6}, 5e5);
  // Reversed ends are the same range.
  check_ticks(0.87, 0.0, 6, {0.0, 0.2, 0.4, 0.6, 0.8}, 0.2);
}

TEST_CASE("colorbar ticks: degenerate ranges are guarded") {
  double step = -1.0;
  CHECK(colorbar_ticks(0.5, 0.5, 6, &step) == std::vector<double>{0.5});
  CHECK(step == 0.0);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  CHECK(colorbar_ticks(nan, 1.0).empty());
  CHECK(colorbar_ticks(0.0, nan).empty());
  CHECK(colorbar_ticks(0.0, inf).empty());
  CHECK(colorbar_ticks(-inf, inf).empty());
  CHECK(colorbar_ticks(-1e308, 1e308).empty());  // the span overflows
  CHECK(colorbar_ticks(0.0, 1.0, 0).empty());
  // A colour bar over such a range is still drawn (the bar, no ticks), never a crash.
  const Canvas c(40, 100, {255, 255, 255});
  CHECK(add_colorbar(c, Colormap::viridis, float(nan), 1.f, "x").width > 40);
  CHECK(add_colorbar(c, Colormap::viridis, 2.f, 2.f, "x").width > 40);
}

TEST_CASE("colorbar ticks: one 1-2-5 step, inside the range, the smallest with few enough") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> mant(-1.0, 1.0);
  std::uniform_int_distribution<int> expo(-12, 12);
  for (int trial = 0; trial < 2000; ++trial) {
    const double scale = std::pow(10.0, expo(rng));
    double lo = mant(rng) * scale, hi = mant(rng) * scale;
    if (lo > hi) std::swap(lo, hi);
    if (lo == hi) continue;
    const int max_ticks = 5 + trial % 4;
    double step = 0.0;
    const std::vector<double> t = colorbar_ticks(lo, hi, max_ticks, &step);
    INFO("[" << lo << ", " << hi << "] max " << max_ticks << " step " << step);
    REQUIRE(t.size() >= 2);
    CHECK(int(t.size()) <= max_ticks);
    // step = m x 10^k with m in {1, 2, 5}.
    const double k = std::floor(std::log10(step) + 1e-9), m = step / std::pow(10.0, k);
    CHECK((std::fabs(m - 1) < 1e-9 || std::fabs(m - 2) < 1e-9 || std::fabs(m - 5) < 1e-9));
    for (size_t i = 0; i < t.size(); ++i) {
      CHECK(t[i] >= lo - 1e-9 * step);
      CHECK(t[i] <= hi + 1e-9 * step);
      CHECK(std::fabs(t[i] / step - std::round(t[i] / step)) < 1e-6);  // a multiple of the step
      if (i) CHECK(std::fabs(t[i] - t[i - 1] - step) <= 1e-6 * step);
    }
    // Every multiple of the step in [lo, hi] is there: none below the first or above the last.
    CHECK(t.front() - step < lo);
    CHECK(t.back() + step > hi);
    // The next smaller 1-2-5 step would give more than max_ticks.
    const double smaller = std::fabs(m - 1) < 1e-9 ? step / 2 : std::fabs(m - 2) < 1e-9 ? step / 2 : step * 0.4;
    const double n = std::floor(hi / smaller + 1e-9) - std::ceil(lo / smaller - 1e-9) + 1;
    CHECK(n > max_ticks);
  }
}

TEST_CASE("colorbar tick labels: the digits the step needs, no spurious ones") {
  CHECK(tick_label(0.6000000000000001, 0.2) == "0.6");
  CHECK(tick_label(3 * 0.1, 0.1) == "0.3");
  CHECK(tick_label(-3.0, 1.0) == "-3");
  CHECK(tick_label(1.0, 0.5) == "1.0");  // one bar, one number of decimals: 0.5, 1.0, 1.5
  CHECK(tick_label(0.0, 0.5) == "0.0");
  CHECK(tick_label(-0.0, 0.5) == "0.0");  // never "-0.0"
  CHECK(tick_label(-0.012, 0.002) == "-0.012");
  CHECK(tick_label(1.5e-9, 5e-10) == "1.5e-9");
  CHECK(tick_label(2e-9, 1e-9) == "2e-9");
  CHECK(tick_label(0.0, 1e-9) == "0");
  CHECK(tick_label(1e-3, 5e-4) == "1e-3");  // the step decides: one notation per bar
  CHECK(tick_label(2e6, 5e5) == "2e6");
  CHECK(tick_label(1.5e6, 5e5) == "1.5e6");
  CHECK(tick_label(-2.5e7, 5e6) == "-2.5e7");
  CHECK(tick_label(150.0, 50.0) == "150");

  CHECK(labels(0.0, 0.87) == Strings{"0.0", "0.2", "0.4", "0.6", "0.8"});
  CHECK(labels(-3.7, 3.7, 7) == Strings{"-3", "-2", "-1", "0", "1", "2", "3"});
  CHECK(labels(0.0, 3e-9) == Strings{"0", "1e-9", "2e-9", "3e-9"});
  CHECK(labels(0.0, 2.5e6) == Strings{"0", "5e5", "1e6", "1.5e6", "2e6", "2.5e6"});
}

TEST_CASE("colorbar: each tick mark is on the row whose colour is its value") {
  // A bar for [0, 0.87] beside a 100 x 340 canvas: the bar is 320 rows, top row colour 1 (0.87),
  // bottom row colour 0 (0.0); the tick for v sits on row round((0.87 - v) / 0.87 * 319).
  const Canvas c(100, 340, {255, 255, 255});
  const Canvas b = add_colorbar(c, Colormap::grey, 0.f, 0.87f);
  // Find the bar: the column right of the canvas holding the grey ramp's white top (255).
  int bx = -1, top = -1;
  for (int x = 100; x < b.width && bx < 0; ++x)
    for (int y = 1; y + 319 < b.height; ++y) {
      const Rgb a = b.get(x, y), z = b.get(x, y + 319);
      if (a.r == 255 && a.g == 255 && z.r == 0 && b.get(x, y - 1).r == 120) {
        bx = x, top = y;
        break;
      }
    }
  REQUIRE(bx >= 0);
  int bar_right = bx;
  while (b.get(bar_right + 1, top + 100).r == b.get(bx, top + 100).r) ++bar_right;
  // Tick marks: dark (60) pixels just right of the bar's outline.
  std::vector<int> rows;
  for (int y = top; y < top + 320; ++y)
    if (b.get(bar_right + 2, y).r == 60) rows.push_back(y - top);
  REQUIRE(rows.size() == 5);
  const double values[] = {0.8, 0.6, 0.4, 0.2, 0.0};
  for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i] == int(std::lround((0.87 - values[i]) / 0.87 * 319)));
}
