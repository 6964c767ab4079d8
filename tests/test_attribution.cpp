// Attribution maps: guided ReLU on hand examples, input gradients against finite differences,
// integrated gradients' completeness, Grad-CAM on hand-built models where the answer is known, the
// saliency and occlusion commands' bad inputs, and the real darknet model (occlusion's maps:
// test_occlusion.cpp).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/model_io.h"
#include "tests/attribution_models.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/occlusion.h"
#include "vis/png.h"

using namespace convis;
namespace fs = std::filesystem;

using test::conv_layer;
using test::dense_layer;
using test::finish;
using test::input_layer;
using test::score;
using test::simple_layer;
using test::tiny_darknet;
using test::tiny_vgg;

namespace {

using convis::test::error_of;

bool dir_is_empty_or_missing(const fs::path& d) {
  return !fs::exists(d) || fs::is_empty(d);
}

}  // namespace

// ---- the engine hook --------------------------------------------------------------------------

TEST_CASE("guided relu: backward passes dy only where x > 0 and dy > 0") {
  const Tensor x0 = Tensor::from({1, 6}, {-1.f, 2.f, 3.f, -0.5f, 0.5f, 1.f});
  const Tensor dy = Tensor::from({1, 6}, {1.f, -1.f, 2.f, 3.f, 0.5f, -4.f});
  // By hand: default relu: dy * (x > 0); guided: also dy > 0. LeakyReLU(0.1) by default keeps 0.1 dy.
  const std::vector<float> want_default = {0.f, -1.f, 2.f, 0.f, 0.5f, -4.f};
  const std::vector<float> want_guided = {0.f, 0.f, 2.f, 0.f, 0.5f, 0.f};
  const std::vector<float> want_leaky = {0.1f, -1.f, 2.f, 0.3f, 0.5f, -4.f};
  auto grad_of = [&](const std::function<Var(const Var&)>& f, bool guided) {
    Var x = Var::param(x0.clone());
    Var y = f(x);
    if (guided) {
      GuidedRelu on;
      CHECK(guided_relu_enabled());
      Tape::current().backward(y, dy);
    } else {
      Tape::current().backward(y, dy);
    }
    return x.grad().to_vector();
  };
  auto relu_f = [](const Var& x) { return relu(x); };
  auto leaky_f = [](const Var& x) { return leaky_relu(x, 0.1f); };
  // dense with a fused ReLU on an identity kernel: the same mask, applied inside dense's backward.
  Tensor eye = Tensor::zeros({6, 6});
  for (int i = 0; i < 6; ++i) eye[i * 6 + i] = 1.f;
  auto dense_f = [&](const Var& x) { return dense(x, Var::constant(eye), Var(), true); };
  // conv2d 1x1 with a fused ReLU, identity over 6 channels on a 1x1 image.
  auto conv_f = [&](const Var& x) {
    return reshape(conv2d(reshape(x, {1, 1, 1, 6}), Var::constant(eye.reshape({1, 1, 6, 6})), Var(), 1, 1,
                          Padding::valid, true),
                   {1, 6});
  };
  CHECK(grad_of(relu_f, false) == want_default);
  CHECK(grad_of(relu_f, true) == want_guided);
  CHECK(grad_of(dense_f, false) == want_default);
  CHECK(grad_of(dense_f, true) == want_guided);
  CHECK(grad_of(conv_f, false) == want_default);
  CHECK(grad_of(conv_f, true) == want_guided);
  const std::vector<float> leaky = grad_of(leaky_f, false);
  for (size_t i = 0; i < leaky.size(); ++i) CHECK(leaky[i] == doctest::Approx(want_leaky[i]));
  CHECK(grad_of(leaky_f, true) == want_guided);  // guided mode treats LeakyReLU as a ReLU
  CHECK_FALSE(guided_relu_enabled());              // the guard restored the default
}

// ---- gradients ------------------------------------------------------------------------------

