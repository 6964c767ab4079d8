#pragma once
// What a classifier says about its input: the class scores (logits), the probabilities, the top
// class. Pictures (vis/) and commands (tools/) ask these; none of them draws anything.
//
//   NoGrad no_grad;
//   const int top = top_class(model, x);                  // x:(1,H,W,C), preprocessed
//   const float p = class_probabilities(model, x)[top];   // (1, K)
#include <cstdint>
#include <vector>

#include "engine/autograd.h"
#include "engine/model.h"

namespace convis {

// The scores attributions explain, (N, K): the model's logits, or the input of its final softmax
// (the gradient of a probability also depends on every other class). Throws when the model does
// not end in class scores (e.g. VGG16 without its top). Records on the tape like any op.
// hook sees (and may replace) each layer's output on the way (Model::forward).
Var class_scores(const Model& m, const Var& x, const LayerHook& hook = {});
// As class_scores, starting from h, the output of layer first - 1, which must be a cut of the
// graph (Model::forward_from).
Var class_scores_from(const Model& m, const Var& h, int first);
// K, from the last layer's output shape; throws as class_scores does.
int num_classes(const Model& m);
// argmax of the scores of x:(1,H,W,C) (the first on ties), with no gradient recorded.
int top_class(const Model& m, const Tensor& x);
// The class probabilities (N, K) of preprocessed inputs x:(N,H,W,C): the model's softmax output, or
// a softmax over its logits. No gradient is recorded.
Tensor class_probabilities(const Model& m, const Tensor& x);
// Indices of the k largest of v[0..n), largest first (k is clipped to n; order among equal values
// is std::partial_sort's).
std::vector<int> top_k(const float* v, int64_t n, int k);

}  // namespace convis
