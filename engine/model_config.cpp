// model_config JSON <-> Model. Keras writes one JSON object per layer:
//   {"class_name": "Conv2D", "config": {"name": "conv2d_1", "filters": 16, ...}, "inbound_nodes": [...]}
// Keras 2 functional models list inbound nodes as [[["prev", 0, 0, {}]]]; Keras 3 as
// [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["prev", 0, 0]}}], ...}].
#include "engine/model_config.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace convis {

using json = nlohmann::json;

namespace {

// Everything here reads JSON from a file: no unchecked operator[] on input, every type checked
// before get<>(), every integer range-checked, and anything echoed in a message shortened.
constexpr int kMaxDepth = 64;             // nesting of arrays and objects
constexpr size_t kMaxText = size_t(64) << 20;
constexpr size_t kMaxShown = 60;          // characters of a value quoted in a message

// A value as the message shows it: JSON text, at most kMaxShown characters.
std::string shown(const json& v) {
  std::string t = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (t.size() > kMaxShown) t = t.substr(0, kMaxShown) + "...";
  return t;
}
std::string shown(const std::string& s, size_t n = kMaxShown) { return s.size() > n ? s.substr(0, n) + "..." : s; }

[[noreturn]] void fail(const std::string& layer, const std::string& cls, const std::string& what) {
  throw std::invalid_argument("model_config: layer '" + shown(layer) + "' (" + shown(cls) + "): " + what);
}

// obj[key] when obj is an object that has it (and it is not null), else nullptr.
const json* field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string string_or(const json& obj, const char* key, const std::string& fallback) {
  const json* v = field(obj, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

// An integer in [lo, hi], as Keras stores them (a JSON integer; never a float or a bool).
bool int_in(const json& v, int64_t lo, int64_t hi, int& out) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(hi)) return false;
    out = int(v.get<uint64_t>());
    return int64_t(out) >= lo;
  }
  if (!v.is_number_integer()) return false;
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) return false;
  out = int(x);
  return true;
}

constexpr int64_t kIntMax = 1 << 24;  // no size in a CNN config is larger

int int_field(const json& cfg, const char* key, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, key);
  int out = 0;
  if (!v) fail(layer, cls, std::string("'") + key + "' is missing");
  if (!int_in(*v, 1, kIntMax, out))
    fail(layer, cls, std::string("'") + key + "' must be an integer from 1 to " + std::to_string(kIntMax) + ", got " + shown(*v));
  return out;
}

bool bool_or(const json& cfg, const char* key, bool fallback, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(layer, cls, std::string("'") + key + "' must be true or false, got " + shown(*v));
  return v->get<bool>();
}

float float_or(const json& cfg, const char* key, float fallback, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, key);
  if (!v) return fallback;
  if (!v->is_number()) fail(layer, cls, std::string("'") + key + "' must be a number, got " + shown(*v));
  const double d = v->get<double>();
  if (!(d > -1e30 && d < 1e30)) fail(layer, cls, std::string("'") + key + "' is out of range: " + shown(*v));
  return float(d);
}

// Keras stores sizes as [h, w] lists, and accepts a single int.
void pair_of(const json& cfg, const char* key, int& a, int& b, const std::string& layer, const std::string& cls,
             int fallback) {
  const json* v = field(cfg, key);
  if (!v) { a = b = fallback; return; }
  if (int_in(*v, 1, kIntMax, a)) { b = a; return; }
  if (v->is_array() && v->size() == 2 && int_in((*v)[0], 1, kIntMax, a) && int_in((*v)[1], 1, kIntMax, b)) return;
  fail(layer, cls, std::string("'") + key + "' must be a positive int or a pair of them, got " + shown(*v));
}

Padding padding_of(const json& cfg, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, "padding");
  if (!v) return Padding::valid;
  if (v->is_string() && *v == "valid") return Padding::valid;
  if (v->is_string() && *v == "same") return Padding::same;
  fail(layer, cls, "padding " + shown(*v) + " is not supported (valid, same)");
}

