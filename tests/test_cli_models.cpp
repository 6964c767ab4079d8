// vis_tool's Keras-model commands end to end: summary, init, classify, forward and grad, run as a
// user runs them (a child process), checked against numbers computed here independently:
//   - classify on the real darknet model gives the classes the shared data's README lists;
//   - init in the four layouts gives files that load to the very weights of the seed, so forward
//     outputs are bit-identical across layouts and equal Model::forward in this process;
//   - grad equals the engine's own backward and central finite differences of forward;
//   - bad input: test_cli_models_bad.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <omp.h>

#include "engine/keras_h5.h"
#include "engine/model_config.h"
#include "engine/model_io.h"
#include "engine/npy.h"
#include "tests/cli_util.h"
#include "tests/model_fixtures.h"
#include "tests/util.h"

using namespace convis;
namespace fs = std::filesystem;
using test::CliResult;
using test::contains;
using test::Dir;
using test::expect_failure;
using test::listing;
using test::npy_bytes;
using test::run_vis_tool;
using test::same_bits;
using test::tiny_model;
using test::write_bytes;

namespace {

// sum over the batch of the mean over (H, W) of channel k of y (or of unit k of a (N, K) y), in
// double: grad's objective, written out independently of the engine's reduction ops.
double objective(const Tensor& y, int k) {
  const int64_t n = y.dim(0), c = y.dim(y.rank() - 1), per = y.numel() / (n * c);
  double total = 0.0;
  for (int64_t b = 0; b < n; ++b) {
    double s = 0.0;
    for (int64_t p = 0; p < per; ++p) s += double(y[(b * per + p) * c + k]);
    total += s / double(per);
  }
  return total;
}

// Runs OpenMP regions on one thread while it lives.
struct OneThread {
  int saved = omp_get_max_threads();
  OneThread() { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved); }
};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Runs vis_tool with stdout and stderr discarded; returns its exit code, its own peak resident
// memory (wait4's ru_maxrss, KiB) and its wall time.
struct Measured {
  int rc = -1;
  long peak_kib = 0;
  double seconds = 0.0;
};
Measured measure_vis_tool(const std::vector<std::string>& args) {
  std::vector<std::string> all = {CONVIS_VIS_TOOL};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Measured m;
  int status = 0;
  struct rusage ru {};
  if (pid > 0 && ::wait4(pid, &status, 0, &ru) == pid) {
    m.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    m.peak_kib = ru.ru_maxrss;
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

}  // namespace

// ---- classify: the real model ----------------------------------------------------------------

TEST_CASE("cli classify: darknet on the three photos gives the README's classes / json matches text") {
  const std::string data = test::shared_data_dir();
  if (data.empty()) {
    MESSAGE("skipping: ../shared/data not found");
    return;
  }
  struct Expect {
    const char* image;
    const char* size;  // width x height
    const char* top1;
    double p1;  // the independent reference's probability (README)
    std::vector<std::string> in_top5;
  };
  const std::vector<Expect> photos = {
      {"cat_chelsea.png", "451x300", "Egyptian_cat", 0.69, {"tiger_cat", "tabby", "lynx"}},
      {"coffee.png", "600x400", "espresso", 0.65, {"coffee_mug", "cup"}},
      {"rocket.jpg", "640x427", "obelisk", 0.72, {"space_shuttle", "missile"}},
  };
  const std::string weights = data + "/models/darknet_tiny_imagenet.h5";
  for (const Expect& e : photos) {
    CAPTURE(e.image);
    const std::string image = data + "/images/" + e.image;
    const CliResult text = run_vis_tool({"classify", "--weights", weights, "--image", image});
    INFO(text.err);
    REQUIRE(text.rc == 0);
    CHECK(text.err.empty());
    // " 1. n02124075  Egyptian_cat                 0.6845"
    struct Row {
      std::string wnid, name;
      double p;
    };
    std::vector<Row> rows;
    std::istringstream lines(text.out);
    std::string l;
    std::getline(lines, l);
    CHECK(l == image + ": " + e.size + ", resized (bilinear) to 224x224, preprocessing 'unit', softmax over the model's logits");
    while (std::getline(lines, l)) {
      std::istringstream fields(l);
      std::string rank, wnid, name, p, extra;
      fields >> rank >> wnid >> name >> p;
      REQUIRE_MESSAGE((fields && !(fields >> extra)), "unexpected line: " << l);
      CHECK(rank == std::to_string(rows.size() + 1) + ".");
      CHECK((wnid.size() == 9 && wnid[0] == 'n'));
      CHECK((p.size() == 6 && p[1] == '.'));  // four decimals
      rows.push_back({wnid, name, std::stod(p)});
    }
    REQUIRE(rows.size() == 5);
    CHECK(rows[0].name == e.top1);
    CHECK(std::fabs(rows[0].p - e.p1) < 0.05);
    std::set<std::string> top5;
    for (const Row& r : rows) top5.insert(r.name);
    for (const std::string& want : e.in_top5) CHECK_MESSAGE(top5.count(want), want << " is not in the top 5");

    // --json with every class: a distribution (sums to 1, sorted, each class once) whose first
    // five rows are the text's, to the text's four decimals.
    const CliResult js = run_vis_tool({"classify", "--weights", weights, "--image", image, "--json", "--top", "1000"});
    REQUIRE(js.rc == 0);
    const nlohmann::json j = nlohmann::json::parse(js.out);
    CHECK(j["image"] == image);
    CHECK(j["weights"] == weights);
    CHECK(j["preprocess"] == "unit");
    CHECK(j["input_size"] == nlohmann::json::array({224, 224}));
    const nlohmann::json& preds = j["predictions"];
    REQUIRE(preds.size() == 1000);
    double total = 0.0;
    std::set<int> seen;
    for (size_t r = 0; r < preds.size(); ++r) {
      total += preds[r]["probability"].get<double>();
      seen.insert(preds[r]["index"].get<int>());
      CHECK(preds[r]["rank"] == int(r) + 1);
      if (r > 0) CHECK(preds[r]["probability"].get<double>() <= preds[r - 1]["probability"].get<double>());
    }
    CHECK(total == doctest::Approx(1.0).epsilon(1e-4));
    CHECK(seen.size() == 1000);
    CHECK(*seen.begin() == 0);
    CHECK(*seen.rbegin() == 999);
    for (size_t r = 0; r < 5; ++r) {
      CHECK(preds[r]["wnid"] == rows[r].wnid);
      CHECK(preds[r]["name"] == rows[r].name);
      CHECK(std::fabs(preds[r]["probability"].get<double>() - rows[r].p) <= 0.5e-4 + 1e-9);
    }
  }
}

// ---- init / summary / forward: VGG16 in the four layouts --------------------------------------

TEST_CASE("cli init: four layouts with one seed load to the same weights and give bit-identical forward outputs") {
  Dir d("layouts");
  // 32x40 (not square, so a swapped H and W shows); block5_conv3 is then (1, 2, 2, 512).
  const Tensor x = test::random_tensor({1, 32, 40, 3}, 11, -60.f, 60.f);
  write_npy(d / "x.npy", x);
  Model ref = vgg16(false);
  ref.build(32, 40);
  init_he_normal(ref, 7);
  const int layer = ref.layer_index("block5_conv3");
  Tensor want;
  {
    NoGrad ng;
    want = ref.forward(Var::constant(x), layer).value();
  }
  REQUIRE(want.shape() == Shape{1, 2, 2, 512});
  int positive = 0;
  for (int64_t i = 0; i < want.numel(); ++i) positive += want[i] > 0.f;
  CHECK(positive > 50);  // the output is not all ReLU zeros: the comparison means something

  for (KerasLayout layout : {KerasLayout::keras1, KerasLayout::keras2, KerasLayout::model, KerasLayout::keras3}) {
    const std::string name = layout_name(layout);
    CAPTURE(name);
    const std::string file = d / (name + ".h5");
    CliResult r = run_vis_tool({"init", "--arch", "vgg16", "--layout", name, "--seed", "7", "--out", file});
    INFO(r.err);
    REQUIRE(r.rc == 0);
    CHECK(r.out == file + "\n");
    CHECK(r.err == "wrote VGG16 (no top) with He-normal weights (seed 7, 14714688 parameters) in the " + name +
                       " layout\n");
    CHECK(read_keras_h5(file).layout == layout);

    // The file holds exactly the seed's weights (a save -> load round trip of VGG16 in this layout).
    const Model back = load_model(file, 32, 40);
    REQUIRE(back.layers.size() == ref.layers.size());
    for (size_t i = 0; i < ref.layers.size(); ++i) {
      REQUIRE(back.layers[i].weights.size() == ref.layers[i].weights.size());
      for (size_t k = 0; k < ref.layers[i].weights.size(); ++k)
        CHECK(same_bits(back.layers[i].weights[k].value(), ref.layers[i].weights[k].value()));
    }

    r = run_vis_tool({"summary", "--weights", file, "--input-size", "32"});
    REQUIRE(r.rc == 0);
    CHECK(contains(r.out, "Model: \"vgg16\"\n"));
    CHECK(contains(r.out, " block5_conv3 (Conv2D)       (None, 2, 2, 512)         2359808   \n"));
    CHECK(contains(r.out, "Total params: 14,714,688\nTrainable params: 14,714,688\nNon-trainable params: 0\n"));

    const std::string y = d / ("y_" + name + ".npy");
    r = run_vis_tool({"forward", "--weights", file, "--input", d / "x.npy", "--layer", "block5_conv3", "--out", y});
    REQUIRE(r.rc == 0);
    CHECK(r.out == y + "\n");
    CHECK(same_bits(read_npy(y), want));
    fs::remove(file);  // 59 MB each
  }
}

TEST_CASE("cli summary: VGG16 with the top has 138357544 parameters and loads in about the file's memory") {
  Dir d("top");
  const std::string file = d / "vgg16_top.h5";
  CliResult r = run_vis_tool({"init", "--arch", "vgg16", "--top", "--layout", "keras1", "--seed", "1", "--out", file});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  r = run_vis_tool({"summary", "--weights", file});
  REQUIRE(r.rc == 0);
  CHECK(contains(r.out, " fc1 (Dense)                 (None, 4096)              102764544 \n"));
  CHECK(contains(r.out, " predictions (Dense)         (None, 1000)              4097000   \n"));
  CHECK(contains(r.out, "Total params: 138,357,544\nTrainable params: 138,357,544\nNon-trainable params: 0\n"));
  expect_failure({"summary", "--weights", file, "--input-size", "96"}, "", {"takes 224x224 inputs, not 96x96"});

  // Loading reads each dataset straight into its tensor: the peak is the weights plus little.
  const double file_kib = double(fs::file_size(file)) / 1024.0;
  const Measured m = measure_vis_tool({"summary", "--weights", file});
  CHECK(m.rc == 0);
  MESSAGE("summary of the 553 MB VGG16: peak RSS " << m.peak_kib / 1024 << " MiB = " << double(m.peak_kib) / file_kib
                                                   << " x the file, " << m.seconds << " s");
  if (!kSanitized) CHECK(double(m.peak_kib) <= 1.2 * file_kib);  // a sanitizer's shadow memory is extra
}

// ---- forward / grad against the engine and against finite differences -------------------------

TEST_CASE("cli forward and grad: equal Model::forward and backward in process and finite differences") {
  Dir d("grad");
  const Model m = tiny_model(5);
  const std::string file = d / "tiny.h5";
  save_model(m, file);
  const Tensor x = test::random_tensor({2, 10, 12, 3}, 21);
  write_npy(d / "x.npy", x);
  const Model loaded = load_model(file);

  struct Case {
    const char* layer;
    int filter;
    double atol;  // above the objective's float32 rounding / 2h, measured: ~5e-6 and ~1e-6
  };
  // act: (2, 3, 3, 5), smooth; out: (2, 3) softmax probabilities, through every kink.
  for (const Case c : {Case{"act", 3, 2e-5}, Case{"out", 1, 3e-6}, Case{"c1", 0, 2e-5}}) {
    const std::string layer_name = c.layer;
    CAPTURE(layer_name);
    const int li = loaded.layer_index(c.layer);
    const std::string y_path = d / "y.npy", g_path = d / "g.npy";
    CliResult r = run_vis_tool({"forward", "--weights", file, "--input", d / "x.npy", "--layer", c.layer, "--out", y_path});
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const Tensor y = read_npy(y_path);
    {
      NoGrad ng;
      CHECK(same_bits(y, loaded.forward(Var::constant(x), li).value()));
      CHECK(same_bits(y, m.forward(Var::constant(x), li).value()));  // and the model before saving
    }

    r = run_vis_tool({"grad", "--weights", file, "--input", d / "x.npy", "--layer", c.layer, "--filter",
                      std::to_string(c.filter), "--out", g_path});
    REQUIRE(r.rc == 0);
    CHECK(r.out == g_path + "\n");
    const Tensor g = read_npy(g_path);
    REQUIRE(g.shape() == x.shape());

    // The engine's own backward of the same objective.
    Tape::current().clear();
    Var xv = Var::param(x.clone());
    Var yv = loaded.forward(xv, li);
    Var cv = channel(yv, c.filter);
    Tape::current().backward(sum(cv.shape().rank() == 3 ? mean(cv, {1, 2}) : cv));
    CHECK(same_bits(g, xv.grad()));
    Tape::current().clear();

    // Central differences of the objective, for elements spread over both images and channels.
    // A step that crosses a kink makes steps h and h/2 disagree: such an element is skipped.
    // The objective is O(1) and float32, so its rounding costs ~1e-7 / 2h = 5e-6 here: atol is
    // well under the gradients (1e-4 .. 1e-2), and a 3% error in them fails. One thread: these tiny forwards
    // would otherwise spend their time waking OpenMP workers on a busy machine.
    const OneThread one_thread;
    auto f = [&](const Tensor& xs) {
      NoGrad ng;
      return objective(loaded.forward(Var::constant(xs), li).value(), c.filter);
    };
    int checked = 0;
    double largest = 0.0;
    for (int64_t i = 5; i < x.numel(); i += 47) {
      auto central = [&](double h) {
        Tensor xp = x.clone(), xm = x.clone();
        xp[i] += float(h);
        xm[i] -= float(h);
        return (f(xp) - f(xm)) / (double(float(x[i] + float(h))) - double(float(x[i] - float(h))));
      };
      const double numeric = central(1e-2);
      if (std::fabs(central(5e-3) - numeric) > 2 * c.atol + 1e-2 * std::fabs(numeric)) continue;
      ++checked;
      largest = std::max(largest, std::fabs(numeric));
      CHECK_MESSAGE(std::fabs(numeric - double(g[i])) <= c.atol + 1e-2 * std::fabs(numeric),
                    "element " << i << ": grad " << g[i] << ", finite differences " << numeric);
    }
    CHECK(checked >= 12);
    CHECK(largest > 50 * c.atol);  // well above the tolerance: the comparison means something
  }
}

// ---- save_model -> load_model -------------------------------------------------------------------

TEST_CASE("save_model: every layer kind round-trips through a model.save() file bit-exactly") {
  Dir d("roundtrip");
  const Model m = tiny_model(9);
  const std::string file = d / "tiny.h5";
  save_model(m, file);  // KerasLayout::model: model_config + model_weights
  const KerasFile k = read_keras_h5(file);
  CHECK(k.layout == KerasLayout::model);
  REQUIRE(k.find("bn"));
  REQUIRE(k.find("bn")->weights.size() == 4);
  CHECK(k.find("bn")->weights[3].name == "bn/moving_variance:0");
  CHECK(k.find("c2")->weights.size() == 1);  // use_bias false

  const Model back = load_model(file);
  CHECK(back.name == "tiny");
  CHECK(back.input_h == 10);
  CHECK(back.input_w == 12);
  CHECK(back.input_c == 3);
  REQUIRE(back.layers.size() == m.layers.size());
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const Layer &a = m.layers[i], &b = back.layers[i];
    CAPTURE(a.name);
    CHECK(b.name == a.name);
    CHECK(b.class_name == a.class_name);
    CHECK(b.type == a.type);
    CHECK(b.filters == a.filters);
    CHECK(b.kernel_h == a.kernel_h);
    CHECK(b.kernel_w == a.kernel_w);
    CHECK(b.stride_h == a.stride_h);
    CHECK(b.stride_w == a.stride_w);
    CHECK(b.padding == a.padding);
    CHECK(b.units == a.units);
    CHECK(b.use_bias == a.use_bias);
    CHECK(b.activation == a.activation);
    CHECK(b.alpha == a.alpha);
    CHECK(b.epsilon == a.epsilon);
    CHECK(b.dropout_rate == a.dropout_rate);
    CHECK(b.output_shape == a.output_shape);
    CHECK(b.weight_names == a.weight_names);
    REQUIRE(b.weights.size() == a.weights.size());
    for (size_t w = 0; w < a.weights.size(); ++w) CHECK(same_bits(b.weights[w].value(), a.weights[w].value()));
  }
  CHECK(back.param_count() == m.param_count());
  const Tensor x = test::random_tensor({3, 10, 12, 3}, 4);
  NoGrad ng;
  CHECK(same_bits(back.forward(Var::constant(x)).value(), m.forward(Var::constant(x)).value()));

  // Saved again from what was loaded: the same weights and config (nothing drifts on re-save).
  save_model(back, d / "again.h5");
  const KerasFile k2 = read_keras_h5(d / "again.h5");
  CHECK(k2.model_config == k.model_config);
  REQUIRE(k2.layers.size() == k.layers.size());
  for (size_t l = 0; l < k.layers.size(); ++l)
    for (size_t w = 0; w < k.layers[l].weights.size(); ++w)
      CHECK(same_bits(k2.layers[l].weights[w].value, k.layers[l].weights[w].value));

  // A bare weights file of a model that is not VGG16 cannot say which model it is.
  save_model(m, d / "bare.h5", KerasLayout::keras2);
  expect_failure({"summary", "--weights", d / "bare.h5"}, "",
                 {"has no model_config and its layers are not those of vgg16, resnet50"});
}
