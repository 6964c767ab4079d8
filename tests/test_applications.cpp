// The keras.applications builders (engine/applications.h) against what Keras prints for the same
// models: parameter totals and their trainable / non-trainable split (model.summary()), the
// number of weight tensors (len(model.weights), len(model.trainable_weights)), layer counts, and
// the names, classes, shapes and order of layers where Keras' layout is not the obvious one.
#include <set>
#include <string>
#include <vector>

#include "engine/applications.h"
#include "tests/util.h"
#include "vis/preprocess.h"

using namespace convis;
using test::contains;
using test::error_of;

namespace {

struct Expected {
  const char* arch;
  size_t layers, layers_notop;          // len(model.layers), the InputLayer included
  int64_t total, non_trainable, total_notop;
  size_t weights, trainable_weights;    // tensors with the top
};

// Totals and splits as Keras 2 prints them for each model with weights=None or "imagenet" (the
// BatchNormalization moving mean and variance are the non-trainable part; dropping the top
// removes only avg_pool and predictions, whose Dense has (C + 1) x 1000 parameters).
constexpr Expected kExpected[] = {
    {"resnet50", 177, 175, 25636712, 53120, 23587712, 320, 214},
    {"mobilenet_v2", 156, 154, 3538984, 34112, 2257984, 262, 158},
    {"densenet121", 429, 427, 8062504, 83648, 7037504, 606, 364},
    {"inception_v3", 313, 311, 23851784, 34432, 21802784, 378, 190},
    {"xception", 134, 132, 22910480, 54528, 20861480, 236, 156},
};

const Layer& layer(const Model& m, const std::string& name) { return m.layers[size_t(m.layer_index(name))]; }

std::vector<std::string> names(const Model& m, size_t from, size_t count) {
  std::vector<std::string> n;
  for (size_t i = from; i < from + count && i < m.layers.size(); ++i) n.push_back(m.layers[i].name);
  return n;
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

}  // namespace

TEST_CASE("applications: Keras' parameter totals / trainable split / weight tensors / layer counts") {
  for (const Expected& e : kExpected) {
    CAPTURE(e.arch);
    Model m = application(e.arch, true);
    m.build();
    init_he_normal(m, 1);
    CHECK(m.layers.size() == e.layers);
    CHECK(m.param_count() == e.total);
    CHECK(m.non_trainable_count() == e.non_trainable);
    size_t weights = 0, trainable = 0;
    for (const Layer& l : m.layers)
      for (const Var& w : l.weights) {
        ++weights;
        trainable += w.requires_grad();
      }
    CHECK(weights == e.weights);
    CHECK(trainable == e.trainable_weights);
    CHECK(m.outputs_probabilities());
    CHECK(m.layers.back().name == "predictions");
    CHECK(m.layers.back().output_shape == Shape{1000});
    const std::string s = m.summary();
    CHECK(contains(s, "Total params: " + with_commas(e.total) + "\nTrainable params: " +
                          with_commas(e.total - e.non_trainable) + "\nNon-trainable params: " +
                          with_commas(e.non_trainable) + "\n"));

    const ApplicationInfo& info = application_info(e.arch);
    Model notop = application(e.arch, false);
    CHECK(notop.input_h == 0);
    notop.build(info.input_size, info.input_size);
    init_he_normal(notop, 2);
    CHECK(notop.layers.size() == e.layers_notop);
    CHECK(notop.param_count() == e.total_notop);
    CHECK(notop.non_trainable_count() == e.non_trainable);
    CHECK(notop.layers.back().name == info.last_spatial);  // Grad-CAM's layer ends the model
    CHECK(notop.layers.back().output_shape == m.layers[size_t(m.layer_index(info.last_spatial))].output_shape);
    // Names are unique, every layer comes after the layers it reads, and the first layer is the input.
    std::set<std::string> seen;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      CHECK(seen.insert(m.layers[i].name).second);
      for (int j : m.inputs_of(int(i))) CHECK(j < int(i));
    }
    CHECK(m.layers[0].name == "input_1");
    CHECK(m.layers[0].class_name == "InputLayer");
  }
}

