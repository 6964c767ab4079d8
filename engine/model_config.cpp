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

// One inbound node's source layer names (Keras 2: [["prev", 0, 0, {}], ...]; Keras 3: the
// __keras_tensor__ objects in its args).
std::vector<std::string> node_sources(const json& node, const std::string& name) {
  std::vector<std::string> names;
  if (node.is_array()) {
    for (const json& t : node) {
      if (!t.is_array() || t.empty() || !t[0].is_string())
        throw std::invalid_argument("model_config: layer '" + shown(name) + "' has an inbound tensor " + shown(t) +
                                    ", expected [\"layer\", 0, 0, {}]");
      int tensor = 0;
      if (t.size() > 2 && !(int_in(t[2], 0, 0, tensor)))
        throw std::invalid_argument("model_config: layer '" + shown(name) + "' reads output " + shown(t[2]) + " of '" +
                                    shown(t[0].get<std::string>()) + "'; convis supports single-output layers only");
      names.push_back(t[0].get<std::string>());
    }
  } else if (const json* args = field(node, "args")) {
    keras3_sources(*args, name, names);
  }
  return names;
}

// The layers a functional-model layer reads from. A layer called more than once (a shared layer,
// several inbound nodes) is refused: each layer of a convis graph has one set of inputs.
std::vector<std::string> inbound_names(const json& layer, const std::string& name) {
  const json* nodes = field(layer, "inbound_nodes");
  if (!nodes || !nodes->is_array() || nodes->empty()) return {};
  if (nodes->size() > 1)
    throw std::invalid_argument("model_config: layer '" + shown(name) + "' is called " +
                                std::to_string(nodes->size()) + " times (a shared layer); convis needs each layer "
                                "called once");
  return node_sources((*nodes)[0], name);
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

bool is_model_class(const std::string& cls) { return cls == "Sequential" || cls == "Functional" || cls == "Model"; }

constexpr int kMaxNesting = 8;  // models inside models (transfer learning nests one)

// Reads a model config, and any models nested in it as layers, into one flat graph. Names are
// resolved per model (a nested model's input is the tensor that feeds it, its name stands for its
// output), inputs must be defined before they are read (Keras lists layers in a topological
// order, so this also rules out cycles), and every layer name is unique in the flat graph.
class GraphReader {
 public:
  Model read_top(const std::string& cls, const json& cfg) {
    model_.name = string_or(cfg, "name", cls == "Sequential" ? "sequential" : "model");
    const int out = read_model(cls, cfg, -1, 0);
    return finish(out);
  }

 private:
  struct Node {
    Layer layer;
    std::vector<int> inputs;
  };

  int read_model(const std::string& cls, const json& cfg, int source, int depth) {
    if (depth > kMaxNesting)
      throw std::invalid_argument("model_config: models are nested more than " + std::to_string(kMaxNesting) + " deep");
    return cls == "Sequential" ? read_sequential(cfg, source, depth) : read_functional(cfg, source, depth);
  }

  int add_input(const json& lj) {
    Layer l = layer_from_json(lj);
    if (l.type != LayerType::input || !input_shape_of(config_of(lj), model_))
      throw std::invalid_argument("model_config: input layer '" + shown(l.name) +
                                  "' is not an InputLayer with a batch_input_shape");
    return push(std::move(l), {});
  }

  int push(Layer l, std::vector<int> inputs) {
    if (!names_.insert(l.name).second)
      throw std::invalid_argument("model_config: two layers are named '" + shown(l.name) +
                                  "' (a nested model's layer and another); convis needs unique layer names");
    nodes_.push_back(Node{std::move(l), std::move(inputs)});
    return int(nodes_.size()) - 1;
  }

  // A layer of some model fed by `inputs`: a nested model is read in place, any other layer is a node.
  int add(const json& lj, const std::vector<int>& inputs, int depth) {
    const std::string cls = string_or(lj, "class_name", "");
    if (is_model_class(cls)) {
      if (inputs.size() != 1)
        throw std::invalid_argument("model_config: nested model '" + shown(name_of(lj)) + "' has " +
                                    std::to_string(inputs.size()) + " inputs; convis supports one");
      return read_model(cls, config_of(lj), inputs[0], depth + 1);
    }
    Layer l = layer_from_json(lj);
    if (l.type == LayerType::input)
      throw std::invalid_argument("model_config: layer '" + shown(l.name) + "' is a second InputLayer");
    if (inputs.empty()) throw std::invalid_argument("model_config: layer '" + shown(l.name) + "' has no inputs");
    return push(std::move(l), inputs);
  }

  int read_sequential(const json& cfg, int source, int depth) {
    const json& layers = layer_list(cfg);
    int prev = source;
    for (size_t i = 0; i < layers.size(); ++i) {
      const json& lj = layers[i];
      const bool input = string_or(lj, "class_name", "") == "InputLayer";
      if (prev < 0) {  // the outermost model's input: its InputLayer, or one named after the first layer
        if (input) {
          prev = add_input(lj);
          continue;
        }
        Layer in;
        in.class_name = "InputLayer";
        in.name = shown(string_or(config_of(lj), "name", "layer")) + "_input";
        if (!input_shape_of(config_of(lj), model_))
          throw std::invalid_argument("model_config: the first layer has no batch_input_shape; cannot tell the input size");
        prev = push(std::move(in), {});
      } else if (input) {
        if (i > 0) throw std::invalid_argument("model_config: layer '" + shown(name_of(lj)) + "' is a second InputLayer");
        continue;  // a nested Sequential's own input is the tensor that feeds it
      }
      prev = add(lj, {prev}, depth);
    }
    return prev;
  }

  int read_functional(const json& cfg, int source, int depth) {
    const json& layers = layer_list(cfg);
    const std::string input = endpoint_name(field(cfg, "input_layers"), "input_layers");
    const std::string output = endpoint_name(field(cfg, "output_layers"), "output_layers");
    std::map<std::string, int> ids;  // this model's layer names -> nodes of the flat graph
    std::set<std::string> declared;  // every layer name of this model, to tell "later" from "none"
    for (const json& lj : layers) declared.insert(name_of(lj));
    for (const json& lj : layers) {
      const std::string name = name_of(lj);
      if (name.empty()) throw std::invalid_argument("model_config: a layer has no name");
      if (ids.count(name)) throw std::invalid_argument("model_config: two layers are named '" + shown(name) + "'");
      if (string_or(lj, "class_name", "") == "InputLayer") {
        if (name != input)
          throw std::invalid_argument("model_config: InputLayer '" + shown(name) + "' is not the model's input '" +
                                      shown(input) + "'; convis supports one input");
        ids[name] = source >= 0 ? source : add_input(lj);
        continue;
      }
      std::vector<int> in;
      for (const std::string& from : inbound_names(lj, name)) {
        const auto it = ids.find(from);
        if (it == ids.end())
          throw std::invalid_argument("model_config: layer '" + shown(name) + "' reads '" + shown(from) + "', " +
                                      (declared.count(from) ? "which is not defined before it"
                                                            : "which is not a layer of the model"));
        in.push_back(it->second);
      }
      ids[name] = add(lj, in, depth);
    }
    if (!ids.count(input)) throw std::invalid_argument("model_config: input layer '" + shown(input) + "' is not defined");
    const auto out = ids.find(output);
    if (out == ids.end()) throw std::invalid_argument("model_config: output layer '" + shown(output) + "' is not defined");
    return out->second;
  }

  // The output's ancestors in order; a layer off every path to the output is refused (Keras
  // configs hold only the layers between the inputs and the outputs).
  Model finish(int output) {
    std::vector<char> used(nodes_.size(), 0);
    used[size_t(output)] = 1;
    for (int i = output; i >= 0; --i)
      if (used[size_t(i)])
        for (int j : nodes_[size_t(i)].inputs) used[size_t(j)] = 1;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (!used[i])
        throw std::invalid_argument("model_config: layer '" + shown(nodes_[i].layer.name) +
                                    "' is not on any path to the output layer '" +
                                    shown(nodes_[size_t(output)].layer.name) + "'");
    if (nodes_.empty() || nodes_[0].layer.type != LayerType::input)
      throw std::invalid_argument("model_config: the model does not start with its InputLayer");
    for (Node& n : nodes_) {
      n.layer.inputs = n.inputs;
      model_.layers.push_back(std::move(n.layer));
    }
    return std::move(model_);
  }

  Model model_;
  std::vector<Node> nodes_;
  std::set<std::string> names_;
};

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
    if (is_model_class(cls)) return GraphReader().read_top(cls, *cfg);
    throw std::invalid_argument("model_config: model class '" + shown(cls) +
                                "' is not supported (Sequential, Model, Functional)");
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("model_config: unexpected structure: ") + shown(std::string(e.what()), 240));
  }
}

}  // namespace convis
