// Attribution maps: input gradients (vanilla, SmoothGrad, integrated, guided) and class activation
// maps (Grad-CAM, Grad-CAM++), and the sheet that shows them next to the photo.
#include "vis/attribution.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "engine/ops.h"
#include "kernels/resize.h"
#include "vis/colormap.h"
#include "vis/layout.h"
#include "vis/text.h"

namespace convis {

namespace {

const char* const kMethodNames[] = {"vanilla", "smoothgrad", "integrated", "guided",
                                    "gradcam", "gradcampp",  "guided-gradcam"};

// The layer whose output is the class score, and whether its softmax must be left out. Dropout and
// Flatten after it change nothing (as Model::outputs_probabilities reads it).
int score_layer(const Model& m, bool* drop_softmax) {
  int j = int(m.layers.size()) - 1;
  while (j > 0 && (m.layers[size_t(j)].type == LayerType::dropout || m.layers[size_t(j)].type == LayerType::flatten))
    --j;
  *drop_softmax = m.layers[size_t(j)].activation == Activation::softmax;
  return *drop_softmax ? j : int(m.layers.size()) - 1;
}

void check_class(const Model& m, int cls) {
  const int K = num_classes(m);
  if (cls < 0 || cls >= K)
    throw std::invalid_argument("class " + std::to_string(cls) + " is out of range: model '" + m.name + "' has " +
                                std::to_string(K) + " classes (0.." + std::to_string(K - 1) + ")");
}

void check_single(const char* what, const Tensor& x) {
  if (x.rank() != 4 || x.dim(0) != 1)
    throw std::invalid_argument(std::string(what) + ": input has shape " + x.shape().str() + ", expected (1, H, W, C)");
}

// Backpropagates sum_n scores[n][cls] and returns d/d v. On any error the tape is cleared, so a
// failed attribution leaves no half-recorded graph behind.
Tensor backward_class(const Var& scores, int cls, const Var& v, bool guided) {
  try {
    const Var total = sum(channel(scores, cls));
    if (guided) {
      GuidedRelu on;
      Tape::current().backward(total);
    } else {
      Tape::current().backward(total);
    }
  } catch (...) {
    Tape::current().clear();
    throw;
  }
  return v.grad_buffer();  // zeros when the score does not depend on v at all
}

// Value at the given quantile (0..1) of a map's elements.
float quantile(const Tensor& t, double q) {
  std::vector<float> v = t.to_vector();
  if (v.empty()) return 0.f;
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
  return v[k];
}

float max_of(const Tensor& t) {
  float mx = 0.f;
  for (int64_t i = 0; i < t.numel(); ++i) mx = std::max(mx, t[i]);
  return mx;
}

// The top of a map's colour scale: `q`-quantile, or the max when the quantile is 0; 1 for a zero map.
float display_top(const Tensor& map, double q) {
  float hi = quantile(map, q);
  if (!(hi > 0.f)) hi = max_of(map);
  return hi > 0.f ? hi : 1.f;
}

float score_of(const Model& m, const Tensor& x, int cls) {
  NoGrad no_grad;
  const Tensor s = class_scores(m, Var::constant(x)).value();
  return s[cls];
}

}  // namespace

AttributionMethod parse_attribution_method(const std::string& name) {
  for (int i = 0; i < 7; ++i)
    if (name == kMethodNames[i]) return AttributionMethod(i);
  std::string valid;
  for (const char* n : kMethodNames) valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw std::invalid_argument("unknown attribution method '" + name + "' (valid: " + valid + ")");
}

const char* attribution_method_name(AttributionMethod m) { return kMethodNames[int(m)]; }

const char* attribution_method_title(AttributionMethod m) {
  const char* const titles[] = {"gradient",   "SmoothGrad", "integrated gradients", "guided backprop",
                                "Grad-CAM",   "Grad-CAM++", "guided Grad-CAM"};
  return titles[int(m)];
}

bool is_cam_method(AttributionMethod m) {
  return m == AttributionMethod::gradcam || m == AttributionMethod::gradcampp ||
         m == AttributionMethod::guided_gradcam;
}

// ---- scores and gradients -------------------------------------------------------------------

Var class_scores_from(const Model& m, const Var& h, int first) {
  bool drop_softmax = false;
  const int last = score_layer(m, &drop_softmax);
  const Var y = m.forward_from(h, first, last, drop_softmax);
  if (y.shape().rank() != 2)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + m.layers.back().name + "' with output " +
                                y.shape().str() + ", not class scores (N, K) (for VGG16 use the file with the top)");
  return y;
}