TEST_CASE("saliency: the input gradient of a tiny model equals central differences") {
  const Model m = tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 11, 0.f, 1.f);
  for (int cls : {0, 3}) {
    std::vector<float> s;
    const Tensor g = input_gradient(m, x, cls, &s);
    REQUIRE(s.size() == 1);
    CHECK(s[0] == doctest::Approx(score(m, x, cls)).epsilon(1e-5));
    Tensor xp = x.clone();
    int checked = 0, bad = 0;
    const float h = 1e-2f;
    const double f0 = score(m, x, cls);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float orig = xp[i];
      xp[i] = orig + h;
      const double fp = score(m, xp, cls);
      xp[i] = orig - h;
      const double fm = score(m, xp, cls);
      xp[i] = orig;
      // One-sided slopes disagree when a ReLU or max-pooling kink lies within h: skip (rare).
      const double right = (fp - f0) / h, left = (f0 - fm) / h, num = (fp - fm) / (2.0 * h);
      if (std::fabs(right - left) > 1e-3 + 1e-2 * std::fabs(num)) continue;
      ++checked;
      if (std::fabs(num - g[i]) > 1e-3 + 1e-2 * std::fabs(num)) {
        ++bad;
        if (bad <= 3) FAIL_CHECK("class " << cls << " element " << i << ": analytic " << g[i] << ", numerical " << num);
      }
    }
    CHECK(bad == 0);
    CHECK(checked > int(x.numel()) * 9 / 10);
  }
}

TEST_CASE("saliency: a model ending in softmax is explained through the softmax input") {
  const Model m = tiny_vgg();
  const Tensor x = test::random_tensor({1, 6, 8, 3}, 12, 0.f, 1.f);
  NoGrad no_grad;
  const Tensor logits = class_scores(m, Var::constant(x)).value();
  const Tensor probs = m.forward(Var::constant(x)).value();
  // Independent: the logits by hand from the last layer's input and its kernel and bias.
  const Tensor feat = m.forward(Var::constant(x), 3).value();  // flatten output (1, 48)
  const Tensor& W = m.layers[4].weights[0].value();
  const Tensor& b = m.layers[4].weights[1].value();
  double z[3], zmax = -1e30, zsum = 0;
  for (int k = 0; k < 3; ++k) {
    z[k] = b[k];
    for (int64_t i = 0; i < feat.numel(); ++i) z[k] += double(feat[i]) * W[i * 3 + k];
    CHECK(logits[k] == doctest::Approx(z[k]).epsilon(1e-4));
    zmax = std::max(zmax, z[k]);
  }
  for (int k = 0; k < 3; ++k) zsum += std::exp(z[k] - zmax);
  for (int k = 0; k < 3; ++k) CHECK(probs[k] == doctest::Approx(std::exp(z[k] - zmax) / zsum).epsilon(1e-4));
}

TEST_CASE("integrated gradients: completeness within 1 percent on a tiny model") {
  const Model m = tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 21, 0.f, 1.f);
  const Tensor black = Tensor::zeros(x.shape());
  for (int cls : {1, 4}) {
    const IntegratedGradients ig = integrated_gradients(m, x, black, cls, 50, 16);
    const double diff = double(score(m, x, cls)) - double(score(m, black, cls));
    CHECK(ig.score == doctest::Approx(score(m, x, cls)));
    CHECK(ig.baseline_score == doctest::Approx(score(m, black, cls)));
    REQUIRE(std::fabs(diff) > 1e-3);
    double sum = 0.0;
    for (int64_t i = 0; i < ig.attributions.numel(); ++i) sum += ig.attributions[i];
    CHECK(sum == doctest::Approx(ig.sum));
    MESSAGE("class " << cls << ": sum " << sum << " vs f(x) - f(x') " << diff);
    CHECK(std::fabs(sum - diff) <= 0.01 * std::fabs(diff));
    // The check can tell: gradient x input (one step at x itself) misses completeness by far.
    const Tensor g = input_gradient(m, x, cls);
    double gxi = 0.0;
    for (int64_t i = 0; i < x.numel(); ++i) gxi += double(g[i]) * x[i];
    MESSAGE("gradient x input: " << gxi);
    CHECK(std::fabs(gxi - diff) > 0.05 * std::fabs(diff));
  }
}

TEST_CASE("integrated gradients and smoothgrad on a linear model are exact") {
  // flatten + dense: the gradient is the kernel's column for every input, so IG = (x - x') * w
  // and SmoothGrad's mean of gradients is w whatever the noise.
  Model m;
  m.name = "linear";
  m.layers = {input_layer(), simple_layer("flatten", "Flatten", LayerType::flatten),
              dense_layer("dense", 2, Activation::linear)};
  m = finish(m, 3, 4, 5);
  const Tensor& W = m.layers[2].weights[0].value();  // (36, 2)
  const Tensor x = test::random_tensor({1, 3, 4, 3}, 1, 0.f, 1.f);
  const Tensor base = test::random_tensor({1, 3, 4, 3}, 2, -1.f, 0.f);
  const IntegratedGradients ig = integrated_gradients(m, x, base, 1, 7, 3);
  const Tensor sg = smoothgrad(m, x, 1, 5, 0.5f, 9, 2);
  for (int64_t i = 0; i < x.numel(); ++i) {
    CHECK(ig.attributions[i] == doctest::Approx((x[i] - base[i]) * W[i * 2 + 1]).epsilon(1e-5));
    CHECK(sg[i] == doctest::Approx(W[i * 2 + 1]).epsilon(1e-5));
  }
}

