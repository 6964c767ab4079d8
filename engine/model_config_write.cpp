// Model -> model_config JSON: a Keras 2 Sequential config (with an InputLayer) that Keras and
// convis read back. The reader, with its checks against hostile files, is model_config.cpp.
#include "engine/model_config.h"

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
    case LayerType::global_avg_pool2d:
    case LayerType::global_max_pool2d:
      cfg["data_format"] = "channels_last";
      cfg["keepdims"] = false;
      break;
    case LayerType::dense:
      cfg["units"] = l.units;
      kernel_layer_keys(cfg, l);
      break;
    case LayerType::flatten: cfg["data_format"] = "channels_last"; break;
    case LayerType::dropout:
      cfg["rate"] = l.dropout_rate;
      cfg["noise_shape"] = nullptr;
      cfg["seed"] = nullptr;
      break;
    case LayerType::batch_norm:
      cfg["axis"] = json::array({3});
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
        cfg["activation"] = activation_name(l.activation);
      }
      break;
    case LayerType::leaky_relu: cfg["alpha"] = l.alpha; break;
    default:
      throw std::invalid_argument("model_config: layer '" + l.name + "' (" + l.class_name + ") cannot be written yet");
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
