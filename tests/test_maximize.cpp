// Activation maximisation: the seed method's step against finite differences, batching that
// changes nothing, the method table, errors, the command line, and (with ../shared) the
// acceptance figures on darknet. The pieces each method is built from: test_maximize_parts.cpp.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "engine/buffer_cache.h"
#include "engine/model_io.h"
#include "tests/cli_util.h"
#include "tests/image_metrics.h"
#include "tests/maximize_models.h"
#include "tests/util.h"
#include "vis/image.h"
#include "vis/maximize.h"
#include "vis/maximize_method.h"

using namespace convis;
using convis::test::high_frequency_fraction;
using convis::test::max_abs_diff;
using convis::test::neighbour_roughness;
using convis::test::random_tensor;
using convis::test::conv_layer;
using convis::test::tiny_model;

namespace {

using convis::test::error_of;

}  // namespace

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
    const int64_t base = buffer_cache::live_bytes();
    int64_t peak = 0;
    Maximizer(m, "conv1", opt).run(filters, [&](int, const std::vector<int>& f, const std::vector<float>&) {
      CHECK(f.size() <= 2);
      peak = std::max(peak, buffer_cache::live_bytes() - base);
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

TEST_CASE("maximize: the method table / each row names its method, parses back and sets the defaults") {
  const Model m = tiny_model();
  const struct { MaximizeMethod method; const char* name; int iters; float step; } want[] = {
      {MaximizeMethod::lucid, "lucid", 512, 0.05f},
      {MaximizeMethod::seed, "seed", 500, 0.1f},
      {MaximizeMethod::yosinski, "yosinski", 500, 4.f},
  };
  for (const auto& w : want) {
    CAPTURE(w.name);
    const MaximizeMethodRow& row = maximize_method(w.method);
    CHECK(row.method == w.method);
    CHECK(std::string(row.name) == w.name);
    CHECK(std::string(maximize_method_name(w.method)) == w.name);
    CHECK(parse_maximize_method(w.name) == w.method);
    MaximizeOptions opt;
    opt.method = w.method;
    const Maximizer mx(m, "conv2", opt);
    CHECK(mx.iters() == w.iters);
    CHECK(mx.step() == w.step);
    // The parametrisation alone: the start, the input the model takes and the picture's range.
    MaximizeSetup setup;
    setup.batch = 2;
    setup.h = setup.w = 12;
    setup.c = 3;
    setup.step = row.default_step;
    setup.options = &opt;
    const std::unique_ptr<MaximizeParametrisation> method = row.make(setup);
    std::vector<std::mt19937_64> rng(2);
    const Var p = method->init(rng);
    CHECK(p.requires_grad());
    CHECK(method->input(p, nullptr).shape() == Shape{2, 12, 12, 3});
    const Tensor shown = method->display(p);
    REQUIRE(shown.shape() == Shape{2, 12, 12, 3});
    for (int64_t i = 0; i < shown.numel(); ++i) REQUIRE((shown[i] >= 0.f && shown[i] <= 1.f));
    Tape::current().clear();
  }
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

TEST_CASE("maximize: a one-channel model gets grey pictures at its own fixed size") {
  Model m;
  m.name = "grey";
  m.input_h = m.input_w = 10;
  m.input_c = 1;
  m.layers = {convis::test::input_layer(), conv_layer("conv1", 3, 3, Activation::linear)};
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
  // Several filters: one line per batch every tenth of the steps, not one per filter and step.
  CHECK(r.out.find("step 0/10, filters 1-3: mean ") != std::string::npos);
  CHECK(r.out.find("step 9/10, filters 1-3: mean ") != std::string::npos);
  CHECK(r.out.find("Iteration:") == std::string::npos);
  CHECK(fs::exists(out / "conv2_1_seed.png"));
  CHECK(fs::exists(out / "conv2_3_seed.png"));
  CHECK(fs::exists(out / "conv2_seed_sheet.png"));
  CHECK(r.out.find((out / "conv2_seed_sheet.png").string()) != std::string::npos);

  // --verbose: the seeds' line per filter.
  const convis::test::CliResult v = run_vis_tool({"maximize", "--weights", weights, "--layer", "conv2", "--filters", "1-3", "--method",
                                    "seed", "--iters", "10", "--seed", "1", "--verbose", "--out", out.string()});
  CHECK(v.rc == 0);
  CHECK(v.out.find("Iteration: 0, Filter: 1, Loss: ") != std::string::npos);
  CHECK(v.out.find("Iteration: 9, Filter: 3, Loss: ") != std::string::npos);

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
  const double headroom = buffer_cache::headroom();
  const Tensor x = convis::test::random_tensor(Shape{2, 12, 12, 3}, 77u, 0.f, 1.f);
  Tensor g_alone, g_after;
  {
    const Maximizer alone(m, "conv2", opt);
    alone.input_gradient(x, {1, 3}, &g_alone);
  }
  auto a = std::make_unique<Maximizer>(m, "conv2", opt);
  auto b = std::make_unique<Maximizer>(m, "conv2", opt);
  CHECK(buffer_cache::headroom() == doctest::Approx(1.25));
  a.reset();  // restores trainable weights while b still runs
  CHECK(buffer_cache::headroom() == doctest::Approx(1.25));
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
  CHECK(buffer_cache::headroom() == doctest::Approx(headroom));
}
