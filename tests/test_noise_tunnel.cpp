// The noise tunnel (vis/attribution.h, noise_tunnel): SmoothGrad, SmoothGrad-squared and VarGrad
// against a naive loop over the same noise draws, the identity mean_sq = mean^2 + variance, one
// sample, and on the real darknet model how much of each map falls on the espresso cup.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/model_io.h"
#include "tests/attribution_models.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/png.h"

using namespace convis;

namespace {

// The noisy copies noise_tunnel draws, one (1,H,W,C) tensor each: sigma = noise * (max - min) of x,
// std::mt19937(seed) and one std::normal_distribution<float> drawn sample after sample.
std::vector<Tensor> noisy_copies(const Tensor& x, int samples, float noise, uint32_t seed) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 0; i < x.numel(); ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float sigma = noise * (hi - lo);
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::vector<Tensor> out;
  for (int s = 0; s < samples; ++s) {
    Tensor c(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) c[i] = x[i] + sigma * gauss(rng);
    out.push_back(c);
  }
  return out;
}

// The reference: one gradient per copy, then the mean, the mean square and the variance as the
// mean squared deviation from the mean (two passes, divided by S), all in double.
struct NaiveStats {
  std::vector<double> mean, mean_sq, variance;
  std::vector<Tensor> grads;
};

NaiveStats naive_stats(const Model& m, const Tensor& x, int cls, int samples, float noise, uint32_t seed) {
  NaiveStats r;
  for (const Tensor& c : noisy_copies(x, samples, noise, seed)) r.grads.push_back(input_gradient(m, c, cls));
  const size_t n = size_t(x.numel());
  r.mean.assign(n, 0.0);
  r.mean_sq.assign(n, 0.0);
  r.variance.assign(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (const Tensor& g : r.grads) {
      r.mean[i] += double(g[int64_t(i)]) / samples;
      r.mean_sq[i] += double(g[int64_t(i)]) * double(g[int64_t(i)]) / samples;
    }
    for (const Tensor& g : r.grads) {
      const double d = double(g[int64_t(i)]) - r.mean[i];
      r.variance[i] += d * d / samples;
    }
  }
  return r;
}

// The largest |a[i] - ref[i]| / (atol + rtol |ref[i]|): <= 1 passes.
double worst_error(const Tensor& a, const std::vector<double>& ref, double atol, double rtol) {
  REQUIRE(size_t(a.numel()) == ref.size());
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::fabs(double(a[int64_t(i)]) - ref[i]) / (atol + rtol * std::fabs(ref[i])));
  return worst;
}

// max over the channels of a (1,H,W,C) reference, as (H*W).
std::vector<double> channel_max(const std::vector<double>& v, int64_t pixels, int64_t C) {
  std::vector<double> out(size_t(pixels), 0.0);
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < C; ++c) out[size_t(p)] = std::max(out[size_t(p)], std::fabs(v[size_t(p * C + c)]));
  return out;
}

}  // namespace

