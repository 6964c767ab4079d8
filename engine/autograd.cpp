#include "engine/autograd.h"

#include <stdexcept>

namespace convis {

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

const Tensor& Var::grad() const {
  if (!node_ || !node_->grad.defined())
    throw std::logic_error("grad(): no gradient has reached this variable (did backward() run, and does it require grad?)");
  return node_->grad;
}

Tensor& Var::grad_buffer() const {
  if (!node_->grad.defined()) node_->grad = Tensor::zeros(node_->value.shape());
  return node_->grad;
}

namespace {
thread_local bool t_grad_enabled = true;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }

NoGrad::NoGrad() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGrad::~NoGrad() { t_grad_enabled = previous_; }

namespace {
thread_local bool t_guided_relu = false;
}  // namespace

bool guided_relu_enabled() { return t_guided_relu; }
GuidedRelu::GuidedRelu() : previous_(t_guided_relu) { t_guided_relu = true; }
GuidedRelu::~GuidedRelu() { t_guided_relu = previous_; }

bool needs_record(std::initializer_list<const Var*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Var* v : inputs)
    if (v && v->requires_grad()) return true;
  return false;
}

Var record_op(Tensor value, std::initializer_list<Var> inputs, Backward backward) {
  bool record = t_grad_enabled;
  if (record) {
    record = false;
    for (const Var& v : inputs) record = record || v.requires_grad();
  }
  Var out(std::move(value), record);
  if (record)
    Tape::current().record(std::vector<Var>(inputs), out,
                           [out, backward = std::move(backward)]() { backward(out); });
  return out;
}

Tape& Tape::current() {
  thread_local Tape tape;
  return tape;
}

void Tape::record(std::vector<Var> inputs, Var output, std::function<void()> backward) {
  if (!t_grad_enabled) return;
  entries_.push_back(Entry{std::move(inputs), std::move(output), std::move(backward)});
}

void Tape::backward(const Var& loss) {
  if (loss.value().numel() != 1)
    throw std::invalid_argument("backward(): the loss has shape " + loss.shape().str() +
                                "; give a one-element loss or an output gradient");
  backward(loss, Tensor::full(loss.shape(), 1.f));
}

void Tape::backward(const Var& output, const Tensor& output_grad) {
  check_same_shape("backward(): output and its gradient", output.shape(), output_grad.shape());
  Var out = output;
  Tensor& g = out.grad_buffer();
  const float* src = output_grad.data();
  float* dst = g.data();
  for (int64_t i = 0; i < g.numel(); ++i) dst[i] += src[i];

  // Walk in reverse; an entry whose output no gradient reached contributes nothing.
  // Entries are released as we go so that activations die as early as possible.
  std::vector<Entry> entries;
  entries.swap(entries_);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->output.has_grad()) it->backward();
    *it = Entry{};
  }
}

}  // namespace convis
