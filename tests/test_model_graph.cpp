// Models as graphs (engine/model.h): only a layer's ancestors run, fan-out accumulates gradients,
// a diamond and a residual block agree with the ops written out by hand and with central
// differences, Functional configs (Keras 2 and 3) round-trip, nested models are flattened with
// their weights, receptive fields take every path, Grad-CAM works inside a branch.
#include <cmath>

#include "engine/classifier.h"
#include "engine/keras_h5.h"
#include "engine/model_config.h"
#include "engine/ops.h"
#include "engine/receptive_field.h"
#include "tests/attribution_models.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/activations.h"
#include "vis/attribution.h"

using namespace convis;
using convis::test::check_gradients;
using convis::test::conv_layer;
using convis::test::input_layer;
using convis::test::max_abs_diff;
using convis::test::random_tensor;
using convis::test::simple_layer;

namespace {

Layer reading(Layer l, std::vector<int> inputs) {
  l.inputs = std::move(inputs);
  return l;
}

Layer merge(const std::string& name, const char* cls, LayerType t, std::vector<int> inputs) {
  Layer l = simple_layer(name, cls, t);
  l.inputs = std::move(inputs);
  return l;
}

// x -> a (3x3 relu) -> b1 (3x3) and b2 (1x1) -> add: every path of a diamond.
Model diamond(uint32_t seed) {
  Model m;
  m.name = "diamond";
  m.input_h = 6, m.input_w = 5, m.input_c = 3;
  m.layers = {input_layer(), conv_layer("a", 4, 3, Activation::relu), reading(conv_layer("b1", 2, 3, Activation::linear), {1}),
              reading(conv_layer("b2", 2, 1, Activation::linear), {1}), merge("s", "Add", LayerType::add, {2, 3})};
  return test::finish(m, 6, 5, seed);
}

Var conv_of(const Model& m, const std::string& name, const Var& x, bool relu) {
  const Layer& l = m.layers[size_t(m.layer_index(name))];
  return conv2d(x, l.weights[0], l.weights[1], 1, 1, Padding::same, relu);
}

}  // namespace

TEST_CASE("graph: forward runs only the ancestors of the layer asked for") {
  Model m;
  m.input_h = 5, m.input_w = 4, m.input_c = 3;
  // c2 reads the input, not c1: c1 is no ancestor of c2 and must not run.
  m.layers = {input_layer(), conv_layer("c1", 2, 3, Activation::relu), reading(conv_layer("c2", 3, 1, Activation::linear), {0})};
  m = test::finish(m, 5, 4, 11);
  CHECK(!m.is_chain());
  const Tensor x = random_tensor({2, 5, 4, 3}, 1);
  std::vector<int> ran;
  NoGrad no_grad;
  const Tensor y = m.forward(Var::constant(x), -1, false, [&](int i, Var&) { ran.push_back(i); }).value();
  CHECK(ran == std::vector<int>{0, 2});
  CHECK(max_abs_diff(y, conv_of(m, "c2", Var::constant(x), false).value()) == 0.0);
  CHECK(m.input_shape(2) == Shape{5, 4, 3});
}

TEST_CASE("graph: a diamond equals its ops by hand, and its gradients match central differences") {
  const Model m = diamond(5);
  const Tensor x = random_tensor({2, 6, 5, 3}, 2);
  {
    NoGrad no_grad;
    const Var a = conv_of(m, "a", Var::constant(x), true);
    const Tensor want = add(conv_of(m, "b1", a, false), conv_of(m, "b2", a, false)).value();
    CHECK(max_abs_diff(m.forward(Var::constant(x)).value(), want) < 1e-6);
  }
  // d/dx and d/dweights through both branches: the fan-out at a sums two contributions.
  Model trainable = m;
  trainable.set_trainable(true);
  std::vector<Var> in{Var::param(x)};
  for (const Layer& l : trainable.layers)
    for (const Var& w : l.weights) in.push_back(w);
  check_gradients("diamond", [&](const std::vector<Var>& v) { return trainable.forward(v[0]); }, in, 1e-3);
  trainable.set_trainable(false);
}