TEST_CASE("noise tunnel: mean, mean square and variance equal a naive loop over the same draws") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 51, 0.f, 1.f);
  const int cls = 3, samples = 5;
  const float noise = 0.3f;
  const uint32_t seed = 11;
  const NaiveStats ref = naive_stats(m, x, cls, samples, noise, seed);
  for (int batch : {1, 2, 5}) {
    CAPTURE(batch);
    const NoiseTunnel nt = noise_tunnel(m, x, cls, samples, noise, seed, batch);
    REQUIRE(nt.mean.shape() == x.shape());
    CHECK(worst_error(nt.mean, ref.mean, 1e-6, 1e-4) <= 1.0);
    CHECK(worst_error(nt.mean_sq, ref.mean_sq, 1e-7, 1e-4) <= 1.0);
    CHECK(worst_error(nt.variance, ref.variance, 1e-7, 1e-3) <= 1.0);
  }
  // The noise matters here: the samples' gradients differ, so the variance is far from 0 somewhere.
  double top_var = 0.0, top_sq = 0.0;
  for (size_t i = 0; i < ref.variance.size(); ++i) {
    top_var = std::max(top_var, ref.variance[i]);
    top_sq = std::max(top_sq, ref.mean_sq[i]);
  }
  MESSAGE("largest variance " << top_var << ", largest mean square " << top_sq);
  CHECK(top_var > 0.01 * top_sq);

  // The rows show max over the channels of each statistic.
  AttributionOptions opt;
  opt.samples = samples;
  opt.noise = noise;
  opt.seed = seed;
  opt.batch = 2;
  const std::vector<std::pair<std::string, const std::vector<double>*>> rows = {
      {"smoothgrad", &ref.mean}, {"smoothgrad_sq", &ref.mean_sq}, {"vargrad", &ref.variance}};
  for (const auto& row : rows) {
    CAPTURE(row.first);
    opt.method = row.first;
    const Attribution a = compute_attribution(m, x, cls, opt);
    CHECK(worst_error(a.map, channel_max(*row.second, 80, 3), 1e-6, 1e-3) <= 1.0);
    CHECK(a.score == doctest::Approx(test::score(m, x, cls)));
  }
}

TEST_CASE("noise tunnel: mean_sq = mean^2 + variance per element, the population variance") {
  const Model darknet = test::tiny_darknet(), vgg = test::tiny_vgg();
  struct Case {
    const Model* m;
    Tensor x;
    int cls, samples;
  };
  const std::vector<Case> cases = {{&darknet, test::random_tensor({1, 8, 10, 3}, 61, 0.f, 1.f), 1, 7},
                                   {&darknet, test::random_tensor({1, 8, 10, 3}, 62, 0.f, 1.f), 4, 3},
                                   {&vgg, test::random_tensor({1, 6, 8, 3}, 63, 0.f, 1.f), 2, 6}};
  for (size_t k = 0; k < cases.size(); ++k) {
    CAPTURE(k);
    const Case& c = cases[k];
    const NoiseTunnel nt = noise_tunnel(*c.m, c.x, c.cls, c.samples, 0.25f, uint32_t(70 + k), 4);
    double worst = 0.0, biggest_var = 0.0;
    for (int64_t i = 0; i < c.x.numel(); ++i) {
      CHECK(nt.variance[i] >= 0.f);
      const double lhs = nt.mean_sq[i], rhs = double(nt.mean[i]) * nt.mean[i] + nt.variance[i];
      worst = std::max(worst, std::fabs(lhs - rhs) / (1e-8 + 1e-5 * std::fabs(lhs)));
      biggest_var = std::max(biggest_var, double(nt.variance[i]));
    }
    CHECK(worst <= 1.0);
    CHECK(biggest_var > 0.0);  // else the identity would hold for mean^2 alone
  }
  // Two samples: the population variance is ((g1 - g2) / 2)^2; the sample variance would be twice it.
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 64, 0.f, 1.f);
  const std::vector<Tensor> copies = noisy_copies(x, 2, 0.3f, 9);
  const Tensor g1 = input_gradient(darknet, copies[0], 0), g2 = input_gradient(darknet, copies[1], 0);
  const NoiseTunnel nt = noise_tunnel(darknet, x, 0, 2, 0.3f, 9, 2);
  std::vector<double> expect(size_t(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) expect[size_t(i)] = std::pow((double(g1[i]) - g2[i]) / 2.0, 2.0);
  CHECK(worst_error(nt.variance, expect, 1e-7, 1e-3) <= 1.0);
}

