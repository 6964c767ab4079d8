// The building blocks of the attribution maps: class scores, input gradients (plain and guided),
// the noise tunnel (SmoothGrad's samples: their mean, mean square and variance), integrated
// gradients, and class activation maps (the gradient family of kernels/cam.h on a layer made a
// leaf, its augmentation smoothing, and Score-CAM's masked copies). The methods made of them are the
// table in vis/attribution_methods.cpp; the pictures are vis/attribution_sheet.cpp.
#include "vis/attribution.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "engine/classifier.h"
#include "engine/ops.h"
#include "kernels/cam.h"
#include "kernels/elementwise.h"
#include "kernels/resize.h"
#include "vis/attribution_detail.h"

namespace convis {

namespace {

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

}  // namespace

namespace attribution_detail {

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

float score_of(const Model& m, const Tensor& x, int cls) {
  NoGrad no_grad;
  const Tensor s = class_scores(m, Var::constant(x)).value();
  return s[cls];
}

}  // namespace attribution_detail

using namespace attribution_detail;

// ---- scores and gradients -------------------------------------------------------------------

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

NoiseTunnel noise_tunnel(const Model& m, const Tensor& x, int cls, int samples, float noise, uint32_t seed, int batch,
                         const ProgressFn& progress) {
  check_single("noise_tunnel", x);
  if (samples < 1 || batch < 1 || !(noise >= 0.f))
    throw std::invalid_argument("noise_tunnel: samples and batch must be >= 1 and noise >= 0");
  const int64_t n = x.numel();
  const auto [lo, hi] = std::minmax_element(x.data(), x.data() + n);
  const float sigma = noise * (*hi - *lo);
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.f, 1.f);
  // sum_s g_s and sum_s g_s^2 per element: every statistic comes from this one pass.
  std::vector<double> sum(size_t(n), 0.0), sum_sq(size_t(n), 0.0);
  for (int done = 0; done < samples;) {
    const int b = std::min(batch, samples - done);
    Tensor noisy(Shape{b, x.dim(1), x.dim(2), x.dim(3)});
    for (int k = 0; k < b; ++k)
      for (int64_t i = 0; i < n; ++i) noisy[k * n + i] = x[i] + sigma * gauss(rng);
    const Tensor g = input_gradient(m, noisy, cls);  // (b,H,W,C)
    for (int k = 0; k < b; ++k)
      for (int64_t i = 0; i < n; ++i) {
        const double v = double(g[k * n + i]);
        sum[size_t(i)] += v;
        sum_sq[size_t(i)] += v * v;
      }
    done += b;
    if (progress) progress(done, samples);
  }
  NoiseTunnel r{Tensor(x.shape()), Tensor(x.shape()), Tensor(x.shape())};
  for (int64_t i = 0; i < n; ++i) {
    const double mean = sum[size_t(i)] / samples, mean_sq = sum_sq[size_t(i)] / samples;
    r.mean[i] = float(mean);
    r.mean_sq[i] = float(mean_sq);
    r.variance[i] = float(std::max(0.0, mean_sq - mean * mean));
  }
  return r;
}