Var class_scores(const Model& m, const Var& x) { return class_scores_from(m, x, 1); }

int num_classes(const Model& m) {
  const Shape& s = m.layers.back().output_shape;
  if (s.rank() != 1)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + m.layers.back().name + "' with output " +
                                s.str() + ", not class scores (for VGG16 use the file with the top)");
  return int(s[0]);
}

int top_class(const Model& m, const Tensor& x) {
  check_single("top_class", x);
  NoGrad no_grad;
  const Tensor s = class_scores(m, Var::constant(x)).value();
  return int(std::max_element(s.data(), s.data() + s.numel()) - s.data());
}

Tensor input_gradient(const Model& m, const Tensor& x, int cls, std::vector<float>* scores, bool guided) {
  check_class(m, cls);
  const Var xv = Var::param(x);
  Var s;
  try {
    s = class_scores(m, xv);
  } catch (...) {
    Tape::current().clear();
    throw;
  }
  if (scores) {
    const int64_t K = s.shape()[1];
    for (int64_t n = 0; n < s.shape()[0]; ++n) scores->push_back(s.value()[n * K + cls]);
  }
  return backward_class(s, cls, xv, guided);
}

Tensor smoothgrad(const Model& m, const Tensor& x, int cls, int samples, float noise, uint32_t seed, int batch,
                  const ProgressFn& progress) {
  check_single("smoothgrad", x);
  if (samples < 1 || batch < 1 || !(noise >= 0.f))
    throw std::invalid_argument("smoothgrad: samples and batch must be >= 1 and noise >= 0");
  const int64_t n = x.numel();
  const auto [lo, hi] = std::minmax_element(x.data(), x.data() + n);
  const float sigma = noise * (*hi - *lo);
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.f, 1.f);
  Tensor mean_grad = Tensor::zeros(x.shape());
  for (int done = 0; done < samples;) {
    const int b = std::min(batch, samples - done);
    Tensor noisy(Shape{b, x.dim(1), x.dim(2), x.dim(3)});
    for (int k = 0; k < b; ++k)
      for (int64_t i = 0; i < n; ++i) noisy[k * n + i] = x[i] + sigma * gauss(rng);
    const Tensor g = input_gradient(m, noisy, cls);
    for (int k = 0; k < b; ++k)
      for (int64_t i = 0; i < n; ++i) mean_grad[i] += g[k * n + i];
    done += b;
    if (progress) progress(done, samples);
  }
  for (int64_t i = 0; i < n; ++i) mean_grad[i] /= float(samples);
  return mean_grad;
}