void require_channels_last(const json& cfg, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, "data_format");
  if (v && !(v->is_string() && *v == "channels_last"))
    fail(layer, cls, "data_format " + shown(*v) + " is not supported (channels_last only)");
}

Activation activation_of(const json& cfg, const std::string& layer, const std::string& cls) {
  const json* a = field(cfg, "activation");
  if (!a) return Activation::linear;
  if (a->is_string()) return parse_activation(shown(a->get<std::string>()), layer);
  const json* inner = a->is_object() ? field(*a, "config") : nullptr;
  const json* name = inner ? field(*inner, "name") : nullptr;
  if (name && name->is_string()) return parse_activation(shown(name->get<std::string>()), layer);
  fail(layer, cls, "activation " + shown(*a) + " is not a name");
}

// Input shape [null, H, W, C] from an InputLayer's (or a first layer's) config.
bool input_shape_of(const json& cfg, Model& m) {
  for (const char* key : {"batch_input_shape", "batch_shape"}) {
    const json* s = field(cfg, key);
    if (!s || !s->is_array()) continue;
    if (s->size() != 4)
      throw std::invalid_argument("model_config: input shape " + shown(*s) + " is not (batch, height, width, channels)");
    int h = 0, w = 0, c = 0;
    const json& jh = (*s)[1];
    const json& jw = (*s)[2];
    const json& jc = (*s)[3];
    if ((!jh.is_null() && !int_in(jh, 1, kIntMax, h)) || (!jw.is_null() && !int_in(jw, 1, kIntMax, w)))
      throw std::invalid_argument("model_config: input shape " + shown(*s) + " has a size that is not a positive integer");
    if (jc.is_null()) throw std::invalid_argument("model_config: input shape " + shown(*s) + " has no channel count");
    if (!int_in(jc, 1, kIntMax, c))
      throw std::invalid_argument("model_config: input shape " + shown(*s) + " has a channel count that is not a positive integer");
    m.input_h = h;
    m.input_w = w;
    m.input_c = c;
    return true;
  }
  return false;
}

const json& config_of(const json& j) {
  static const json empty = json::object();
  const json* c = field(j, "config");
  return c && c->is_object() ? *c : empty;
}

std::string name_of(const json& j) {
  const std::string n = string_or(config_of(j), "name", string_or(j, "name", ""));
  return n;
}

