// Model: shape inference, forward pass up to any layer, parameter counts and Keras' summary.
#include "engine/errors.h"
#include "engine/model.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "engine/ops.h"

namespace convis {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::softmax: return "softmax";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
  }
  return "linear";
}

Activation parse_activation(const std::string& name, const std::string& layer) {
  if (name == "linear" || name.empty()) return Activation::linear;
  if (name == "relu") return Activation::relu;
  if (name == "softmax") return Activation::softmax;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "tanh") return Activation::tanh;
  throw std::invalid_argument("layer '" + layer + "': activation '" + name +
                              "' is not supported (supported: linear, relu, softmax, sigmoid, tanh)");
}

std::vector<Shape> Layer::expected_weight_shapes(const Shape& in) const {
  const int64_t c = in.rank() ? in[in.rank() - 1] : 0;
  switch (type) {
    case LayerType::conv2d:
      if (use_bias) return {Shape{kernel_h, kernel_w, c, filters}, Shape{filters}};
      return {Shape{kernel_h, kernel_w, c, filters}};
    case LayerType::dense:
      if (use_bias) return {Shape{c, units}, Shape{units}};
      return {Shape{c, units}};
    case LayerType::batch_norm: {
      std::vector<Shape> s;
      if (bn_scale) s.push_back(Shape{c});
      if (bn_center) s.push_back(Shape{c});
      s.push_back(Shape{c});
      s.push_back(Shape{c});
      return s;
    }
    default: return {};
  }
}

int64_t Layer::param_count() const {
  int64_t n = 0;
  for (const Var& w : weights) n += w.value().numel();
  return n;
}

int64_t Layer::non_trainable_count() const {
  if (type != LayerType::batch_norm || weights.size() < 2) return 0;
  // moving_mean and moving_variance are always the last two.
  return weights[weights.size() - 1].value().numel() + weights[weights.size() - 2].value().numel();
}

