// Model building: VGG16's shapes and parameter counts, Keras model_config parsing (Sequential,
// Functional chains, Keras 2 and 3 forms), clear errors for what convis does not support.
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/model_io.h"
#include "tests/util.h"

using namespace convis;

namespace {
using convis::test::error_of;

// The Keras tutorial CNN as Keras 2 writes its Sequential config (abridged: Keras ignores absent keys).
const char* kTutorialCnn = R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28, 1], "dtype": "float32", "name": "conv2d_input"}},
  {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 32, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu", "use_bias": true}},
  {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2]}},
  {"class_name": "Conv2D", "config": {"name": "conv2d_1", "filters": 64, "kernel_size": [3, 3], "activation": "relu"}},
  {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1", "pool_size": [2, 2]}},
  {"class_name": "Conv2D", "config": {"name": "conv2d_2", "filters": 64, "kernel_size": [3, 3], "activation": "relu"}},
  {"class_name": "Flatten", "config": {"name": "flatten"}},
  {"class_name": "Dense", "config": {"name": "dense", "units": 64, "activation": "relu"}},
  {"class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax"}}]}})";
}  // namespace

TEST_CASE("vgg16: Keras' layer names / shapes and parameter counts (14 714 688 and 138 357 544)") {
  Model notop = vgg16(false);
  notop.build(96, 96);
  init_he_normal(notop, 1);
  CHECK(notop.param_count() == 14714688);
  CHECK(notop.layers.size() == 19);
  CHECK(notop.layers[notop.layer_index("block5_pool")].output_shape == Shape{3, 3, 512});
  CHECK(notop.layers[notop.layer_index("block3_conv1")].output_shape == Shape{24, 24, 256});
  const std::string s = notop.summary();
  CHECK(s.find(" block1_conv1 (Conv2D)       (None, 96, 96, 64)        1792      \n") != std::string::npos);
  CHECK(s.find(" input_1 (InputLayer)        [(None, 96, 96, 3)]       0") != std::string::npos);
  CHECK(s.find("Total params: 14,714,688\nTrainable params: 14,714,688\nNon-trainable params: 0\n") !=
        std::string::npos);

  Model top = vgg16(true);
  top.build();
  CHECK(top.built_h() == 224);
  top.layers.back().weights.clear();  // counts come from built shapes once weights exist
  init_he_normal(top, 1);
  CHECK(top.param_count() == 138357544);
  CHECK(top.layers[top.layer_index("flatten")].output_shape == Shape{25088});
  CHECK(top.outputs_probabilities());
  CHECK(error_of([&] { top.build(96, 96); }).find("takes 224x224 inputs") != std::string::npos);
  // He-normal: kernel std close to sqrt(2 / fan_in), biases zero.
  const Tensor& k = notop.layers[notop.layer_index("block3_conv2")].weights[0].value();
  double ss = 0.0;
  for (int64_t i = 0; i < k.numel(); ++i) ss += double(k[i]) * k[i];
  CHECK(std::sqrt(ss / double(k.numel())) == doctest::Approx(std::sqrt(2.0 / (9 * 256))).epsilon(0.02));
}

