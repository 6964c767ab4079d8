// Mini-batch training and evaluation of a classifier (see train.h).
#include "engine/train.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "engine/ops.h"

namespace convis {

namespace {

// Logits of a batch: a model that ends in softmax runs without it (the loss fuses it).
Var logits_of(const Model& m, const Tensor& x) {
  return m.forward(Var::constant(x), -1, /*pre_activation=*/m.outputs_probabilities());
}

int argmax_row(const float* row, int64_t K) {
  int best = 0;
  for (int64_t k = 1; k < K; ++k)
    if (row[k] > row[best]) best = int(k);
  return best;
}

void check_split(const Model& m, const MnistSplit& data, int64_t count, const char* what) {
  if (count < 0 || count > data.count)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(count) + " images asked for, the split has " +
                                std::to_string(data.count));
  if (data.rows != m.built_h() || data.cols != m.built_w() || m.input_c != 1)
    throw std::invalid_argument(std::string(what) + ": model '" + m.name + "' takes " + std::to_string(m.built_h()) +
                                "x" + std::to_string(m.built_w()) + "x" + std::to_string(m.input_c) +
                                " inputs, the images are " + std::to_string(data.rows) + "x" +
                                std::to_string(data.cols) + "x1");
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t batch_order_seed(uint32_t seed) { return seed ^ 0x9E3779B9u; }

std::vector<int64_t> shuffled_indices(int64_t count, std::mt19937& rng) {
  std::vector<int64_t> idx(size_t(std::max<int64_t>(count, 0)));
  for (int64_t i = 0; i < count; ++i) idx[size_t(i)] = i;
  // Fisher-Yates: swap element i with a uniform j in [0, i]. j = floor(r * (i + 1) / 2^32) for a
  // 32-bit draw r; its bias, below (i + 1) / 2^32, is far under anything a training run can see.
  for (int64_t i = count - 1; i > 0; --i) {
    const int64_t j = int64_t((uint64_t(rng()) * uint64_t(i + 1)) >> 32);
    std::swap(idx[size_t(i)], idx[size_t(j)]);
  }
  return idx;
}

EpochResult train_epoch(const Model& m, Adam& opt, const MnistSplit& data, int64_t count, int batch,
                        std::mt19937& rng, const std::function<void(const BatchReport&)>& on_batch) {
  check_split(m, data, count, "train_epoch");
  if (batch <= 0) throw std::invalid_argument("train_epoch: batch size " + std::to_string(batch) + " must be positive");
  const double start = now_seconds();
  const std::vector<int64_t> order = shuffled_indices(count, rng);
  BatchReport r;
  r.steps = (count + batch - 1) / batch;
  double loss_sum = 0;   // sum over images of the loss (batch mean times batch size)
  int64_t correct = 0;
  std::vector<int> labels;
  for (int64_t s = 0; s < r.steps; ++s) {
    const int64_t first = s * batch, n = std::min<int64_t>(batch, count - first);
    const int64_t* idx = order.data() + first;
    labels.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) labels[size_t(i)] = data.labels[size_t(idx[i])];

    opt.zero_grad();
    const Var logits = logits_of(m, mnist_batch(data, idx, n));
    const Var loss = sparse_categorical_crossentropy(logits, labels);
    Tape::current().backward(loss);
    opt.step();

    const int64_t K = logits.shape()[1];
    for (int64_t i = 0; i < n; ++i) correct += argmax_row(logits.value().data() + i * K, K) == labels[size_t(i)];
    loss_sum += double(loss.value().item()) * double(n);
    r.step = s + 1;
    r.seen = first + n;
    r.loss = loss_sum / double(r.seen);
    r.accuracy = double(correct) / double(r.seen);
    if (on_batch) on_batch(r);
  }
  EpochResult e;
  e.loss = r.loss;
  e.accuracy = r.accuracy;
  e.images = count;
  e.seconds = now_seconds() - start;
  return e;
}

EvalResult evaluate(const Model& m, const MnistSplit& data, int64_t count, int batch) {
  if (count < 0) count = data.count;
  check_split(m, data, count, "evaluate");
  if (batch <= 0) throw std::invalid_argument("evaluate: batch size " + std::to_string(batch) + " must be positive");
  NoGrad no_grad;
  EvalResult r;
  r.count = count;
  r.predicted.resize(size_t(count));
  double loss_sum = 0;
  int64_t correct = 0;
  std::vector<int64_t> idx;
  std::vector<int> labels;
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t n = std::min<int64_t>(batch, count - first);
    idx.resize(size_t(n));
    labels.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      idx[size_t(i)] = first + i;
      labels[size_t(i)] = data.labels[size_t(first + i)];
    }
    const Var logits = logits_of(m, mnist_batch(data, idx.data(), n));
    const int64_t K = logits.shape()[1];
    if (r.classes == 0) {
      r.classes = int(K);
      r.confusion.assign(size_t(K * K), 0);
    }
    loss_sum += double(sparse_categorical_crossentropy(logits, labels).value().item()) * double(n);
    for (int64_t i = 0; i < n; ++i) {
      const int p = argmax_row(logits.value().data() + i * K, K);
      r.predicted[size_t(first + i)] = p;
      correct += p == labels[size_t(i)];
      r.confusion[size_t(labels[size_t(i)] * K + p)] += 1;
    }
  }
  r.loss = count ? loss_sum / double(count) : 0.0;
  r.accuracy = count ? double(correct) / double(count) : 0.0;
  return r;
}

}  // namespace convis
