// model_config JSON <-> Model. Keras writes one JSON object per layer:
//   {"class_name": "Conv2D", "config": {"name": "conv2d_1", "filters": 16, ...}, "inbound_nodes": [...]}
// Keras 2 functional models list inbound nodes as [[["prev", 0, 0, {}]]]; Keras 3 as
// [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["prev", 0, 0]}}], ...}].
#include "engine/model_config.h"

#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace convis {

using json = nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& layer, const std::string& cls, const std::string& what) {
  throw std::invalid_argument("model_config: layer '" + layer + "' (" + cls + "): " + what);
}

// Keras stores sizes as [h, w] lists, and accepts a single int.
void pair_of(const json& cfg, const char* key, int& a, int& b, const std::string& layer, const std::string& cls,
             int fallback) {
  if (!cfg.contains(key) || cfg[key].is_null()) { a = b = fallback; return; }
  const json& v = cfg[key];
  if (v.is_number_integer()) { a = b = v.get<int>(); return; }
  if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer()) {
    a = v[0].get<int>();
    b = v[1].get<int>();
    return;
  }
  fail(layer, cls, std::string("'") + key + "' must be an int or a pair, got " + v.dump());
}

Padding padding_of(const json& cfg, const std::string& layer, const std::string& cls) {
  const std::string p = cfg.value("padding", "valid");
  if (p == "valid") return Padding::valid;
  if (p == "same") return Padding::same;
  fail(layer, cls, "padding '" + p + "' is not supported (valid, same)");
}

void require_channels_last(const json& cfg, const std::string& layer, const std::string& cls) {
  if (cfg.contains("data_format") && !cfg["data_format"].is_null() && cfg["data_format"] != "channels_last")
    fail(layer, cls, "data_format " + cfg["data_format"].dump() + " is not supported (channels_last only)");
}

std::string activation_of(const json& cfg) {
  if (!cfg.contains("activation") || cfg["activation"].is_null()) return "linear";
  const json& a = cfg["activation"];
  if (a.is_string()) return a.get<std::string>();
  if (a.is_object() && a.contains("config") && a["config"].contains("name")) return a["config"]["name"];
  return a.dump();
}

// Input shape [null, H, W, C] from an InputLayer's (or a first layer's) config.
bool input_shape_of(const json& cfg, Model& m) {
  for (const char* key : {"batch_input_shape", "batch_shape"}) {
    if (!cfg.contains(key) || !cfg[key].is_array()) continue;
    const json& s = cfg[key];
    if (s.size() != 4)
      throw std::invalid_argument("model_config: input shape " + s.dump() + " is not (batch, height, width, channels)");
    m.input_h = s[1].is_null() ? 0 : s[1].get<int>();
    m.input_w = s[2].is_null() ? 0 : s[2].get<int>();
    if (s[3].is_null()) throw std::invalid_argument("model_config: input shape " + s.dump() + " has no channel count");
    m.input_c = s[3].get<int>();
    return true;
  }
  return false;
}

