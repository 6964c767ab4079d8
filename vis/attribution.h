#pragma once
// Attribution maps: which pixels of an input a class score depends on.
//
// The methods are a table, attribution_methods() (vis/attribution_methods.cpp): vanilla gradients
// (Simonyan et al. 2014), SmoothGrad (Smilkov et al. 2017) with Captum's NoiseTunnel variants
// SmoothGrad-squared and VarGrad (Adebayo et al. 2018), integrated gradients (Sundararajan et
// al. 2017), guided backprop (Springenberg et al. 2015), Grad-CAM (Selvaraju et al. 2017),
// Grad-CAM++ (Chattopadhyay et al. 2018), guided Grad-CAM, HiResCAM (Draelos & Carin 2020),
// XGrad-CAM (Fu et al. 2020), LayerCAM (Jiang et al. 2021), EigenCAM (Muhammad & Yeasin 2020),
// EigenGrad-CAM, Score-CAM (Wang et al. 2020) and Captum's InputXGradient, each a row with its name, its formula
// and the options it reads. They are built from the blocks below (input_gradient, noise_tunnel,
// smoothgrad, integrated_gradients, grad_cam, class_activation_map), which callers may also use alone.
//
// The score is the class logit: the model's output before any softmax. A model that ends in a
// softmax (Dense(activation="softmax") or a Softmax/Activation layer) is explained through the
// softmax's input, because the gradient of a probability also depends on every other class.
//
//   Tensor x = load_input("coffee.png", 224, 224, 3, Preprocess::unit);     // (1, 224, 224, 3)
//   AttributionOptions opt; opt.method = "gradcam";
//   Attribution a = compute_attribution(model, x, top_class(model, x), opt);
//   write_png(attribution_sheet(photo, a, "espresso"), "out/coffee_gradcam.png");
//
// Weights should be frozen (load_model freezes them), else every backward pass also computes
// weight gradients. Gradients run on the calling thread's tape.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/classifier.h"
#include "engine/model.h"
#include "vis/canvas.h"
#include "vis/image.h"

