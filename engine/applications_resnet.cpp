// keras.applications.ResNet50 (keras/applications/resnet.py: ResNet with stack_fn of four
// stack1, preact False, use_bias True): He et al.'s ResNet v1.5-style bottleneck blocks, stride on
// the first 1x1 convolution of a stack.
//
//   conv1_pad (3) conv1_conv 7x7/2 conv1_bn conv1_relu pool1_pad (1) pool1_pool 3x3/2
//   conv2: 3 blocks of 64 (stride 1)  -> 56x56x256 at 224
//   conv3: 4 blocks of 128            -> 28x28x512
//   conv4: 6 blocks of 256            -> 14x14x1024
//   conv5: 3 blocks of 512            ->  7x7x2048 (conv5_block3_out: the last spatial layer)
//   [avg_pool predictions(1000, softmax)]
//
// 25,636,712 parameters with the top (53,120 of them BatchNormalization moving statistics),
// 23,587,712 without; 177 / 175 layers with the InputLayer.
#include "engine/applications.h"
#include "engine/applications_graph.h"

namespace convis {

namespace {

using Graph = ApplicationGraph;

constexpr float kEpsilon = 1.001e-5f;  // every BatchNormalization of resnet.py

// block1: conv_shortcut (the first block of a stack) projects x with a strided 1x1 conv to
// 4 * filters; otherwise x is added as it is. Keras calls Add([shortcut, x]).
int block(Graph& g, int x, int filters, int stride, bool conv_shortcut, const std::string& name) {
  int shortcut = x;
  if (conv_shortcut) {
    shortcut = g.conv(x, name + "_0_conv", 4 * filters, 1, 1, stride, Padding::valid, true);
    shortcut = g.batch_norm(shortcut, name + "_0_bn", kEpsilon);
  }
  int y = g.conv(x, name + "_1_conv", filters, 1, 1, stride, Padding::valid, true);
  y = g.batch_norm(y, name + "_1_bn", kEpsilon);
  y = g.activation(y, name + "_1_relu", Activation::relu);
  y = g.conv(y, name + "_2_conv", filters, 3, 3, 1, Padding::same, true);
  y = g.batch_norm(y, name + "_2_bn", kEpsilon);
  y = g.activation(y, name + "_2_relu", Activation::relu);
  y = g.conv(y, name + "_3_conv", 4 * filters, 1, 1, 1, Padding::valid, true);
  y = g.batch_norm(y, name + "_3_bn", kEpsilon);
  y = g.add({shortcut, y}, name + "_add");
  return g.activation(y, name + "_out", Activation::relu);
}

// stack1: `blocks` blocks named <name>_block1.., the first with the projection and the stride.
int stack(Graph& g, int x, int filters, int blocks, int stride, const std::string& name) {
  x = block(g, x, filters, stride, true, name + "_block1");
  for (int i = 2; i <= blocks; ++i) x = block(g, x, filters, 1, false, name + "_block" + std::to_string(i));
  return x;
}

}  // namespace

Model resnet50(bool include_top) {
  Graph g("resnet50", include_top ? 224 : 0);
  int x = g.zero_padding(Graph::kInput, "conv1_pad", 3, 3, 3, 3);
  x = g.conv(x, "conv1_conv", 64, 7, 7, 2, Padding::valid, true);
  x = g.batch_norm(x, "conv1_bn", kEpsilon);
  x = g.activation(x, "conv1_relu", Activation::relu);
  x = g.zero_padding(x, "pool1_pad", 1, 1, 1, 1);
  x = g.max_pool(x, "pool1_pool", 3, 2, Padding::valid);
  x = stack(g, x, 64, 3, 1, "conv2");
  x = stack(g, x, 128, 4, 2, "conv3");
  x = stack(g, x, 256, 6, 2, "conv4");
  x = stack(g, x, 512, 3, 2, "conv5");
  if (include_top) {
    x = g.global_avg_pool(x, "avg_pool");
    x = g.dense(x, "predictions", 1000, Activation::softmax);
  }
  return g.finish(x);
}

}  // namespace convis
