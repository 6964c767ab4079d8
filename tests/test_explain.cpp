// Teaching mode and architecture diagrams: the worked examples give the textbook numbers, agree
// with naive loops written here, with finite differences and with the engine on a real model;
// diagrams are drawn for VGG16, darknet and a tutorial CNN; bad input is one line and exit 2.
#include <cmath>
#include <filesystem>
#include <set>
#include <string>

#include "engine/model_config.h"
#include "engine/model_io.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/canvas.h"
#include "vis/diagram.h"
#include "vis/explain.h"
#include "vis/image.h"
#include "vis/png.h"

using namespace convis;
namespace fs = std::filesystem;

namespace {

using convis::test::error_of;

// The definition, written independently of vis/explain.cpp: zero padding by index checks.
Matrix naive_conv(const Matrix& x, const Matrix& k, int stride, int pad, double bias) {
  const int oh = (x.rows + 2 * pad - k.rows) / stride + 1, ow = (x.cols + 2 * pad - k.cols) / stride + 1;
  Matrix y(oh, ow);
  for (int i = 0; i < oh; ++i)
    for (int j = 0; j < ow; ++j) {
      double s = bias;
      for (int u = 0; u < k.rows; ++u)
        for (int v = 0; v < k.cols; ++v) {
          const int r = i * stride + u - pad, c = j * stride + v - pad;
          if (r >= 0 && r < x.rows && c >= 0 && c < x.cols) s += x(r, c) * k(u, v);
        }
      y(i, j) = s;
    }
  return y;
}

Matrix random_int_matrix(int rows, int cols, uint32_t seed) {
  const Tensor t = test::random_tensor({rows, cols}, seed, -9.f, 9.f);
  Matrix m(rows, cols);
  for (size_t i = 0; i < m.v.size(); ++i) m.v[i] = std::round(double(t[int64_t(i)]));
  return m;
}

// A small model in the style of the Keras tutorials, with a BatchNormalization and a LeakyReLU
// after a strided, bias-free conv (as darknet does) and a ReLU conv after pooling.
Model small_model() {
  Model m = model_from_config(R"({"class_name": "Sequential", "config": {"name": "small", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 13, 11, 3], "name": "in"}},
    {"class_name": "Conv2D", "config": {"name": "c1", "filters": 6, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "use_bias": false}},
    {"class_name": "BatchNormalization", "config": {"name": "bn1", "epsilon": 0.001}},
    {"class_name": "LeakyReLU", "config": {"name": "lr1", "alpha": 0.1}},
    {"class_name": "MaxPooling2D", "config": {"name": "p1", "pool_size": [2, 2], "padding": "same"}},
    {"class_name": "Conv2D", "config": {"name": "c2", "filters": 4, "kernel_size": [2, 2], "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "f"}},
    {"class_name": "Dense", "config": {"name": "d", "units": 5, "activation": "softmax"}}]}})");
  m.build();
  init_glorot_uniform(m, 7);
  // Non-trivial BatchNormalization statistics, so every term of its formula matters.
  Layer& bn = m.layers[size_t(m.layer_index("bn1"))];
  for (size_t k = 0; k < bn.weights.size(); ++k) {
    Tensor& w = bn.weights[k].value();
    const Tensor r = test::random_tensor(w.shape(), 20 + uint32_t(k), 0.2f, 1.5f);
    for (int64_t i = 0; i < w.numel(); ++i) w[i] = k == 1 ? r[i] - 0.8f : r[i];  // beta may be negative
  }
  Layer& c2 = m.layers[size_t(m.layer_index("c2"))];
  for (int64_t i = 0; i < 4; ++i) c2.weights[1].value()[i] = 0.05f * float(i) - 0.05f;  // a bias
  return m;
}

