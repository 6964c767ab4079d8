// keras.applications.Xception (keras/applications/xception.py): Chollet's depthwise-separable
// network for 299x299 inputs. BatchNormalization with Keras' defaults (epsilon 1e-3); no
// convolution has a bias; every SeparableConv2D is 3x3 "same" with depth_multiplier 1.
//
//   entry:  block1_conv1 3x3/2 valid (32), block1_conv2 3x3 valid (64)
//           blocks 2..4: [relu] sep (f) bn relu sep (f) bn, max 3x3/2 same, + a residual
//           1x1/2 conv + bn of the block's input; f = 128, 256, 728   -> 19x19x728 at 299
//   middle: blocks 5..12: three relu-sep(728)-bn, + the block's input
//   exit:   block13 (728, 1024, max 3x3/2, residual 1024)           -> 10x10x1024
//           block14_sepconv1 (1536) bn act, block14_sepconv2 (2048) bn act  -> 10x10x2048
//           (block14_sepconv2_act: the last spatial layer)
//   [avg_pool predictions(1000, softmax)]
//
// The residual branch's layers and the merges are unnamed, so Keras numbers them: conv2d ..
// conv2d_3 and batch_normalization .. batch_normalization_3 (blocks 2, 3, 4, 13), add .. add_11.
// xception.py names block 2's first activation "block2_sepconv2_act" (block 2 starts without
// one); the names here are Keras' as they are. 22,910,480 parameters with the top (54,528
// moving statistics), 20,861,480 without; 134 / 132 layers with the InputLayer.
#include "engine/applications.h"
#include "engine/applications_graph.h"

namespace convis {

namespace {

using Graph = ApplicationGraph;

constexpr float kEpsilon = 1e-3f;

int sep_bn(Graph& g, int x, int filters, const std::string& name) {
  x = g.separable(x, name, filters, 3, Padding::same);
  return g.batch_norm(x, name + "_bn", kEpsilon);
}

// The strided residual of blocks 2, 3, 4 and 13: an unnamed 1x1/2 conv and its BatchNormalization.
int residual(Graph& g, int x, int filters) {
  x = g.conv(x, "", filters, 1, 1, 2, Padding::same, false);
  return g.batch_norm(x, "", kEpsilon);
}

// Blocks 3, 4 and 13: relu sep (f1) bn relu sep (f2) bn, max pool, + residual (f2) of x.
int reduction_block(Graph& g, int x, int f1, int f2, const std::string& block) {
  const int res = residual(g, x, f2);
  int y = g.activation(x, block + "_sepconv1_act", Activation::relu);
  y = sep_bn(g, y, f1, block + "_sepconv1");
  y = g.activation(y, block + "_sepconv2_act", Activation::relu);
  y = sep_bn(g, y, f2, block + "_sepconv2");
  y = g.max_pool(y, block + "_pool", 3, 2, Padding::same);
  return g.add({y, res}, "");
}

}  // namespace

Model xception(bool include_top) {
  Graph g("xception", include_top ? 299 : 0);
  int x = g.conv(Graph::kInput, "block1_conv1", 32, 3, 3, 2, Padding::valid, false);
  x = g.batch_norm(x, "block1_conv1_bn", kEpsilon);
  x = g.activation(x, "block1_conv1_act", Activation::relu);
  x = g.conv(x, "block1_conv2", 64, 3, 3, 1, Padding::valid, false);
  x = g.batch_norm(x, "block1_conv2_bn", kEpsilon);
  x = g.activation(x, "block1_conv2_act", Activation::relu);

  {  // block 2: no activation before its first separable conv
    const int res = residual(g, x, 128);
    int y = sep_bn(g, x, 128, "block2_sepconv1");
    y = g.activation(y, "block2_sepconv2_act", Activation::relu);
    y = sep_bn(g, y, 128, "block2_sepconv2");
    y = g.max_pool(y, "block2_pool", 3, 2, Padding::same);
    x = g.add({y, res}, "");
  }
  x = reduction_block(g, x, 256, 256, "block3");
  x = reduction_block(g, x, 728, 728, "block4");

  for (int i = 5; i <= 12; ++i) {
    const std::string block = "block" + std::to_string(i);
    int y = x;
    for (int k = 1; k <= 3; ++k) {
      const std::string sep = block + "_sepconv" + std::to_string(k);
      y = g.activation(y, sep + "_act", Activation::relu);
      y = sep_bn(g, y, 728, sep);
    }
    x = g.add({y, x}, "");
  }

  x = reduction_block(g, x, 728, 1024, "block13");
  x = sep_bn(g, x, 1536, "block14_sepconv1");
  x = g.activation(x, "block14_sepconv1_act", Activation::relu);
  x = sep_bn(g, x, 2048, "block14_sepconv2");
  x = g.activation(x, "block14_sepconv2_act", Activation::relu);
  if (include_top) {
    x = g.global_avg_pool(x, "avg_pool");
    x = g.dense(x, "predictions", 1000, Activation::softmax);
  }
  return g.finish(x);
}

}  // namespace convis
