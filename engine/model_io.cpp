#include "engine/errors.h"
#include "engine/model_io.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "engine/applications.h"
#include "engine/model_config.h"

namespace convis {

namespace {
std::mutex g_weights_dir_mutex;
std::string g_default_weights_dir = "weights";
}  // namespace

void set_default_weights_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_weights_dir_mutex);
  g_default_weights_dir = dir;
}

std::string weights_dir() {
  const char* env = std::getenv("CONVIS_WEIGHTS_DIR");
  if (env && *env) return env;
  std::lock_guard<std::mutex> lock(g_weights_dir_mutex);
  return g_default_weights_dir;
}

std::string resolve_weights_path(const std::string& spec) {
  const std::string dir = weights_dir();
  if (spec == "vgg16") return dir + "/vgg16_weights_tf_dim_ordering_tf_kernels.h5";
  if (spec == "vgg16-notop") return dir + "/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";
  if (spec == "fashion") return dir + "/fashion_cnn.h5";  // the tutorial CNN trained by vis_tool train
  return spec;
}

namespace {

// Canonical Keras 2 weight names for a layer type, in Keras' order.
std::vector<std::string> canonical_names(const Layer& l) {
  switch (l.type) {
    case LayerType::conv2d:
    case LayerType::dense:
      return l.use_bias ? std::vector<std::string>{"kernel:0", "bias:0"} : std::vector<std::string>{"kernel:0"};
    case LayerType::depthwise_conv2d:
      return l.use_bias ? std::vector<std::string>{"depthwise_kernel:0", "bias:0"}
                        : std::vector<std::string>{"depthwise_kernel:0"};
    case LayerType::separable_conv2d:
      return l.use_bias ? std::vector<std::string>{"depthwise_kernel:0", "pointwise_kernel:0", "bias:0"}
                        : std::vector<std::string>{"depthwise_kernel:0", "pointwise_kernel:0"};
    case LayerType::normalization: return {"mean:0", "variance:0", "count:0"};
    case LayerType::batch_norm: {
      std::vector<std::string> n;
      if (l.bn_scale) n.push_back("gamma:0");
      if (l.bn_center) n.push_back("beta:0");
      n.push_back("moving_mean:0");
      n.push_back("moving_variance:0");
      return n;
    }
    default: return {};
  }
}

std::string short_name(const std::string& n) {  // "kernel:0" -> "kernel"
  return n.substr(0, n.find(':'));
}

// A bare weights file is VGG16 when it has VGG16's conv layers; with fc1..predictions, the top.
bool looks_like_vgg16(const KerasFile& f, bool& top) {
  for (const char* n : {"block1_conv1", "block3_conv3", "block5_conv3"})
    if (!f.find(n)) return false;
  top = f.find("predictions") != nullptr;
  return true;
}

}  // namespace

namespace {

// A layer of a nested model (a Functional model used as a layer, flattened at load) has no group
// of its own: Keras 2 stores its weights in the nested model's group as "<layer>/kernel:0" (or
// "<model>/<layer>/kernel:0"), all trainable weights first, then the moving statistics. Finds
// them by name, in the layer's canonical order, in the one group that holds them.
bool nested_weights(const KerasFile& f, const std::string& layer, const std::vector<std::string>& names,
                    LayerWeights& out) {
  const LayerWeights* found = nullptr;
  for (const LayerWeights& g : f.layers) {
    std::vector<NamedTensor> picked;
    for (const std::string& n : names) {
      for (const NamedTensor& t : g.weights) {
        const std::string& w = t.name;
        const std::string tail = layer + "/" + n;
        const bool match = w == tail || (w.size() > tail.size() && w.compare(w.size() - tail.size(), tail.size(), tail) == 0 &&
                                         w[w.size() - tail.size() - 1] == '/' && w.compare(0, g.layer.size() + 1, g.layer + "/") == 0 &&
                                         w.size() == g.layer.size() + 1 + tail.size());
        if (match) {
          picked.push_back(t);
          break;
        }
      }
    }
    if (picked.empty()) continue;
    if (found)
      throw std::invalid_argument("weights file '" + f.path + "': groups '" + found->layer + "' and '" + g.layer +
                                  "' both hold weights for layer '" + layer + "'");
    if (picked.size() != names.size())
      throw std::invalid_argument("weights file '" + f.path + "': group '" + g.layer + "' holds " +
                                  std::to_string(picked.size()) + " of the " + std::to_string(names.size()) +
                                  " weights of layer '" + layer + "'");
    found = &g;
    out.layer = layer;
    out.weights = std::move(picked);
  }
  return found != nullptr;
}

// The file's groups that hold weights, in the file's order (layer_names, or keras3's group order).
std::vector<const LayerWeights*> weighted_groups(const KerasFile& f) {
  std::vector<const LayerWeights*> g;
  for (const LayerWeights& lw : f.layers)
    if (!lw.weights.empty()) g.push_back(&lw);
  return g;
}

// A built model's layers that need weights, with the shapes they need, in the model's order.
std::vector<std::pair<int, std::vector<Shape>>> weighted_layers(const Model& m) {
  std::vector<std::pair<int, std::vector<Shape>>> out;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    std::vector<Shape> want = m.layers[i].expected_weight_shapes(m.input_shape(int(i)));
    if (!want.empty()) out.emplace_back(int(i), std::move(want));
  }
  return out;
}

