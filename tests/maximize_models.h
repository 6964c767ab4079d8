#pragma once
// The small models the activation-maximisation tests share (test_maximize*.cpp).
#include <cstdint>
#include <string>

#include "engine/model.h"
#include "tests/util.h"

namespace convis::test {

inline Layer conv_layer(const std::string& name, int filters, Activation act) {
  Layer l;
  l.name = name;
  l.class_name = "Conv2D";
  l.type = LayerType::conv2d;
  l.filters = filters;
  l.kernel_h = l.kernel_w = 3;
  l.padding = Padding::same;
  l.activation = act;
  return l;
}


// input 12x12x3 -> conv1 (4, relu) -> pool -> conv2 (5, relu) -> flatten -> predictions (6, softmax).
// Small random biases so that no ReLU starts dead everywhere.
inline Model tiny_model() {
  Model m;
  m.name = "tiny";
  m.input_h = m.input_w = 12;
  m.input_c = 3;
  Layer in;
  in.name = "input_1";
  in.class_name = "InputLayer";
  m.layers.push_back(in);
  m.layers.push_back(conv_layer("conv1", 4, Activation::relu));
  Layer pool;
  pool.name = "pool1";
  pool.class_name = "MaxPooling2D";
  pool.type = LayerType::max_pool2d;
  pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
  m.layers.push_back(pool);
  m.layers.push_back(conv_layer("conv2", 5, Activation::relu));
  Layer flat;
  flat.name = "flatten";
  flat.class_name = "Flatten";
  flat.type = LayerType::flatten;
  m.layers.push_back(flat);
  Layer d;
  d.name = "predictions";
  d.class_name = "Dense";
  d.type = LayerType::dense;
  d.units = 6;
  d.activation = Activation::softmax;
  m.layers.push_back(d);
  m.build();
  init_he_normal(m, 7);
  uint32_t seed = 11;
  for (Layer& l : m.layers)
    if (l.weights.size() > 1) l.weights[1].value() = random_tensor(l.weights[1].shape(), seed++, -0.1f, 0.1f);
  return m;
}

}  // namespace convis::test
