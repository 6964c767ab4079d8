// keras.applications.DenseNet121 (keras/applications/densenet.py, blocks [6, 12, 24, 16]): Huang
// et al.'s dense blocks, each conv_block appending 32 channels (the growth rate) to its input by
// Concatenate([x, new]); a transition halves the channels with a 1x1 conv and the side with a
// 2x2 average pool. BatchNormalization epsilon 1.001e-5 throughout, no convolution with a bias.
//
//   zero_padding2d (3) conv1/conv 7x7/2 conv1/bn conv1/relu zero_padding2d_1 (1) pool1 3x3/2
//   conv2_block1..6   -> 256 channels,  pool2_bn pool2_relu pool2_conv (128) pool2_pool
//   conv3_block1..12  -> 512,           pool3_* (256)
//   conv4_block1..24  -> 1024,          pool4_* (512)
//   conv5_block1..16  -> 1024, bn relu  -> 7x7x1024 at 224 (relu: the last spatial layer)
//   [avg_pool predictions(1000, softmax)]
//
// 8,062,504 parameters with the top (83,648 moving statistics), 7,037,504 without; 429 / 427
// layers with the InputLayer.
#include "engine/applications.h"
#include "engine/applications_graph.h"

namespace convis {

namespace {

using Graph = ApplicationGraph;

constexpr float kEpsilon = 1.001e-5f;
constexpr int kGrowth = 32;

// conv_block: BN-ReLU-1x1 conv (4 x growth) - BN-ReLU-3x3 conv (growth), concatenated to x.
int conv_block(Graph& g, int x, const std::string& name) {
  int y = g.batch_norm(x, name + "_0_bn", kEpsilon);
  y = g.activation(y, name + "_0_relu", Activation::relu);
  y = g.conv(y, name + "_1_conv", 4 * kGrowth, 1, 1, 1, Padding::valid, false);
  y = g.batch_norm(y, name + "_1_bn", kEpsilon);
  y = g.activation(y, name + "_1_relu", Activation::relu);
  y = g.conv(y, name + "_2_conv", kGrowth, 3, 3, 1, Padding::same, false);
  return g.concatenate({x, y}, name + "_concat");
}

int dense_block(Graph& g, int x, int blocks, const std::string& name) {
  for (int i = 1; i <= blocks; ++i) x = conv_block(g, x, name + "_block" + std::to_string(i));
  return x;
}

// transition_block with reduction 0.5: int(channels * 0.5) filters.
int transition_block(Graph& g, int x, const std::string& name) {
  x = g.batch_norm(x, name + "_bn", kEpsilon);
  x = g.activation(x, name + "_relu", Activation::relu);
  x = g.conv(x, name + "_conv", g.channels(x) / 2, 1, 1, 1, Padding::valid, false);
  return g.avg_pool(x, name + "_pool", 2, 2, Padding::valid);
}

}  // namespace

Model densenet121(bool include_top) {
  Graph g("densenet121", include_top ? 224 : 0);
  int x = g.zero_padding(Graph::kInput, "", 3, 3, 3, 3);  // unnamed in densenet.py: zero_padding2d
  x = g.conv(x, "conv1/conv", 64, 7, 7, 2, Padding::valid, false);
  x = g.batch_norm(x, "conv1/bn", kEpsilon);
  x = g.activation(x, "conv1/relu", Activation::relu);
  x = g.zero_padding(x, "", 1, 1, 1, 1);  // zero_padding2d_1
  x = g.max_pool(x, "pool1", 3, 2, Padding::valid);
  const int blocks[4] = {6, 12, 24, 16};
  for (int s = 0; s < 4; ++s) {
    x = dense_block(g, x, blocks[s], "conv" + std::to_string(s + 2));
    if (s < 3) x = transition_block(g, x, "pool" + std::to_string(s + 2));
  }
  x = g.batch_norm(x, "bn", kEpsilon);
  x = g.activation(x, "relu", Activation::relu);
  if (include_top) {
    x = g.global_avg_pool(x, "avg_pool");
    x = g.dense(x, "predictions", 1000, Activation::softmax);
  }
  return g.finish(x);
}

}  // namespace convis
