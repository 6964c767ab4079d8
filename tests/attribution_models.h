#pragma once
// Small models with the layers of the real ones (conv, batch norm, LeakyReLU, pooling, dense),
// random frozen weights and random biases: what the attribution and occlusion tests run on.
#include <cstdint>
#include <string>

#include "engine/model.h"
#include "engine/model_io.h"
#include "tests/util.h"
#include "vis/attribution.h"

namespace convis::test {

inline Layer input_layer() {
  Layer l;
  l.name = "input_1";
  l.class_name = "InputLayer";
  return l;
}

inline Layer conv_layer(const std::string& name, int filters, int k, Activation act) {
  Layer l;
  l.name = name;
  l.class_name = "Conv2D";
  l.type = LayerType::conv2d;
  l.filters = filters;
  l.kernel_h = l.kernel_w = k;
  l.padding = Padding::same;
  l.activation = act;
  return l;
}

inline Layer simple_layer(const std::string& name, const char* class_name, LayerType type) {
  Layer l;
  l.name = name;
  l.class_name = class_name;
  l.type = type;
  if (type == LayerType::max_pool2d) l.kernel_h = l.kernel_w = l.stride_h = l.stride_w = 2;
  if (type == LayerType::leaky_relu) l.alpha = 0.1f;
  return l;
}

inline Layer dense_layer(const std::string& name, int units, Activation act) {
  Layer l;
  l.name = name;
  l.class_name = "Dense";
  l.type = LayerType::dense;
  l.units = units;
  l.activation = act;
  return l;
}

// Input h x w x 3, random (seeded) frozen weights. Biases and BatchNormalization's statistics are
// random too: with zero biases a ReLU network is positively homogeneous, f(x) - f(0) = grad f(x) . x,
// and integrated gradients' completeness would hold trivially.
inline Model finish(Model m, int h, int w, uint32_t seed) {
  m.input_h = h;
  m.input_w = w;
  m.input_c = 3;
  m.build();
  init_he_normal(m, seed);
  uint32_t k = seed * 1000u;
  for (Layer& l : m.layers)
    for (size_t i = 0; i < l.weights.size(); ++i) {
      Tensor& t = l.weights[i].value();
      const std::string& n = l.weight_names[i];
      const bool positive = n == "gamma:0" || n == "moving_variance:0";
      if (n == "kernel:0") continue;
      t = random_tensor(t.shape(), ++k, positive ? 0.5f : -0.3f, positive ? 1.5f : 0.3f);
    }
  m.set_trainable(false);
  return m;
}

// conv-BN-LeakyReLU-pool-conv(relu)-GAP-dense: the darknet model's pieces, small.
inline Model tiny_darknet(uint32_t seed = 7) {
  Model m;
  m.name = "tiny_darknet";
  m.layers = {input_layer(),
              conv_layer("conv2d_1", 4, 3, Activation::linear),
              simple_layer("batch_normalization_1", "BatchNormalization", LayerType::batch_norm),
              simple_layer("leaky_re_lu_1", "LeakyReLU", LayerType::leaky_relu),
              simple_layer("max_pooling2d_1", "MaxPooling2D", LayerType::max_pool2d),
              conv_layer("conv2d_2", 6, 3, Activation::relu),
              simple_layer("global_average_pooling2d_1", "GlobalAveragePooling2D", LayerType::global_avg_pool2d),
              dense_layer("dense_1", 5, Activation::linear)};
  return finish(m, 8, 10, seed);
}

// conv(relu)-pool-flatten-dense(softmax): a VGG-like head whose gradient at the pool is the dense kernel.
inline Model tiny_vgg(uint32_t seed = 3) {
  Model m;
  m.name = "tiny_vgg";
  m.layers = {input_layer(), conv_layer("block1_conv1", 4, 3, Activation::relu),
              simple_layer("block1_pool", "MaxPooling2D", LayerType::max_pool2d),
              simple_layer("flatten", "Flatten", LayerType::flatten), dense_layer("predictions", 3, Activation::softmax)};
  return finish(m, 6, 8, seed);
}

inline float score(const Model& m, const Tensor& x, int cls) {
  NoGrad no_grad;
  return class_scores(m, Var::constant(x)).value()[cls];
}

}  // namespace convis::test