TEST_CASE("graph: gradient of a channel mean through a residual block and a concatenation") {
  // x -> c (3x3) -> bn -> relu -> c2 (3x3) -> add(c2, proj(x)) -> relu -> concat(relu, c) -> out
  Model m;
  m.input_h = 7, m.input_w = 6, m.input_c = 3;
  Layer bn = simple_layer("bn", "BatchNormalization", LayerType::batch_norm);
  Layer act = simple_layer("act", "Activation", LayerType::activation);
  act.activation = Activation::relu;
  Layer out_act = act;
  out_act.name = "out_act";
  Layer cat = merge("cat", "Concatenate", LayerType::concatenate, {7, 1});
  m.layers = {input_layer(),                                              // 0
              conv_layer("c", 4, 3, Activation::linear),                  // 1
              bn,                                                         // 2
              act,                                                        // 3
              conv_layer("c2", 5, 3, Activation::linear),                 // 4
              reading(conv_layer("proj", 5, 1, Activation::linear), {0}),  // 5
              merge("add", "Add", LayerType::add, {4, 5}),                // 6
              out_act,                                                    // 7
              cat};                                                       // 8 (N, 7, 6, 9)
  m = test::finish(m, 7, 6, 21);
  REQUIRE(m.layers.back().output_shape == Shape{7, 6, 9});
  const Tensor x = random_tensor({2, 7, 6, 3}, 3);
  Model t = m;
  t.set_trainable(true);
  std::vector<Var> in{Var::param(x)};
  for (const Layer& l : t.layers)
    for (const Var& w : l.weights) in.push_back(w);
  for (int ch : {1, 6})  // a channel from the residual half, one from the copy of c
    check_gradients("residual + concat, channel " + std::to_string(ch),
                    [&](const std::vector<Var>& v) { return mean(channel(t.forward(v[0]), ch)); }, in);
  t.set_trainable(false);
  // forward_from at the block's input cut works; inside the block it is refused (the skip reads x).
  NoGrad no_grad;
  const Tensor c_out = m.forward(Var::constant(x), 1).value();
  CHECK(max_abs_diff(m.forward_from(Var::constant(c_out), 2, 4).value(), m.forward(Var::constant(x), 4).value()) < 1e-6);
  const std::string around = test::error_of([&] { m.forward_from(Var::constant(c_out), 2); });
  CHECK_MESSAGE(test::contains(around, "layer 'proj' reads layer 'input_1', which comes before layer 'c'"), around);
}

TEST_CASE("graph: receptive fields take the union of every path") {
  // x -> a (3x3) ; x -> b (5x5, reads x) ; add(a, b): the centre unit sees 5x5 through b.
  Model m;
  m.input_h = m.input_w = 9, m.input_c = 3;
  m.layers = {input_layer(), conv_layer("a", 2, 3, Activation::linear), reading(conv_layer("b", 2, 5, Activation::linear), {0}),
              merge("s", "Add", LayerType::add, {1, 2}), simple_layer("p", "MaxPooling2D", LayerType::max_pool2d)};
  m = test::finish(m, 9, 9, 4);
  PixelBox b = receptive_box(m, 3, 4, 4);
  CHECK(b.top == 2);
  CHECK(b.bottom == 6);
  b = receptive_box(m, 1, 4, 4);  // through a alone: 3x3
  CHECK(b.height() == 3);
  // The pool (2x2/2) at (1, 1) reads s rows 2..3, which see rows 0..5 through the 5x5.
  b = receptive_box(m, 4, 1, 1);
  CHECK(b.top == 0);
  CHECK(b.bottom == 5);
  CHECK(unit_receptive_field(m, 4) == 6);
}

TEST_CASE("graph: a Functional config round-trips, Keras 2 and Keras 3 spellings read alike") {
  const Model m = diamond(8);
  const std::string text = model_to_config(m);
  CHECK(test::contains(text, R"("class_name":"Functional")"));
  Model back = model_from_config(text);
  REQUIRE(back.layers.size() == m.layers.size());
  CHECK(back.inputs_of(4) == std::vector<int>{2, 3});
  CHECK(back.inputs_of(3) == std::vector<int>{1});
  const char* k3 = R"({"class_name": "Functional", "config": {"name": "k3", "layers": [
    {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 6, 5, 3], "name": "x"}, "inbound_nodes": []},
    {"class_name": "Conv2D", "name": "a", "config": {"name": "a", "filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "relu"},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 6, 5, 3], "keras_history": ["x", 0, 0]}}], "kwargs": {}}]},
    {"class_name": "Conv2D", "name": "b1", "config": {"name": "b1", "filters": 2, "kernel_size": [3, 3], "padding": "same"},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 0]}}], "kwargs": {}}]},
    {"class_name": "Conv2D", "name": "b2", "config": {"name": "b2", "filters": 2, "kernel_size": [1, 1], "padding": "same"},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 0]}}], "kwargs": {}}]},
    {"class_name": "Add", "name": "s", "config": {"name": "s"},
     "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__", "config": {"keras_history": ["b1", 0, 0]}},
                                 {"class_name": "__keras_tensor__", "config": {"keras_history": ["b2", 0, 0]}}]], "kwargs": {}}]}],
    "input_layers": ["x", 0, 0], "output_layers": ["s", 0, 0]}})";
  Model k = model_from_config(k3);
  REQUIRE(k.layers.size() == 5);
  CHECK(k.inputs_of(4) == std::vector<int>{2, 3});
  for (size_t i = 0; i < m.layers.size(); ++i) k.layers[i].weights = m.layers[i].weights, k.layers[i].weight_names = m.layers[i].weight_names;
  k.build();
  const Tensor x = random_tensor({1, 6, 5, 3}, 9);
  NoGrad no_grad;
  CHECK(max_abs_diff(k.forward(Var::constant(x)).value(), m.forward(Var::constant(x)).value()) == 0.0);
  const std::string summary = m.summary();
  CHECK(test::contains(summary, "Connected to"));
  CHECK(test::contains(summary, "['b1[0][0]',"));
  CHECK(test::contains(summary, " 'b2[0][0]']"));
}