// The Keras Fashion-MNIST tutorial CNN (28x28x1, three convs, two dense layers).
Model tutorial_cnn() {
  Model m = model_from_config(R"({"class_name": "Sequential", "config": {"name": "fashion_cnn", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28, 1], "name": "image"}},
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 32, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "pool_size": [2, 2]}},
    {"class_name": "Conv2D", "config": {"name": "conv2d_1", "filters": 64, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1", "pool_size": [2, 2]}},
    {"class_name": "Conv2D", "config": {"name": "conv2d_2", "filters": 64, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 64, "activation": "relu"}},
    {"class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax"}}]}})");
  m.build();
  init_glorot_uniform(m, 3);
  return m;
}

double max_diff(const Matrix& a, const Matrix& b) {
  REQUIRE(a.rows == b.rows);
  REQUIRE(a.cols == b.cols);
  double d = 0.0;
  for (size_t i = 0; i < a.v.size(); ++i) d = std::max(d, std::fabs(a.v[i] - b.v[i]));
  return d;
}

// Number of distinct colours and of non-white pixels: a drawing that is not blank has many of both.
void check_not_blank(const Canvas& c, const std::string& what, size_t min_colours = 6) {
  std::set<uint32_t> colours;
  int64_t ink = 0;
  for (size_t i = 0; i + 2 < c.rgb.size(); i += 3) {
    colours.insert(uint32_t(c.rgb[i]) << 16 | uint32_t(c.rgb[i + 1]) << 8 | c.rgb[i + 2]);
    ink += c.rgb[i] != 255 || c.rgb[i + 1] != 255 || c.rgb[i + 2] != 255;
  }
  CHECK_MESSAGE(colours.size() >= min_colours, what << ": only " << colours.size() << " colours");
  CHECK_MESSAGE(double(ink) > 0.05 * double(c.width) * double(c.height), what << ": almost blank");
}

}  // namespace

TEST_CASE("explain conv: the 6x5 edge exercise gives the textbook 4x3 result") {
  const ConvExplanation e = explain_conv(default_conv_spec());
  REQUIRE(e.possible);
  CHECK(e.height.out == 4);
  CHECK(e.width.out == 3);
  const double want[12] = {0, 0, 0, 6000, 6000, 6000, 6000, 6000, 6000, 0, 0, 0};
  REQUIRE(e.output.v.size() == 12);
  for (int i = 0; i < 12; ++i) CHECK(e.output.v[size_t(i)] == want[i]);
  REQUIRE(e.cells.size() == 12);
  CHECK(e.cells[3].window(2, 0) == 0);  // y[1][0] reads rows 1-3: the last one is dark
  CHECK(e.cells[3].sum == 6000);
  CHECK(e.engine_max_diff == 0);
  CHECK(e.edge == 6000);

  const test::CliResult r = test::run_vis_tool({"explain", "conv", "--no-color"});
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("y = [[0, 0, 0], [6000, 6000, 6000], [6000, 6000, 6000], [0, 0, 0]]") != std::string::npos);
  CHECK(r.out.find("  [6000]  [6000]  [6000]\n") != std::string::npos);  // the edge, marked
  CHECK(r.out.find("height: floor((6 + 2*0 - 3) / 1) + 1 = floor(3 / 1) + 1 = 4") != std::string::npos);
  CHECK(r.out.find("width:  floor((5 + 2*0 - 3) / 1) + 1 = floor(2 / 1) + 1 = 3") != std::string::npos);
  CHECK(r.out.find("200*10 + 200*10 + 200*10") != std::string::npos);
  CHECK(r.out.find("0*(-10) + 0*(-10) + 0*(-10)") != std::string::npos);
  CHECK(r.out.find("= 6000") != std::string::npos);
  CHECK(r.out.find("cross-correlation") != std::string::npos);
  CHECK(r.out.find('\033') == std::string::npos);  // not a terminal: no colour codes
}

