#pragma once
// A Keras-style model: a graph of layers with one input and one output, what convis loads from a
// Keras file (Sequential chains and Functional graphs with skips and branches), builds in code
// (VGG16, ResNet50, ...), runs forward up to any layer, differentiates, and saves back.
//
//   Model m = load_model("darknet_tiny_imagenet.h5");   // engine/model_io.h
//   m.build(224, 224);                                  // output shapes for this input size
//   Var y = m.forward(Var::constant(image));            // (N, 1000)
//   Var f = m.forward(x, m.layer_index("conv2d_5"));    // the seeds' get_submodel(name)
//
// The graph: layers are stored in a topological order (every layer after the layers it reads),
// layers[0] is the InputLayer and layers.back() the output. Layer::inputs names the layers a
// layer reads; empty means the previous one, so a chain needs no bookkeeping. forward(x, L)
// computes only L's ancestors and frees each activation once its last reader has run.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "kernels/padding.h"

namespace convis {

enum class LayerType {
  input, conv2d, max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d,
  dense, flatten, dropout, batch_norm, activation, leaky_relu,
  // graph models (keras.applications and what users build from them)
  add, subtract, multiply, average, maximum, concatenate,  // merge layers: several inputs
  depthwise_conv2d, separable_conv2d, zero_padding2d, cropping2d, upsampling2d,
  relu,  // Keras' ReLU layer with max_value / threshold / negative_slope (ReLU6)
  reshape, permute, rescaling, normalization,
};

// Activations Keras layers carry (Conv2D/Dense `activation`, Activation, Softmax layers).
enum class Activation {
  linear, relu, softmax, sigmoid, tanh,
  relu6, swish, hard_sigmoid, hard_swish, elu, selu, gelu, softplus,
};
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

  // Graph: indices (into Model::layers, all smaller than this layer's) of the layers whose outputs
  // this layer reads, in Keras' order. Empty: the previous layer.
  std::vector<int> inputs;

  // Parameters of the graph-model layers (the struct stays flat: each field says whose it is).
  int axis = -1;              // Concatenate, BatchNormalization: the axis of (N, ...), -1 = last
  int depth_multiplier = 1;   // DepthwiseConv2D, SeparableConv2D
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // ZeroPadding2D, Cropping2D
  int size_h = 2, size_w = 2;  // UpSampling2D
  bool bilinear = false;       // UpSampling2D interpolation (else nearest)
  bool keepdims = false;       // GlobalAveragePooling2D / GlobalMaxPooling2D
  // ReLU layer: f(x) = min(x, max_value) for x >= threshold, negative_slope * (x - threshold) below.
  float max_value = std::numeric_limits<float>::infinity(), threshold = 0.f, negative_slope = 0.f;
  bool gelu_approximate = false;  // Activation('gelu'): tanh approximation (Keras 3's default is exact)
  std::vector<int64_t> target_shape;  // Reshape (per sample; one -1 allowed), Permute (dims, 1-based)
  float scale = 1.f, offset = 0.f;    // Rescaling: x * scale + offset

  // Weights in Keras' order (Conv2D/Dense: kernel, bias; BatchNormalization: gamma, beta,
  // moving_mean, moving_variance) and their canonical names ("kernel:0", ...).
  std::vector<Var> weights;
  std::vector<std::string> weight_names;
  // Per-sample output shape for the size given to Model::build: (H, W, C) or (units,).
  Shape output_shape;

  bool has_spatial_output() const { return output_shape.rank() == 3; }
  int64_t param_count() const;
  int64_t non_trainable_count() const;  // BatchNormalization's moving statistics
  // The weight shapes this layer needs given its (first) input shape (for checks and initialisation).
  std::vector<Shape> expected_weight_shapes(const Shape& input) const;
};

// Called by Model::forward with each layer's output as soon as it is computed; it may read it or
// replace it (Grad-CAM makes its layer's output a leaf this way).
using LayerHook = std::function<void(int layer, Var& output)>;

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

  // The layers layer i reads (Layer::inputs, or {i - 1}; none for the input).
  std::vector<int> inputs_of(int i) const;
  // The built per-sample shape of layer i's (first) input; the input's own shape for i = 0.
  const Shape& input_shape(int i) const;
  // True when every layer reads only the one before it (a Sequential model).
  bool is_chain() const;

  // Runs x:(N,H,W,C) through the ancestors of layer `last` (default: the output) and returns its
  // output. With pre_activation, the last layer's activation (e.g. Conv2D's fused ReLU) is left
  // out, as when maximising pre-ReLU outputs. hook, when given, sees every computed output.
  Var forward(const Var& x, int last = -1, bool pre_activation = false, const LayerHook& hook = {}) const;
  // Runs h, the output of layer first - 1, on to layer last (default: the output); first = last + 1
  // returns h. Needs layer first - 1 to be a cut: every path from the input to `last` through the
  // layers first..last passes through it (any layer of a chain; a block's output in ResNet).
  // Throws naming the layer that reads around it otherwise.
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
  Var run(int cut, const Var& h, int last, bool pre_activation, const LayerHook& hook) const;
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