namespace {

Shape layer_output_shape(const Layer& l, const Shape& in) {
  const std::string where = "layer '" + l.name + "' (" + l.class_name + ")";
  auto need_rank = [&](int r) {
    if (in.rank() != r)
      throw std::invalid_argument(where + ": input shape " + in.str() + " has rank " + std::to_string(in.rank()) +
                                  ", expected " + std::to_string(r) + (r == 3 ? " (H, W, C)" : " (features,)"));
  };
  switch (l.type) {
    case LayerType::input: return in;
    case LayerType::conv2d:
    case LayerType::max_pool2d:
    case LayerType::avg_pool2d: {
      need_rank(3);
      try {
        const AxisWindow h = window_along_axis(int(in[0]), l.kernel_h, l.stride_h, l.padding, "height");
        const AxisWindow w = window_along_axis(int(in[1]), l.kernel_w, l.stride_w, l.padding, "width");
        return Shape{h.out, w.out, l.type == LayerType::conv2d ? int64_t(l.filters) : in[2]};
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(where + " on input " + in.str() + ": " + e.what());
      }
    }
    case LayerType::global_avg_pool2d:
    case LayerType::global_max_pool2d: need_rank(3); return Shape{in[2]};
    case LayerType::dense: need_rank(1); return Shape{l.units};
    case LayerType::flatten: return Shape{in.numel()};
    default: return in;  // dropout, batch_norm, activation, leaky_relu keep the shape
  }
}

// What a loadable model may declare. Larger values are no model anyone trains; refusing them at
// build keeps every size computed from them (weights, im2col buffers, outputs) small and exact.
constexpr int kMaxSide = 16384, kMaxChannels = 65536, kMaxKernel = 1024, kMaxUnits = 1 << 24;
constexpr int64_t kMaxActivation = int64_t(1) << 31;  // values of one layer's output per sample

void check_parameters(const Layer& l, const Shape& in) {
  const std::string where = "layer '" + l.name + "' (" + l.class_name + ")";
  auto need = [&](const char* what, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      throw std::invalid_argument(where + ": " + what + " is " + std::to_string(v) + ", expected " + std::to_string(lo) +
                                  ".." + std::to_string(hi));
  };
  const int64_t c = in.rank() ? in[in.rank() - 1] : 0;
  switch (l.type) {
    case LayerType::conv2d:
      need("filters", l.filters, 1, kMaxChannels);
      need("input channels", c, 1, kMaxChannels);
      [[fallthrough]];
    case LayerType::max_pool2d:
    case LayerType::avg_pool2d:
      need("kernel height", l.kernel_h, 1, kMaxKernel);
      need("kernel width", l.kernel_w, 1, kMaxKernel);
      need("stride height", l.stride_h, 1, kMaxKernel);
      need("stride width", l.stride_w, 1, kMaxKernel);
      break;
    case LayerType::dense:
      need("units", l.units, 1, kMaxUnits);
      if (in.rank() == 1) need("input features", c, 1, kMaxActivation);
      break;
    case LayerType::batch_norm:
      if (!(l.epsilon >= 0.f && l.epsilon < 1e6f))
        throw std::invalid_argument(where + ": epsilon " + std::to_string(l.epsilon) + " is not in [0, 1e6)");
      break;
    case LayerType::dropout:
      if (!(l.dropout_rate >= 0.f && l.dropout_rate < 1.f))
        throw std::invalid_argument(where + ": rate " + std::to_string(l.dropout_rate) + " is not in [0, 1)");
      break;
    case LayerType::leaky_relu:
      if (!(l.alpha > -1e6f && l.alpha < 1e6f)) throw std::invalid_argument(where + ": alpha is not a finite number");
      break;
    default: break;
  }
}

Var activate(const Var& y, Activation a) {
  switch (a) {
    case Activation::linear: return y;
    case Activation::relu: return relu(y);
    case Activation::softmax: return softmax(y);
    case Activation::sigmoid: return sigmoid(y);
    case Activation::tanh: return convis::tanh(y);
  }
  return y;
}

}  // namespace

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
  Shape s{h, w, input_c};
  for (Layer& l : layers) {
    check_parameters(l, s);
    const Shape out = layer_output_shape(l, s);
    if (out.numel() < 1 || out.numel() > kMaxActivation)
      throw std::invalid_argument("layer '" + l.name + "' (" + l.class_name + ") on input " + s.str() + " has output " +
                                  out.str() + ", expected 1.." + std::to_string(kMaxActivation) + " values per sample");
    if (!l.weights.empty()) {
      const std::vector<Shape> want = l.expected_weight_shapes(s);
      if (want.size() != l.weights.size())
        throw std::invalid_argument("layer '" + l.name + "' has " + std::to_string(l.weights.size()) +
                                    " weights, expected " + std::to_string(want.size()));
      for (size_t i = 0; i < want.size(); ++i)
        if (l.weights[i].shape() != want[i])
          throw std::invalid_argument("layer '" + l.name + "' " + l.weight_names[i] + " is " +
                                      l.weights[i].shape().str() + ", expected " + want[i].str() + " for input " +
                                      s.str());
    }
    l.output_shape = out;
    s = out;
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

Var Model::forward(const Var& x, int last, bool pre_activation) const {
  if (last < 0) last = int(layers.size()) - 1;
  if (last >= int(layers.size()))
    throw std::invalid_argument("forward: layer index " + std::to_string(last) + " out of range");
  const Shape& xs = x.shape();
  if (xs.rank() != 4 || xs[3] != input_c)
    throw std::invalid_argument("model '" + name + "': input has shape " + xs.str() + ", expected (N, H, W, " +
                                std::to_string(input_c) + ")");
  return forward_from(x, 1, last, pre_activation);
}

Var Model::forward_from(const Var& x, int first, int last, bool pre_activation) const {
  if (last < 0) last = int(layers.size()) - 1;
  if (last >= int(layers.size()) || first < 1 || first > last + 1)
    throw std::invalid_argument("forward_from: layers " + std::to_string(first) + ".." + std::to_string(last) +
                                " out of range 1.." + std::to_string(layers.size() - 1));
  Var h = x;
  for (int i = first; i <= last; ++i) {
    const Layer& l = layers[size_t(i)];
    const bool act = !(pre_activation && i == last);
    const Var bias = l.use_bias && l.weights.size() > 1 ? l.weights[1] : Var();
    switch (l.type) {
      case LayerType::input: break;
      case LayerType::conv2d: {
        const bool fuse = act && l.activation == Activation::relu;
        h = conv2d(h, l.weights.at(0), bias, l.stride_h, l.stride_w, l.padding, fuse);
        if (act && !fuse) h = activate(h, l.activation);
        break;
      }
      case LayerType::dense: {
        if (h.shape().rank() != 2)
          throw std::invalid_argument("layer '" + l.name + "' (Dense) needs a flat input, got " + h.shape().str());
        const bool fuse = act && l.activation == Activation::relu;
        h = dense(h, l.weights.at(0), bias, fuse);
        if (act && !fuse) h = activate(h, l.activation);
        break;
      }
      case LayerType::max_pool2d:
        h = max_pool2d(h, l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.padding);
        break;
      case LayerType::avg_pool2d:
        h = avg_pool2d(h, l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.padding);
        break;
      case LayerType::global_avg_pool2d: h = global_avg_pool2d(h); break;
      case LayerType::global_max_pool2d: h = global_max_pool2d(h); break;
      case LayerType::flatten: h = flatten(h); break;
      case LayerType::dropout: break;  // identity at inference
      case LayerType::batch_norm: {
        const int64_t c = h.shape()[h.shape().rank() - 1];
        size_t k = 0;
        const Var gamma = l.bn_scale ? l.weights.at(k++) : Var::constant(Tensor::full({c}, 1.f));
        const Var beta = l.bn_center ? l.weights.at(k++) : Var::constant(Tensor::zeros({c}));
        h = batch_norm_inference(h, gamma, beta, l.weights.at(k), l.weights.at(k + 1), l.epsilon);
        break;
      }
      case LayerType::activation:
        if (act) h = activate(h, l.activation);
        break;
      case LayerType::leaky_relu:
        if (act) h = leaky_relu(h, l.alpha);
        break;
    }
  }
  return h;
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
  const Var h = forward(x, last - 1);  // layers 1..last-1 (last - 1 == 0: x itself)
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
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (it->type == LayerType::dropout || it->type == LayerType::flatten) continue;
    return it->activation == Activation::softmax;
  }
  return false;
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

// Keras 2's print_summary for a sequential-like model: columns end at 29, 55 and 65 characters.
std::string Model::summary() const {
  const std::string rule(65, '_'), double_rule(65, '=');
  std::string out = "Model: \"" + name + "\"\n" + rule + "\n";
  out += pad_to(" Layer (type)", 29) + pad_to("Output Shape", 26) + pad_to("Param #", 10) + "\n" + double_rule + "\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    out += pad_to(" " + l.name + " (" + l.class_name + ")", 29) +
           pad_to(built_h_ ? keras_shape(l.output_shape, l.type == LayerType::input) : "?", 26) +
           pad_to(std::to_string(l.param_count()), 10) + "\n";
    out += (i + 1 < layers.size() ? std::string(65, ' ') : double_rule) + "\n";
  }
  const int64_t total = param_count(), frozen = non_trainable_count();
  out += "Total params: " + with_commas(total) + "\n";
  out += "Trainable params: " + with_commas(total - frozen) + "\n";
  out += "Non-trainable params: " + with_commas(frozen) + "\n" + rule + "\n";
  return out;
}

