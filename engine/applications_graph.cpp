// The graph writer of the keras.applications builders (engine/applications_graph.h): one method
// per Keras layer class, Keras' automatic names, and Keras' Functional layer order.
#include "engine/applications_graph.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace convis {

ApplicationGraph::ApplicationGraph(std::string model_name, int input_size) {
  model_.name = std::move(model_name);
  model_.input_h = model_.input_w = input_size;
  model_.input_c = 3;
  Layer in;
  in.name = "input_1";  // Keras numbers Input layers from 1 (zero_based=False), every other class from 0
  in.class_name = "InputLayer";
  in.type = LayerType::input;
  model_.layers.push_back(in);
  channels_.push_back(3);
}

int ApplicationGraph::push(Layer l, const std::string& snake_class, std::vector<int> ins, int out_channels) {
  for (int i : ins)
    if (i < 0 || i >= int(model_.layers.size()))
      throw std::logic_error("applications: layer '" + l.name + "' reads handle " + std::to_string(i) +
                             ", which is not a layer of '" + model_.name + "' yet");
  if (l.name.empty()) {
    // backend.unique_object_name(to_snake_case(class), zero_based=True): conv2d, conv2d_1, ...
    const int uses = name_uses_[snake_class]++;
    l.name = uses == 0 ? snake_class : snake_class + "_" + std::to_string(uses);
  }
  l.inputs = std::move(ins);
  model_.layers.push_back(std::move(l));
  channels_.push_back(out_channels);
  return int(model_.layers.size()) - 1;
}

namespace {

Layer named(const std::string& name, const char* class_name, LayerType type) {
  Layer l;
  l.name = name;
  l.class_name = class_name;
  l.type = type;
  return l;
}

}  // namespace

int ApplicationGraph::conv(int in, const std::string& name, int filters, int kh, int kw, int stride, Padding p,
                           bool use_bias) {
  Layer l = named(name, "Conv2D", LayerType::conv2d);
  l.filters = filters;
  l.kernel_h = kh;
  l.kernel_w = kw;
  l.stride_h = l.stride_w = stride;
  l.padding = p;
  l.use_bias = use_bias;
  return push(std::move(l), "conv2d", {in}, filters);
}

// axis stays -1, the channel axis: Keras' sources write 3 (bn_axis) or -1 (channel_axis), the
// same axis of an NHWC tensor, and convis' config reader keeps either as -1.
int ApplicationGraph::batch_norm(int in, const std::string& name, float epsilon, bool scale) {
  Layer l = named(name, "BatchNormalization", LayerType::batch_norm);
  l.epsilon = epsilon;
  l.bn_scale = scale;
  return push(std::move(l), "batch_normalization", {in}, channels(in));
}

int ApplicationGraph::activation(int in, const std::string& name, Activation a) {
  Layer l = named(name, "Activation", LayerType::activation);
  l.activation = a;
  return push(std::move(l), "activation", {in}, channels(in));
}

int ApplicationGraph::relu6(int in, const std::string& name) {
  Layer l = named(name, "ReLU", LayerType::relu);
  l.max_value = 6.f;
  return push(std::move(l), "re_lu", {in}, channels(in));
}

int ApplicationGraph::zero_padding(int in, const std::string& name, int top, int bottom, int left, int right) {
  Layer l = named(name, "ZeroPadding2D", LayerType::zero_padding2d);
  l.pad_top = top;
  l.pad_bottom = bottom;
  l.pad_left = left;
  l.pad_right = right;
  return push(std::move(l), "zero_padding2d", {in}, channels(in));
}

int ApplicationGraph::max_pool(int in, const std::string& name, int k, int stride, Padding p) {
  Layer l = named(name, "MaxPooling2D", LayerType::max_pool2d);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.padding = p;
  return push(std::move(l), "max_pooling2d", {in}, channels(in));
}

int ApplicationGraph::avg_pool(int in, const std::string& name, int k, int stride, Padding p) {
  Layer l = named(name, "AveragePooling2D", LayerType::avg_pool2d);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.padding = p;
  return push(std::move(l), "average_pooling2d", {in}, channels(in));
}

