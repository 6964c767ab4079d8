// Activation maximisation: the Fourier parametrisation against a naive DFT, gradient checks of
// the image ops, the seed method's step against finite differences, batching that changes
// nothing, errors, the command line, and (with ../shared) the acceptance figures on darknet.
#include <cmath>
#include <memory>
#include <complex>
#include <cstdlib>
#include <filesystem>

#include "engine/model_io.h"
#include "engine/ops_image.h"
#include "kernels/warp.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/image.h"
#include "vis/maximize.h"

using namespace convis;
using convis::test::check_gradients;
using convis::test::random_tensor;

namespace {

using convis::test::error_of;

// numpy.fft.irfft2 by its definition: complete the half spectrum X (H x Wf) to a Hermitian full
// spectrum F (H x W), F[-j, -k] = conj F[j, k] (the DC and Nyquist columns, which are their own
// mirror images, get their Hermitian part), then the plain inverse DFT in complex double.
std::vector<std::complex<double>> naive_irfft2(const std::vector<std::complex<double>>& X, int H, int W) {
  const int Wf = W / 2 + 1;
  std::vector<std::complex<double>> F(size_t(H * W));
  for (int j = 0; j < H; ++j)
    for (int k = 0; k < Wf; ++k) {
      const int mj = (H - j) % H, mk = (W - k) % W;
      const std::complex<double> x = X[size_t(j * Wf + k)];
      if (mk == k) {  // k == 0, or k == W/2 for even W
        F[size_t(j * W + k)] += 0.5 * x;
        F[size_t(mj * W + k)] += 0.5 * std::conj(x);
      } else {
        F[size_t(j * W + k)] = x;
        F[size_t(mj * W + mk)] = std::conj(x);
      }
    }
  std::vector<std::complex<double>> img(size_t(H * W));
  const double two_pi = 6.283185307179586;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      std::complex<double> acc = 0.0;
      for (int j = 0; j < H; ++j)
        for (int k = 0; k < W; ++k)
          acc += F[size_t(j * W + k)] * std::polar(1.0, two_pi * (double(j) * y / H + double(k) * x / W));
      img[size_t(y * W + x)] = acc / double(H * W);
    }
  return img;
}

Layer conv_layer(const std::string& name, int filters, Activation act) {
  Layer l;
  l.name = name;
  l.class_name = "Conv2D";
  l.type = LayerType::conv2d;
  l.filters = filters;
  l.kernel_h = l.kernel_w = 3;
  l.padding = Padding::same;
  l.activation = act;
  return l;
}

// input 12x12x3 -> conv1 (4, relu) -> pool -> conv2 (5, relu) -> flatten -> predictions (6, softmax).
// Small random biases so that no ReLU starts dead everywhere.
Model tiny_model() {
  Model m;
  m.name = "tiny";
  m.input_h = m.input_w = 12;
  m.input_c = 3;
  Layer in;
  in.name = "input_1";
  in.class_name = "InputLayer";
  m.layers.push_back(in);
  m.layers.push_back(conv_layer("conv1", 4, Activation::relu));
  Layer pool;
  pool.name = "pool1";
  pool.class_name = "MaxPooling2D";
  pool.type = LayerType::max_pool2d;
  pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
  m.layers.push_back(pool);
  m.layers.push_back(conv_layer("conv2", 5, Activation::relu));
  Layer flat;
  flat.name = "flatten";
  flat.class_name = "Flatten";
  flat.type = LayerType::flatten;
  m.layers.push_back(flat);
  Layer d;
  d.name = "predictions";
  d.class_name = "Dense";
  d.type = LayerType::dense;
  d.units = 6;
  d.activation = Activation::softmax;
  m.layers.push_back(d);
  m.build();
  init_he_normal(m, 7);
  uint32_t seed = 11;
  for (Layer& l : m.layers)
    if (l.weights.size() > 1) l.weights[1].value() = random_tensor(l.weights[1].shape(), seed++, -0.1f, 0.1f);
  return m;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double d = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

}  // namespace

