// Model: shape inference, forward pass up to any layer, parameter counts and Keras' summary.
#include "engine/errors.h"
#include "engine/model.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "engine/model_layers.h"
#include "engine/ops.h"

namespace convis {

namespace {

// What a loadable model may declare (the per-layer limits are in engine/model_layers.cpp).
constexpr int kMaxSide = 16384, kMaxChannels = 65536;
constexpr int64_t kMaxActivation = int64_t(1) << 31;  // values of one layer's output per sample

}  // namespace

const Shape& Model::input_shape(int i) const {
  return i <= 0 ? layers[0].output_shape : layers[size_t(inputs_of(i).at(0))].output_shape;
}

std::vector<int> Model::inputs_of(int i) const {
  if (i <= 0) return {};
  const Layer& l = layers[size_t(i)];
  return l.inputs.empty() ? std::vector<int>{i - 1} : l.inputs;
}

bool Model::is_chain() const {
  for (size_t i = 1; i < layers.size(); ++i)
    if (!layers[i].inputs.empty() && !(layers[i].inputs.size() == 1 && layers[i].inputs[0] == int(i) - 1)) return false;
  return true;
}

void Model::build(int h, int w) {
  if (layers.empty() || layers[0].type != LayerType::input)
    throw std::invalid_argument("model '" + name + "': the first layer must be an InputLayer");
  if (h <= 0) h = input_h;
  if (w <= 0) w = input_w;
  if (h <= 0 || w <= 0)
    throw ParameterError("input_size", "model '" + name + "' has a free input size: give one, e.g. 224");
  if ((input_h > 0 && h != input_h) || (input_w > 0 && w != input_w))
    throw std::invalid_argument("model '" + name + "' takes " + std::to_string(input_h) + "x" + std::to_string(input_w) +
                                " inputs, not " + std::to_string(h) + "x" + std::to_string(w));
  if (h > kMaxSide || w > kMaxSide)
    throw std::invalid_argument("model '" + name + "': input size " + std::to_string(h) + "x" + std::to_string(w) +
                                " is larger than " + std::to_string(kMaxSide) + " pixels a side");
  if (input_c < 1 || input_c > kMaxChannels)
    throw std::invalid_argument("model '" + name + "': input has " + std::to_string(input_c) + " channels, expected 1.." +
                                std::to_string(kMaxChannels));
  layers[0].output_shape = Shape{h, w, input_c};
  for (size_t i = 1; i < layers.size(); ++i) {
    Layer& l = layers[i];
    if (l.type == LayerType::input)
      throw std::invalid_argument("model '" + name + "': layer '" + l.name + "' is a second InputLayer");
    std::vector<Shape> ins;
    for (int j : inputs_of(int(i))) {
      if (j < 0 || j >= int(i))
        throw std::invalid_argument("layer '" + l.name + "' reads layer " + std::to_string(j) +
                                    ", which does not come before it");
      ins.push_back(layers[size_t(j)].output_shape);
    }
    const Shape out = layer_output_shape(l, ins);
    if (out.numel() < 1 || out.numel() > kMaxActivation)
      throw std::invalid_argument("layer '" + l.name + "' (" + l.class_name + ") on input " + ins[0].str() +
                                  " has output " + out.str() + ", expected 1.." + std::to_string(kMaxActivation) +
                                  " values per sample");
    if (!l.weights.empty()) {
      const std::vector<Shape> want = l.expected_weight_shapes(ins[0]);
      if (want.size() != l.weights.size())
        throw std::invalid_argument("layer '" + l.name + "' has " + std::to_string(l.weights.size()) +
                                    " weights, expected " + std::to_string(want.size()));
      for (size_t k = 0; k < want.size(); ++k)
        if (l.weights[k].shape() != want[k])
          throw std::invalid_argument("layer '" + l.name + "' " + l.weight_names[k] + " is " +
                                      l.weights[k].shape().str() + ", expected " + want[k].str() + " for input " +
                                      ins[0].str());
    }
    l.output_shape = out;
  }
  built_h_ = h;
  built_w_ = w;
}

int Model::layer_index(const std::string& layer) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == layer) return int(i);
  std::string names;
  for (const Layer& l : layers) names += (names.empty() ? "" : ", ") + l.name;
  throw std::invalid_argument("no layer named '" + layer + "' in model '" + name + "'; valid names: " + names);
}

