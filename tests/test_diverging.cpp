// Signed values in colour: the blue_red map and diverging_scale (0 is the map's white centre, +v
// and -v lie at mirrored places), the occlusion pictures when some drops are negative, and the
// guided-backprop image centred at 0.
//   - blue_red's stops are ColorBrewer's 11-class RdBu reversed, with its centre made pure white;
//     equal |v| on either side have about the same CIE L* lightness (a diverging map's point).
//   - Occlusion maps on a hand-made drop grid: the colour of each block is the scale's colour for
//     its drop, with 0 white when a drop is negative, and the unsigned maps otherwise.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "vis/attribution.h"
#include "vis/colormap.h"
#include "vis/image.h"
#include "vis/occlusion.h"

using namespace convis;

namespace {

bool same(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

// CIE L* of an sRGB colour (D65).
double lightness(Rgb c) {
  auto lin = [](uint8_t v) {
    const double x = v / 255.0;
    return x <= 0.04045 ? x / 12.92 : std::pow((x + 0.055) / 1.055, 2.4);
  };
  const double y = 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  return y > 216.0 / 24389.0 ? 116.0 * std::cbrt(y) - 16.0 : y * 24389.0 / 27.0;
}

// A 2 x 2 occlusion grid over an 8 x 8 image (patch 4, stride 4) with the given drops.
Occlusion grid(float a, float b, float c, float d) {
  Occlusion o;
  o.height = o.width = 8;
  o.patch = 4;
  o.rows = o.cols = {0, 4};
  o.prob = Tensor(Shape{2, 2});
  o.drop = Tensor(Shape{2, 2});
  const float v[] = {a, b, c, d};
  for (int i = 0; i < 4; ++i) o.drop[i] = v[i];
  return o;
}

Image grey_photo(int side) {
  Image im;
  im.width = im.height = side;
  im.channels = 3;
  im.pixels.assign(size_t(side) * size_t(side) * 3, 90);
  return im;
}

}  // namespace

TEST_CASE("blue_red: ColorBrewer RdBu reversed with a white centre, lightness symmetric about it") {
  // RdBu (11 classes), red to blue, from colorbrewer2.org; convis runs it blue to red and makes the
  // centre #f7f7f7 pure white.
  const Rgb rdbu[11] = {{103, 0, 31},    {178, 24, 43},   {214, 96, 77},   {244, 165, 130}, {253, 219, 199}, {247, 247, 247},
                        {209, 229, 240}, {146, 197, 222}, {67, 147, 195},  {33, 102, 172},  {5, 48, 97}};
  for (int k = 0; k < 11; ++k) {
    const Rgb want = k == 5 ? Rgb{255, 255, 255} : rdbu[10 - k];
    CHECK_MESSAGE(same(colormap(Colormap::blue_red, float(k) / 10.f), want), "stop " << k);
  }
  for (int k = 0; k <= 50; ++k) {
    const float t = float(k) / 100.f;
    CHECK_MESSAGE(std::fabs(lightness(colormap(Colormap::blue_red, t)) - lightness(colormap(Colormap::blue_red, 1.f - t))) < 5.0,
                  "t = " << t);
  }
}

TEST_CASE("diverging_scale: symmetric about 0, 0 the white centre, +v and -v mirrored") {
  const ColorScale s = diverging_scale(-0.1f, 3.f);  // lopsided: the larger side sets m
  CHECK(s.cm == Colormap::blue_red);
  CHECK(s.lo == -3.f);
  CHECK(s.hi == 3.f);
  CHECK(diverging_scale(-2.f, 0.5f).lo == -2.f);
  CHECK(diverging_scale(-2.f, 0.5f).hi == 2.f);
  CHECK(diverging_scale(0.f, 0.f).hi == 1.f);  // an all-zero map still has a range
  CHECK(diverging_scale(0.f, std::nanf("")).hi == 1.f);

  // Through render_map: 0 -> white, +-3 -> the two ends, +-v -> t = 0.5 +- v / 6.
  const float values[] = {0.f, 3.f, -3.f, 1.2f, -1.2f, 0.3f, -0.3f, 5.f, -5.f};
  const Canvas c = render_map(values, 1, 9, s.lo, s.hi, s.cm);
  CHECK(same(c.get(0, 0), {255, 255, 255}));
  CHECK(same(c.get(1, 0), colormap(Colormap::blue_red, 1.f)));
  CHECK(same(c.get(2, 0), colormap(Colormap::blue_red, 0.f)));
  CHECK(same(c.get(1, 0), {103, 0, 31}));
  CHECK(same(c.get(2, 0), {5, 48, 97}));
  CHECK(same(c.get(3, 0), colormap(Colormap::blue_red, 0.5f + 1.2f / 6.f)));
  CHECK(same(c.get(4, 0), colormap(Colormap::blue_red, 0.5f - 1.2f / 6.f)));
  CHECK(same(c.get(5, 0), colormap(Colormap::blue_red, 0.5f + 0.3f / 6.f)));
  CHECK(same(c.get(6, 0), colormap(Colormap::blue_red, 0.5f - 0.3f / 6.f)));
  CHECK(same(c.get(7, 0), c.get(1, 0)));  // beyond the range: clamped to the ends
  CHECK(same(c.get(8, 0), c.get(2, 0)));
  // +v red-ish, -v blue-ish, equally light.
  CHECK(c.get(3, 0).r > c.get(3, 0).b);
  CHECK(c.get(4, 0).b > c.get(4, 0).r);
  CHECK(std::fabs(lightness(c.get(3, 0)) - lightness(c.get(4, 0))) < 5.0);
}

TEST_CASE("occlusion pictures: negative drops get blue_red centred at 0, drops alone keep reds") {
  // Blocks of 240 x 240 in a 480 x 480 heatmap; sample one 20 px inside each block's top-left
  // corner (the value is written in its middle). add_title puts the map at (10, 16 + 2 x 10).
  const Image photo = grey_photo(8);
  const int mx = 10, my = 36;
  auto block_colours = [&](const Occlusion& o) {
    const Canvas h = occlusion_heatmap(o, photo, "t");
    std::vector<Rgb> out;
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 2; ++k) out.push_back(h.get(mx + 240 * k + 20, my + 240 * r + 20));
    return out;
  };

