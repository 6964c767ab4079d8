// Softmax, log-softmax and the fused softmax + sparse categorical cross-entropy.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/ops.h"

namespace convis {

namespace {

// Rows of the last axis: (rows, K).
void rows_of(const char* op, const Shape& s, int64_t& rows, int64_t& K) {
  if (s.rank() < 1) throw std::invalid_argument(std::string(op) + ": scalar input, expected (..., K)");
  K = s[s.rank() - 1];
  rows = K == 0 ? 0 : s.numel() / K;
}

// log softmax of one row, stably: x - max - log sum exp(x - max)
void log_softmax_row(const float* x, float* y, int64_t K) {
  float m = x[0];
  for (int64_t k = 1; k < K; ++k) m = std::max(m, x[k]);
  double s = 0.0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(double(x[k]) - m);
  const float lse = m + float(std::log(s));
  for (int64_t k = 0; k < K; ++k) y[k] = x[k] - lse;
}

}  // namespace

// y = softmax(x);  dx = y * (dy - sum_k dy_k y_k)
Var softmax(const Var& x) {
  int64_t rows, K;
  rows_of("softmax", x.shape(), rows, K);
  Tensor y(x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    log_softmax_row(x.value().data() + r * K, y.data() + r * K, K);
    for (int64_t k = 0; k < K; ++k) y[r * K + k] = std::exp(y[r * K + k]);
  }
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, rows, K]() mutable {
    const float* py = out.value().data();
    const float* dy = out.grad().data();
    float* dx = x.grad_buffer().data();
    for (int64_t r = 0; r < rows; ++r) {
      double dot = 0.0;
      for (int64_t k = 0; k < K; ++k) dot += double(dy[r * K + k]) * py[r * K + k];
      for (int64_t k = 0; k < K; ++k) dx[r * K + k] += py[r * K + k] * (dy[r * K + k] - float(dot));
    }
  });
  return out;
}

// y = log softmax(x);  dx = dy - softmax(x) * sum_k dy_k
Var log_softmax(const Var& x) {
  int64_t rows, K;
  rows_of("log_softmax", x.shape(), rows, K);
  Tensor y(x.shape());
  for (int64_t r = 0; r < rows; ++r) log_softmax_row(x.value().data() + r * K, y.data() + r * K, K);
  const bool record = needs_record({&x});
  Var out(y, record);
  if (!record) return out;
  Tape::current().record({x}, out, [x, out, rows, K]() mutable {
    const float* py = out.value().data();
    const float* dy = out.grad().data();
    float* dx = x.grad_buffer().data();
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += dy[r * K + k];
      for (int64_t k = 0; k < K; ++k) dx[r * K + k] += dy[r * K + k] - std::exp(py[r * K + k]) * float(s);
    }
  });
  return out;
}

// loss = -(1/N) sum_n log softmax(logits_n)[label_n]
// d loss / d logits = (softmax(logits) - onehot(labels)) / N, times the incoming scalar gradient.
Var sparse_categorical_crossentropy(const Var& logits, const std::vector<int>& labels) {
  const Shape& s = logits.shape();
  if (s.rank() != 2)
    throw std::invalid_argument("sparse_categorical_crossentropy: logits have shape " + s.str() +
                                ", expected (N, classes)");
  const int64_t N = s[0], K = s[1];
  if (int64_t(labels.size()) != N)
    throw std::invalid_argument("sparse_categorical_crossentropy: " + std::to_string(labels.size()) +
                                " labels for logits of shape " + s.str());
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= K)
      throw std::invalid_argument("sparse_categorical_crossentropy: label " + std::to_string(labels[i]) + " at " +
                                  std::to_string(i) + " is out of range 0.." + std::to_string(K - 1));
  Tensor logp(s);
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    log_softmax_row(logits.value().data() + n * K, logp.data() + n * K, K);
    total -= logp[n * K + labels[size_t(n)]];
  }
  const bool record = needs_record({&logits});
  Var out(Tensor::scalar(N ? float(total / double(N)) : 0.f), record);
  if (!record) return out;
  Tape::current().record({logits}, out, [logits, out, logp, labels, N, K]() mutable {
    const float g = out.grad().item() / float(N);
    float* dx = logits.grad_buffer().data();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        dx[n * K + k] += g * (std::exp(logp[n * K + k]) - (k == labels[size_t(n)] ? 1.f : 0.f));
  });
  return out;
}

}  // namespace convis
