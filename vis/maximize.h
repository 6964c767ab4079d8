#pragma once
// Activation maximisation: images that make one filter (channel) of a layer, or one unit of a
// dense layer, as large as possible, found by gradient ascent on the image with frozen weights.
//
//   Model m = load_model("darknet_tiny_imagenet.h5");
//   MaximizeOptions opt;                         // method lucid, 512 Adam steps
//   Maximizer mx(m, "leaky_re_lu_14", opt);      // the model up to that layer, weights frozen
//   std::vector<MaximizeResult> r = mx.run({7, 9, 11});   // one batch: one forward/backward per step
//   r[0].image;       // (H, W, 3) in [0, 1], what a person looks at
//   r[0].activation;  // mean of channel 7 on that image
//
// The objective of image b in a batch is the mean over (H, W) of channel filters[b] of the
// layer's output (for a dense layer: unit filters[b]). The batch maximises the sum of these means,
// so each image receives exactly its own filter's gradient, and every per-image quantity (the
// start image, the random transforms, Adam's moments, the gradient's norm) is drawn or computed
// per image from a seed derived from (seed, filter): a filter's picture does not depend on which
// filters share its batch.
//
// Methods (each one file, vis/maximize_<name>.cpp, and one row of the table in maximize.cpp;
// what a method is: vis/maximize_method.h):
//   seed      the Keras seeds' loop: a uniform random image in [0, 1) fed to the model as is (no
//             preprocessing), image += step * g / |g|_2 (per image), step 0.1, 500 iterations;
//             shown min-max normalised.
//   lucid     Lucid's recipe (Olah et al., Feature Visualization, 2017): the image is
//             sigmoid(decorrelate(irfft2(spectrum * 1/f) / 4)), i.e. Fourier coefficients scaled
//             by 1/frequency (low frequencies are cheap, high ones costly) in a decorrelated colour
//             space; it then goes through the model's preprocessing, and every step through a random
//             jitter (shift with grey padding), scale (0.9..1.1) and rotation (-5..5 degrees),
//             one bilinear warp. Adam (engine/optim.h, maximising), learning rate 0.05, 512 steps.
//   yosinski  Yosinski et al. 2015's regularised ascent in pixel space: pixels (0..255) +=
//             step * P * gradient, L2 decay 1e-4 towards the ImageNet mean colour, Gaussian blur
//             sigma 1 every 4 steps, pixels clipped to 0..255; shown contrast-stretched.
//             The step, 100, is in 0..255 pixel units: for caffe inputs (pixel - mean) that is
//             step 100 in the model's input units; for x/255 inputs it equals 100/255^2 = 0.0015
//             in input units (the same pixel change). Yosinski's step was for one unit; our
//             objective is the mean over the map's P = H' x W' positions, whose gradient is 1/P as
//             large per position, hence the factor P (1 for dense layers).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/buffer_cache.h"
#include "engine/model.h"
#include "engine/tensor.h"
#include "vis/preprocess.h"

namespace convis {

enum class MaximizeMethod { lucid, seed, yosinski };

// What image b maximises: the mean over (H', W') of its channel, or one unit of it, the one at the
// centre (H'/2, W'/2) ("neuron", Lucid's objectives.neuron). automatic: neuron for a layer that
// sees a small part of the image (receptive field <= a quarter of the default image side, when no
// size is given), on an image of max(16, 4 x field) pixels: a mean over the whole map of an early,
// nearly linear filter is maximised by flat, saturated colour; one unit shows the filter's pattern.
// Else channel. Dense layers have one value per unit either way.
enum class MaximizeObjective { automatic, channel, neuron };
MaximizeObjective parse_maximize_objective(const std::string& name);  // "channel", "neuron"
MaximizeMethod parse_maximize_method(const std::string& name);  // throws listing the valid names
const char* maximize_method_name(MaximizeMethod m);

struct MaximizeOptions {
  MaximizeMethod method = MaximizeMethod::lucid;
  MaximizeObjective objective = MaximizeObjective::automatic;
  int size = 0;         // input side; 0: the model's own size when fixed, else 96 (neuron: see above)
  int iters = -1;       // -1: the method's default (lucid 512, seed 500, yosinski 500)
  float step = 0.f;     // 0: the method's default (lucid Adam lr 0.05, seed 0.1, yosinski 100)
  uint64_t seed = 0;
  bool pre_relu = false;  // maximise the layer's output before its own activation
  int batch = 16;         // images per forward/backward in run(); longer filter lists go in chunks
  std::optional<Preprocess> preprocess;  // lucid and yosinski; default: default_preprocess(model)
  // Lucid's three ingredients, each switchable for comparisons (library only).
  bool fourier = true, decorrelate = true, transforms = true;
};

struct MaximizeResult {
  int filter = 0;
  Tensor image;                // (H, W, C) in [0, 1]: the picture to show
  Tensor input;                // (1, H, W, C): the final image exactly as the model takes it
  std::vector<float> losses;   // the objective before each step (under that step's transforms)
  float activation = 0.f;      // the objective on `input`, no transforms
};

// Called after every step's forward pass: iteration (0-based), the batch's filters and their
// objectives at that iteration.
using MaximizeObserver = std::function<void(int iter, const std::vector<int>& filters, const std::vector<float>& losses)>;
// Receives each result as its batch finishes; with a sink, run() keeps nothing (so a 512-filter
// layer needs the memory of one batch, not of 512 pictures).
using MaximizeSink = std::function<void(MaximizeResult&& result)>;

// The seed method's update, per image of the batch x:(B, ...): x += step * grad / ||grad||_2 (the
// seeds' K.l2_normalize over the whole image).
void seed_update(Tensor* x, const Tensor& grad, float step);

class Maximizer {
 public:
  // Validates the layer (throws listing the valid names) and the size, keeps layers 0..layer
  // built for the input size, and freezes their weights (restored by the destructor; the
  // weights are shared with m, which must outlive the Maximizer). Several Maximizers over one
  // model should end in reverse order, as scopes do: each restores the trainability it found.
  // Ended out of order they still compute the right gradients (a target layer made trainable
  // again is run whole), and the tensor cache's headroom comes back when the last one ends.
  // While any lives, the cache keeps to 1.25 x the step's peak (cache_policy_ below).
  Maximizer(const Model& m, const std::string& layer, const MaximizeOptions& opt);
  ~Maximizer();
  Maximizer(const Maximizer&) = delete;
  Maximizer& operator=(const Maximizer&) = delete;

