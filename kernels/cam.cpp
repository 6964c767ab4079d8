#include "kernels/cam.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace convis {

void grad_cam_weights(const float* G, float* weights, int64_t HW, int64_t K) {
  for (int64_t k = 0; k < K; ++k) weights[k] = 0.f;
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) weights[k] += G[p * K + k];
  for (int64_t k = 0; k < K; ++k) weights[k] /= float(HW);
}

void grad_cam_pp_weights(const float* A, const float* G, float* weights, int64_t HW, int64_t K) {
  std::vector<double> sum_a(size_t(K), 0.0);
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) sum_a[size_t(k)] += double(A[p * K + k]);
  for (int64_t k = 0; k < K; ++k) weights[k] = 0.f;
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) {
      const double g = G[p * K + k];
      const double g2 = g * g, g3 = g2 * g;
      const double denom = 2.0 * g2 + sum_a[size_t(k)] * g3;
      const double alpha = g != 0.0 && denom != 0.0 ? g2 / denom : 0.0;
      weights[k] += float(alpha * std::max(g, 0.0));
    }
}

void xgrad_cam_weights(const float* A, const float* G, float* weights, int64_t HW, int64_t K) {
  std::vector<double> sum_a(size_t(K), 0.0), w(size_t(K), 0.0);
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) sum_a[size_t(k)] += double(A[p * K + k]);
  // eps as pytorch-grad-cam's XGradCAM: a channel that is 0 everywhere gets weight 0, not NaN.
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) w[size_t(k)] += double(A[p * K + k]) / (sum_a[size_t(k)] + 1e-7) * double(G[p * K + k]);
  for (int64_t k = 0; k < K; ++k) weights[k] = float(w[size_t(k)]);
}

void score_cam_weights(const float* scores, float* weights, int64_t K) {
  double top = -INFINITY, total = 0.0;
  for (int64_t k = 0; k < K; ++k) top = std::max(top, double(scores[k]));
  for (int64_t k = 0; k < K; ++k) total += std::exp(double(scores[k]) - top);
  for (int64_t k = 0; k < K; ++k) weights[k] = float(std::exp(double(scores[k]) - top) / total);
}

void cam_combine(const float* A, const float* weights, float* cam, int64_t HW, int64_t K) {
  for (int64_t p = 0; p < HW; ++p) {
    double v = 0.0;
    for (int64_t k = 0; k < K; ++k) v += double(weights[k]) * double(A[p * K + k]);
    cam[p] = float(std::max(v, 0.0));
  }
}

void hires_cam(const float* A, const float* G, float* cam, int64_t HW, int64_t K) {
  for (int64_t p = 0; p < HW; ++p) {
    double v = 0.0;
    for (int64_t k = 0; k < K; ++k) v += double(G[p * K + k]) * double(A[p * K + k]);
    cam[p] = float(std::max(v, 0.0));
  }
}

void layer_cam(const float* A, const float* G, float* cam, int64_t HW, int64_t K) {
  for (int64_t p = 0; p < HW; ++p) {
    double v = 0.0;
    for (int64_t k = 0; k < K; ++k) v += std::max(double(G[p * K + k]), 0.0) * double(A[p * K + k]);
    cam[p] = float(std::max(v, 0.0));
  }
}

