// Activation maximisation's objectives and defaults: the neuron objective and the receptive
// field that picks it, the redirected ReLU gradient of a target that is 0 everywhere, the
// yosinski step (normalised, so that it does not depend on the gradient's scale), and what the
// command line calls dead.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/autograd.h"
#include "engine/model_io.h"
#include "tests/cli_util.h"
#include "tests/maximize_models.h"
#include "tests/util.h"
#include "vis/maximize.h"
#include "vis/maximize_method.h"

using namespace convis;
using convis::test::contains;
using convis::test::random_tensor;
using convis::test::tiny_model;

TEST_CASE("maximize: the receptive field picks the neuron objective for early layers") {
  const Model m = tiny_model();  // 12x12: conv1 3x3 (field 3), pool 2x2 (4), conv2 3x3 (4 + 2 x 2 = 8)
  MaximizeOptions opt;
  const Maximizer first(m, "conv1", opt);
  CHECK(first.receptive_field() == 3);
  CHECK(first.neuron());  // 4 x 3 <= 12
  CHECK(first.height() == 12);  // max(16, 4 x 3) capped at the model's 12
  CHECK(first.notes().size() == 1);
  CHECK(contains(first.notes()[0], "sees 3x3 pixels: maximising the centre unit"));
  const Maximizer pool(m, "pool1", opt);
  CHECK(pool.receptive_field() == 4);
  CHECK(!pool.neuron());  // 16 > 12
  const Maximizer second(m, "conv2", opt);
  CHECK(second.receptive_field() == 8);
  CHECK(!second.neuron());
  // Asked for: either way, and never for a dense layer.
  opt.objective = MaximizeObjective::channel;
  CHECK(!Maximizer(m, "conv1", opt).neuron());
  opt.objective = MaximizeObjective::neuron;
  CHECK(Maximizer(m, "conv2", opt).neuron());
  CHECK(!Maximizer(m, "predictions", opt).neuron());
  // A size given keeps the channel objective unless neuron is asked for.
  MaximizeOptions sized;
  sized.size = 12;
  CHECK(!Maximizer(m, "conv1", sized).neuron());
  CHECK(parse_maximize_objective("neuron") == MaximizeObjective::neuron);
  CHECK(test::error_of([] { parse_maximize_objective("centre"); }) == "unknown objective 'centre' (channel, neuron)");
}

TEST_CASE("maximize: the neuron objective is the centre unit, and its gradient is that unit's") {
  const Model m = tiny_model();
  MaximizeOptions opt;
  opt.objective = MaximizeObjective::neuron;
  opt.pre_relu = true;  // conv2 before its ReLU
  const Maximizer mx(m, "conv2", opt);
  const Tensor x = random_tensor({2, 12, 12, 3}, 5, 0.f, 1.f);
  Tensor y;
  {
    NoGrad no_grad;
    y = m.forward(Var::constant(x), m.layer_index("conv2"), true).value();  // (2, 6, 6, 5)
  }
  const std::vector<float> a = mx.activation(x, 3);
  for (int b = 0; b < 2; ++b) CHECK(a[size_t(b)] == doctest::Approx(y[((b * 6 + 3) * 6 + 3) * 5 + 3]).epsilon(1e-6));
  // The gradient: the engine's backward of a one-hot at the centre unit of channel 3, image by
  // image, against Maximizer's; the unit sees only its 8x8 field, so every other pixel's is 0.
  Tensor g;
  mx.input_gradient(x, {3, 3}, &g);
  Tensor ref(x.shape());
  for (int b = 0; b < 2; ++b) {
    Tape::current().clear();
    Tensor xb(Shape{1, 12, 12, 3});
    std::copy(x.data() + b * 432, x.data() + (b + 1) * 432, xb.data());
    const Var p = Var::param(xb);
    const Var out = m.forward(p, m.layer_index("conv2"), true);
    Tensor dy = Tensor::zeros(out.value().shape());
    dy[(3 * 6 + 3) * 5 + 3] = 1.f;
    Tape::current().backward(out, dy);
    std::copy(p.grad().data(), p.grad().data() + 432, ref.data() + b * 432);
  }
  int nonzero = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    CHECK(g[i] == doctest::Approx(ref[i]).epsilon(1e-6));
    nonzero += g[i] != 0.f;
  }
  CHECK(nonzero > 0);
  CHECK(nonzero <= 2 * 8 * 8 * 3);
}

namespace {

// tiny_model with conv2's filter 4 pushed below 0 everywhere: bias -b (inputs in 0..1).
Model with_silent_filter(float bias) {
  Model m = tiny_model();
  Tensor& b = m.layers[size_t(m.layer_index("conv2"))].weights[1].value();
  b[4] = -bias;
  return m;
}

}  // namespace