TEST_CASE("graph: a nested model is flattened at load and finds its weights in its group") {
  // outer: in -> base (in_b -> c1 (3x3 relu) -> c2 (1x1)) -> gap -> out (Dense 3, softmax)
  const char* config = R"({"class_name": "Functional", "config": {"name": "outer", "layers": [
    {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, 8, 8, 3], "name": "in"}, "inbound_nodes": []},
    {"class_name": "Functional", "name": "base", "config": {"name": "base", "layers": [
        {"class_name": "InputLayer", "name": "in_b", "config": {"batch_input_shape": [null, 8, 8, 3], "name": "in_b"}, "inbound_nodes": []},
        {"class_name": "Conv2D", "name": "c1", "config": {"name": "c1", "filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "relu"},
         "inbound_nodes": [[["in_b", 0, 0, {}]]]},
        {"class_name": "Conv2D", "name": "c2", "config": {"name": "c2", "filters": 5, "kernel_size": [1, 1]},
         "inbound_nodes": [[["c1", 0, 0, {}]]]}],
      "input_layers": [["in_b", 0, 0]], "output_layers": [["c2", 0, 0]]},
     "inbound_nodes": [[["in", 0, 0, {}]]]},
    {"class_name": "GlobalAveragePooling2D", "name": "gap", "config": {"name": "gap"}, "inbound_nodes": [[["base", 1, 0, {}]]]},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 3, "activation": "softmax"}, "inbound_nodes": [[["gap", 0, 0, {}]]]}],
    "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]}})";
  const Tensor k1 = random_tensor({3, 3, 3, 4}, 1), b1 = random_tensor({4}, 2), k2 = random_tensor({1, 1, 4, 5}, 3),
               b2 = random_tensor({5}, 4), kd = random_tensor({5, 3}, 5), bd = random_tensor({3}, 6);
  // Keras 2 writes a nested model's weights in its own group, trainable ones first, named
  // "<layer>/<weight>" (the writer adds the group's name in front, as some Keras versions do).
  const std::vector<LayerWeights> groups = {
      {"in", {}},
      {"base", {{"c1/kernel:0", k1, k1.shape()}, {"c1/bias:0", b1, b1.shape()}, {"c2/kernel:0", k2, k2.shape()},
                {"c2/bias:0", b2, b2.shape()}}},
      {"gap", {}},
      {"out", {{"kernel:0", kd, kd.shape()}, {"bias:0", bd, bd.shape()}}}};
  test::Dir d("nested_model");
  const std::string file = d / "nested.h5";
  write_keras_h5(file, KerasLayout::model, groups, config);
  const Model m = load_model(file);
  CHECK(m.layer_names() == std::vector<std::string>{"in", "c1", "c2", "gap", "out"});
  const Tensor x = random_tensor({2, 8, 8, 3}, 7);
  NoGrad no_grad;
  Var h = conv2d(Var::constant(x), Var::constant(k1), Var::constant(b1), 1, 1, Padding::same, true);
  h = conv2d(h, Var::constant(k2), Var::constant(b2), 1, 1, Padding::valid);
  const Tensor want = softmax(dense(global_avg_pool2d(h), Var::constant(kd), Var::constant(bd))).value();
  CHECK(max_abs_diff(m.forward(Var::constant(x)).value(), want) < 1e-6);
}

