// Adam (engine/optim.h): Keras' first steps by hand, a double-precision reference, maximize as
// minimising the negation exactly, each arithmetic against its loop, and bad options.
#include <cmath>
#include <vector>

#include "engine/ops.h"
#include "engine/optim.h"
#include "tests/util.h"

using namespace convis;
using convis::test::contains;
using convis::test::error_of;

TEST_CASE("adam: first steps match hand-computed Keras updates") {
  // One step from zero moments with gradient g: m = 0.1 g, v = 0.001 g^2,
  // alpha = 0.001 sqrt(0.001) / 0.1, update = alpha m / (sqrt(v) + 1e-7).
  //   g = -2    -> -0.000999998419  (about lr: Adam's first step is ~lr * sign(g))
  //   g = 1e-6  ->  0.000240253073  (epsilon hat dominates; Algorithm 1 would give 0.000909)
  const float grads[3] = {-2.f, 40.f, 1e-6f};
  const double want[3] = {-0.00099999841886367, 0.0009999999209430648, 0.00024025307335204227};
  Var p = Var::param(Tensor::from({3}, {0.5f, -1.f, 2.f}));
  Adam opt({p});
  p.grad_buffer();
  for (int i = 0; i < 3; ++i) p.grad_buffer()[i] = grads[i];
  opt.step();
  CHECK(opt.iterations() == 1);
  CHECK(p.value()[0] == doctest::Approx(0.5 - want[0]).epsilon(1e-6));
  CHECK(p.value()[1] == doctest::Approx(-1.0 - want[1]).epsilon(1e-6));
  CHECK(double(p.value()[2]) - 2.0 == doctest::Approx(-want[2]).epsilon(2e-3));  // float spacing near 2
}