TEST_CASE("maximize: a target channel at 0 everywhere gets its pre-activation's gradient, and only in run()") {
  const Model m = with_silent_filter(1.5f);
  MaximizeOptions opt;
  opt.method = MaximizeMethod::seed;
  opt.objective = MaximizeObjective::channel;
  opt.iters = 60;
  opt.seed = 2;
  const Maximizer mx(m, "conv2", opt);
  REQUIRE(mx.redirected());
  const Tensor x = random_tensor({1, 12, 12, 3}, 9, 0.f, 1.f);
  REQUIRE(mx.activation(x, 4)[0] == 0.f);
  // The exact gradient of a channel that is 0 everywhere is 0: input_gradient() says so.
  Tensor g;
  mx.input_gradient(x, {4}, &g);
  for (int64_t i = 0; i < g.numel(); ++i) REQUIRE(g[i] == 0.f);
  // run() follows the pre-activation up until the channel turns positive, then the real gradient.
  const MaximizeResult r = mx.run({4}).at(0);
  CHECK(r.losses.front() == 0.f);
  CHECK(r.activation > 0.f);
  // Without its own ReLU in the target (the pool after conv2's ReLU would be), nothing is redirected.
  opt.pre_relu = true;
  CHECK(!Maximizer(m, "conv2", opt).redirected());
  CHECK(!Maximizer(m, "pool1", MaximizeOptions{}).redirected());
}

TEST_CASE("maximize: the yosinski step is step grey levels RMS along the gradient, whatever its scale") {
  MaximizeSetup s;
  s.batch = 2;
  s.h = s.w = 5;
  s.c = 3;
  s.step = 4.f;
  s.preprocess = Preprocess::tf;  // zero input = pixel 127.5
  MaximizeOptions o;
  s.options = &o;
  for (const float scale : {1e-6f, 1.f, 1e4f}) {
    CAPTURE(scale);
    auto method = make_yosinski_method(s);
    std::vector<std::mt19937_64> rng = {std::mt19937_64(1), std::mt19937_64(2)};
    Var p = method->init(rng);
    const Tensor before = p.value().clone();
    Tensor g = random_tensor(before.shape(), 3, -1.f, 1.f);
    for (int64_t i = 0; i < 75; ++i) g[i] *= 10.f;  // image 0's gradient 10x image 1's: the same step
    for (int64_t i = 0; i < g.numel(); ++i) g[i] *= scale;
    p.grad_buffer() = g.clone();
    method->step(p, 0);  // step 0: no blur
    for (int b = 0; b < 2; ++b) {
      double ss = 0;
      for (int64_t i = b * 75; i < (b + 1) * 75; ++i) ss += double(g[i]) * double(g[i]);
      const double rms = std::sqrt(ss / 75);
      for (int64_t i = b * 75; i < (b + 1) * 75; ++i) {
        const double want = 127.5 + (1 - 1e-4) * (before[i] + 4.0 * g[i] / rms - 127.5);
        CHECK(p.value()[i] == doctest::Approx(std::clamp(want, 0.0, 255.0)).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("maximize: yosinski raises every class logit of the embedded model") {
  const Model m = load_model("fashion");
  MaximizeOptions opt;
  opt.method = MaximizeMethod::yosinski;
  opt.seed = 1;
  opt.iters = 200;
  const Maximizer mx(m, "dense_1", opt);
  const std::vector<MaximizeResult> r = mx.run({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (const MaximizeResult& x : r) {
    CAPTURE(x.filter);
    CHECK(x.activation > x.losses.front() + 0.5f);
  }
}

TEST_CASE("maximize cli: dead only when the ascent could not make a channel positive") {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_dir("maximize_dead");
  const std::string weights = (dir / "silent.h5").string();
  save_model(with_silent_filter(1e4f), weights, KerasLayout::model);  // no image in 0..1 reaches 1e4
  const test::CliResult r = test::run_vis_tool({"maximize", "--weights", weights, "--layer", "conv2", "--filters", "3-4",
                                                "--method", "seed", "--iters", "20", "--seed", "1", "--out",
                                                (dir / "out").string()});
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  CHECK(contains(r.out, "note: filter 4 (1 of 2) stayed 0 everywhere for all 20 steps although the ascent pushed"));
  CHECK(!contains(r.out, "filter 3 (1 of 2)"));
  fs::remove_all(dir);
}

TEST_CASE("maximize cli: --filters takes class names, indices and ranges for the class scores") {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_dir("maximize_names");
  const test::CliResult r = test::run_vis_tool({"maximize", "--weights", "fashion", "--layer", "dense_1", "--filters",
                                                "Sneaker,bag,3-4", "--iters", "3", "--seed", "1", "--out", dir.string()});
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  for (const char* line : {"filter 7 (Sneaker): logit", "filter 8 (Bag): logit", "filter 3 (Dress): logit",
                           "filter 4 (Coat): logit"})
    CHECK(contains(r.out, line));
  const test::CliResult bad = test::run_vis_tool({"maximize", "--weights", "fashion", "--layer", "dense_1", "--filters",
                                                  "Sneaker,shoe", "--iters", "3", "--out", (dir / "bad").string()});
  CHECK(bad.rc == 2);
  CHECK(contains(bad.err, "--filters 'shoe' is neither an index in 0..9 nor a class name"));
  CHECK(!fs::exists(dir / "bad"));
  fs::remove_all(dir);
}