TEST_CASE("maximize: irfft2_image matches a naive inverse DFT of the Hermitian spectrum") {
  const int sizes[][2] = {{5, 6}, {6, 5}, {4, 4}, {7, 9}};
  for (const auto& hw : sizes) {
    const int H = hw[0], W = hw[1], Wf = W / 2 + 1, N = 2, C = 3;
    CAPTURE(H); CAPTURE(W);
    const Tensor spec = random_tensor({N, C, H, 2 * Wf}, uint32_t(H * 10 + W));
    const Tensor img = irfft2_image(Var::constant(spec), W).value();
    REQUIRE(img.shape() == Shape{N, H, W, C});
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) {
        std::vector<std::complex<double>> X(size_t(H * Wf));
        for (int i = 0; i < H * Wf; ++i)
          X[size_t(i)] = {spec[((int64_t(n) * C + c) * H * Wf + i) * 2], spec[((int64_t(n) * C + c) * H * Wf + i) * 2 + 1]};
        const auto want = naive_irfft2(X, H, W);
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            REQUIRE(std::fabs(want[size_t(y * W + x)].imag()) < 1e-12);  // the completion is Hermitian
            REQUIRE(img.at(n, y, x, c) == doctest::Approx(want[size_t(y * W + x)].real()).epsilon(1e-4).scale(1.0));
          }
      }
  }
}

TEST_CASE("maximize: fourier_scale is sqrt(hw) over the radial frequency") {
  const std::vector<float> s = fourier_scale(8, 6);  // (8, 4) values
  REQUIRE(s.size() == 32);
  const double unitary = std::sqrt(48.0);
  CHECK(s[0] == doctest::Approx(unitary * 8.0));                // DC: floor 1/max(h, w)
  CHECK(s[1] == doctest::Approx(unitary * 6.0));                // fx = 1/6
  CHECK(s[1 * 4 + 0] == doctest::Approx(unitary * 8.0));        // fy = 1/8 equals the floor
  CHECK(s[7 * 4 + 0] == doctest::Approx(unitary * 8.0));        // row 7 is frequency -1/8
  CHECK(s[4 * 4 + 3] == doctest::Approx(unitary / std::sqrt(0.25 + 0.25)));  // (1/2, 1/2)
  CHECK(s[2 * 4 + 2] == doctest::Approx(unitary / std::sqrt(1.0 / 16 + 1.0 / 9)));
}

TEST_CASE("gradcheck image ops: irfft2_image / mix_channels / affine_warp") {
  Var spec = Var::param(random_tensor({2, 3, 5, 2 * 4}, 1));
  check_gradients("irfft2_image 5x7", [](const std::vector<Var>& v) { return irfft2_image(v[0], 7); }, {spec});
  Var spec_even = Var::param(random_tensor({1, 2, 4, 2 * 4}, 2));
  check_gradients("irfft2_image 4x6", [](const std::vector<Var>& v) { return irfft2_image(v[0], 6); }, {spec_even});

  Var x = Var::param(random_tensor({2, 5, 7, 3}, 3));
  const Tensor m = random_tensor({3, 2}, 4), b = random_tensor({2}, 5);
  check_gradients("mix_channels", [&](const std::vector<Var>& v) { return mix_channels(v[0], m, b); }, {x});

  // Shift, scale and rotation together, a different output size, samples falling outside.
  const std::vector<Affine2d> maps = {centred_affine(5, 7, 1.1f, 4.f, 1.f, -2.f),
                                      centred_affine(5, 7, 0.9f, -5.f, -0.5f, 0.3f)};
  check_gradients("affine_warp", [&](const std::vector<Var>& v) { return affine_warp(v[0], maps, 6, 4, 0.5f); }, {x});
}