TEST_CASE("smoothgrad: noise 0 is the vanilla gradient and a seed repeats") {
  const Model m = tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 31, 0.f, 1.f);
  const Tensor g = input_gradient(m, x, 2);
  const Tensor s0 = smoothgrad(m, x, 2, 3, 0.f, 1, 2);
  for (int64_t i = 0; i < x.numel(); ++i) CHECK(s0[i] == doctest::Approx(g[i]).epsilon(1e-5));
  const Tensor a = smoothgrad(m, x, 2, 4, 0.2f, 5, 3), b = smoothgrad(m, x, 2, 4, 0.2f, 5, 4);
  const Tensor c = smoothgrad(m, x, 2, 4, 0.2f, 6, 3);
  double diff_ab = 0, diff_ac = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    diff_ab = std::max(diff_ab, double(std::fabs(a[i] - b[i])));
    diff_ac = std::max(diff_ac, double(std::fabs(a[i] - c[i])));
  }
  CHECK(diff_ab < 1e-5);  // same seed, different batching: the same samples
  CHECK(diff_ac > 1e-4);  // another seed: other samples
}

// ---- class activation maps --------------------------------------------------------------------

TEST_CASE("grad-cam: a class whose weights pick channels gives those channels' activations") {
  // conv(relu, 3 channels) -> GAP -> dense. Class 0 = 2 * mean(A_1); class 1 = mean(A_0) - 3 mean(A_2).
  // d score / d A_k = w_k / (h w) everywhere, so Grad-CAM = relu(sum_k w_k A_k) / (h w):
  // class 0: 2 A_1 / 20; class 1: relu(A_0 - 3 A_2) / 20.
  Model m;
  m.name = "pick";
  m.layers = {input_layer(), conv_layer("conv", 3, 3, Activation::relu),
              simple_layer("gap", "GlobalAveragePooling2D", LayerType::global_avg_pool2d),
              dense_layer("dense", 2, Activation::linear)};
  m = finish(m, 4, 5, 17);
  m.layers[1].weights[1].value().fill(0.2f);   // most units on
  Tensor& W = m.layers[3].weights[0].value();  // (3, 2)
  W.zero();
  W[1 * 2 + 0] = 2.f;
  W[0 * 2 + 1] = 1.f;
  W[2 * 2 + 1] = -3.f;
  CHECK(default_cam_layer(m) == 1);
  const Tensor x = test::random_tensor({1, 4, 5, 3}, 8, 0.f, 1.f);
  Tensor A;
  {
    NoGrad no_grad;
    A = m.forward(Var::constant(x), 1).value();  // (1, 4, 5, 3)
  }
  Tensor w0, w1;
  const Tensor cam0 = grad_cam(m, x, 0, 1, false, &w0);
  const Tensor cam1 = grad_cam(m, x, 1, 1, false, &w1);
  REQUIRE(cam0.shape() == Shape({4, 5}));
  CHECK(w0[0] == doctest::Approx(0.f));
  CHECK(w0[1] == doctest::Approx(2.f / 20.f));
  CHECK(w1[2] == doctest::Approx(-3.f / 20.f));
  int positive = 0, clipped = 0;
  for (int64_t p = 0; p < 20; ++p) {
    CHECK(cam0[p] == doctest::Approx(2.f * A[p * 3 + 1] / 20.f));
    const float v1 = (A[p * 3 + 0] - 3.f * A[p * 3 + 2]) / 20.f;
    CHECK(cam1[p] == doctest::Approx(std::max(v1, 0.f)));
    positive += A[p * 3 + 1] > 0.f;
    clipped += v1 < 0.f;
  }
  CHECK(positive > 5);  // the example is not degenerate: both branches of the ReLU occur
  CHECK(clipped > 0);
  CHECK(clipped < 20);
  // Grad-CAM++ on class 0: alpha = g^2 / (2 g^2 + S g^3) with g = 0.1 and S = sum A_1, so the
  // weight is 20 * g * alpha = 20 g / (2 + S g) and the map is that times A_1.
  double S = 0;
  for (int64_t p = 0; p < 20; ++p) S += A[p * 3 + 1];
  const double g = 0.1, wpp = 20.0 * g / (2.0 + S * g);
  Tensor wp;
  const Tensor campp = grad_cam(m, x, 0, 1, true, &wp);
  CHECK(wp[1] == doctest::Approx(wpp).epsilon(1e-4));
  CHECK(wp[0] == 0.f);  // no gradient: alpha is 0, not 0/0
  for (int64_t p = 0; p < 20; ++p) CHECK(campp[p] == doctest::Approx(wpp * A[p * 3 + 1]).epsilon(1e-4));
}

