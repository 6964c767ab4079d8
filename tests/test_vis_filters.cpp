// vis_tool filters / activations and vis/filters, vis/activations: the pixels of a known weight
// and of a known activation in the written PNG, the tutorial's normalisation by hand, bad inputs.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include <stb_image.h>

#include "engine/model_config.h"
#include "engine/model_io.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/activations.h"
#include "vis/canvas.h"
#include "vis/colormap.h"
#include "vis/filters.h"
#include "vis/image.h"
#include "vis/png.h"

using namespace convis;
namespace fs = std::filesystem;

namespace {

// 6x6x3 -> conv c1 (3x3 same, 2 filters, linear) -> conv c2 (3x3 valid, 2 -> 3 filters, relu)
// -> max pool p -> flatten f -> dense d (2 units).
const char* kTiny = R"({"class_name": "Sequential", "config": {"name": "tiny", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 6, 3], "name": "in"}},
  {"class_name": "Conv2D", "config": {"name": "c1", "filters": 2, "kernel_size": [3, 3], "padding": "same", "activation": "linear"}},
  {"class_name": "Conv2D", "config": {"name": "c2", "filters": 3, "kernel_size": [3, 3], "activation": "relu"}},
  {"class_name": "MaxPooling2D", "config": {"name": "p", "pool_size": [2, 2]}},
  {"class_name": "Flatten", "config": {"name": "f"}},
  {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}})";
// The Fashion-MNIST tutorial's first layer: 28x28x1 -> 32 filters 3x3.
const char* kGrey = R"({"class_name": "Sequential", "config": {"name": "grey", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28, 1], "name": "in"}},
  {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 32, "kernel_size": [3, 3], "activation": "relu"}}]}})";

// Kernels with distinct values (so neighbouring weights never share a colour) in a fixed order.
Model tiny_model() {
  Model m = model_from_config(kTiny);
  m.build();
  init_glorot_uniform(m, 7);
  for (const char* name : {"c1", "c2"}) {
    Tensor k = m.layers[size_t(m.layer_index(name))].weights[0].value();
    const Tensor d = test::distinct_values(k.shape(), name[1] == '1' ? 11u : 12u, 0.05f);
    for (int64_t i = 0; i < k.numel(); ++i) k[i] = d[i];
  }
  return m;
}

struct Png {
  int w = 0, h = 0;
  std::vector<uint8_t> px;
  Rgb at(int x, int y) const {
    const uint8_t* p = &px[(size_t(y) * size_t(w) + size_t(x)) * 3];
    return {p[0], p[1], p[2]};
  }
};
Png read_png(const fs::path& p) {
  Png r;
  int n = 0;
  unsigned char* d = stbi_load(p.string().c_str(), &r.w, &r.h, &n, 3);
  REQUIRE_MESSAGE(d != nullptr, "cannot decode " << p.string());
  r.px.assign(d, d + size_t(r.w) * size_t(r.h) * 3);
  stbi_image_free(d);
  return r;
}
bool same(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

// Is there a place in the PNG where `want` (h x w colours) is drawn enlarged by a whole factor f
// (each entry an f x f block)? From a candidate corner, the run of want[0]'s colour to the right
// covers the k leading equal entries of the first row: exactly k * f pixels when k < w.
bool find_tile(const Png& png, const std::vector<Rgb>& want, int h, int w) {
  int k = 1;
  while (k < w && same(want[size_t(k)], want[0])) ++k;
  std::vector<int> run(size_t(png.w) * size_t(png.h), 0);  // same-colour run length to the right
  for (int y = 0; y < png.h; ++y)
    for (int x = png.w - 1; x >= 0; --x)
      run[size_t(y) * size_t(png.w) + size_t(x)] =
          1 + (x + 1 < png.w && same(png.at(x + 1, y), png.at(x, y)) ? run[size_t(y) * size_t(png.w) + size_t(x) + 1] : 0);
  for (int y0 = 0; y0 < png.h; ++y0)
    for (int x0 = 0; x0 < png.w; ++x0) {
      if (!same(png.at(x0, y0), want[0])) continue;
      const int r = run[size_t(y0) * size_t(png.w) + size_t(x0)];
      if (k < w && r % k != 0) continue;
      const int f_lo = k < w ? r / k : 2, f_hi = std::min(64, r / k);
      for (int f = std::max(2, f_lo); f <= f_hi && x0 + w * f <= png.w && y0 + h * f <= png.h; ++f) {
        bool ok = true;
        for (int i = 0; i < h && ok; ++i)
          for (int j = 0; j < w && ok; ++j)
            for (int dy = 0; dy < f && ok; ++dy)
              for (int dx = 0; dx < f && ok; ++dx) ok = same(png.at(x0 + j * f + dx, y0 + i * f + dy), want[size_t(i * w + j)]);
        if (ok) return true;
      }
    }
  return false;
}

uint8_t unit_to_byte(float t) { return uint8_t(std::lround(255.f * std::clamp(t, 0.f, 1.f))); }

int count_png(const fs::path& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) n += e.path().extension() == ".png";
  return n;
}

}  // namespace

