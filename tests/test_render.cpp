// The drawing toolkit (vis/canvas, colormap, text, layout, png): colormaps, maps, resizing,
// blending, grids, text (TrueType and the stb_easy_font fallback) and atomic PNG writes, each
// against a hand computation or a decode through stb_image.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <stb_image.h>

#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/canvas.h"
#include "vis/colormap.h"
#include "vis/image.h"
#include "vis/layout.h"
#include "vis/png.h"
#include "vis/text.h"

using namespace convis;
namespace fs = std::filesystem;

namespace {
// Rec. 709 luma of an 8-bit colour.
double luma(Rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }
bool same(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
int non_background(const Canvas& c, int x0, int y0, int x1, int y1, Rgb bg = {255, 255, 255}) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += !same(c.get(x, y), bg);
  return n;
}
// Sets CONVIS_FONT for the scope of a test and restores it after.
struct FontEnv {
  std::string old;
  bool had;
  explicit FontEnv(const std::string& path) : had(std::getenv("CONVIS_FONT") != nullptr) {
    if (had) old = std::getenv("CONVIS_FONT");
    ::setenv("CONVIS_FONT", path.c_str(), 1);
  }
  ~FontEnv() {
    if (had) ::setenv("CONVIS_FONT", old.c_str(), 1);
    else ::unsetenv("CONVIS_FONT");
  }
};
}  // namespace

TEST_CASE("render: colormap endpoints and monotone luminance for viridis and grey") {
  // matplotlib's viridis starts at #440154 and ends at #fde725.
  CHECK(same(colormap(Colormap::viridis, 0.f), {68, 1, 84}));
  CHECK(same(colormap(Colormap::viridis, 1.f), {253, 231, 37}));
  CHECK(same(colormap(Colormap::grey, 0.f), {0, 0, 0}));
  CHECK(same(colormap(Colormap::grey, 1.f), {255, 255, 255}));
  CHECK(same(colormap(Colormap::grey, 0.5f), {128, 128, 128}));
  // Out of range clamps.
  CHECK(same(colormap(Colormap::viridis, -3.f), colormap(Colormap::viridis, 0.f)));
  CHECK(same(colormap(Colormap::viridis, 7.f), colormap(Colormap::viridis, 1.f)));
  // Luma rises along the map: between neighbouring 8-bit colours it may dip by at most the
  // rounding of one red and one blue level (0.2126 + 0.0722), and over 1/15 of the map it rises.
  for (Colormap cm : {Colormap::viridis, Colormap::grey}) {
    const std::string name = colormap_name(cm);
    double prev = -1.0;
    for (int i = 0; i <= 255; ++i) {
      const double l = luma(colormap(cm, float(i) / 255.f));
      CHECK_MESSAGE(l >= prev - 0.29, name << " luminance falls at " << i);
      prev = l;
    }
    for (int k = 1; k <= 15; ++k)
      CHECK_MESSAGE(luma(colormap(cm, float(k) / 15.f)) > luma(colormap(cm, float(k - 1) / 15.f)) + 3.0,
                    name << " luminance flat near " << k << "/15");
  }
  // Diverging: white in the middle, blue below, red above. Reds: near white to dark red.
  CHECK(same(colormap(Colormap::blue_red, 0.5f), {255, 255, 255}));
  CHECK(colormap(Colormap::blue_red, 0.f).b > colormap(Colormap::blue_red, 0.f).r);
  CHECK(colormap(Colormap::blue_red, 1.f).r > colormap(Colormap::blue_red, 1.f).b);
  CHECK(luma(colormap(Colormap::reds, 0.f)) > 240);
  CHECK(luma(colormap(Colormap::reds, 1.f)) < 40);
  CHECK(parse_colormap("blue_red") == Colormap::blue_red);
  CHECK_THROWS_WITH_AS(parse_colormap("magma"), doctest::Contains("viridis"), std::invalid_argument);
}