TEST_CASE("explain conv and im2col: random inputs with stride and padding match a naive loop") {
  const int shapes[][6] = {
      {5, 7, 3, 3, 1, 0}, {6, 5, 3, 2, 2, 1}, {4, 4, 2, 2, 1, 2}, {7, 6, 3, 3, 3, 1}, {1, 5, 1, 3, 2, 0}};
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    ConvSpec spec;
    spec.input = random_int_matrix(s[0], s[1], seed++);
    spec.kernel = random_int_matrix(s[2], s[3], seed++);
    spec.stride = s[4];
    spec.pad = s[5];
    spec.bias = 0.5 * double(seed % 3);
    const Matrix want = naive_conv(spec.input, spec.kernel, spec.stride, spec.pad, spec.bias);
    const ConvExplanation e = explain_conv(spec);
    REQUIRE(e.possible);
    CHECK(max_diff(e.output, want) == 0.0);
    CHECK(e.engine_max_diff < 1e-4);
    const Im2colExplanation m = explain_im2col(spec, 32);
    CHECK(max_diff(m.result, want) < 1e-4);
    CHECK(m.max_diff_vs_direct < 1e-4);
    // The patch matrix: one row per window, its columns the window in row-major order.
    REQUIRE(m.patches.rows == want.rows * want.cols);
    REQUIRE(m.patches.cols == s[2] * s[3]);
    const int r = m.patches.rows - 1, oi = r / want.cols, oj = r % want.cols;
    for (int u = 0; u < s[2]; ++u)
      for (int v = 0; v < s[3]; ++v) {
        const int y = oi * spec.stride + u - spec.pad, x = oj * spec.stride + v - spec.pad;
        const double in = y >= 0 && y < s[0] && x >= 0 && x < s[1] ? spec.input(y, x) : 0.0;
        CHECK(m.patches(r, u * s[3] + v) == in);
      }
  }
}

TEST_CASE("explain conv: impossible strides and kernels are explained instead of crashing") {
  ConvSpec big = default_conv_spec();
  big.input = parse_matrix("1,2;3,4", "--input");
  const ConvExplanation e = explain_conv(big);
  CHECK_FALSE(e.possible);
  CHECK(e.height.span == -1);
  CHECK(e.text.plain().find("no position to put it") != std::string::npos);
  CHECK(e.text.plain().find("pad by at least 1.") != std::string::npos);

  ConvSpec uneven = default_conv_spec();
  uneven.stride = 2;  // height (6 - 3) / 2 = 1.5: floor to 2 rows, the last input row unused
  const ConvExplanation u = explain_conv(uneven);
  REQUIRE(u.possible);
  CHECK(u.height.out == 2);
  CHECK(u.height.dropped == 1);
  CHECK(u.width.out == 2);
  CHECK(u.width.dropped == 0);
  CHECK(u.text.plain().find("3 / 2 = 1.5 is not a whole number") != std::string::npos);
  CHECK(u.text.plain().find("Frameworks floor it") != std::string::npos);

  const test::CliResult r = test::run_vis_tool({"explain", "conv", "--input", "1,2;3,4", "--kernel", "1,1,1"});
  CHECK(r.rc == 0);
  CHECK(r.out.find("the output is empty") != std::string::npos);
}

TEST_CASE("explain im2col: VGG16's GEMM shapes and FLOPs at 224x224") {
  const Im2colExplanation e = explain_im2col(default_conv_spec(), 224);
  REQUIRE(e.vgg16.size() == 13);
  // By hand: (spatial size, C, OC) of the 13 convs; FLOPs = 2 * (H*W) * (9*C) * OC with `same` padding.
  const int64_t layers[13][3] = {{224, 3, 64},   {224, 64, 64},  {112, 64, 128}, {112, 128, 128}, {56, 128, 256},
                                 {56, 256, 256}, {56, 256, 256}, {28, 256, 512}, {28, 512, 512},  {28, 512, 512},
                                 {14, 512, 512}, {14, 512, 512}, {14, 512, 512}};
  double total = 0.0;
  for (int i = 0; i < 13; ++i) {
    const int64_t hw = layers[i][0] * layers[i][0];
    CHECK(e.vgg16[size_t(i)].M == hw);
    CHECK(e.vgg16[size_t(i)].K == 9 * layers[i][1]);
    CHECK(e.vgg16[size_t(i)].N == layers[i][2]);
    total += 2.0 * double(hw) * 9.0 * double(layers[i][1]) * double(layers[i][2]);
  }
  CHECK(e.total_flops == doctest::Approx(total));
  CHECK(e.total_flops == doctest::Approx(30.69e9).epsilon(0.002));  // the figure usually quoted: 15.3 GMACs
  CHECK(e.vgg16[1].layer == "block1_conv2");
  CHECK(e.text.plain().find("30.7 GFLOPs") != std::string::npos);
}

