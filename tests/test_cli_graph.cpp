// vis_tool on graph models: every command on a small model with a residual add, a depthwise and
// pointwise branch, a ReLU6, a concatenation (written with model.save()'s Functional config); and
// init --arch for the keras.applications models: Keras' totals, bare weight files by name and,
// as Keras' load_weights does, by position.
#include <filesystem>

#include "engine/applications.h"
#include "engine/keras_h5.h"
#include "engine/model_io.h"
#include "tests/attribution_models.h"
#include "tests/cli_util.h"
#include "vis/canvas.h"
#include "vis/png.h"

using namespace convis;
using namespace convis::test;

namespace {

Layer reads(Layer l, std::vector<int> in) {
  l.inputs = std::move(in);
  return l;
}

// in -> c1 (relu) -> bn -> r6 (ReLU6) -> dw (depthwise) -> pw (1x1) -> add(pw, r6) -> pool ->
// side (3x3) ; cat(pool, side) -> c2 (relu) -> gap -> fc (softmax over 5)
Model small_graph() {
  Model m;
  m.name = "small_graph";
  Layer bn = simple_layer("bn", "BatchNormalization", LayerType::batch_norm);
  Layer r6 = simple_layer("r6", "ReLU", LayerType::relu);
  r6.max_value = 6.f;
  Layer dw = simple_layer("dw", "DepthwiseConv2D", LayerType::depthwise_conv2d);
  dw.kernel_h = dw.kernel_w = 3;
  dw.padding = Padding::same;
  Layer add = reads(simple_layer("add", "Add", LayerType::add), {5, 3});
  Layer cat = reads(simple_layer("cat", "Concatenate", LayerType::concatenate), {7, 8});
  m.layers = {input_layer(),                                                              // 0
              conv_layer("c1", 8, 3, Activation::relu),                                   // 1
              bn,                                                                         // 2
              r6,                                                                         // 3
              dw,                                                                         // 4
              conv_layer("pw", 8, 1, Activation::linear),                                 // 5
              add,                                                                        // 6
              simple_layer("pool", "MaxPooling2D", LayerType::max_pool2d),                // 7
              reads(conv_layer("side", 4, 3, Activation::relu), {7}),                     // 8
              cat,                                                                        // 9
              conv_layer("c2", 12, 3, Activation::relu),                                  // 10
              simple_layer("gap", "GlobalAveragePooling2D", LayerType::global_avg_pool2d),  // 11
              dense_layer("fc", 5, Activation::softmax)};                                 // 12
  return finish(m, 32, 32, 5);
}

void write_test_image(const std::string& path) {
  Canvas c(48, 40, {200, 180, 120});
  c.fill_rect(10, 8, 20, 18, {40, 90, 200});
  c.fill_rect(28, 20, 12, 12, {220, 40, 40});
  write_png(c, path);
}

}  // namespace

TEST_CASE("cli graph model: every command runs on a model with skips, branches and a concatenation") {
  Dir d("cli_graph");
  const Model m = small_graph();
  const std::string file = d / "graph.h5", img = d / "img.png";
  save_model(m, file, KerasLayout::model);
  write_test_image(img);
  auto ok = [&](const std::vector<std::string>& args) {
    const CliResult r = run_vis_tool(args);
    CHECK_MESSAGE(r.rc == 0, args[0] << ": " << r.err);
    return r;
  };
  const CliResult s = ok({"summary", "--weights", file});
  CHECK(contains(s.out, "Connected to"));
  CHECK(contains(s.out, "['pw[0][0]',"));
  CHECK(contains(s.out, "Total params: " + [&] {
          std::string t = std::to_string(m.param_count());
          for (int i = int(t.size()) - 3; i > 0; i -= 3) t.insert(size_t(i), ",");
          return t;
        }()));
  const std::string out = d / "out";
  std::filesystem::create_directories(out);
  ok({"diagram", "--weights", file, "--style", "flat", "--out", out});
  CHECK(std::filesystem::exists(out + "/graph_flat.png"));
  ok({"diagram", "--weights", file, "--out", out});
  CHECK(std::filesystem::exists(out + "/graph_layered.png"));
  ok({"classify", "--weights", file, "--image", img});
  ok({"activations", "--weights", file, "--image", img, "--layer", "dw", "--out", out});
  ok({"activations", "--weights", file, "--image", img, "--layer", "all", "--out", out});
  ok({"filters", "--weights", file, "--layer", "c1", "--out", out});
  ok({"filters", "--weights", file, "--layer", "dw", "--out", out});
  CHECK(std::filesystem::exists(out + "/filters_dw.png"));
  ok({"maximize", "--weights", file, "--layer", "add", "--filters", "0-1", "--iters", "4", "--out", out});
  ok({"maximize", "--weights", file, "--layer", "side", "--filter", "2", "--iters", "4", "--out", out});
  for (const char* method : {"gradcam", "gradcampp", "vanilla", "guided", "integrated", "smoothgrad"})
    ok({"saliency", "--weights", file, "--image", img, "--method", method, "--out", out});
  // Grad-CAM at a layer whose output is not a cut of the graph (the add also reads r6).
  ok({"saliency", "--weights", file, "--image", img, "--method", "gradcam", "--layer", "pw", "--out", out});
  ok({"occlusion", "--weights", file, "--image", img, "--out", out});
  ok({"explain", "value", "--weights", file, "--image", img, "--layer", "c2", "--at", "3,4", "--filter", "1"});
  ok({"report", "--weights", file, "--image", img, "--iters", "4", "--per-block", "2", "--out", d / "report"});
  CHECK(std::filesystem::exists(d / "report/index.html"));
}

TEST_CASE("cli init --arch: Keras' totals, and bare weight files found by name and by position") {
  Dir d("cli_init_arch");
  const std::string full = d / "mobilenet_v2.h5";
  CliResult r = run_vis_tool({"init", "--arch", "mobilenet_v2", "--top", "--seed", "2", "--out", full});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  r = run_vis_tool({"summary", "--weights", full});
  CHECK(contains(r.out, "Total params: 3,538,984"));
  CHECK(contains(r.out, "Non-trainable params: 34,112"));
  CHECK(contains(r.out, " block_16_project_BN ("));
  expect_failure({"init", "--arch", "resnet18", "--out", d / "x.h5"}, d / "x.h5",
                 {"architecture 'resnet18' is not one convis builds (known: vgg16, resnet50"});

  // The same weights as a bare file (Keras 2 save_weights): recognised by its layer names.
  const Model m = load_model(full);
  save_model(m, d / "bare.h5", KerasLayout::keras2);
  const Model by_name = load_model(d / "bare.h5");
  CHECK(by_name.name == "mobilenetv2_1.00_224");
  // Older Keras named layers otherwise; Keras' load_weights goes by position, and so does convis.
  std::vector<LayerWeights> renamed = model_weights(m, KerasLayout::keras2);
  for (size_t i = 0; i < renamed.size(); ++i) {
    renamed[i].layer = "old_" + std::to_string(i);
    for (NamedTensor& t : renamed[i].weights) t.name = t.name.substr(t.name.find('/') + 1);
  }
  write_keras_h5(d / "old_names.h5", KerasLayout::keras2, renamed);
  const Model by_position = load_model(d / "old_names.h5");
  const Tensor x = random_tensor({1, 224, 224, 3}, 3);
  NoGrad no_grad;
  const Tensor want = m.forward(Var::constant(x)).value();
  CHECK(max_abs_diff(by_name.forward(Var::constant(x)).value(), want) == 0.0);
  CHECK(max_abs_diff(by_position.forward(Var::constant(x)).value(), want) == 0.0);
}
