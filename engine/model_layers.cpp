// Per-layer rules (engine/model_layers.h): activation names, weight shapes, output shapes with
// the parameter checks a hostile file needs, and the op each layer applies.
#include "engine/model_layers.h"

#include <cmath>
#include <stdexcept>

#include "engine/ops.h"

namespace convis {

namespace {

struct ActivationName {
  Activation a;
  const char* name;
};
// Keras' names; "silu" and "hard_silu" are Keras 3's spellings of swish and hard_swish.
constexpr ActivationName kActivations[] = {
    {Activation::linear, "linear"},   {Activation::relu, "relu"},         {Activation::softmax, "softmax"},
    {Activation::sigmoid, "sigmoid"}, {Activation::tanh, "tanh"},         {Activation::relu6, "relu6"},
    {Activation::swish, "swish"},     {Activation::hard_sigmoid, "hard_sigmoid"},
    {Activation::hard_swish, "hard_swish"}, {Activation::elu, "elu"},     {Activation::selu, "selu"},
    {Activation::gelu, "gelu"},       {Activation::softplus, "softplus"},
};

}  // namespace

const char* activation_name(Activation a) {
  for (const ActivationName& n : kActivations)
    if (n.a == a) return n.name;
  return "linear";
}

Activation parse_activation(const std::string& name, const std::string& layer) {
  if (name.empty()) return Activation::linear;
  if (name == "silu") return Activation::swish;
  if (name == "hard_silu") return Activation::hard_swish;
  std::string all;
  for (const ActivationName& n : kActivations) {
    if (name == n.name) return n.a;
    all += (all.empty() ? "" : ", ") + std::string(n.name);
  }
  throw std::invalid_argument("layer '" + layer + "': activation '" + name + "' is not supported (supported: " + all +
                              ", silu, hard_silu)");
}

bool is_merge(LayerType t) {
  switch (t) {
    case LayerType::add:
    case LayerType::subtract:
    case LayerType::multiply:
    case LayerType::average:
    case LayerType::maximum:
    case LayerType::concatenate: return true;
    default: return false;
  }
}

namespace {

// axis of a per-sample shape of rank r from Keras' axis of the batched tensor (-1 = last,
// 1..r = the per-sample axes; 0, the batch, is not an axis a layer may name here). -1 if invalid.
int sample_axis(int axis, int r) {
  if (axis < 0) axis += r + 1;
  return axis >= 1 && axis <= r ? axis - 1 : -1;
}

}  // namespace

std::vector<Shape> Layer::expected_weight_shapes(const Shape& in) const {
  const int64_t c = in.rank() ? in[in.rank() - 1] : 0;
  switch (type) {
    case LayerType::conv2d:
      if (use_bias) return {Shape{kernel_h, kernel_w, c, filters}, Shape{filters}};
      return {Shape{kernel_h, kernel_w, c, filters}};
    case LayerType::depthwise_conv2d:
      if (use_bias) return {Shape{kernel_h, kernel_w, c, depth_multiplier}, Shape{c * depth_multiplier}};
      return {Shape{kernel_h, kernel_w, c, depth_multiplier}};
    case LayerType::separable_conv2d: {
      std::vector<Shape> s{Shape{kernel_h, kernel_w, c, depth_multiplier}, Shape{1, 1, c * depth_multiplier, filters}};
      if (use_bias) s.push_back(Shape{filters});
      return s;
    }
    case LayerType::dense:
      if (use_bias) return {Shape{c, units}, Shape{units}};
      return {Shape{c, units}};
    case LayerType::batch_norm: {
      const int a = sample_axis(axis, in.rank());
      const int64_t n = a >= 0 ? in[a] : c;
      std::vector<Shape> s;
      if (bn_scale) s.push_back(Shape{n});
      if (bn_center) s.push_back(Shape{n});
      s.push_back(Shape{n});
      s.push_back(Shape{n});
      return s;
    }
    case LayerType::normalization:
      // mean, variance, count; a config that gave one mean and variance for every channel holds
      // them as (1) (Keras broadcasts them; normalize_inference does)
      if (weights.size() == 3 && weights[0].shape() == Shape{1}) return {Shape{1}, Shape{1}, Shape{}};
      return {Shape{c}, Shape{c}, Shape{}};
    default: return {};
  }
}

int64_t Layer::param_count() const {
  int64_t n = 0;
  for (const Var& w : weights) n += w.value().numel();
  return n;
}

int64_t Layer::non_trainable_count() const {
  if (type == LayerType::normalization) return param_count();  // adapted statistics, never trained
  if (type != LayerType::batch_norm || weights.size() < 2) return 0;
  // moving_mean and moving_variance are always the last two.
  return weights[weights.size() - 1].value().numel() + weights[weights.size() - 2].value().numel();
}

namespace {

// What a loadable model may declare. Larger values are no model anyone trains; refusing them at
// build keeps every size computed from them (weights, im2col buffers, outputs) small and exact.
constexpr int kMaxSide = 16384, kMaxChannels = 65536, kMaxKernel = 1024, kMaxUnits = 1 << 24;
constexpr int64_t kMaxActivation = int64_t(1) << 31;  // values of one layer's output per sample

std::string where_of(const Layer& l) { return "layer '" + l.name + "' (" + l.class_name + ")"; }

void need(const Layer& l, const char* what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    throw std::invalid_argument(where_of(l) + ": " + what + " is " + std::to_string(v) + ", expected " +
                                std::to_string(lo) + ".." + std::to_string(hi));
}

void need_finite(const Layer& l, const char* what, float v) {
  if (!(v > -1e30f && v < 1e30f)) throw std::invalid_argument(where_of(l) + ": " + what + " is not a finite number");
}

void check_parameters(const Layer& l, const Shape& in) {
  const int64_t c = in.rank() ? in[in.rank() - 1] : 0;
  switch (l.type) {
    case LayerType::conv2d:
    case LayerType::separable_conv2d:
      need(l, "filters", l.filters, 1, kMaxChannels);
      [[fallthrough]];
    case LayerType::depthwise_conv2d:
      need(l, "input channels", c, 1, kMaxChannels);
      if (l.type != LayerType::conv2d) {
        need(l, "depth_multiplier", l.depth_multiplier, 1, kMaxChannels);
        need(l, "depthwise channels", c * l.depth_multiplier, 1, kMaxChannels);
      }
      [[fallthrough]];
    case LayerType::max_pool2d:
    case LayerType::avg_pool2d:
      need(l, "kernel height", l.kernel_h, 1, kMaxKernel);
      need(l, "kernel width", l.kernel_w, 1, kMaxKernel);
      need(l, "stride height", l.stride_h, 1, kMaxKernel);
      need(l, "stride width", l.stride_w, 1, kMaxKernel);
      break;
    case LayerType::dense:
      need(l, "units", l.units, 1, kMaxUnits);
      if (in.rank() == 1) need(l, "input features", c, 1, kMaxActivation);
      break;
    case LayerType::batch_norm:
      if (!(l.epsilon >= 0.f && l.epsilon < 1e6f))
        throw std::invalid_argument(where_of(l) + ": epsilon " + std::to_string(l.epsilon) + " is not in [0, 1e6)");
      if (sample_axis(l.axis, in.rank()) < 0)
        throw std::invalid_argument(where_of(l) + ": axis " + std::to_string(l.axis) + " is not an axis of its input " +
                                    in.str());
      break;
    case LayerType::dropout:
      if (l.class_name == "GaussianNoise") {  // dropout_rate holds its stddev
        if (!(l.dropout_rate >= 0.f && l.dropout_rate < 1e30f))
          throw std::invalid_argument(where_of(l) + ": stddev " + std::to_string(l.dropout_rate) + " is not >= 0");
      } else if (!(l.dropout_rate >= 0.f && l.dropout_rate < 1.f)) {
        throw std::invalid_argument(where_of(l) + ": rate " + std::to_string(l.dropout_rate) + " is not in [0, 1)");
      }
      break;
    case LayerType::normalization:
      if (in.rank() < 1 || sample_axis(l.axis, in.rank()) != in.rank() - 1)
        throw std::invalid_argument(where_of(l) + ": axis " + std::to_string(l.axis) + " is not the last axis of its input " +
                                    in.str() + " (convis normalises the last axis only)");
      break;
    case LayerType::leaky_relu: need_finite(l, "alpha", l.alpha); break;
    case LayerType::relu:
      if (!(l.max_value >= 0.f)) throw std::invalid_argument(where_of(l) + ": max_value must be 0 or more");
      need_finite(l, "threshold", l.threshold);
      need_finite(l, "negative_slope", l.negative_slope);
      break;
    case LayerType::zero_padding2d:
    case LayerType::cropping2d:
      for (int p : {l.pad_top, l.pad_bottom, l.pad_left, l.pad_right}) need(l, "padding/cropping", p, 0, kMaxSide);
      break;
    case LayerType::upsampling2d:
      need(l, "size height", l.size_h, 1, kMaxKernel);
      need(l, "size width", l.size_w, 1, kMaxKernel);
      break;
    case LayerType::rescaling:
      need_finite(l, "scale", l.scale);
      need_finite(l, "offset", l.offset);
      break;
    default: break;
  }
}

// Merge layers: same rank, each axis equal or 1 in all but one input (Keras' broadcasting of
// elementwise merges); Concatenate: equal but along its axis.
Shape merge_shape(const Layer& l, const std::vector<Shape>& in) {
  const std::string where = where_of(l);
  const int r = in[0].rank();
  for (const Shape& s : in)
    if (s.rank() != r)
      throw std::invalid_argument(where + ": inputs " + in[0].str() + " and " + s.str() + " have different ranks");
  if (l.type == LayerType::concatenate) {
    const int a = sample_axis(l.axis, r);
    if (a < 0) throw std::invalid_argument(where + ": axis " + std::to_string(l.axis) + " is not an axis of " + in[0].str());
    Shape out = in[0];
    int64_t total = 0;
    for (const Shape& s : in) {
      for (int k = 0; k < r; ++k)
        if (k != a && s[k] != in[0][k])
          throw std::invalid_argument(where + ": inputs " + in[0].str() + " and " + s.str() +
                                      " differ on an axis other than the concatenation axis " + std::to_string(l.axis));
      total += s[a];
    }
    out[a] = total;
    return out;
  }
  if (l.type == LayerType::subtract && in.size() != 2)
    throw std::invalid_argument(where + ": has " + std::to_string(in.size()) + " inputs, expected 2");
  Shape out = in[0];
  for (const Shape& s : in)
    for (int k = 0; k < r; ++k) {
      if (s[k] == out[k] || s[k] == 1) continue;
      if (out[k] == 1) { out[k] = s[k]; continue; }
      throw std::invalid_argument(where + ": inputs " + in[0].str() + " and " + s.str() +
                                  " have different shapes (each axis must match or be 1)");
    }
  return out;
}

Shape reshape_shape(const Layer& l, const Shape& in) {
  const std::string where = where_of(l);
  if (l.target_shape.empty() || l.target_shape.size() > size_t(Shape::kMaxRank - 1))
    throw std::invalid_argument(where + ": target_shape has " + std::to_string(l.target_shape.size()) +
                                " axes, expected 1.." + std::to_string(Shape::kMaxRank - 1) +
                                " (convis tensors have at most " + std::to_string(Shape::kMaxRank) +
                                " axes, the batch included)");
  int64_t known = 1;
  int free = -1;
  for (size_t k = 0; k < l.target_shape.size(); ++k) {
    const int64_t d = l.target_shape[k];
    if (d == -1 && free < 0) { free = int(k); continue; }
    if (d < 1 || d > kMaxActivation)
      throw std::invalid_argument(where + ": target_shape has a size " + std::to_string(d) + ", expected 1.." +
                                  std::to_string(kMaxActivation) + " or one -1");
    known *= d;
    if (known > kMaxActivation) throw std::invalid_argument(where + ": target_shape has too many values");
  }
  std::vector<int64_t> dims = l.target_shape;
  if (free >= 0) {
    if (in.numel() % known != 0)
      throw std::invalid_argument(where + ": cannot reshape " + in.str() + " to a shape with " + std::to_string(known) +
                                  " values per -1");
    dims[size_t(free)] = in.numel() / known;
  }
  const Shape out(dims);
  if (out.numel() != in.numel())
    throw std::invalid_argument(where + ": cannot reshape " + in.str() + " (" + std::to_string(in.numel()) +
                                " values) to " + out.str());
  return out;
}

Shape permute_shape(const Layer& l, const Shape& in) {
  const std::string where = where_of(l);
  const int r = in.rank();
  if (int(l.target_shape.size()) != r)
    throw std::invalid_argument(where + ": dims has " + std::to_string(l.target_shape.size()) +
                                " entries, its input " + in.str() + " has " + std::to_string(r) + " axes");
  std::vector<int64_t> dims(static_cast<size_t>(r), 0);
  std::vector<bool> used(size_t(r), false);
  for (int k = 0; k < r; ++k) {
    const int64_t d = l.target_shape[size_t(k)];
    if (d < 1 || d > r || used[size_t(d - 1)])
      throw std::invalid_argument(where + ": dims is not a permutation of 1.." + std::to_string(r));
    used[size_t(d - 1)] = true;
    dims[size_t(k)] = in[int(d - 1)];
  }
  return Shape(dims);
}

Shape windowed_shape(const Layer& l, const Shape& in, int64_t channels) {
  try {
    const AxisWindow h = window_along_axis(int(in[0]), l.kernel_h, l.stride_h, l.padding, "height");
    const AxisWindow w = window_along_axis(int(in[1]), l.kernel_w, l.stride_w, l.padding, "width");
    return Shape{h.out, w.out, channels};
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where_of(l) + " on input " + in.str() + ": " + e.what());
  }
}

}  // namespace