TEST_CASE("resnet50: Keras' layer order puts the shortcut beside the block's last conv") {
  Model m = resnet50(true);
  m.build();
  CHECK(m.name == "resnet50");
  CHECK(names(m, 0, 7) == std::vector<std::string>{"input_1", "conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu",
                                                    "pool1_pad", "pool1_pool"});
  // As Keras' summary lists conv2_block1: the shortcut conv and BN at the depth of _3_conv / _3_bn.
  CHECK(names(m, 7, 12) == std::vector<std::string>{
                               "conv2_block1_1_conv", "conv2_block1_1_bn", "conv2_block1_1_relu", "conv2_block1_2_conv",
                               "conv2_block1_2_bn", "conv2_block1_2_relu", "conv2_block1_0_conv", "conv2_block1_3_conv",
                               "conv2_block1_0_bn", "conv2_block1_3_bn", "conv2_block1_add", "conv2_block1_out"});
  CHECK(m.layers[19].name == "conv2_block2_1_conv");
  CHECK(layer(m, "conv1_pad").output_shape == Shape{230, 230, 3});
  CHECK(layer(m, "conv1_conv").output_shape == Shape{112, 112, 64});
  CHECK(layer(m, "pool1_pool").output_shape == Shape{56, 56, 64});
  CHECK(layer(m, "conv3_block1_0_conv").stride_h == 2);
  CHECK(layer(m, "conv3_block1_1_conv").stride_h == 2);
  CHECK(layer(m, "conv4_block6_out").output_shape == Shape{14, 14, 1024});
  CHECK(layer(m, "conv5_block3_out").output_shape == Shape{7, 7, 2048});
  CHECK(layer(m, "conv5_block3_out").class_name == "Activation");
  const Layer& bn = layer(m, "conv1_bn");
  CHECK(bn.class_name == "BatchNormalization");
  CHECK(bn.epsilon == doctest::Approx(1.001e-5));
  const Layer& add = layer(m, "conv2_block1_add");
  CHECK(add.class_name == "Add");
  REQUIRE(add.inputs.size() == 2);  // Add([shortcut, x])
  CHECK(m.layers[size_t(add.inputs[0])].name == "conv2_block1_0_bn");
  CHECK(m.layers[size_t(add.inputs[1])].name == "conv2_block1_3_bn");
  CHECK(m.layers[size_t(layer(m, "conv2_block2_add").inputs[0])].name == "conv2_block1_out");
  CHECK(layer(m, "avg_pool").class_name == "GlobalAveragePooling2D");
  // Free size without the top: 7x7 at 224 also here, 3x3 at 96.
  Model notop = resnet50(false);
  notop.build(96, 96);
  CHECK(notop.layers.back().output_shape == Shape{3, 3, 2048});
}

TEST_CASE("mobilenet_v2: ReLU6 layers, correct_pad's ((0, 1), (0, 1)) and the residual adds") {
  Model m = mobilenet_v2(true);
  m.build();
  CHECK(m.name == "mobilenetv2_1.00_224");
  CHECK(names(m, 0, 9) == std::vector<std::string>{"input_1", "Conv1", "bn_Conv1", "Conv1_relu",
                                                    "expanded_conv_depthwise", "expanded_conv_depthwise_BN",
                                                    "expanded_conv_depthwise_relu", "expanded_conv_project",
                                                    "expanded_conv_project_BN"});
  CHECK(names(m, 9, 4) == std::vector<std::string>{"block_1_expand", "block_1_expand_BN", "block_1_expand_relu",
                                                   "block_1_pad"});
  const Layer& relu = layer(m, "Conv1_relu");
  CHECK(relu.class_name == "ReLU");
  CHECK(relu.type == LayerType::relu);
  CHECK(relu.max_value == 6.f);
  const Layer& pad = layer(m, "block_1_pad");
  CHECK(pad.class_name == "ZeroPadding2D");
  CHECK((pad.pad_top == 0 && pad.pad_bottom == 1 && pad.pad_left == 0 && pad.pad_right == 1));
  CHECK(pad.output_shape == Shape{113, 113, 96});
  CHECK(layer(m, "block_1_depthwise").class_name == "DepthwiseConv2D");
  CHECK(layer(m, "block_1_depthwise").output_shape == Shape{56, 56, 96});
  CHECK(layer(m, "block_1_depthwise").padding == Padding::valid);
  CHECK(layer(m, "block_2_depthwise").padding == Padding::same);
  // Adds where a block keeps its width at stride 1: blocks 2, 4, 5, 7, 8, 9, 11, 12, 14, 15.
  std::vector<std::string> adds;
  for (const Layer& l : m.layers)
    if (l.type == LayerType::add) adds.push_back(l.name);
  CHECK(adds == std::vector<std::string>{"block_2_add", "block_4_add", "block_5_add", "block_7_add",
                                         "block_8_add", "block_9_add", "block_11_add", "block_12_add",
                                         "block_14_add", "block_15_add"});
  CHECK(m.layers[size_t(layer(m, "block_2_add").inputs[0])].name == "block_1_project_BN");  // Add([inputs, x])
  CHECK(layer(m, "block_16_project_BN").output_shape == Shape{7, 7, 320});
  CHECK(layer(m, "out_relu").output_shape == Shape{7, 7, 1280});
  CHECK(m.layers[m.layers.size() - 2].name == "global_average_pooling2d");
}

