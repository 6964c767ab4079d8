// Keras weight files: layout detection, reading into Tensors, and writing in each layout.
// See keras_h5.h for the four layouts. The HDF5 calls themselves live in hdf5.cpp.
#include "engine/keras_h5.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "engine/file_util.h"
#include "engine/hdf5.h"
#include "engine/isolate.h"

namespace convis {

namespace {

// Keras' HDF5_OBJECT_HEADER_LIMIT: an attribute's data must fit in an object header (64 KiB),
// less room for the header's own fields.
constexpr size_t kAttrLimit = 64512;
constexpr const char* kKeras2Version = "2.15.0";

std::runtime_error error(const std::string& path, const std::string& what) {
  return std::runtime_error("weights file '" + path + "': " + what);
}

// A name list stored whole (`name`) or split by Keras into name0, name1, ... when too long.
bool has_name_list(hid_t loc, const std::string& name) {
  return h5::has_attr(loc, name) || h5::has_attr(loc, name + "0");
}

std::vector<std::string> read_name_list(hid_t loc, const std::string& name) {
  if (h5::has_attr(loc, name)) return h5::read_string_list_attr(loc, name);
  std::vector<std::string> all;
  for (int i = 0; h5::has_attr(loc, name + std::to_string(i)); ++i) {
    std::vector<std::string> part = h5::read_string_list_attr(loc, name + std::to_string(i));
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

// Writes the list as one fixed-length string array, or as k near-equal pieces name0..name<k-1>
// when n * itemsize exceeds the limit (k the smallest count whose pieces all fit, as Keras does).
void write_name_list(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  size_t itemsize = 1;
  for (const std::string& s : values) itemsize = std::max(itemsize, s.size());
  if (values.size() * itemsize <= kAttrLimit) return h5::write_fixed_strings_attr(loc, name, values);
  const size_t per_piece = kAttrLimit / itemsize;
  if (per_piece == 0) throw std::runtime_error("a name in '" + name + "' is longer than 64 KiB");
  const size_t n = values.size(), k = (n + per_piece - 1) / per_piece;
  size_t start = 0;
  for (size_t i = 0; i < k; ++i) {
    const size_t count = n / k + (i < n % k ? 1 : 0);  // numpy.array_split's sizes
    const std::vector<std::string> piece(values.begin() + long(start), values.begin() + long(start + count));
    h5::write_fixed_strings_attr(loc, name + std::to_string(i), piece);
    start += count;
  }
}

std::string optional_string_attr(hid_t loc, const char* name) {
  return h5::has_attr(loc, name) ? h5::read_string_attr(loc, name) : std::string();
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Where each weight's data is: paths[l][i] is the dataset of kf.layers[l].weights[i].
using DatasetPaths = std::vector<std::vector<std::string>>;

// keras1/keras2/model: layers named by layer_names in `root` (prefix: its path + "/" or "").
// Records names and declared shapes; reads no data.
void index_named_layers(hid_t file, const std::string& prefix, KerasFile& kf, DatasetPaths& paths) {
  h5::Id root = prefix.empty() ? h5::open_group(file, "/") : h5::open_group(file, prefix);
  for (const std::string& layer : read_name_list(root, "layer_names")) {
    const std::string group = prefix + layer;
    if (layer.empty() || !h5::is_group(file, group))
      throw std::runtime_error("layer '" + layer + "' is listed in layer_names but group '" + group + "' is missing");
    h5::Id g = h5::open_group(file, group);
    if (!has_name_list(g, "weight_names"))
      throw std::runtime_error("group '" + group + "' has no weight_names attribute");
    LayerWeights lw{layer, {}};
    std::vector<std::string> weight_names;
    try {
      weight_names = read_name_list(g, "weight_names");
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("layer '" + layer + "': " + e.what());
    }
    paths.emplace_back();
    for (const std::string& w : weight_names) {
      const std::string path = group + "/" + w;
      if (w.empty() || !h5::exists(file, path))
        throw std::runtime_error("cannot open dataset '" + path + "': layer '" + layer +
                                 "' lists it in weight_names but it does not exist");
      lw.weights.push_back({w, Tensor(), Shape(h5::dataset_dims(file, path))});
      paths.back().push_back(path);
    }
    kf.layers.push_back(std::move(lw));
  }
}

// keras3: /layers/<layer>/vars/<i>; numeric names in numeric order, anything else ignored.
void index_keras3_layers(hid_t file, KerasFile& kf, DatasetPaths& paths) {
  h5::Id layers = h5::open_group(file, "layers");
  for (const std::string& layer : h5::children(layers)) {
    const std::string vars = "layers/" + layer + "/vars";
    if (!h5::is_group(file, "layers/" + layer)) continue;
    LayerWeights lw{layer, {}};
    paths.emplace_back();
    if (h5::is_group(file, vars)) {
      std::vector<std::string> names;
      for (const std::string& v : h5::children(h5::open_group(file, vars)))
        if (all_digits(v)) names.push_back(v);
      std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
      });
      for (const std::string& v : names) {
        lw.weights.push_back({"vars/" + v, Tensor(), Shape(h5::dataset_dims(file, vars + "/" + v))});
        paths.back().push_back(vars + "/" + v);
      }
    }
    kf.layers.push_back(std::move(lw));
  }
}

// keras1 keeps each dataset directly in its layer group; keras2 one level deeper, so its
// weight_names carry a "<layer>/" part.
KerasLayout named_layout(const KerasFile& kf) {
  bool any = false;
  for (const LayerWeights& lw : kf.layers)
    for (const NamedTensor& w : lw.weights) {
      if (w.name.find('/') != std::string::npos) return KerasLayout::keras2;
      any = true;
    }
  if (any) return KerasLayout::keras1;
  return kf.keras_version.empty() || kf.keras_version[0] == '1' ? KerasLayout::keras1 : KerasLayout::keras2;
}

// Returns false when the file is none of the four layouts.
bool index_layout(hid_t file, KerasFile& kf, DatasetPaths& paths) {
  if (has_name_list(file, "layer_names")) {
    kf.keras_version = optional_string_attr(file, "keras_version");
    kf.backend = optional_string_attr(file, "backend");
    index_named_layers(file, "", kf, paths);
    kf.layout = named_layout(kf);
  } else if (h5::is_group(file, "model_weights")) {
    kf.layout = KerasLayout::model;
    kf.model_config = optional_string_attr(file, "model_config");
    h5::Id mw = h5::open_group(file, "model_weights");
    kf.keras_version = h5::has_attr(file, "keras_version") ? h5::read_string_attr(file, "keras_version")
                                                           : optional_string_attr(mw, "keras_version");
    kf.backend = h5::has_attr(file, "backend") ? h5::read_string_attr(file, "backend") : optional_string_attr(mw, "backend");
    if (!has_name_list(mw, "layer_names")) throw std::runtime_error("group 'model_weights' has no layer_names attribute");
    index_named_layers(file, "model_weights/", kf, paths);
  } else if (h5::is_group(file, "layers")) {
    kf.layout = KerasLayout::keras3;
    index_keras3_layers(file, kf, paths);
  } else {
    return false;
  }
  return true;
}

// The whole read in this process, with h5::library_mutex() held: index, check, data.
KerasFile read_unisolated(const std::string& path, const KerasCheck& check) {
  h5::quiet_errors();
  bool hdf5 = false;
  try {
    hdf5 = h5::is_hdf5(path);
  } catch (const std::runtime_error& e) {
    throw error(path, e.what());
  }
  if (!hdf5) throw std::runtime_error("weights file '" + path + "' is not an HDF5 file");
  h5::Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) throw error(path, "file is truncated or damaged (" + h5::last_error() + ")");

  KerasFile kf;
  kf.path = path;
  DatasetPaths paths;
  bool keras = false;
  try {
    keras = index_layout(file, kf, paths);
  } catch (const std::runtime_error& e) {
    throw error(path, e.what());
  } catch (const std::length_error& e) {
    throw error(path, e.what());
  }
  if (!keras)
    throw std::runtime_error("weights file '" + path +
                             "' is HDF5 but not a Keras weights file: no layer_names attribute, model_weights group or layers group");
  if (check) check(kf);  // before any data is read: a shape the model cannot use costs nothing
  for (size_t l = 0; l < kf.layers.size(); ++l)
    for (size_t i = 0; i < kf.layers[l].weights.size(); ++i) {
      try {
        kf.layers[l].weights[i].value = h5::read_tensor(file, paths[l][i]);
      } catch (const std::runtime_error& e) {
        throw error(path, e.what());
      } catch (const std::bad_alloc&) {
        throw error(path, "dataset '" + paths[l][i] + "' of shape " + kf.layers[l].weights[i].declared.str() +
                              " does not fit in memory");
      }
    }
  return kf;
}

}  // namespace

namespace {

// A layer name is a group path. Keras 2 allows '/' in names (DenseNet's "conv1/conv"), which
// h5py turns into nested groups, as the writer does; Keras 3 does not.
bool valid_layer_name(const std::string& n, KerasLayout layout) {
  if (n.empty() || n == "." || n.front() == '/' || n.back() == '/' || n.find("//") != std::string::npos) return false;
  if (layout == KerasLayout::keras3) return n.find('/') == std::string::npos;
  for (size_t a = 0; a <= n.size();) {
    const size_t b = std::min(n.find('/', a), n.size());
    const std::string part = n.substr(a, b - a);
    if (part == "." || part == "..") return false;
    a = b + 1;
  }
  return true;
}

void check_layers(const std::vector<LayerWeights>& layers, KerasLayout layout) {
  std::set<std::string> seen;
  for (const LayerWeights& lw : layers) {
    if (!valid_layer_name(lw.layer, layout))
      throw std::invalid_argument("layer name '" + lw.layer + "' is not a valid Keras layer name");
    if (!seen.insert(lw.layer).second) throw std::invalid_argument("layer '" + lw.layer + "' is listed twice");
    for (const NamedTensor& w : lw.weights) {
      if (w.name.empty()) throw std::invalid_argument("layer '" + lw.layer + "' has a weight with no name");
      if (!w.value.defined()) throw std::invalid_argument("layer '" + lw.layer + "' weight '" + w.name + "' has no data");
    }
  }
}

// keras1/keras2/model: root holds layer_names; one group per layer with weight_names.
void write_named_layers(hid_t root, KerasLayout layout, const std::vector<LayerWeights>& layers) {
  std::vector<std::string> names;
  for (const LayerWeights& lw : layers) names.push_back(lw.layer);
  write_name_list(root, "layer_names", names);
  if (layout != KerasLayout::keras1) {
    h5::write_string_attr(root, "backend", "tensorflow");
    h5::write_string_attr(root, "keras_version", kKeras2Version);
  }
  for (const LayerWeights& lw : layers) {
    h5::Id g = h5::create_group(root, lw.layer);
    std::vector<std::string> weight_names;
    for (const NamedTensor& w : lw.weights) {
      const std::string own = lw.layer + "/";
      const bool prefix = layout != KerasLayout::keras1 && w.name.compare(0, own.size(), own) != 0;
      weight_names.push_back(prefix ? own + w.name : w.name);
    }
    // Keras 2.13 stores an empty list as np.asarray([]), an empty float64 array; Keras 1 as strings.
    if (weight_names.empty() && layout != KerasLayout::keras1) h5::write_empty_float64_attr(g, "weight_names");
    else write_name_list(g, "weight_names", weight_names);
    for (size_t i = 0; i < lw.weights.size(); ++i) h5::write_tensor(g, weight_names[i], lw.weights[i].value);
  }
}

void write_keras3_layers(hid_t file, const std::vector<LayerWeights>& layers) {
  // Creation order is tracked so that reading lists the layers as written, not alphabetically.
  h5::Id root = h5::create_group(file, "layers", /*track_order=*/true);
  for (const LayerWeights& lw : layers) {
    h5::Id vars = h5::create_group(root, lw.layer + "/vars");
    for (size_t i = 0; i < lw.weights.size(); ++i) h5::write_tensor(vars, std::to_string(i), lw.weights[i].value);
  }
  h5::create_group(file, "vars");  // the model's own variables: none
}

}  // namespace

const LayerWeights* KerasFile::find(const std::string& layer) const {
  for (const LayerWeights& lw : layers)
    if (lw.layer == layer) return &lw;
  return nullptr;
}

KerasFile read_keras_h5(const std::string& path, const KerasCheck& check) {
  require_regular_file(path, "weights file");
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (bytes == 0 && !ec) throw std::runtime_error("weights file '" + path + "' is empty (0 bytes)");

  // The library lock is held across the trial run in a child and the real read here (see isolate.h).
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  trial_run("weights file '" + path + "'", read_timeout_s(ec ? 0 : bytes), [&] { read_unisolated(path, check); });
  return read_unisolated(path, check);
}

void write_keras_h5(const std::string& path, KerasLayout layout, const std::vector<LayerWeights>& layers,
                    const std::string& model_config) {
  try {
    check_layers(layers, layout);
  } catch (const std::invalid_argument& e) {
    throw error(path, e.what());
  }
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  write_atomically(path, [&](const std::string& tmp) {
    try {
      h5::Id file = h5::create_file(tmp);
      switch (layout) {
        case KerasLayout::keras1:
        case KerasLayout::keras2:
          write_named_layers(file, layout, layers);
          break;
        case KerasLayout::model: {
          if (!model_config.empty()) h5::write_string_attr(file, "model_config", model_config);
          h5::write_string_attr(file, "keras_version", kKeras2Version);
          h5::write_string_attr(file, "backend", "tensorflow");
          h5::Id mw = h5::create_group(file, "model_weights");
          write_named_layers(mw, layout, layers);
          break;
        }
        case KerasLayout::keras3:
          write_keras3_layers(file, layers);
          break;
      }
      h5::close_file(file);  // flushed and closed before the rename, failures reported
    } catch (const std::runtime_error& e) {
      throw error(path, e.what());
    }
  });
}

const char* layout_name(KerasLayout layout) {
  switch (layout) {
    case KerasLayout::keras1: return "keras1";
    case KerasLayout::keras2: return "keras2";
    case KerasLayout::model: return "model";
    case KerasLayout::keras3: return "keras3";
  }
  return "?";
}

KerasLayout parse_layout(const std::string& name) {
  for (KerasLayout l : {KerasLayout::keras1, KerasLayout::keras2, KerasLayout::model, KerasLayout::keras3})
    if (name == layout_name(l)) return l;
  throw std::invalid_argument("unknown Keras layout '" + name + "' (valid: keras1, keras2, model, keras3)");
}

}  // namespace convis
