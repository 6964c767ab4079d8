// Activation maximisation: what every method shares (vis/maximize_method.h says what a method
// is; each has its own file, maximize_<name>.cpp, and a row of the table below).
#include "vis/maximize.h"

#include "engine/receptive_field.h"

#include <algorithm>
#include <memory>
#include <random>
#include <stdexcept>

#include "engine/autograd.h"
#include "vis/maximize_method.h"

namespace convis {

namespace {

// The methods, one row each (vis/maximize_method.h), in the order their names are listed:
// the method, its name, default steps and step size, and what makes its parametrisation.
const MaximizeMethodRow kMethods[] = {
    {MaximizeMethod::lucid, "lucid", 512, 0.05f, make_lucid_method},
    {MaximizeMethod::seed, "seed", 500, 0.1f, make_seed_method},
    {MaximizeMethod::yosinski, "yosinski", 500, 4.f, make_yosinski_method},
};

}  // namespace

const MaximizeMethodRow& maximize_method(MaximizeMethod m) {
  for (const MaximizeMethodRow& r : kMethods)
    if (r.method == m) return r;
  throw std::invalid_argument("maximize: unknown method " + std::to_string(int(m)));
}

MaximizeMethod parse_maximize_method(const std::string& name) {
  std::string names;
  for (const MaximizeMethodRow& r : kMethods) {
    if (name == r.name) return r.method;
    names += (names.empty() ? "" : ", ") + std::string(r.name);
  }
  throw std::invalid_argument("unknown method '" + name + "' (" + names + ")");
}

const char* maximize_method_name(MaximizeMethod m) { return maximize_method(m).name; }

MaximizeObjective parse_maximize_objective(const std::string& name) {
  if (name == "channel") return MaximizeObjective::channel;
  if (name == "neuron") return MaximizeObjective::neuron;
  throw std::invalid_argument("unknown objective '" + name + "' (channel, neuron)");
}

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Every random number a filter's image uses comes from this stream.
std::mt19937_64 filter_rng(uint64_t seed, int filter) { return std::mt19937_64(splitmix64(seed ^ splitmix64(uint64_t(filter)))); }

// The batch objective: image b's value is the mean over (H, W) of channel filters[b] (or unit
// filters[b] of a flat output). dy receives the gradient of their sum with respect to y.
// y may also hold each image's own channel only (Model::forward_channels): then C = 1 and the
// channel is index 0 (as it is for any one-channel layer).
// neuron: the unit at the centre (H'/2, W'/2) of the channel instead of the mean.
std::vector<float> objective(const Tensor& y, const std::vector<int>& filters, Tensor* dy, bool neuron = false) {
  const int64_t B = y.dim(0), C = y.dim(y.rank() - 1);
  const int64_t per = y.numel() / B / C;  // spatial positions per image (1 for dense)
  if (dy) *dy = Tensor::zeros(y.shape());
  std::vector<float> out(static_cast<size_t>(B));
  const bool one = neuron && y.rank() == 4;
  const int64_t centre = one ? (y.dim(1) / 2) * y.dim(2) + y.dim(2) / 2 : 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t f = C == 1 ? 0 : filters[size_t(b)];
    double acc = 0.0;
    for (int64_t i = one ? centre : 0; i < (one ? centre + 1 : per); ++i) {
      const int64_t at = (b * per + i) * C + f;
      acc += y[at];
      if (dy) (*dy)[at] = one ? 1.f : 1.f / float(per);
    }
    out[size_t(b)] = one ? float(acc) : float(acc / double(per));
  }
  return out;
}

// Copies image b of a batch (B, ...) into its own (1, ...) tensor.
Tensor slice_image(const Tensor& batch, int64_t b) {
  std::vector<int64_t> dims = batch.shape().dims();
  dims[0] = 1;
  Tensor t{Shape(dims)};
  const int64_t n = t.numel();
  std::copy(batch.data() + b * n, batch.data() + (b + 1) * n, t.data());
  return t;
}

}  // namespace

