#pragma once
// Shared helpers for the tests: seeded random tensors and a central-difference gradient checker.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/ops.h"

namespace convis::test {

// What f throws, or "" when it returns (the tests compare error messages).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The same shape and the same bits in every element (what a round trip through a file must give).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), size_t(a.numel()) * sizeof(float)) == 0;
}

inline Tensor random_tensor(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = u(rng);
  return t;
}

// The largest |a - b| over two tensors of one shape.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double d = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

// Values that stay at least `gap` away from 0 (so ReLU-like kinks are never crossed by a
// finite-difference step smaller than gap).
inline Tensor away_from_zero(const Shape& s, uint32_t seed, float gap = 0.05f) {
  Tensor t = random_tensor(s, seed);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = t[i] >= 0.f ? t[i] + gap : t[i] - gap;
  return t;
}

// Distinct values spaced `step` apart in a shuffled order (no ties for max pooling, and no
// finite-difference step smaller than step/2 can change which element is the maximum).
inline Tensor distinct_values(const Shape& s, uint32_t seed, float step = 0.1f) {
  Tensor t(s);
  std::vector<int64_t> order(size_t(t.numel()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  std::mt19937 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = (float(order[size_t(i)]) - 0.5f * float(t.numel())) * step;
  return t;
}

// Checks d L / d input for every input that requires grad, where L = sum(f(inputs) * R) for a
// fixed random R. Analytic: one backward() through the tape. Numerical: central differences
// (L(x + h) - L(x - h)) / 2h per element, with L summed in double from the float outputs. Elements
// whose step crosses a kink (one-sided slopes disagree) are skipped, and must be rare.
inline void check_gradients(const std::string& what, const std::function<Var(const std::vector<Var>&)>& f,
                            const std::vector<Var>& inputs, double h = 1e-2, double atol = 2e-3,
                            double rtol = 1e-2, double max_kink_fraction = 0.05) {
  Tape::current().clear();
  for (const Var& v : inputs) v.zero_grad();
  Var out = f(inputs);
  const Tensor R = random_tensor(out.shape(), 12345u);
  Var loss = sum(mul(out, Var::constant(R)));
  Tape::current().backward(loss);

  auto eval = [&]() {
    NoGrad no_grad;
    const Tensor y = f(inputs).value();
    double L = 0.0;
    for (int64_t i = 0; i < y.numel(); ++i) L += double(y[i]) * double(R[i]);
    return L;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Var& v = inputs[k];
    if (!v.requires_grad()) continue;
    REQUIRE_MESSAGE(v.has_grad(), what << ": input " << k << " received no gradient");
    const Tensor analytic = v.grad().clone();
    Tensor& x = const_cast<Var&>(v).value();
    int bad = 0;
    int64_t kinks = 0;
    auto central = [&](int64_t i, double step) {
      const float orig = x[i];
      x[i] = orig + float(step);
      const double lp = eval();
      x[i] = orig - float(step);
      const double lm = eval();
      x[i] = orig;
      return (lp - lm) / (2.0 * step);
    };
    for (int64_t i = 0; i < x.numel() && bad < 3; ++i) {
      const double numeric = central(i, h);
      // A step across a ReLU or max-pooling kink (two pooled values within h of each other) makes
      // the estimate depend on the step; on smooth stretches steps h and h/2 agree to O(h^2).
      // Such an element says nothing about the analytic gradient: skip it (and require few).
      if (std::fabs(central(i, h / 2) - numeric) > 0.5 * (atol + rtol * std::fabs(numeric))) {
        ++kinks;
        continue;
      }
      const double err = std::fabs(numeric - double(analytic[i]));
      if (err > atol + rtol * std::fabs(numeric)) {
        ++bad;
        FAIL_CHECK(what << ": d/d input " << k << " " << x.shape().str() << " element " << i << ": analytic "
                        << analytic[i] << ", numerical " << numeric);
      }
    }
    CHECK_MESSAGE(bad == 0, what << ": input " << k << " has gradient mismatches");
    // Kinks are rare on random data; many of them would mean the check tested nothing.
    CHECK_MESSAGE(double(kinks) <= max_kink_fraction * double(x.numel()), what << ": input " << k << ": " << kinks << " of " << x.numel()
                                                << " elements straddle a kink");
  }
}

}  // namespace convis::test
