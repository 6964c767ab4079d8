#pragma once
// What the ops with a fused ReLU (conv2d, conv2d_channels, dense) share: the gradient that reaches
// the op itself, below its ReLU.
#include "engine/autograd.h"

namespace convis {

// out.grad() where the output was positive, 0 elsewhere (under GuidedRelu: also 0 where the
// gradient is negative). A fused ReLU's output is positive exactly where its input was.
Tensor fused_relu_grad(const Var& out);

}  // namespace convis