TEST_CASE("maximize: affine_warp shifts / rotates counter-clockwise / scales about the centre and fills outside") {
  // One bright pixel one step right of the centre of a 5x5 image.
  Tensor img = Tensor::zeros({1, 5, 5, 1});
  img.at(0, 2, 3, 0) = 1.f;
  auto warp = [&](float scale, float degrees, float dx, float dy) {
    return affine_warp(Var::constant(img), {centred_affine(5, 5, scale, degrees, dx, dy)}, 5, 5, 0.25f).value();
  };
  const Tensor same = warp(1.f, 0.f, 0.f, 0.f);
  CHECK(max_abs_diff(same, img) < 1e-6);
  const Tensor shifted = warp(1.f, 0.f, 1.f, -2.f);  // right 1, up 2: to (row 0, col 4)
  CHECK(shifted.at(0, 0, 4, 0) == doctest::Approx(1.f));
  CHECK(shifted.at(0, 4, 0, 0) == doctest::Approx(0.25f));  // read from below the image: fill
  const Tensor turned = warp(1.f, 90.f, 0.f, 0.f);         // right of centre -> above it
  CHECK(turned.at(0, 1, 2, 0) == doctest::Approx(1.f).epsilon(1e-5));
  CHECK(turned.at(0, 2, 3, 0) == doctest::Approx(0.f).scale(1.0).epsilon(1e-5));
  const Tensor zoomed = warp(2.f, 0.f, 0.f, 0.f);  // offset 1 -> 2, spread over a 3-pixel tent
  CHECK(zoomed.at(0, 2, 4, 0) == doctest::Approx(1.f));
  CHECK(zoomed.at(0, 2, 3, 0) == doctest::Approx(0.5f));
}

TEST_CASE("maximize: preprocess_affine equals preprocess() for every mode / RGB and grey") {
  for (Preprocess p : {Preprocess::caffe, Preprocess::unit, Preprocess::tf, Preprocess::torch})
    for (int c : {3, 1}) {
      CAPTURE(preprocess_name(p)); CAPTURE(c);
      const Tensor pixels = random_tensor({4, 5, c}, 9, 0.f, 255.f);
      const Tensor want = preprocess(pixels, p);
      Tensor m, b;
      preprocess_affine(p, c, &m, &b);
      const Tensor got = mix_channels(Var::constant(pixels.reshape({1, 4, 5, c})), m, b).value();
      CHECK(max_abs_diff(got, want) < 1e-4);
    }
}

TEST_CASE("maximize: gaussian blur keeps constants and spreads an impulse as a unit-sum Gaussian") {
  Tensor x = Tensor::full({1, 9, 9, 2}, 3.f);
  gaussian_blur_nhwc(x.data(), 1, 9, 9, 2, 1.f);
  for (int64_t i = 0; i < x.numel(); ++i) REQUIRE(x[i] == doctest::Approx(3.f));
  Tensor d = Tensor::zeros({1, 11, 11, 1});
  d.at(0, 5, 5, 0) = 1.f;
  gaussian_blur_nhwc(d.data(), 1, 11, 11, 1, 1.f);
  double total = 0.0;
  for (int64_t i = 0; i < d.numel(); ++i) total += d[i];
  CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
  // Taps -3..3 of exp(-i^2/2), normalised: the centre is (1/Z)^2, one step away e^{-1/2}/Z^2.
  double z = 0.0;
  for (int i = -3; i <= 3; ++i) z += std::exp(-0.5 * i * i);
  CHECK(d.at(0, 5, 5, 0) == doctest::Approx(1.0 / (z * z)).epsilon(1e-5));
  CHECK(d.at(0, 5, 6, 0) == doctest::Approx(std::exp(-0.5) / (z * z)).epsilon(1e-5));
}

TEST_CASE("maximize: seed method loss rises over the iterations") {
  const Model m = tiny_model();
  MaximizeOptions opt;
  opt.method = MaximizeMethod::seed;
  opt.iters = 40;
  opt.seed = 3;
  opt.pre_relu = true;  // a ReLU that starts dead everywhere has no gradient to follow
  const auto r = maximize(m, "conv2", {0, 1, 2, 3, 4}, opt);
  REQUIRE(r.size() == 5);
  for (const auto& x : r) {
    CAPTURE(x.filter);
    REQUIRE(x.losses.size() == 40);
    CHECK(x.losses.back() > x.losses.front() + 0.05f);
    int rises = 0;
    for (size_t i = 1; i < x.losses.size(); ++i) rises += x.losses[i] > x.losses[i - 1];
    CHECK(rises >= 35);
    CHECK(x.activation > x.losses.back());  // the final image is one step further
  }
}

