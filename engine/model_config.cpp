// model_config JSON <-> Model. Keras writes one JSON object per layer:
//   {"class_name": "Conv2D", "config": {"name": "conv2d_1", "filters": 16, ...}, "inbound_nodes": [...]}
// Keras 2 functional models list inbound nodes as [[["prev", 0, 0, {}]]]; Keras 3 as
// [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["prev", 0, 0]}}], ...}].
#include "engine/model_config.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "engine/model_config_json.h"

namespace convis {

using namespace config_json;

namespace {

// Every JSON helper here (engine/model_config_json.h) treats its input as hostile.

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
