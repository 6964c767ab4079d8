// The lucid method, Lucid's recipe (Olah et al., Feature Visualization, 2017). The parameters are
// a spectrum S (B, C, H, 2 (W/2 + 1)), Fourier coefficients as (re, im) pairs, and the image is
//
//   image = sigmoid(decorrelate(irfft2(S * scale) / 4)),   scale = 1/f (fourier_scale)
//
// low frequencies cheap and high ones costly, in a decorrelated colour space (rgb = M v with
// Lucid's colour-correlation square root M). Without Fourier, S is the pixels before the sigmoid
// (B, H, W, C). The image, in [0, 1], goes through the model's preprocessing of 255 x image, and
// every step first through a random jitter (shift with grey padding, up to size/16 pixels and at
// most a quarter of the target's receptive field, at least 1),
// scale (0.9..1.1) and rotation (-5..5 degrees): one bilinear warp. Each step is Adam's
// (engine/optim.h: maximize, learning rate 0.05, epsilon 1e-8, the textbook arithmetic this
// method always used). Shown: the image itself.
#include <algorithm>
#include <cmath>

#include "engine/ops.h"
#include "engine/ops_image.h"
#include "engine/optim.h"
#include "vis/maximize_method.h"

namespace convis {

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

class LucidMethod : public MaximizeParametrisation {
 public:
  explicit LucidMethod(const MaximizeSetup& s) : s_(s), opt_(*s.options) {
    const int64_t H = s.h, W = s.w, C = s.c, Wf = W / 2 + 1;
    fourier_ = opt_.fourier;
    pshape_ = fourier_ ? Shape{s.batch, C, H, 2 * Wf} : Shape{s.batch, H, W, C};
    if (fourier_) {
      const std::vector<float> f = fourier_scale(int(H), int(W));
      scale_ = Tensor(pshape_);
      for (int64_t i = 0; i < scale_.numel(); ++i) scale_[i] = f[size_t((i / 2) % (H * Wf))];
    }
    decorrelate_ = opt_.decorrelate && C == 3;
    if (decorrelate_) {
      colour_ = Tensor(Shape{3, 3});  // rgb = v M^T as a row vector: kernel (in, out) = M^T
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) colour_[j * 3 + i] = kColorCorrelationSqrt[i][j];
    }
    preprocess_affine(s.preprocess, int(C), &pre_m_, &pre_b_);
    for (int64_t i = 0; i < pre_m_.numel(); ++i) pre_m_[i] *= 255.f;  // the image is in [0, 1]
    // Shifts of up to size / 16 pixels, but no more than a quarter of what a unit sees: a 3x3
    // first-layer unit shifted by 2 pixels would average its pattern away.
    jitter_ = std::max(1, std::min(std::max(2, int(std::min(H, W)) / 16), s.receptive_field / 4));
  }

  Var init(std::vector<std::mt19937_64>& rng) override {
    Tensor spectrum(pshape_);
    const int64_t per = spectrum.numel() / s_.batch;
    for (int64_t b = 0; b < s_.batch; ++b) {
      std::normal_distribution<float> normal(0.f, 1.f);
      float* p = spectrum.data() + b * per;
      for (int64_t i = 0; i < per; ++i) p[i] = 0.01f * normal(rng[size_t(b)]);
    }
    const Var p = Var::param(spectrum);
    Adam::Options o;
    o.learning_rate = s_.step;
    o.epsilon = 1e-8f;
    o.maximize = true;
    o.arithmetic = Adam::Arithmetic::textbook;
    adam_ = std::make_unique<Adam>(std::vector<Var>{p}, o);
    return p;
  }

  Var input(const Var& p, std::vector<std::mt19937_64>* rng) const override {
    Var img = image(p);
    if (rng && opt_.transforms) {
      // Per image, from its own stream: shift (pad with grey and crop), scale, rotation.
      std::vector<Affine2d> maps;
      for (int64_t b = 0; b < s_.batch; ++b) {
        std::mt19937_64& r = (*rng)[size_t(b)];
        std::uniform_int_distribution<int> shift(-jitter_, jitter_);
        std::uniform_real_distribution<float> zoom(0.9f, 1.1f), angle(-5.f, 5.f);
        const float dx = float(shift(r)), dy = float(shift(r)), s = zoom(r), a = angle(r);
        maps.push_back(centred_affine(int(s_.h), int(s_.w), s, a, dx, dy));
      }
      img = affine_warp(img, maps, int(s_.h), int(s_.w), 0.5f);
    }
    return mix_channels(img, pre_m_, pre_b_);
  }

  void step(Var&, int) override { adam_->step(); }  // on the Var init returned

  Tensor display(const Var& p) const override { return image(p).value(); }

 private:
  // The image in [0, 1] from the parameters (recorded on the tape when p requires grad).
  Var image(const Var& p) const {
    Var img = fourier_ ? mul_scalar(irfft2_image(mul(p, Var::constant(scale_)), int(s_.w)), 0.25f) : p;
    if (decorrelate_) img = mix_channels(img, colour_, Tensor());
    return sigmoid(img);
  }

  MaximizeSetup s_;
  MaximizeOptions opt_;
  bool fourier_ = true, decorrelate_ = true;
  Shape pshape_;
  Tensor scale_, colour_, pre_m_, pre_b_;
  int jitter_ = 2;
  std::unique_ptr<Adam> adam_;
};

}  // namespace

std::unique_ptr<MaximizeParametrisation> make_lucid_method(const MaximizeSetup& setup) {
  return std::make_unique<LucidMethod>(setup);
}

}  // namespace convis