TEST_CASE("maximize: one seed step equals finite differences normalised and added") {
  const Model m = tiny_model();
  struct Case { const char* layer; int filter; bool pre; };
  for (const Case& c : {Case{"conv2", 2, true}, Case{"conv1", 1, false}, Case{"predictions", 4, false}}) {
    const std::string layer = c.layer;
    CAPTURE(layer);
    MaximizeOptions opt;
    opt.method = MaximizeMethod::seed;
    opt.seed = 5;
    opt.pre_relu = c.pre;
    opt.iters = 0;
    Maximizer mx(m, c.layer, opt);
    const Tensor x0 = mx.run({c.filter})[0].input;
    opt.iters = 1;
    opt.step = 0.1f;
    const Tensor x1 = Maximizer(m, c.layer, opt).run({c.filter})[0].input;
    // Independent gradient: central differences of the objective, one pixel at a time.
    Tensor g(x0.shape());
    Tensor probe = x0.clone();
    const float h = 3e-3f;  // small enough to cross no ReLU or pooling kink here
    for (int64_t i = 0; i < x0.numel(); ++i) {
      probe[i] = x0[i] + h;
      const double up = mx.activation(probe, c.filter)[0];
      probe[i] = x0[i] - h;
      const double down = mx.activation(probe, c.filter)[0];
      probe[i] = x0[i];
      g[i] = float((up - down) / (2.0 * h));
    }
    double norm = 0.0;
    for (int64_t i = 0; i < g.numel(); ++i) norm += double(g[i]) * g[i];
    norm = std::sqrt(norm);
    REQUIRE(norm > 0.0);
    double err = 0.0;
    for (int64_t i = 0; i < g.numel(); ++i) {
      const double want = x0[i] + 0.1 * g[i] / norm;
      err += (x1[i] - want) * (x1[i] - want);
    }
    MESSAGE(layer << ": |step - finite-difference step| = " << std::sqrt(err));
    CHECK(std::sqrt(err) < 0.1 * 2e-3);  // within 0.2% of the step's length
  }
}

TEST_CASE("maximize: a batch gives the same images as one filter at a time (seed / lucid / yosinski)") {
  const Model m = tiny_model();
  for (MaximizeMethod method : {MaximizeMethod::seed, MaximizeMethod::lucid, MaximizeMethod::yosinski}) {
    CAPTURE(maximize_method_name(method));
    MaximizeOptions opt;
    opt.method = method;
    opt.iters = method == MaximizeMethod::lucid ? 6 : 9;  // yosinski blurs at step 4 and 8
    opt.seed = 42;
    opt.size = 12;
    opt.batch = 4;
    const std::vector<int> filters = {3, 0, 2, 1};
    const auto together = maximize(m, "conv2", filters, opt);
    opt.batch = 3;  // chunks of 3 + 1
    const auto chunked = maximize(m, "conv2", filters, opt);
    opt.batch = 1;
    for (size_t k = 0; k < filters.size(); ++k) {
      CAPTURE(filters[k]);
      const auto alone = maximize(m, "conv2", {filters[k]}, opt);
      REQUIRE(together[k].filter == filters[k]);
      // Relative to the input's own scale (yosinski works in pixels 0..255).
      double scale = 0.0;
      for (int64_t i = 0; i < alone[0].input.numel(); ++i) scale = std::max(scale, double(std::fabs(alone[0].input[i])));
      CHECK(max_abs_diff(together[k].input, alone[0].input) <= 1e-5 * scale);
      CHECK(max_abs_diff(chunked[k].input, alone[0].input) <= 1e-5 * scale);
      CHECK(max_abs_diff(together[k].image, alone[0].image) <= 1e-5);
      CHECK(together[k].activation == doctest::Approx(alone[0].activation).epsilon(1e-4));
    }
    // Different filters get different pictures (the per-filter seeds differ).
    CHECK(max_abs_diff(together[0].input, together[1].input) > 1e-3);
  }
}

