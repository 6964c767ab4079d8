// The attribution methods as a table: one row per method (its name, title, formula and the options
// it reads) and one function that turns the building blocks of vis/attribution.cpp into the map the
// pictures show.
//
// Adding a method: write `Attribution my_method_attribution(m, x, cls, opt)` below (fill score,
// map, display_max and quantity), add its row to attribution_methods(), document it in
// docs/attribution.md's method table and in `vis_tool saliency --help` (tests/test_method_tables.cpp
// checks both, and that the row computes what its building blocks compute).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "vis/attribution.h"
#include "vis/attribution_detail.h"

namespace convis {

using namespace attribution_detail;

namespace {

// Pixel-level maps: a handful of extreme gradients would make everything else black, so their
// colour scale stops at this quantile. CAMs use their max (quantile 1).
constexpr double kPixelQuantile = 0.995;

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

// ---- one function per method: x (1,H,W,C) -> map (H,W) ----------------------------------------

// max_c |d score / d x|, plain or through guided ReLUs (then also the signed gradient as an image).
Attribution gradient_attribution(const Model& m, const Tensor& x, int cls, bool guided) {
  const int H = int(x.dim(1)), W = int(x.dim(2)), C = int(x.dim(3));
  Attribution a;
  std::vector<float> s;
  const Tensor g = input_gradient(m, x, cls, &s, guided);
  a.score = s.at(0);
  a.map = channel_max_abs(g);
  a.raw = g.reshape(Shape{H, W, C});
  if (guided) a.rgb = a.raw;
  a.quantity = guided ? "guided |grad|" : "|d score / d x|";
  a.display_max = display_top(a.map, kPixelQuantile);
  return a;
}

Attribution vanilla_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions&) {
  return gradient_attribution(m, x, cls, false);
}

Attribution guided_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions&) {
  return gradient_attribution(m, x, cls, true);
}

// SmoothGrad and its NoiseTunnel variants: one statistic of the noisy samples' gradients, max over
// the channels (|mean| for smoothgrad; mean_sq and variance are >= 0 already).
enum class NoiseStat { mean, mean_sq, variance };

Attribution noise_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt, NoiseStat stat) {
  Attribution a;
  const NoiseTunnel nt = noise_tunnel(m, x, cls, opt.samples, opt.noise, opt.seed, opt.batch, opt.progress);
  a.score = score_of(m, x, cls);
  const Tensor& t = stat == NoiseStat::mean ? nt.mean : stat == NoiseStat::mean_sq ? nt.mean_sq : nt.variance;
  a.map = channel_max_abs(t);
  a.raw = t.reshape(Shape{x.dim(1), x.dim(2), x.dim(3)});
  a.quantity = stat == NoiseStat::mean ? "|mean grad|" : stat == NoiseStat::mean_sq ? "mean grad^2" : "var of grad";
  a.display_max = display_top(a.map, kPixelQuantile);
  return a;
}

Attribution smoothgrad_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  return noise_attribution(m, x, cls, opt, NoiseStat::mean);
}

Attribution smoothgrad_sq_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  return noise_attribution(m, x, cls, opt, NoiseStat::mean_sq);
}

Attribution vargrad_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  return noise_attribution(m, x, cls, opt, NoiseStat::variance);
}

Attribution integrated_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  const int H = int(x.dim(1)), W = int(x.dim(2)), C = int(x.dim(3));
  Attribution a;
  const Tensor base = opt.baseline.defined() ? opt.baseline : Tensor::zeros(x.shape());
  const IntegratedGradients ig = integrated_gradients(m, x, base, cls, opt.steps, opt.batch, opt.progress);
  a.score = ig.score;
  a.baseline_score = ig.baseline_score;
  a.attribution_sum = ig.sum;
  a.raw = ig.attributions.reshape(Shape{H, W, C});
  // Per pixel: the sum over channels (its share of f(x) - f(x')), shown as a magnitude.
  a.map = Tensor(Shape{H, W});
  for (int64_t p = 0; p < int64_t(H) * W; ++p) {
    double v = 0.0;
    for (int c = 0; c < C; ++c) v += double(ig.attributions[p * C + c]);
    a.map[p] = float(std::fabs(v));
  }
  a.quantity = "|attribution|";
  a.display_max = display_top(a.map, kPixelQuantile);
  return a;
}

// Input x gradient (Captum's InputXGradient; Shrikumar et al. 2016): attr = x * d score / d x per
// pixel and channel, shown as |the sum over the channels|. For a model that is linear from the
// input (no bias), sum(attr) = f(x); in general it is the first-order term of f(x) - f(0).
Attribution inputxgrad_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions&) {
  const int H = int(x.dim(1)), W = int(x.dim(2)), C = int(x.dim(3));
  Attribution a;
  std::vector<float> s;
  const Tensor g = input_gradient(m, x, cls, &s);
  a.score = s.at(0);
  a.raw = Tensor(Shape{H, W, C});
  a.map = Tensor(Shape{H, W});
  for (int64_t p = 0; p < int64_t(H) * W; ++p) {
    double v = 0.0;
    for (int c = 0; c < C; ++c) {
      a.raw[p * C + c] = x[p * C + c] * g[p * C + c];
      v += double(a.raw[p * C + c]);
    }
    a.map[p] = float(std::fabs(v));
  }
  a.quantity = "|x * grad|";
  a.display_max = display_top(a.map, kPixelQuantile);
  return a;
}

