#include "engine/classifier.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "engine/ops.h"

namespace convis {

namespace {

// The layer whose output is the class score, and whether its softmax must be left out. Dropout and
// Flatten after it change nothing (as Model::outputs_probabilities reads it).
int score_layer(const Model& m, bool* drop_softmax) {
  int j = int(m.layers.size()) - 1;
  while (j > 0 && (m.layers[size_t(j)].type == LayerType::dropout || m.layers[size_t(j)].type == LayerType::flatten))
    j = m.inputs_of(j).at(0);  // the layer it reads (in a chain, the one before)
  *drop_softmax = m.layers[size_t(j)].activation == Activation::softmax;
  return *drop_softmax ? j : int(m.layers.size()) - 1;
}

void check_scores(const Model& m, const Var& y) {
  if (y.shape().rank() != 2)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + m.layers.back().name + "' with output " +
                                y.shape().str() + ", not class scores (N, K) (a model without its top has no class scores: use the file with the top)");
}

}  // namespace

Var class_scores_from(const Model& m, const Var& h, int first) {
  bool drop_softmax = false;
  const int last = score_layer(m, &drop_softmax);
  const Var y = m.forward_from(h, first, last, drop_softmax);
  check_scores(m, y);
  return y;
}

Var class_scores(const Model& m, const Var& x, const LayerHook& hook) {
  bool drop_softmax = false;
  const int last = score_layer(m, &drop_softmax);
  const Var y = m.forward(x, last, drop_softmax, hook);
  check_scores(m, y);
  return y;
}

int num_classes(const Model& m) {
  const Shape& s = m.layers.back().output_shape;
  if (s.rank() != 1)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + m.layers.back().name + "' with output " +
                                s.str() + ", not class scores (a model without its top has no class scores: use the file with the top)");
  return int(s[0]);
}

int top_class(const Model& m, const Tensor& x) {
  if (x.rank() != 4 || x.dim(0) != 1)
    throw std::invalid_argument("top_class: input has shape " + x.shape().str() + ", expected (1, H, W, C)");
  NoGrad no_grad;
  const Tensor s = class_scores(m, Var::constant(x)).value();
  return int(std::max_element(s.data(), s.data() + s.numel()) - s.data());
}

Tensor class_probabilities(const Model& m, const Tensor& x) {
  NoGrad no_grad;
  const Var y = m.forward(Var::constant(x));
  if (y.shape().rank() != 2)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + m.layers.back().name + "' with output " +
                                y.shape().str() + ", not class scores (a model without its top has no class scores: use the file with the top)");
  return m.outputs_probabilities() ? y.value() : softmax(y).value();
}

std::vector<int> top_k(const float* v, int64_t n, int k) {
  std::vector<int> idx(size_t(std::max<int64_t>(n, 0)));
  std::iota(idx.begin(), idx.end(), 0);
  k = int(std::max<int64_t>(0, std::min<int64_t>(k, n)));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [v](int a, int b) { return v[a] > v[b]; });
  idx.resize(size_t(k));
  return idx;
}

}  // namespace convis
