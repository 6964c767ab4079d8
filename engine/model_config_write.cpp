// Model -> model_config JSON: a Keras 2 Sequential config (with an InputLayer) that Keras and
// convis read back. The reader, with its checks against hostile files, is model_config.cpp.
#include "engine/model_config.h"

#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace convis {

using json = nlohmann::json;

namespace {

json initializer(const char* cls) { return json{{"class_name", cls}, {"config", json::object()}}; }

// What Conv2D and Dense write alike: the activation, the bias switch, Keras' default initialisers,
// and no regularisers or constraints.
void kernel_layer_keys(json& cfg, const Layer& l) {
  cfg["activation"] = activation_name(l.activation);
  cfg["use_bias"] = l.use_bias;
  cfg["kernel_initializer"] = initializer("GlorotUniform");
  cfg["bias_initializer"] = initializer("Zeros");
  for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                        "bias_constraint"})
    cfg[k] = nullptr;
}

// What DepthwiseConv2D and SeparableConv2D write alike, in Keras 2.15's keys: kernel, strides,
// padding, depth multiplier, activation, bias, and the depthwise (and pointwise) kernels'
// initialisers, no regularisers or constraints. No kernel_initializer: Keras' get_config leaves it
// out, and Keras 3's constructors refuse keys they do not know.
void separable_keys(json& cfg, const Layer& l, bool pointwise) {
  cfg["kernel_size"] = json::array({l.kernel_h, l.kernel_w});
  cfg["strides"] = json::array({l.stride_h, l.stride_w});
  cfg["padding"] = padding_name(l.padding);
  cfg["data_format"] = "channels_last";
  cfg["dilation_rate"] = json::array({1, 1});
  cfg["depth_multiplier"] = l.depth_multiplier;
  cfg["activation"] = activation_name(l.activation);
  cfg["use_bias"] = l.use_bias;
  cfg["bias_initializer"] = initializer("Zeros");
  for (const char* part : {"depthwise", "pointwise"}) {
    if (!pointwise && part[0] == 'p') continue;
    cfg[std::string(part) + "_initializer"] = initializer("GlorotUniform");
    cfg[std::string(part) + "_regularizer"] = nullptr;
    cfg[std::string(part) + "_constraint"] = nullptr;
  }
  for (const char* k : {"bias_regularizer", "activity_regularizer", "bias_constraint"}) cfg[k] = nullptr;
}

// ZeroPadding2D / Cropping2D's ((top, bottom), (left, right)).
json border(const Layer& l) {
  return json::array({json::array({l.pad_top, l.pad_bottom}), json::array({l.pad_left, l.pad_right})});
}

// Keras 2 writes BatchNormalization's axis as a list of non-negative axes of the batched tensor;
// a negative axis is resolved against the built output (-1 stays -1, which Keras reads too, when
// the model is not built).
json batch_axis(const Layer& l) {
  const int r = l.output_shape.rank();
  return json::array({l.axis < 0 && r > 0 ? l.axis + r + 1 : l.axis});
}

// The training-only layers that read as identities (LayerType::dropout), each with its own keys.
void identity_keys(json& cfg, const Layer& l) {
  const std::string& c = l.class_name;
  if (c == "ActivityRegularization") {  // its l1 and l2 have no Layer field: written as Keras' defaults
    cfg["l1"] = 0.0;
    cfg["l2"] = 0.0;
    return;
  }
  if (c == "GaussianNoise") cfg["stddev"] = l.dropout_rate;
  else cfg["rate"] = l.dropout_rate;
  if (c == "Dropout" || c == "AlphaDropout" || c.rfind("SpatialDropout", 0) == 0) cfg["noise_shape"] = nullptr;
  cfg["seed"] = nullptr;
}

