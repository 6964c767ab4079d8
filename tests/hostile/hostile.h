#pragma once
// Builders of hostile inputs for tests/hostile/: every bad file is made here, in C++, from a
// valid one the project writes itself (no binary blobs in the repository).
#include <functional>
#include <string>
#include <vector>

#include <hdf5.h>

#include "engine/hdf5.h"
#include "engine/keras_h5.h"
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/model_io.h"
#include "tests/cli_util.h"

namespace convis::test {

// A Sequential model_config: the InputLayer (batch_input_shape `shape`, e.g. "[null, 8, 8, 1]")
// followed by `layers` (a comma-separated list of layer objects).
inline std::string seq_config(const std::string& shape, const std::string& layers) {
  return R"({"class_name": "Sequential", "config": {"name": "hostile", "layers": [)"
         R"({"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": )" +
         shape + "}}" + (layers.empty() ? "" : ", " + layers) + "]}}";
}

// A small valid model: 8x8x1 -> conv c1 (4 filters 3x3, bias) -> flatten -> dense d1 (3).
inline std::string small_config() {
  return seq_config("[null, 8, 8, 1]",
                    R"({"class_name": "Conv2D", "config": {"name": "c1", "filters": 4, "kernel_size": [3, 3]}},)"
                    R"({"class_name": "Flatten", "config": {"name": "f"}},)"
                    R"({"class_name": "Dense", "config": {"name": "d1", "units": 3}})");
}

// Writes a model.save() file with `config` and, when the config builds, random weights of the
// shapes it needs (else weightless layers named in the config are not needed: the loader stops
// at the config).
inline void write_model_file(const std::string& path, const std::string& config) {
  std::vector<LayerWeights> layers;
  try {
    Model m = model_from_config(config);
    m.build();
    init_glorot_uniform(m, 5);
    layers = model_weights(m, KerasLayout::model);
  } catch (const std::exception&) {
    layers = {LayerWeights{"in", {}}};
  }
  write_keras_h5(path, KerasLayout::model, layers, config);
}

// Opens `path` read-write and lets `edit` change it through the raw C API.
inline void edit_h5(const std::string& path, const std::function<void(hid_t file)>& edit) {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::quiet_errors();
  h5::Id f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  REQUIRE(f.valid());
  edit(f);
  h5::close_file(f);
}

// Replaces dataset `ds` with a chunked float32 dataset of shape `dims` whose chunks are never
// written: the file declares the data but stores none of it (a few hundred bytes of metadata).
inline void declare_unwritten(hid_t file, const std::string& ds, const std::vector<hsize_t>& dims) {
  REQUIRE(H5Ldelete(file, ds.c_str(), H5P_DEFAULT) >= 0);
  h5::Id space(H5Screate_simple(int(dims.size()), dims.data(), nullptr));
  h5::Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
  std::vector<hsize_t> chunk(dims.size(), 1);
  REQUIRE(H5Pset_chunk(dcpl, int(chunk.size()), chunk.data()) >= 0);
  h5::Id d(H5Dcreate2(file, ds.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  REQUIRE(d.valid());
}

}  // namespace convis::test