Tensor smoothgrad(const Model& m, const Tensor& x, int cls, int samples, float noise, uint32_t seed, int batch,
                  const ProgressFn& progress) {
  return noise_tunnel(m, x, cls, samples, noise, seed, batch, progress).mean;
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
    for (int k = 0; k < b; ++k) accumulate(g.data() + k * n, sum_grad.data(), n);
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
  int best = -1;
  int64_t best_side = -1;
  for (int i = int(m.layers.size()) - 1; i >= 1; --i) {
    const Layer& l = m.layers[size_t(i)];
    if (!l.has_spatial_output()) continue;
    const int64_t side = std::min(l.output_shape[0], l.output_shape[1]);
    if (side >= kMinCamSide) return i;
    if (side > best_side) best = i, best_side = side;  // none reaches 7: the finest, latest first
  }
  if (best >= 0) return best;
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

Tensor class_activation_map(const Model& m, const Tensor& x, int cls, int layer, CamKind kind, Tensor* channel_weights,
                            bool eigen_smooth) {
  check_single("class_activation_map", x);
  check_class(m, cls);
  if (eigen_smooth && (kind == CamKind::eigencam || kind == CamKind::eigengradcam))
    throw std::invalid_argument(std::string("class_activation_map: eigen smoothing applies to the CAMs that sum weighted "
                                            "channels, not to ") +
                                (kind == CamKind::eigencam ? "eigencam" : "eigengradcam") +
                                ", which is a first principal component already");
  if (layer < 1 || layer >= int(m.layers.size()) || !m.layers[size_t(layer)].has_spatial_output())
    throw std::invalid_argument("class_activation_map: layer index " + std::to_string(layer) +
                                " has no spatial output (H, W, C)");
  const bool needs_gradient = kind != CamKind::eigencam;
  // A as a leaf: the layer's output is replaced by a parameter holding its value, so the score is
  // differentiated with respect to it and nothing before it (which, with the model's frozen
  // weights and a constant x, records nothing). In a graph this holds at any layer: the paths
  // around it (a residual skip) start before it and do not depend on A. EigenCAM needs A only:
  // the forward pass then records nothing.
  Var a;
  Var s;
  try {
    std::unique_ptr<NoGrad> no_grad;
    if (!needs_gradient) no_grad = std::make_unique<NoGrad>();
    s = class_scores(m, Var::constant(x), [&](int i, Var& out) {
      if (i == layer) out = a = needs_gradient ? Var::param(out.value()) : Var::constant(out.value());
    });
  } catch (...) {
    Tape::current().clear();
    throw;
  }
  if (!a.defined()) {
    Tape::current().clear();
    throw std::invalid_argument("class_activation_map: layer '" + m.layers[size_t(layer)].name +
                                "' does not lead to the class scores");
  }
  const Tensor A = a.value();
  const Tensor G = needs_gradient ? backward_class(s, cls, a, false) : Tensor();

  // A, G: (1, h, w, K)
  const int64_t h = A.dim(1), w = A.dim(2), K = A.dim(3), hw = h * w;
  Tensor weights(Shape{K});
  Tensor cam(Shape{h, w});
  if (eigen_smooth) {
    // The weighted activations, (hw, K), and their first principal component (pytorch-grad-cam's
    // get_2d_projection of weights * activations, or of the element-wise products).
    Tensor weighted(Shape{hw, K});
    if (kind == CamKind::hirescam || kind == CamKind::layercam) {
      for (int64_t i = 0; i < hw * K; ++i)
        weighted[i] = (kind == CamKind::layercam ? std::max(G[i], 0.f) : G[i]) * A[i];
    } else {
      if (kind == CamKind::gradcam) grad_cam_weights(G.data(), weights.data(), hw, K);
      else if (kind == CamKind::gradcampp) grad_cam_pp_weights(A.data(), G.data(), weights.data(), hw, K);
      else xgrad_cam_weights(A.data(), G.data(), weights.data(), hw, K);
      for (int64_t p = 0; p < hw; ++p)
        for (int64_t k = 0; k < K; ++k) weighted[p * K + k] = weights[k] * A[p * K + k];
    }
    eigen_cam(weighted.data(), cam.data(), weights.data(), hw, K);
    if (channel_weights) *channel_weights = weights;
    return cam;
  }
  bool has_weights = true;
  switch (kind) {
    case CamKind::gradcam:
    case CamKind::gradcampp:
    case CamKind::xgradcam:
      if (kind == CamKind::gradcam) grad_cam_weights(G.data(), weights.data(), hw, K);
      else if (kind == CamKind::gradcampp) grad_cam_pp_weights(A.data(), G.data(), weights.data(), hw, K);
      else xgrad_cam_weights(A.data(), G.data(), weights.data(), hw, K);
      cam_combine(A.data(), weights.data(), cam.data(), hw, K);
      break;
    case CamKind::hirescam:
      hires_cam(A.data(), G.data(), cam.data(), hw, K);
      has_weights = false;
      break;
    case CamKind::layercam:
      layer_cam(A.data(), G.data(), cam.data(), hw, K);
      has_weights = false;
      break;
    case CamKind::eigencam:
      eigen_cam(A.data(), cam.data(), weights.data(), hw, K);
      break;
    case CamKind::eigengradcam: {
      Tensor ag(A.shape());
      for (int64_t i = 0; i < A.numel(); ++i) ag[i] = A[i] * G[i];
      eigen_cam(ag.data(), cam.data(), weights.data(), hw, K);
      break;
    }
  }
  if (channel_weights) *channel_weights = has_weights ? weights : Tensor();
  return cam;
}

Tensor grad_cam(const Model& m, const Tensor& x, int cls, int layer, bool plus_plus, Tensor* channel_weights) {
  return class_activation_map(m, x, cls, layer, plus_plus ? CamKind::gradcampp : CamKind::gradcam, channel_weights);
}

Tensor aug_smooth_cam(const Model& m, const Tensor& x, int cls, int layer, CamKind kind, bool eigen_smooth) {
  check_single("aug_smooth_cam", x);
  const int64_t H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor sum = Tensor::zeros(Shape{H, W});
  int copies = 0;
  for (const bool flip : {false, true})
    for (const float factor : {0.9f, 1.f, 1.1f}) {
      Tensor xt(x.shape());
      for (int64_t y = 0; y < H; ++y)
        for (int64_t i = 0; i < W; ++i)
          for (int64_t c = 0; c < C; ++c) xt[(y * W + (flip ? W - 1 - i : i)) * C + c] = factor * x[(y * W + i) * C + c];
      const Tensor up =
          upsample_bilinear(class_activation_map(m, xt, cls, layer, kind, nullptr, eigen_smooth), int(H), int(W));
      const auto [lo, hi] = std::minmax_element(up.data(), up.data() + up.numel());
      const float low = *lo, range = *hi - *lo + 1e-7f;
      for (int64_t y = 0; y < H; ++y)
        for (int64_t i = 0; i < W; ++i) sum[y * W + i] += (up[y * W + (flip ? W - 1 - i : i)] - low) / range;
      ++copies;
    }
  for (int64_t i = 0; i < sum.numel(); ++i) sum[i] /= float(copies);
  return sum;
}

Tensor score_cam(const Model& m, const Tensor& x, int cls, int layer, int batch, const ProgressFn& progress,
                 Tensor* channel_weights, Tensor* channel_scores) {
  check_single("score_cam", x);
  check_class(m, cls);
  if (batch < 1) throw std::invalid_argument("score_cam: batch is " + std::to_string(batch) + ", expected >= 1");
  if (layer < 1 || layer >= int(m.layers.size()) || !m.layers[size_t(layer)].has_spatial_output())
    throw std::invalid_argument("score_cam: layer index " + std::to_string(layer) + " has no spatial output (H, W, C)");
  NoGrad no_grad;
  const Tensor A = m.forward(Var::constant(x), layer).value();  // (1, h, w, K)
  const int64_t h = A.dim(1), w = A.dim(2), K = A.dim(3), hw = h * w;
  const int64_t H = x.dim(1), W = x.dim(2), C = x.dim(3), n = H * W * C;
  // The masks M_k (H, W), scaled to 0..1.
  std::vector<float> masks(size_t(K * H * W));
  Tensor channel(Shape{h, w});
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t p = 0; p < hw; ++p) channel[p] = A[p * K + k];
    const Tensor up = upsample_bilinear(channel, int(H), int(W));
    const auto [lo, hi] = std::minmax_element(up.data(), up.data() + up.numel());
    const float range = *hi - *lo;
    for (int64_t p = 0; p < H * W; ++p) masks[size_t(k * H * W + p)] = range > 0.f ? (up[p] - *lo) / range : 0.f;
  }
  Tensor scores(Shape{K});
  for (int64_t done = 0; done < K;) {
    const int64_t b = std::min<int64_t>(batch, K - done);
    Tensor copies(Shape{b, H, W, C});
    for (int64_t j = 0; j < b; ++j) {
      const float* mk = masks.data() + (done + j) * H * W;
      for (int64_t p = 0; p < H * W; ++p)
        for (int64_t c = 0; c < C; ++c) copies[j * n + p * C + c] = x[p * C + c] * mk[p];
    }
    const Tensor s = class_scores(m, Var::constant(copies)).value();  // (b, classes)
    const int64_t classes = s.dim(1);
    for (int64_t j = 0; j < b; ++j) scores[done + j] = s[j * classes + cls];
    done += b;
    if (progress) progress(done, K);
  }
  Tensor weights(Shape{K});
  score_cam_weights(scores.data(), weights.data(), K);
  Tensor cam(Shape{h, w});
  cam_combine(A.data(), weights.data(), cam.data(), hw, K);
  if (channel_weights) *channel_weights = weights;
  if (channel_scores) *channel_scores = scores;
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
  convis::channel_max_abs(g.data(), out.data(), H * W, C);
  return out;
}

}  // namespace convis