TEST_CASE("explain channels: partial sums add up and the parameter formula matches the models") {
  const ChannelsExplanation e = explain_channels();
  REQUIRE(e.input.size() == 3);
  Matrix want(2, 2, e.bias);
  for (int c = 0; c < 3; ++c) {
    const Matrix p = naive_conv(e.input[size_t(c)], e.kernel[size_t(c)], 1, 0, 0.0);
    CHECK(max_diff(p, e.partial[size_t(c)]) == 0.0);
    for (size_t i = 0; i < 4; ++i) want.v[i] += p.v[i];
  }
  CHECK(max_diff(e.output, want) == 0.0);
  CHECK(e.engine_max_diff < 1e-5);

  Model m = vgg16(false);
  m.build(32, 32);
  init_he_normal(m, 1);
  const ChannelsExplanation v = explain_channels(&m, "vgg16");
  REQUIRE(v.params.size() == 13);
  int64_t sum = 0;
  for (const ParamCountRow& r : v.params) {
    CHECK(r.formula == r.actual);
    sum += r.formula;
  }
  CHECK(sum == 14714688);  // Keras' count for VGG16 without the top
  const Model s = small_model();
  const ChannelsExplanation sm = explain_channels(&s, "small");
  REQUIRE(sm.params.size() == 2);
  CHECK(sm.params[0].formula == 3 * 3 * 3 * 6);  // no bias
  CHECK(sm.params[1].formula == 2 * 2 * 6 * 4 + 4);
  CHECK(sm.params[0].actual == sm.params[0].formula);
}

TEST_CASE("explain pool and relu and softmax: hand-computed values") {
  const PoolExplanation p = explain_pool();
  CHECK(matrix_literal(p.output) == "[[6, 8], [3, 4]]");
  CHECK(matrix_literal(p.grad_input) == "[[0, 0, 0, 0], [0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 0, 4]]");
  CHECK(p.engine_max_diff == 0);

  const ReluExplanation r = explain_relu();
  const std::vector<double> y = {0, 0, 0, 0.5, 3}, g = {0, 0, 0, 0.4, 0.5};
  for (size_t i = 0; i < 5; ++i) {
    CHECK(r.y[i] == y[i]);
    CHECK(r.grad[i] == doctest::Approx(g[i]));
  }
  CHECK(r.engine_max_diff < 1e-7);

  const SoftmaxExplanation s = explain_softmax({});
  const double z = std::exp(2.0) + std::exp(1.0) + std::exp(0.1);
  CHECK(s.probs[0] == doctest::Approx(std::exp(2.0) / z));
  CHECK(s.probs[2] == doctest::Approx(std::exp(0.1) / z));
  CHECK(s.probs[0] == doctest::Approx(0.659).epsilon(0.001));
  CHECK(s.naive_overflows);
  for (size_t i = 0; i < 3; ++i) CHECK(s.big_probs[i] == doctest::Approx(s.probs[i]).epsilon(1e-4));
  CHECK(s.engine_max_diff < 1e-6);
}

