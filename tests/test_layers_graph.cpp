// apply_layer for the graph models' layer types (engine/model_layers.cpp): a model of one such
// layer (a merge: after two convolutions it reads) run forward equals the ops composed here with
// the layer's own weights; the built output shape is the forward's; pre-activation leaves the
// layer's own activation out.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/model_config_json.h"
#include "tests/util.h"

using namespace convis;
using convis::test::max_abs_diff;
using convis::test::random_tensor;

namespace {

Layer parse(const std::string& text) { return config_json::layer_from_json(nlohmann::json::parse(text)); }

// InputLayer (h, w, c), then `layers` (their inputs as given), built, with random weights (variances
// and gammas positive).
Model model_of(std::vector<Layer> layers, int h = 9, int w = 7, int c = 3, uint32_t seed = 5) {
  Model m;
  m.input_h = h;
  m.input_w = w;
  m.input_c = c;
  Layer in;
  in.name = "in";
  in.class_name = "InputLayer";
  m.layers.push_back(in);
  for (Layer& l : layers) m.layers.push_back(std::move(l));
  m.build();
  init_he_normal(m, seed);
  uint32_t k = seed * 100u;
  for (Layer& l : m.layers)
    for (size_t i = 0; i < l.weights.size(); ++i) {
      const std::string& n = l.weight_names[i];
      const bool positive = n == "gamma:0" || n == "moving_variance:0" || n == "variance:0";
      l.weights[i].value() = random_tensor(l.weights[i].shape(), ++k, positive ? 0.5f : -1.f, positive ? 1.5f : 1.f);
    }
  return m;
}

Var W(const Model& m, int layer, int k) { return m.layers[size_t(layer)].weights[size_t(k)]; }

// The model's output (and pre-activation output) against `want` and `want_pre` of x; the built
// per-sample shape against the output's.
void check_model(const char* what, const Model& m, const std::function<Var(const Var&)>& want,
                 const std::function<Var(const Var&)>& want_pre = {}) {
  CAPTURE(what);
  const Var x = Var::constant(random_tensor({2, m.input_h, m.input_w, m.input_c}, 77));
  const Var y = m.forward(x);
  const std::vector<int64_t> d = y.shape().dims();
  CHECK(m.layers.back().output_shape == Shape(std::vector<int64_t>(d.begin() + 1, d.end())));
  CHECK(max_abs_diff(y.value(), want(x).value()) < 1e-5);
  if (want_pre) CHECK(max_abs_diff(m.forward(x, -1, true).value(), want_pre(x).value()) < 1e-5);
}

}  // namespace

TEST_CASE("apply_layer: DepthwiseConv2D and SeparableConv2D with their activations, and pre-activation") {
  Model dw = model_of({parse(R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2, "activation": "relu6"}})")});
  check_model("depthwise relu6", dw, [&](const Var& x) { return relu6(depthwise_conv2d(x, W(dw, 1, 0), W(dw, 1, 1), 2, 2, Padding::same)); },
              [&](const Var& x) { return depthwise_conv2d(x, W(dw, 1, 0), W(dw, 1, 1), 2, 2, Padding::same); });
  Model sep = model_of({parse(R"({"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 4, "kernel_size": [3, 2], "depth_multiplier": 2, "activation": "relu"}})")});
  auto sep_pre = [&](const Var& x) {
    return conv2d(depthwise_conv2d(x, W(sep, 1, 0), Var(), 1, 1, Padding::valid), W(sep, 1, 1), W(sep, 1, 2), 1, 1, Padding::valid);
  };
  check_model("separable relu", sep, [&](const Var& x) { return relu(sep_pre(x)); }, sep_pre);
  Model sep2 = model_of({parse(R"({"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": false, "activation": "swish"}})")});
  check_model("separable swish, no bias", sep2, [&](const Var& x) {
    return swish(conv2d(depthwise_conv2d(x, W(sep2, 1, 0), Var(), 2, 2, Padding::same), W(sep2, 1, 1), Var(), 1, 1, Padding::valid));
  });
}