TEST_CASE("model_config: the Keras tutorial CNN / Sequential / with Keras' parameter counts") {
  Model m = model_from_config(kTutorialCnn);
  m.build();
  init_glorot_uniform(m, 3);
  const int64_t want[] = {0, 320, 0, 18496, 0, 36928, 0, 36928, 650};
  REQUIRE(m.layers.size() == 9);
  for (size_t i = 0; i < m.layers.size(); ++i) CHECK(m.layers[i].param_count() == want[i]);
  CHECK(m.param_count() == 93322);
  CHECK(m.layers[5].output_shape == Shape{3, 3, 64});
  CHECK(m.layers[2].stride_h == 2);  // pool strides default to the pool size
  // Round trip through our own config writer.
  Model back = model_from_config(model_to_config(m));
  back.build();
  REQUIRE(back.layers.size() == m.layers.size());
  for (size_t i = 0; i < m.layers.size(); ++i) {
    CHECK(back.layers[i].name == m.layers[i].name);
    CHECK(back.layers[i].class_name == m.layers[i].class_name);
    CHECK(back.layers[i].output_shape == m.layers[i].output_shape);
    CHECK(back.layers[i].activation == m.layers[i].activation);
  }
  // Forward matches the ops composed by hand.
  Tensor x = test::random_tensor({2, 28, 28, 1}, 4, 0.f, 1.f);
  Var y = m.forward(Var::constant(x));
  auto W = [&](int i, int k) { return m.layers[size_t(i)].weights[size_t(k)]; };
  Var h = relu(conv2d(Var::constant(x), W(1, 0), W(1, 1), 1, 1, Padding::valid));
  h = max_pool2d(h, 2, 2, 2, 2, Padding::valid);
  h = max_pool2d(relu(conv2d(h, W(3, 0), W(3, 1), 1, 1, Padding::valid)), 2, 2, 2, 2, Padding::valid);
  h = flatten(relu(conv2d(h, W(5, 0), W(5, 1), 1, 1, Padding::valid)));
  h = softmax(dense(relu(dense(h, W(7, 0), W(7, 1))), W(8, 0), W(8, 1)));
  REQUIRE(y.shape() == Shape{2, 10});
  for (int i = 0; i < 20; ++i) CHECK(y.value()[i] == doctest::Approx(h.value()[i]).epsilon(1e-5));
  // Sub-models: up to a named layer, and pre-activation.
  CHECK(m.forward(Var::constant(x), m.layer_index("conv2d_1")).shape() == Shape{2, 11, 11, 64});
  Var pre = m.forward(Var::constant(x), 1, true);
  bool has_negative = false;
  for (int64_t i = 0; i < pre.value().numel(); ++i) has_negative |= pre.value()[i] < 0.f;
  CHECK(has_negative);
}

TEST_CASE("model_config: Sequential without an InputLayer (Keras 2.2 list form)") {
  Model m = model_from_config(R"({"class_name": "Sequential", "config": [
    {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": [3, 3], "batch_input_shape": [null, 9, 9, 3], "padding": "same", "strides": [2, 2]}},
    {"class_name": "GlobalAveragePooling2D", "config": {"name": "g"}}]})");
  m.build();
  REQUIRE(m.layers.size() == 3);
  CHECK(m.layers[0].name == "c_input");
  CHECK(m.layers[1].output_shape == Shape{5, 5, 4});
  CHECK(m.layers[2].output_shape == Shape{4});
}

TEST_CASE("model_config: functional chains in Keras 2 and Keras 3 form") {
  const char* k2 = R"({"class_name": "Model", "config": {"name": "m", "layers": [
    {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": [null, null, null, 3], "name": "in"}, "inbound_nodes": []},
    {"name": "c", "class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": [1, 1], "use_bias": false}, "inbound_nodes": [[["in", 0, 0, {}]]]},
    {"name": "bn", "class_name": "BatchNormalization", "config": {"name": "bn", "epsilon": 0.001}, "inbound_nodes": [[["c", 0, 0, {}]]]},
    {"name": "a", "class_name": "LeakyReLU", "config": {"name": "a", "alpha": 0.1}, "inbound_nodes": [[["bn", 0, 0, {}]]]}],
    "input_layers": [["in", 0, 0]], "output_layers": [["a", 0, 0]]}})";
  Model m = model_from_config(k2);
  CHECK(m.input_h == 0);
  m.build(5, 7);
  CHECK(m.layers[3].output_shape == Shape{5, 7, 2});
  CHECK(m.layers[3].alpha == doctest::Approx(0.1f));
  const char* k3 = R"({"module": "keras", "class_name": "Functional", "config": {"name": "f", "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 1], "name": "x"}, "name": "x", "inbound_nodes": []},
    {"module": "keras.layers", "class_name": "ReLU", "config": {"name": "r", "max_value": null, "negative_slope": 0.0, "threshold": 0.0}, "name": "r",
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 8, 8, 1], "keras_history": ["x", 0, 0]}}], "kwargs": {}}]}],
    "input_layers": ["x", 0, 0], "output_layers": ["r", 0, 0]}})";
  Model m3 = model_from_config(k3);
  m3.build();
  CHECK(m3.layers.size() == 2);
  CHECK(m3.layers[1].activation == Activation::relu);
}