TEST_CASE("explain backprop: autodiff gradients agree with finite differences") {
  const BackpropExplanation e = explain_backprop();
  CHECK(e.max_diff < 1e-3);
  // An independent reference: the chain written out here in double, differentiated numerically.
  auto loss = [&](const Matrix& x, const Matrix& w, double b) {
    const Matrix z = naive_conv(x, w, 1, 0, b);
    double L = 0.0;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        double mx = 0.0;  // relu, then the max of the 2x2 window
        for (int u = 0; u < 2; ++u)
          for (int v = 0; v < 2; ++v) mx = std::max(mx, z(2 * i + u, 2 * j + v));
        L += mx / 4.0;
      }
    return L;
  };
  CHECK(loss(e.x, e.w, e.b) == doctest::Approx(e.loss));
  const double h = 1e-4;
  for (int i = 0; i < 4; ++i) {
    Matrix wp = e.w, wm = e.w;
    wp.v[size_t(i)] += h, wm.v[size_t(i)] -= h;
    CHECK(e.dw.v[size_t(i)] == doctest::Approx((loss(e.x, wp, e.b) - loss(e.x, wm, e.b)) / (2 * h)).epsilon(1e-5));
  }
  for (int i = 0; i < 25; ++i) {
    Matrix xp = e.x, xm = e.x;
    xp.v[size_t(i)] += h, xm.v[size_t(i)] -= h;
    CHECK(e.dx.v[size_t(i)] == doctest::Approx((loss(xp, e.w, e.b) - loss(xm, e.w, e.b)) / (2 * h)).epsilon(1e-5));
  }
  CHECK(e.db == doctest::Approx((loss(e.x, e.w, e.b + h) - loss(e.x, e.w, e.b - h)) / (2 * h)));
  CHECK(e.text.plain().find("max |autodiff - finite difference|") != std::string::npos);
}

TEST_CASE("explain value: a random small model by hand equals the engine") {
  const Model m = small_model();
  const Tensor x = test::random_tensor({1, 13, 11, 3}, 5, 0.f, 1.f);
  struct Case {
    const char* layer;
    int y, x, f;
    size_t steps;
  };
  const Case cases[] = {
      {"c1", 0, 0, 0, 2}, {"c1", 6, 5, 5, 2}, {"c1", 3, 2, 2, 2}, {"c2", 1, 1, 3, 1}, {"c2", 0, 1, 0, 1}};
  for (const Case& c : cases) {
    CAPTURE(c.layer);
    const ValueExplanation e = explain_value(m, x, c.layer, c.y, c.x, c.f);
    const Layer& L = m.layers[size_t(m.layer_index(c.layer))];
    CHECK(e.terms.size() == size_t(L.kernel_h * L.kernel_w) * size_t(e.channels));
    CHECK(e.steps.size() == c.steps);
    CHECK(e.conv_value == doctest::Approx(e.engine_conv).epsilon(1e-5));
    CHECK(e.value == doctest::Approx(e.engine_value).epsilon(1e-5));
    CHECK(std::fabs(e.value - e.engine_value) < 1e-5);
  }
  // The bottom-right window of the strided `same` conv: 13 rows -> 7 outputs pad one row above and one
  // below (11 columns -> 6 likewise), so the last window has 1 padded row and 1 padded column.
  const ValueExplanation corner = explain_value(m, x, "c1", 6, 5, 0);
  int pad = 0;
  for (const ValueTerm& t : corner.terms) pad += t.padding;
  CHECK(pad == (3 + 2) * 3);  // 3 cells of the row + 2 more of the column, in each of 3 channels

  CHECK(error_of([&] { explain_value(m, x, "c1", 7, 0, 0); }).find("row must be in 0..6") != std::string::npos);
  CHECK(error_of([&] { explain_value(m, x, "c1", 0, 0, 6); }).find("must be in 0..5") != std::string::npos);
  CHECK(error_of([&] { explain_value(m, x, "bn1", 0, 0, 0); }).find("not a Conv2D; conv layers of 'small': c1, c2") !=
        std::string::npos);
}

