// Activation maximisation: the three methods of vis/maximize.h on a batch of images.
#include "vis/maximize.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "engine/ops.h"
#include "engine/ops_image.h"
#include "kernels/warp.h"

namespace convis {

MaximizeMethod parse_maximize_method(const std::string& name) {
  if (name == "lucid") return MaximizeMethod::lucid;
  if (name == "seed") return MaximizeMethod::seed;
  if (name == "yosinski") return MaximizeMethod::yosinski;
  throw std::invalid_argument("unknown method '" + name + "' (lucid, seed, yosinski)");
}

const char* maximize_method_name(MaximizeMethod m) {
  switch (m) {
    case MaximizeMethod::lucid: return "lucid";
    case MaximizeMethod::seed: return "seed";
    case MaximizeMethod::yosinski: return "yosinski";
  }
  return "lucid";
}

// Lucid's color_correlation_svd_sqrt, divided by its largest column norm (0.4620).
const float kColorCorrelationSqrt[3][3] = {
    {0.26f / 0.46195f, 0.09f / 0.46195f, 0.02f / 0.46195f},
    {0.27f / 0.46195f, 0.00f / 0.46195f, -0.05f / 0.46195f},
    {0.27f / 0.46195f, -0.09f / 0.46195f, 0.03f / 0.46195f},
};

std::vector<float> fourier_scale(int h, int w) {
  const int wf = w / 2 + 1;
  std::vector<float> s(size_t(h) * wf);
  const double floor_f = 1.0 / std::max(h, w), unitary = std::sqrt(double(h) * w);
  for (int j = 0; j < h; ++j)
    for (int k = 0; k < wf; ++k) {
      const double fy = double(std::min(j, h - j)) / h, fx = double(k) / w;
      s[size_t(j) * wf + size_t(k)] = float(unitary / std::max(std::sqrt(fy * fy + fx * fx), floor_f));
    }
  return s;
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
std::vector<float> objective(const Tensor& y, const std::vector<int>& filters, Tensor* dy) {
  const int64_t B = y.dim(0), C = y.dim(y.rank() - 1);
  const int64_t per = y.numel() / B / C;  // spatial positions per image (1 for dense)
  if (dy) *dy = Tensor::zeros(y.shape());
  std::vector<float> out(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t f = C == 1 ? 0 : filters[size_t(b)];
    double acc = 0.0;
    for (int64_t i = 0; i < per; ++i) {
      const int64_t at = (b * per + i) * C + f;
      acc += y[at];
      if (dy) (*dy)[at] = 1.f / float(per);
    }
    out[size_t(b)] = float(acc / double(per));
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
  if (opt.size == 0) {
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
                         : L.type == LayerType::activation || L.type == LayerType::leaky_relu;
    if (!has_own)
      notes_.push_back("pre-ReLU: layer '" + layer + "' (" + L.class_name +
                       ") has no activation of its own, so its output is maximised as it is");
  }

  iters_ = opt.iters >= 0 ? opt.iters : opt.method == MaximizeMethod::lucid ? 512 : 500;
  step_ = opt.step > 0.f ? opt.step
          : opt.method == MaximizeMethod::lucid ? 0.05f
          : opt.method == MaximizeMethod::seed  ? 0.1f
                                                : 100.f;
  pre_ = opt.preprocess ? *opt.preprocess : default_preprocess(m);
  positions_ = dense_ ? 1 : int(L.output_shape[0] * L.output_shape[1]);

  for (const Layer& l : model_.layers)
    for (const Var& v : l.weights) was_trainable_.push_back(v.requires_grad());
  model_.set_trainable(false);
  // Only each image's own channel of a Conv2D target is computed, forward and backward.
  select_ = model_.can_select_channels(int(model_.layers.size()) - 1, pre_activation_);
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
  const std::vector<float> value = objective(y.value(), filters, &dy);
  Tape::current().backward(y, dy);
  return value;
}

void seed_update(Tensor* x, const Tensor& grad, float step) {
  check_same_shape("seed_update: image and gradient", x->shape(), grad.shape());
  const int64_t B = x->dim(0), per = x->numel() / B;
  for (int64_t b = 0; b < B; ++b) {  // the seeds' K.l2_normalize over the whole image, per image
    const float* gb = grad.data() + b * per;
    double ss = 0.0;
    for (int64_t i = 0; i < per; ++i) ss += double(gb[i]) * gb[i];
    const float k = step / float(std::sqrt(std::max(ss, 1e-12)));
    float* pb = x->data() + b * per;
    for (int64_t i = 0; i < per; ++i) pb[i] += k * gb[i];
  }
}

Var Maximizer::target(const Var& x, const std::vector<int>& filters) const {
  const int last = int(model_.layers.size()) - 1;
  return selecting() ? model_.forward_channels(x, last, filters, pre_activation_)
                     : model_.forward(x, last, pre_activation_);
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
  return objective(target(Var::constant(x), filters).value(), filters, nullptr);
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

std::vector<MaximizeResult> Maximizer::run_batch(const std::vector<int>& filters, const MaximizeObserver& observe) const {
  const int64_t B = int64_t(filters.size()), H = h_, W = w_, C = c_, Wf = W / 2 + 1;
  const MaximizeMethod method = opt_.method;
  std::vector<std::mt19937_64> rng;
  for (int f : filters) rng.push_back(filter_rng(opt_.seed, f));

  // What is optimised. seed: the model input; yosinski: pixels 0..255; lucid: the spectrum
  // (B, C, H, 2 Wf) or, without Fourier, pixels before the sigmoid (B, H, W, C).
  const bool fourier = method == MaximizeMethod::lucid && opt_.fourier;
  const Shape pshape = fourier ? Shape{B, C, H, 2 * Wf} : Shape{B, H, W, C};
  Tensor params(pshape);
  const int64_t per = params.numel() / B;
  // The ImageNet mean colour (RGB; grey: its mean), where yosinski starts and decays towards.
  auto mean_pixel = [&](int64_t c) { return imagenet_mean_pixel(int(c), int(C)); };
  for (int64_t b = 0; b < B; ++b) {
    float* p = params.data() + b * per;
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    std::normal_distribution<float> normal(0.f, 1.f);
    for (int64_t i = 0; i < per; ++i) {
      switch (method) {
        case MaximizeMethod::seed: p[i] = unit(rng[size_t(b)]); break;
        case MaximizeMethod::lucid: p[i] = 0.01f * normal(rng[size_t(b)]); break;
        case MaximizeMethod::yosinski:
          p[i] = std::clamp(mean_pixel(i % C) + 10.f * normal(rng[size_t(b)]), 0.f, 255.f);
          break;
      }
    }
  }

  // Constants of the parametrisation and preprocessing.
  Tensor scale;
  if (fourier) {
    const std::vector<float> s = fourier_scale(int(H), int(W));
    scale = Tensor(pshape);
    for (int64_t i = 0; i < scale.numel(); ++i) scale[i] = s[size_t((i / 2) % (H * Wf))];
  }
  Tensor colour;
  const bool decorrelate = method == MaximizeMethod::lucid && opt_.decorrelate && C == 3;
  if (decorrelate) {
    colour = Tensor(Shape{3, 3});  // rgb = v M^T as a row vector: kernel (in, out) = M^T
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) colour[j * 3 + i] = kColorCorrelationSqrt[i][j];
  }
  Tensor pre_m, pre_b;
  preprocess_affine(pre_, int(C), &pre_m, &pre_b);
  if (method == MaximizeMethod::lucid)  // lucid's image is in [0, 1]; the map wants pixels 0..255
    for (int64_t i = 0; i < pre_m.numel(); ++i) pre_m[i] *= 255.f;

  // Image in [0, 1] from the lucid parameters (recorded on the tape when p requires grad).
  auto lucid_image = [&](const Var& p) {
    Var img = fourier ? mul_scalar(irfft2_image(mul(p, Var::constant(scale)), int(W)), 0.25f) : p;
    if (decorrelate) img = mix_channels(img, colour, Tensor());
    return sigmoid(img);
  };
  // The model input for the current parameters, without random transforms.
  auto clean_input = [&](const Var& p) -> Var {
    switch (method) {
      case MaximizeMethod::seed: return p;
      case MaximizeMethod::lucid: return mix_channels(lucid_image(p), pre_m, pre_b);
      case MaximizeMethod::yosinski: return mix_channels(p, pre_m, pre_b);
    }
    return p;
  };

  // Adam state (lucid) and the result's loss curves.
  Tensor adam_m, adam_v;
  if (method == MaximizeMethod::lucid) {
    adam_m = Tensor::zeros(pshape);
    adam_v = Tensor::zeros(pshape);
  }
  std::vector<std::vector<float>> losses(static_cast<size_t>(B));
  const int jitter = std::max(2, int(std::min(H, W)) / 16);
  const float yosinski_step = step_ * float(positions_);

  for (int it = 0; it < iters_; ++it) {
    Tape::current().clear();
    Var p = Var::param(params);
    Var x;
    if (method == MaximizeMethod::lucid) {
      Var img = lucid_image(p);
      if (opt_.transforms) {
        // Per image, from its own stream: shift (pad with grey and crop), scale, rotation.
        std::vector<Affine2d> maps;
        for (int64_t b = 0; b < B; ++b) {
          std::mt19937_64& r = rng[size_t(b)];
          std::uniform_int_distribution<int> shift(-jitter, jitter);
          std::uniform_real_distribution<float> zoom(0.9f, 1.1f), angle(-5.f, 5.f);
          const float dx = float(shift(r)), dy = float(shift(r)), s = zoom(r), a = angle(r);
          maps.push_back(centred_affine(int(H), int(W), s, a, dx, dy));
        }
        img = affine_warp(img, maps, int(H), int(W), 0.5f);
      }
      x = mix_channels(img, pre_m, pre_b);
    } else {
      x = clean_input(p);
    }
    const std::vector<float> value = ascend(x, filters);
    for (int64_t b = 0; b < B; ++b) losses[size_t(b)].push_back(value[size_t(b)]);
    if (observe) observe(it, filters, value);
    const Tensor g = p.grad();

    switch (method) {
      case MaximizeMethod::seed:
        seed_update(&params, g, step_);
        break;
      case MaximizeMethod::lucid: {
        // Adam (TensorFlow's form, which Lucid used), ascending: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t).
        const double b1 = 0.9, b2 = 0.999, eps = 1e-8, t = it + 1;
        const float lr_t = float(step_ * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
        for (int64_t i = 0; i < params.numel(); ++i) {
          adam_m[i] = float(b1) * adam_m[i] + float(1.0 - b1) * g[i];
          adam_v[i] = float(b2) * adam_v[i] + float(1.0 - b2) * g[i] * g[i];
          params[i] += lr_t * adam_m[i] / (std::sqrt(adam_v[i]) + float(eps));
        }
        break;
      }
      case MaximizeMethod::yosinski: {
        const float decay = 1e-4f;
        for (int64_t i = 0; i < params.numel(); ++i) {
          const float m = mean_pixel(i % C);
          params[i] = m + (1.f - decay) * (params[i] + yosinski_step * g[i] - m);
        }
        if (it % 4 == 3) gaussian_blur_nhwc(params.data(), int(B), int(H), int(W), int(C), 1.f);
        for (int64_t i = 0; i < params.numel(); ++i) params[i] = std::clamp(params[i], 0.f, 255.f);
        break;
      }
    }
  }
  Tape::current().clear();

  // The final pictures and their clean activations.
  std::vector<MaximizeResult> out(static_cast<size_t>(B));
  NoGrad no_grad;
  const Var p = Var::constant(params);
  const Tensor input = clean_input(p).value();
  const Tensor shown = method == MaximizeMethod::lucid ? lucid_image(p).value() : params;
  const std::vector<float> act = objective(target(Var::constant(input), filters).value(), filters, nullptr);
  for (int64_t b = 0; b < B; ++b) {
    MaximizeResult& r = out[size_t(b)];
    r.filter = filters[size_t(b)];
    r.input = slice_image(input, b);
    r.image = slice_image(shown, b).reshape(Shape{H, W, C});
    r.losses = std::move(losses[size_t(b)]);
    r.activation = act[size_t(b)];
    float* v = r.image.data();
    const int64_t n = r.image.numel();
    if (method == MaximizeMethod::seed) {  // the seeds' min-max normalisation
      const auto [lo, hi] = std::minmax_element(v, v + n);
      const float l = *lo, range = *hi - *lo;
      for (int64_t i = 0; i < n; ++i) v[i] = range > 0.f ? (v[i] - l) / range : 0.5f;
    } else if (method == MaximizeMethod::yosinski) {
      // Decay and blur keep the picture near grey; shown contrast-stretched, the 0.5th and
      // 99.5th percentiles of its values going to black and white.
      std::vector<float> sorted(v, v + n);
      std::sort(sorted.begin(), sorted.end());
      const float lo = sorted[size_t(double(n - 1) * 0.005)], hi = sorted[size_t(double(n - 1) * 0.995)];
      for (int64_t i = 0; i < n; ++i) v[i] = hi > lo ? std::clamp((v[i] - lo) / (hi - lo), 0.f, 1.f) : 0.5f;
    }
  }
  return out;
}

std::vector<MaximizeResult> maximize(const Model& m, const std::string& layer, const std::vector<int>& filters,
                                     const MaximizeOptions& opt, const MaximizeObserver& observe) {
  return Maximizer(m, layer, opt).run(filters, observe);
}

// ---- picture statistics ---------------------------------------------------------------------

double high_frequency_fraction(const Tensor& hwc) {
  const int64_t H = hwc.dim(0), W = hwc.dim(1), C = hwc.dim(2);
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  std::vector<double> cw(size_t(W * W)), sw(size_t(W * W)), ch(size_t(H * H)), sh(size_t(H * H));
  for (int64_t k = 0; k < W; ++k)
    for (int64_t x = 0; x < W; ++x) {
      cw[size_t(k * W + x)] = std::cos(kTwoPi * double((k * x) % W) / double(W));
      sw[size_t(k * W + x)] = std::sin(kTwoPi * double((k * x) % W) / double(W));
    }
  for (int64_t j = 0; j < H; ++j)
    for (int64_t y = 0; y < H; ++y) {
      ch[size_t(j * H + y)] = std::cos(kTwoPi * double((j * y) % H) / double(H));
      sh[size_t(j * H + y)] = std::sin(kTwoPi * double((j * y) % H) / double(H));
    }
  double high = 0.0, total = 0.0;
  std::vector<double> re(size_t(H * W)), im(size_t(H * W));
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0.0;
    for (int64_t i = 0; i < H * W; ++i) mean += hwc[i * C + c];
    mean /= double(H * W);
    // Along rows: R[y, k] = sum_x v[y, x] e^{-2 pi i k x / W}
    for (int64_t y = 0; y < H; ++y)
      for (int64_t k = 0; k < W; ++k) {
        double r = 0.0, s = 0.0;
        for (int64_t x = 0; x < W; ++x) {
          const double v = hwc[(y * W + x) * C + c] - mean;
          r += v * cw[size_t(k * W + x)];
          s -= v * sw[size_t(k * W + x)];
        }
        re[size_t(y * W + k)] = r;
        im[size_t(y * W + k)] = s;
      }
    // Along columns: F[j, k] = sum_y R[y, k] e^{-2 pi i j y / H}; accumulate |F|^2 by frequency.
    for (int64_t j = 0; j < H; ++j) {
      const double fy = double(std::min(j, H - j)) / double(H);
      for (int64_t k = 0; k < W; ++k) {
        double r = 0.0, s = 0.0;
        for (int64_t y = 0; y < H; ++y) {
          const double a = re[size_t(y * W + k)], b = im[size_t(y * W + k)];
          const double cs = ch[size_t(j * H + y)], sn = sh[size_t(j * H + y)];
          r += a * cs + b * sn;
          s += b * cs - a * sn;
        }
        const double power = r * r + s * s, fx = double(std::min(k, W - k)) / double(W);
        total += power;
        if (fx * fx + fy * fy > 0.25 * 0.25) high += power;
      }
    }
  }
  return total > 0.0 ? high / total : 0.0;
}

double neighbour_roughness(const Tensor& hwc) {
  const int64_t H = hwc.dim(0), W = hwc.dim(1), C = hwc.dim(2);
  double diff = 0.0, var = 0.0;
  int64_t pairs = 0;
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0.0;
    for (int64_t i = 0; i < H * W; ++i) mean += hwc[i * C + c];
    mean /= double(H * W);
    for (int64_t i = 0; i < H * W; ++i) var += (hwc[i * C + c] - mean) * (hwc[i * C + c] - mean);
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const double v = hwc[(y * W + x) * C + c];
        if (x + 1 < W) { const double d = hwc[(y * W + x + 1) * C + c] - v; diff += d * d; ++pairs; }
        if (y + 1 < H) { const double d = hwc[((y + 1) * W + x) * C + c] - v; diff += d * d; ++pairs; }
      }
  }
  var /= double(H * W * C);
  return var > 0.0 && pairs > 0 ? diff / double(pairs) / (2.0 * var) : 0.0;
}

}  // namespace convis