  // Signed: drops 0.5, -0.2, 0, 0.1: blue_red over [-0.5, 0.5].
  const std::vector<Rgb> s = block_colours(grid(0.5f, -0.2f, 0.f, 0.1f));
  CHECK(same(s[0], colormap(Colormap::blue_red, 1.f)));
  CHECK(same(s[1], colormap(Colormap::blue_red, 0.5f - 0.2f)));
  CHECK(same(s[2], {255, 255, 255}));
  CHECK(same(s[3], colormap(Colormap::blue_red, 0.5f + 0.1f)));

  // Drops only (one negative below 1% of the largest, invisible on a symmetric scale): reds from 0.
  const std::vector<Rgb> u = block_colours(grid(0.5f, -0.001f, 0.25f, 0.1f));
  CHECK(same(u[0], colormap(Colormap::reds, 1.f)));
  CHECK(same(u[1], colormap(Colormap::reds, 0.f)));
  CHECK(same(u[2], colormap(Colormap::reds, 0.5f)));
  CHECK(same(u[3], colormap(Colormap::reds, 0.2f)));

  // The overlay: blended at alpha 0.4 over the grey photo (90), so where the drop is 0 the pixel is
  // 0.6 x 90 + 0.4 x 255 = 156 in every channel when the scale is signed; jet's 0 (dark blue) when not.
  auto overlay_centre_of = [&](const Occlusion& o) {
    const Canvas c = occlusion_overlay(o, photo, "t");
    // Row 1 of the grid is all 0: below its centre (3/4 of the height) the map is constant there.
    return c.get(mx + 120, my + 400);
  };
  const Rgb signed_zero = overlay_centre_of(grid(0.5f, -0.2f, 0.f, 0.f));
  CHECK(same(signed_zero, {156, 156, 156}));
  const Rgb unsigned_zero = overlay_centre_of(grid(0.5f, 0.1f, 0.f, 0.f));
  const Rgb jet0 = colormap(Colormap::jet, 0.f);
  CHECK(int(unsigned_zero.b) == int(std::lround(0.6 * 90 + 0.4 * jet0.b)));
  CHECK(int(unsigned_zero.r) == int(std::lround(0.6 * 90 + 0.4 * jet0.r)));
}

TEST_CASE("signed_rgb_canvas: a zero gradient is mid grey, +v and -v mirrored about it") {
  // Values whose root mean square is 1: +-5 rms reach 255 and 0.
  Tensor g(Shape{1, 4, 3});
  const float v[12] = {0.f, 0.f, 0.f, 1.f, -1.f, 2.f, -2.f, 0.5f, -0.5f, 1.f, 1.f, 1.f};
  double sq = 0.0;
  for (int i = 0; i < 12; ++i) sq += double(v[i]) * v[i];
  const float scale = float(1.0 / std::sqrt(sq / 12.0));  // rescale so the rms is exactly 1
  for (int i = 0; i < 12; ++i) g[i] = v[i] * scale;
  const Canvas c = signed_rgb_canvas(g);
  REQUIRE(c.width == 4);
  CHECK(same(c.get(0, 0), {128, 128, 128}));  // 127.5 rounds up
  for (int i = 3; i < 9; i += 2) {
    const int a = c.rgb[size_t(i)], b = c.rgb[size_t(i + 1)];  // +v and -v
    CHECK_MESSAGE((a + b == 255 || a + b == 256), "channel " << i << ": " << a << " + " << b);
    CHECK(a == int(std::lround((0.5 + g[i] / 10.0) * 255.0)));
  }
  // A channel at 5 rms is white.
  Tensor big(Shape{1, 2, 1});
  big[0] = 1.f;
  big[1] = -1.f;  // rms 1: +-1 is 1/5 of the way from grey to each end
  const Canvas d = signed_rgb_canvas(big);
  CHECK(int(d.get(0, 0).r) == int(std::lround(0.6 * 255.0)));
  CHECK(int(d.get(1, 0).r) == int(std::lround(0.4 * 255.0)));
}