TEST_CASE("grad-cam and grad-cam++ after flatten use the dense kernel as the gradient") {
  // tiny_vgg: the score (softmax input) is flatten(P) . W[:, c] + b, with P the pool output
  // (1, 3, 4, 4): d score / d P = W[:, c] reshaped. The reference computes both maps from W.
  const Model m = tiny_vgg();
  CHECK(cam_layer(m, "block1_pool") == 2);
  const Tensor x = test::random_tensor({1, 6, 8, 3}, 4, 0.f, 1.f);
  Tensor P;
  {
    NoGrad no_grad;
    P = m.forward(Var::constant(x), 2).value();
  }
  const Tensor& W = m.layers[4].weights[0].value();  // (48, 3)
  const int cls = 2, hw = 12, K = 4;
  std::vector<double> w_cam(K, 0.0), w_pp(K, 0.0), sum_a(K, 0.0);
  for (int p = 0; p < hw; ++p)
    for (int k = 0; k < K; ++k) sum_a[size_t(k)] += P[p * K + k];
  for (int p = 0; p < hw; ++p)
    for (int k = 0; k < K; ++k) {
      const double gr = W[(p * K + k) * 3 + cls];
      w_cam[size_t(k)] += gr / hw;
      const double a = gr * gr / (2 * gr * gr + sum_a[size_t(k)] * gr * gr * gr);
      w_pp[size_t(k)] += a * std::max(gr, 0.0);
    }
  for (bool pp : {false, true}) {
    const Tensor cam = grad_cam(m, x, cls, 2, pp);
    REQUIRE(cam.shape() == Shape({3, 4}));
    const std::vector<double>& wk = pp ? w_pp : w_cam;
    for (int p = 0; p < hw; ++p) {
      double v = 0;
      for (int k = 0; k < K; ++k) v += wk[size_t(k)] * P[p * K + k];
      CHECK(cam[p] == doctest::Approx(std::max(v, 0.0)).epsilon(1e-4));
    }
  }
}

TEST_CASE("upsample_bilinear: half-pixel centres on a hand example") {
  // 2 -> 4 along an axis: [v0, 0.75 v0 + 0.25 v1, 0.25 v0 + 0.75 v1, v1].
  const Tensor m = Tensor::from({2, 2}, {0.f, 4.f, 8.f, 12.f});
  const Tensor u = upsample_bilinear(m, 4, 4);
  const float row[4] = {0.f, 1.f, 3.f, 4.f};
  const float col[4] = {0.f, 2.f, 6.f, 8.f};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(u[y * 4 + x] == doctest::Approx(row[x] + col[y]));
  const Tensor same = upsample_bilinear(m, 2, 2);
  CHECK(same.to_vector() == m.to_vector());
}

TEST_CASE("attribution: every method gives a finite non-negative map of the input size") {
  const Model m = tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 41, 0.f, 1.f);
  for (const AttributionMethod& method : attribution_methods()) {
    const std::string name = method.name;
    AttributionOptions opt;
    opt.method = name;
    opt.samples = 4;
    opt.steps = 8;
    const Attribution a = compute_attribution(m, x, 1, opt);
    CAPTURE(name);
    CHECK(a.method == &method);
    REQUIRE(a.map.shape() == Shape({8, 10}));
    float mx = 0.f;
    for (int64_t i = 0; i < a.map.numel(); ++i) {
      CHECK(std::isfinite(a.map[i]));
      CHECK(a.map[i] >= 0.f);
      mx = std::max(mx, a.map[i]);
    }
    CHECK(mx > 0.f);
    CHECK(a.display_max > 0.f);
    CHECK(a.score == doctest::Approx(score(m, x, 1)));
    CHECK(a.rgb.defined() == (name == "guided" || name == "guided-gradcam"));
    CHECK(a.layer.empty() != method.uses(AttributionMethod::reads_layer));
  }
  // vanilla's map is max_c |d score / d x|
  AttributionOptions opt;
  opt.method = "vanilla";
  const Attribution a = compute_attribution(m, x, 1, opt);
  const Tensor g = input_gradient(m, x, 1);
  for (int64_t p = 0; p < 80; ++p)
    CHECK(a.map[p] == std::max({std::fabs(g[p * 3]), std::fabs(g[p * 3 + 1]), std::fabs(g[p * 3 + 2])}));
  CHECK(error_of([&] { attribution_method("gradcam+"); }).find("valid: vanilla") != std::string::npos);
  CHECK(error_of([&] { cam_layer(m, "dense_1"); }).find("spatial") != std::string::npos);
  CHECK(error_of([&] { cam_layer(m, "nope"); }).find("no layer named 'nope'") != std::string::npos);
  CHECK(error_of([&] { input_gradient(m, x, 5); }).find("0..4") != std::string::npos);
  CHECK(Tape::current().size() == 0);
}