IntegratedGradients integrated_gradients(const Model& m, const Tensor& x, const Tensor& baseline, int cls, int steps,
                                         int batch, const ProgressFn& progress) {
  check_single("integrated_gradients", x);
  check_same_shape("integrated_gradients: input and baseline", x.shape(), baseline.shape());
  if (steps < 1 || batch < 1) throw std::invalid_argument("integrated_gradients: steps and batch must be >= 1");
  const int64_t n = x.numel();
  Tensor sum_grad = Tensor::zeros(x.shape());
  for (int done = 0; done < steps;) {
    const int b = std::min(batch, steps - done);
    Tensor path(Shape{b, x.dim(1), x.dim(2), x.dim(3)});
    for (int k = 0; k < b; ++k) {
      const float alpha = (float(done + k) + 0.5f) / float(steps);  // midpoint rule
      for (int64_t i = 0; i < n; ++i) path[k * n + i] = baseline[i] + alpha * (x[i] - baseline[i]);
    }
    const Tensor g = input_gradient(m, path, cls);
    for (int k = 0; k < b; ++k)
      for (int64_t i = 0; i < n; ++i) sum_grad[i] += g[k * n + i];
    done += b;
    if (progress) progress(done, steps);
  }
  IntegratedGradients r;
  r.attributions = Tensor(x.shape());
  for (int64_t i = 0; i < n; ++i) {
    r.attributions[i] = (x[i] - baseline[i]) * sum_grad[i] / float(steps);
    r.sum += double(r.attributions[i]);
  }
  r.score = score_of(m, x, cls);
  r.baseline_score = score_of(m, baseline, cls);
  return r;
}

// ---- class activation maps ------------------------------------------------------------------

int default_cam_layer(const Model& m) {
  for (int i = int(m.layers.size()) - 1; i >= 1; --i)
    if (m.layers[size_t(i)].has_spatial_output()) return i;
  throw std::invalid_argument("model '" + m.name + "' has no layer with a spatial output (H, W, C) for Grad-CAM");
}

int cam_layer(const Model& m, const std::string& name) {
  const int i = m.layer_index(name);
  const Layer& l = m.layers[size_t(i)];
  if (i == 0 || !l.has_spatial_output())
    throw std::invalid_argument("layer '" + name + "' has output " + l.output_shape.str() +
                                (i == 0 ? " and is the input" : "") +
                                "; Grad-CAM needs a layer with a spatial output (H, W, C) after the input, e.g. '" +
                                m.layers[size_t(default_cam_layer(m))].name + "' (the default)");
  return i;
}

Tensor grad_cam(const Model& m, const Tensor& x, int cls, int layer, bool plus_plus, Tensor* channel_weights) {
  check_single("grad_cam", x);
  check_class(m, cls);
  if (layer < 1 || layer >= int(m.layers.size()) || !m.layers[size_t(layer)].has_spatial_output())
    throw std::invalid_argument("grad_cam: layer index " + std::to_string(layer) + " has no spatial output");
  // A as a leaf: the forward pass up to the layer records nothing, the rest is differentiated.
  Tensor A;
  {
    NoGrad no_grad;
    A = m.forward(Var::constant(x), layer).value();
  }
  const Var a = Var::param(A);
  Var s;
  try {
    s = class_scores_from(m, a, layer + 1);
  } catch (...) {
    Tape::current().clear();
    throw;
  }
  const Tensor G = backward_class(s, cls, a, false);

  // A, G: (1, h, w, K)
  const int64_t h = A.dim(1), w = A.dim(2), K = A.dim(3), hw = h * w;
  Tensor weights = Tensor::zeros(Shape{K});
  if (!plus_plus) {
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < K; ++k) weights[k] += G[p * K + k];
    for (int64_t k = 0; k < K; ++k) weights[k] /= float(hw);
  } else {
    std::vector<double> sum_a(size_t(K), 0.0);
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < K; ++k) sum_a[size_t(k)] += double(A[p * K + k]);
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < K; ++k) {
        const double g = G[p * K + k];
        const double g2 = g * g, g3 = g2 * g;
        const double denom = 2.0 * g2 + sum_a[size_t(k)] * g3;
        const double alpha = g != 0.0 && denom != 0.0 ? g2 / denom : 0.0;
        weights[k] += float(alpha * std::max(g, 0.0));
      }
  }
  Tensor cam(Shape{h, w});
  for (int64_t p = 0; p < hw; ++p) {
    double v = 0.0;
    for (int64_t k = 0; k < K; ++k) v += double(weights[k]) * double(A[p * K + k]);
    cam[p] = float(std::max(v, 0.0));
  }
  if (channel_weights) *channel_weights = weights;
  return cam;
}