// Why power iteration and not an SVD library: the matrix is small (the Gram matrix of the shorter
// side of X, K x K or HW x HW: at most a few hundred at the layers CAMs use), only the first
// eigenvector is wanted, and the loop is plain C++ with no dependency, deterministic (a fixed
// start, sums in double in a fixed order) and easy to twin on a GPU. The tests check it against
// Eigen's SelfAdjointEigenSolver. Convergence: the change of the unit vector below 1e-10 (max
// norm), at the rate lambda_2 / lambda_1 per step; capped at kMaxIterations, which only a
// (near-)tie of the two largest eigenvalues reaches, and then any vector of that plane is as
// principal as another.
double first_principal_direction(const float* X, float* v, float* projection, int64_t HW, int64_t K) {
  constexpr int kMaxIterations = 20000;
  std::vector<double> mean(size_t(K), 0.0);
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) mean[size_t(k)] += double(X[p * K + k]);
  for (double& m : mean) m /= double(std::max<int64_t>(HW, 1));
  std::vector<double> xc(size_t(HW * K));  // Xc:(HW, K), centred per channel
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t k = 0; k < K; ++k) xc[size_t(p * K + k)] = double(X[p * K + k]) - mean[size_t(k)];
  // The Gram matrix of the shorter side: Xc^T Xc (K x K) or Xc Xc^T (HW x HW); both have the same
  // nonzero eigenvalues, and v = Xc^T u / |Xc^T u| for the HW-side eigenvector u.
  const bool channel_side = K <= HW;
  const int64_t n = channel_side ? K : HW, len = channel_side ? HW : K;
  auto at = [&](int64_t i, int64_t t) { return channel_side ? xc[size_t(t * K + i)] : xc[size_t(i * K + t)]; };
  std::vector<double> gram(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) {
      double s = 0.0;
      for (int64_t t = 0; t < len; ++t) s += at(i, t) * at(j, t);
      gram[size_t(i * n + j)] = gram[size_t(j * n + i)] = s;
    }
  // A fixed, non-constant start (a constant vector is orthogonal to every HW-side eigenvector of
  // a centred X, whose columns sum to 0).
  std::vector<double> u(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  uint32_t state = 2463534242u;
  for (double& e : u) {
    state ^= state << 13, state ^= state >> 17, state ^= state << 5;
    e = 0.5 + double(state % 1000003u) / 1000003.0;
  }
  double lambda = 0.0;
  for (int it = 0; it < kMaxIterations; ++it) {
    double norm = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (int64_t j = 0; j < n; ++j) s += gram[size_t(i * n + j)] * u[size_t(j)];
      y[size_t(i)] = s;
      norm += s * s;
    }
    norm = std::sqrt(norm);
    if (!(norm > 0.0)) {  // X constant over the positions: no direction at all
      lambda = 0.0;
      std::fill(u.begin(), u.end(), 0.0);
      break;
    }
    double change = 0.0, uy = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      uy += u[size_t(i)] * y[size_t(i)];
      const double next = y[size_t(i)] / norm;
      change = std::max(change, std::fabs(next - u[size_t(i)]));
      u[size_t(i)] = next;
    }
    lambda = uy;  // the Rayleigh quotient of the unit u before the step
    if (change < 1e-10) break;
  }
  // v (K) from u, then the projection Xc v (HW).
  std::vector<double> vd(static_cast<size_t>(K), 0.0);
  if (channel_side) {
    for (int64_t k = 0; k < K; ++k) vd[size_t(k)] = u[size_t(k)];
  } else {
    double norm = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      double s = 0.0;
      for (int64_t p = 0; p < HW; ++p) s += xc[size_t(p * K + k)] * u[size_t(p)];
      vd[size_t(k)] = s;
      norm += s * s;
    }
    norm = std::sqrt(norm);
    for (double& e : vd) e = norm > 0.0 ? e / norm : 0.0;
  }
  std::vector<double> proj(static_cast<size_t>(HW), 0.0);
  double agree = 0.0;
  for (int64_t p = 0; p < HW; ++p) {
    double s = 0.0, total = 0.0;
    for (int64_t k = 0; k < K; ++k) s += xc[size_t(p * K + k)] * vd[size_t(k)], total += double(X[p * K + k]);
    proj[size_t(p)] = s;
    agree += s * total;
  }
  // The sign: with the channel sum; on a tie (0), the largest |v_k| positive (sklearn's svd_flip).
  bool flip = agree < 0.0;
  if (agree == 0.0) {
    int64_t big = 0;
    for (int64_t k = 1; k < K; ++k)
      if (std::fabs(vd[size_t(k)]) > std::fabs(vd[size_t(big)])) big = k;
    flip = K > 0 && vd[size_t(big)] < 0.0;
  }
  const double sign = flip ? -1.0 : 1.0;
  for (int64_t k = 0; k < K; ++k) v[k] = float(sign * vd[size_t(k)]);
  for (int64_t p = 0; p < HW; ++p) projection[p] = float(sign * proj[size_t(p)]);
  return lambda;
}

void eigen_cam(const float* X, float* cam, float* v, int64_t HW, int64_t K) {
  std::vector<float> vk(static_cast<size_t>(K));
  first_principal_direction(X, vk.data(), cam, HW, K);
  for (int64_t p = 0; p < HW; ++p) cam[p] = std::max(cam[p], 0.f);
  if (v)
    for (int64_t k = 0; k < K; ++k) v[k] = vk[size_t(k)];
}

void channel_max_abs(const float* g, float* out, int64_t HW, int64_t C) {
  for (int64_t p = 0; p < HW; ++p) {
    float v = 0.f;
    for (int64_t c = 0; c < C; ++c) v = std::max(v, std::fabs(g[p * C + c]));
    out[p] = v;
  }
}

}  // namespace convis