Maximizer::Maximizer(const Model& m, const std::string& layer, const MaximizeOptions& opt) : opt_(opt), layer_(layer) {
  const int idx = m.layer_index(layer);
  if (idx == 0) throw std::invalid_argument("layer '" + layer + "' is the model's input; pick a layer after it");
  if (opt.batch <= 0) throw std::invalid_argument("batch must be positive, got " + std::to_string(opt.batch));
  if (opt.size < 0 || (opt.size > 0 && opt.size < 8))
    throw std::invalid_argument("size " + std::to_string(opt.size) + " is too small (at least 8 pixels)");

  model_.name = m.name;
  model_.input_c = m.input_c;
  model_.layers.assign(m.layers.begin(), m.layers.begin() + idx + 1);
  const bool fixed = m.input_h > 0 && m.input_w > 0;
  rf_ = unit_receptive_field(m, idx);
  const bool spatial = m.layers[size_t(idx)].has_spatial_output();
  const int default_side = fixed ? std::min(m.input_h, m.input_w) : 96;
  neuron_ = spatial && (opt.objective == MaximizeObjective::neuron ||
                        (opt.objective == MaximizeObjective::automatic && opt.size == 0 && 4 * rf_ <= default_side));
  if (opt.size == 0 && neuron_ && opt.objective == MaximizeObjective::automatic) {
    h_ = w_ = std::min(std::max(16, 4 * rf_), default_side);
    notes_.push_back("a unit of layer '" + layer + "' sees " + std::to_string(rf_) + "x" + std::to_string(rf_) +
                     " pixels: maximising the centre unit of each channel on a " + std::to_string(h_) + "x" +
                     std::to_string(w_) + " image (the objective 'channel' maximises the whole map's mean)");
  } else if (opt.size == 0) {
    h_ = fixed ? m.input_h : 96;
    w_ = fixed ? m.input_w : 96;
  } else {
    h_ = w_ = opt.size;
  }
  if (fixed && (h_ != m.input_h || w_ != m.input_w)) {
    // A fixed input size matters only where the model flattens a feature map into a vector.
    for (int i = 1; i <= idx; ++i)
      if (m.layers[size_t(i)].type == LayerType::flatten)
        throw std::invalid_argument("model '" + m.name + "' takes " + std::to_string(m.input_h) + "x" +
                                    std::to_string(m.input_w) + " inputs and flattens them at layer '" +
                                    m.layers[size_t(i)].name + "' before '" + layer + "': use size " +
                                    std::to_string(m.input_h) + " (or leave it out)");
  }
  model_.input_h = fixed && h_ == m.input_h && w_ == m.input_w ? m.input_h : 0;
  model_.input_w = model_.input_h ? m.input_w : 0;
  model_.build(h_, w_);
  c_ = m.input_c;

  const Layer& L = model_.layers.back();
  dense_ = !L.has_spatial_output();
  num_filters_ = int(L.output_shape[L.output_shape.rank() - 1]);
  pre_activation_ = opt.pre_relu;
  if (L.activation == Activation::softmax && (L.type == LayerType::dense || L.type == LayerType::conv2d ||
                                              L.type == LayerType::activation)) {
    pre_activation_ = true;
    notes_.push_back("layer '" + layer + "' ends in a softmax: maximising the logit (pre-softmax value), since a "
                     "probability can also rise by pushing the other classes down");
  } else if (opt.pre_relu) {
    const bool has_own = (L.type == LayerType::conv2d || L.type == LayerType::dense) ? L.activation != Activation::linear
                         : L.type == LayerType::activation || L.type == LayerType::leaky_relu || L.type == LayerType::relu;
    if (!has_own)
      notes_.push_back("pre-ReLU: layer '" + layer + "' (" + L.class_name +
                       ") has no activation of its own, so its output is maximised as it is");
  }

  const MaximizeMethodRow& method = maximize_method(opt.method);
  iters_ = opt.iters >= 0 ? opt.iters : method.default_iters;
  step_ = opt.step > 0.f ? opt.step : method.default_step;
  pre_ = opt.preprocess ? *opt.preprocess : default_preprocess(m);
  positions_ = dense_ ? 1 : int(L.output_shape[0] * L.output_shape[1]);

  for (const Layer& l : model_.layers)
    for (const Var& v : l.weights) was_trainable_.push_back(v.requires_grad());
  model_.set_trainable(false);
  // A target whose own activation is a ReLU (fused into Conv2D / Dense, or an Activation('relu')
  // layer) is run to its pre-activation in run(), so that an image whose channel is 0 everywhere
  // still gets a gradient (redirect_ below).
  redirect_ = !pre_activation_ && L.activation == Activation::relu &&
              (L.type == LayerType::conv2d || L.type == LayerType::dense || L.type == LayerType::activation);
  // Only each image's own channel of a Conv2D target is computed, forward and backward.
  const int last = int(model_.layers.size()) - 1;
  select_ = model_.can_select_channels(last, pre_activation_) && (!redirect_ || model_.can_select_channels(last, true));
}