// A CAM of the family at opt.layer, the default layer when it is -1; fills layer, cam and
// channel_weights (where the method has them) and returns the CAM upsampled to the input's size.
Tensor cam_at_input_size(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt, CamKind kind,
                         bool eigen_smooth, Attribution& a) {
  const int layer = opt.layer >= 0 ? opt.layer : default_cam_layer(m);
  a.layer = m.layers.at(size_t(layer)).name;
  a.cam = class_activation_map(m, x, cls, layer, kind, &a.channel_weights, eigen_smooth);
  return upsample_bilinear(a.cam, int(x.dim(1)), int(x.dim(2)));
}

// The CAM at the input's size: plain, eigen-smoothed, or averaged over the augmented copies
// (then scaled to [0, 1] per copy; there is no single layer-resolution CAM or weight vector).
template <CamKind kind>
Attribution cam_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  static constexpr const char* kQuantity[] = {"Grad-CAM", "Grad-CAM++", "HiResCAM", "XGrad-CAM",
                                              "LayerCAM", "EigenCAM",   "EigenGrad-CAM"};
  Attribution a;
  if (opt.aug_smooth) {
    const int layer = opt.layer >= 0 ? opt.layer : default_cam_layer(m);
    a.layer = m.layers.at(size_t(layer)).name;
    a.map = aug_smooth_cam(m, x, cls, layer, kind, opt.eigen_smooth);
  } else {
    a.map = cam_at_input_size(m, x, cls, opt, kind, opt.eigen_smooth, a);
  }
  a.raw = a.map;
  a.score = score_of(m, x, cls);
  a.quantity = std::string(kQuantity[int(kind)]) + (opt.eigen_smooth ? ", eigen-smoothed" : "") +
               (opt.aug_smooth ? ", aug-smoothed (0..1)" : "");
  a.display_max = display_top(a.map, 1.0);
  return a;
}

// Score-CAM at opt.layer (the default layer when it is -1), the masked copies in batches of opt.batch.
Attribution scorecam_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  Attribution a;
  const int layer = opt.layer >= 0 ? opt.layer : default_cam_layer(m);
  a.layer = m.layers.at(size_t(layer)).name;
  a.cam = score_cam(m, x, cls, layer, opt.batch, opt.progress, &a.channel_weights);
  a.map = upsample_bilinear(a.cam, int(x.dim(1)), int(x.dim(2)));
  a.raw = a.map;
  a.score = score_of(m, x, cls);
  a.quantity = "Score-CAM";
  a.display_max = display_top(a.map, 1.0);
  return a;
}

// The guided gradient, each pixel scaled by the upsampled Grad-CAM.
Attribution guided_gradcam_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  const int H = int(x.dim(1)), W = int(x.dim(2)), C = int(x.dim(3));
  Attribution a;
  const Tensor up = cam_at_input_size(m, x, cls, opt, CamKind::gradcam, false, a);
  std::vector<float> s;
  const Tensor g = input_gradient(m, x, cls, &s, true);
  a.score = s.at(0);
  a.rgb = Tensor(Shape{H, W, C});
  for (int64_t p = 0; p < int64_t(H) * W; ++p)
    for (int c = 0; c < C; ++c) a.rgb[p * C + c] = g[p * C + c] * up[p];
  a.map = channel_max_abs(a.rgb.reshape(Shape{1, H, W, C}));
  a.raw = a.rgb;
  a.quantity = "|guided x CAM|";
  a.display_max = display_top(a.map, kPixelQuantile);
  return a;
}

}  // namespace

// ---- the table --------------------------------------------------------------------------------