json layer_to_json(const Layer& l, const Model& m) {
  json cfg = {{"name", l.name}, {"trainable", true}, {"dtype", "float32"}};
  auto pair = [](int a, int b) { return json::array({a, b}); };
  switch (l.type) {
    case LayerType::input:
      cfg["batch_input_shape"] = json::array({nullptr, m.input_h ? json(m.input_h) : json(nullptr),
                                              m.input_w ? json(m.input_w) : json(nullptr), m.input_c});
      cfg["sparse"] = false;
      cfg["ragged"] = false;
      break;
    case LayerType::conv2d:
      cfg["filters"] = l.filters;
      cfg["kernel_size"] = pair(l.kernel_h, l.kernel_w);
      cfg["strides"] = pair(l.stride_h, l.stride_w);
      cfg["padding"] = padding_name(l.padding);
      cfg["data_format"] = "channels_last";
      cfg["dilation_rate"] = pair(1, 1);
      cfg["groups"] = 1;
      kernel_layer_keys(cfg, l);
      break;
    case LayerType::max_pool2d:
    case LayerType::avg_pool2d:
      cfg["pool_size"] = pair(l.kernel_h, l.kernel_w);
      cfg["strides"] = pair(l.stride_h, l.stride_w);
      cfg["padding"] = padding_name(l.padding);
      cfg["data_format"] = "channels_last";
      break;
    case LayerType::depthwise_conv2d:
      separable_keys(cfg, l, false);
      cfg["groups"] = 1;
      break;
    case LayerType::separable_conv2d:
      cfg["filters"] = l.filters;
      separable_keys(cfg, l, true);
      break;
    case LayerType::global_avg_pool2d:
    case LayerType::global_max_pool2d:
      cfg["data_format"] = "channels_last";
      cfg["keepdims"] = l.keepdims;
      break;
    case LayerType::dense:
      cfg["units"] = l.units;
      kernel_layer_keys(cfg, l);
      break;
    case LayerType::flatten: cfg["data_format"] = "channels_last"; break;
    case LayerType::dropout: identity_keys(cfg, l); break;
    case LayerType::batch_norm:
      cfg["axis"] = batch_axis(l);
      cfg["momentum"] = 0.99;
      cfg["epsilon"] = l.epsilon;
      cfg["center"] = l.bn_center;
      cfg["scale"] = l.bn_scale;
      cfg["beta_initializer"] = initializer("Zeros");
      cfg["gamma_initializer"] = initializer("Ones");
      cfg["moving_mean_initializer"] = initializer("Zeros");
      cfg["moving_variance_initializer"] = initializer("Ones");
      break;
    case LayerType::activation:
      if (l.class_name == "ReLU") {
        cfg["max_value"] = nullptr;
        cfg["negative_slope"] = 0.0;
        cfg["threshold"] = 0.0;
      } else if (l.class_name == "Softmax") {
        cfg["axis"] = -1;
      } else {
        if (l.activation == Activation::gelu && l.gelu_approximate)
          throw std::invalid_argument("model_config: layer '" + l.name + "' (" + l.class_name +
                                      ") uses the tanh approximation of gelu, which Keras' Activation('gelu') "
                                      "config cannot say (it means the exact gelu)");
        cfg["activation"] = activation_name(l.activation);
      }
      break;
    case LayerType::relu:
      cfg["max_value"] = std::isinf(l.max_value) ? json(nullptr) : json(l.max_value);
      cfg["negative_slope"] = l.negative_slope;
      cfg["threshold"] = l.threshold;
      break;
    case LayerType::leaky_relu: cfg["alpha"] = l.alpha; break;
    case LayerType::add:
    case LayerType::subtract:
    case LayerType::multiply:
    case LayerType::average:
    case LayerType::maximum: break;  // Keras' merge layers have no keys of their own
    case LayerType::concatenate: cfg["axis"] = l.axis; break;
    case LayerType::zero_padding2d:
      cfg["padding"] = border(l);
      cfg["data_format"] = "channels_last";
      break;
    case LayerType::cropping2d:
      cfg["cropping"] = border(l);
      cfg["data_format"] = "channels_last";
      break;
    case LayerType::upsampling2d:
      cfg["size"] = pair(l.size_h, l.size_w);
      cfg["data_format"] = "channels_last";
      cfg["interpolation"] = l.bilinear ? "bilinear" : "nearest";
      break;
    case LayerType::reshape: cfg["target_shape"] = l.target_shape; break;
    case LayerType::permute: cfg["dims"] = l.target_shape; break;
    case LayerType::rescaling:
      cfg["scale"] = l.scale;
      cfg["offset"] = l.offset;
      break;
    case LayerType::normalization: {
      // Adapted statistics are the layer's weights (in the file beside this config); one value for
      // every channel (a (1) mean and variance) is what Keras writes in the config itself.
      cfg["axis"] = json::array({l.axis});
      cfg["invert"] = false;
      const bool one = l.weights.size() == 3 && l.weights[0].shape() == Shape{1};
      cfg["mean"] = one ? json(l.weights[0].value()[0]) : json(nullptr);
      cfg["variance"] = one ? json(l.weights[1].value()[0]) : json(nullptr);
      break;
    }
  }
  return json{{"class_name", l.class_name}, {"config", cfg}};
}

}  // namespace

// A chain is written as Keras 2 writes a Sequential model; a graph as a Keras 2 Functional model,
// each layer with its inbound node [["prev", 0, 0, {}], ...] and the one input and output.
std::string model_to_config(const Model& m) {
  json layers = json::array();
  if (m.is_chain()) {
    for (const Layer& l : m.layers) layers.push_back(layer_to_json(l, m));
    return json{{"class_name", "Sequential"}, {"config", {{"name", m.name}, {"layers", layers}}}}.dump();
  }
  for (size_t i = 0; i < m.layers.size(); ++i) {
    json l = layer_to_json(m.layers[i], m);
    l["name"] = m.layers[i].name;
    json node = json::array();
    for (int j : m.inputs_of(int(i))) node.push_back(json::array({m.layers[size_t(j)].name, 0, 0, json::object()}));
    l["inbound_nodes"] = i == 0 ? json::array() : json::array({node});
    layers.push_back(std::move(l));
  }
  const json input = json::array({json::array({m.layers.front().name, 0, 0})});
  const json output = json::array({json::array({m.layers.back().name, 0, 0})});
  return json{{"class_name", "Functional"},
              {"config", {{"name", m.name}, {"layers", layers}, {"input_layers", input}, {"output_layers", output}}}}
      .dump();
}

}  // namespace convis
