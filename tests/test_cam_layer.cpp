// Grad-CAM's default layer (the rule of vis/attribution.h) on the shapes of real models, and
// the integrated-gradients advice of vis_tool saliency.
#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/model_io.h"
#include "tests/attribution_models.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/png.h"

using namespace convis;
using test::error_of;

TEST_CASE("default_cam_layer: the last spatial layer of at least 7x7, else the finest") {
  // Shapes as Keras gives them; only output_shape and the spatial test matter to the rule.
  auto chain = [](const std::vector<std::vector<int64_t>>& shapes) {
    Model m;
    m.name = "shapes";
    for (size_t i = 0; i < shapes.size(); ++i) {
      Layer l;
      l.name = "l" + std::to_string(i);
      l.output_shape = Shape(shapes[i]);
      m.layers.push_back(l);
    }
    return m;
  };
  // VGG16 at 224: block5_pool (7x7), the last before flatten.
  CHECK(default_cam_layer(chain({{224, 224, 3}, {14, 14, 512}, {7, 7, 512}, {25088}, {1000}})) == 2);
  // The embedded model: 11x11 before a 5x5 pool and a 3x3 conv.
  CHECK(default_cam_layer(chain({{28, 28, 1}, {26, 26, 32}, {13, 13, 32}, {11, 11, 64}, {5, 5, 64}, {3, 3, 64}, {576}})) == 3);
  // Non-square: the shorter side counts (7x20 qualifies, 6x40 does not).
  CHECK(default_cam_layer(chain({{50, 50, 3}, {7, 20, 4}, {6, 40, 4}, {4}})) == 1);
  // None reaches 7: the largest, the later of two equals.
  CHECK(default_cam_layer(chain({{6, 6, 3}, {6, 6, 4}, {5, 5, 4}, {6, 6, 2}, {3, 3, 2}, {2}})) == 3);
  CHECK(test::contains(error_of([&] { default_cam_layer(chain({{8}, {4}, {2}})); }), "no layer with a spatial output"));
}

TEST_CASE("saliency integrated: the advice asks for more steps than were run") {
  const std::filesystem::path dir = test::temp_dir("ig_advice");
  const std::string W = (dir / "tiny.h5").string(), I = (dir / "pic.png").string();
  save_model(test::tiny_darknet(), W, KerasLayout::model);
  Canvas c(30, 20, {200, 120, 40});
  c.fill_rect(5, 5, 10, 8, {20, 40, 220});
  write_png(c, I);
  int advised = 0;
  for (const int steps : {1, 2, 3, 5, 200}) {
    CAPTURE(steps);
    const test::CliResult r = test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--method", "integrated",
                                                  "--steps", std::to_string(steps), "--out", (dir / "out").string()});
    REQUIRE(r.rc == 0);
    const size_t at = r.out.find("e.g. --steps ");
    if (at == std::string::npos) continue;
    ++advised;
    CHECK(std::atoi(r.out.c_str() + at + 13) >= 2 * steps);
  }
  CHECK(advised >= 1);  // a 1-step midpoint rule on a ReLU network is off by more than 1%
  std::filesystem::remove_all(dir);
}