TEST_CASE("densenet121: names with slashes, automatic zero_padding2d names, 32-channel concatenations") {
  Model m = densenet121(true);
  m.build();
  CHECK(m.name == "densenet121");
  CHECK(names(m, 0, 9) == std::vector<std::string>{"input_1", "zero_padding2d", "conv1/conv", "conv1/bn",
                                                    "conv1/relu", "zero_padding2d_1", "pool1", "conv2_block1_0_bn",
                                                    "conv2_block1_0_relu"});
  const Layer& cat = layer(m, "conv2_block1_concat");
  CHECK(cat.class_name == "Concatenate");
  CHECK(cat.output_shape == Shape{56, 56, 96});
  CHECK(m.layers[size_t(cat.inputs[0])].name == "pool1");  // Concatenate([x, x1])
  CHECK(layer(m, "conv2_block6_concat").output_shape == Shape{56, 56, 256});
  CHECK(names(m, size_t(m.layer_index("conv2_block6_concat")) + 1, 4) ==
        std::vector<std::string>{"pool2_bn", "pool2_relu", "pool2_conv", "pool2_pool"});
  CHECK(layer(m, "pool2_conv").filters == 128);
  CHECK(layer(m, "pool2_pool").class_name == "AveragePooling2D");
  CHECK(layer(m, "pool4_pool").output_shape == Shape{7, 7, 512});
  CHECK(layer(m, "conv5_block16_concat").output_shape == Shape{7, 7, 1024});
  CHECK(layer(m, "relu").output_shape == Shape{7, 7, 1024});
  CHECK(layer(m, "bn").epsilon == doctest::Approx(1.001e-5));
}

TEST_CASE("inception_v3: Keras' automatic names in creation order, mixed0..mixed10 at 299") {
  Model m = inception_v3(true);
  m.build();
  CHECK(m.built_h() == 299);
  CHECK(names(m, 0, 4) == std::vector<std::string>{"input_1", "conv2d", "batch_normalization", "activation"});
  CHECK(layer(m, "batch_normalization").bn_scale == false);
  // beta, moving mean and moving variance of 32 channels: no gamma
  const int bn = m.layer_index("batch_normalization");
  CHECK(m.layers[size_t(bn)].expected_weight_shapes(m.input_shape(bn)) == std::vector<Shape>(3, Shape{32}));
  CHECK(layer(m, "conv2d").use_bias == false);
  CHECK(layer(m, "activation_93").class_name == "Activation");
  CHECK(contains(error_of([&] { m.layer_index("conv2d_94"); }), "no layer named 'conv2d_94'"));
  CHECK(layer(m, "max_pooling2d_1").output_shape == Shape{35, 35, 192});
  // Keras' order (deepest first): mixed0's longest branch (conv2d_8, the 3x3 double) comes first.
  const size_t pool1 = size_t(m.layer_index("max_pooling2d_1"));
  CHECK(names(m, pool1 + 1, 9) == std::vector<std::string>{"conv2d_8", "batch_normalization_8", "activation_8",
                                                           "conv2d_6", "conv2d_9", "batch_normalization_6",
                                                           "batch_normalization_9", "activation_6", "activation_9"});
  CHECK(names(m, m.layers.size() - 12, 11) ==  // then predictions
        std::vector<std::string>{"activation_87", "activation_88", "activation_91", "activation_92",
                                 "batch_normalization_93", "activation_85", "mixed9_1", "concatenate_1",
                                 "activation_93", "mixed10", "avg_pool"});
  // conv2d_5..conv2d_11 are mixed0's seven convolutions; conv2d_11 reads average_pooling2d.
  CHECK(m.layers[size_t(layer(m, "conv2d_11").inputs[0])].name == "average_pooling2d");
  CHECK(layer(m, "conv2d_11").filters == 32);
  CHECK(layer(m, "conv2d_6").kernel_h == 1);  // mixed0: conv2d_6 (1x1, 48) feeds conv2d_7 (5x5, 64)
  CHECK(layer(m, "conv2d_7").kernel_h == 5);
  const Shape mixed[11] = {{35, 35, 256}, {35, 35, 288}, {35, 35, 288}, {17, 17, 768}, {17, 17, 768}, {17, 17, 768},
                           {17, 17, 768}, {17, 17, 768}, {8, 8, 1280},  {8, 8, 2048},  {8, 8, 2048}};
  for (int i = 0; i < 11; ++i) CHECK(layer(m, "mixed" + std::to_string(i)).output_shape == mixed[i]);
  CHECK(layer(m, "mixed9_1").output_shape == Shape{8, 8, 768});
  CHECK(layer(m, "concatenate_1").output_shape == Shape{8, 8, 768});
  CHECK(layer(m, "mixed10").inputs.size() == 4);
  CHECK(layer(m, "mixed8").inputs.size() == 3);
  // The 17x17 blocks' factorised convolutions keep their 1x7 / 7x1 kernels.
  // (mixed4: conv2d_30 is its 1x1 branch, conv2d_31..33 the 1x1, 1x7 and 7x1 of the 7x7 branch).
  CHECK((layer(m, "conv2d_32").kernel_h == 1 && layer(m, "conv2d_32").kernel_w == 7));
  CHECK((layer(m, "conv2d_33").kernel_h == 7 && layer(m, "conv2d_33").kernel_w == 1));
  Model notop = inception_v3(false);
  notop.build(299, 299);
  CHECK(notop.layers.back().name == "mixed10");
  CHECK(notop.layers.back().output_shape == Shape{8, 8, 2048});
}

