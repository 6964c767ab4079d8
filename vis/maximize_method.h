#pragma once
// One activation-maximisation method: what it optimises and how that becomes a picture.
//
// Maximizer (vis/maximize.cpp) keeps what every method shares: the truncated, frozen model, the
// batching of filters, each filter's random stream, the one-channel target and the objective.
// A method is a parametrisation of the batch's images, and a run drives it so (B images, one
// per filter; rng[b] is filter b's stream):
//
//   std::unique_ptr<MaximizeParametrisation> method = maximize_method(m).make(setup);
//   Var p = method->init(rng);                 // the start; image b's drawn from rng[b] alone
//   for (int it = 0; it < iters; ++it) {
//     Var x = method->input(p, &rng);          // the model input, with this step's random transforms
//     ... forward x to the layer, backward the objective: p.grad() ...
//     method->step(p, it);                     // one ascent step
//   }
//   method->input(p, nullptr);                 // what the model sees at the end, no transforms
//   method->display(p);                        // what a person looks at
//
// Adding a method: a value in MaximizeMethod (vis/maximize.h), one file vis/maximize_<name>.cpp
// with its class and make function, and one row of the table in vis/maximize.cpp.
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "engine/autograd.h"
#include "vis/maximize.h"

namespace convis {

// What a method knows of its run.
struct MaximizeSetup {
  int64_t batch = 0, h = 0, w = 0, c = 0;  // B images of H x W x C
  float step = 0.f;                         // the step in force: the option, or the row's default
  int positions = 1;                        // H' x W' of the target layer's output (1 for dense)
  int receptive_field = 1;                  // the pixels one unit of the target sees, per side
  Preprocess preprocess = Preprocess::unit;  // the model's (lucid and yosinski use it)
  const MaximizeOptions* options = nullptr;  // for a method's own switches (Lucid's three)
};

// The start images of a batch, image b from rng[b] alone: make_draw(rng[b]) gives a function
// whose calls draw(i), i = 0, 1, ... in NHWC order, fill image b.
template <class MakeDraw>
Tensor per_image_start(const MaximizeSetup& s, std::vector<std::mt19937_64>& rng, const MakeDraw& make_draw) {
  Tensor x(Shape{s.batch, s.h, s.w, s.c});
  const int64_t per = x.numel() / s.batch;
  for (int64_t b = 0; b < s.batch; ++b) {
    auto draw = make_draw(rng[size_t(b)]);
    float* p = x.data() + b * per;
    for (int64_t i = 0; i < per; ++i) p[i] = draw(i);
  }
  return x;
}

class MaximizeParametrisation {
 public:
  virtual ~MaximizeParametrisation() = default;
  // The start parameters, a Var that requires grad; image b's values come from rng[b] alone.
  virtual Var init(std::vector<std::mt19937_64>& rng) = 0;
  // The model input (B, H, W, C) made from the parameters, on the tape when p requires grad.
  // With rng, this step's random transforms (image b's from rng[b]); with nullptr, none.
  virtual Var input(const Var& p, std::vector<std::mt19937_64>* rng) const = 0;
  // One ascent step of p from p.grad(), the gradient of the objective (it counts from 0).
  virtual void step(Var& p, int it) = 0;
  // The pictures to show, (B, H, W, C) in [0, 1], of the final parameters.
  virtual Tensor display(const Var& p) const = 0;
};

struct MaximizeMethodRow {
  MaximizeMethod method;
  const char* name;
  int default_iters;
  float default_step;
  std::unique_ptr<MaximizeParametrisation> (*make)(const MaximizeSetup& setup);
};
// The row of a method (the table is in vis/maximize.cpp).
const MaximizeMethodRow& maximize_method(MaximizeMethod m);

std::unique_ptr<MaximizeParametrisation> make_lucid_method(const MaximizeSetup& setup);     // maximize_lucid.cpp
std::unique_ptr<MaximizeParametrisation> make_seed_method(const MaximizeSetup& setup);      // maximize_seed.cpp
std::unique_ptr<MaximizeParametrisation> make_yosinski_method(const MaximizeSetup& setup);  // maximize_yosinski.cpp

}  // namespace convis
