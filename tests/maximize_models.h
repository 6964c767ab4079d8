#pragma once
// The small model the activation-maximisation tests share (test_maximize*.cpp), built from the
// layer builders of tests/attribution_models.h.
#include <cstdint>
#include <string>

#include "engine/model.h"
#include "tests/attribution_models.h"
#include "tests/util.h"

namespace convis::test {

// input 12x12x3 -> conv1 (4, relu) -> pool -> conv2 (5, relu) -> flatten -> predictions (6, softmax).
// Small random biases so that no ReLU starts dead everywhere.
inline Model tiny_model() {
  Model m;
  m.name = "tiny";
  m.input_h = m.input_w = 12;
  m.input_c = 3;
  m.layers = {input_layer(), conv_layer("conv1", 4, 3, Activation::relu),
              simple_layer("pool1", "MaxPooling2D", LayerType::max_pool2d), conv_layer("conv2", 5, 3, Activation::relu),
              simple_layer("flatten", "Flatten", LayerType::flatten), dense_layer("predictions", 6, Activation::softmax)};
  m.build();
  init_he_normal(m, 7);
  uint32_t seed = 11;
  for (Layer& l : m.layers)
    if (l.weights.size() > 1) l.weights[1].value() = random_tensor(l.weights[1].shape(), seed++, -0.1f, 0.1f);
  return m;
}

}  // namespace convis::test