namespace {

// Fills every layer's weights given the per-sample input shape of the model, with `kernel`
// drawing each kernel from (fan_in, fan_out).
template <class KernelInit>
void init_weights(Model& m, KernelInit kernel) {
  if (!m.built_h()) m.build();
  Shape s{m.built_h(), m.built_w(), m.input_c};
  for (Layer& l : m.layers) {
    const std::vector<Shape> shapes = l.expected_weight_shapes(s);
    l.weights.clear();
    l.weight_names.clear();
    if (l.type == LayerType::batch_norm) {
      if (l.bn_scale) { l.weights.push_back(Var::param(Tensor::full(shapes[0], 1.f))); l.weight_names.push_back("gamma:0"); }
      if (l.bn_center) { l.weights.push_back(Var::param(Tensor::zeros(shapes[0]))); l.weight_names.push_back("beta:0"); }
      l.weights.push_back(Var::constant(Tensor::zeros(shapes[0])));
      l.weight_names.push_back("moving_mean:0");
      l.weights.push_back(Var::constant(Tensor::full(shapes[0], 1.f)));
      l.weight_names.push_back("moving_variance:0");
    } else if (!shapes.empty()) {
      const Shape& ks = shapes[0];
      // Conv (KH,KW,C,OC): fan_in = KH*KW*C, fan_out = KH*KW*OC. Dense (in,out).
      const int64_t receptive = ks.rank() == 4 ? ks[0] * ks[1] : 1;
      const int64_t fan_in = receptive * ks[ks.rank() - 2], fan_out = receptive * ks[ks.rank() - 1];
      Tensor k(ks);
      kernel(k, fan_in, fan_out);
      l.weights.push_back(Var::param(k));
      l.weight_names.push_back("kernel:0");
      if (shapes.size() > 1) {
        l.weights.push_back(Var::param(Tensor::zeros(shapes[1])));
        l.weight_names.push_back("bias:0");
      }
    }
    s = l.output_shape;
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
