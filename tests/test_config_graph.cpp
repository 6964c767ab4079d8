// Keras configs of the graph models' layer classes (engine/model_config_layers.cpp and the
// writer's layer_to_json): each class read in its Keras 2 and Keras 3 spellings, written back
// and read again to the same layer (and the same text), and hostile configs refused with a
// message naming the layer and its class.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model_config.h"
#include "engine/model_config_json.h"
#include "engine/model_layers.h"
#include "tests/util.h"

using namespace convis;
using convis::test::contains;
using convis::test::error_of;

namespace {

Layer parse(const std::string& text) { return config_json::layer_from_json(nlohmann::json::parse(text)); }

Layer input_of(int h, int w, int c, Model& m) {
  m.input_h = h;
  m.input_w = w;
  m.input_c = c;
  Layer in;
  in.name = "in";
  in.class_name = "InputLayer";
  return in;
}

void check_same(const Layer& a, const Layer& b) {
  CAPTURE(a.name);
  CHECK(a.name == b.name);
  CHECK(a.class_name == b.class_name);
  CHECK(int(a.type) == int(b.type));
  CHECK(a.filters == b.filters);
  CHECK(a.kernel_h == b.kernel_h);
  CHECK(a.kernel_w == b.kernel_w);
  CHECK(a.stride_h == b.stride_h);
  CHECK(a.stride_w == b.stride_w);
  CHECK(int(a.padding) == int(b.padding));
  CHECK(a.use_bias == b.use_bias);
  CHECK(int(a.activation) == int(b.activation));
  CHECK(a.epsilon == b.epsilon);
  CHECK(a.dropout_rate == b.dropout_rate);
  CHECK(a.axis == b.axis);
  CHECK(a.depth_multiplier == b.depth_multiplier);
  CHECK(a.pad_top == b.pad_top);
  CHECK(a.pad_bottom == b.pad_bottom);
  CHECK(a.pad_left == b.pad_left);
  CHECK(a.pad_right == b.pad_right);
  CHECK(a.size_h == b.size_h);
  CHECK(a.size_w == b.size_w);
  CHECK(a.bilinear == b.bilinear);
  CHECK(a.keepdims == b.keepdims);
  CHECK(((std::isinf(a.max_value) && std::isinf(b.max_value)) || a.max_value == b.max_value));
  CHECK(a.threshold == b.threshold);
  CHECK(a.negative_slope == b.negative_slope);
  CHECK(a.target_shape == b.target_shape);
  CHECK(a.scale == b.scale);
  CHECK(a.offset == b.offset);
}

// The layer in a model after an InputLayer (a merge after two Activation layers it reads):
// written, read, and written again.
void round_trip(const Layer& l) {
  Model m;
  m.layers.push_back(input_of(8, 8, 3, m));
  if (is_merge(l.type)) {
    m.layers.push_back(parse(R"({"class_name": "Activation", "config": {"name": "p", "activation": "relu"}})"));
    m.layers.push_back(parse(R"({"class_name": "Activation", "config": {"name": "q", "activation": "tanh"}})"));
    m.layers.back().inputs = {0};
  }
  m.layers.push_back(l);
  if (is_merge(l.type)) m.layers.back().inputs = {1, 2};
  const std::string text = model_to_config(m);
  const Model back = model_from_config(text);
  REQUIRE(back.layers.size() == m.layers.size());
  for (size_t i = 0; i < m.layers.size(); ++i) check_same(m.layers[i], back.layers[i]);
  CHECK(model_to_config(back) == text);
}

struct ClassCase {
  const char* keras2;  // Keras 2.x's config of the class (tf.keras 2.15)
  const char* keras3;  // Keras 3's (module, registered_name, dtype policy), or null
  std::function<void(const Layer&)> expect;
};

}  // namespace