std::vector<std::string> Model::layer_names() const {
  std::vector<std::string> n;
  for (const Layer& l : layers) n.push_back(l.name);
  return n;
}

Var Model::forward(const Var& x, int last, bool pre_activation, const LayerHook& hook) const {
  if (last < 0) last = int(layers.size()) - 1;
  if (last >= int(layers.size()))
    throw std::invalid_argument("forward: layer index " + std::to_string(last) + " out of range");
  const Shape& xs = x.shape();
  if (xs.rank() != 4 || xs[3] != input_c)
    throw std::invalid_argument("model '" + name + "': input has shape " + xs.str() + ", expected (N, H, W, " +
                                std::to_string(input_c) + ")");
  return run(0, x, last, pre_activation, hook);
}

Var Model::forward_from(const Var& x, int first, int last, bool pre_activation) const {
  if (last < 0) last = int(layers.size()) - 1;
  if (last >= int(layers.size()) || first < 1 || first > last + 1)
    throw std::invalid_argument("forward_from: layers " + std::to_string(first) + ".." + std::to_string(last) +
                                " out of range 1.." + std::to_string(layers.size() - 1));
  return run(first - 1, x, last, pre_activation, {});
}

// The graph walk. h is the output of layer `cut`; layer `last` and those of its ancestors after
// the cut run in index order (a topological order), each reading its inputs' outputs, which are
// dropped as soon as their last reader has run: peak memory is the widest set of live branches
// (a few activations in ResNet), not every layer's output. The tape, when recording, keeps what
// the backward pass needs on its own.
Var Model::run(int cut, const Var& h, int last, bool pre_activation, const LayerHook& hook) const {
  if (last == cut) {
    Var out = h;
    if (hook) hook(cut, out);
    return out;
  }
  std::vector<char> needed(size_t(last) + 1, 0);
  std::vector<int> readers(size_t(last) + 1, 0);  // needed layers that still have to read each output
  needed[size_t(last)] = 1;
  for (int i = last; i > cut; --i) {
    if (!needed[size_t(i)]) continue;
    for (int j : inputs_of(i)) {
      if (j < cut)
        throw std::invalid_argument("layer '" + layers[size_t(i)].name + "' reads layer '" + layers[size_t(j)].name +
                                    "', which comes before layer '" + layers[size_t(cut)].name +
                                    "': that layer's output alone does not determine layer '" +
                                    layers[size_t(last)].name + "'");
      needed[size_t(j)] = 1;
      ++readers[size_t(j)];
    }
  }
  std::vector<Var> out(size_t(last) + 1);
  out[size_t(cut)] = h;
  if (hook) hook(cut, out[size_t(cut)]);
  std::vector<Var> ins;
  for (int i = cut + 1; i <= last; ++i) {
    if (!needed[size_t(i)]) continue;
    ins.clear();
    const std::vector<int> from = inputs_of(i);
    for (int j : from) ins.push_back(out[size_t(j)]);
    out[size_t(i)] = apply_layer(layers[size_t(i)], ins, !(pre_activation && i == last));
    ins.clear();
    for (int j : from)
      if (--readers[size_t(j)] == 0) out[size_t(j)] = Var();
    if (hook) hook(i, out[size_t(i)]);
  }
  return out[size_t(last)];
}

bool Model::can_select_channels(int last, bool pre_activation) const {
  if (last < 0) last = int(layers.size()) - 1;
  if (last < 1 || last >= int(layers.size())) return false;
  const Layer& l = layers[size_t(last)];
  return l.type == LayerType::conv2d &&
         (pre_activation || l.activation == Activation::linear || l.activation == Activation::relu);
}

Var Model::forward_channels(const Var& x, int last, const std::vector<int>& channels, bool pre_activation) const {
  if (last < 0) last = int(layers.size()) - 1;
  if (!can_select_channels(last, pre_activation))
    throw std::invalid_argument("forward_channels: layer " + std::to_string(last) +
                                " is not a Conv2D with a linear or ReLU activation");
  const Var h = forward(x, inputs_of(last).at(0));  // its input's output (0: x itself)
  const Layer& l = layers[size_t(last)];
  const Var bias = l.use_bias && l.weights.size() > 1 ? l.weights[1] : Var();
  const bool relu = !pre_activation && l.activation == Activation::relu;
  return conv2d_channels(h, l.weights.at(0), bias, channels, l.stride_h, l.stride_w, l.padding, relu);
}