TEST_CASE("noise tunnel: one sample has variance 0 and mean square the vanilla gradient squared") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 81, 0.f, 1.f);
  const int cls = 2;
  const Tensor noisy = noisy_copies(x, 1, 0.2f, 4)[0];
  AttributionOptions opt;
  opt.samples = 1;
  opt.noise = 0.2f;
  opt.seed = 4;
  opt.method = "vargrad";
  const Attribution var = compute_attribution(m, x, cls, opt);
  opt.method = "smoothgrad_sq";
  const Attribution sq = compute_attribution(m, x, cls, opt);
  AttributionOptions plain;
  plain.method = "vanilla";
  const Attribution van = compute_attribution(m, noisy, cls, plain);  // of the noisy copy, not of x
  double peak = 0.0;
  for (int64_t p = 0; p < 80; ++p) {
    CHECK(var.map[p] == 0.f);
    CHECK(sq.map[p] == doctest::Approx(double(van.map[p]) * van.map[p]).epsilon(1e-5));
    peak = std::max(peak, double(van.map[p]));
  }
  CHECK(peak > 0.0);
  // ... and that is not the gradient at x itself: the noise moved it.
  plain.method = "vanilla";
  const Attribution at_x = compute_attribution(m, x, cls, plain);
  double moved = 0.0;
  for (int64_t p = 0; p < 80; ++p) moved = std::max(moved, std::fabs(double(at_x.map[p]) - van.map[p]));
  CHECK(moved > 1e-3 * peak);
}

TEST_CASE("noise tunnel: a linear model has the kernel as every sample's gradient and variance 0") {
  Model m;
  m.name = "linear";
  m.layers = {test::input_layer(), test::simple_layer("flatten", "Flatten", LayerType::flatten),
              test::dense_layer("dense", 2, Activation::linear)};
  m = test::finish(m, 3, 4, 5);
  const Tensor& W = m.layers[2].weights[0].value();  // (36, 2)
  const Tensor x = test::random_tensor({1, 3, 4, 3}, 1, 0.f, 1.f);
  const NoiseTunnel nt = noise_tunnel(m, x, 0, 6, 0.5f, 3, 4);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double w = W[i * 2];
    CHECK(nt.mean[i] == doctest::Approx(w).epsilon(1e-5));
    CHECK(nt.mean_sq[i] == doctest::Approx(w * w).epsilon(1e-5));
    CHECK(nt.variance[i] <= 1e-6 * w * w + 1e-12);
  }
}

TEST_CASE("saliency command: smoothgrad_sq and vargrad take the sampling options and write their pictures") {
  const test::Dir d("noise_tunnel_cli");
  const std::string W = (d.dir / "tiny.h5").string(), I = (d.dir / "pic.png").string(), O = (d.dir / "out").string();
  save_model(test::tiny_vgg(), W, KerasLayout::model);
  Canvas c(16, 12, {180, 90, 30});
  c.fill_rect(3, 2, 6, 5, {30, 60, 200});
  write_png(c, I);
  for (const char* method : {"smoothgrad_sq", "vargrad"}) {
    CAPTURE(method);
    const test::CliResult r = test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--method", method,
                                                  "--samples", "3", "--noise", "0.1", "--seed", "2", "--batch", "2",
                                                  "--class", "1", "--out", O});
    CAPTURE(r.err);
    REQUIRE(r.rc == 0);
    CHECK(test::contains(r.out, "3 samples, noise sigma 0.1 of the input range, seed 2"));
    CHECK(std::filesystem::exists(d.dir / "out" / (std::string("pic_") + method + "_1.png")));
    CHECK(std::filesystem::exists(d.dir / "out" / (std::string("pic_") + method + "_1_map.png")));
    const test::CliResult bad =
        test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--method", method, "--steps", "3", "--out", O});
    CHECK(bad.rc == 2);
    CHECK(test::contains(bad.err, "--steps applies to --method integrated, not " + std::string(method)));
  }
  // --samples names every method that reads it.
  const test::CliResult r =
      test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--method", "vanilla", "--samples", "3",
                          "--out", O});
  CHECK(r.rc == 2);
  CHECK(test::contains(r.err, "--samples applies to --method smoothgrad, smoothgrad_sq or vargrad, not vanilla"));
}

// ---- the real model ---------------------------------------------------------------------------

