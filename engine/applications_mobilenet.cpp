// keras.applications.MobileNetV2 with alpha 1.0 (keras/applications/mobilenet_v2.py): Sandler
// et al.'s inverted residual blocks, every activation ReLU(6.), no convolution with a bias.
//
//   Conv1 3x3/2 same (32) bn_Conv1 Conv1_relu
//   expanded_conv_*: block 0, expansion 1 (no expand layers), 16 filters
//   block_1 .. block_16: expand 1x1 (6 x in) _BN _relu, [_pad] depthwise 3x3 _BN _relu,
//                        project 1x1 _BN, [_add when in == out and stride 1]
//   Conv_1 1x1 (1280) Conv_1_bn out_relu     -> 7x7x1280 at 224 (the last spatial layer)
//   [global_average_pooling2d predictions(1000, softmax)]
//
// A stride-2 block pads with imagenet_utils.correct_pad(x, 3) and convolves "valid": for an
// even side, or an unknown one as in Keras' free-size model, that is ((0, 1), (0, 1)), one row
// below and one column right, which is also what the 224 model has at every stride-2 block
// (112, 56, 28, 14). 3,538,984 parameters with the top (34,112 moving statistics), 2,257,984
// without; 156 / 154 layers with the InputLayer.
#include "engine/applications.h"
#include "engine/applications_graph.h"

namespace convis {

namespace {

using Graph = ApplicationGraph;

constexpr float kEpsilon = 1e-3f;  // BatchNormalization(epsilon=1e-3, momentum=0.999)

struct BlockSpec {
  int filters, stride, expansion;
};
// _inverted_res_block's arguments for block_id 0..16. With alpha 1.0 every filter count is
// already a multiple of 8, so _make_divisible leaves them as they are.
constexpr BlockSpec kBlocks[17] = {
    {16, 1, 1},  {24, 2, 6},  {24, 1, 6},  {32, 2, 6},  {32, 1, 6},  {32, 1, 6},  {64, 2, 6},
    {64, 1, 6},  {64, 1, 6},  {64, 1, 6},  {96, 1, 6},  {96, 1, 6},  {96, 1, 6},  {160, 2, 6},
    {160, 1, 6}, {160, 1, 6}, {320, 1, 6},
};

int inverted_res_block(Graph& g, int in, const BlockSpec& b, int block_id) {
  const int in_channels = g.channels(in);
  std::string prefix = "block_" + std::to_string(block_id) + "_";
  int x = in;
  if (block_id) {
    x = g.conv(x, prefix + "expand", b.expansion * in_channels, 1, 1, 1, Padding::same, false);
    x = g.batch_norm(x, prefix + "expand_BN", kEpsilon);
    x = g.relu6(x, prefix + "expand_relu");
  } else {
    prefix = "expanded_conv_";
  }
  if (b.stride == 2) x = g.zero_padding(x, prefix + "pad", 0, 1, 0, 1);
  x = g.depthwise(x, prefix + "depthwise", 3, b.stride, b.stride == 1 ? Padding::same : Padding::valid);
  x = g.batch_norm(x, prefix + "depthwise_BN", kEpsilon);
  x = g.relu6(x, prefix + "depthwise_relu");
  x = g.conv(x, prefix + "project", b.filters, 1, 1, 1, Padding::same, false);
  x = g.batch_norm(x, prefix + "project_BN", kEpsilon);
  if (in_channels == b.filters && b.stride == 1) return g.add({in, x}, prefix + "add");
  return x;
}

}  // namespace

Model mobilenet_v2(bool include_top) {
  // Keras names the model after alpha and the row count, 224 also when the size is free.
  Graph g("mobilenetv2_1.00_224", include_top ? 224 : 0);
  int x = g.conv(Graph::kInput, "Conv1", 32, 3, 3, 2, Padding::same, false);
  x = g.batch_norm(x, "bn_Conv1", kEpsilon);
  x = g.relu6(x, "Conv1_relu");
  for (int i = 0; i < 17; ++i) x = inverted_res_block(g, x, kBlocks[i], i);
  x = g.conv(x, "Conv_1", 1280, 1, 1, 1, Padding::valid, false);
  x = g.batch_norm(x, "Conv_1_bn", kEpsilon);
  x = g.relu6(x, "out_relu");
  if (include_top) {
    x = g.global_avg_pool(x, "");  // unnamed in mobilenet_v2.py: global_average_pooling2d
    x = g.dense(x, "predictions", 1000, Activation::softmax);
  }
  return g.finish(x);
}

}  // namespace convis