TEST_CASE("explain value: the real darknet model matches the engine") {
  const std::string data = test::shared_data_dir();
  if (data.empty()) {
    MESSAGE("skipped: ../shared/data is absent");
    return;
  }
  const std::string model = data + "/models/darknet_tiny_imagenet.h5", image = data + "/images/cat_chelsea.png";
  const Model m = load_model(model);
  const Tensor x = load_input(image, 224, 224, 3, Preprocess::unit);
  for (const auto& [layer_name, y, xx, f] : std::vector<std::tuple<std::string, int, int, int>>{
           {"conv2d_1", 0, 0, 3}, {"conv2d_4", 20, 31, 100}, {"conv2d_12", 5, 9, 300}, {"conv2d_16", 3, 4, 281}}) {
    const std::string layer = layer_name;  // CAPTURE's lambda cannot capture a structured binding
    CAPTURE(layer);
    const ValueExplanation e = explain_value(m, x, layer, y, xx, f);
    CHECK(std::fabs(e.conv_value - e.engine_conv) <= 1e-5 * (1 + std::fabs(e.conv_value)));
    CHECK(std::fabs(e.value - e.engine_value) <= 2e-5 * (1 + std::fabs(e.value)));
    CHECK(e.steps.size() == (layer == "conv2d_16" ? 0u : 2u));  // BatchNormalization + LeakyReLU
  }
  const test::CliResult r = test::run_vis_tool({"explain", "value", "--weights", model, "--layer", "conv2d_5",
                                                "--image", image, "--at", "56,3", "--filter", "2"});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(r.err.find("row must be in 0..55") != std::string::npos);
  const test::CliResult ok = test::run_vis_tool({"explain", "value", "--weights", model, "--layer", "conv2d_5",
                                                 "--image", image, "--at", "10,12", "--filter", "7"});
  CHECK(ok.rc == 0);
  CHECK(ok.out.find("(the same value to float precision)") != std::string::npos);
  CHECK(ok.out.find("batch_normalization_5") != std::string::npos);
}

TEST_CASE("diagram: VGG16 and a tutorial CNN and darknet are drawn") {
  Model v = vgg16(false);
  v.build(224, 224);
  CHECK(diagram_boxes(v, true).size() == 19);
  const Canvas lv = draw_diagram(v, DiagramOptions{});
  CHECK(lv.width >= 800);
  CHECK(lv.width <= 2000);  // log-scaled widths keep VGG16 readable
  CHECK(lv.height >= 300);
  check_not_blank(lv, "vgg16 layered");

  const Model t = tutorial_cnn();
  const std::vector<DiagramBox> tb = diagram_boxes(t, true);
  CHECK(tb.size() == 9);  // the Dropout is folded into the Flatten box
  CHECK(tb[6].label == "Flatten + Dropout");
  CHECK(diagram_boxes(t, false).size() == 10);
  DiagramOptions flat;
  flat.style = DiagramStyle::flat;
  const Canvas ft = draw_diagram(t, flat);
  check_not_blank(ft, "tutorial flat");
  check_not_blank(draw_diagram(t, DiagramOptions{}), "tutorial layered");

  // Through vis_tool, from a saved file: PNGs of the expected size, not blank.
  const fs::path dir = test::temp_dir("diagram");
  save_model(t, (dir / "fashion_cnn.h5").string());
  for (const char* style : {"layered", "flat"}) {
    const test::CliResult r = test::run_vis_tool(
        {"diagram", "--weights", (dir / "fashion_cnn.h5").string(), "--out", (dir / "out").string(), "--style", style});
    REQUIRE(r.rc == 0);
    const fs::path png = dir / "out" / (std::string("fashion_cnn_") + style + ".png");
    CHECK(r.out == png.string() + "\n");
    const Image img = load_image(png.string());
    CHECK(img.width >= 640);
    CHECK(img.height >= 200);
    Canvas c = canvas_from_image(img);
    check_not_blank(c, style);
  }
  fs::remove_all(dir);

  const std::string data = test::shared_data_dir();
  if (data.empty()) {
    MESSAGE("darknet part skipped: ../shared/data is absent");
    return;
  }
  const Model d = load_model(data + "/models/darknet_tiny_imagenet.h5");
  const std::vector<DiagramBox> db = diagram_boxes(d, true);
  CHECK(db.size() == 22);  // input + 16 convs (BatchNormalization, LeakyReLU folded) + 4 pools + GAP
  CHECK(db[1].label == "Conv2D + BatchNormalization + LeakyReLU");
  CHECK(db[1].params == 432 + 64);
  const Canvas ld = draw_diagram(d, DiagramOptions{});
  CHECK(ld.width <= 2000);
  check_not_blank(ld, "darknet layered");
}

