#pragma once
// Optimisers that update a model's parameters from the gradients backward left in them.
//
//   Adam opt(model_params(m));                 // Keras' defaults
//   for (batch ...) {
//     opt.zero_grad();
//     Var loss = sparse_categorical_crossentropy(m.forward(x, -1, true), labels);
//     Tape::current().backward(loss);
//     opt.step();
//   }
#include <cstdint>
#include <vector>

#include "engine/autograd.h"
#include "engine/model.h"

namespace convis {

// Every weight of the model that requires a gradient, layer by layer in Keras' order.
std::vector<Var> model_params(const Model& m);

// Adam as Keras 2.11 computes it (tf.keras.optimizers.Adam, whose update_step is):
//
//   t      = iterations + 1
//   alpha  = lr * sqrt(1 - beta2^t) / (1 - beta1^t)      bias correction folded into the step
//   m     += (g - m) * (1 - beta1)                        m = beta1 m + (1 - beta1) g
//   v     += (g^2 - v) * (1 - beta2)                      v = beta2 v + (1 - beta2) g^2
//   theta -= alpha * m / (sqrt(v) + epsilon)
//
// This is the form "just before Section 2.1" of Kingma & Ba, with epsilon ("epsilon hat") added to
// the uncorrected sqrt(v), not Algorithm 1's m_hat / (sqrt(v_hat) + epsilon): the two differ when
// sqrt(v) is not large next to epsilon (tiny gradients). PyTorch's Adam is Algorithm 1 (and its
// default epsilon is 1e-8). alpha is computed in double (Keras: float32), m, v, theta in float.
//
// maximize: gradient ascent on the loss, as torch.optim.Adam(maximize=True): the update uses -g,
// so the steps on f are exactly those of minimising -f (activation maximisation uses this).
//
// arithmetic: the same formula rounded two ways (results differ in the last bits only):
//   keras     the betas rounded to float32 first (Keras' hyperparameters are float32), and the
//             moments updated as m += (g - m) * (1 - beta1), as above;
//   textbook  the betas in double (so 1 - beta2^t in alpha uses 0.999, not 0.999f), and the
//             moments as written, m = beta1 m + (1 - beta1) g, v = beta2 v + ((1 - beta2) g) g,
//             each factor rounded to float: what activation maximisation (Lucid's recipe, lr 0.05,
//             epsilon 1e-8) has always computed, kept so that its pictures stay bit for bit.
class Adam {
 public:
  enum class Arithmetic { keras, textbook };
  struct Options {
    float learning_rate = 0.001f;
    double beta_1 = 0.9;
    double beta_2 = 0.999;
    float epsilon = 1e-7f;
    bool maximize = false;
    Arithmetic arithmetic = Arithmetic::keras;
  };

  explicit Adam(std::vector<Var> params);
  Adam(std::vector<Var> params, Options options);

  // One update of every parameter that has a gradient (one without is left alone, its moments
  // untouched); then the step counter advances.
  void step();
  // Drops the parameters' gradients (backward accumulates, so each batch starts from none).
  void zero_grad() const;

  int64_t iterations() const { return iterations_; }
  const Options& options() const { return opt_; }
  // The moment estimates of parameter i (for tests).
  const Tensor& m(size_t i) const { return m_[i]; }
  const Tensor& v(size_t i) const { return v_[i]; }

 private:
  std::vector<Var> params_;
  std::vector<Tensor> m_, v_;
  Options opt_;
  int64_t iterations_ = 0;
};

}  // namespace convis