TEST_CASE("render: render_map maps lo and hi to the colormap ends") {
  const float d[6] = {-2.f, 3.f, 0.5f, 10.f, -9.f, 3.f};
  const Canvas c = render_map(d, 2, 3, -2.f, 3.f, Colormap::grey);
  REQUIRE(c.width == 3);
  REQUIRE(c.height == 2);
  CHECK(same(c.get(0, 0), {0, 0, 0}));        // lo
  CHECK(same(c.get(1, 0), {255, 255, 255}));  // hi
  CHECK(same(c.get(2, 0), {128, 128, 128}));  // (0.5 + 2) / 5 = 0.5
  CHECK(same(c.get(0, 1), {255, 255, 255}));  // above hi clamps
  CHECK(same(c.get(1, 1), {0, 0, 0}));        // below lo clamps
  const Canvas v = render_map(d, 2, 3, -2.f, 3.f, Colormap::viridis);
  CHECK(same(v.get(0, 0), colormap(Colormap::viridis, 0.f)));
  CHECK(same(v.get(1, 0), colormap(Colormap::viridis, 1.f)));
  // A constant map is the middle colour, not an error.
  const Canvas k = render_map(d, 2, 3, 1.f, 1.f, Colormap::viridis);
  CHECK(same(k.get(2, 1), colormap(Colormap::viridis, 0.5f)));
  // render_rgb: [lo, hi] -> 0..255 per channel.
  const float rgb[3] = {0.f, 0.5f, 1.f};
  const Canvas r = render_rgb(rgb, 1, 1, 0.f, 1.f);
  CHECK(same(r.get(0, 0), {0, 128, 255}));
}

TEST_CASE("render: upscale_nearest keeps pixels and blend is per-pixel arithmetic") {
  Canvas c(3, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) c.set(x, y, {uint8_t(x * 80), uint8_t(y * 200), uint8_t(x + y)});
  const Canvas u = upscale_nearest(c, 4);
  REQUIRE(u.width == 12);
  REQUIRE(u.height == 8);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 12; ++x) CHECK(same(u.get(x, y), c.get(x / 4, y / 4)));
  CHECK_THROWS_AS(upscale_nearest(c, 0), std::invalid_argument);

  Canvas a(2, 1, {100, 0, 255}), b(2, 1, {200, 50, 55});
  const Canvas m = blend(a, b, 0.25f);
  // 0.75 * 100 + 0.25 * 200 = 125; 0.25 * 50 = 12.5 -> 13; 0.75 * 255 + 0.25 * 55 = 205
  CHECK(same(m.get(1, 0), {125, 13, 205}));
  CHECK(same(blend(a, b, 0.f).get(0, 0), a.get(0, 0)));
  CHECK(same(blend(a, b, 1.f).get(0, 0), b.get(0, 0)));
  CHECK_THROWS_AS(blend(a, Canvas(3, 1), 0.5f), std::invalid_argument);

  // Bilinear: a 2-pixel ramp doubled has half-pixel centres: 0, 0.25, 0.75, 1 of the way.
  Canvas ramp(2, 1);
  ramp.set(0, 0, {0, 0, 0});
  ramp.set(1, 0, {200, 200, 200});
  const Canvas r = resize_bilinear(ramp, 1, 4);  // height, then width
  CHECK(r.width == 4);
  CHECK(r.height == 1);
  CHECK(r.get(0, 0).r == 0);
  CHECK(r.get(1, 0).r == 50);
  CHECK(r.get(2, 0).r == 150);
  CHECK(r.get(3, 0).r == 200);
  // Shrinking averages: 4 pixels to 1.
  Canvas four(4, 1);
  for (int x = 0; x < 4; ++x) four.set(x, 0, {uint8_t(x * 40), 0, 0});
  CHECK(resize_bilinear(four, 1, 1).get(0, 0).r == 60);
  // One argument order with the photo's resize (vis/image.h): h, then w.
  const Canvas tall = resize_bilinear(Canvas(6, 2), 3, 5);
  CHECK(tall.width == 5);
  CHECK(tall.height == 3);
  CHECK(resize_bilinear(Image{6, 2, 3, std::vector<uint8_t>(36, 7)}, 3, 5).shape() == Shape{3, 5, 3});
}

