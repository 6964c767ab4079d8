#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace convis {

namespace {

void log_softmax_row(const float* x, float* y, int64_t K) {
  float m = x[0];
  for (int64_t k = 1; k < K; ++k) m = std::max(m, x[k]);
  double s = 0.0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(double(x[k]) - m);
  const float lse = m + float(std::log(s));
  for (int64_t k = 0; k < K; ++k) y[k] = x[k] - lse;
}

}  // namespace

void log_softmax_rows_fwd(const float* x, float* y, int64_t rows, int64_t K) {
  for (int64_t r = 0; r < rows; ++r) log_softmax_row(x + r * K, y + r * K, K);
}

void log_softmax_rows_bwd(const float* y, const float* dy, float* dx, int64_t rows, int64_t K) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * K;
    const float* dyr = dy + r * K;
    float* dxr = dx + r * K;
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += dyr[k];
    for (int64_t k = 0; k < K; ++k) dxr[k] += dyr[k] - std::exp(yr[k]) * float(s);
  }
}

void softmax_rows_fwd(const float* x, float* y, int64_t rows, int64_t K) {
  for (int64_t r = 0; r < rows; ++r) {
    log_softmax_row(x + r * K, y + r * K, K);
    for (int64_t k = 0; k < K; ++k) y[r * K + k] = std::exp(y[r * K + k]);
  }
}

void softmax_rows_bwd(const float* y, const float* dy, float* dx, int64_t rows, int64_t K) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * K;
    const float* dyr = dy + r * K;
    float* dxr = dx + r * K;
    double dot = 0.0;
    for (int64_t k = 0; k < K; ++k) dot += double(dyr[k]) * yr[k];
    for (int64_t k = 0; k < K; ++k) dxr[k] += yr[k] * (dyr[k] - float(dot));
  }
}

float sparse_xent_fwd(const float* logits, const int* labels, float* logp, int64_t N, int64_t K) {
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    log_softmax_row(logits + n * K, logp + n * K, K);
    total -= logp[n * K + labels[n]];
  }
  return N ? float(total / double(N)) : 0.f;
}

void sparse_xent_bwd(const float* logp, const int* labels, float g, float* dx, int64_t N, int64_t K) {
  const float gn = g / float(N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      dx[n * K + k] += gn * (std::exp(logp[n * K + k]) - (k == labels[n] ? 1.f : 0.f));
}

void softmax_rows_ref(const float* x, float* y, int64_t rows, int64_t K) {
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(double(x[r * K + k]));
    for (int64_t k = 0; k < K; ++k) y[r * K + k] = float(std::exp(double(x[r * K + k])) / s);
  }
}

void softmax_rows_bwd_ref(const float* y, const float* dy, float* dx, int64_t rows, int64_t K) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < K; ++j) {
      double acc = 0.0;
      for (int64_t i = 0; i < K; ++i) {
        const double yi = y[r * K + i], yj = y[r * K + j];
        acc += double(dy[r * K + i]) * yi * ((i == j ? 1.0 : 0.0) - yj);
      }
      dx[r * K + j] += float(acc);
    }
}

}  // namespace convis