namespace {

// The share of a map's mass inside the box [x0, x1] x [y0, y1] of the photo (photo_w x photo_h) it
// is stretched over: each map pixel covers a rectangle of the photo and counts with the part of it
// that overlaps the box.
double box_share(const Tensor& map, int photo_w, int photo_h, double x0, double x1, double y0, double y1) {
  const int h = int(map.dim(0)), w = int(map.dim(1));
  auto overlap = [](double a0, double a1, double b0, double b1) {
    return std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
  };
  const double sx = double(photo_w) / w, sy = double(photo_h) / h;
  double inside = 0.0, total = 0.0;
  for (int py = 0; py < h; ++py) {
    const double fy = overlap(py * sy, (py + 1) * sy, y0, y1) / sy;
    for (int px = 0; px < w; ++px) {
      const double v = std::fabs(double(map[int64_t(py) * w + px]));
      const double fx = overlap(px * sx, (px + 1) * sx, x0, x1) / sx;
      inside += v * fx * fy;
      total += v;
    }
  }
  return total > 0.0 ? inside / total : 0.0;
}

}  // namespace

TEST_CASE("box share: a map's mass inside a box of the photo it is stretched over") {
  Tensor flat(Shape{4, 6});
  for (int64_t i = 0; i < flat.numel(); ++i) flat[i] = 2.f;
  CHECK(box_share(flat, 600, 400, 170, 410, 15, 300) == doctest::Approx(240.0 * 285.0 / (600.0 * 400.0)));
  Tensor one = Tensor::zeros(Shape{4, 6});
  one[1 * 6 + 2] = 5.f;  // covers x 200..300, y 100..200 of a 600x400 photo
  CHECK(box_share(one, 600, 400, 170, 410, 15, 300) == doctest::Approx(1.0));
  CHECK(box_share(one, 600, 400, 250, 410, 15, 300) == doctest::Approx(0.5));
  CHECK(box_share(one, 600, 400, 0, 600, 200, 400) == doctest::Approx(0.0));
}

TEST_CASE("acceptance: SmoothGrad-squared and VarGrad put more of their maps on the espresso cup than vanilla") {
  const std::string data = test::shared_data_dir();
  if (data.empty()) {
    MESSAGE("skipped: ../shared/data is absent");
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const Model m = load_model(data + "/models/darknet_tiny_imagenet.h5");
  const Image photo = load_image(data + "/images/coffee.png");
  REQUIRE(photo.width == 600);
  REQUIRE(photo.height == 400);
  const Tensor x = preprocess(resize_bilinear(photo, m.built_h(), m.built_w()), Preprocess::unit);
  const int cls = top_class(m, x);
  CHECK(cls == 946);  // espresso
  // The cup: x 170..410, y 15..300 in the 600x400 photo, 28.5% of its area.
  auto share = [&](const Tensor& map) { return box_share(map, 600, 400, 170, 410, 15, 300); };
  const double area = 240.0 * 285.0 / (600.0 * 400.0);

  AttributionOptions opt;
  opt.method = "vanilla";
  const double vanilla = share(compute_attribution(m, x, cls, opt).map);
  // One pass of 16 samples gives all three noisy maps; each equals its row's map
  // (tests/test_method_tables.cpp).
  const NoiseTunnel nt = noise_tunnel(m, x, cls, 16, 0.2f, 0, 8);
  const double sg = share(channel_max_abs(nt.mean)), sq = share(channel_max_abs(nt.mean_sq)),
               var = share(channel_max_abs(nt.variance));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("share of the map inside the cup box (area " << area << "): vanilla " << vanilla << ", smoothgrad " << sg
                                                       << ", smoothgrad_sq " << sq << ", vargrad " << var << " ("
                                                       << seconds << " s, 16 samples)");
  CHECK(vanilla > area);  // even plain gradients favour the cup
  CHECK(sg > area);
  // Squares do not cancel: SmoothGrad-squared and VarGrad (0.53..0.54 over seeds 0..3 and 64
  // samples) beat vanilla (0.46). SmoothGrad's |mean| does not (0.42..0.43): not checked as better.
  CHECK(sq > vanilla);
  CHECK(var > vanilla);
}