TEST_CASE("filters: weight_range and the three normalisations by hand") {
  // kernel (1, 1, 2, 2): filter 0 has weights {-1, 3}, filter 1 has {0.5, 2}.
  const Tensor k = Tensor::from({1, 1, 2, 2}, {-1.f, 0.5f, 3.f, 2.f});
  const WeightRange layer = weight_range(k, -1, -1, false);
  CHECK(layer.lo == -1.f);
  CHECK(layer.hi == 3.f);
  CHECK(layer.to_unit(1.f) == doctest::Approx(0.5));  // (1 + 1) / 4
  const WeightRange f1 = weight_range(k, 1, 1, false);
  CHECK(f1.lo == 0.5f);
  CHECK(f1.hi == 2.f);
  CHECK(f1.to_unit(1.25f) == doctest::Approx(0.5));
  const WeightRange sym = weight_range(k, 0, 0, true);  // max |w| = 3: w / 6 + 0.5
  CHECK(sym.to_unit(0.f) == doctest::Approx(0.5));
  CHECK(sym.to_unit(-1.f) == doctest::Approx(0.5 - 1.0 / 6.0));
  CHECK(sym.to_unit(3.f) == doctest::Approx(1.0));
  const WeightRange flat = weight_range(Tensor::full({1, 1, 1, 1}, 2.f), -1, -1, false);
  CHECK(flat.to_unit(2.f) == doctest::Approx(0.5));
}