Shape layer_output_shape(const Layer& l, const std::vector<Shape>& ins) {
  const std::string where = where_of(l);
  const size_t want = l.type == LayerType::input ? 0 : 1;
  if (is_merge(l.type)) {
    if (ins.size() < 2 || ins.size() > 1024)
      throw std::invalid_argument(where + ": has " + std::to_string(ins.size()) + " inputs, expected 2 or more");
  } else if (ins.size() != want && !(l.type == LayerType::input && ins.size() == 1)) {
    throw std::invalid_argument(where + ": has " + std::to_string(ins.size()) + " inputs, expected " +
                                std::to_string(want));
  }
  if (l.type == LayerType::input) return ins.empty() ? Shape() : ins[0];
  const Shape& in = ins[0];
  auto need_rank = [&](int r) {
    if (in.rank() != r)
      throw std::invalid_argument(where + ": input shape " + in.str() + " has rank " + std::to_string(in.rank()) +
                                  ", expected " + std::to_string(r) + (r == 3 ? " (H, W, C)" : " (features,)"));
  };
  check_parameters(l, in);
  switch (l.type) {
    case LayerType::conv2d:
    case LayerType::separable_conv2d: need_rank(3); return windowed_shape(l, in, l.filters);
    case LayerType::depthwise_conv2d: need_rank(3); return windowed_shape(l, in, in[2] * l.depth_multiplier);
    case LayerType::max_pool2d:
    case LayerType::avg_pool2d: need_rank(3); return windowed_shape(l, in, in[2]);
    case LayerType::global_avg_pool2d:
    case LayerType::global_max_pool2d:
      need_rank(3);
      return l.keepdims ? Shape{1, 1, in[2]} : Shape{in[2]};
    case LayerType::dense: need_rank(1); return Shape{l.units};
    case LayerType::flatten: return Shape{in.numel()};
    case LayerType::zero_padding2d:
      need_rank(3);
      return Shape{in[0] + l.pad_top + l.pad_bottom, in[1] + l.pad_left + l.pad_right, in[2]};
    case LayerType::cropping2d: {
      need_rank(3);
      const int64_t h = in[0] - l.pad_top - l.pad_bottom, w = in[1] - l.pad_left - l.pad_right;
      if (h < 1 || w < 1)
        throw std::invalid_argument(where + ": cropping leaves nothing of its input " + in.str());
      return Shape{h, w, in[2]};
    }
    case LayerType::upsampling2d: need_rank(3); return Shape{in[0] * l.size_h, in[1] * l.size_w, in[2]};
    case LayerType::reshape: return reshape_shape(l, in);
    case LayerType::permute: return permute_shape(l, in);
    default:
      if (is_merge(l.type)) return merge_shape(l, ins);
      return in;  // dropout, batch_norm, activations, rescaling, normalization keep the shape
  }
}