TEST_CASE("xception: automatic residual names conv2d..conv2d_3 and add..add_11") {
  Model m = xception(true);
  m.build();
  CHECK(m.built_h() == 299);
  CHECK(names(m, 0, 7) == std::vector<std::string>{"input_1", "block1_conv1", "block1_conv1_bn", "block1_conv1_act",
                                                    "block1_conv2", "block1_conv2_bn", "block1_conv2_act"});
  CHECK(layer(m, "block1_conv2_act").output_shape == Shape{147, 147, 64});
  // The residual conv sits at the depth of block2_pool, its BN beside the add's other input.
  CHECK(names(m, 7, 10) == std::vector<std::string>{"block2_sepconv1", "block2_sepconv1_bn", "block2_sepconv2_act",
                                                    "block2_sepconv2", "block2_sepconv2_bn", "conv2d", "block2_pool",
                                                    "batch_normalization", "add", "block3_sepconv1_act"});
  CHECK(layer(m, "block2_sepconv1").class_name == "SeparableConv2D");
  CHECK(layer(m, "block2_sepconv1").use_bias == false);
  CHECK(m.layers[size_t(layer(m, "block2_sepconv2_act").inputs[0])].name == "block2_sepconv1_bn");
  CHECK(layer(m, "conv2d").output_shape == Shape{74, 74, 128});
  CHECK(layer(m, "conv2d_3").output_shape == Shape{10, 10, 1024});
  CHECK(layer(m, "batch_normalization_3").class_name == "BatchNormalization");
  const Layer& add = layer(m, "add");
  CHECK(m.layers[size_t(add.inputs[0])].name == "block2_pool");  // add([x, residual])
  CHECK(m.layers[size_t(add.inputs[1])].name == "batch_normalization");
  CHECK(layer(m, "add_2").output_shape == Shape{19, 19, 728});
  CHECK(m.layers[size_t(layer(m, "add_3").inputs[1])].name == "add_2");  // block5's identity residual
  CHECK(layer(m, "add_11").output_shape == Shape{10, 10, 1024});
  CHECK(contains(error_of([&] { m.layer_index("add_12"); }), "no layer named 'add_12'"));
  CHECK(layer(m, "block14_sepconv2_act").output_shape == Shape{10, 10, 2048});
}

TEST_CASE("application: the table of architectures / preprocessing / unknown names") {
  CHECK(application_names() ==
        std::vector<std::string>{"vgg16", "resnet50", "mobilenet_v2", "densenet121", "inception_v3", "xception"});
  CHECK(std::string(application_info("vgg16").preprocess) == "caffe");
  CHECK(std::string(application_info("resnet50").preprocess) == "caffe");
  CHECK(std::string(application_info("mobilenet_v2").preprocess) == "tf");
  CHECK(std::string(application_info("inception_v3").preprocess) == "tf");
  CHECK(std::string(application_info("xception").preprocess) == "tf");
  CHECK(std::string(application_info("densenet121").preprocess) == "torch");
  for (const ApplicationInfo& a : applications())  // the names are vis/preprocess.h's modes
    CHECK(preprocess_name(parse_preprocess(a.preprocess)) == std::string(a.preprocess));
  Model v = application("vgg16", false);
  v.build(224, 224);
  CHECK(v.layers.back().name == application_info("vgg16").last_spatial);
  CHECK(application("vgg16", true).layers.size() == vgg16(true).layers.size());
  const std::string e = error_of([] { application("nope", true); });
  CHECK(contains(e, "'nope'"));
  CHECK(contains(e, "vgg16, resnet50, mobilenet_v2, densenet121, inception_v3, xception"));
  // keras.applications' own spelling, in any case, names the same architecture.
  CHECK(std::string(application_info("ResNet50").name) == "resnet50");
  CHECK(std::string(application_info("mobilenetv2").name) == "mobilenet_v2");
  CHECK_THROWS_AS(application("ResNet5", true), std::invalid_argument);
  // With the top the input size is Keras' default and no other.
  Model r = resnet50(true);
  CHECK(contains(error_of([&] { r.build(96, 96); }), "takes 224x224 inputs"));
}