Layer layer_from_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("model_config: a layer is " + shown(j) + ", not an object");
  Layer l;
  l.class_name = string_or(j, "class_name", "");
  const json& cfg = config_of(j);
  l.name = name_of(j);
  if (l.name.empty()) throw std::invalid_argument("model_config: a layer (" + shown(l.class_name) + ") has no name");
  const std::string& cls = l.class_name;
  const std::string& name = l.name;
  if (cls == "InputLayer") {
    l.type = LayerType::input;
  } else if (cls == "Conv2D") {
    l.type = LayerType::conv2d;
    require_channels_last(cfg, name, cls);
    l.filters = int_field(cfg, "filters", name, cls);
    pair_of(cfg, "kernel_size", l.kernel_h, l.kernel_w, name, cls, 1);
    pair_of(cfg, "strides", l.stride_h, l.stride_w, name, cls, 1);
    int dh, dw;
    pair_of(cfg, "dilation_rate", dh, dw, name, cls, 1);
    if (dh != 1 || dw != 1) fail(name, cls, "dilation_rate " + shown(*field(cfg, "dilation_rate")) + " is not supported (1 only)");
    const json* groups = field(cfg, "groups");
    int g = 1;
    if (groups && (!int_in(*groups, 1, kIntMax, g) || g != 1)) fail(name, cls, "groups " + shown(*groups) + " is not supported (1 only)");
    l.padding = padding_of(cfg, name, cls);
    l.use_bias = bool_or(cfg, "use_bias", true, name, cls);
    l.activation = activation_of(cfg, name, cls);
  } else if (cls == "MaxPooling2D" || cls == "AveragePooling2D") {
    l.type = cls == "MaxPooling2D" ? LayerType::max_pool2d : LayerType::avg_pool2d;
    require_channels_last(cfg, name, cls);
    pair_of(cfg, "pool_size", l.kernel_h, l.kernel_w, name, cls, 2);
    if (field(cfg, "strides")) pair_of(cfg, "strides", l.stride_h, l.stride_w, name, cls, 1);
    else { l.stride_h = l.kernel_h; l.stride_w = l.kernel_w; }  // Keras: strides default to pool_size
    l.padding = padding_of(cfg, name, cls);
  } else if (cls == "GlobalAveragePooling2D" || cls == "GlobalMaxPooling2D") {
    l.type = cls == "GlobalAveragePooling2D" ? LayerType::global_avg_pool2d : LayerType::global_max_pool2d;
    require_channels_last(cfg, name, cls);
    if (bool_or(cfg, "keepdims", false, name, cls)) fail(name, cls, "keepdims=true is not supported");
  } else if (cls == "Dense") {
    l.type = LayerType::dense;
    l.units = int_field(cfg, "units", name, cls);
    l.use_bias = bool_or(cfg, "use_bias", true, name, cls);
    l.activation = activation_of(cfg, name, cls);
  } else if (cls == "Flatten") {
    l.type = LayerType::flatten;
    require_channels_last(cfg, name, cls);
  } else if (cls == "Dropout") {
    l.type = LayerType::dropout;
    l.dropout_rate = float_or(cfg, "rate", 0.f, name, cls);
  } else if (cls == "BatchNormalization") {
    l.type = LayerType::batch_norm;
    const json* a = field(cfg, "axis");
    const json axis = a ? *a : json(-1);
    const bool last_axis = axis == json(-1) || axis == json(3) || axis == json::array({-1}) || axis == json::array({3});
    if (!last_axis) fail(name, cls, "axis " + shown(axis) + " is not supported (the channel axis, -1, only)");
    l.epsilon = float_or(cfg, "epsilon", 1e-3f, name, cls);
    l.bn_center = bool_or(cfg, "center", true, name, cls);
    l.bn_scale = bool_or(cfg, "scale", true, name, cls);
  } else if (cls == "Activation") {
    l.type = LayerType::activation;
    l.activation = activation_of(cfg, name, cls);
  } else if (cls == "ReLU") {
    l.type = LayerType::activation;
    l.activation = Activation::relu;
    const bool plain = !field(cfg, "max_value") && float_or(cfg, "negative_slope", 0.f, name, cls) == 0.f &&
                       float_or(cfg, "threshold", 0.f, name, cls) == 0.f;
    if (!plain) fail(name, cls, "only the plain ReLU (no max_value, negative_slope, threshold) is supported");
  } else if (cls == "LeakyReLU") {
    l.type = LayerType::leaky_relu;
    l.alpha = field(cfg, "negative_slope") ? float_or(cfg, "negative_slope", 0.3f, name, cls)
                                           : float_or(cfg, "alpha", 0.3f, name, cls);
  } else if (cls == "Softmax") {
    l.type = LayerType::activation;
    l.activation = Activation::softmax;
    const json* a = field(cfg, "axis");
    if (a && *a != json(-1)) fail(name, cls, "axis " + shown(*a) + " is not supported (-1 only)");
  } else {
    fail(name, cls,
         "class '" + shown(cls) + "' is not supported (supported: InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, "
         "GlobalAveragePooling2D, GlobalMaxPooling2D, Dense, Flatten, Dropout, BatchNormalization, Activation, "
         "ReLU, LeakyReLU, Softmax)");
  }
  return l;
}