void Model::set_trainable(bool trainable) const {
  for (const Layer& l : layers)
    for (const Var& w : l.weights) w.set_requires_grad(trainable);
}

int64_t Model::param_count() const {
  int64_t n = 0;
  for (const Layer& l : layers) n += l.param_count();
  return n;
}

int64_t Model::non_trainable_count() const {
  int64_t n = 0;
  for (const Layer& l : layers) n += l.non_trainable_count();
  return n;
}

bool Model::outputs_probabilities() const {
  int j = int(layers.size()) - 1;
  while (j > 0 && (layers[size_t(j)].type == LayerType::dropout || layers[size_t(j)].type == LayerType::flatten))
    j = inputs_of(j).at(0);
  return j > 0 && layers[size_t(j)].activation == Activation::softmax;
}

namespace {

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

std::string keras_shape(const Shape& s, bool input) {
  std::string r = "(None";
  for (int i = 0; i < s.rank(); ++i) r += ", " + std::to_string(s[i]);
  r += ")";
  return input ? "[" + r + "]" : r;
}

std::string pad_to(std::string s, size_t width) {
  if (s.size() >= width) return s.substr(0, width - 1) + " ";
  return s + std::string(width - s.size(), ' ');
}

}  // namespace

// Keras 2's print_summary: for a sequential-like model columns end at 29, 55 and 65 characters;
// for a graph at 32, 53, 65 and 98, with a "Connected to" column listing each layer's inputs as
// Keras does ('conv1_relu[0][0]', one per line).
std::string Model::summary() const {
  const bool graph = !is_chain();
  const size_t width = graph ? 98 : 65, c1 = graph ? 32 : 29, c2 = graph ? 21 : 26, c3 = graph ? 12 : 10;
  const std::string rule(width, '_'), double_rule(width, '=');
  std::string out = "Model: \"" + name + "\"\n" + rule + "\n";
  out += pad_to(" Layer (type)", c1) + pad_to("Output Shape", c2) + pad_to("Param #", c3) +
         (graph ? "Connected to" : "") + "\n" + double_rule + "\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    const std::vector<int> from = inputs_of(int(i));
    auto connection = [&](size_t k) {
      const std::string n = "'" + layers[size_t(from[k])].name + "[0][0]'";
      return (k == 0 ? "[" : " ") + n + (k + 1 == from.size() ? "]" : ",");
    };
    out += pad_to(" " + l.name + " (" + l.class_name + ")", c1) +
           pad_to(built_h_ ? keras_shape(l.output_shape, l.type == LayerType::input) : "?", c2) +
           pad_to(std::to_string(l.param_count()), c3) + (graph ? (from.empty() ? "[]" : connection(0)) : "") + "\n";
    for (size_t k = 1; graph && k < from.size(); ++k) out += std::string(c1 + c2 + c3, ' ') + connection(k) + "\n";
    out += (i + 1 < layers.size() ? std::string(width, ' ') : double_rule) + "\n";
  }
  const int64_t total = param_count(), frozen = non_trainable_count();
  out += "Total params: " + with_commas(total) + "\n";
  out += "Trainable params: " + with_commas(total - frozen) + "\n";
  out += "Non-trainable params: " + with_commas(frozen) + "\n" + rule + "\n";
  return out;
}