TEST_CASE("apply_layer: padding, cropping, upsampling, reshape, permute, rescaling, identities") {
  check_model("zero padding", model_of({parse(R"({"class_name": "ZeroPadding2D", "config": {"name": "z", "padding": [[1, 2], [0, 3]]}})")}),
              [](const Var& x) { return zero_pad2d(x, 1, 2, 0, 3); });
  check_model("cropping", model_of({parse(R"({"class_name": "Cropping2D", "config": {"name": "c", "cropping": [[1, 1], [2, 0]]}})")}),
              [](const Var& x) { return crop2d(x, 1, 1, 2, 0); });
  check_model("upsampling bilinear", model_of({parse(R"({"class_name": "UpSampling2D", "config": {"name": "u", "size": [2, 3], "interpolation": "bilinear"}})")}),
              [](const Var& x) { return upsample2d(x, 2, 3, true); });
  check_model("upsampling nearest", model_of({parse(R"({"class_name": "UpSampling2D", "config": {"name": "u", "size": 2}})")}),
              [](const Var& x) { return upsample2d(x, 2, 2, false); });
  check_model("reshape", model_of({parse(R"({"class_name": "Reshape", "config": {"name": "r", "target_shape": [-1, 3]}})")}),
              [](const Var& x) { return reshape(x, Shape{2, 63, 3}); });
  check_model("permute", model_of({parse(R"({"class_name": "Permute", "config": {"name": "p", "dims": [3, 1, 2]}})")}),
              [](const Var& x) { return permute(x, {3, 1, 2}); });
  check_model("rescaling", model_of({parse(R"({"class_name": "Rescaling", "config": {"name": "s", "scale": 0.5, "offset": -1}})")}),
              [](const Var& x) { return add_scalar(mul_scalar(x, 0.5f), -1.f); });
  for (const char* cls : {"SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"})
    check_model(cls, model_of({parse(std::string(R"({"class_name": ")") + cls + R"(", "config": {"name": "d"}})")}),
                [](const Var& x) { return x; });
}

TEST_CASE("apply_layer: the ReLU layer and every new Activation, with act false leaving them out") {
  Model r = model_of({parse(R"({"class_name": "ReLU", "config": {"name": "r", "max_value": 0.8, "threshold": 0.1, "negative_slope": 0.2}})")});
  check_model("ReLU", r, [](const Var& x) { return relu_layer(x, 0.8f, 0.1f, 0.2f); }, [](const Var& x) { return x; });
  Model r6 = model_of({parse(R"({"class_name": "ReLU", "config": {"name": "r", "max_value": 6}})")});
  check_model("ReLU6", r6, [](const Var& x) { return relu6(x); });
  struct Act { const char* name; std::function<Var(const Var&)> op; };
  const Act acts[] = {{"relu6", [](const Var& x) { return relu6(x); }},        {"swish", [](const Var& x) { return swish(x); }},
                      {"hard_sigmoid", [](const Var& x) { return hard_sigmoid(x); }},
                      {"hard_swish", [](const Var& x) { return hard_swish(x); }}, {"elu", [](const Var& x) { return elu(x); }},
                      {"selu", [](const Var& x) { return selu(x); }},         {"gelu", [](const Var& x) { return gelu(x); }},
                      {"softplus", [](const Var& x) { return softplus(x); }}};
  for (const Act& a : acts) {
    Model m = model_of({parse(std::string(R"({"class_name": "Activation", "config": {"name": "a", "activation": ")") + a.name + "\"}}")});
    check_model(a.name, m, a.op, [](const Var& x) { return x; });
    Model c = model_of({parse(std::string(R"({"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": 3, "activation": ")") + a.name + "\"}}")});
    check_model(a.name, c, [&](const Var& x) { return a.op(conv2d(x, W(c, 1, 0), W(c, 1, 1), 1, 1, Padding::valid)); },
                [&](const Var& x) { return conv2d(x, W(c, 1, 0), W(c, 1, 1), 1, 1, Padding::valid); });
  }
  Model tanh_gelu = model_of({parse(R"({"class_name": "Activation", "config": {"name": "a", "activation": "gelu"}})")});
  tanh_gelu.layers[1].gelu_approximate = true;
  check_model("gelu tanh", tanh_gelu, [](const Var& x) { return gelu(x, true); });
}

TEST_CASE("apply_layer: BatchNormalization on axes 1, 2 and 3, Normalization, keepdims pooling") {
  for (int axis : {1, 2, 3, -1}) {
    Model m = model_of({parse(R"({"class_name": "BatchNormalization", "config": {"name": "bn", "axis": )" + std::to_string(axis) + "}}")});
    check_model("batch norm", m, [&](const Var& x) {
      return batch_norm_inference(x, W(m, 1, 0), W(m, 1, 1), W(m, 1, 2), W(m, 1, 3), 1e-3f, axis);
    });
  }
  Model nc = model_of({parse(R"({"class_name": "BatchNormalization", "config": {"name": "bn", "axis": 2, "center": false, "scale": false}})")});
  check_model("batch norm, no gamma or beta", nc, [&](const Var& x) {
    return batch_norm_inference(x, Var::constant(Tensor::full({7}, 1.f)), Var::constant(Tensor::zeros({7})), W(nc, 1, 0),
                                W(nc, 1, 1), 1e-3f, 2);
  });
  Model n = model_of({parse(R"({"class_name": "Normalization", "config": {"name": "n"}})")});
  check_model("normalization", n, [&](const Var& x) { return normalize_inference(x, W(n, 1, 0), W(n, 1, 1)); });
  Model gap = model_of({parse(R"({"class_name": "GlobalAveragePooling2D", "config": {"name": "g", "keepdims": true}})")});
  check_model("gap keepdims", gap, [](const Var& x) { return reshape(global_avg_pool2d(x), Shape{2, 1, 1, 3}); });
  Model gmp = model_of({parse(R"({"class_name": "GlobalMaxPooling2D", "config": {"name": "g", "keepdims": true}})")});
  check_model("gmp keepdims", gmp, [](const Var& x) { return reshape(global_max_pool2d(x), Shape{2, 1, 1, 3}); });
}

TEST_CASE("apply_layer: the merge layers on two convolutions, and a squeeze-and-excite Multiply that broadcasts") {
  const char* conv_a = R"({"class_name": "Conv2D", "config": {"name": "a", "filters": 3, "kernel_size": 1}})";
  const char* conv_b = R"({"class_name": "Conv2D", "config": {"name": "b", "filters": 3, "kernel_size": 1, "activation": "tanh"}})";
  struct Merge { const char* config; std::function<Var(const Var&, const Var&)> op; };
  const Merge merges[] = {
      {R"({"class_name": "Add", "config": {"name": "m"}})", [](const Var& a, const Var& b) { return add(a, b); }},
      {R"({"class_name": "Subtract", "config": {"name": "m"}})", [](const Var& a, const Var& b) { return sub(a, b); }},
      {R"({"class_name": "Multiply", "config": {"name": "m"}})", [](const Var& a, const Var& b) { return mul(a, b); }},
      {R"({"class_name": "Average", "config": {"name": "m"}})", [](const Var& a, const Var& b) { return mul_scalar(add(a, b), 0.5f); }},
      {R"({"class_name": "Maximum", "config": {"name": "m"}})", [](const Var& a, const Var& b) { return maximum(a, b); }},
      {R"({"class_name": "Concatenate", "config": {"name": "m"}})", [](const Var& a, const Var& b) { return concat({a, b}, -1); }},
      {R"({"class_name": "Concatenate", "config": {"name": "m", "axis": 1}})", [](const Var& a, const Var& b) { return concat({a, b}, 1); }},
  };
  for (const Merge& g : merges) {
    std::vector<Layer> ls{parse(conv_a), parse(conv_b), parse(g.config)};
    ls[1].inputs = {0};
    ls[2].inputs = {1, 2};
    Model m = model_of(ls);
    check_model(g.config, m, [&](const Var& x) {
      const Var a = conv2d(x, W(m, 1, 0), W(m, 1, 1), 1, 1, Padding::valid);
      const Var b = convis::tanh(conv2d(x, W(m, 2, 0), W(m, 2, 1), 1, 1, Padding::valid));
      return g.op(a, b);
    });
  }
  // Add of three inputs folds left to right.
  std::vector<Layer> three{parse(conv_a), parse(conv_b), parse(R"({"class_name": "Add", "config": {"name": "s"}})")};
  three[1].inputs = {0};
  three[2].inputs = {1, 2, 0};
  Model m3 = model_of(three);
  check_model("add of three", m3, [&](const Var& x) {
    return add(add(conv2d(x, W(m3, 1, 0), W(m3, 1, 1), 1, 1, Padding::valid),
                   convis::tanh(conv2d(x, W(m3, 2, 0), W(m3, 2, 1), 1, 1, Padding::valid))), x);
  });
  // x * sigmoid(conv(GAP(x))), (N,H,W,C) * (N,1,1,C)
  std::vector<Layer> se{parse(R"({"class_name": "GlobalAveragePooling2D", "config": {"name": "g", "keepdims": true}})"),
                        parse(R"({"class_name": "Conv2D", "config": {"name": "e", "filters": 3, "kernel_size": 1, "activation": "hard_sigmoid"}})"),
                        parse(R"({"class_name": "Multiply", "config": {"name": "x"}})")};
  se[2].inputs = {0, 2};
  Model sm = model_of(se);
  check_model("squeeze and excite", sm, [&](const Var& x) {
    return mul(x, hard_sigmoid(conv2d(reshape(global_avg_pool2d(x), Shape{2, 1, 1, 3}), W(sm, 2, 0), W(sm, 2, 1), 1, 1,
                                      Padding::valid)));
  });
}