Layer layer_from_json(const json& j) {
  Layer l;
  l.class_name = j.value("class_name", "");
  const json& cfg = j.contains("config") ? j["config"] : json::object();
  l.name = cfg.value("name", j.value("name", ""));
  const std::string& cls = l.class_name;
  if (cls == "InputLayer") {
    l.type = LayerType::input;
  } else if (cls == "Conv2D") {
    l.type = LayerType::conv2d;
    require_channels_last(cfg, l.name, cls);
    l.filters = cfg.at("filters").get<int>();
    pair_of(cfg, "kernel_size", l.kernel_h, l.kernel_w, l.name, cls, 1);
    pair_of(cfg, "strides", l.stride_h, l.stride_w, l.name, cls, 1);
    int dh, dw;
    pair_of(cfg, "dilation_rate", dh, dw, l.name, cls, 1);
    if (dh != 1 || dw != 1) fail(l.name, cls, "dilation_rate " + cfg["dilation_rate"].dump() + " is not supported (1 only)");
    if (cfg.value("groups", 1) != 1) fail(l.name, cls, "groups " + cfg["groups"].dump() + " is not supported (1 only)");
    l.padding = padding_of(cfg, l.name, cls);
    l.use_bias = cfg.value("use_bias", true);
    l.activation = parse_activation(activation_of(cfg), l.name);
  } else if (cls == "MaxPooling2D" || cls == "AveragePooling2D") {
    l.type = cls == "MaxPooling2D" ? LayerType::max_pool2d : LayerType::avg_pool2d;
    require_channels_last(cfg, l.name, cls);
    pair_of(cfg, "pool_size", l.kernel_h, l.kernel_w, l.name, cls, 2);
    pair_of(cfg, "strides", l.stride_h, l.stride_w, l.name, cls, 0);
    if (l.stride_h == 0) { l.stride_h = l.kernel_h; l.stride_w = l.kernel_w; }  // Keras: strides default to pool_size
    l.padding = padding_of(cfg, l.name, cls);
  } else if (cls == "GlobalAveragePooling2D" || cls == "GlobalMaxPooling2D") {
    l.type = cls == "GlobalAveragePooling2D" ? LayerType::global_avg_pool2d : LayerType::global_max_pool2d;
    require_channels_last(cfg, l.name, cls);
    if (cfg.value("keepdims", false)) fail(l.name, cls, "keepdims=true is not supported");
  } else if (cls == "Dense") {
    l.type = LayerType::dense;
    l.units = cfg.at("units").get<int>();
    l.use_bias = cfg.value("use_bias", true);
    l.activation = parse_activation(activation_of(cfg), l.name);
  } else if (cls == "Flatten") {
    l.type = LayerType::flatten;
    require_channels_last(cfg, l.name, cls);
  } else if (cls == "Dropout") {
    l.type = LayerType::dropout;
    l.dropout_rate = cfg.value("rate", 0.f);
  } else if (cls == "BatchNormalization") {
    l.type = LayerType::batch_norm;
    const json axis = cfg.value("axis", json(-1));
    const bool last_axis = axis == json(-1) || axis == json(3) || axis == json::array({-1}) || axis == json::array({3});
    if (!last_axis) fail(l.name, cls, "axis " + axis.dump() + " is not supported (the channel axis, -1, only)");
    l.epsilon = cfg.value("epsilon", 1e-3f);
    l.bn_center = cfg.value("center", true);
    l.bn_scale = cfg.value("scale", true);
  } else if (cls == "Activation") {
    l.type = LayerType::activation;
    l.activation = parse_activation(activation_of(cfg), l.name);
  } else if (cls == "ReLU") {
    l.type = LayerType::activation;
    l.activation = Activation::relu;
    const bool plain = (!cfg.contains("max_value") || cfg["max_value"].is_null()) &&
                       cfg.value("negative_slope", 0.f) == 0.f && cfg.value("threshold", 0.f) == 0.f;
    if (!plain) fail(l.name, cls, "only the plain ReLU (no max_value, negative_slope, threshold) is supported");
  } else if (cls == "LeakyReLU") {
    l.type = LayerType::leaky_relu;
    l.alpha = cfg.contains("negative_slope") ? cfg.value("negative_slope", 0.3f) : cfg.value("alpha", 0.3f);
  } else if (cls == "Softmax") {
    l.type = LayerType::activation;
    l.activation = Activation::softmax;
    const json axis = cfg.value("axis", json(-1));
    if (axis != json(-1)) fail(l.name, cls, "axis " + axis.dump() + " is not supported (-1 only)");
  } else {
    fail(l.name, cls,
         "class '" + cls + "' is not supported (supported: InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, "
         "GlobalAveragePooling2D, GlobalMaxPooling2D, Dense, Flatten, Dropout, BatchNormalization, Activation, "
         "ReLU, LeakyReLU, Softmax)");
  }
  return l;
}

// The layers a functional-model layer reads from, in either Keras 2 or Keras 3 form.
std::vector<std::string> inbound_names(const json& layer) {
  std::vector<std::string> names;
  if (!layer.contains("inbound_nodes")) return names;
  for (const json& node : layer["inbound_nodes"]) {
    if (node.is_array()) {  // Keras 2: [["prev", 0, 0, {}], ...]
      for (const json& t : node)
        if (t.is_array() && !t.empty() && t[0].is_string()) names.push_back(t[0]);
    } else if (node.is_object() && node.contains("args")) {  // Keras 3
      std::function<void(const json&)> scan = [&](const json& a) {
        if (a.is_object() && a.value("class_name", "") == "__keras_tensor__")
          names.push_back(a["config"]["keras_history"][0]);
        else if (a.is_array())
          for (const json& e : a) scan(e);
      };
      scan(node["args"]);
    }
  }
  return names;
}

std::string endpoint_name(const json& list, const char* what) {
  // input_layers / output_layers: [["name", 0, 0]] (Keras 2) or ["name", 0, 0] (Keras 3, single).
  if (list.is_array() && list.size() == 3 && list[0].is_string()) return list[0];
  if (list.is_array() && list.size() == 1 && list[0].is_array() && list[0][0].is_string()) return list[0][0];
  throw std::invalid_argument(std::string("model_config: the model has ") +
                              (list.is_array() ? std::to_string(list.size()) : std::string("no")) + " " + what +
                              "; convis supports one input and one output");
}