  const std::string& layer() const { return layer_; }
  int num_filters() const { return num_filters_; }
  bool dense() const { return dense_; }  // units of a flat output rather than channels of a map
  // Throws "filter 600 out of range: block5_conv3 has 512 filters (0..511)".
  void check_filter(int filter) const;
  int height() const { return h_; }
  int width() const { return w_; }
  int channels() const { return c_; }
  int iters() const { return iters_; }
  float step() const { return step_; }
  int positions() const { return positions_; }  // H' x W' of the layer's output (1 for dense)
  bool neuron() const { return neuron_; }        // the objective is the centre unit (resolved)
  bool redirected() const { return redirect_; }  // the target has its own ReLU, whose gradient run() redirects
  int receptive_field() const { return rf_; }    // pixels the target layer's unit sees, per side
  Preprocess preprocessing() const { return pre_; }
  bool pre_activation() const { return pre_activation_; }
  // Choices worth telling the user (e.g. "maximising the logit"), one line each; may be empty.
  const std::vector<std::string>& notes() const { return notes_; }

  // Optimises the filters in chunks of options.batch images; results in the order given (to
  // `sink` when given, and then the returned vector is empty).
  std::vector<MaximizeResult> run(const std::vector<int>& filters, const MaximizeObserver& observe = {},
                                  const MaximizeSink& sink = {}) const;

  // The objective of each image of x:(N, H, W, C), given as the model takes it, for one filter.
  std::vector<float> activation(const Tensor& x, int filter) const;
  // Image b's objective for filters[b] and, in *grad, the gradient of their sum with respect to
  // x:(N, H, W, C): one step's forward and backward (the seed method's, whose parameters are x).
  std::vector<float> input_gradient(const Tensor& x, const std::vector<int>& filters, Tensor* grad) const;

 private:
  std::vector<MaximizeResult> run_batch(const std::vector<int>& filters, const MaximizeObserver& observe) const;
  // The target layer's output for images with these filters: only their own channels when
  // select_ (a Conv2D target: Model::forward_channels), else the whole output.
  Var target(const Var& x, const std::vector<int>& filters) const;
  Var target(const Var& x, const std::vector<int>& filters, bool pre_activation) const;
  // One forward of x to the target and the backward of the batch objective (the sum of each
  // image's); returns each image's objective. Gradients land where x came from.
  std::vector<float> ascend(const Var& x, const std::vector<int>& filters) const;
  // ascend() for a target with its own ReLU, as run() steps it: an image whose channel is 0
  // everywhere gets the pre-activation's gradient instead of none (maximize.cpp says why).
  std::vector<float> ascend_redirected(const Var& x, const std::vector<int>& filters) const;
  bool selecting() const;  // select_, and the target layer's weights are still frozen

  // The tensor cache stays within 1.25 x the step's own peak (engine/buffer_cache.h). Measured
  // on VGG16 at 96x96, 2 threads: block5_conv3 batch 16 peaks at 366 MB resident instead of
  // 504 MB (2 x) for about the same step time; at 1 x it is 303 MB, but a batch-1 step then
  // re-faults its blocks every time and takes 91 ms instead of 60.
  BufferCachePolicy cache_policy_{1.25};
  Model model_;  // layers 0..layer of the model, built at h_ x w_
  MaximizeOptions opt_;
  std::string layer_;
  int num_filters_ = 0;
  bool dense_ = false, pre_activation_ = false, select_ = false, redirect_ = false;
  int h_ = 0, w_ = 0, c_ = 0, iters_ = 0, positions_ = 1, rf_ = 1;
  bool neuron_ = false;
  float step_ = 0.f;
  Preprocess pre_ = Preprocess::unit;
  std::vector<std::string> notes_;
  std::vector<bool> was_trainable_;
};

// One call: Maximizer(m, layer, opt).run(filters, observe).
std::vector<MaximizeResult> maximize(const Model& m, const std::string& layer, const std::vector<int>& filters,
                                     const MaximizeOptions& opt, const MaximizeObserver& observe = {});

// ---- building blocks of the lucid method (exposed for tests) ------------------------------------

// Lucid's colour-correlation square root (ImageNet RGB statistics), normalised so its largest
// column has unit norm: rgb = M v at every pixel.
extern const float kColorCorrelationSqrt[3][3];

// The 1/f scale of Lucid's Fourier image for an h x w image, (h, w/2 + 1) values:
// sqrt(h w) / max(|f|, 1 / max(h, w)), |f| the frequency in cycles per pixel.
std::vector<float> fourier_scale(int h, int w);

}  // namespace convis