TEST_CASE("model_config: unsupported things are clear errors naming the layer and its class") {
  CHECK(error_of([] {
    model_from_config(R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 8, 8, 1], "name": "i"}},
      {"class_name": "Conv3D", "config": {"name": "vol"}}]}})");
  }).find("layer 'vol' (Conv3D): class 'Conv3D' is not supported") != std::string::npos);
  const std::string shared = error_of([] {
    model_from_config(R"({"class_name": "Functional", "config": {"name": "b", "layers": [
      {"name": "i", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 4, 1], "name": "i"}, "inbound_nodes": []},
      {"name": "p", "class_name": "ReLU", "config": {"name": "p"}, "inbound_nodes": [[["i", 0, 0, {}]], [["i", 0, 0, {}]]]}],
      "input_layers": [["i", 0, 0]], "output_layers": [["p", 0, 0]]}})");
  });
  CHECK(shared.find("layer 'p' is called 2 times (a shared layer)") != std::string::npos);
  CHECK(error_of([] {
    model_from_config(R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 8, 8, 1], "name": "i"}},
      {"class_name": "Conv2D", "config": {"name": "c", "filters": 1, "kernel_size": [3, 3], "activation": "exponential"}}]}})");
  }).find("layer 'c': activation 'exponential' is not supported") != std::string::npos);
  CHECK(error_of([] { model_from_config("{not json"); }).find("not valid JSON") != std::string::npos);
  Model m = vgg16(false);
  CHECK(error_of([&] { m.layer_index("block9_conv1"); }).find("valid names: input_1, block1_conv1") !=
        std::string::npos);
  CHECK(error_of([&] { m.build(); }).find("free input size") != std::string::npos);
}

TEST_CASE("weight aliases resolve under CONVIS_WEIGHTS_DIR, else the program default folder, and other specs are paths") {
  const char* env = std::getenv("CONVIS_WEIGHTS_DIR");
  const std::string saved_env = env ? env : "";
  unsetenv("CONVIS_WEIGHTS_DIR");
  const std::string saved_default = weights_dir();  // tests/main.cpp's: the tree's weights/
  CHECK(saved_default == std::string(CONVIS_SOURCE_DIR) + "/weights");
  set_default_weights_dir("/opt/models");
  CHECK(resolve_weights_path("fashion") == "/opt/models/fashion_cnn.h5");
  CHECK(resolve_weights_path("vgg16") == "/opt/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5");
  CHECK(resolve_weights_path("vgg16-notop") == "/opt/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
  CHECK(resolve_weights_path("my/model.h5") == "my/model.h5");
  setenv("CONVIS_WEIGHTS_DIR", "/srv/w", 1);
  CHECK(resolve_weights_path("fashion") == "/srv/w/fashion_cnn.h5");
  setenv("CONVIS_WEIGHTS_DIR", "", 1);  // empty: as if unset
  CHECK(resolve_weights_path("fashion") == "/opt/models/fashion_cnn.h5");
  set_default_weights_dir(saved_default);
  if (!saved_env.empty()) setenv("CONVIS_WEIGHTS_DIR", saved_env.c_str(), 1);
  else unsetenv("CONVIS_WEIGHTS_DIR");
}

TEST_CASE("top_k: the k largest, largest first, k clipped to the length") {
  const float v[6] = {0.1f, 0.7f, -2.f, 0.9f, 0.3f, 0.f};
  CHECK(top_k(v, 6, 3) == std::vector<int>{3, 1, 4});
  CHECK(top_k(v, 6, 1) == std::vector<int>{3});
  CHECK(top_k(v, 6, 10) == std::vector<int>{3, 1, 4, 0, 5, 2});
  CHECK(top_k(v, 0, 3).empty());
  CHECK(top_k(v, 6, 0).empty());
}