TEST_CASE("model_config: every graph-model class, Keras 2 and Keras 3 spellings, read and round-tripped") {
  const ClassCase cases[] = {
      {R"({"class_name": "Add", "config": {"name": "add", "trainable": true, "dtype": "float32"}})",
       R"({"module": "keras.layers", "class_name": "Add", "config": {"name": "add", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}}, "registered_name": null})",
       [](const Layer& l) { CHECK(l.type == LayerType::add); }},
      {R"({"class_name": "Subtract", "config": {"name": "sub"}})", nullptr, [](const Layer& l) { CHECK(l.type == LayerType::subtract); }},
      {R"({"class_name": "Multiply", "config": {"name": "mul"}})", nullptr, [](const Layer& l) { CHECK(l.type == LayerType::multiply); }},
      {R"({"class_name": "Average", "config": {"name": "avg"}})", nullptr, [](const Layer& l) { CHECK(l.type == LayerType::average); }},
      {R"({"class_name": "Maximum", "config": {"name": "max"}})", nullptr, [](const Layer& l) { CHECK(l.type == LayerType::maximum); }},
      {R"({"class_name": "Concatenate", "config": {"name": "cat", "axis": 1}})",
       R"({"module": "keras.layers", "class_name": "Concatenate", "config": {"name": "cat", "axis": 1}})",
       [](const Layer& l) { CHECK(l.type == LayerType::concatenate); CHECK(l.axis == 1); }},
      {R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "trainable": true, "dtype": "float32", "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": false, "bias_initializer": {"class_name": "Zeros", "config": {}}, "bias_regularizer": null, "activity_regularizer": null, "bias_constraint": null, "depth_multiplier": 2, "depthwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "depthwise_regularizer": null, "depthwise_constraint": null}})",
       R"({"module": "keras.layers", "class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": {"module": "keras.activations", "class_name": "function", "config": "linear", "registered_name": "function"}, "use_bias": false, "depth_multiplier": 2}, "registered_name": null})",
       [](const Layer& l) {
         CHECK(l.type == LayerType::depthwise_conv2d); CHECK(l.kernel_h == 3); CHECK(l.stride_w == 2);
         CHECK(l.depth_multiplier == 2); CHECK(!l.use_bias); CHECK(l.padding == Padding::valid);
       }},
      {R"({"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 16, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "data_format": "channels_last", "depth_multiplier": 1, "dilation_rate": [1, 1], "activation": "relu", "use_bias": true, "depthwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "pointwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}, "depthwise_regularizer": null, "pointwise_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "depthwise_constraint": null, "pointwise_constraint": null, "bias_constraint": null}})",
       R"({"module": "keras.layers", "class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 16, "kernel_size": 3, "strides": 1, "padding": "same", "depth_multiplier": 1, "activation": "relu", "use_bias": true}})",
       [](const Layer& l) {
         CHECK(l.type == LayerType::separable_conv2d); CHECK(l.filters == 16); CHECK(l.kernel_w == 3);
         CHECK(l.activation == Activation::relu); CHECK(l.padding == Padding::same);
       }},
      {R"({"class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": [[0, 1], [2, 3]], "data_format": "channels_last"}})",
       R"({"module": "keras.layers", "class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": [[0, 1], [2, 3]]}})",
       [](const Layer& l) { CHECK(l.pad_top == 0); CHECK(l.pad_bottom == 1); CHECK(l.pad_left == 2); CHECK(l.pad_right == 3); }},
      {R"({"class_name": "ZeroPadding2D", "config": {"name": "zp2", "padding": [1, 2]}})", nullptr,
       [](const Layer& l) { CHECK(l.pad_top == 1); CHECK(l.pad_bottom == 1); CHECK(l.pad_left == 2); CHECK(l.pad_right == 2); }},
      {R"({"class_name": "ZeroPadding2D", "config": {"name": "zp3", "padding": 3}})", nullptr,
       [](const Layer& l) { CHECK(l.pad_top == 3); CHECK(l.pad_right == 3); }},
      {R"({"class_name": "Cropping2D", "config": {"name": "cr", "cropping": [[1, 0], [0, 2]], "data_format": "channels_last"}})",
       R"({"module": "keras.layers", "class_name": "Cropping2D", "config": {"name": "cr", "cropping": [[1, 0], [0, 2]]}})",
       [](const Layer& l) { CHECK(l.type == LayerType::cropping2d); CHECK(l.pad_top == 1); CHECK(l.pad_right == 2); }},
      {R"({"class_name": "UpSampling2D", "config": {"name": "up", "size": [2, 3], "data_format": "channels_last", "interpolation": "bilinear"}})",
       R"({"module": "keras.layers", "class_name": "UpSampling2D", "config": {"name": "up", "size": [2, 3], "interpolation": "bilinear"}})",
       [](const Layer& l) { CHECK(l.size_h == 2); CHECK(l.size_w == 3); CHECK(l.bilinear); }},
      {R"({"class_name": "UpSampling2D", "config": {"name": "up2", "size": 2}})", nullptr,
       [](const Layer& l) { CHECK(l.size_h == 2); CHECK(l.size_w == 2); CHECK(!l.bilinear); }},
      {R"({"class_name": "ReLU", "config": {"name": "r6", "max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}})",
       R"({"module": "keras.layers", "class_name": "ReLU", "config": {"name": "r6", "max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}})",
       [](const Layer& l) { CHECK(l.type == LayerType::relu); CHECK(l.max_value == 6.f); }},
      {R"({"class_name": "ReLU", "config": {"name": "rt", "max_value": null, "negative_slope": 0.25, "threshold": 1.5}})", nullptr,
       [](const Layer& l) { CHECK(l.type == LayerType::relu); CHECK(std::isinf(l.max_value)); CHECK(l.threshold == 1.5f); CHECK(l.negative_slope == 0.25f); }},
      {R"({"class_name": "ReLU", "config": {"name": "rp", "max_value": null, "negative_slope": 0.0, "threshold": 0.0}})", nullptr,
       [](const Layer& l) { CHECK(l.type == LayerType::activation); CHECK(l.activation == Activation::relu); }},
      {R"({"class_name": "Activation", "config": {"name": "a6", "activation": "relu6"}})",
       R"({"module": "keras.layers", "class_name": "Activation", "config": {"name": "a6", "activation": {"module": "keras.activations", "class_name": "function", "config": "relu6", "registered_name": "function"}}})",
       [](const Layer& l) { CHECK(l.activation == Activation::relu6); }},
      {R"({"class_name": "Activation", "config": {"name": "as", "activation": "silu"}})", nullptr,
       [](const Layer& l) { CHECK(l.activation == Activation::swish); }},
      {R"({"class_name": "Activation", "config": {"name": "ah", "activation": "hard_silu"}})", nullptr,
       [](const Layer& l) { CHECK(l.activation == Activation::hard_swish); }},
      {R"({"class_name": "Reshape", "config": {"name": "rs", "target_shape": [1, 1, -1]}})",
       R"({"module": "keras.layers", "class_name": "Reshape", "config": {"name": "rs", "target_shape": [1, 1, -1]}})",
       [](const Layer& l) { CHECK(l.target_shape == std::vector<int64_t>{1, 1, -1}); }},
      {R"({"class_name": "Permute", "config": {"name": "pm", "dims": [3, 1, 2]}})", nullptr,
       [](const Layer& l) { CHECK(l.target_shape == std::vector<int64_t>{3, 1, 2}); }},
      {R"({"class_name": "Rescaling", "config": {"name": "sc", "scale": 0.00784313725490196, "offset": -1.0}})",
       R"({"module": "keras.layers", "class_name": "Rescaling", "config": {"name": "sc", "scale": 0.00784313725490196, "offset": -1.0}})",
       [](const Layer& l) { CHECK(l.scale == doctest::Approx(1.0 / 127.5)); CHECK(l.offset == -1.f); }},
      {R"({"class_name": "Normalization", "config": {"name": "nm", "axis": [-1], "invert": false, "mean": null, "variance": null}})",
       R"({"module": "keras.layers", "class_name": "Normalization", "config": {"name": "nm", "axis": [-1], "invert": false, "mean": null, "variance": null}})",
       [](const Layer& l) { CHECK(l.type == LayerType::normalization); CHECK(l.weights.empty()); }},
      {R"({"class_name": "GlobalAveragePooling2D", "config": {"name": "gap", "data_format": "channels_last", "keepdims": true}})", nullptr,
       [](const Layer& l) { CHECK(l.keepdims); }},
      {R"({"class_name": "GlobalMaxPooling2D", "config": {"name": "gmp", "keepdims": true}})", nullptr,
       [](const Layer& l) { CHECK(l.type == LayerType::global_max_pool2d); CHECK(l.keepdims); }},
      {R"({"class_name": "BatchNormalization", "config": {"name": "bn1", "axis": 1, "epsilon": 1e-5}})",
       R"({"module": "keras.layers", "class_name": "BatchNormalization", "config": {"name": "bn1", "axis": 1, "epsilon": 1e-5}})",
       [](const Layer& l) { CHECK(l.axis == 1); CHECK(l.epsilon == 1e-5f); }},
      {R"({"class_name": "BatchNormalization", "config": {"name": "bn2", "axis": [2]}})", nullptr, [](const Layer& l) { CHECK(l.axis == 2); }},
      {R"({"class_name": "SpatialDropout2D", "config": {"name": "sd", "rate": 0.25, "noise_shape": null, "seed": null}})", nullptr,
       [](const Layer& l) { CHECK(l.type == LayerType::dropout); CHECK(l.dropout_rate == 0.25f); }},
      {R"({"class_name": "SpatialDropout1D", "config": {"name": "sd1", "rate": 0.1}})", nullptr, [](const Layer& l) { CHECK(l.type == LayerType::dropout); }},
      {R"({"class_name": "SpatialDropout3D", "config": {"name": "sd3", "rate": 0.1}})", nullptr, [](const Layer& l) { CHECK(l.type == LayerType::dropout); }},
      {R"({"class_name": "GaussianNoise", "config": {"name": "gn", "stddev": 1.5, "seed": null}})", nullptr,
       [](const Layer& l) { CHECK(l.type == LayerType::dropout); CHECK(l.dropout_rate == 1.5f); }},
      {R"({"class_name": "GaussianDropout", "config": {"name": "gd", "rate": 0.3, "seed": null}})", nullptr, [](const Layer& l) { CHECK(l.dropout_rate == 0.3f); }},
      {R"({"class_name": "AlphaDropout", "config": {"name": "ad", "rate": 0.2, "noise_shape": null, "seed": null}})", nullptr, [](const Layer& l) { CHECK(l.dropout_rate == 0.2f); }},
      {R"({"class_name": "ActivityRegularization", "config": {"name": "ar", "l1": 0.0, "l2": 0.0}})", nullptr, [](const Layer& l) { CHECK(l.type == LayerType::dropout); }},
  };
  for (const ClassCase& c : cases) {
    const std::string keras2 = c.keras2;
    CAPTURE(keras2);
    const Layer l = parse(c.keras2);
    c.expect(l);
    round_trip(l);
    if (c.keras3) {
      const Layer l3 = parse(c.keras3);
      c.expect(l3);
      check_same(l, l3);
    }
  }
}

