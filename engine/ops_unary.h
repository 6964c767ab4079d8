#pragma once
// The pattern every element-wise unary op shares (engine/ops_elementwise.cpp, ops_activation.cpp):
// forward fills y from x; backward gets (x, y, dy, dx, n) and adds into dx. `Fwd` and `Bwd` are
// kernel calls on flat arrays.
#include <utility>

#include "engine/autograd.h"

namespace convis {

template <class Fwd, class Bwd>
Var unary(const Var& x, Fwd fwd, Bwd bwd) {
  Tensor y(x.shape());
  fwd(x.value().data(), y.data(), y.numel());
  return record_op(std::move(y), {x}, [x, bwd](const Var& out) {
    bwd(x.value().data(), out.value().data(), out.grad().data(), x.grad_buffer().data(), out.value().numel());
  });
}

}  // namespace convis