// The Keras 3 tensor references in a node's args, found without recursion (the depth of the
// text is bounded anyway, but an explicit stack keeps the walk's cost visible).
void keras3_sources(const json& args, const std::string& layer, std::vector<std::string>& names) {
  std::vector<const json*> todo{&args};
  while (!todo.empty()) {
    const json* a = todo.back();
    todo.pop_back();
    if (a->is_object() && string_or(*a, "class_name", "") == "__keras_tensor__") {
      const json* h = field(config_of(*a), "keras_history");
      if (!h || !h->is_array() || h->empty() || !(*h)[0].is_string())
        throw std::invalid_argument("model_config: layer '" + shown(layer) + "' has an input with keras_history " +
                                    (h ? shown(*h) : std::string("missing")) + ", expected [\"layer\", 0, 0]");
      names.push_back((*h)[0].get<std::string>());
    } else if (a->is_array()) {
      for (auto it = a->rbegin(); it != a->rend(); ++it) todo.push_back(&*it);
    }
  }
}

// The layers a functional-model layer reads from, in either Keras 2 or Keras 3 form.
std::vector<std::string> inbound_names(const json& layer, const std::string& name) {
  std::vector<std::string> names;
  const json* nodes = field(layer, "inbound_nodes");
  if (!nodes || !nodes->is_array()) return names;
  for (const json& node : *nodes) {
    if (node.is_array()) {  // Keras 2: [["prev", 0, 0, {}], ...]
      for (const json& t : node)
        if (t.is_array() && !t.empty() && t[0].is_string()) names.push_back(t[0].get<std::string>());
    } else if (const json* args = field(node, "args")) {  // Keras 3
      keras3_sources(*args, name, names);
    }
  }
  return names;
}

std::string endpoint_name(const json* list, const char* what) {
  // input_layers / output_layers: [["name", 0, 0]] (Keras 2) or ["name", 0, 0] (Keras 3, single).
  if (list && list->is_array() && list->size() == 3 && (*list)[0].is_string()) return (*list)[0].get<std::string>();
  if (list && list->is_array() && list->size() == 1 && (*list)[0].is_array() && !(*list)[0].empty() &&
      (*list)[0][0].is_string())
    return (*list)[0][0].get<std::string>();
  throw std::invalid_argument(std::string("model_config: ") + what + " is " + (list ? shown(*list) : std::string("missing")) +
                              "; convis supports one input and one output, as [[\"name\", 0, 0]]");
}

const json& layer_list(const json& cfg) {
  const json* layers = cfg.is_array() ? &cfg : field(cfg, "layers");  // Keras <= 2.2 stores the list itself
  if (!layers || !layers->is_array()) throw std::invalid_argument("model_config: the model has no 'layers' list");
  if (layers->empty()) throw std::invalid_argument("model_config: the model has no layers");
  return *layers;
}