TEST_CASE("maximize: chunks of the batch size bound the memory of many filters") {
  const Model m = tiny_model();
  MaximizeOptions opt;
  opt.method = MaximizeMethod::lucid;
  opt.iters = 2;
  opt.batch = 2;
  opt.size = 32;
  auto peak_of = [&](const std::vector<int>& filters) {
    const int64_t base = Tensor::live_bytes();
    int64_t peak = 0;
    Maximizer(m, "conv1", opt).run(filters, [&](int, const std::vector<int>& f, const std::vector<float>&) {
      CHECK(f.size() <= 2);
      peak = std::max(peak, Tensor::live_bytes() - base);
    }, [](MaximizeResult&&) {});
    return peak;
  };
  const int64_t two = peak_of({0, 1}), eight = peak_of({0, 1, 2, 3, 0, 1, 2, 3});
  CHECK(two > 0);
  CHECK(double(eight) < 1.5 * double(two));
}

TEST_CASE("maximize: a softmax layer is maximised through its logit") {
  const Model m = tiny_model();
  MaximizeOptions opt;
  opt.method = MaximizeMethod::seed;
  opt.iters = 3;
  Maximizer mx(m, "predictions", opt);
  CHECK(mx.pre_activation());
  REQUIRE(mx.notes().size() == 1);
  CHECK(mx.notes()[0].find("logit") != std::string::npos);
  CHECK(mx.dense());
  CHECK(mx.num_filters() == 6);
  const auto r = mx.run({4});
  NoGrad no_grad;
  const Tensor logits = m.forward(Var::constant(r[0].input), -1, true).value();
  CHECK(r[0].activation == doctest::Approx(logits[4]).epsilon(1e-5));
}

TEST_CASE("maximize: bad layers / filters and sizes are one-line errors naming the valid range") {
  const Model m = tiny_model();
  MaximizeOptions opt;
  CHECK(error_of([&] { Maximizer(m, "conv9", opt); }).find("valid names: input_1, conv1, pool1") != std::string::npos);
  Maximizer mx(m, "conv2", opt);
  CHECK(error_of([&] { mx.check_filter(5); }) == "filter 5 out of range: conv2 has 5 filters (0..4)");
  CHECK(error_of([&] { mx.check_filter(-1); }) == "filter -1 out of range: conv2 has 5 filters (0..4)");
  CHECK(error_of([&] { Maximizer(m, "predictions", opt).check_filter(6); }) ==
        "filter 6 out of range: predictions has 6 units (0..5)");
  opt.size = 16;
  CHECK(error_of([&] { Maximizer(m, "predictions", opt); }).find("flattens them at layer 'flatten'") !=
        std::string::npos);
  CHECK(error_of([&] { Maximizer(m, "conv2", opt); }).empty());  // no flatten before conv2: any size
  CHECK(error_of([&] { Maximizer(m, "input_1", MaximizeOptions{}); }).find("is the model's input") != std::string::npos);
  CHECK(parse_maximize_method("yosinski") == MaximizeMethod::yosinski);
  CHECK(error_of([&] { parse_maximize_method("deepdream"); }) == "unknown method 'deepdream' (lucid, seed, yosinski)");
}

TEST_CASE("maximize: weights are frozen while optimising and restored after") {
  const Model m = tiny_model();
  m.set_trainable(true);
  {
    MaximizeOptions opt;
    opt.iters = 1;
    opt.method = MaximizeMethod::seed;
    Maximizer mx(m, "conv2", opt);
    CHECK_FALSE(m.layers[1].weights[0].requires_grad());
    mx.run({0});
    CHECK_FALSE(m.layers[1].weights[0].has_grad());  // no weight-gradient work was done
  }
  CHECK(m.layers[1].weights[0].requires_grad());
}