TEST_CASE("model_config writer: Keras 2.15 keys for the new classes") {
  Model m;
  m.layers = {input_of(8, 8, 3, m),
              parse(R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 3, "padding": "same"}})"),
              parse(R"({"class_name": "ReLU", "config": {"name": "r6", "max_value": 6}})"),
              parse(R"({"class_name": "BatchNormalization", "config": {"name": "bn"}})"),
              parse(R"({"class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": [1, 2]}})")};
  m.build();
  const nlohmann::json j = nlohmann::json::parse(model_to_config(m));
  const auto& layers = j["config"]["layers"];
  const auto& dw = layers[1]["config"];
  CHECK(dw["kernel_size"] == nlohmann::json::array({3, 3}));
  CHECK(dw["depth_multiplier"] == 1);
  CHECK(dw["groups"] == 1);
  CHECK(dw["depthwise_initializer"]["class_name"] == "GlorotUniform");
  CHECK(!dw.contains("kernel_initializer"));  // Keras' get_config pops it (Keras 3 would refuse it)
  CHECK(layers[2]["config"]["max_value"] == 6.0);
  CHECK(layers[3]["config"]["axis"] == nlohmann::json::array({3}));  // -1 resolved on the built (8, 8, 3)
  CHECK(layers[4]["config"]["padding"] == nlohmann::json::parse("[[1, 1], [2, 2]]"));
}