// Keras' own load_weights (not by_name) puts the file's i-th group with weights on the model's
// i-th layer with weights: what the keras.applications files written by older Keras, with other
// automatic names (Xception's convolution2d_1, ...), need. True when counts and every declared
// shape agree in that order.
bool fits_by_position(const Model& m, const KerasFile& f) {
  const auto groups = weighted_groups(f);
  const auto layers = weighted_layers(m);
  if (groups.size() != layers.size()) return false;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::vector<Shape>& want = layers[k].second;
    if (groups[k]->weights.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i)
      if (groups[k]->weights[i].declared != want[i]) return false;
  }
  return true;
}

// Compares what the file has for each layer with what the model needs; with `declared`, the
// shapes the file declares (its index, before any data is read), else the tensors read.
// Throws naming the file, the layer and both shapes. Assigns the weights unless `declared`.
// by_position: the k-th layer with weights takes the file's k-th group with weights.
void match_weights(Model& m, const KerasFile& f, bool declared, bool by_position = false) {
  if (!m.built_h()) m.build();
  const std::vector<const LayerWeights*> groups = by_position ? weighted_groups(f) : std::vector<const LayerWeights*>{};
  size_t k = 0;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Layer& l = m.layers[i];
    const std::vector<Shape> want = l.expected_weight_shapes(m.input_shape(int(i)));
    if (want.empty()) continue;
    const std::vector<std::string> names = canonical_names(l);
    LayerWeights nested;
    const LayerWeights* lw = by_position ? (k < groups.size() ? groups[k++] : nullptr) : f.find(l.name);
    if (!lw && !by_position && nested_weights(f, l.name, names, nested)) lw = &nested;
    // Normalization's statistics may come in its config (Keras: Normalization(mean=..., variance=...)),
    // already set as its weights: a file without a group for it keeps them.
    if (!lw && l.type == LayerType::normalization && !l.weights.empty()) continue;
    if (!lw) throw std::invalid_argument("weights file '" + f.path + "': no weights for layer '" + l.name + "'");
    if (lw->weights.size() != want.size())
      throw std::invalid_argument("weights file '" + f.path + "': layer '" + l.name + "' has " +
                                  std::to_string(lw->weights.size()) + " weights, model expects " +
                                  std::to_string(want.size()) + " (" + l.class_name + ")");
    for (size_t i = 0; i < want.size(); ++i) {
      const Shape& got = declared ? lw->weights[i].declared : lw->weights[i].value.shape();
      if (got != want[i])
        throw std::invalid_argument("weights file '" + f.path + "': layer '" + l.name + "' " + short_name(names[i]) +
                                    " is " + got.str() + ", model expects " + want[i].str());
    }
    if (declared) continue;
    l.weights.clear();
    l.weight_names = names;
    for (size_t i = 0; i < want.size(); ++i) l.weights.push_back(Var::constant(lw->weights[i].value));
  }
}

// A bare weights file of a keras.applications model other than VGG16: recognised by the names of
// its first and last layers with weights (the top by "predictions"), else by position when exactly
// one architecture has the file's weights in its order. Null when none fits.
bool recognise_application(const KerasFile& f, Model& m, bool& by_position) {
  const bool top = f.find("predictions") != nullptr;
  for (const ApplicationInfo& a : applications()) {
    if (std::string(a.name) == "vgg16") continue;
    Model c = a.build(top);
    c.build(a.input_size, a.input_size);
    const auto layers = weighted_layers(c);
    if (layers.empty() || !f.find(c.layers[size_t(layers.front().first)].name) ||
        !f.find(c.layers[size_t(layers.back().first)].name))
      continue;
    m = std::move(c);
    by_position = false;
    return true;
  }
  int fits = 0;
  for (const ApplicationInfo& a : applications())
    for (bool t : {true, false}) {
      Model c = a.build(t);
      c.build(a.input_size, a.input_size);
      if (!fits_by_position(c, f)) continue;
      if (++fits == 1) m = std::move(c);
    }
  by_position = fits == 1;
  return fits == 1;
}