Var apply_activation(const Var& y, Activation a, bool gelu_approximate) {
  switch (a) {
    case Activation::linear: return y;
    case Activation::relu: return relu(y);
    case Activation::softmax: return softmax(y);
    case Activation::sigmoid: return sigmoid(y);
    case Activation::tanh: return convis::tanh(y);
    case Activation::relu6: return relu6(y);
    case Activation::swish: return swish(y);
    case Activation::hard_sigmoid: return hard_sigmoid(y);
    case Activation::hard_swish: return hard_swish(y);
    case Activation::elu: return elu(y);
    case Activation::selu: return selu(y);
    case Activation::gelu: return gelu(y, gelu_approximate);
    case Activation::softplus: return softplus(y);
  }
  throw std::invalid_argument("activation " + std::to_string(int(a)) + " is not an Activation value");
}

namespace {

Var bias_of(const Layer& l, size_t k) { return l.use_bias && l.weights.size() > k ? l.weights[k] : Var(); }

// A Conv2D-like layer's own activation: fused into the convolution when it is a ReLU, left out
// when act is false.
Var activated(const Layer& l, const Var& y, bool act) { return act ? apply_activation(y, l.activation, l.gelu_approximate) : y; }

// Add, Multiply, Maximum of any number of inputs, left to right (as Keras' _Merge layers fold them).
template <class Op>
Var fold(const std::vector<Var>& in, Op op) {
  Var y = in.at(0);
  for (size_t i = 1; i < in.size(); ++i) y = op(y, in[i]);
  return y;
}

Var relu_of(const Layer& l, const Var& h) {
  const bool no_cap = std::isinf(l.max_value) && l.max_value > 0.f;
  if (l.threshold == 0.f && l.negative_slope == 0.f) {
    if (no_cap) return relu(h);  // the plain ReLU, its fast path
    if (l.max_value == 6.f) return relu6(h);
  }
  return relu_layer(h, l.max_value, l.threshold, l.negative_slope);
}

}  // namespace

