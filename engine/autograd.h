#pragma once
// Reverse-mode automatic differentiation on a tape.
//
// A Var is a handle to a Node: a value, a gradient (allocated on first use) and a requires_grad
// flag. Every op (engine/ops.h) computes its output and, when some input requires a gradient and
// recording is on, appends one Entry to the thread's current Tape: the inputs, the output, and a
// closure that reads the output's gradient and *adds* the inputs' gradients (backward accumulates;
// so a Var used twice, fan-out, gets the sum of both contributions).
// Tape::backward walks the entries in reverse order, which is a valid reverse topological order
// because an entry is recorded only after all of its inputs exist.
//
//   Var x = Var::param(image);            // we want d loss / d image
//   Var w = Var::constant(kernel);        // frozen: no weight-gradient work at all
//   Var loss = mean(conv2d(x, w, {}, ...));
//   Tape::current().backward(loss);       // x.grad() now holds d loss / d x; the tape is empty again
//
// Under a NoGrad guard nothing is recorded and no closure keeps an activation alive: inference
// memory is only what the caller still holds.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace convis {

struct Node {
  Tensor value;
  Tensor grad;  // undefined until a gradient first reaches this node
  bool requires_grad = false;
};

// Var is a handle (like shared_ptr): copies share the node, and const-ness is the handle's, not the node's.
class Var {
 public:
  Var() = default;  // empty: defined() is false (used for "no bias")
  Var(Tensor value, bool requires_grad);
  static Var param(Tensor value) { return Var(std::move(value), true); }
  static Var constant(Tensor value) { return Var(std::move(value), false); }

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  // Freezing a parameter: its ops skip all work for its gradient.
  void set_requires_grad(bool on) const { node_->requires_grad = on; }

  bool has_grad() const { return node_->grad.defined(); }
  const Tensor& grad() const;  // throws if no gradient has reached this Var
  Tensor& grad_buffer() const;     // the gradient, allocated as zeros on first use (for accumulating)
  void zero_grad() const { node_->grad = Tensor(); }

  bool same_node(const Var& o) const { return node_ == o.node_; }

 private:
  std::shared_ptr<Node> node_;
};

class Tape {
 public:
  // The calling thread's tape; ops record here.
  static Tape& current();

  // Records one op. `backward` must add d loss / d input into input.grad_buffer() for every input
  // that requires_grad, reading output.grad(). Does nothing when recording is off.
  void record(std::vector<Var> inputs, Var output, std::function<void()> backward);

  // Backpropagates from a one-element loss (seed 1), or from `output` with the given output
  // gradient, then clears the tape (as PyTorch frees its graph after backward()).
  void backward(const Var& loss);
  void backward(const Var& output, const Tensor& output_grad);

  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::vector<Var> inputs;
    Var output;
    std::function<void()> backward;
  };
  std::vector<Entry> entries_;
};

// True unless a NoGrad guard is alive on this thread.
bool grad_enabled();

// RAII: while alive, ops on this thread record nothing (inference mode).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

// True when an op with these inputs must be recorded (recording on and some input needs a gradient).
bool needs_record(std::initializer_list<const Var*> inputs);

// What every op does with its result: wraps `value` as the output Var and, when the op must be
// recorded (needs_record of the inputs; undefined inputs, "no bias", count as frozen), records
// `backward`, which is called with the output during Tape::backward and must add d loss / d input
// into input.grad_buffer() for every input that requires_grad. Otherwise the output is a constant
// and `backward` is dropped, so nothing it captured stays alive.
//   Tensor y = ...;  // forward, through a kernel
//   return record_op(std::move(y), {x}, [x](const Var& out) { kernel_bwd(out.grad().data(), ..., x.grad_buffer().data()); });
using Backward = std::function<void(const Var& out)>;
Var record_op(Tensor value, std::initializer_list<Var> inputs, Backward backward);

// Guided backpropagation (Springenberg et al. 2015, "Striving for simplicity"). While a GuidedRelu
// guard is alive on this thread, the backward of relu, of conv2d/dense with a fused ReLU and of
// leaky_relu passes only positive gradients where the input was positive:
//   dx += dy * (x > 0) * (dy > 0)
// LeakyReLU is treated as a ReLU in this mode (its alpha slope is dropped): guided backprop asks
// which pixels raise the score through units that were on, and a leak of 0.1 for units that were
// off would pass their (positive) gradients back as faint noise. The mode is read when backward
// runs, so the guard must be alive around Tape::backward. Off by default.
bool guided_relu_enabled();

class GuidedRelu {
 public:
  GuidedRelu();
  ~GuidedRelu();
  GuidedRelu(const GuidedRelu&) = delete;
  GuidedRelu& operator=(const GuidedRelu&) = delete;

 private:
  bool previous_;
};

}  // namespace convis
