#pragma once
// Models the CLI tests share: a tiny chain with every kind of layer convis reads, and VGG16 weight
// files with something missing or misshapen.
#include <functional>
#include <string>
#include <vector>

#include "engine/keras_h5.h"
#include "engine/model_config.h"
#include "engine/model_io.h"
#include "engine/model.h"
#include "tests/util.h"

namespace convis::test {

// A chain with every kind of layer convis reads (and a fixed 10x12 RGB input), as Keras would
// write its config. c1..act are smooth (tanh, sigmoid, average pooling), so finite differences
// through them need no care; lrelu, mp and d1 have kinks.
inline const char* kTinyConfig = R"({"class_name": "Sequential", "config": {"name": "tiny", "layers": [
  {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 10, 12, 3]}},
  {"class_name": "Conv2D", "config": {"name": "c1", "filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "tanh"}},
  {"class_name": "BatchNormalization", "config": {"name": "bn", "epsilon": 0.001}},
  {"class_name": "AveragePooling2D", "config": {"name": "ap", "pool_size": [2, 2]}},
  {"class_name": "Conv2D", "config": {"name": "c2", "filters": 5, "kernel_size": [3, 2], "strides": [1, 2], "activation": "sigmoid", "use_bias": false}},
  {"class_name": "Activation", "config": {"name": "act", "activation": "tanh"}},
  {"class_name": "LeakyReLU", "config": {"name": "lrelu", "alpha": 0.2}},
  {"class_name": "MaxPooling2D", "config": {"name": "mp", "pool_size": [2, 2], "strides": [1, 1], "padding": "same"}},
  {"class_name": "Flatten", "config": {"name": "flat"}},
  {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.25}},
  {"class_name": "Dense", "config": {"name": "d1", "units": 6, "activation": "relu"}},
  {"class_name": "ReLU", "config": {"name": "r"}},
  {"class_name": "Dense", "config": {"name": "out", "units": 3, "activation": "softmax"}}]}})";
inline const char* kTinyNames = "in, c1, bn, ap, c2, act, lrelu, mp, flat, drop, d1, r, out";

// The tiny model with Glorot kernels and random (not default) biases and batch-norm statistics,
// so that a weight read into the wrong slot changes the outputs.
inline Model tiny_model(uint32_t seed) {
  Model m = model_from_config(kTinyConfig);
  m.build();
  init_glorot_uniform(m, seed);
  for (Layer& l : m.layers)
    for (size_t i = 1; i < l.weights.size(); ++i)
      l.weights[i] = Var::constant(random_tensor(l.weights[i].shape(), seed + uint32_t(i) * 31, 0.2f, 1.2f));
  return m;
}

// The weights of a VGG16 without the top, every value 0, as keras.applications names them, with
// `edit` applied to the list before writing: for files with something missing or misshapen.
inline void write_vgg16_zeros(const std::string& path, const std::function<void(std::vector<LayerWeights>&)>& edit) {
  Model m = vgg16(false);
  m.build(32, 32);
  std::vector<LayerWeights> layers;
  Shape in{32, 32, 3};
  for (const Layer& l : m.layers) {
    LayerWeights lw{l.name, {}};
    const std::vector<Shape> shapes = l.expected_weight_shapes(in);
    for (size_t i = 0; i < shapes.size(); ++i)
      lw.weights.push_back({l.name + (i == 0 ? "_W_1:0" : "_b_1:0"), Tensor::zeros(shapes[i]), shapes[i]});
    layers.push_back(std::move(lw));
    in = l.output_shape;
  }
  edit(layers);
  write_keras_h5(path, KerasLayout::keras1, layers);
}

}  // namespace convis::test
