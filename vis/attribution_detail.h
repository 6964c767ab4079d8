#pragma once
// Internal to vis/attribution*.cpp: the checks and the one score every method shares. Not part of
// the public API.
#include "engine/model.h"

namespace convis::attribution_detail {

// Throws std::invalid_argument unless cls is in [0, K) for the model's K classes.
void check_class(const Model& m, int cls);
// Throws std::invalid_argument, naming `what`, unless x is (1, H, W, C).
void check_single(const char* what, const Tensor& x);
// The score (logit) of class cls for x:(1,H,W,C), with no gradient recorded.
float score_of(const Model& m, const Tensor& x, int cls);

}  // namespace convis::attribution_detail