TEST_CASE("adam: several steps on a two-parameter problem match a double-precision reference") {
  // loss = (x - 1)^2 + 10 (y + 2)^2 through the engine's ops; gradient (2 (x - 1), 20 (y + 2)).
  Var theta = Var::param(Tensor::from({2}, {0.f, 0.f}));
  const Var target = Var::constant(Tensor::from({2}, {1.f, -2.f}));
  const Var scale = Var::constant(Tensor::from({2}, {1.f, 10.f}));
  Adam::Options o;
  o.learning_rate = 0.1f;  // large enough that the path bends within a few steps
  Adam opt({theta}, o);
  double x[2] = {0, 0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double tgt[2] = {1, -2}, sc[2] = {1, 10};
  for (int t = 1; t <= 8; ++t) {
    opt.zero_grad();
    const Var d = sub(theta, target);
    Tape::current().backward(sum(mul(mul(d, d), scale)));
    opt.step();
    const double alpha = 0.1 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    for (int i = 0; i < 2; ++i) {
      const double g = 2 * sc[i] * (x[i] - tgt[i]);
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      x[i] -= alpha * m[i] / (std::sqrt(v[i]) + 1e-7);
      CHECK_MESSAGE(theta.value()[i] == doctest::Approx(x[i]).epsilon(1e-5), "step " << t << " parameter " << i);
      // v += (g^2 - v) * 0.001 in float drifts from double by ~1e-5 relative over 8 steps.
      CHECK(opt.m(0)[i] == doctest::Approx(m[i]).epsilon(1e-4));
      CHECK(opt.v(0)[i] == doctest::Approx(v[i]).epsilon(1e-4));
    }
  }
  // After 8 steps of size ~0.1 both coordinates moved by about 0.8 towards (1, -2).
  CHECK(x[0] > 0.5);
  CHECK(x[1] < -0.5);
}

TEST_CASE("adam: maximize on f takes exactly the steps of minimising -f (keras and textbook arithmetic)") {
  // f = sum(c * theta^2) + sum(theta): a non-trivial gradient 2 c theta + 1, negated exactly by
  // mul_scalar(f, -1) in backward.
  const Var c = Var::constant(Tensor::from({5}, {0.5f, -1.5f, 3.f, 1e-3f, -0.25f}));
  const std::vector<float> start = {0.3f, -2.f, 1.f, 1e-6f, 7.f};
  for (Adam::Arithmetic a : {Adam::Arithmetic::keras, Adam::Arithmetic::textbook}) {
    CAPTURE(int(a));
    Var up = Var::param(Tensor::from({5}, start)), down = Var::param(Tensor::from({5}, start));
    Adam::Options o;
    o.learning_rate = 0.05f;
    o.arithmetic = a;
    Adam descend({down}, o);
    o.maximize = true;
    Adam ascend({up}, o);
    auto f = [&](const Var& x) { return add(sum(mul(c, mul(x, x))), sum(x)); };
    for (int t = 0; t < 12; ++t) {
      ascend.zero_grad();
      Tape::current().backward(f(up));
      ascend.step();
      descend.zero_grad();
      Tape::current().backward(mul_scalar(f(down), -1.f));
      descend.step();
      for (int64_t i = 0; i < 5; ++i) {
        CHECK(up.value()[i] == down.value()[i]);  // exactly, not approximately
        CHECK(ascend.m(0)[i] == descend.m(0)[i]);
        CHECK(ascend.v(0)[i] == descend.v(0)[i]);
      }
    }
    // Ascent really went up: f grew.
    const float f0 = f(Var::constant(Tensor::from({5}, start))).value().item();
    CHECK(f(up).value().item() > f0);
    Tape::current().clear();
  }
}

TEST_CASE("adam: each arithmetic is its loop, bit for bit (keras for training, textbook for activation maximisation)") {
  const int64_t n = 257;
  const Tensor g0 = convis::test::random_tensor({n}, 21, -3.f, 3.f);
  for (bool maximize : {false, true})
    for (Adam::Arithmetic a : {Adam::Arithmetic::keras, Adam::Arithmetic::textbook}) {
      CAPTURE(maximize);
      CAPTURE(int(a));
      const bool keras = a == Adam::Arithmetic::keras;
      Adam::Options o;
      o.learning_rate = keras ? 0.001f : 0.05f;
      o.epsilon = keras ? 1e-7f : 1e-8f;
      o.maximize = maximize;
      o.arithmetic = a;
      Var p = Var::param(convis::test::random_tensor({n}, 22));
      Tensor x = p.value().clone(), m = Tensor::zeros({n}), v = Tensor::zeros({n});
      Adam opt({p}, o);
      for (int it = 0; it < 6; ++it) {
        Tensor& g = p.grad_buffer();
        for (int64_t i = 0; i < n; ++i) g[i] = g0[i] * float(it + 1) * (i % 3 ? 1.f : 1e-4f);
        opt.step();
        if (keras) {  // engine/optim.cpp before the options, float betas as Keras holds them
          const float b1 = 0.9f, b2 = 0.999f;
          const float lr_t = float(double(o.learning_rate) * std::sqrt(1.0 - std::pow(double(b2), it + 1.0)) /
                                   (1.0 - std::pow(double(b1), it + 1.0)));
          for (int64_t i = 0; i < n; ++i) {
            const float gi = maximize ? -g[i] : g[i];
            m[i] += (gi - m[i]) * (1.f - b1);
            v[i] += (gi * gi - v[i]) * (1.f - b2);
            x[i] -= lr_t * m[i] / (std::sqrt(v[i]) + o.epsilon);
          }
        } else {  // vis/maximize.cpp's lucid step before it used this Adam (always ascending there)
          const double b1 = 0.9, b2 = 0.999, eps = 1e-8, t = it + 1;
          const float lr_t = float(o.learning_rate * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
          for (int64_t i = 0; i < n; ++i) {
            const float gi = maximize ? g[i] : -g[i];  // that loop's ascent gradient
            m[i] = float(b1) * m[i] + float(1.0 - b1) * gi;
            v[i] = float(b2) * v[i] + float(1.0 - b2) * gi * gi;
            x[i] += lr_t * m[i] / (std::sqrt(v[i]) + float(eps));
          }
        }
        int64_t differ = 0;
        for (int64_t i = 0; i < n; ++i) differ += p.value()[i] != x[i];
        CHECK(differ == 0);
      }
    }
}

TEST_CASE("adam: bad options are refused naming them") {
  Var p = Var::param(Tensor::zeros({2}));
  Adam::Options o;
  o.beta_2 = 0.999999999;  // 1.0f in float: 1 - beta_2^t would be 0
  CHECK(contains(error_of([&] { Adam({p}, o); }), "beta_2 1.000000"));
  o.beta_2 = 0.999;
  o.learning_rate = 0.f;
  CHECK(contains(error_of([&] { Adam({p}, o); }), "expected lr > 0"));
}
