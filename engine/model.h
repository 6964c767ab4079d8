#pragma once
// A Keras-style model that is a single chain of layers: what convis loads from a Keras file,
// builds in code (VGG16), runs forward up to any layer, differentiates, and saves back.
//
//   Model m = load_model("darknet_tiny_imagenet.h5");   // engine/model_io.h
//   m.build(224, 224);                                  // output shapes for this input size
//   Var y = m.forward(Var::constant(image));            // (N, 1000)
//   Var f = m.forward(x, m.layer_index("conv2d_5"));    // the seeds' get_submodel(name)
#include <cstdint>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "kernels/padding.h"

namespace convis {

enum class LayerType {
  input, conv2d, max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d,
  dense, flatten, dropout, batch_norm, activation, leaky_relu,
};

// Activations Keras layers carry (Conv2D/Dense `activation`, Activation, ReLU, Softmax layers).
enum class Activation { linear, relu, softmax, sigmoid, tanh };
const char* activation_name(Activation a);
Activation parse_activation(const std::string& name, const std::string& layer);  // throws naming the layer

struct Layer {
  std::string name;        // Keras' layer name, e.g. "block1_conv1"
  std::string class_name;  // Keras' class, e.g. "Conv2D", "ReLU" (kept for summary and saving)
  LayerType type = LayerType::input;

  // conv2d / pooling
  int filters = 0, kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1;
  Padding padding = Padding::valid;
  // dense
  int units = 0;
  bool use_bias = true;
  Activation activation = Activation::linear;  // applied after the layer's own op
  float alpha = 0.3f;      // LeakyReLU
  float epsilon = 1e-3f;   // BatchNormalization
  bool bn_center = true, bn_scale = true;
  float dropout_rate = 0.f;

  // Weights in Keras' order (Conv2D/Dense: kernel, bias; BatchNormalization: gamma, beta,
  // moving_mean, moving_variance) and their canonical names ("kernel:0", ...).
  std::vector<Var> weights;
  std::vector<std::string> weight_names;
  // Per-sample output shape for the size given to Model::build: (H, W, C) or (units,).
  Shape output_shape;

  bool has_spatial_output() const { return output_shape.rank() == 3; }
  int64_t param_count() const;
  int64_t non_trainable_count() const;  // BatchNormalization's moving statistics
  // The weight shapes this layer needs given its input shape (for checks and initialisation).
  std::vector<Shape> expected_weight_shapes(const Shape& input) const;
};

class Model {
 public:
  std::string name = "model";
  std::vector<Layer> layers;  // layers[0] is the InputLayer

  // Input size per sample; 0 for a free spatial size (the convolutional part of VGG16).
  int input_h = 0, input_w = 0, input_c = 3;

  // Computes every layer's output shape for an input of h x w (0 = the model's own size) and
  // checks that weights (when present) have the shapes those layers need. Throws naming the layer.
  void build(int h = 0, int w = 0);
  int built_h() const { return built_h_; }
  int built_w() const { return built_w_; }

  // Index of a layer by name; throws listing the valid names.
  int layer_index(const std::string& layer) const;
  std::vector<std::string> layer_names() const;

  // Runs x:(N,H,W,C) through layers 1..last (default: all). With pre_activation, the last layer's
  // activation (e.g. Conv2D's fused ReLU) is left out, as when maximising pre-ReLU outputs.
  Var forward(const Var& x, int last = -1, bool pre_activation = false) const;
  // Runs h, the output of layer first - 1, through layers first..last (default: all); first = last + 1
  // returns h. Grad-CAM uses it to differentiate the score with respect to a layer's output.
  Var forward_from(const Var& h, int first, int last = -1, bool pre_activation = false) const;

  // forward(x, last, pre_activation) restricted to channel channels[n] of image n, (N, OH, OW, 1),
  // computing only those channels at layer `last` (conv2d_channels: 1/OC of its work, forward and
  // backward). Activation maximisation's target layer. Needs can_select_channels(last, ...) and
  // frozen weights at that layer; throws otherwise.
  Var forward_channels(const Var& x, int last, const std::vector<int>& channels, bool pre_activation = false) const;
  // True when layer `last` is a Conv2D whose activation (if applied) is linear or ReLU.
  bool can_select_channels(int last, bool pre_activation = false) const;

  // Freezes or unfreezes every weight (frozen: backward does no weight-gradient work).
  void set_trainable(bool trainable) const;

  int64_t param_count() const;
  int64_t non_trainable_count() const;
  // Keras' model.summary() table for the built input size.
  std::string summary() const;
  // True when the last layer ends in a softmax (its outputs are probabilities, not logits).
  bool outputs_probabilities() const;

 private:
  int built_h_ = 0, built_w_ = 0;
};

// He-normal kernels (stddev sqrt(2 / fan_in)) and zero biases; BatchNormalization gets
// gamma 1, beta 0, mean 0, variance 1. Deterministic for a seed.
void init_he_normal(Model& m, uint32_t seed);
// Glorot-uniform kernels (limit sqrt(6 / (fan_in + fan_out))) and zero biases, as Keras' default.
void init_glorot_uniform(Model& m, uint32_t seed);

// The VGG16 of keras.applications, with Keras' layer names. Without the top the spatial input
// size is free (0 x 0 until build); with the top (flatten, fc1, fc2, predictions) it is 224x224.
Model vgg16(bool include_top);

// The CNN of the Keras tutorial, for 28x28x1 inputs (Fashion-MNIST), with the names Keras 2.11
// gives a fresh Sequential: conv2d(32) max_pooling2d conv2d_1(64) max_pooling2d_1 conv2d_2(64)
// flatten dense(64) dense_1(10, softmax); 93,322 parameters. Built, no weights (engine/model_tutorial.cpp).
Model keras_tutorial_cnn();

}  // namespace convis