Model functional_from_json(const json& cfg) {
  const json& layers = cfg.at("layers");
  std::map<std::string, const json*> by_name;
  std::map<std::string, std::vector<std::string>> consumers;
  for (const json& l : layers) {
    const std::string name = l.contains("config") && l["config"].contains("name")
                                 ? l["config"]["name"].get<std::string>()
                                 : l.value("name", "");
    by_name[name] = &l;
    const std::vector<std::string> in = inbound_names(l);
    if (in.size() > 1)
      throw std::invalid_argument("model_config: layer '" + name + "' (" + l.value("class_name", "") + ") has " +
                                  std::to_string(in.size()) + " inputs; convis supports single-chain models only");
    for (const std::string& i : in) consumers[i].push_back(name);
  }
  const std::string input = endpoint_name(cfg.at("input_layers"), "inputs");
  const std::string output = endpoint_name(cfg.at("output_layers"), "outputs");
  Model m;
  m.name = cfg.value("name", "model");
  std::string at = input;
  std::set<std::string> seen;
  while (true) {
    auto it = by_name.find(at);
    if (it == by_name.end()) throw std::invalid_argument("model_config: layer '" + at + "' is referenced but not defined");
    if (!seen.insert(at).second) throw std::invalid_argument("model_config: layer '" + at + "' appears twice in the chain");
    m.layers.push_back(layer_from_json(*it->second));
    if (m.layers.size() == 1 && !input_shape_of((*it->second)["config"], m))
      throw std::invalid_argument("model_config: input layer '" + at + "' has no batch_input_shape");
    if (at == output) break;
    const auto& next = consumers[at];
    if (next.size() != 1)
      throw std::invalid_argument("model_config: layer '" + at + "' feeds " + std::to_string(next.size()) +
                                  " layers; convis supports single-chain models only");
    at = next[0];
  }
  if (m.layers.size() != layers.size())
    throw std::invalid_argument("model_config: " + std::to_string(layers.size() - m.layers.size()) +
                                " layer(s) are not on the chain from '" + input + "' to '" + output +
                                "'; convis supports single-chain models only");
  return m;
}

Model sequential_from_json(const json& cfg) {
  const json& layers = cfg.is_array() ? cfg : cfg.at("layers");  // Keras <= 2.2 stores the list itself
  Model m;
  m.name = cfg.is_object() ? cfg.value("name", "sequential") : "sequential";
  if (layers.empty()) throw std::invalid_argument("model_config: the Sequential model has no layers");
  if (layers[0].value("class_name", "") == "InputLayer") {
    m.layers.push_back(layer_from_json(layers[0]));
    if (!input_shape_of(layers[0]["config"], m))
      throw std::invalid_argument("model_config: input layer has no batch_input_shape");
  } else {
    Layer in;
    in.class_name = "InputLayer";
    in.name = layers[0]["config"].value("name", "layer") + "_input";
    if (!input_shape_of(layers[0]["config"], m))
      throw std::invalid_argument("model_config: the first layer has no batch_input_shape; cannot tell the input size");
    m.layers.push_back(in);
  }
  const size_t first = layers[0].value("class_name", "") == "InputLayer" ? 1 : 0;
  for (size_t i = first; i < layers.size(); ++i) m.layers.push_back(layer_from_json(layers[i]));
  return m;
}

}  // namespace

Model model_from_config(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("model_config is not valid JSON: ") + e.what());
  }
  try {
    const std::string cls = j.value("class_name", "");
    if (cls == "Sequential") return sequential_from_json(j.at("config"));
    if (cls == "Model" || cls == "Functional") return functional_from_json(j.at("config"));
    throw std::invalid_argument("model_config: model class '" + cls +
                                "' is not supported (Sequential, Model, Functional)");
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("model_config: unexpected structure: ") + e.what());
  }
}

namespace {

json initializer(const char* cls) { return json{{"class_name", cls}, {"config", json::object()}}; }

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
      cfg["activation"] = activation_name(l.activation);
      cfg["use_bias"] = l.use_bias;
      cfg["kernel_initializer"] = initializer("GlorotUniform");
      cfg["bias_initializer"] = initializer("Zeros");
      for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                            "bias_constraint"})
        cfg[k] = nullptr;
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
      cfg["activation"] = activation_name(l.activation);
      cfg["use_bias"] = l.use_bias;
      cfg["kernel_initializer"] = initializer("GlorotUniform");
      cfg["bias_initializer"] = initializer("Zeros");
      for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                            "bias_constraint"})
        cfg[k] = nullptr;
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
  }
  return json{{"class_name", l.class_name}, {"config", cfg}};
}

}  // namespace

std::string model_to_config(const Model& m) {
  json layers = json::array();
  for (const Layer& l : m.layers) layers.push_back(layer_to_json(l, m));
  return json{{"class_name", "Sequential"}, {"config", {{"name", m.name}, {"layers", layers}}}}.dump();
}

}  // namespace convis