Var apply_layer(const Layer& l, const std::vector<Var>& in, bool act) {
  const Var& h = in.at(0);
  const int64_t N = h.shape().rank() ? h.shape()[0] : 0;
  switch (l.type) {
    case LayerType::input: return h;
    case LayerType::conv2d: {
      const bool fuse = act && l.activation == Activation::relu;
      const Var y = conv2d(h, l.weights.at(0), bias_of(l, 1), l.stride_h, l.stride_w, l.padding, fuse);
      return fuse ? y : activated(l, y, act);
    }
    case LayerType::depthwise_conv2d:
      return activated(l, depthwise_conv2d(h, l.weights.at(0), bias_of(l, 1), l.stride_h, l.stride_w, l.padding), act);
    case LayerType::separable_conv2d: {
      // depthwise (no bias), then the pointwise 1x1 convolution with the layer's bias
      const Var d = depthwise_conv2d(h, l.weights.at(0), Var(), l.stride_h, l.stride_w, l.padding);
      const bool fuse = act && l.activation == Activation::relu;
      const Var y = conv2d(d, l.weights.at(1), bias_of(l, 2), 1, 1, Padding::valid, fuse);
      return fuse ? y : activated(l, y, act);
    }
    case LayerType::dense: {
      if (h.shape().rank() != 2)
        throw std::invalid_argument("layer '" + l.name + "' (Dense) needs a flat input, got " + h.shape().str());
      const bool fuse = act && l.activation == Activation::relu;
      const Var y = dense(h, l.weights.at(0), bias_of(l, 1), fuse);
      return fuse ? y : activated(l, y, act);
    }
    case LayerType::max_pool2d: return max_pool2d(h, l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.padding);
    case LayerType::avg_pool2d: return avg_pool2d(h, l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.padding);
    case LayerType::global_avg_pool2d:
    case LayerType::global_max_pool2d: {
      const Var y = l.type == LayerType::global_avg_pool2d ? global_avg_pool2d(h) : global_max_pool2d(h);
      return l.keepdims ? reshape(y, Shape{N, 1, 1, y.shape()[1]}) : y;
    }
    case LayerType::flatten: return flatten(h);
    case LayerType::dropout: return h;  // identity at inference (and the noise layers alike)
    case LayerType::batch_norm: {
      const int rank = h.shape().rank();
      const int axis = l.axis < 0 ? l.axis + rank : l.axis;
      const int64_t c = axis >= 1 && axis < rank ? h.shape()[axis] : 0;
      size_t k = 0;
      const Var gamma = l.bn_scale ? l.weights.at(k++) : Var::constant(Tensor::full({c}, 1.f));
      const Var beta = l.bn_center ? l.weights.at(k++) : Var::constant(Tensor::zeros({c}));
      return batch_norm_inference(h, gamma, beta, l.weights.at(k), l.weights.at(k + 1), l.epsilon, axis);
    }
    case LayerType::activation: return act ? apply_activation(h, l.activation, l.gelu_approximate) : h;
    case LayerType::leaky_relu: return act ? leaky_relu(h, l.alpha) : h;
    case LayerType::relu: return act ? relu_of(l, h) : h;
    case LayerType::add: return fold(in, [](const Var& a, const Var& b) { return add(a, b); });
    case LayerType::subtract: return sub(in.at(0), in.at(1));
    case LayerType::multiply: return fold(in, [](const Var& a, const Var& b) { return mul(a, b); });
    case LayerType::maximum: return fold(in, [](const Var& a, const Var& b) { return maximum(a, b); });
    case LayerType::average: return average(in);
    case LayerType::concatenate: return concat(in, l.axis);
    case LayerType::zero_padding2d: return zero_pad2d(h, l.pad_top, l.pad_bottom, l.pad_left, l.pad_right);
    case LayerType::cropping2d: return crop2d(h, l.pad_top, l.pad_bottom, l.pad_left, l.pad_right);
    case LayerType::upsampling2d: return upsample2d(h, l.size_h, l.size_w, l.bilinear);
    case LayerType::reshape: {
      const std::vector<int64_t> all = h.shape().dims();
      const std::vector<Shape> per_sample{Shape(std::vector<int64_t>(all.begin() + 1, all.end()))};
      std::vector<int64_t> dims = layer_output_shape(l, per_sample).dims();
      dims.insert(dims.begin(), N);
      return reshape(h, Shape(dims));
    }
    case LayerType::permute: {
      std::vector<int> dims;
      for (int64_t d : l.target_shape) dims.push_back(int(d));
      return permute(h, dims);
    }
    case LayerType::rescaling: {
      const Var y = l.scale == 1.f ? h : mul_scalar(h, l.scale);
      return l.offset == 0.f ? y : add_scalar(y, l.offset);
    }
    case LayerType::normalization: return normalize_inference(h, l.weights.at(0), l.weights.at(1));
  }
  throw std::invalid_argument("layer '" + l.name + "' (" + l.class_name + "): layer type " +
                              std::to_string(int(l.type)) + " has no op");
}

}  // namespace convis
