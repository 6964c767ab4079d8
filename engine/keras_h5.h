#pragma once
// Keras weight files (HDF5), read and written in the four layouts people actually have:
//
//   keras1  keras.applications files (vgg16_weights_tf_dim_ordering_tf_kernels*.h5):
//             /                       attr layer_names = [b"input_1", b"block1_conv1", ...]
//             /block1_conv1           attr weight_names = [b"block1_conv1_W_1:0", b"block1_conv1_b_1:0"]
//             /block1_conv1/block1_conv1_W_1:0   (3, 3, 3, 64)  HWIO kernel
//   keras2  Keras 2 save_weights(): the same, with the weights one group deeper:
//             /conv2d_1               attr weight_names = [b"conv2d_1/kernel:0", b"conv2d_1/bias:0"]
//             /conv2d_1/conv2d_1/kernel:0
//   model   Keras 2 model.save(): root attrs model_config (JSON), keras_version, backend, and a
//           keras2 layout under the group /model_weights (which holds layer_names).
//   keras3  Keras 3 .weights.h5: /layers/<layer>/vars/0, vars/1, ... (no name attributes; layer
//           order is the group's order, weight order the numeric var name).
//
// Weight order inside a layer is the file's weight_names order (Conv2D/Dense: kernel, bias;
// BatchNormalization: gamma, beta, moving_mean, moving_variance). Name lists longer than HDF5's
// 64 KiB object-header limit are split by Keras into layer_names0, layer_names1, ...; both
// directions handle that. Datasets may be float16/32/64 on disk; they are read as float32.
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace convis {

enum class KerasLayout { keras1, keras2, model, keras3 };

// name: as listed in the file's weight_names ("block1_conv1_W_1:0", "conv2d_1/kernel:0"), or
// "vars/<i>" for keras3.
struct NamedTensor {
  std::string name;
  Tensor value;
  Shape declared;  // the dataset's shape as the file declares it (read_keras_h5 sets it first)
};

struct LayerWeights {
  std::string layer;
  std::vector<NamedTensor> weights;  // in weight_names order; empty for weightless layers
};

struct KerasFile {
  std::string path;
  KerasLayout layout = KerasLayout::keras2;
  std::string model_config;             // JSON text; empty when the file has none
  std::string keras_version, backend;   // empty when absent
  std::vector<LayerWeights> layers;     // layer_names order (keras3: the group order)

  const LayerWeights* find(const std::string& layer) const;  // nullptr if absent
};

// Opens `path`, detects its layout and reads every weight. Throws std::runtime_error naming the
// file and the problem, e.g.
//   weights file 'x.h5' does not exist            weights file 'x.h5' is not an HDF5 file
//   weights file 'x.h5': file is truncated or damaged (truncated file: eof = ...)
//   weights file 'x.h5': cannot open dataset 'block1_conv1/block1_conv1_W_1:0': ...
//
// Hostile files: every count and size from the file is checked before it is used, a dataset's
// declared size must fit in what the file stores (read_tensor in hdf5.h), and the whole read
// runs first in a child process under a watchdog (isolate.h), since libhdf5 itself can crash or
// hang on a damaged file: then the error says so, naming the file.
//
// `check`, when given, sees the file's index (names, declared shapes, model_config; no values)
// before any data is read, and throws to refuse it: a model that needs other shapes pays nothing
// for a file declaring gigabytes. It runs in the child and again here (so it must be a pure
// function of the index, apart from what it captures).
using KerasCheck = std::function<void(const KerasFile& index)>;
KerasFile read_keras_h5(const std::string& path, const KerasCheck& check = {});

// Writes `layers` (float32) in `layout`, atomically: a temporary file next to `path` is renamed
// onto it only once complete; on failure it is removed, `path` is left as it was, and the error
// (naming the file) is thrown. Each weight is written under the name the caller gives:
//   keras1        <layer>/<name>
//   keras2/model  <layer>/<layer>/<name>, weight_names "<layer>/<name>" (a name that already
//                 starts with "<layer>/", as read_keras_h5 returns them, is not prefixed again)
//   keras3        layers/<layer>/vars/<i> (names are ignored; order is kept)
// keras2/model write backend "tensorflow" and keras_version "2.15.0"; model also writes
// model_config at the root when it is not empty.
void write_keras_h5(const std::string& path, KerasLayout layout, const std::vector<LayerWeights>& layers,
                    const std::string& model_config = "");

const char* layout_name(KerasLayout layout);  // "keras1", "keras2", "model", "keras3"
KerasLayout parse_layout(const std::string& name);  // throws std::invalid_argument listing the names

}  // namespace convis