int ApplicationGraph::global_avg_pool(int in, const std::string& name) {
  return push(named(name, "GlobalAveragePooling2D", LayerType::global_avg_pool2d), "global_average_pooling2d", {in},
              channels(in));
}

int ApplicationGraph::dense(int in, const std::string& name, int units, Activation a) {
  Layer l = named(name, "Dense", LayerType::dense);
  l.units = units;
  l.activation = a;
  return push(std::move(l), "dense", {in}, units);
}

int ApplicationGraph::depthwise(int in, const std::string& name, int k, int stride, Padding p) {
  Layer l = named(name, "DepthwiseConv2D", LayerType::depthwise_conv2d);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.padding = p;
  l.use_bias = false;
  return push(std::move(l), "depthwise_conv2d", {in}, channels(in));
}

int ApplicationGraph::separable(int in, const std::string& name, int filters, int k, Padding p) {
  Layer l = named(name, "SeparableConv2D", LayerType::separable_conv2d);
  l.filters = filters;
  l.kernel_h = l.kernel_w = k;
  l.padding = p;
  l.use_bias = false;
  return push(std::move(l), "separable_conv2d", {in}, filters);
}

int ApplicationGraph::add(const std::vector<int>& ins, const std::string& name) {
  return push(named(name, "Add", LayerType::add), "add", ins, channels(ins.at(0)));
}

int ApplicationGraph::concatenate(const std::vector<int>& ins, const std::string& name) {
  int c = 0;
  for (int i : ins) c += channels(i);
  return push(named(name, "Concatenate", LayerType::concatenate), "concatenate", ins, c);
}

Model ApplicationGraph::finish(int output) const {
  const int n = int(model_.layers.size());
  if (output < 1 || output >= n) throw std::logic_error("applications: '" + model_.name + "' has no output layer");
  // Keras' _build_map: a depth-first walk from the output through each layer's inputs in call
  // order; first_seen is the pre-order number Keras sorts ties by, post the finishing order.
  std::vector<int> first_seen(size_t(n), -1), post;
  std::vector<char> done(size_t(n), 0);
  int seen = 0;
  std::function<void(int)> walk = [&](int v) {
    if (done[size_t(v)]) return;
    if (first_seen[size_t(v)] < 0) first_seen[size_t(v)] = seen++;
    for (int u : model_.layers[size_t(v)].inputs) walk(u);
    done[size_t(v)] = 1;
    post.push_back(v);
  };
  walk(output);
  if (int(post.size()) != n)
    throw std::logic_error("applications: '" + model_.name + "' has layers the output does not read");
  // A layer's depth is its longest path to the output: walking the finishing order backwards
  // visits every reader before the layers it reads.
  std::vector<int> depth(size_t(n), 0);
  for (auto it = post.rbegin(); it != post.rend(); ++it) {
    const int reader_depth = depth[size_t(*it)];
    for (int u : model_.layers[size_t(*it)].inputs) depth[size_t(u)] = std::max(depth[size_t(u)], reader_depth + 1);
  }
  std::vector<int> order(size_t(n), 0);
  for (int i = 0; i < n; ++i) order[size_t(i)] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (depth[size_t(a)] != depth[size_t(b)]) return depth[size_t(a)] > depth[size_t(b)];
    return first_seen[size_t(a)] < first_seen[size_t(b)];
  });
  if (order[0] != kInput) throw std::logic_error("applications: '" + model_.name + "' does not start at its input");

  Model m;
  m.name = model_.name;
  m.input_h = model_.input_h;
  m.input_w = model_.input_w;
  m.input_c = model_.input_c;
  std::vector<int> at(size_t(n), 0);
  for (int k = 0; k < n; ++k) at[size_t(order[size_t(k)])] = k;
  for (int k = 0; k < n; ++k) {
    Layer l = model_.layers[size_t(order[size_t(k)])];
    for (int& i : l.inputs) i = at[size_t(i)];
    m.layers.push_back(std::move(l));
  }
  return m;
}

}  // namespace convis
