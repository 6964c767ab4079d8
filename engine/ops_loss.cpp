// Softmax, log-softmax and the fused softmax + sparse categorical cross-entropy (kernels/softmax.h).
#include <stdexcept>
#include <string>

#include "engine/ops.h"
#include "kernels/softmax.h"

namespace convis {

namespace {

// Rows of the last axis: (rows, K).
void rows_of(const char* op, const Shape& s, int64_t& rows, int64_t& K) {
  if (s.rank() < 1) throw std::invalid_argument(std::string(op) + ": scalar input, expected (..., K)");
  K = s[s.rank() - 1];
  rows = K == 0 ? 0 : s.numel() / K;
}

}  // namespace

Var softmax(const Var& x) {
  int64_t rows, K;
  rows_of("softmax", x.shape(), rows, K);
  Tensor y(x.shape());
  softmax_rows_fwd(x.value().data(), y.data(), rows, K);
  return record_op(std::move(y), {x}, [x, rows, K](const Var& out) {
    softmax_rows_bwd(out.value().data(), out.grad().data(), x.grad_buffer().data(), rows, K);
  });
}

Var log_softmax(const Var& x) {
  int64_t rows, K;
  rows_of("log_softmax", x.shape(), rows, K);
  Tensor y(x.shape());
  log_softmax_rows_fwd(x.value().data(), y.data(), rows, K);
  return record_op(std::move(y), {x}, [x, rows, K](const Var& out) {
    log_softmax_rows_bwd(out.value().data(), out.grad().data(), x.grad_buffer().data(), rows, K);
  });
}

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
  Tensor logp(s);  // kept for backward: softmax = exp(logp)
  const float loss = sparse_xent_fwd(logits.value().data(), labels.data(), logp.data(), N, K);
  return record_op(Tensor::scalar(loss), {logits}, [logits, logp, labels, N, K](const Var& out) {
    sparse_xent_bwd(logp.data(), labels.data(), out.grad().item(), logits.grad_buffer().data(), N, K);
  });
}

}  // namespace convis