TEST_CASE("model_config: Normalization's mean and variance in the config become its weights") {
  Layer l = parse(R"({"class_name": "Normalization", "config": {"name": "n", "axis": -1, "mean": [0.485, 0.456, 0.406], "variance": [0.052441, 0.050176, 0.050625]}})");
  REQUIRE(l.weights.size() == 3);
  CHECK(l.weights[0].shape() == Shape{3});
  CHECK(l.weights[1].value()[2] == 0.050625f);
  CHECK(l.weight_names[2] == "count:0");
  Model m;
  m.layers = {input_of(4, 4, 3, m), l};
  m.build();
  const Var y = m.forward(Var::constant(Tensor::full({1, 4, 4, 3}, 0.5f)));
  CHECK(y.value()[0] == doctest::Approx((0.5 - 0.485) / std::sqrt(0.052441)));
  // One value for every channel: (1) weights, which Keras writes in the config, and so do we.
  Layer one = parse(R"({"class_name": "Normalization", "config": {"name": "n1", "mean": 3.0, "variance": 2.0}})");
  REQUIRE(one.weights.size() == 3);
  CHECK(one.weights[0].shape() == Shape{1});
  Model m1;
  m1.layers = {input_of(2, 2, 3, m1), one};
  m1.build();
  CHECK(m1.forward(Var::constant(Tensor::full({1, 2, 2, 3}, 1.f))).value()[5] == doctest::Approx(-std::sqrt(2.0)));
  const nlohmann::json j = nlohmann::json::parse(model_to_config(m1));
  CHECK(j["config"]["layers"][1]["config"]["mean"] == 3.0);
  CHECK(model_from_config(j.dump()).layers[1].weights[1].value()[0] == 2.f);
}