Model functional_from_json(const json& cfg) {
  const json& layers = layer_list(cfg);
  std::map<std::string, const json*> by_name;
  std::map<std::string, std::vector<std::string>> consumers;
  for (const json& l : layers) {
    const std::string name = name_of(l);
    if (name.empty()) throw std::invalid_argument("model_config: a layer has no name");
    if (!by_name.emplace(name, &l).second)
      throw std::invalid_argument("model_config: two layers are named '" + shown(name) + "'");
    const std::vector<std::string> in = inbound_names(l, name);
    if (in.size() > 1)
      throw std::invalid_argument("model_config: layer '" + shown(name) + "' (" + shown(string_or(l, "class_name", "")) +
                                  ") has " + std::to_string(in.size()) + " inputs; convis supports single-chain models only");
    for (const std::string& i : in) consumers[i].push_back(name);
  }
  const std::string input = endpoint_name(field(cfg, "input_layers"), "input_layers");
  const std::string output = endpoint_name(field(cfg, "output_layers"), "output_layers");
  Model m;
  m.name = string_or(cfg, "name", "model");
  std::string at = input;
  std::set<std::string> seen;
  while (true) {
    auto it = by_name.find(at);
    if (it == by_name.end()) throw std::invalid_argument("model_config: layer '" + shown(at) + "' is referenced but not defined");
    if (!seen.insert(at).second) throw std::invalid_argument("model_config: layer '" + shown(at) + "' appears twice in the chain");
    m.layers.push_back(layer_from_json(*it->second));
    if (m.layers.size() == 1 && (m.layers[0].type != LayerType::input || !input_shape_of(config_of(*it->second), m)))
      throw std::invalid_argument("model_config: input layer '" + shown(at) + "' is not an InputLayer with a batch_input_shape");
    if (at == output) break;
    const auto& next = consumers[at];
    if (next.size() != 1)
      throw std::invalid_argument("model_config: layer '" + shown(at) + "' feeds " + std::to_string(next.size()) +
                                  " layers; convis supports single-chain models only");
    at = next[0];
  }
  if (m.layers.size() != layers.size())
    throw std::invalid_argument("model_config: " + std::to_string(layers.size() - m.layers.size()) +
                                " layer(s) are not on the chain from '" + shown(input) + "' to '" + shown(output) +
                                "'; convis supports single-chain models only");
  return m;
}

Model sequential_from_json(const json& cfg) {
  const json& layers = layer_list(cfg);
  Model m;
  m.name = cfg.is_object() ? string_or(cfg, "name", "sequential") : "sequential";
  const bool has_input = string_or(layers[0], "class_name", "") == "InputLayer";
  if (has_input) {
    m.layers.push_back(layer_from_json(layers[0]));
    if (!input_shape_of(config_of(layers[0]), m))
      throw std::invalid_argument("model_config: input layer has no batch_input_shape");
  } else {
    Layer in;
    in.class_name = "InputLayer";
    in.name = shown(string_or(config_of(layers[0]), "name", "layer")) + "_input";
    if (!input_shape_of(config_of(layers[0]), m))
      throw std::invalid_argument("model_config: the first layer has no batch_input_shape; cannot tell the input size");
    m.layers.push_back(in);
  }
  for (size_t i = has_input ? 1 : 0; i < layers.size(); ++i) {
    m.layers.push_back(layer_from_json(layers[i]));
    if (m.layers.back().type == LayerType::input)
      throw std::invalid_argument("model_config: layer '" + shown(m.layers.back().name) + "' is a second InputLayer");
  }
  return m;
}

// Deepest nesting of [ and { outside strings; stops counting past kMaxDepth.
int nesting_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxDepth) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

Model model_from_config(const std::string& text) {
  if (text.size() > kMaxText)
    throw std::invalid_argument("model_config is " + std::to_string(text.size()) + " bytes, more than the " +
                                std::to_string(kMaxText) + " accepted");
  // nlohmann's parser is iterative, but dump() and destruction of nested values recurse: a
  // 100,000-deep array would overflow the stack. Keras configs nest about 8 deep.
  if (nesting_depth(text) > kMaxDepth)
    throw std::invalid_argument("model_config nests arrays/objects more than " + std::to_string(kMaxDepth) + " deep");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument("model_config is not valid JSON: " + shown(std::string(e.what()), 240));
  }
  try {
    const std::string cls = string_or(j, "class_name", "");
    const json* cfg = field(j, "config");
    if (!cfg) throw std::invalid_argument("model_config: the model has no 'config'");
    if (cls == "Sequential") return sequential_from_json(*cfg);
    if (cls == "Model" || cls == "Functional") return functional_from_json(*cfg);
    throw std::invalid_argument("model_config: model class '" + shown(cls) +
                                "' is not supported (Sequential, Model, Functional)");
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("model_config: unexpected structure: ") + shown(std::string(e.what()), 240));
  }
}

}  // namespace convis
