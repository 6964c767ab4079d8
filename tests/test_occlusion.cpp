// Occlusion: the patch positions, the heatmap against a direct loop over patch positions, and
// its pictures.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/attribution_models.h"
#include "tests/util.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/occlusion.h"
#include "vis/png.h"

using namespace convis;
namespace fs = std::filesystem;
using test::error_of;
using test::score;
using test::tiny_darknet;
using test::tiny_vgg;

// ---- occlusion --------------------------------------------------------------------------------

TEST_CASE("occlusion: positions cover every pixel") {
  CHECK(occlusion_positions(224, 56, 56) == std::vector<int>{0, 56, 112, 168});
  CHECK(occlusion_positions(224, 56, 28) == std::vector<int>{0, 28, 56, 84, 112, 140, 168});
  CHECK(occlusion_positions(224, 56, 50) == std::vector<int>{0, 50, 100, 150, 200});
  CHECK(occlusion_positions(10, 10, 3) == std::vector<int>{0});
  CHECK(error_of([] { occlusion_positions(10, 11, 3); }).find("patch 11") != std::string::npos);
  CHECK(error_of([] { occlusion_positions(10, 3, 0); }).find("stride") != std::string::npos);
}

TEST_CASE("occlusion: the heatmap equals a direct loop over patch positions") {
  const Model m = tiny_darknet();
  const Tensor pixels = test::random_tensor({8, 10, 3}, 51, 0.f, 255.f);
  OcclusionOptions opt;
  opt.patch = 4;
  opt.stride = 3;
  opt.batch = 4;  // 3 x 3 positions: batches of 4, 4, 1
  opt.fill = {10, 200, 30};
  int64_t calls = 0;
  opt.progress = [&](int64_t done, int64_t total) {
    ++calls;
    CHECK(total == 9);
    CHECK(done <= total);
  };
  const Occlusion o = occlusion_map(m, pixels, Preprocess::unit, 3, opt);
  CHECK(calls == 3);
  CHECK(o.rows == std::vector<int>{0, 3, 6});
  CHECK(o.cols == std::vector<int>{0, 3, 6});
  // Direct: paint each patch by hand (clipped), x/255, one forward pass each, softmax by hand.
  auto prob = [&](const Tensor& px) {
    Tensor x(Shape{1, 8, 10, 3});
    for (int64_t i = 0; i < px.numel(); ++i) x[i] = px[i] / 255.f;
    NoGrad no_grad;
    const Tensor z = m.forward(Var::constant(x)).value();
    double mx = -1e30, s = 0;
    for (int k = 0; k < 5; ++k) mx = std::max(mx, double(z[k]));
    for (int k = 0; k < 5; ++k) s += std::exp(z[k] - mx);
    return std::exp(z[3] - mx) / s;
  };
  const double p0 = prob(pixels);
  CHECK(o.p_original == doctest::Approx(p0).epsilon(1e-5));
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      Tensor px = pixels.clone();
      for (int y = 3 * r; y < std::min(3 * r + 4, 8); ++y)
        for (int x = 3 * c; x < std::min(3 * c + 4, 10); ++x) {
          px[(y * 10 + x) * 3 + 0] = 10.f;
          px[(y * 10 + x) * 3 + 1] = 200.f;
          px[(y * 10 + x) * 3 + 2] = 30.f;
        }
      const double p = prob(px);
      CHECK(o.prob[r * 3 + c] == doctest::Approx(p).epsilon(1e-5));
      CHECK(o.drop[r * 3 + c] == doctest::Approx(p0 - p).epsilon(1e-4));
    }
  // The top-1 class by default.
  const Occlusion top = occlusion_map(m, pixels, Preprocess::unit, -1, opt);
  const Tensor probs = class_probabilities(m, preprocess(pixels, Preprocess::unit));
  CHECK(top.cls == int(std::max_element(probs.data(), probs.data() + 5) - probs.data()));
}

TEST_CASE("occlusion: with stride equal to patch the upsampled map is the bilinear resize of the grid") {
  Occlusion o;
  o.height = 8;
  o.width = 12;
  o.patch = 4;
  o.rows = {0, 4};
  o.cols = {0, 4, 8};
  o.drop = Tensor::from({2, 3}, {0.1f, 0.5f, -0.2f, 0.3f, 0.9f, 0.0f});
  const Tensor a = occlusion_upsample(o, 16, 30), b = upsample_bilinear(o.drop, 16, 30);
  for (int64_t i = 0; i < a.numel(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
}