// The one-channel path needs the target layer frozen. Another Maximizer over the same model that
// ends first restores the weights' trainability; then this one falls back to the whole output.
bool Maximizer::selecting() const {
  if (!select_) return false;
  for (const Var& w : model_.layers.back().weights)
    if (w.requires_grad()) return false;
  return true;
}

std::vector<float> Maximizer::ascend(const Var& x, const std::vector<int>& filters) const {
  const Var y = target(x, filters);
  Tensor dy;
  const std::vector<float> value = objective(y.value(), filters, &dy, neuron_);
  Tape::current().backward(y, dy);
  return value;
}

Var Maximizer::target(const Var& x, const std::vector<int>& filters, bool pre_activation) const {
  const int last = int(model_.layers.size()) - 1;
  return selecting() ? model_.forward_channels(x, last, filters, pre_activation)
                     : model_.forward(x, last, pre_activation);
}

Var Maximizer::target(const Var& x, const std::vector<int>& filters) const { return target(x, filters, pre_activation_); }

// Lucid's "redirected ReLU" (lucid/misc/redirected_relu_grad.py) for the target's own ReLU: the
// objective is the mean of relu(z) over the channel; where some position of image b is positive
// its gradient is the ReLU's, (z > 0) / P; where none is, the ReLU would pass nothing and the
// image would never change, so the gradient goes through as if the ReLU were not there (1 / P
// everywhere, pushing the pre-activation up) until a position turns positive. The objective
// reported is always relu(z)'s.
std::vector<float> Maximizer::ascend_redirected(const Var& x, const std::vector<int>& filters) const {
  const Var z = target(x, filters, true);
  Tensor y = z.value().clone();
  for (int64_t i = 0; i < y.numel(); ++i) y[i] = std::max(y[i], 0.f);
  Tensor dz;
  const std::vector<float> value = objective(y, filters, &dz, neuron_);
  const int64_t B = y.dim(0), per = y.numel() / B;
  for (int64_t b = 0; b < B; ++b) {
    if (value[size_t(b)] == 0.f) continue;  // no positive position: redirected, dz stays 1/P
    for (int64_t i = b * per; i < (b + 1) * per; ++i)
      if (!(z.value()[i] > 0.f)) dz[i] = 0.f;
  }
  Tape::current().backward(z, dz);
  return value;
}

std::vector<float> Maximizer::input_gradient(const Tensor& x, const std::vector<int>& filters, Tensor* grad) const {
  for (int f : filters) check_filter(f);
  if (int64_t(filters.size()) != x.dim(0))
    throw std::invalid_argument("input_gradient: " + std::to_string(filters.size()) + " filters for a batch of " +
                                std::to_string(x.dim(0)) + " images");
  Tape::current().clear();
  const Var p = Var::param(x);
  const std::vector<float> value = ascend(p, filters);
  *grad = p.grad();
  p.zero_grad();
  return value;
}