TEST_CASE("filters: the PNG shows each weight as its normalised colour") {
  const fs::path dir = test::temp_dir("vis_filters_png");
  const Model m = tiny_model();
  const std::string weights = (dir / "tiny.h5").string();
  save_model(m, weights, KerasLayout::model);

  // First layer, RGB, normalised over the layer: filter 1's tile.
  test::CliResult r = test::run_vis_tool({"filters", "--weights", weights, "--layer", "c1", "--out", (dir / "o").string()});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(r.out == (dir / "o" / "filters_c1.png").string() + "\n");
  const Tensor& k1 = m.layers[1].weights[0].value();  // (3, 3, 3, 2)
  float lo = k1[0], hi = k1[0];
  for (int64_t i = 0; i < k1.numel(); ++i) lo = std::min(lo, k1[i]), hi = std::max(hi, k1[i]);
  for (int o = 0; o < 2; ++o) {
    std::vector<Rgb> want;
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x) {
        auto v = [&](int c) { return unit_to_byte((k1[((y * 3 + x) * 3 + c) * 2 + o] - lo) / (hi - lo)); };
        want.push_back({v(0), v(1), v(2)});
      }
    CHECK_MESSAGE(find_tile(read_png(dir / "o" / "filters_c1.png"), want, 3, 3), "filter " << o);
  }

  // Deeper layer, grey over the layer, and blue_red per filter: filter 2, input channel 1.
  const Tensor& k2 = m.layers[2].weights[0].value();  // (3, 3, 2, 3)
  auto w2 = [&](int y, int x, int c, int o) { return k2[((y * 3 + x) * 2 + c) * 3 + o]; };
  float lo2 = k2[0], hi2 = k2[0], amax = 0.f;
  for (int64_t i = 0; i < k2.numel(); ++i) lo2 = std::min(lo2, k2[i]), hi2 = std::max(hi2, k2[i]);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 2; ++c) amax = std::max(amax, std::fabs(w2(y, x, c, 2)));
  r = test::run_vis_tool({"filters", "--weights", weights, "--layer", "c2", "--out", (dir / "o").string()});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  r = test::run_vis_tool({"filters", "--weights", weights, "--layer", "c2", "--out", (dir / "o").string(), "--norm",
                          "filter", "--cmap", "blue_red", "--filters", "1-2"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(r.out == (dir / "o" / "filters_c2_1-2.png").string() + "\n");
  std::vector<Rgb> grey, diverging;
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x) {
      const uint8_t g = unit_to_byte((w2(y, x, 1, 2) - lo2) / (hi2 - lo2));
      grey.push_back({g, g, g});
      diverging.push_back(colormap(Colormap::blue_red, 0.5f + 0.5f * w2(y, x, 1, 2) / amax));
    }
  CHECK(find_tile(read_png(dir / "o" / "filters_c2.png"), grey, 3, 3));
  CHECK(find_tile(read_png(dir / "o" / "filters_c2_1-2.png"), diverging, 3, 3));
  // Filter 0 is not in the 1-2 sheet.
  std::vector<Rgb> f0;
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x) {
      float a0 = 0.f;
      for (int yy = 0; yy < 3; ++yy)
        for (int xx = 0; xx < 3; ++xx)
          for (int c = 0; c < 2; ++c) a0 = std::max(a0, std::fabs(w2(yy, xx, c, 0)));
      f0.push_back(colormap(Colormap::blue_red, 0.5f + 0.5f * w2(y, x, 1, 0) / a0));
    }
  CHECK_FALSE(find_tile(read_png(dir / "o" / "filters_c2_1-2.png"), f0, 3, 3));
  fs::remove_all(dir);
}

TEST_CASE("filters: a 1-channel first layer draws one grey tile per filter") {
  Model m = model_from_config(kGrey);
  m.build();
  init_glorot_uniform(m, 3);
  const Tensor& k = m.layers[1].weights[0].value();  // (3, 3, 1, 32)
  FilterSheetOptions opt;
  opt.norm = WeightNorm::filter;
  const Canvas sheet = filter_sheet(m, "conv2d", opt);
  const fs::path dir = test::temp_dir("vis_filters_grey");
  write_png(sheet, (dir / "g.png").string());
  const Png png = read_png(dir / "g.png");
  for (int o : {0, 17, 31}) {
    float lo = k[o], hi = k[o];
    for (int i = 0; i < 9; ++i) lo = std::min(lo, k[i * 32 + o]), hi = std::max(hi, k[i * 32 + o]);
    std::vector<Rgb> want;
    for (int i = 0; i < 9; ++i) {
      const uint8_t g = unit_to_byte((k[i * 32 + o] - lo) / (hi - lo));
      want.push_back({g, g, g});
    }
    CHECK_MESSAGE(find_tile(png, want, 3, 3), "filter " << o);
  }
  fs::remove_all(dir);
}

TEST_CASE("activations: keras_display_values by hand") {
  // x = 1..4: mean 2.5, std sqrt(1.25); (x - mean) / std * 64 + 128 = 42.13 99.38 156.62 213.87.
  const float x[4] = {1.f, 2.f, 3.f, 4.f};
  float out[4];
  keras_display_values(x, 4, 1, out);
  CHECK(out[0] == 42.f);
  CHECK(out[1] == 99.f);
  CHECK(out[2] == 156.f);
  CHECK(out[3] == 213.f);
  // One outlier: mean 10, std 30; the outlier is 3 std up (320, clipped to 255), the rest 106.67.
  float y[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 100};
  float o2[10];
  keras_display_values(y, 10, 1, o2);
  CHECK(o2[9] == 255.f);
  CHECK(o2[0] == 106.f);
  // A constant channel is 128; stride picks one channel of interleaved data.
  const float inter[6] = {5.f, 1.f, 5.f, 2.f, 5.f, 3.f};  // channel 0 constant, channel 1 = 1, 2, 3
  float c0[3], c1[3];
  keras_display_values(inter, 3, 2, c0);
  keras_display_values(inter + 1, 3, 2, c1);
  CHECK(c0[0] == 128.f);
  CHECK(c0[2] == 128.f);
  // 1, 2, 3: std sqrt(2/3); z = -1.2247 -> 49.6 -> 49; 128; 206.4 -> 206.
  CHECK(c1[0] == 49.f);
  CHECK(c1[1] == 128.f);
  CHECK(c1[2] == 206.f);
}