TEST_CASE("explain conv: --png writes the picture and one frame per output cell") {
  const fs::path dir = test::temp_dir("explain_png");
  const test::CliResult r = test::run_vis_tool({"explain", "conv", "--png", dir.string(), "--frames"});
  REQUIRE(r.rc == 0);
  CHECK(fs::exists(dir / "conv.png"));
  CHECK(fs::exists(dir / "conv_step_000.png"));
  CHECK(fs::exists(dir / "conv_step_011.png"));
  CHECK_FALSE(fs::exists(dir / "conv_step_012.png"));
  const Image img = load_image((dir / "conv.png").string());
  CHECK(img.width >= 500);
  check_not_blank(canvas_from_image(img), "conv.png");
  // The output grid of the last frame has every cell filled: its red 6000 cells are there.
  const Canvas first = draw_conv_step(explain_conv(default_conv_spec()), 0, false);
  const Canvas last = draw_conv_step(explain_conv(default_conv_spec()), 11, false);
  CHECK(first.width == last.width);
  CHECK(first.rgb != last.rgb);
  fs::remove_all(dir);
}

TEST_CASE("explain and diagram: bad input is one line and exit 2") {
  const std::vector<std::vector<std::string>> bad = {
      {"explain", "conv", "--input", "1,2;3"},
      {"explain", "conv", "--kernel", "1,x"},
      {"explain", "conv", "--stride", "0"},
      {"explain", "conv", "--frames"},
      {"explain", "conv", "--typo", "1"},
      {"explain", "nonsense"},
      {"explain"},
      {"explain", "softmax", "--logits", "1;2"},
      {"explain", "value", "--weights", "/nonexistent.h5", "--layer", "c", "--image", "i.png", "--at", "1"},
      {"diagram", "--weights", "/nonexistent.h5"},
      {"diagram", "--weights", "x.h5", "--style", "cubist"},
  };
  for (const auto& args : bad) {
    const test::CliResult r = test::run_vis_tool(args);
    CAPTURE(args.size() > 1 ? args[1] : args[0]);
    CHECK(r.rc == 2);
    CHECK(r.one_line_error());
  }
  CHECK(error_of([] { parse_matrix("1,2;3", "--input"); }) ==
        "--input '1,2;3': row 2 has 1 value, row 1 has 2 (all rows must have the same length)");
  CHECK(error_of([] { parse_matrix("", "--kernel"); }).find("expected a number") != std::string::npos);

  // Out-of-range --at on a saved random model and a PNG written here (no shared data needed).
  const fs::path dir = test::temp_dir("explain_bad");
  const Model m = small_model();
  save_model(m, (dir / "small.h5").string());
  Canvas img(11, 13, {120, 30, 200});
  write_png(img, (dir / "img.png").string());
  const test::CliResult r = test::run_vis_tool({"explain", "value", "--weights", (dir / "small.h5").string(), "--layer",
                                                "c1", "--image", (dir / "img.png").string(), "--at", "3,6"});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(r.err.find("column in 0..5") != std::string::npos);
  const test::CliResult ok =
      test::run_vis_tool({"explain", "value", "--weights", (dir / "small.h5").string(), "--layer", "c1", "--image",
                          (dir / "img.png").string(), "--at", "3,5", "--filter", "1"});
  CHECK(ok.rc == 0);
  CHECK(ok.out.find("lr1 (LeakyReLU, channel 1)") != std::string::npos);
  // Without a topic but with --weights, explain means explain value (the issue's spelling).
  const test::CliResult implicit =
      test::run_vis_tool({"explain", "--weights", (dir / "small.h5").string(), "--layer", "c1", "--image",
                          (dir / "img.png").string(), "--at", "3,5", "--filter", "1"});
  CHECK(implicit.rc == 0);
  CHECK(implicit.out == ok.out);
  fs::remove_all(dir);
}