namespace {

// Fills every layer's weights for the shapes of its input, with `kernel` drawing each kernel from
// (fan_in, fan_out). Conv (KH,KW,C,OC): fan_in = KH*KW*C, fan_out = KH*KW*OC; Dense (in,out). A
// depthwise kernel (KH,KW,C,M) has fan_in KH*KW and fan_out KH*KW*M: each output reads one input
// channel (Keras' VarianceScaling counts C in too, which makes random depthwise outputs vanish).
template <class KernelInit>
void init_weights(Model& m, KernelInit kernel) {
  if (!m.built_h()) m.build();
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Layer& l = m.layers[i];
    const std::vector<Shape> shapes = l.expected_weight_shapes(m.input_shape(int(i)));
    l.weights.clear();
    l.weight_names.clear();
    auto add = [&](Var v, const char* name) {
      l.weights.push_back(std::move(v));
      l.weight_names.push_back(name);
    };
    auto draw = [&](const Shape& ks, bool depthwise) {
      const int64_t receptive = ks.rank() == 4 ? ks[0] * ks[1] : 1;
      const int64_t fan_in = receptive * (depthwise ? 1 : ks[ks.rank() - 2]), fan_out = receptive * ks[ks.rank() - 1];
      Tensor k(ks);
      kernel(k, fan_in, fan_out);
      return Var::param(k);
    };
    if (l.type == LayerType::batch_norm) {
      if (l.bn_scale) add(Var::param(Tensor::full(shapes[0], 1.f)), "gamma:0");
      if (l.bn_center) add(Var::param(Tensor::zeros(shapes[0])), "beta:0");
      add(Var::constant(Tensor::zeros(shapes[0])), "moving_mean:0");
      add(Var::constant(Tensor::full(shapes[0], 1.f)), "moving_variance:0");
    } else if (l.type == LayerType::normalization) {
      add(Var::constant(Tensor::zeros(shapes[0])), "mean:0");
      add(Var::constant(Tensor::full(shapes[1], 1.f)), "variance:0");
      add(Var::constant(Tensor::zeros(shapes[2])), "count:0");
    } else if (l.type == LayerType::depthwise_conv2d || l.type == LayerType::separable_conv2d) {
      add(draw(shapes[0], true), "depthwise_kernel:0");
      size_t k = 1;
      if (l.type == LayerType::separable_conv2d) add(draw(shapes[k++], false), "pointwise_kernel:0");
      if (shapes.size() > k) add(Var::param(Tensor::zeros(shapes[k])), "bias:0");
    } else if (!shapes.empty()) {
      add(draw(shapes[0], false), "kernel:0");
      if (shapes.size() > 1) add(Var::param(Tensor::zeros(shapes[1])), "bias:0");
    }
  }
}

}  // namespace

void init_he_normal(Model& m, uint32_t seed) {
  std::mt19937 rng(seed);
  init_weights(m, [&](Tensor& k, int64_t fan_in, int64_t) {
    std::normal_distribution<float> normal(0.f, std::sqrt(2.f / float(fan_in)));
    for (int64_t i = 0; i < k.numel(); ++i) k[i] = normal(rng);
  });
}

void init_glorot_uniform(Model& m, uint32_t seed) {
  std::mt19937 rng(seed);
  init_weights(m, [&](Tensor& k, int64_t fan_in, int64_t fan_out) {
    const float limit = std::sqrt(6.f / float(fan_in + fan_out));
    std::uniform_real_distribution<float> uniform(-limit, limit);
    for (int64_t i = 0; i < k.numel(); ++i) k[i] = uniform(rng);
  });
}

Model vgg16(bool include_top) {
  Model m;
  m.name = "vgg16";
  m.input_c = 3;
  if (include_top) m.input_h = m.input_w = 224;
  Layer in;
  in.name = "input_1";
  in.class_name = "InputLayer";
  m.layers.push_back(in);
  const int blocks[5][2] = {{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}};
  for (int b = 0; b < 5; ++b) {
    for (int c = 0; c < blocks[b][0]; ++c) {
      Layer l;
      l.name = "block" + std::to_string(b + 1) + "_conv" + std::to_string(c + 1);
      l.class_name = "Conv2D";
      l.type = LayerType::conv2d;
      l.filters = blocks[b][1];
      l.kernel_h = l.kernel_w = 3;
      l.padding = Padding::same;
      l.activation = Activation::relu;
      m.layers.push_back(l);
    }
    Layer p;
    p.name = "block" + std::to_string(b + 1) + "_pool";
    p.class_name = "MaxPooling2D";
    p.type = LayerType::max_pool2d;
    p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = 2;
    m.layers.push_back(p);
  }
  if (include_top) {
    Layer f;
    f.name = "flatten";
    f.class_name = "Flatten";
    f.type = LayerType::flatten;
    m.layers.push_back(f);
    const char* names[3] = {"fc1", "fc2", "predictions"};
    const int units[3] = {4096, 4096, 1000};
    for (int i = 0; i < 3; ++i) {
      Layer d;
      d.name = names[i];
      d.class_name = "Dense";
      d.type = LayerType::dense;
      d.units = units[i];
      d.activation = i < 2 ? Activation::relu : Activation::softmax;
      m.layers.push_back(d);
    }
  }
  return m;
}

}  // namespace convis