TEST_CASE("render: canvas drawing clips at the edges") {
  Canvas c(4, 4, {0, 0, 0});
  c.fill_rect(-2, -2, 4, 4, {255, 0, 0});  // only (0..1, 0..1) lands
  CHECK(non_background(c, 0, 0, 4, 4, {0, 0, 0}) == 4);
  Canvas s(3, 3, {0, 255, 0});
  c.blit(s, 2, 2);
  CHECK(same(c.get(3, 3), {0, 255, 0}));
  CHECK(same(c.get(2, 1), {0, 0, 0}));
  CHECK(same(c.get(9, 9), {0, 0, 0}));  // reading outside is black, not a crash
}

TEST_CASE("render: make_grid size arithmetic and titles draw pixels") {
  std::vector<Tile> tiles;
  for (int i = 0; i < 5; ++i) tiles.push_back({Canvas(10, 6, {0, 0, 200}), ""});
  GridOptions opt;
  opt.columns = 2;
  opt.gap = 4;
  const Canvas g = make_grid(tiles, opt);
  // Margin max(gap, 8) = 8 on each side; 2 columns of 10 + 1 gap; 3 rows of 6 + 2 gaps.
  CHECK(g.width == 8 + 10 + 4 + 10 + 8);
  CHECK(g.height == 8 + 3 * 6 + 2 * 4 + 8);
  // Tile 3 (row 1, column 1) starts at (8 + 14, 8 + 10).
  CHECK(same(g.get(22, 18), {0, 0, 200}));
  CHECK(same(g.get(21, 18), {255, 255, 255}));
  CHECK(same(g.get(31, 23), {0, 0, 200}));
  // tile_size scales by an integer factor with nearest neighbour: 10x6 -> 30x18.
  opt.tile_size = 30;
  const Canvas big = make_grid(tiles, opt);
  CHECK(big.width == 8 + 30 + 4 + 30 + 8);
  CHECK(big.height == 8 + 3 * 18 + 2 * 4 + 8);
  // Automatic columns: 16 square tiles make 4 x 4.
  std::vector<Tile> sq(16, Tile{Canvas(8, 8, {0, 0, 0}), ""});
  GridOptions auto_opt;
  auto_opt.gap = 2;
  const Canvas s = make_grid(sq, auto_opt);
  CHECK(s.width == 8 + 4 * 8 + 3 * 2 + 8);
  CHECK(s.height == s.width);

  // Titles: a title row of title_px + 3 above each tile, drawn in non-white pixels; a sheet title on top.
  std::vector<Tile> titled = {{Canvas(40, 40, {255, 255, 255}), "#12"}};
  GridOptions topt;
  topt.title_px = 13;
  const Canvas t = make_grid(titled, topt);
  CHECK(t.height == 8 + 16 + 40 + 8);
  CHECK(non_background(t, 0, 8, t.width, 8 + 16) > 10);  // the title's ink
  CHECK(non_background(t, 0, 8 + 16, t.width, t.height) == 0);  // the white tile and margins
  topt.title = "conv2d_3, 64 channels";
  const Canvas st = make_grid(titled, topt);
  CHECK(st.width >= text_width(topt.title, topt.sheet_title_px) + 16);
  CHECK(non_background(st, 0, 0, st.width, 8 + topt.sheet_title_px) > 20);
}

