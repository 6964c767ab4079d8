// Adam, in Keras 2.11's form (see optim.h for the formula and where epsilon goes).
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
  if (!(opt_.learning_rate > 0.f) || !(opt_.beta_1 >= 0.f && opt_.beta_1 < 1.f) ||
      !(opt_.beta_2 >= 0.f && opt_.beta_2 < 1.f) || !(opt_.epsilon >= 0.f))
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
  const double t = double(iterations_ + 1);
  const double alpha = double(opt_.learning_rate) * std::sqrt(1.0 - std::pow(double(opt_.beta_2), t)) /
                       (1.0 - std::pow(double(opt_.beta_1), t));
  const float a = float(alpha), b1 = 1.f - opt_.beta_1, b2 = 1.f - opt_.beta_2, eps = opt_.epsilon;
  for (size_t i = 0; i < params_.size(); ++i) {
    Var& p = params_[i];
    if (!p.has_grad()) continue;
    const float* g = p.grad().data();
    float* theta = p.value().data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    const int64_t n = p.value().numel();
    for (int64_t k = 0; k < n; ++k) {
      m[k] += (g[k] - m[k]) * b1;
      v[k] += (g[k] * g[k] - v[k]) * b2;
      theta[k] -= a * m[k] / (std::sqrt(v[k]) + eps);
    }
  }
  ++iterations_;
}

void Adam::zero_grad() const {
  for (const Var& p : params_) p.zero_grad();
}

}  // namespace convis