Maximizer::~Maximizer() {
  size_t k = 0;
  for (const Layer& l : model_.layers)
    for (const Var& v : l.weights) v.set_requires_grad(was_trainable_[k++]);
}

void Maximizer::check_filter(int filter) const {
  if (filter < 0 || filter >= num_filters_)
    throw std::invalid_argument("filter " + std::to_string(filter) + " out of range: " + layer_ + " has " +
                                std::to_string(num_filters_) + (dense_ ? " units" : " filters") + " (0.." +
                                std::to_string(num_filters_ - 1) + ")");
}

std::vector<float> Maximizer::activation(const Tensor& x, int filter) const {
  check_filter(filter);
  NoGrad no_grad;
  const std::vector<int> filters(size_t(x.dim(0)), filter);
  return objective(target(Var::constant(x), filters).value(), filters, nullptr, neuron_);
}

std::vector<MaximizeResult> Maximizer::run(const std::vector<int>& filters, const MaximizeObserver& observe,
                                           const MaximizeSink& sink) const {
  for (int f : filters) check_filter(f);
  std::vector<MaximizeResult> out;
  for (size_t first = 0; first < filters.size(); first += size_t(opt_.batch)) {
    const size_t last = std::min(filters.size(), first + size_t(opt_.batch));
    std::vector<MaximizeResult> r = run_batch({filters.begin() + long(first), filters.begin() + long(last)}, observe);
    for (auto& x : r) {
      if (sink) sink(std::move(x));
      else out.push_back(std::move(x));
    }
  }
  return out;
}

// The shared loop of every method (vis/maximize_method.h): start, then per step the input, the
// objective's forward and backward, the method's step; then the pictures and clean activations.
std::vector<MaximizeResult> Maximizer::run_batch(const std::vector<int>& filters, const MaximizeObserver& observe) const {
  const int64_t B = int64_t(filters.size()), H = h_, W = w_, C = c_;
  std::vector<std::mt19937_64> rng;
  for (int f : filters) rng.push_back(filter_rng(opt_.seed, f));
  MaximizeSetup setup;
  setup.batch = B;
  setup.h = H;
  setup.w = W;
  setup.c = C;
  setup.step = step_;
  setup.positions = positions_;
  setup.receptive_field = rf_;
  setup.preprocess = pre_;
  setup.options = &opt_;
  const std::unique_ptr<MaximizeParametrisation> method = maximize_method(opt_.method).make(setup);

  Var p = method->init(rng);
  std::vector<std::vector<float>> losses(static_cast<size_t>(B));
  for (int it = 0; it < iters_; ++it) {
    Tape::current().clear();
    p.zero_grad();
    const Var x = method->input(p, &rng);
    const std::vector<float> value = redirect_ ? ascend_redirected(x, filters) : ascend(x, filters);
    for (int64_t b = 0; b < B; ++b) losses[size_t(b)].push_back(value[size_t(b)]);
    if (observe) observe(it, filters, value);
    method->step(p, it);
  }
  Tape::current().clear();
  p.zero_grad();

  std::vector<MaximizeResult> out(static_cast<size_t>(B));
  NoGrad no_grad;
  const Tensor input = method->input(Var::constant(p.value()), nullptr).value();
  const Tensor shown = method->display(p);
  const std::vector<float> act = objective(target(Var::constant(input), filters).value(), filters, nullptr, neuron_);
  for (int64_t b = 0; b < B; ++b) {
    MaximizeResult& r = out[size_t(b)];
    r.filter = filters[size_t(b)];
    r.input = slice_image(input, b);
    r.image = slice_image(shown, b).reshape(Shape{H, W, C});
    r.losses = std::move(losses[size_t(b)]);
    r.activation = act[size_t(b)];
  }
  return out;
}

std::vector<MaximizeResult> maximize(const Model& m, const std::string& layer, const std::vector<int>& filters,
                                     const MaximizeOptions& opt, const MaximizeObserver& observe) {
  return Maximizer(m, layer, opt).run(filters, observe);
}

}  // namespace convis