namespace {

// The message of reading one layer's config, or of building it after an 8x8x3 input.
std::string parse_error(const std::string& text) { return error_of([&] { parse(text); }); }
std::string build_error(const std::string& text, int h = 8, int w = 8, int c = 3) {
  return error_of([&] {
    Model m;
    m.layers = {input_of(h, w, c, m), parse(text)};
    m.build();
  });
}

}  // namespace

TEST_CASE("model_config: hostile graph-model configs are refused, naming the layer and its class") {
  struct Bad {
    const char* config;
    const char* message;
    bool at_build;
  };
  const Bad bad[] = {
      {R"({"class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": -1}})", "layer 'zp' (ZeroPadding2D): 'padding' must be n, [height, width]", false},
      {R"({"class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": [[1, 2, 3], [0, 0]]}})", "layer 'zp' (ZeroPadding2D): 'padding'", false},
      {R"({"class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": [[1, 2], [0, 99999]]}})", "layer 'zp' (ZeroPadding2D): padding/cropping is 99999, expected 0..16384", true},
      {R"({"class_name": "Cropping2D", "config": {"name": "cr", "cropping": [[4, 4], [0, 0]]}})", "layer 'cr' (Cropping2D): cropping leaves nothing of its input (8, 8, 3)", true},
      {R"({"class_name": "Cropping2D", "config": {"name": "cr", "cropping": [[0, 0], [-2, 0]]}})", "layer 'cr' (Cropping2D): 'cropping' must be", false},
      {R"({"class_name": "UpSampling2D", "config": {"name": "up", "interpolation": "bicubic"}})", "layer 'up' (UpSampling2D): interpolation \"bicubic\" is not supported (nearest, bilinear)", false},
      {R"({"class_name": "UpSampling2D", "config": {"name": "up", "size": [100000, 2]}})", "layer 'up' (UpSampling2D): size height is 100000, expected 1..1024", true},
      {R"({"class_name": "UpSampling2D", "config": {"name": "up", "size": [0, 2]}})", "layer 'up' (UpSampling2D): 'size' must be a positive int", false},
      {R"({"class_name": "UpSampling2D", "config": {"name": "up", "data_format": "channels_first"}})", "layer 'up' (UpSampling2D): data_format", false},
      {R"({"class_name": "Concatenate", "config": {"name": "cat", "axis": "last"}})", "layer 'cat' (Concatenate): axis \"last\" is not an integer axis", false},
      {R"({"class_name": "Concatenate", "config": {"name": "cat", "axis": 12}})", "layer 'cat' (Concatenate): axis 12 is not an integer axis", false},
      {R"({"class_name": "BatchNormalization", "config": {"name": "bn", "axis": 0}})", "layer 'bn' (BatchNormalization): axis 0 is not an axis of its input (8, 8, 3)", true},
      {R"({"class_name": "BatchNormalization", "config": {"name": "bn", "axis": 5}})", "layer 'bn' (BatchNormalization): axis 5 is not an axis of its input", true},
      {R"({"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [1, 2]}})", "layer 'bn' (BatchNormalization): axis [1,2] is not an integer axis", false},
      {R"({"class_name": "Permute", "config": {"name": "pm", "dims": [1, 1, 2]}})", "layer 'pm' (Permute): dims is not a permutation of 1..3", true},
      {R"({"class_name": "Permute", "config": {"name": "pm", "dims": [2, 1]}})", "layer 'pm' (Permute): dims has 2 entries, its input (8, 8, 3) has 3 axes", true},
      {R"({"class_name": "Permute", "config": {"name": "pm", "dims": "21"}})", "layer 'pm' (Permute): 'dims' must be a list", false},
      {R"({"class_name": "Reshape", "config": {"name": "rs", "target_shape": [-1, -1]}})", "layer 'rs' (Reshape): target_shape has a size -1", true},
      {R"({"class_name": "Reshape", "config": {"name": "rs", "target_shape": [5, 5]}})", "layer 'rs' (Reshape): cannot reshape (8, 8, 3) (192 values) to (5, 5)", true},
      {R"({"class_name": "Reshape", "config": {"name": "rs", "target_shape": [2, 2, 2, 24]}})", "layer 'rs' (Reshape): target_shape has 4 axes, expected 1..3", true},
      {R"({"class_name": "Reshape", "config": {"name": "rs", "target_shape": [1e9]}})", "layer 'rs' (Reshape): 'target_shape' has 1000000000.0, expected integers", false},
      {R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 3, "depth_multiplier": 0}})", "layer 'dw' (DepthwiseConv2D): 'depth_multiplier' must be an integer from 1", false},
      {R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 3, "depth_multiplier": 100000}})", "layer 'dw' (DepthwiseConv2D): depth_multiplier is 100000, expected 1..65536", true},
      {R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 3, "dilation_rate": 2}})", "layer 'dw' (DepthwiseConv2D): dilation_rate 2 is not supported (1 only)", false},
      {R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 9}})", "layer 'dw' (DepthwiseConv2D) on input (8, 8, 3): height: window 9 does not fit", true},
      {R"({"class_name": "SeparableConv2D", "config": {"name": "sep", "kernel_size": 3}})", "layer 'sep' (SeparableConv2D): 'filters' is missing", false},
      {R"({"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 4, "kernel_size": 3, "activation": "mish"}})", "layer 'sep': activation 'mish' is not supported", false},
      {R"({"class_name": "ReLU", "config": {"name": "r", "max_value": -1.0}})", "layer 'r' (ReLU): max_value -1.0 is negative", false},
      {R"({"class_name": "ReLU", "config": {"name": "r", "negative_slope": -0.5}})", "layer 'r' (ReLU): negative_slope -0.5 is negative", false},
      {R"({"class_name": "ReLU", "config": {"name": "r", "threshold": "high"}})", "layer 'r' (ReLU): 'threshold' must be a number", false},
      {R"({"class_name": "ReLU", "config": {"name": "r", "max_value": "6"}})", "layer 'r' (ReLU): max_value must be a number or null", false},
      {R"({"class_name": "Activation", "config": {"name": "a", "activation": {"class_name": "function", "config": 7}}})", "layer 'a' (Activation): activation", false},
      {R"({"class_name": "Rescaling", "config": {"name": "sc", "scale": [0.1, 0.2, 0.3]}})", "layer 'sc' (Rescaling): 'scale' must be one number (a value per channel is not supported)", false},
      {R"({"class_name": "Rescaling", "config": {"name": "sc", "scale": 1e300}})", "layer 'sc' (Rescaling): 'scale' is out of range", false},
      {R"({"class_name": "Normalization", "config": {"name": "n", "invert": true}})", "layer 'n' (Normalization): invert=true is not supported", false},
      {R"({"class_name": "Normalization", "config": {"name": "n", "mean": [1, 2, 3]}})", "layer 'n' (Normalization): has a mean or a variance but not both", false},
      {R"({"class_name": "Normalization", "config": {"name": "n", "mean": [1, 2], "variance": [1, 2, 3]}})", "layer 'n' (Normalization): mean (2,) and variance (3,) have different sizes", false},
      {R"({"class_name": "Normalization", "config": {"name": "n", "mean": [1, 2, 3], "variance": [1, -2, 3]}})", "layer 'n' (Normalization): variance [1,-2,3] has a negative value", false},
      {R"({"class_name": "Normalization", "config": {"name": "n", "mean": ["a"], "variance": [1]}})", "layer 'n' (Normalization): 'mean' has \"a\", expected finite numbers", false},
      {R"({"class_name": "Normalization", "config": {"name": "n", "axis": null}})", "layer 'n' (Normalization): axis null is not supported", false},
      {R"({"class_name": "Normalization", "config": {"name": "n", "axis": 1}})", "layer 'n' (Normalization): axis 1 is not the last axis of its input (8, 8, 3)", true},
      {R"({"class_name": "Normalization", "config": {"name": "n", "mean": [1, 2], "variance": [1, 2]}})", "layer 'n' mean:0 is (2,), expected (3,) for input (8, 8, 3)", true},
      {R"({"class_name": "GlobalAveragePooling2D", "config": {"name": "g", "keepdims": "yes"}})", "layer 'g' (GlobalAveragePooling2D): 'keepdims' must be true or false", false},
      {R"({"class_name": "GaussianNoise", "config": {"name": "gn", "stddev": -1.0}})", "layer 'gn' (GaussianNoise): stddev", true},
      {R"({"class_name": "SpatialDropout2D", "config": {"name": "sd", "rate": 1.5}})", "layer 'sd' (SpatialDropout2D): rate 1.500000 is not in [0, 1)", true},
      {R"({"class_name": "Conv2DTranspose", "config": {"name": "ct"}})", "layer 'ct' (Conv2DTranspose): class 'Conv2DTranspose' is not supported (supported: InputLayer, Conv2D, DepthwiseConv2D", false},
  };
  for (const Bad& b : bad) {
    const std::string config = b.config;
    CAPTURE(config);
    const std::string e = b.at_build ? build_error(b.config) : parse_error(b.config);
    CHECK_MESSAGE(contains(e, b.message), "got: " << e);
    if (b.at_build) CHECK(parse_error(b.config).empty());
  }
  // A merge's inputs that do not fit each other.
  Model m;
  m.layers = {input_of(8, 8, 3, m), parse(R"({"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 1}})"),
              parse(R"({"class_name": "Add", "config": {"name": "add"}})")};
  m.layers[2].inputs = {0, 1};
  CHECK(contains(error_of([&] { m.build(); }), "layer 'add' (Add): inputs (8, 8, 3) and (8, 8, 4) have different shapes"));
  m.layers[2] = parse(R"({"class_name": "Concatenate", "config": {"name": "cat", "axis": 2}})");
  m.layers[2].inputs = {0, 1};
  CHECK(contains(error_of([&] { m.build(); }), "layer 'cat' (Concatenate): inputs (8, 8, 3) and (8, 8, 4) differ on an axis other than"));
  m.layers[2] = parse(R"({"class_name": "Subtract", "config": {"name": "s"}})");
  m.layers[2].inputs = {0, 1, 0};
  CHECK(contains(error_of([&] { m.build(); }), "layer 's' (Subtract): has 3 inputs, expected 2"));
}