Tensor upsample_bilinear(const Tensor& map, int H, int W) {
  if (map.rank() != 2 || H < 1 || W < 1)
    throw std::invalid_argument("upsample_bilinear: map has shape " + map.shape().str() + ", expected (h, w)");
  Tensor out(Shape{H, W});
  resize_bilinear_nhwc(map.data(), out.data(), {1, int(map.dim(0)), int(map.dim(1)), 1, H, W}, ResizeFilter::bilinear);
  return out;
}

Tensor channel_max_abs(const Tensor& g) {
  check_single("channel_max_abs", g);
  const int64_t H = g.dim(1), W = g.dim(2), C = g.dim(3);
  Tensor out(Shape{H, W});
  for (int64_t p = 0; p < H * W; ++p) {
    float v = 0.f;
    for (int64_t c = 0; c < C; ++c) v = std::max(v, std::fabs(g[p * C + c]));
    out[p] = v;
  }
  return out;
}

// ---- one call per method --------------------------------------------------------------------

Attribution compute_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  check_single("attribution", x);
  check_class(m, cls);
  const int H = int(x.dim(1)), W = int(x.dim(2)), C = int(x.dim(3));
  Attribution a;
  a.method = opt.method;
  a.cls = cls;
  // Pixel-level maps: a handful of extreme gradients would make everything else black.
  const double pixel_quantile = 0.995;
  switch (opt.method) {
    case AttributionMethod::vanilla:
    case AttributionMethod::guided: {
      const bool guided = opt.method == AttributionMethod::guided;
      std::vector<float> s;
      const Tensor g = input_gradient(m, x, cls, &s, guided);
      a.score = s.at(0);
      a.map = channel_max_abs(g);
      if (guided) a.rgb = g.reshape(Shape{H, W, C});
      a.quantity = guided ? "guided |grad|" : "|d score / d x|";
      a.display_max = display_top(a.map, pixel_quantile);
      break;
    }
    case AttributionMethod::smoothgrad: {
      const Tensor g = smoothgrad(m, x, cls, opt.samples, opt.noise, opt.seed, opt.batch, opt.progress);
      a.score = score_of(m, x, cls);
      a.map = channel_max_abs(g);
      a.quantity = "|mean grad|";
      a.display_max = display_top(a.map, pixel_quantile);
      break;
    }
    case AttributionMethod::integrated: {
      const Tensor base = opt.baseline.defined() ? opt.baseline : Tensor::zeros(x.shape());
      const IntegratedGradients ig = integrated_gradients(m, x, base, cls, opt.steps, opt.batch, opt.progress);
      a.score = ig.score;
      a.baseline_score = ig.baseline_score;
      a.attribution_sum = ig.sum;
      // Per pixel: the sum over channels (its share of f(x) - f(x')), shown as a magnitude.
      a.map = Tensor(Shape{H, W});
      for (int64_t p = 0; p < int64_t(H) * W; ++p) {
        double v = 0.0;
        for (int c = 0; c < C; ++c) v += double(ig.attributions[p * C + c]);
        a.map[p] = float(std::fabs(v));
      }
      a.quantity = "|attribution|";
      a.display_max = display_top(a.map, pixel_quantile);
      break;
    }
    case AttributionMethod::gradcam:
    case AttributionMethod::gradcampp:
    case AttributionMethod::guided_gradcam: {
      const int layer = opt.layer >= 0 ? opt.layer : default_cam_layer(m);
      a.layer = m.layers.at(size_t(layer)).name;
      a.cam = grad_cam(m, x, cls, layer, opt.method == AttributionMethod::gradcampp);
      const Tensor up = upsample_bilinear(a.cam, H, W);
      if (opt.method != AttributionMethod::guided_gradcam) {
        a.score = score_of(m, x, cls);
        a.map = up;
        a.quantity = opt.method == AttributionMethod::gradcam ? "Grad-CAM" : "Grad-CAM++";
        a.display_max = display_top(a.map, 1.0);
        break;
      }
      std::vector<float> s;
      const Tensor g = input_gradient(m, x, cls, &s, true);
      a.score = s.at(0);
      a.rgb = Tensor(Shape{H, W, C});
      for (int64_t p = 0; p < int64_t(H) * W; ++p)
        for (int c = 0; c < C; ++c) a.rgb[p * C + c] = g[p * C + c] * up[p];
      a.map = channel_max_abs(a.rgb.reshape(Shape{1, H, W, C}));
      a.quantity = "|guided x CAM|";
      a.display_max = display_top(a.map, pixel_quantile);
      break;
    }
  }
  return a;
}