namespace convis {

// Called after each batch of forward/backward passes: (passes done, passes in all).
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// ---- building blocks ------------------------------------------------------------------------
// class_scores, num_classes and top_class: engine/classifier.h.

// d score[cls] / d x for every sample of x:(N,H,W,C), as (N,H,W,C). scores, when given, receives
// score[n][cls]. guided: with guided ReLUs (guided backpropagation).
Tensor input_gradient(const Model& m, const Tensor& x, int cls, std::vector<float>* scores = nullptr,
                      bool guided = false);

// The gradients of `samples` noisy copies, summarised per element in one pass (Captum's NoiseTunnel
// over the plain gradient, Saliency(abs=False)):
//   g_s = d score / d x at x + N(0, sigma^2), s = 1..S, sigma = noise * (max(x) - min(x))
//   mean     = (1/S) sum_s g_s              SmoothGrad
//   mean_sq  = (1/S) sum_s g_s^2            SmoothGrad-squared (Captum's smoothgrad_sq)
//   variance = mean_sq - mean^2             VarGrad: the population variance (over S, not S - 1),
//                                           as Captum computes it; so mean_sq = mean^2 + variance
// Sums are kept in double per element (the difference of two close numbers in vargrad), variance
// clamped at 0 against rounding. Run in batches of `batch`; the noise is drawn sample after sample,
// element after element, from std::mt19937(seed) and std::normal_distribution<float>, so the
// result does not depend on the batch size. All (1,H,W,C).
struct NoiseTunnel {
  Tensor mean;
  Tensor mean_sq;
  Tensor variance;
};
NoiseTunnel noise_tunnel(const Model& m, const Tensor& x, int cls, int samples = 20, float noise = 0.2f,
                         uint32_t seed = 0, int batch = 10, const ProgressFn& progress = {});

// noise_tunnel(...).mean: the mean gradient over the noisy copies.
Tensor smoothgrad(const Model& m, const Tensor& x, int cls, int samples = 20, float noise = 0.2f,
                  uint32_t seed = 0, int batch = 10, const ProgressFn& progress = {});

// Integrated gradients with the midpoint Riemann rule:
//   attr = (x - x') * (1/S) sum_{k=0}^{S-1} grad f(x' + (k + 1/2)/S * (x - x'))
// Completeness: sum(attr) ~ f(x) - f(x') (the error shrinks as 1/S^2 where f is smooth).
struct IntegratedGradients {
  Tensor attributions;        // (1,H,W,C)
  float score = 0.f;          // f(x)
  float baseline_score = 0.f; // f(x')
  double sum = 0.0;           // sum of the attributions
};
IntegratedGradients integrated_gradients(const Model& m, const Tensor& x, const Tensor& baseline, int cls,
                                         int steps = 50, int batch = 10, const ProgressFn& progress = {});

// The layer Grad-CAM looks at by default: the last layer whose output is spatial (H, W, C) and at
// least kMinCamSide on both sides, so that the map can say where: VGG16's block5_pool (7x7 at 224),
// the darknet model's conv2d_16 (14x14), the embedded Fashion-MNIST model's conv2d_1 (11x11; its
// last conv layer, conv2d_2, is 3x3 and peaks at a corner of the sneaker). pytorch-grad-cam's
// usual targets (VGG's last conv block, ResNet's layer4: 7x7) are of that size. When no layer
// reaches it, the spatial layer of the largest output, the latest of equals. Throws when the model
// has none.
constexpr int64_t kMinCamSide = 7;
int default_cam_layer(const Model& m);
// The index of `name`, checked to have a spatial output; throws naming the layer and the default.
int cam_layer(const Model& m, const std::string& name);

// Grad-CAM at layer L for x:(1,H,W,C); returns the (h, w) map at the layer's resolution, >= 0.
//   A = layer L's output (after its activation), G = d score / d A
//   Grad-CAM:   w_k = mean_ij G_ijk
//   Grad-CAM++: w_k = sum_ij alpha_ijk relu(G_ijk),  alpha = G^2 / (2 G^2 + sum_ij(A_k) G^3)
//               (the exp-free form: the second and third derivatives of exp(score) written with G;
//               alpha is 0 where G is 0)
//   cam = relu(sum_k w_k A_k)
// channel_weights, when given, receives w (K).
Tensor grad_cam(const Model& m, const Tensor& x, int cls, int layer, bool plus_plus = false,
                Tensor* channel_weights = nullptr);

// The CAM family at layer L, on the same A and G as grad_cam (kernels/cam.h has the formulas):
//   gradcam, gradcampp   as grad_cam
//   hirescam     relu(sum_k G_k * A_k), element-wise (Draelos & Carin 2020)          no weights
//   xgradcam     relu(sum_k w_k A_k), w_k = sum_ij A_k,ij / (sum_ij A_k,ij + eps) * G_k,ij (Fu et al. 2020)
//   layercam     relu(sum_k relu(G_k) * A_k), element-wise (Jiang et al. 2021)       no weights
//   eigencam     relu(A centred per channel, projected on its first principal direction v) (Muhammad &
//                Yeasin 2020); no gradient is computed; weights: v
//   eigengradcam the same on A * G; weights: v
// channel_weights, when given, receives w (K) where the method has them, else an undefined Tensor.
// eigen_smooth (pytorch-grad-cam's eigen_smooth): instead of the channel sum of the weighted
// activations (w_k A_k; G * A for hirescam; relu(G) * A for layercam), their first principal
// component, as eigencam computes it, then ReLU; channel_weights then receives its direction v.
// eigencam and eigengradcam are principal components already: eigen_smooth is refused for them.
enum class CamKind { gradcam, gradcampp, hirescam, xgradcam, layercam, eigencam, eigengradcam };
Tensor class_activation_map(const Model& m, const Tensor& x, int cls, int layer, CamKind kind,
                            Tensor* channel_weights = nullptr, bool eigen_smooth = false);

// Test-time augmentation smoothing (pytorch-grad-cam's aug_smooth, with ttach's transforms): the
// CAM of each of 6 copies of x, {as is, flipped left-right} x {x * 0.9, x * 1, x * 1.1} (the
// preprocessed input scaled), upsampled to (H, W), scaled to [0, 1] as pytorch-grad-cam's
// scale_cam_image does ((c - min) / (max - min + 1e-7)), flipped back, and averaged: (H, W).
// The copies are run one at a time; eigen_smooth as class_activation_map.
Tensor aug_smooth_cam(const Model& m, const Tensor& x, int cls, int layer, CamKind kind, bool eigen_smooth = false);

// Score-CAM (Wang et al. 2020) at layer L, as pytorch-grad-cam's ScoreCAM computes it, gradient-free:
//   M_k = channel k of A upsampled to (H, W) (upsample_bilinear), scaled to 0..1:
//         (M_k - min M_k) / (max M_k - min M_k); 0 where the channel is constant (pytorch-grad-cam
//         divides 0 by 0 there)
//   s_k = score[cls](x * M_k)   (every input channel times the mask)
//   w   = softmax_k(s_k)        (= softmax of the score increases s_k - score(baseline): softmax does
//                                 not change when every s_k moves by the same amount)
//   cam = relu(sum_k w_k A_k)
// The K masked copies run through the model in batches of `batch`, with no gradient; progress is
// called after each batch (copies done, K). channel_weights receives w, channel_scores s (K).
Tensor score_cam(const Model& m, const Tensor& x, int cls, int layer, int batch = 16, const ProgressFn& progress = {},
                 Tensor* channel_weights = nullptr, Tensor* channel_scores = nullptr);

// Bilinear resize of an (h, w) map to (H, W) with half-pixel centres (align_corners=False, as
// cv2.resize and tf.image.resize), edges clamped; no antialiasing when shrinking
// (kernels/resize.h, ResizeFilter::bilinear).
Tensor upsample_bilinear(const Tensor& map, int H, int W);
// (1,H,W,C) -> (H,W): max over channels of |g|.
Tensor channel_max_abs(const Tensor& g);

// ---- one call per method --------------------------------------------------------------------
struct AttributionOptions {
  std::string method = "gradcam";  // a name from attribution_methods()
  int layer = -1;          // CAM methods: the layer index; -1: default_cam_layer
  int samples = 20;        // smoothgrad, smoothgrad_sq, vargrad
  float noise = 0.2f;      // the same: sigma as a fraction of the input's range
  uint32_t seed = 0;       // the same
  int steps = 50;          // integrated
  Tensor baseline;         // integrated: x' (1,H,W,C); empty: zeros. vis_tool passes preprocessed black.
  int batch = 10;          // the noisy methods / integrated / scorecam: copies per forward(/backward) pass
  bool eigen_smooth = false;  // CAM methods but eigencam/eigengradcam: see class_activation_map
  bool aug_smooth = false;    // CAM methods: aug_smooth_cam (then no cam and no channel weights)
  ProgressFn progress;
};

struct AttributionMethod;

struct Attribution {
  const AttributionMethod* method = nullptr;  // the row of attribution_methods() that made it
  int cls = 0;
  float score = 0.f;       // the explained logit f(x)
  std::string layer;       // CAM methods: the layer's name
  Tensor map;              // (H, W) at the model's input size, >= 0: what the pictures show
  Tensor rgb;              // guided, guided-gradcam: (H, W, C) signed values, shown as an image
  Tensor cam;              // CAM methods: (h, w) at the layer's resolution; undefined with aug_smooth
  // The numbers behind the picture, for `--npy`: the signed per-channel attributions (H, W, C) of
  // the pixel methods (the gradient, the noise tunnel's statistic, (x - x') * mean gradient, the
  // guided gradient, guided x CAM), the upsampled CAM (H, W) for the CAM methods.
  Tensor raw;
  Tensor channel_weights;  // CAM methods: the layer's channel weights w_k (C_layer)
  float display_max = 1.f; // top of the colour scale: the max for CAMs, the 99.5th percentile for
                           // pixel-level maps (a few extreme gradients would otherwise wash out the rest)
  std::string quantity;    // what map holds, for the colour bar
  // integrated: completeness, sum of the attributions vs f(x) - f(x')
  float baseline_score = 0.f;
  double attribution_sum = 0.0;
};

// One method: a row of the table. compute fills score, map, display_max and quantity (and rgb,
// cam, layer where the method has them); compute_attribution sets method and cls. x:(1,H,W,C),
// cls in [0, K), both checked before compute is called.
using AttributionFn = Attribution (*)(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt);

struct AttributionMethod {
  // The options a method reads besides the class, as bits of `reads`. Callers refuse the others
  // rather than let them do nothing.
  enum Reads : unsigned {
    reads_layer = 1u,    // layer: a class activation map; fills Attribution::layer and cam
    reads_samples = 2u,  // samples, noise, seed: noisy copies of the input
    reads_steps = 4u,    // steps, baseline: a path of inputs from the baseline to x
    reads_batch = 8u,    // batch and progress: many forward/backward passes
    reads_aug_smooth = 16u,    // aug_smooth
    reads_eigen_smooth = 32u,  // eigen_smooth
  };
  const char* name;     // "guided-gradcam": AttributionOptions::method, and in file names
  const char* title;    // "guided Grad-CAM": for people, in the pictures
  const char* summary;  // the map it computes, in one line
  AttributionFn compute;
  unsigned reads;       // Reads bits
  bool uses(Reads r) const { return (reads & r) != 0; }
};

// Every method, each once, in the order lists show them. Adding a method is one function with
// the AttributionFn signature and one row (vis/attribution_methods.cpp).
const std::vector<AttributionMethod>& attribution_methods();
const AttributionMethod* find_attribution_method(std::string_view name);  // nullptr when there is none
// The row named `name`; throws std::invalid_argument naming it and listing the valid names.
const AttributionMethod& attribution_method(std::string_view name);
std::string attribution_method_names();  // "vanilla, smoothgrad, ...", in the table's order

// x:(1,H,W,C), preprocessed; cls in [0, K). Runs the row named opt.method.
Attribution compute_attribution(const Model& m, const Tensor& x, int cls, const AttributionOptions& opt);

// ---- pictures -------------------------------------------------------------------------------
// photo | map (jet) | overlay (jet over the photo, alpha 0.4) [| guided image], a colour bar and a
// title line on top; panels at the photo's aspect ratio (the model's square input stretched back),
// their longer side `panel` pixels.
Canvas attribution_sheet(const Image& photo, const Attribution& a, const std::string& title, int panel = 360);
// Signed (H, W, C) values (Attribution::rgb) as an RGB image centred at 0: 0 is mid grey (128),
// +-5 root mean squares of all values are 255 and 0 (a grey C = 1 is drawn in all three).
Canvas signed_rgb_canvas(const Tensor& rgb);
// The map alone at the model's input size, grey: 0 black, display_max and above white.
Canvas attribution_map_canvas(const Attribution& a);
// The photo scaled so its longer side is `longer` pixels (bilinear).
Canvas fit_photo(const Image& photo, int longer);
// c with a line of text above it (the pictures' headline) and a white margin around both.
Canvas add_title(const Canvas& c, const std::string& title, int px = 16);

}  // namespace convis