TEST_CASE("maximize: high-frequency measures of noise / smooth and striped images") {
  const Tensor noise = random_tensor({64, 64, 3}, 1, 0.f, 1.f);
  CHECK(high_frequency_fraction(noise) == doctest::Approx(1.0 - 3.14159265 / 16).epsilon(0.04));
  CHECK(neighbour_roughness(noise) == doctest::Approx(1.0).epsilon(0.05));
  Tensor smooth({32, 32, 1}), stripes({32, 32, 1});
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      smooth[y * 32 + x] = float(std::cos(6.2831853 * (2.0 * x + y) / 32.0));   // |f| = sqrt(5)/32
      stripes[y * 32 + x] = float(std::cos(6.2831853 * 12.0 * x / 32.0));        // f = 0.375
    }
  CHECK(high_frequency_fraction(smooth) < 1e-9);
  CHECK(high_frequency_fraction(stripes) == doctest::Approx(1.0));
  // cos(2 pi f x): neighbour difference^2 averages 2 sin^2(pi f) A^2 / 2 ... over variance A^2/2.
  CHECK(neighbour_roughness(smooth) < 0.05);
  CHECK(high_frequency_fraction(Tensor::full({8, 8, 3}, 0.3f)) == 0.0);
}

TEST_CASE("maximize: a one-channel model gets grey pictures at its own fixed size") {
  Model m;
  m.name = "grey";
  m.input_h = m.input_w = 10;
  m.input_c = 1;
  Layer in;
  in.name = "input_1";
  in.class_name = "InputLayer";
  m.layers.push_back(in);
  m.layers.push_back(conv_layer("conv1", 3, Activation::linear));
  m.build();
  init_he_normal(m, 3);
  for (MaximizeMethod method : {MaximizeMethod::seed, MaximizeMethod::lucid, MaximizeMethod::yosinski}) {
    CAPTURE(maximize_method_name(method));
    MaximizeOptions opt;
    opt.method = method;
    opt.iters = 20;
    const auto r = maximize(m, "conv1", {1}, opt);
    REQUIRE(r[0].image.shape() == Shape{10, 10, 1});
    REQUIRE(r[0].input.shape() == Shape{1, 10, 10, 1});
    for (int64_t i = 0; i < r[0].image.numel(); ++i) REQUIRE((r[0].image[i] >= 0.f && r[0].image[i] <= 1.f));
    CHECK(r[0].activation > r[0].losses.front());
  }
}

// ---- the command line -----------------------------------------------------------------------

TEST_CASE("maximize cli: writes one titled PNG per filter and a sheet / bad inputs write nothing") {
  namespace fs = std::filesystem;
  using convis::test::run_vis_tool;
  const fs::path dir = convis::test::temp_dir("maximize_cli");
  const Model m = tiny_model();
  const std::string weights = (dir / "tiny.h5").string();
  save_model(m, weights, KerasLayout::model);
  const fs::path out = dir / "out";

  auto r = run_vis_tool({"maximize", "--weights", weights, "--layer", "conv2", "--filters", "1-3", "--method", "seed",
                         "--iters", "10", "--seed", "1", "--out", out.string()});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("Iteration: 0, Filter: 1, Loss: ") != std::string::npos);
  CHECK(fs::exists(out / "conv2_1_seed.png"));
  CHECK(fs::exists(out / "conv2_3_seed.png"));
  CHECK(fs::exists(out / "conv2_seed_sheet.png"));
  CHECK(r.out.find((out / "conv2_seed_sheet.png").string()) != std::string::npos);

  const fs::path bad = dir / "bad";
  r = run_vis_tool({"maximize", "--weights", weights, "--layer", "conv7", "--filter", "1", "--out", bad.string()});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(r.err.find("valid names: input_1, conv1") != std::string::npos);
  r = run_vis_tool({"maximize", "--weights", weights, "--layer", "conv2", "--filter", "600", "--out", bad.string()});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(r.err.find("filter 600 out of range: conv2 has 5 filters (0..4)") != std::string::npos);
  r = run_vis_tool({"maximize", "--weights", weights, "--layer", "conv2", "--out", bad.string()});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK_FALSE(fs::exists(bad));
  fs::remove_all(dir);
}

// ---- acceptance on the real model (../shared) -----------------------------------------------