TEST_CASE("graph: Grad-CAM inside a residual branch weighs channels by the mean score gradient") {
  // x -> c (relu) -> r1 (relu) -> add(r1, c) -> gap -> dense: Grad-CAM at r1, whose output is not a
  // cut (the skip reads c). d score / d A by central differences on A itself, through the hook.
  Model m;
  m.input_h = 6, m.input_w = 6, m.input_c = 3;
  m.layers = {input_layer(), conv_layer("c", 3, 3, Activation::relu), conv_layer("r1", 3, 3, Activation::relu),
              merge("add", "Add", LayerType::add, {2, 1}), simple_layer("gap", "GlobalAveragePooling2D", LayerType::global_avg_pool2d),
              test::dense_layer("fc", 4, Activation::linear)};
  m = test::finish(m, 6, 6, 31);
  const Tensor x = random_tensor({1, 6, 6, 3}, 8, 0.f, 1.f);
  const int layer = 2, cls = 1;
  Tensor weights;
  grad_cam(m, x, cls, layer, false, &weights);
  Tensor A;
  {
    NoGrad no_grad;
    A = m.forward(Var::constant(x), layer).value();
  }
  auto score_with = [&](const Tensor& a) {
    NoGrad no_grad;
    const Tensor s = class_scores(m, Var::constant(x), [&](int i, Var& out) {
                       if (i == layer) out = Var::constant(a);
                     }).value();
    return double(s[cls]);
  };
  const int64_t K = A.dim(3), hw = A.dim(1) * A.dim(2);
  for (int64_t k = 0; k < K; ++k) {
    double g = 0.0;
    for (int64_t p = 0; p < hw; ++p) {
      Tensor up = A.clone(), dn = A.clone();
      up[p * K + k] += 1e-2f;
      dn[p * K + k] -= 1e-2f;
      g += (score_with(up) - score_with(dn)) / 2e-2;
    }
    CHECK(weights[k] == doctest::Approx(g / double(hw)).epsilon(1e-3));
  }
}

TEST_CASE("graph: layer names with '/' are nested groups in Keras 2 files, and only clean paths are written") {
  // DenseNet's "conv1/conv" round-trips in the keras2 layout (h5py writes it as nested groups).
  test::Dir d("slash_names");
  const Tensor k = random_tensor({1, 1, 3, 2}, 1);
  write_keras_h5(d / "ok.h5", KerasLayout::keras2, {{"conv1/conv", {{"kernel:0", k, k.shape()}}}, {"conv1/bn", {}}});
  const KerasFile f = read_keras_h5(d / "ok.h5");
  REQUIRE(f.find("conv1/conv") != nullptr);
  CHECK(max_abs_diff(f.find("conv1/conv")->weights.at(0).value, k) == 0.0);
  // Names that are not clean group paths are refused before anything is written, in every layout;
  // Keras 3 has no '/' in names at all.
  for (const std::string bad : {"a//b", "/a", "a/", "a/../b", "a/./b", ".", ""}) {
    CAPTURE(bad);
    const std::string file = d / "bad.h5";
    CHECK(test::contains(test::error_of([&] { write_keras_h5(file, KerasLayout::keras2, {{bad, {}}}); }),
                         "is not a valid Keras layer name"));
    CHECK(!std::filesystem::exists(file));
  }
  CHECK(test::contains(test::error_of([&] { write_keras_h5(d / "k3.h5", KerasLayout::keras3, {{"conv1/conv", {}}}); }),
                       "layer name 'conv1/conv' is not a valid Keras layer name"));
}

TEST_CASE("graph: layer_outputs keeps a side branch that is no ancestor of the last layer asked for") {
  // c1 and c2 both read the input; c1 is not an ancestor of c2, the pass runs on to the Add.
  Model m;
  m.input_h = 5, m.input_w = 4, m.input_c = 3;
  m.layers = {input_layer(), conv_layer("c1", 2, 3, Activation::relu), reading(conv_layer("c2", 2, 1, Activation::linear), {0}),
              merge("s", "Add", LayerType::add, {1, 2})};
  m = test::finish(m, 5, 4, 12);
  const Tensor x = random_tensor({1, 5, 4, 3}, 3);
  const std::vector<Tensor> outs = layer_outputs(m, x, 2, {1, 2});
  NoGrad no_grad;
  REQUIRE(outs[1].defined());
  REQUIRE(outs[2].defined());
  CHECK(!outs[3].defined());  // past `last`: not kept
  CHECK(max_abs_diff(outs[1], m.forward(Var::constant(x), 1).value()) == 0.0);
  CHECK(max_abs_diff(outs[2], m.forward(Var::constant(x), 2).value()) == 0.0);
}
