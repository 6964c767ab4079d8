// The yosinski method, Yosinski et al. 2015's regularised ascent in pixel space. The parameters
// are pixels (B, H, W, C) in 0..255, started at the ImageNet mean colour plus noise of sigma 10,
// fed through the model's preprocessing; each step is
//
//   pixels = mean + (1 - 1e-4) (pixels + step * P * g - mean)   L2 decay towards the mean colour
//   Gaussian blur, sigma 1, every 4 steps; clip to 0..255
//
// The step (100) is in pixel units; P = H' x W', the target map's positions, because the
// objective is a mean over them (vis/maximize.h says why). Shown contrast-stretched.
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops_image.h"
#include "kernels/warp.h"
#include "vis/maximize_method.h"

namespace convis {

namespace {

class YosinskiMethod : public MaximizeParametrisation {
 public:
  explicit YosinskiMethod(const MaximizeSetup& s) : s_(s), step_(s.step) {
    preprocess_affine(s.preprocess, int(s.c), &pre_m_, &pre_b_);
    for (int64_t c = 0; c < s.c; ++c) mean_.push_back(pixel_of_zero_input(s.preprocess, int(c), int(s.c)));
  }

  Var init(std::vector<std::mt19937_64>& rng) override {
    // The mean colour plus noise of 10 grey levels, in 0..255.
    return Var::param(per_image_start(s_, rng, [this](std::mt19937_64& r) {
      return [this, &r, normal = std::normal_distribution<float>(0.f, 1.f)](int64_t i) mutable {
        return std::clamp(mean_pixel(i % s_.c) + 10.f * normal(r), 0.f, 255.f);
      };
    }));
  }

  Var input(const Var& p, std::vector<std::mt19937_64>*) const override { return mix_channels(p, pre_m_, pre_b_); }

  void step(Var& p, int it) override {
    Tensor& x = p.value();
    const Tensor& g = p.grad();
    const float decay = 1e-4f;
    const int64_t n = x.numel() / s_.batch;
    for (int64_t b = 0; b < s_.batch; ++b) {
      double ss = 0;
      for (int64_t i = b * n; i < (b + 1) * n; ++i) ss += double(g[i]) * double(g[i]);
      const double rms = std::sqrt(ss / double(n));
      const float scale = rms > 0 ? float(double(step_) / rms) : 0.f;
      for (int64_t i = b * n; i < (b + 1) * n; ++i) {
        const float m = mean_pixel(i % s_.c);
        x[i] = m + (1.f - decay) * (x[i] + scale * g[i] - m);
      }
    }
    if (it % 4 == 3) gaussian_blur_nhwc(x.data(), int(s_.batch), int(s_.h), int(s_.w), int(s_.c), 1.f);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = std::clamp(x[i], 0.f, 255.f);
  }

  // Decay and blur keep the picture near grey; shown contrast-stretched, per image, the 0.5th and
  // 99.5th percentiles of its values going to black and white.
  Tensor display(const Var& p) const override {
    Tensor shown = p.value().clone();
    const int64_t n = shown.numel() / s_.batch;
    for (int64_t b = 0; b < s_.batch; ++b) {
      float* v = shown.data() + b * n;
      std::vector<float> sorted(v, v + n);
      std::sort(sorted.begin(), sorted.end());
      const float lo = sorted[size_t(double(n - 1) * 0.005)], hi = sorted[size_t(double(n - 1) * 0.995)];
      for (int64_t i = 0; i < n; ++i) v[i] = hi > lo ? std::clamp((v[i] - lo) / (hi - lo), 0.f, 1.f) : 0.5f;
    }
    return shown;
  }

 private:
  float mean_pixel(int64_t c) const { return mean_[size_t(c)]; }

  MaximizeSetup s_;
  float step_;  // step x P
  Tensor pre_m_, pre_b_;
  std::vector<float> mean_;  // the ImageNet mean colour per channel (RGB; grey: its mean)
};

}  // namespace

std::unique_ptr<MaximizeParametrisation> make_yosinski_method(const MaximizeSetup& setup) {
  return std::make_unique<YosinskiMethod>(setup);
}

}  // namespace convis