const std::vector<AttributionMethod>& attribution_methods() {
  using M = AttributionMethod;
  static const std::vector<AttributionMethod> kMethods = {
      {"vanilla", "gradient", "|d score / d x|, max over the channels (Simonyan et al. 2014)", vanilla_attribution,
       0u},
      {"smoothgrad", "SmoothGrad",
       "|mean of d score / d x over noisy copies x + N(0, sigma^2)|, max over the channels (Smilkov et al. 2017)",
       smoothgrad_attribution, M::reads_samples | M::reads_batch},
      {"smoothgrad_sq", "SmoothGrad-squared",
       "mean of (d score / d x)^2 over the same noisy copies, max over the channels (Captum's NoiseTunnel "
       "smoothgrad_sq)",
       smoothgrad_sq_attribution, M::reads_samples | M::reads_batch},
      {"vargrad", "VarGrad",
       "variance of d score / d x over the same noisy copies (population: / samples, as Captum), max over the channels "
       "(Adebayo et al. 2018)",
       vargrad_attribution, M::reads_samples | M::reads_batch},
      {"integrated", "integrated gradients",
       "|sum over the channels of (x - x') * mean of d score / d x on the line x' -> x| (Sundararajan et al. 2017)",
       integrated_attribution, M::reads_steps | M::reads_batch},
      {"guided", "guided backprop",
       "|d score / d x| through guided ReLUs, max over the channels (Springenberg et al. 2015)", guided_attribution,
       0u},
      {"gradcam", "Grad-CAM",
       "ReLU(sum_k w_k A_k), w_k = spatial mean of d score / d A_k, upsampled (Selvaraju et al. 2017)",
       cam_attribution<CamKind::gradcam>, M::reads_layer | M::reads_aug_smooth | M::reads_eigen_smooth},
      {"gradcampp", "Grad-CAM++", "the same with Grad-CAM++'s weights (Chattopadhyay et al. 2018)",
       cam_attribution<CamKind::gradcampp>, M::reads_layer | M::reads_aug_smooth | M::reads_eigen_smooth},
      {"guided-gradcam", "guided Grad-CAM", "guided backprop times the upsampled Grad-CAM",
       guided_gradcam_attribution, M::reads_layer},
      // HiResCAM (Draelos & Carin 2020): cam = ReLU(sum_k G_k * A_k), the gradient times the
      // activation at each position, no spatial averaging; the ReLU as pytorch-grad-cam applies it.
      {"hirescam", "HiResCAM",
       "ReLU(sum_k d score / d A_k * A_k) element-wise, no spatial mean, upsampled (Draelos & Carin 2020)",
       cam_attribution<CamKind::hirescam>, M::reads_layer | M::reads_aug_smooth | M::reads_eigen_smooth},
      // XGrad-CAM (Fu et al. 2020): w_k = sum_ij A_k,ij / (sum_ij A_k,ij + eps) * G_k,ij (eps 1e-7,
      // as pytorch-grad-cam), cam = ReLU(sum_k w_k A_k).
      {"xgradcam", "XGrad-CAM",
       "ReLU(sum_k w_k A_k), w_k = sum_ij A_k,ij / sum_ij A_k,ij * d score / d A_k,ij (Fu et al. 2020)",
       cam_attribution<CamKind::xgradcam>, M::reads_layer | M::reads_aug_smooth | M::reads_eigen_smooth},
      // LayerCAM (Jiang et al. 2021): cam = ReLU(sum_k ReLU(G_k) * A_k), element-wise.
      {"layercam", "LayerCAM",
       "ReLU(sum_k ReLU(d score / d A_k) * A_k) element-wise, upsampled (Jiang et al. 2021)",
       cam_attribution<CamKind::layercam>, M::reads_layer | M::reads_aug_smooth | M::reads_eigen_smooth},
      // EigenCAM (Muhammad & Yeasin 2020): A as (hw x K), centred per channel as pytorch-grad-cam's
      // get_2d_projection does, projected on its first right singular vector v; cam = ReLU(Xc v).
      // No gradient: the same map for every class.
      {"eigencam", "EigenCAM",
       "ReLU(projection of A, centred per channel, on its first principal component); no gradient, "
       "the same for every class (Muhammad & Yeasin 2020)",
       cam_attribution<CamKind::eigencam>, M::reads_layer | M::reads_aug_smooth},
      // EigenGrad-CAM (pytorch-grad-cam): EigenCAM on A * G (element-wise), so it is class-specific.
      {"eigengradcam", "EigenGrad-CAM",
       "the same on d score / d A * A, element-wise: class-specific (pytorch-grad-cam's EigenGradCAM)",
       cam_attribution<CamKind::eigengradcam>, M::reads_layer | M::reads_aug_smooth},
      // Score-CAM (Wang et al. 2020): w = softmax_k(score of x masked by channel k's upsampled,
      // 0..1-scaled map), cam = ReLU(sum_k w_k A_k); gradient-free, one forward pass per channel.
      {"scorecam", "Score-CAM",
       "ReLU(sum_k w_k A_k), w = softmax over the channels of the score of x times A_k upsampled and "
       "scaled to 0..1 (Wang et al. 2020)",
       scorecam_attribution, M::reads_layer | M::reads_batch},
      {"inputxgrad", "input x gradient",
       "|sum over the channels of x * d score / d x| (Captum's InputXGradient, Shrikumar et al. 2016)",
       inputxgrad_attribution, 0u},
  };
  return kMethods;
}

const AttributionMethod* find_attribution_method(std::string_view name) {
  for (const AttributionMethod& m : attribution_methods())
    if (name == m.name) return &m;
  return nullptr;
}

std::string attribution_method_names() {
  std::string names;
  for (const AttributionMethod& m : attribution_methods()) names += (names.empty() ? "" : ", ") + std::string(m.name);
  return names;
}

const AttributionMethod& attribution_method(std::string_view name) {
  if (const AttributionMethod* m = find_attribution_method(name)) return *m;
  throw std::invalid_argument("unknown attribution method '" + std::string(name) +
                              "' (valid: " + attribution_method_names() + ")");
}

Attribution compute_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt) {
  const AttributionMethod& method = attribution_method(opt.method);
  check_single("attribution", x);
  check_class(m, cls);
  Attribution a = method.compute(m, x, cls, opt);
  a.method = &method;
  a.cls = cls;
  return a;
}

}  // namespace convis
