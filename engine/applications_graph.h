#pragma once
// How the keras.applications builders (engine/applications_*.cpp) write a graph: like Keras'
// functional API, one call per layer on the layers it reads, in the order the Python source
// creates them, so that unnamed layers get Keras' automatic names (conv2d, conv2d_1, ...):
//
//   ApplicationGraph g("resnet50", 224);
//   int x = g.zero_padding(ApplicationGraph::kInput, "conv1_pad", 3, 3, 3, 3);
//   x = g.conv(x, "conv1_conv", 64, 7, 7, 2, Padding::valid, true);
//   ...
//   Model m = g.finish(x);   // layers in the order Keras' get_config lists them
//
// An empty name asks for Keras' automatic one. finish() then lays the layers out as Keras'
// Functional does (keras/engine/functional.py, _map_graph_network): by depth, the longest path
// from a layer to the output, deepest first, ties broken by the order of a depth-first walk from
// the output through each layer's inputs in call order. That is why ResNet lists conv2_block1_0_conv
// (the shortcut) after conv2_block1_2_relu, beside conv2_block1_3_conv: both are two layers above
// conv2_block1_add.
#include <map>
#include <string>
#include <vector>

#include "engine/model.h"

namespace convis {

class ApplicationGraph {
 public:
  static constexpr int kInput = 0;  // the InputLayer, "input_1" as in a fresh Keras session

  // input_size: the side of the square input with the top, 0 for a free size.
  ApplicationGraph(std::string model_name, int input_size);

  // Each adds one layer reading `in` (or `ins`, in Keras' call order) and returns its handle.
  int conv(int in, const std::string& name, int filters, int kh, int kw, int stride, Padding p, bool use_bias);
  int batch_norm(int in, const std::string& name, float epsilon, bool scale = true);
  int activation(int in, const std::string& name, Activation a);
  int relu6(int in, const std::string& name);  // Keras' ReLU(6.)
  int zero_padding(int in, const std::string& name, int top, int bottom, int left, int right);
  int max_pool(int in, const std::string& name, int k, int stride, Padding p);
  int avg_pool(int in, const std::string& name, int k, int stride, Padding p);
  int global_avg_pool(int in, const std::string& name);
  int dense(int in, const std::string& name, int units, Activation a);
  int depthwise(int in, const std::string& name, int k, int stride, Padding p);  // depth_multiplier 1, no bias
  int separable(int in, const std::string& name, int filters, int k, Padding p);  // depth_multiplier 1, no bias
  int add(const std::vector<int>& ins, const std::string& name);
  int concatenate(const std::vector<int>& ins, const std::string& name);  // along the channels

  // Channels of a layer's output (what Keras' int_shape(x)[-1] gives the Python source).
  int channels(int x) const { return channels_.at(size_t(x)); }

  // The Model, not built and without weights, ending at `output`.
  Model finish(int output) const;

 private:
  int push(Layer l, const std::string& snake_class, std::vector<int> ins, int out_channels);

  Model model_;                          // layers in creation order
  std::vector<int> channels_;            // per layer
  std::map<std::string, int> name_uses_;  // Keras' per-class counters of automatic names
};

}  // namespace convis