// ---- pictures -------------------------------------------------------------------------------

Canvas fit_photo(const Image& photo, int longer) {
  const Canvas c = canvas_from_image(photo);
  const double s = double(longer) / double(std::max(photo.width, photo.height));
  return resize_bilinear(c, std::max(1, int(std::lround(photo.height * s))),
                         std::max(1, int(std::lround(photo.width * s))));
}

namespace {

// Signed per-channel values as an image, the way guided backprop is usually shown: mean grey,
// +-5 standard deviations to black and white (pytorch-grad-cam's deprocess_image: 0.5 + 0.1 z).
Canvas signed_rgb_canvas(const Tensor& rgb) {
  const int H = int(rgb.dim(0)), W = int(rgb.dim(1)), C = int(rgb.dim(2));
  std::vector<float> v(size_t(H) * size_t(W) * 3);
  for (int64_t p = 0; p < int64_t(H) * W; ++p)
    for (int k = 0; k < 3; ++k) v[size_t(p) * 3 + size_t(k)] = rgb[p * C + (C == 3 ? k : 0)];
  double mean = 0.0, sq = 0.0;
  for (float f : v) mean += f;
  mean /= double(v.size());
  for (float f : v) sq += (f - mean) * (f - mean);
  const double sd = std::sqrt(sq / double(v.size())) + 1e-12;
  return render_rgb(v.data(), H, W, float(mean - 5.0 * sd), float(mean + 5.0 * sd));
}

}  // namespace

Canvas attribution_sheet(const Image& photo, const Attribution& a, const std::string& title) {
  const Canvas base = fit_photo(photo, 360);
  const int W = base.width, H = base.height;
  const Tensor map = upsample_bilinear(a.map, H, W);
  const Canvas heat = render_map(map.data(), H, W, 0.f, a.display_max, Colormap::jet);
  std::vector<Canvas> parts = {base};
  std::vector<std::string> titles = {"image"};
  if (a.rgb.defined()) {
    parts.push_back(resize_bilinear(signed_rgb_canvas(a.rgb), H, W));
    titles.push_back(attribution_method_title(a.method));
  }
  parts.push_back(heat);
  titles.push_back(a.rgb.defined() ? "max over RGB of |" + std::string(attribution_method_title(a.method)) + "|"
                                   : attribution_method_title(a.method));
  parts.push_back(blend(base, heat, 0.4f));
  titles.push_back("overlay");
  const Canvas row = add_colorbar(hstack(parts, titles), Colormap::jet, 0.f, a.display_max, a.quantity);
  return add_title(row, title);
}

Canvas add_title(const Canvas& c, const std::string& title, int px) {
  const int margin = 10;
  Canvas out(std::max(c.width, text_width(title, px)) + 2 * margin, c.height + px + 3 * margin);
  draw_text(out, margin, margin, title, px);
  out.blit(c, margin, px + 2 * margin);
  return out;
}

Canvas attribution_map_canvas(const Attribution& a) {
  return render_map(a.map.data(), int(a.map.dim(0)), int(a.map.dim(1)), 0.f, a.display_max, Colormap::grey);
}

}  // namespace convis
