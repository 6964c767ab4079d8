// Adam, in Keras 2.11's form (see optim.h for the formula, where epsilon goes, maximize and the
// two ways of rounding it).
#include "engine/optim.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace convis {

std::vector<Var> model_params(const Model& m) {
  std::vector<Var> p;
  for (const Layer& l : m.layers)
    for (const Var& w : l.weights)
      if (w.requires_grad()) p.push_back(w);
  return p;
}

Adam::Adam(std::vector<Var> params) : Adam(std::move(params), Options()) {}

Adam::Adam(std::vector<Var> params, Options options) : params_(std::move(params)), opt_(options) {
  // A beta that rounds to 1 in float would divide by 1 - 1^t = 0 in the keras arithmetic.
  if (!(opt_.learning_rate > 0.f) || !(opt_.beta_1 >= 0.0 && float(opt_.beta_1) < 1.f) ||
      !(opt_.beta_2 >= 0.0 && float(opt_.beta_2) < 1.f) || !(opt_.epsilon >= 0.f))
    throw std::invalid_argument("Adam: learning_rate " + std::to_string(opt_.learning_rate) + ", beta_1 " +
                                std::to_string(opt_.beta_1) + ", beta_2 " + std::to_string(opt_.beta_2) +
                                ", epsilon " + std::to_string(opt_.epsilon) +
                                ": expected lr > 0, betas in [0, 1), epsilon >= 0");
  for (const Var& p : params_) {
    if (!p.defined()) throw std::invalid_argument("Adam: an empty Var was given as a parameter");
    m_.push_back(Tensor::zeros(p.shape()));
    v_.push_back(Tensor::zeros(p.shape()));
  }
}

void Adam::step() {
  const bool keras = opt_.arithmetic == Arithmetic::keras;
  const double beta_1 = keras ? double(float(opt_.beta_1)) : opt_.beta_1;
  const double beta_2 = keras ? double(float(opt_.beta_2)) : opt_.beta_2;
  const double t = double(iterations_ + 1);
  const double alpha =
      double(opt_.learning_rate) * std::sqrt(1.0 - std::pow(beta_2, t)) / (1.0 - std::pow(beta_1, t));
  const float a = float(alpha), eps = opt_.epsilon;
  // keras: m += (g - m) * k1 with k1 = 1 - beta_1 in float; textbook: m = c1 m + k1 g, both
  // factors rounded from double.
  const float c1 = float(beta_1), c2 = float(beta_2);
  const float k1 = keras ? 1.f - c1 : float(1.0 - beta_1), k2 = keras ? 1.f - c2 : float(1.0 - beta_2);
  const bool ascend = opt_.maximize;
  for (size_t i = 0; i < params_.size(); ++i) {
    Var& p = params_[i];
    if (!p.has_grad()) continue;
    const float* grad = p.grad().data();
    float* theta = p.value().data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    const int64_t n = p.value().numel();
    if (keras) {
      for (int64_t k = 0; k < n; ++k) {
        const float g = ascend ? -grad[k] : grad[k];
        m[k] += (g - m[k]) * k1;
        v[k] += (g * g - v[k]) * k2;
        theta[k] -= a * m[k] / (std::sqrt(v[k]) + eps);
      }
    } else {
      for (int64_t k = 0; k < n; ++k) {
        const float g = ascend ? -grad[k] : grad[k];
        m[k] = c1 * m[k] + k1 * g;
        v[k] = c2 * v[k] + k2 * g * g;
        theta[k] -= a * m[k] / (std::sqrt(v[k]) + eps);
      }
    }
  }
  ++iterations_;
}

void Adam::zero_grad() const {
  for (const Var& p : params_) p.zero_grad();
}

}  // namespace convis