// The model a file describes: its model_config, or a keras.applications model recognised by its
// layer names (or, for files of older Keras, by the order of its weights); built for h x w (0:
// the model's own size, else 224). by_position: see match_weights.
Model model_for(const KerasFile& f, int input_h, int input_w, bool& by_position) {
  Model m;
  by_position = false;
  if (!f.model_config.empty()) {
    try {
      m = model_from_config(f.model_config);
    } catch (const std::exception& e) {
      throw std::invalid_argument("weights file '" + f.path + "': " + e.what());
    }
  } else {
    bool top = false;
    if (looks_like_vgg16(f, top)) {
      m = vgg16(top);
    } else if (!recognise_application(f, m, by_position)) {
      std::string names;
      for (const std::string& n : application_names()) names += (names.empty() ? "" : ", ") + n;
      throw std::invalid_argument("weights file '" + f.path + "' has no model_config and its layers are not those of " +
                                  names + "; convis builds these from bare weights, other models need a "
                                  "model.save() file");
    }
  }
  // A free input size defaults to the architecture's own (299 for InceptionV3 and Xception).
  const ApplicationInfo* app = application_for_model(m.name);
  const int side = app ? app->input_size : 224;
  const int h = input_h > 0 ? input_h : (m.input_h > 0 ? m.input_h : side);
  const int w = input_w > 0 ? input_w : (m.input_w > 0 ? m.input_w : h);
  try {
    m.build(h, w);
  } catch (const std::exception& e) {
    throw std::invalid_argument("weights file '" + f.path + "': " + e.what());
  }
  return m;
}

}  // namespace

void assign_weights(Model& m, const KerasFile& f) { match_weights(m, f, /*declared=*/false); }

Model load_model(const std::string& spec, int input_h, int input_w) {
  const std::string path = resolve_weights_path(spec);
  if (path != spec && !std::filesystem::exists(path)) {
    if (spec == "fashion")
      throw std::invalid_argument("'fashion' means " + path + ", which is not there: weights/README.md says how to "
                                  "train it again");
    throw std::invalid_argument("'" + spec + "' means " + path + ", which is not there: run weights/fetch_vgg16.sh " +
                                (spec == "vgg16" ? "full" : "notop") + " first (it needs a network)");
  }
  // The model is made from the file's index and its declared shapes are checked before any
  // weight is read (read_keras_h5 calls this first in its trial child, then here).
  Model m;
  bool by_position = false;
  const KerasFile f = read_keras_h5(path, [&](const KerasFile& index) {
    m = model_for(index, input_h, input_w, by_position);
    match_weights(m, index, /*declared=*/true, by_position);
  });
  match_weights(m, f, /*declared=*/false, by_position);
  return m;
}

std::vector<LayerWeights> model_weights(const Model& m, KerasLayout layout) {
  std::vector<LayerWeights> out;
  for (const Layer& l : m.layers) {
    LayerWeights lw;
    lw.layer = l.name;
    for (size_t i = 0; i < l.weights.size(); ++i) {
      std::string n = i < l.weight_names.size() ? l.weight_names[i] : "weight_" + std::to_string(i) + ":0";
      if (layout == KerasLayout::keras1) {
        // keras.applications' Theano-era names: <layer>_W_1:0, <layer>_b_1:0 (others by position).
        const std::string s = short_name(n);
        n = l.name + (s == "kernel" ? "_W_1:0" : s == "bias" ? "_b_1:0" : "_" + s + "_1:0");
      } else if (layout == KerasLayout::keras3) {
        n = "vars/" + std::to_string(i);
      }
      lw.weights.push_back(NamedTensor{n, l.weights[i].value(), l.weights[i].value().shape()});
    }
    out.push_back(std::move(lw));
  }
  return out;
}

void save_model(const Model& m, const std::string& path, KerasLayout layout) {
  write_keras_h5(path, layout, model_weights(m, layout), layout == KerasLayout::model ? model_to_config(m) : "");
}

}  // namespace convis