// Lucid's pictures must excite a late filter of the real ImageNet model several times more than
// the photos that excite it most, and be smoother than the seed method's. Fast by default (96 px,
// 48 steps, one filter: a few seconds); CONVIS_MAXIMIZE_FULL=1 runs the real settings (224 px,
// 512 / 500 steps, three filters: minutes) and prints the figures the README quotes.
TEST_CASE("maximize acceptance: lucid beats the photos and is smoother than seed on darknet") {
  const std::string data = convis::test::shared_data_dir();
  if (data.empty()) {
    MESSAGE("skipped: ../shared/data not found");
    return;
  }
  const bool full = std::getenv("CONVIS_MAXIMIZE_FULL") != nullptr;
  const Model m = load_model(data + "/models/darknet_tiny_imagenet.h5");
  const std::string layer = "leaky_re_lu_14";  // after the last 3x3 conv (conv2d_14, 512 filters) and its BN
  // The filters the photos excite most (rocket, espresso, cat), so the photos get their best shot.
  const std::vector<int> filters = full ? std::vector<int>{492, 32, 429} : std::vector<int>{492};
  const char* photos[] = {"cat_chelsea.png", "coffee.png", "rocket.jpg"};
  const Maximizer at224(m, layer, MaximizeOptions{});
  MaximizeOptions lucid;
  lucid.seed = 1;
  lucid.size = full ? 0 : 96;
  lucid.iters = full ? 512 : 48;
  MaximizeOptions seed = lucid;
  seed.method = MaximizeMethod::seed;
  seed.iters = full ? 500 : 48;
  const auto rl = maximize(m, layer, filters, lucid);
  const auto rs = maximize(m, layer, filters, seed);
  for (size_t k = 0; k < filters.size(); ++k) {
    float best = -1e30f;
    std::string which;
    for (const char* p : photos) {
      const float a = at224.activation(load_input(data + "/images/" + p, 224, 224, 3, Preprocess::unit), filters[k])[0];
      if (a > best) { best = a; which = p; }
    }
    const double hf_l = high_frequency_fraction(rl[k].image), hf_s = high_frequency_fraction(rs[k].image);
    const double ro_l = neighbour_roughness(rl[k].image), ro_s = neighbour_roughness(rs[k].image);
    MESSAGE(layer << " filter " << filters[k] << ": best photo " << which << " " << best << "; lucid " << rl[k].activation
                  << " (" << rl[k].activation / best << "x), seed " << rs[k].activation << "; high-frequency fraction lucid "
                  << hf_l << " seed " << hf_s << "; roughness lucid " << ro_l << " seed " << ro_s);
    CHECK(best > 0.3f);  // the photos do excite these filters
    CHECK(rl[k].activation > 3.f * best);
    CHECK(hf_l < 0.5 * hf_s);
    CHECK(ro_l < 0.5 * ro_s);
  }
}

TEST_CASE("maximize: overlapping Maximizers on one model, ended out of order, still work / the cache headroom comes back") {
  const Model m = tiny_model();
  m.set_trainable(true);
  MaximizeOptions opt;
  opt.method = MaximizeMethod::seed;
  opt.size = 12;
  const double headroom = Tensor::cache_headroom();
  const Tensor x = convis::test::random_tensor(Shape{2, 12, 12, 3}, 77u, 0.f, 1.f);
  Tensor g_alone, g_after;
  {
    const Maximizer alone(m, "conv2", opt);
    alone.input_gradient(x, {1, 3}, &g_alone);
  }
  auto a = std::make_unique<Maximizer>(m, "conv2", opt);
  auto b = std::make_unique<Maximizer>(m, "conv2", opt);
  CHECK(Tensor::cache_headroom() == doctest::Approx(1.25));
  a.reset();  // restores trainable weights while b still runs
  CHECK(Tensor::cache_headroom() == doctest::Approx(1.25));
  b->input_gradient(x, {1, 3}, &g_after);  // the full output path now: same gradient
  REQUIRE(g_after.shape() == g_alone.shape());
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < g_alone.numel(); ++i) {
    diff = std::max(diff, double(std::fabs(g_after[i] - g_alone[i])));
    scale = std::max(scale, double(std::fabs(g_alone[i])));
  }
  REQUIRE(scale > 0);
  CHECK(diff / scale < 1e-5);
  b.reset();
  CHECK(Tensor::cache_headroom() == doctest::Approx(headroom));
}
