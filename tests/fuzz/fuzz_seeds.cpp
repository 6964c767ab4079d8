// Writes the seed corpus of every harness: valid files the project makes itself, so the fuzzers
// start from the real formats (usage: fuzz_seeds OUT_DIR, making OUT_DIR/<harness>/...).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <zlib.h>

#include "engine/keras_h5.h"
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/model_io.h"
#include "engine/npy.h"
#include "vis/canvas.h"
#include "vis/png.h"

namespace fs = std::filesystem;
using namespace convis;

namespace {

void bytes(const fs::path& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }

const char* kConfig = R"({"class_name": "Sequential", "config": {"name": "seed", "layers": [
 {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 6, 6, 1]}},
 {"class_name": "Conv2D", "config": {"name": "c1", "filters": 2, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}},
 {"class_name": "BatchNormalization", "config": {"name": "bn", "epsilon": 0.001}},
 {"class_name": "MaxPooling2D", "config": {"name": "mp", "pool_size": [2, 2]}},
 {"class_name": "LeakyReLU", "config": {"name": "lr", "alpha": 0.1}},
 {"class_name": "Flatten", "config": {"name": "f"}},
 {"class_name": "Dense", "config": {"name": "d1", "units": 3, "activation": "softmax"}}]}})";

// A graph: a nested Functional model, a skip (Add), a concatenation, a depthwise conv, padding
// and upsampling, in Keras 2's inbound_nodes spelling.
const char* kGraph = R"({"class_name": "Functional", "config": {"name": "g", "layers": [
 {"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 6, 6, 2]}, "inbound_nodes": []},
 {"class_name": "Functional", "name": "base", "config": {"name": "base", "layers": [
   {"class_name": "InputLayer", "name": "bi", "config": {"name": "bi", "batch_input_shape": [null, 6, 6, 2]}, "inbound_nodes": []},
   {"class_name": "ZeroPadding2D", "name": "zp", "config": {"name": "zp", "padding": [[1, 0], [0, 1]]}, "inbound_nodes": [[["bi", 0, 0, {}]]]},
   {"class_name": "Cropping2D", "name": "cr", "config": {"name": "cr", "cropping": [[1, 0], [0, 1]]}, "inbound_nodes": [[["zp", 0, 0, {}]]]}],
   "input_layers": [["bi", 0, 0]], "output_layers": [["cr", 0, 0]]}, "inbound_nodes": [[["in", 0, 0, {}]]]},
 {"class_name": "ReLU", "name": "r6", "config": {"name": "r6", "max_value": 6.0}, "inbound_nodes": [[["base", 1, 0, {}]]]},
 {"class_name": "Add", "name": "add", "config": {"name": "add"}, "inbound_nodes": [[["r6", 0, 0, {}], ["in", 0, 0, {}]]]},
 {"class_name": "UpSampling2D", "name": "up", "config": {"name": "up", "size": [2, 2], "interpolation": "bilinear"}, "inbound_nodes": [[["add", 0, 0, {}]]]},
 {"class_name": "AveragePooling2D", "name": "ap", "config": {"name": "ap", "pool_size": [2, 2]}, "inbound_nodes": [[["up", 0, 0, {}]]]},
 {"class_name": "Concatenate", "name": "cat", "config": {"name": "cat", "axis": -1}, "inbound_nodes": [[["ap", 0, 0, {}], ["add", 0, 0, {}]]]},
 {"class_name": "Activation", "name": "sw", "config": {"name": "sw", "activation": "swish"}, "inbound_nodes": [[["cat", 0, 0, {}]]]}],
 "input_layers": [["in", 0, 0]], "output_layers": [["sw", 0, 0]]}})";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out(argv[1]);
  for (const char* h : {"npy", "idx", "image", "model_config", "h5"}) fs::create_directories(out / h);

  write_npy((out / "npy" / "a.npy").string(), Tensor::full(Shape{2, 3}, 0.5f));
  write_npy((out / "npy" / "scalar.npy").string(), Tensor::scalar(1.f));

  const std::string idx = std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x03\0\0\0\x02", 16) + std::string(12, '\x07');
  bytes(out / "idx" / "images.idx", idx);
  bytes(out / "idx" / "labels.idx", std::string("\0\0\x08\x01\0\0\0\x04\0\x01\x02\x03", 12));
  if (gzFile g = gzopen((out / "idx" / "images.idx.gz").c_str(), "wb")) {
    gzwrite(g, idx.data(), unsigned(idx.size()));
    gzclose(g);
  }

  Canvas c(5, 4, {10, 200, 30});
  write_png(c, (out / "image" / "small.png").string());

  bytes(out / "model_config" / "seq.json", kConfig);
  Model m = model_from_config(kConfig);
  m.build();
  init_glorot_uniform(m, 1);
  bytes(out / "model_config" / "roundtrip.json", model_to_config(m));
  bytes(out / "model_config" / "graph.json", kGraph);
  Model g = model_from_config(kGraph);
  g.build();
  bytes(out / "model_config" / "graph_roundtrip.json", model_to_config(g));
  for (KerasLayout l : {KerasLayout::model, KerasLayout::keras2, KerasLayout::keras3})
    save_model(m, (out / "h5" / (std::string(layout_name(l)) + ".h5")).string(), l);
  return 0;
}