TEST_CASE("render: text is antialiased TrueType and falls back to stb_easy_font") {
  const std::string dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  auto ink = [](int px) {
    Canvas c(200, 40);
    draw_text(c, 2, 2, "Conv 64", px);
    int dark = 0, grey = 0;
    for (int y = 0; y < c.height; ++y)
      for (int x = 0; x < c.width; ++x) {
        const int v = c.get(x, y).r;
        dark += v < 64;
        grey += v >= 64 && v < 224;
      }
    return std::pair<int, int>{dark, grey};
  };
  if (fs::exists(dejavu)) {
    FontEnv env(dejavu);
    CHECK(have_truetype_font());
    const auto [dark, grey] = ink(20);
    CHECK(dark > 20);
    CHECK(grey > 10);  // antialiased edges
    CHECK(text_width("Conv 64", 20) > text_width("Conv", 20));
    CHECK(text_width("Conv 64", 40) >= 2 * text_width("Conv 64", 20) - 2);
  } else {
    MESSAGE("DejaVu Sans not installed: TrueType part skipped");
  }
  FontEnv env("/nonexistent/font.ttf");
  CHECK_FALSE(have_truetype_font());
  const auto [dark, grey] = ink(18);  // 1.5 x stb_easy_font's 12-unit line: edges fall mid-pixel
  CHECK(dark > 20);
  CHECK(grey > 0);
  CHECK(text_width("Conv 64", 24) > text_width("Conv", 24));
  CHECK(text_width("Conv 64", 24) < 200);
}

TEST_CASE("render: write_png round trip through stb_image") {
  const fs::path dir = test::temp_dir("render_png");
  Canvas c(7, 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) c.set(x, y, {uint8_t(x * 36), uint8_t(y * 60), uint8_t((x * 13 + y * 29) % 256)});
  const std::string p = (dir / "rt.png").string();
  write_png(c, p);
  int w = 0, h = 0, n = 0;
  unsigned char* px = stbi_load(p.c_str(), &w, &h, &n, 3);
  REQUIRE(px != nullptr);
  CHECK(w == 7);
  CHECK(h == 5);
  bool equal = true;
  for (size_t i = 0; i < c.rgb.size(); ++i) equal = equal && px[i] == c.rgb[i];
  stbi_image_free(px);
  CHECK(equal);
  // Only the PNG is left (no temporary files).
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);
  fs::remove_all(dir);
}

TEST_CASE("render: write_png into a missing dir throws and leaves no file") {
  const fs::path dir = test::temp_dir("render_missing");
  const std::string p = (dir / "nope" / "x.png").string();
  CHECK_THROWS_WITH(write_png(Canvas(2, 2), p), doctest::Contains("nope"));
  CHECK_FALSE(fs::exists(dir / "nope"));
  CHECK(fs::is_empty(dir));
  // ensure_output_dir creates parents, refuses a file in the way.
  CHECK_NOTHROW(ensure_output_dir((dir / "a" / "b").string()));
  CHECK(fs::is_directory(dir / "a" / "b"));
  const fs::path file = dir / "plain";
  { std::ofstream(file) << "x"; }
  CHECK_THROWS_WITH(ensure_output_dir(file.string()), doctest::Contains("not a directory"));
  CHECK_THROWS(ensure_output_dir((file / "sub").string()));
  fs::remove_all(dir);
}

TEST_CASE("render: add_colorbar widens the canvas and shows both ends") {
  const Canvas c(100, 200, {255, 255, 255});
  const Canvas b = add_colorbar(c, Colormap::viridis, -1.f, 2.f, "value");
  CHECK(b.height == 200);
  CHECK(b.width > 120);
  // The bar's top is the colormap's top colour, its bottom the bottom colour: find them in column bx+7.
  bool top = false, bottom = false;
  for (int x = 100; x < b.width; ++x)
    for (int y = 0; y < b.height; ++y) {
      top = top || same(b.get(x, y), colormap(Colormap::viridis, 1.f));
      bottom = bottom || same(b.get(x, y), colormap(Colormap::viridis, 0.f));
    }
  CHECK(top);
  CHECK(bottom);
}
