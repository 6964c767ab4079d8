// Colour images for grey models: one luma (ITU-R 601, PIL's convert("L")) for every command, so
// that classify and predict give the same probabilities for the same photo.
#include <cmath>
#include <string>

#include <doctest/doctest.h>

#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/png.h"

using namespace convis;

TEST_CASE("load_image as grey is round(0.299 R + 0.587 G + 0.114 B) of the decoded RGB") {
  const std::filesystem::path dir = test::temp_dir("grey");
  const std::string path = (dir / "c.png").string();
  Canvas c(7, 5, {0, 0, 0});
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) c.set(x, y, {uint8_t(37 * x + 11 * y), uint8_t(255 - 29 * x), uint8_t(13 * x * y % 256)});
  write_png(c, path);
  const Image rgb = load_image(path, 3), grey = load_image(path, 1);
  REQUIRE(grey.channels == 1);
  REQUIRE(grey.pixels.size() == 35);
  for (size_t i = 0; i < 35; ++i) {
    const double l = 0.299 * rgb.pixels[3 * i] + 0.587 * rgb.pixels[3 * i + 1] + 0.114 * rgb.pixels[3 * i + 2];
    CHECK(int(grey.pixels[i]) == int(std::lround(l)));
  }
  CHECK(grey_of(grey).pixels == grey.pixels);  // already grey: unchanged
  // A grey picture (R = G = B) keeps its values exactly.
  const std::string flat = (dir / "g.png").string();
  Canvas g(5, 3, {0, 0, 0});
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) g.set(x, y, {uint8_t(51 * x + y), uint8_t(51 * x + y), uint8_t(51 * x + y)});
  write_png(g, flat);
  const Image gl = load_image(flat, 1);
  for (int i = 0; i < 15; ++i) CHECK(int(gl.pixels[size_t(i)]) == 51 * (i % 5) + i / 5);
  std::filesystem::remove_all(dir);
}

TEST_CASE("classify and predict agree on a colour photo for the grey embedded model") {
  const std::filesystem::path dir = test::temp_dir("grey_cli");
  const std::string path = (dir / "photo.png").string();
  Canvas c(45, 30, {30, 60, 200});
  c.fill_rect(10, 5, 20, 18, {240, 200, 20});
  write_png(c, path);
  const test::CliResult a = test::run_vis_tool({"classify", "--weights", "fashion", "--image", path, "--top", "3"});
  const test::CliResult b = test::run_vis_tool({"predict", "--weights", "fashion", "--image", path, "--top", "3"});
  REQUIRE(a.rc == 0);
  REQUIRE(b.rc == 0);
  // The probabilities are the last field of each ranked line, in the same order.
  auto probs = [](const std::string& out) {
    std::string p;
    size_t at = 0;
    while ((at = out.find("\n ", at)) != std::string::npos) {
      const size_t end = out.find('\n', at + 1);
      const std::string line = out.substr(at + 1, end - at - 1);
      p += line.substr(line.rfind(' ') + 1) + ";";
      at = end;
    }
    return p;
  };
  CAPTURE(a.out);
  CAPTURE(b.out);
  CHECK(!probs(a.out).empty());
  CHECK(probs(a.out) == probs(b.out));
  CHECK(test::contains(a.out, "as grey (0.299 R + 0.587 G + 0.114 B)"));
  std::filesystem::remove_all(dir);
}
