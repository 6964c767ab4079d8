#pragma once
// References for the CAM tests, written independently of kernels/cam.cpp: a layer's output A and
// the score's gradient G there (by central differences or by the tape on a leaf the test puts in
// place of the layer's output), and the first principal direction by Eigen's SVD.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "engine/classifier.h"
#include "engine/model.h"
#include "engine/ops.h"

namespace convis::test::cam {

// A:(hw, K) at `layer` and G = d score[cls] / d A. G either by central differences (step eps) on
// A itself through the forward hook (exact where the model is linear after the layer), or, where
// a max-pool or ReLU kink after the layer lies within eps, by the tape on a leaf this test puts
// in place of the layer's output.
struct LayerAG {
  std::vector<double> A, G;
  int64_t h = 0, w = 0, K = 0;
  int64_t hw() const { return h * w; }
};

enum class Grad { central_differences, tape };

inline LayerAG activations_and_gradient(const Model& m, const Tensor& x, int layer, int cls, Grad how, float eps = 1e-2f) {
  Tensor a;
  {
    NoGrad no_grad;
    a = m.forward(Var::constant(x), layer).value();
  }
  LayerAG r;
  r.h = a.dim(1), r.w = a.dim(2), r.K = a.dim(3);
  r.A.assign(a.data(), a.data() + a.numel());
  if (how == Grad::tape) {
    Var leaf = Var::param(a.clone());
    const Var s = class_scores(m, Var::constant(x), [&](int i, Var& out) {
      if (i == layer) out = leaf;
    });
    Tape::current().backward(sum(channel(s, cls)));
    const Tensor g = leaf.grad_buffer();
    r.G.assign(g.data(), g.data() + g.numel());
    return r;
  }
  auto score_with = [&](const Tensor& t) {
    NoGrad no_grad;
    const Tensor s = class_scores(m, Var::constant(x), [&](int i, Var& out) {
                       if (i == layer) out = Var::constant(t);
                     }).value();
    return double(s[cls]);
  };
  for (int64_t i = 0; i < a.numel(); ++i) {
    Tensor up = a.clone(), dn = a.clone();
    up[i] += eps;
    dn[i] -= eps;
    r.G.push_back((score_with(up) - score_with(dn)) / (2.0 * double(eps)));
  }
  return r;
}

// The first principal direction of X (hw x K), centred per column, by Eigen's SVD (not the power
// iteration of kernels/cam.cpp), signed to agree with the channel sum; cam = ReLU(Xc v).
struct Principal {
  std::vector<double> v, cam;
};

inline Principal principal_by_svd(const std::vector<double>& X, int64_t hw, int64_t K) {
  Eigen::MatrixXd M(hw, K);
  for (int64_t p = 0; p < hw; ++p)
    for (int64_t k = 0; k < K; ++k) M(p, k) = X[size_t(p * K + k)];
  const Eigen::RowVectorXd mean = M.colwise().mean();
  const Eigen::MatrixXd Xc = M.rowwise() - mean;
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(Xc, Eigen::ComputeThinV);
  Eigen::VectorXd v = svd.matrixV().col(0);
  Eigen::VectorXd proj = Xc * v;
  if (proj.dot(M.rowwise().sum()) < 0) v = -v, proj = -proj;
  Principal r;
  for (int64_t k = 0; k < K; ++k) r.v.push_back(v(k));
  for (int64_t p = 0; p < hw; ++p) r.cam.push_back(std::max(proj(p), 0.0));
  return r;
}

}  // namespace convis::test::cam
