// The seed method (the Keras seeds' loop): the parameters are the model input itself, a uniform
// random image in [0, 1) with no preprocessing, and each step is
//
//   x += step * g / ||g||_2        (per image: the seeds' K.l2_normalize over the whole image)
//
// shown min-max normalised.
#include <algorithm>
#include <cmath>

#include "vis/maximize_method.h"

namespace convis {

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

namespace {

class SeedMethod : public MaximizeParametrisation {
 public:
  explicit SeedMethod(const MaximizeSetup& s) : s_(s) {}

  Var init(std::vector<std::mt19937_64>& rng) override {
    return Var::param(per_image_start(s_, rng, [](std::mt19937_64& r) {
      return [&r, unit = std::uniform_real_distribution<float>(0.f, 1.f)](int64_t) mutable { return unit(r); };
    }));
  }

  Var input(const Var& p, std::vector<std::mt19937_64>*) const override { return p; }

  void step(Var& p, int) override { seed_update(&p.value(), p.grad(), s_.step); }

  // The seeds' min-max normalisation, per image.
  Tensor display(const Var& p) const override {
    Tensor shown = p.value().clone();
    const int64_t n = shown.numel() / s_.batch;
    for (int64_t b = 0; b < s_.batch; ++b) {
      float* v = shown.data() + b * n;
      const auto [lo, hi] = std::minmax_element(v, v + n);
      const float l = *lo, range = *hi - *lo;
      for (int64_t i = 0; i < n; ++i) v[i] = range > 0.f ? (v[i] - l) / range : 0.5f;
    }
    return shown;
  }

 private:
  MaximizeSetup s_;
};

}  // namespace

std::unique_ptr<MaximizeParametrisation> make_seed_method(const MaximizeSetup& setup) {
  return std::make_unique<SeedMethod>(setup);
}

}  // namespace convis
