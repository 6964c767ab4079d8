// keras.applications.InceptionV3 (keras/applications/inception_v3.py): Szegedy et al.'s
// Inception-v3 for 299x299 inputs. Every convolution is conv2d_bn: Conv2D without a bias,
// BatchNormalization(scale=False) and Activation('relu'), all three unnamed, so Keras numbers
// them in creation order: conv2d, batch_normalization, activation, then _1 .. _93 (94 of each).
// The unnamed pools are max_pooling2d(_N) and average_pooling2d(_N); the concatenations are
// mixed0 .. mixed10, with mixed9_0 / mixed9_1 and the unnamed concatenate / concatenate_1
// inside mixed9 and mixed10.
//
//   stem: 3x3/2 valid (32), 3x3 valid (32), 3x3 (64), max 3x3/2, 1x1 valid (80), 3x3 valid (192),
//         max 3x3/2                           -> 35x35x192 at 299
//   mixed0..2  (35x35: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg-1x1)        -> 256, 288, 288
//   mixed3     (grid reduction to 17x17)                             -> 768
//   mixed4..7  (17x17: 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | avg-1x1)
//   mixed8     (grid reduction to 8x8)                               -> 1280
//   mixed9, 10 (8x8, expanded filter banks)                          -> 2048 (mixed10: the last
//                                                                       spatial layer)
//   [avg_pool predictions(1000, softmax)]
//
// 23,851,784 parameters with the top (34,432 moving statistics), 21,802,784 without; 313 / 311
// layers with the InputLayer.
#include "engine/applications.h"
#include "engine/applications_graph.h"

namespace convis {

namespace {

using Graph = ApplicationGraph;

// conv2d_bn(x, filters, rows, cols, padding, strides) with name=None; stride 1 and "same" unless given.
int conv_bn(Graph& g, int x, int filters, int rows, int cols, int stride = 1, Padding p = Padding::same) {
  x = g.conv(x, "", filters, rows, cols, stride, p, false);
  x = g.batch_norm(x, "", 1e-3f, false);  // Keras' default epsilon, center but no scale
  return g.activation(x, "", Activation::relu);
}

int avg_pool_3x3(Graph& g, int x) { return g.avg_pool(x, "", 3, 1, Padding::same); }

// mixed0..mixed2: the 35x35 block; pool_filters is 32 for mixed0, 64 after.
int block_35(Graph& g, int x, int pool_filters, const std::string& name) {
  const int b1 = conv_bn(g, x, 64, 1, 1);
  int b5 = conv_bn(g, x, 48, 1, 1);
  b5 = conv_bn(g, b5, 64, 5, 5);
  int b3 = conv_bn(g, x, 64, 1, 1);
  b3 = conv_bn(g, b3, 96, 3, 3);
  b3 = conv_bn(g, b3, 96, 3, 3);
  const int bp = conv_bn(g, avg_pool_3x3(g, x), pool_filters, 1, 1);
  return g.concatenate({b1, b5, b3, bp}, name);
}

// mixed4..mixed7: the 17x17 block with factorised 7x7 convolutions of width c.
int block_17(Graph& g, int x, int c, const std::string& name) {
  const int b1 = conv_bn(g, x, 192, 1, 1);
  int b7 = conv_bn(g, x, c, 1, 1);
  b7 = conv_bn(g, b7, c, 1, 7);
  b7 = conv_bn(g, b7, 192, 7, 1);
  int bd = conv_bn(g, x, c, 1, 1);
  bd = conv_bn(g, bd, c, 7, 1);
  bd = conv_bn(g, bd, c, 1, 7);
  bd = conv_bn(g, bd, c, 7, 1);
  bd = conv_bn(g, bd, 192, 1, 7);
  const int bp = conv_bn(g, avg_pool_3x3(g, x), 192, 1, 1);
  return g.concatenate({b1, b7, bd, bp}, name);
}

// mixed9, mixed10: the 8x8 block; i is 0 or 1.
int block_8(Graph& g, int x, int i) {
  const int b1 = conv_bn(g, x, 320, 1, 1);
  const int b3 = conv_bn(g, x, 384, 1, 1);
  const int b3_1 = conv_bn(g, b3, 384, 1, 3);
  const int b3_2 = conv_bn(g, b3, 384, 3, 1);
  const int b3_cat = g.concatenate({b3_1, b3_2}, "mixed9_" + std::to_string(i));
  int bd = conv_bn(g, x, 448, 1, 1);
  bd = conv_bn(g, bd, 384, 3, 3);
  const int bd_1 = conv_bn(g, bd, 384, 1, 3);
  const int bd_2 = conv_bn(g, bd, 384, 3, 1);
  const int bd_cat = g.concatenate({bd_1, bd_2}, "");  // concatenate, concatenate_1
  const int bp = conv_bn(g, avg_pool_3x3(g, x), 192, 1, 1);
  return g.concatenate({b1, b3_cat, bd_cat, bp}, "mixed" + std::to_string(9 + i));
}

}  // namespace

Model inception_v3(bool include_top) {
  Graph g("inception_v3", include_top ? 299 : 0);
  int x = conv_bn(g, Graph::kInput, 32, 3, 3, 2, Padding::valid);
  x = conv_bn(g, x, 32, 3, 3, 1, Padding::valid);
  x = conv_bn(g, x, 64, 3, 3);
  x = g.max_pool(x, "", 3, 2, Padding::valid);
  x = conv_bn(g, x, 80, 1, 1, 1, Padding::valid);
  x = conv_bn(g, x, 192, 3, 3, 1, Padding::valid);
  x = g.max_pool(x, "", 3, 2, Padding::valid);

  x = block_35(g, x, 32, "mixed0");
  x = block_35(g, x, 64, "mixed1");
  x = block_35(g, x, 64, "mixed2");

  {  // mixed3: 35x35 -> 17x17
    const int b3 = conv_bn(g, x, 384, 3, 3, 2, Padding::valid);
    int bd = conv_bn(g, x, 64, 1, 1);
    bd = conv_bn(g, bd, 96, 3, 3);
    bd = conv_bn(g, bd, 96, 3, 3, 2, Padding::valid);
    const int bp = g.max_pool(x, "", 3, 2, Padding::valid);
    x = g.concatenate({b3, bd, bp}, "mixed3");
  }

  x = block_17(g, x, 128, "mixed4");
  x = block_17(g, x, 160, "mixed5");
  x = block_17(g, x, 160, "mixed6");
  x = block_17(g, x, 192, "mixed7");

  {  // mixed8: 17x17 -> 8x8
    int b3 = conv_bn(g, x, 192, 1, 1);
    b3 = conv_bn(g, b3, 320, 3, 3, 2, Padding::valid);
    int b7 = conv_bn(g, x, 192, 1, 1);
    b7 = conv_bn(g, b7, 192, 1, 7);
    b7 = conv_bn(g, b7, 192, 7, 1);
    b7 = conv_bn(g, b7, 192, 3, 3, 2, Padding::valid);
    const int bp = g.max_pool(x, "", 3, 2, Padding::valid);
    x = g.concatenate({b3, b7, bp}, "mixed8");
  }

  x = block_8(g, x, 0);
  x = block_8(g, x, 1);
  if (include_top) {
    x = g.global_avg_pool(x, "avg_pool");
    x = g.dense(x, "predictions", 1000, Activation::softmax);
  }
  return g.finish(x);
}

}  // namespace convis