// ---- the commands -----------------------------------------------------------------------------

namespace {

// A tiny classifier file and a picture for the command-line tests.
struct CliFixture {
  fs::path dir, weights, image, junk;
  CliFixture() {
    dir = test::temp_dir("saliency_cli");
    weights = dir / "tiny.h5";
    save_model(tiny_vgg(), weights.string(), KerasLayout::model);
    image = dir / "pic.png";
    Canvas c(30, 20, {200, 120, 40});
    c.fill_rect(5, 5, 10, 8, {20, 40, 220});
    write_png(c, image.string());
    junk = dir / "junk.png";
    std::ofstream(junk, std::ios::binary) << "this is not a picture";
  }
  ~CliFixture() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("saliency and occlusion commands: bad inputs exit 2 with one line and write nothing") {
  CliFixture f;
  const fs::path out = f.dir / "out";
  const std::string W = f.weights.string(), I = f.image.string(), O = out.string();
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"saliency", "--weights", W, "--image", I, "--layer", "nope", "--out", O}, "no layer named 'nope'"},
      {{"saliency", "--weights", W, "--image", I, "--layer", "predictions", "--out", O}, "spatial output"},
      {{"saliency", "--weights", W, "--image", I, "--class", "3", "--out", O}, "3 classes (0..2)"},
      {{"saliency", "--weights", W, "--image", I, "--class", "-1", "--out", O}, "(0..2)"},
      {{"saliency", "--weights", W, "--image", I, "--class", "tabby", "--out", O}, "not an index in 0..2"},
      {{"saliency", "--weights", W, "--image", f.junk.string(), "--out", O}, "junk.png"},
      {{"saliency", "--weights", W, "--image", I, "--method", "lime", "--out", O}, "valid: vanilla"},
      {{"saliency", "--weights", W, "--image", I, "--method", "vanilla", "--layer", "block1_pool", "--out", O},
       "--layer applies to"},
      {{"saliency", "--weights", W, "--image", I, "--out", f.weights.string() + "/sub"}, "output directory"},
      {{"saliency", "--weights", W, "--image", I, "--bogus", "1"}, "bogus"},
      {{"occlusion", "--weights", W, "--image", I, "--patch", "3", "--class", "7", "--out", O}, "3 classes (0..2)"},
      {{"occlusion", "--weights", W, "--image", I, "--patch", "9", "--out", O}, "patch 9"},
      {{"occlusion", "--weights", W, "--image", I, "--patch", "3", "--fill", "250,128", "--out", O}, "--fill"},
      {{"occlusion", "--weights", W, "--image", I, "--patch", "3", "--fill", "250,128,300", "--out", O}, "--fill"},
      {{"occlusion", "--weights", W, "--image", f.junk.string(), "--patch", "3", "--out", O}, "junk.png"},
      {{"occlusion", "--weights", W, "--image", I, "--patch", "3", "--out", f.weights.string() + "/sub"}, "output directory"},
  };
  for (const Case& c : cases) {
    const test::CliResult r = test::run_vis_tool(c.args);
    CAPTURE(c.args[0]);
    CAPTURE(r.err);
    CHECK(r.rc == 2);
    CHECK(r.one_line_error());
    CHECK(r.err.find(c.expect) != std::string::npos);
    CHECK(dir_is_empty_or_missing(out));
  }
}