TEST_CASE("activations: layer_outputs equal the engine's forward") {
  const Model m = tiny_model();
  const Tensor x = test::random_tensor({1, 6, 6, 3}, 5u, 0.f, 1.f);
  const std::vector<Tensor> outs = layer_outputs(m, x, m.layer_index("f"), {1, 3});
  REQUIRE(outs.size() == m.layers.size());
  CHECK_FALSE(outs[2].defined());
  NoGrad no_grad;
  for (int i : {1, 3}) {
    const Tensor want = m.forward(Var::constant(x), i).value();
    REQUIRE(outs[size_t(i)].shape() == want.shape());
    for (int64_t j = 0; j < want.numel(); ++j) CHECK(outs[size_t(i)][j] == want[j]);
  }
  CHECK(activation_layers(m) == std::vector<int>{1, 2, 3});
}

TEST_CASE("activations: the PNG shows a channel after the tutorial's normalisation") {
  const fs::path dir = test::temp_dir("vis_activations_png");
  const Model m = tiny_model();
  const std::string weights = (dir / "tiny.h5").string();
  save_model(m, weights, KerasLayout::model);
  // A 6x6 image (the model's size, so no resampling) with varied pixels.
  Canvas img(6, 6);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) img.set(x, y, {uint8_t(x * 40 + 10), uint8_t(y * 37 + 5), uint8_t((x * y * 23) % 256)});
  const std::string image = (dir / "img.png").string();
  write_png(img, image);

  for (const char* norm : {"keras", "minmax"}) {
    const fs::path out = dir / norm;
    const test::CliResult r = test::run_vis_tool({"activations", "--weights", weights, "--image", image, "--layer", "c1",
                                                  "--out", out.string(), "--norm", norm});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(r.out == (out / "activations_c1.png").string() + "\n");
    const Png png = read_png(out / "activations_c1.png");
    // The reference: the engine's forward on the same input, then the documented normalisation.
    const Tensor x = load_input(image, 6, 6, 3, Preprocess::unit);
    Tensor y;
    {
      NoGrad no_grad;
      y = m.forward(Var::constant(x), 1).value();  // (1, 6, 6, 2)
    }
    for (int c = 0; c < 2; ++c) {
      std::vector<float> t(36);
      if (std::string(norm) == "keras") {
        keras_display_values(y.data() + c, 36, 2, t.data());
        for (float& v : t) v /= 255.f;
      } else {
        float lo = y[c], hi = y[c];
        for (int i = 0; i < 36; ++i) lo = std::min(lo, y[i * 2 + c]), hi = std::max(hi, y[i * 2 + c]);
        for (int i = 0; i < 36; ++i) t[size_t(i)] = (y[i * 2 + c] - lo) / (hi - lo);
      }
      std::vector<Rgb> want;
      for (float v : t) want.push_back(colormap(Colormap::viridis, v));
      CHECK_MESSAGE(find_tile(png, want, 6, 6), norm << " channel " << c);
    }
  }
  // --layer all: one sheet per conv / pool layer.
  const test::CliResult all = test::run_vis_tool({"activations", "--weights", weights, "--image", image, "--layer", "all",
                                                  "--out", (dir / "all").string(), "--cmap", "grey"});
  REQUIRE_MESSAGE(all.rc == 0, all.err);
  CHECK(count_png(dir / "all") == 3);
  CHECK(all.out.find("activations_p.png") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("filters and activations: bad inputs exit 2 with one line and write nothing") {
  const fs::path dir = test::temp_dir("vis_filters_bad");
  const std::string weights = (dir / "tiny.h5").string();
  save_model(tiny_model(), weights, KerasLayout::model);
  Canvas img(8, 8, {10, 200, 30});
  const std::string image = (dir / "img.png").string();
  write_png(img, image);
  const std::string garbage = (dir / "garbage.png").string();
  { std::ofstream(garbage) << "not a png at all"; }
  const std::string plain = (dir / "plain").string();
  { std::ofstream(plain) << "x"; }
  const std::string out = (dir / "out").string();

  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> message;  // substrings the error must contain
  };
  const std::vector<Case> cases = {
      {{"filters", "--weights", weights, "--layer", "nope", "--out", out}, {"nope", "c1", "c2", "d"}},
      {{"filters", "--weights", weights, "--layer", "d", "--out", out}, {"'d'", "Dense", "c1, c2"}},
      {{"filters", "--weights", weights, "--layer", "p", "--out", out}, {"'p'", "MaxPooling2D", "no weights"}},
      {{"filters", "--weights", weights, "--layer", "c2", "--filters", "2-5", "--out", out}, {"0-2", "2-5"}},
      {{"filters", "--weights", weights, "--layer", "c2", "--filters", "x", "--out", out}, {"--filters"}},
      {{"filters", "--weights", weights, "--layer", "c2", "--cmap", "jet", "--out", out}, {"jet", "blue_red"}},
      {{"filters", "--weights", weights, "--layer", "c1", "--out", plain + "/sub"}, {"plain"}},
      {{"filters", "--weights", weights, "--layer", "c1", "--out", plain}, {"not a directory"}},
      {{"activations", "--weights", weights, "--image", image, "--layer", "nope", "--out", out}, {"nope", "c1"}},
      {{"activations", "--weights", weights, "--image", image, "--layer", "f", "--out", out}, {"'f'", "(12,)", "spatial"}},
      {{"activations", "--weights", weights, "--image", image, "--layer", "d", "--out", out}, {"'d'", "(2,)"}},
      {{"activations", "--weights", weights, "--image", garbage, "--layer", "c1", "--out", out}, {"garbage.png", "decode"}},
      {{"activations", "--weights", weights, "--image", (dir / "missing.png").string(), "--layer", "c1", "--out", out},
       {"missing.png"}},
      {{"activations", "--weights", weights, "--image", image, "--layer", "c1", "--out", plain + "/sub"}, {"plain"}},
      {{"activations", "--weights", weights, "--image", image, "--layer", "c1", "--norm", "z", "--out", out}, {"keras"}},
      {{"activations", "--weights", weights, "--image", image, "--layer", "c1", "--colour", "x"}, {"--colour"}},
  };
  for (const Case& c : cases) {
    const test::CliResult r = test::run_vis_tool(c.args);
    std::string line;
    for (const auto& a : c.args) line += a + " ";
    CHECK_MESSAGE(r.rc == 2, line);
    CHECK_MESSAGE(r.one_line_error(), line << "-> " << r.err);
    for (const auto& m : c.message) CHECK_MESSAGE(r.err.find(m) != std::string::npos, line << "-> " << r.err << " lacks " << m);
    CHECK_MESSAGE(r.out.empty(), line);
  }
  CHECK(count_png(dir) == 2);  // only the two input images
  CHECK(fs::is_regular_file(plain));
  fs::remove_all(dir);
}

TEST_CASE("filters: a depthwise kernel is drawn as one single-channel kernel per output channel") {
  // (KH, KW, C, M) = (2, 3, 2, 3): output channel c*M + m of the sheet's (KH, KW, 1, C*M) view is
  // w[y, x, c, m], the kernel that sees input channel c alone.
  Layer l;
  l.name = "dw";
  l.class_name = "DepthwiseConv2D";
  l.type = LayerType::depthwise_conv2d;
  const Tensor w = convis::test::random_tensor({2, 3, 2, 3}, 4);
  l.weights = {Var::constant(w)};
  const Tensor k = drawn_kernel(l);
  REQUIRE(k.shape() == Shape{2, 3, 1, 6});
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 2; ++c)
        for (int m = 0; m < 3; ++m) CHECK(k[(y * 3 + x) * 6 + c * 3 + m] == w[((y * 3 + x) * 2 + c) * 3 + m]);
  int first = -1, last = -1;
  default_filter_range(l, first, last);
  CHECK(first == 0);
  CHECK(last == 5);
}
