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
#include "vis/preprocess.h"

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
  opt.fill = OcclusionFill::colour;
  opt.colour = {10, 200, 30};
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

// ---- defaults: geometry from the input size, fills -----------------------------------------

TEST_CASE("occlusion: the default patch is a quarter of the shorter side, the stride half of it") {
  auto geometry = [](int h, int w) {
    int p = 0, s = 0;
    default_occlusion_geometry(h, w, &p, &s);
    return std::vector<int>{p, s};
  };
  CHECK(geometry(224, 224) == std::vector<int>{56, 28});
  CHECK(geometry(28, 28) == std::vector<int>{7, 3});
  CHECK(geometry(10, 300) == std::vector<int>{2, 1});
  CHECK(geometry(1, 1) == std::vector<int>{1, 1});
  CHECK(geometry(3, 3) == std::vector<int>{1, 1});
  // Whatever the size, the default fits: positions exist on both axes.
  for (int n = 1; n <= 600; n += 7) {
    const std::vector<int> g = geometry(n, n + 3);
    CHECK_NOTHROW(occlusion_positions(n, g[0], g[1]));
  }
}

TEST_CASE("occlusion: the zero fill is the pixel that preprocessing maps to 0, in every mode") {
  for (const Preprocess pre : {Preprocess::caffe, Preprocess::unit, Preprocess::tf, Preprocess::torch})
    for (const int C : {1, 3}) {
      CAPTURE(preprocess_name(pre));
      CAPTURE(C);
      const Tensor pixels = test::random_tensor({5, 6, int64_t(C)}, 3, 0.f, 255.f);
      OcclusionOptions opt;  // zero is the default
      const Tensor fill = occlusion_fill_image(pixels, pre, opt);
      for (int c = 0; c < C; ++c) CHECK(fill[c] == pixel_of_zero_input(pre, c, C));
      const Tensor x = preprocess(fill, pre);  // the defining property: the model sees zeros
      for (int64_t i = 0; i < x.numel(); ++i) CHECK(std::fabs(x[i]) < 1e-6f);
    }
  CHECK(pixel_of_zero_input(Preprocess::unit, 0, 3) == 0.f);
  CHECK(pixel_of_zero_input(Preprocess::tf, 2, 3) == 127.5f);
  CHECK(pixel_of_zero_input(Preprocess::caffe, 0, 3) == 123.68f);  // R, the last of caffe's BGR means
}

TEST_CASE("occlusion: mean, blur and colour fills against direct loops") {
  const Tensor pixels = test::random_tensor({9, 7, 3}, 17, 0.f, 255.f);
  OcclusionOptions opt;
  opt.patch = 8;  // blur sigma 2
  opt.fill = OcclusionFill::mean;
  const Tensor mean = occlusion_fill_image(pixels, Preprocess::unit, opt);
  for (int c = 0; c < 3; ++c) {
    double sum = 0;
    for (int i = 0; i < 63; ++i) sum += pixels[i * 3 + c];
    for (int i = 0; i < 63; ++i) CHECK(mean[i * 3 + c] == doctest::Approx(sum / 63).epsilon(1e-6));
  }
  // Blur: the full 2-D sum of a Gaussian of sigma patch / 4 over 3 sigma, edges replicated.
  opt.fill = OcclusionFill::blur;
  const Tensor blur = occlusion_fill_image(pixels, Preprocess::unit, opt);
  const double sigma = 2.0;
  const int r = 6;
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 7; ++x)
      for (int c = 0; c < 3; ++c) {
        double acc = 0, total = 0;
        for (int i = -r; i <= r; ++i)
          for (int j = -r; j <= r; ++j) {
            const double k = std::exp(-0.5 * (i * i + j * j) / (sigma * sigma));
            acc += k * pixels[(std::clamp(y + i, 0, 8) * 7 + std::clamp(x + j, 0, 6)) * 3 + c];
            total += k;
          }
        CHECK(blur[(y * 7 + x) * 3 + c] == doctest::Approx(acc / total).epsilon(1e-4));
      }
  // A colour on a grey image is its luma.
  opt.fill = OcclusionFill::colour;
  opt.colour = {200, 100, 50};
  const Tensor grey = occlusion_fill_image(test::random_tensor({4, 4, 1}, 2, 0.f, 255.f), Preprocess::unit, opt);
  CHECK(grey[5] == doctest::Approx(0.299 * 200 + 0.587 * 100 + 0.114 * 50).epsilon(1e-6));
}

TEST_CASE("occlusion: a zero-filled patch over black background changes nothing") {
  // On a black-background image under x/255, the default fill is the background itself: every
  // patch position that covers only background has a drop of exactly 0, so the largest drop
  // can only fall where the object is.
  const Model m = tiny_darknet();
  Tensor pixels = Tensor::zeros(Shape{8, 10, 3});
  for (int y = 0; y < 4; ++y)
    for (int x = 6; x < 10; ++x)
      for (int c = 0; c < 3; ++c) pixels[(y * 10 + x) * 3 + c] = float(40 * (y + c) + 20 * x % 200);
  OcclusionOptions opt;
  opt.patch = 4;
  opt.stride = 2;
  const Occlusion o = occlusion_map(m, pixels, Preprocess::unit, 1, opt);
  for (size_t r = 0; r < o.rows.size(); ++r)
    for (size_t c = 0; c < o.cols.size(); ++c) {
      const bool touches = o.rows[r] < 4 && o.cols[c] + 4 > 6;
      CAPTURE(r);
      CAPTURE(c);
      if (!touches) CHECK(o.drop[int64_t(r * o.cols.size() + c)] == 0.f);
    }
}

TEST_CASE("occlusion: fills are parsed from zero, mean, blur or R,G,B and anything else is refused") {
  OcclusionFill f = OcclusionFill::zero;
  Rgb c{};
  parse_occlusion_fill("blur", &f, &c);
  CHECK(f == OcclusionFill::blur);
  parse_occlusion_fill("mean", &f, &c);
  CHECK(f == OcclusionFill::mean);
  parse_occlusion_fill("250,128,0", &f, &c);
  CHECK(f == OcclusionFill::colour);
  CHECK((c.r == 250 && c.g == 128 && c.b == 0));
  for (const std::string bad : {"", "Zero", "1,2", "1,2,3,4", "256,0,0", "-1,0,0", "a,b,c", "1,,3", "0x1,2,3",
                                "00000000000000000001,2,3", " 1,2,3"}) {
    CAPTURE(bad);
    CHECK(test::contains(error_of([&] { parse_occlusion_fill(bad, &f, &c); }), "fill expects zero, mean, blur or R,G,B"));
  }
}