TEST_CASE("saliency and occlusion commands: a tiny model writes its pictures") {
  CliFixture f;
  const fs::path out = f.dir / "out";
  const std::string W = f.weights.string(), I = f.image.string();
  const test::CliResult r =
      test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--method", "integrated", "--steps", "20",
                          "--class", "1", "--out", out.string()});
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("class 1 'class 1'") != std::string::npos);
  CHECK(r.out.find("(the softmax's input)") != std::string::npos);
  CHECK(r.out.find("from black: sum of attributions") != std::string::npos);
  CHECK(fs::exists(out / "pic_integrated_1.png"));
  CHECK(fs::exists(out / "pic_integrated_1_map.png"));
  const test::CliResult g = test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--out", out.string()});
  CAPTURE(g.err);
  REQUIRE(g.rc == 0);
  // 6x8 input: no layer reaches 7x7, so the finest spatial layer, block1_conv1 (6x8), not the
  // 3x4 pool; said so.
  CHECK(g.out.find("layer 'block1_conv1' (the default") != std::string::npos);
  const test::CliResult l = test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--method", "guided-gradcam",
                                                "--layer", "block1_conv1", "--class", "2", "--out", out.string()});
  CAPTURE(l.err);
  REQUIRE(l.rc == 0);
  CHECK(fs::exists(out / "pic_guided-gradcam_2_block1_conv1.png"));
  const test::CliResult o = test::run_vis_tool(
      {"occlusion", "--weights", W, "--image", I, "--patch", "3", "--stride", "2", "--class", "0", "--out", out.string()});
  CAPTURE(o.err);
  REQUIRE(o.rc == 0);
  for (const char* s : {"_sheet", "_heatmap", "_overlay", "_mask"})
    CHECK(fs::exists(out / (std::string("pic_occlusion_0") + s + ".png")));
  // Nothing but the PNGs: no temporary files left behind.
  for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().extension() == ".png");
  // Without --patch and --stride: from the input (6 x 8 -> patch 1, stride 1), said so.
  const test::CliResult d = test::run_vis_tool({"occlusion", "--weights", W, "--image", I, "--out", out.string()});
  CAPTURE(d.err);
  REQUIRE(d.rc == 0);
  CHECK(test::contains(d.out, "patch 1, stride 1 (from the input size), fill: zero after preprocessing"));
}

// ---- the real model -------------------------------------------------------------------------

TEST_CASE("acceptance: Grad-CAM and occlusion peaks lie inside the espresso cup") {
  const std::string data = test::shared_data_dir();
  if (data.empty()) {
    MESSAGE("skipped: ../shared/data is absent");
    return;
  }
  const Model m = load_model(data + "/models/darknet_tiny_imagenet.h5");
  const Image photo = load_image(data + "/images/coffee.png");
  REQUIRE(photo.width == 600);
  REQUIRE(photo.height == 400);
  const int h = m.built_h(), w = m.built_w();
  const Tensor pixels = resize_bilinear(photo, h, w);
  const Tensor x = preprocess(pixels, Preprocess::unit);
  const int cls = top_class(m, x);
  CHECK(cls == 946);  // espresso in Darknet's order (darknet_tiny_class_index.json)
  // The cup: x 170..410, y 15..300 in the 600x400 photo.
  auto inside = [](double px, double py) { return px >= 170 && px <= 410 && py >= 15 && py <= 300; };

  AttributionOptions opt;
  opt.method = "gradcam";
  const Attribution a = compute_attribution(m, x, cls, opt);
  CHECK(a.layer == "conv2d_16");
  const int64_t peak = std::max_element(a.map.data(), a.map.data() + a.map.numel()) - a.map.data();
  const double gx = (double(peak % w) + 0.5) * 600.0 / w, gy = (double(peak / w) + 0.5) * 400.0 / h;
  MESSAGE("Grad-CAM peak in the photo: (" << gx << ", " << gy << ")");
  CHECK(inside(gx, gy));

  OcclusionOptions oo;  // the command line's defaults at 224: patch 56, stride 28, zero fill
  default_occlusion_geometry(h, w, &oo.patch, &oo.stride);
  const Occlusion o = occlusion_map(m, pixels, Preprocess::unit, cls, oo);
  const int64_t best = std::max_element(o.drop.data(), o.drop.data() + o.drop.numel()) - o.drop.data();
  const int by = o.rows[size_t(best) / o.cols.size()], bx = o.cols[size_t(best) % o.cols.size()];
  const double ox = (bx + 28.0) * 600.0 / w, oy = (by + 28.0) * 400.0 / h;
  MESSAGE("occlusion peak (patch centre) in the photo: (" << ox << ", " << oy << "), drop " << o.drop[best]);
  CHECK(inside(ox, oy));
}
