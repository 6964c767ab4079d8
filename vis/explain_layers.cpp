// Teaching mode, part 3: max pooling, ReLU and softmax worked by hand (forward and gradient),
// and `explain backprop`: a conv -> relu -> maxpool -> mean chain, differentiated by the engine
// and checked against central finite differences.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "engine/ops.h"
#include "vis/explain.h"
#include "vis/explain_text.h"

namespace convis {

using namespace explain_detail;

namespace {

std::string list(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + format_number(v[i]);
  return s + "]";
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", v);
  return buf;
}

Matrix matrix_of(int rows, int cols, std::initializer_list<double> values) {
  Matrix m(rows, cols);
  m.v.assign(values.begin(), values.end());
  return m;
}

void check_line(Text& t, const std::string& what, double diff, double tol) {
  t.add("  Check against " + what + ": ");
  t.line("max difference " + format_number(diff) + (diff <= tol ? ", the same values." : ", DIFFERENT values."),
         diff <= tol ? Style::good : Style::bad);
}

}  // namespace

// ---- explain pool ----------------------------------------------------------------------------

PoolExplanation explain_pool() {
  PoolExplanation e;
  e.input = matrix_of(4, 4, {1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4});
  e.upstream = matrix_of(2, 2, {1, 2, 3, 4});
  e.output = Matrix(2, 2);
  e.grad_input = Matrix(4, 4);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      int best = -1;  // the first maximum in row-major window order wins, as in the engine
      for (int u = 0; u < 2; ++u)
        for (int v = 0; v < 2; ++v) {
          const int idx = (2 * i + u) * 4 + (2 * j + v);
          if (best < 0 || e.input.v[size_t(idx)] > e.input.v[size_t(best)]) best = idx;
        }
      e.output(i, j) = e.input.v[size_t(best)];
      e.argmax.push_back(best);
      e.grad_input.v[size_t(best)] += e.upstream(i, j);
    }
  {
    Var x = Var::param(to_tensor_hw(e.input));
    Var y = max_pool2d(x, 2, 2, 2, 2, Padding::valid);
    e.engine_output = from_tensor_hw(y.value());
    Tape::current().backward(y, to_tensor_hw(e.upstream));
    e.engine_grad = from_tensor_hw(x.grad());
  }
  e.engine_max_diff = std::max(max_abs_diff(e.output, e.engine_output), max_abs_diff(e.grad_input, e.engine_grad));

  Text& t = e.text;
  heading(t, "explain pool: 2x2 max pooling, stride 2");
  t.line();
  t.line("Max pooling cuts the input into 2x2 windows and keeps the largest value of each: 1 value of 4.");
  t.line("It halves height and width, keeps the strongest response, and forgets exactly where it was.");
  section(t, "Input x (4 x 4), the four windows:");
  auto winner = [&](int r, int c) { return std::find(e.argmax.begin(), e.argmax.end(), r * 4 + c) != e.argmax.end(); };
  put(t, matrix_block(
             e.input, [&](int r, int c) { return winner(r, c) ? Style::highlight : Style::value; }, winner));
  t.line("  ([ ] marks each window's maximum)", Style::dim);
  section(t, "Forward: the maximum of each window");
  const char* where[4] = {"top-left", "top-right", "bottom-left", "bottom-right"};
  for (int k = 0; k < 4; ++k) {
    const int i = k / 2, j = k % 2;
    std::string vals;
    for (int u = 0; u < 2; ++u)
      for (int v = 0; v < 2; ++v) vals += (vals.empty() ? "" : ", ") + format_number(e.input(2 * i + u, 2 * j + v));
    t.add("  y[" + std::to_string(i) + "][" + std::to_string(j) + "] = max(" + vals + ") = ");
    t.add(format_number(e.output(i, j)), Style::highlight);
    t.line("   (" + std::string(where[k]) + " window, from x[" + std::to_string(e.argmax[size_t(k)] / 4) + "][" +
               std::to_string(e.argmax[size_t(k)] % 4) + "])",
           Style::dim);
  }
  t.add("  y = ");
  t.line(matrix_literal(e.output), Style::result);
  section(t, "Backward: where the gradient goes");
  t.line("  Given dL/dy (from the layers above):");
  put(t, matrix_block(e.upstream, Style::result), "    ");
  t.line("  Only the winner of a window affected y; nudging the other 3 values changes nothing, so their");
  t.line("  gradient is 0. Each dL/dy goes, whole, to the position of its window's maximum:");
  put(t,
      matrix_block(
          e.grad_input, [&](int r, int c) { return winner(r, c) ? Style::highlight : Style::dim; }, winner),
      "    ");
  t.line("  dL/dx = " + matrix_literal(e.grad_input));
  t.line("  (On a tie the first maximum in reading order gets the gradient, as in the engine and TensorFlow.)",
         Style::dim);
  check_line(t, "the engine's max_pool2d and its backward", e.engine_max_diff, 1e-6);
  return e;
}

// ---- explain relu ----------------------------------------------------------------------------

ReluExplanation explain_relu() {
  ReluExplanation e;
  e.x = {-2, -0.5, 0, 0.5, 3};
  e.upstream = {0.1, 0.2, 0.3, 0.4, 0.5};
  for (size_t i = 0; i < e.x.size(); ++i) {
    e.y.push_back(std::max(0.0, e.x[i]));
    e.grad.push_back(e.x[i] > 0 ? e.upstream[i] : 0.0);
  }
  {
    Tensor xt(Shape{int64_t(e.x.size())}), dyt(Shape{int64_t(e.x.size())});
    for (size_t i = 0; i < e.x.size(); ++i) xt[int64_t(i)] = float(e.x[i]), dyt[int64_t(i)] = float(e.upstream[i]);
    Var x = Var::param(xt);
    Var y = relu(x);
    Tape::current().backward(y, dyt);
    for (size_t i = 0; i < e.x.size(); ++i) {
      e.engine_y.push_back(y.value()[int64_t(i)]);
      e.engine_grad.push_back(x.grad()[int64_t(i)]);
      e.engine_max_diff =
          std::max({e.engine_max_diff, std::fabs(e.engine_y[i] - e.y[i]), std::fabs(e.engine_grad[i] - e.grad[i])});
    }
  }
  Text& t = e.text;
  heading(t, "explain relu: max(0, x) and its gradient");
  t.line();
  t.line("ReLU keeps positive values and sets negative ones to 0. It is what makes a stack of convolutions");
  t.line("more than one big linear map, and it is cheap: a comparison per value.");
  section(t, "Forward: y = max(0, x)");
  char line[160];
  std::snprintf(line, sizeof line, "  %6s %8s %8s %10s %12s", "x", "y", "dy/dx", "dL/dy", "dL/dx");
  t.line(line, Style::dim);
  for (size_t i = 0; i < e.x.size(); ++i) {
    std::snprintf(line, sizeof line, "  %6s %8s %8s %10s ", format_number(e.x[i]).c_str(),
                  format_number(e.y[i]).c_str(), e.x[i] > 0 ? "1" : "0", format_number(e.upstream[i]).c_str());
    t.add(line);
    std::snprintf(line, sizeof line, "%12s", format_number(e.grad[i]).c_str());
    t.line(line, e.x[i] > 0 ? Style::highlight : Style::dim);
  }
  section(t, "Backward: dL/dx = dL/dy * (x > 0)");
  t.line("  The slope is 1 where x > 0 and 0 where x < 0: the gradient passes through the positive");
  t.line("  inputs unchanged and is stopped at the negative ones. At x = 0 the slope is undefined;");
  t.line("  frameworks use 0 there (so does convis). A unit whose input is negative for every example");
  t.line("  never gets a gradient: a 'dead' ReLU. LeakyReLU (alpha * x for x < 0) keeps a small slope.");
  t.line("  y = " + list(e.y) + ",  dL/dx = " + list(e.grad));
  check_line(t, "the engine's relu and its backward", e.engine_max_diff, 1e-6);
  return e;
}

// ---- explain softmax -------------------------------------------------------------------------

SoftmaxExplanation explain_softmax(const std::vector<double>& logits) {
  SoftmaxExplanation e;
  e.logits = logits.empty() ? std::vector<double>{2.0, 1.0, 0.1} : logits;
  if (e.logits.size() > 32)
    throw std::invalid_argument("explain softmax: " + std::to_string(e.logits.size()) +
                                " logits is too many for a worked example (at most 32)");
  const double mx = *std::max_element(e.logits.begin(), e.logits.end());
  double sum = 0.0;
  for (double z : e.logits) {
    e.shifted.push_back(z - mx);
    e.exps.push_back(std::exp(z - mx));
    sum += e.exps.back();
  }
  for (double x : e.exps) e.probs.push_back(x / sum);
  // The same logits shifted up by 1000: exp in float32 overflows past ~88.7.
  for (double z : e.logits) e.big_logits.push_back(z + 1000.0);
  for (double z : e.big_logits) e.naive_overflows |= std::isinf(std::exp(float(z)));
  {
    Tensor a(Shape{1, int64_t(e.logits.size())}), b(a.shape());
    for (size_t i = 0; i < e.logits.size(); ++i)
      a[int64_t(i)] = float(e.logits[i]), b[int64_t(i)] = float(e.big_logits[i]);
    NoGrad no_grad;
    const Tensor pa = softmax(Var::constant(a)).value(), pb = softmax(Var::constant(b)).value();
    for (size_t i = 0; i < e.logits.size(); ++i) {
      e.engine_probs.push_back(pa[int64_t(i)]);
      e.big_probs.push_back(pb[int64_t(i)]);
      e.engine_max_diff = std::max(e.engine_max_diff, std::fabs(pa[int64_t(i)] - e.probs[i]));
    }
  }

  Text& t = e.text;
  heading(t, "explain softmax: logits to probabilities");
  t.line();
  t.line("A classifier's last layer gives one score per class, a logit: any real number. Softmax turns them");
  t.line("into probabilities (positive, summing to 1), keeping their order:  p_i = exp(z_i) / sum_j exp(z_j)");
  section(t, "The max-subtraction trick: subtract max(z) = " + format_number(mx) + " first");
  t.line("  exp(z_i - m) / sum_j exp(z_j - m) is the same number (the exp(-m) factors cancel), but now");
  t.line("  every exponent is <= 0, so exp never overflows and the largest term is exactly 1.");
  char line[200];
  std::snprintf(line, sizeof line, "  %5s %10s %10s %12s %12s", "i", "z", "z - max", "exp(z - max)", "p");
  t.line(line, Style::dim);
  for (size_t i = 0; i < e.logits.size(); ++i) {
    std::snprintf(line, sizeof line, "  %5zu %10s %10s %12s ", i, format_number(e.logits[i]).c_str(),
                  format_number(e.shifted[i]).c_str(), format_number(e.exps[i]).c_str());
    t.add(line);
    std::snprintf(line, sizeof line, "%12s", format_number(e.probs[i]).c_str());
    t.line(line, e.logits[i] == mx ? Style::highlight : Style::result);
  }
  std::string sum_terms;
  for (size_t i = 0; i < e.exps.size(); ++i) sum_terms += (i ? " + " : "") + format_number(e.exps[i]);
  t.line("  sum of exp = " + sum_terms + " = " + format_number(sum) + ";  p = exp / sum = " + list(e.probs));
  check_line(t, "the engine's softmax (float32)", e.engine_max_diff, 1e-6);

  section(t, "Why the trick matters: the same logits + 1000");
  t.line("  z = " + list(e.big_logits));
  if (e.naive_overflows) {
    t.add("  Naive: exp(" + format_number(*std::max_element(e.big_logits.begin(), e.big_logits.end())) +
          ") in float32 is ");
    t.add("inf", Style::bad);
    t.add(" (float32 stops at 3.4e38 = exp(88.7)), and inf / inf = ");
    t.line("nan", Style::bad);
  }
  t.line("  Shifted: z - max is the same as before, so p is the same. Softmax only sees differences of logits.");
  t.add("  The engine (which subtracts the max): p = ");
  t.line(list(e.big_probs), Style::good);
  t.line("  (log_softmax and cross-entropy use the same trick: log-sum-exp = m + log sum exp(z - m).)", Style::dim);
  return e;
}

// ---- explain backprop ------------------------------------------------------------------------

BackpropExplanation explain_backprop() {
  BackpropExplanation e;
  // Chosen so no conv output is near 0 and no pooling window has a near-tie: the finite-difference
  // step then never crosses a ReLU or max kink, and the function is linear around this point.
  e.x = matrix_of(5, 5, {1, 3, 0, 2, 1, 2, 1, 4, 0, 3, 0, 2, 1, 3, 1, 3, 0, 2, 1, 4, 1, 4, 0, 2, 2});
  e.w = matrix_of(2, 2, {1, -1, 0.5, 2});
  e.b = -1.5;
  e.step = 5e-2;  // the margins above are >= 0.5 and |w|, |x| <= 4: no kink within reach

  const Var x = Var::param(to_tensor_hw(e.x));
  const Var w = Var::param(to_tensor_hw(e.w).reshape({2, 2, 1, 1}));
  const Var b = Var::param(Tensor::full({1}, float(e.b)));
  auto forward = [&](Var& z, Var& a, Var& p) {
    z = conv2d(x, w, b, 1, 1, Padding::valid);
    a = relu(z);
    p = max_pool2d(a, 2, 2, 2, 2, Padding::valid);
    return mean(p);
  };
  Var z, a, p;
  Var L = forward(z, a, p);
  e.z = from_tensor_hw(z.value());
  e.a = from_tensor_hw(a.value());
  e.p = from_tensor_hw(p.value());
  e.loss = L.value().item();
  // Keep the intermediate gradients: backward fills every node the loss depends on.
  Tape::current().backward(L);
  e.dp = from_tensor_hw(p.grad());
  e.da = from_tensor_hw(a.grad());
  e.dz = from_tensor_hw(z.grad());
  e.dw = from_tensor_hw(w.grad().reshape({1, 2, 2, 1}));
  e.db = b.grad()[0];
  e.dx = from_tensor_hw(x.grad());

  // Central differences of the engine's own forward, one parameter at a time.
  auto loss_now = [&]() {
    NoGrad no_grad;
    Var z2, a2, p2;
    return double(forward(z2, a2, p2).value().item());
  };
  auto central = [&](Tensor& t, int64_t i) {
    const float orig = t[i];
    t[i] = orig + float(e.step);
    const double lp = loss_now();
    t[i] = orig - float(e.step);
    const double lm = loss_now();
    t[i] = orig;
    return (lp - lm) / (2.0 * e.step);
  };
  e.fd_w = Matrix(2, 2);
  e.fd_x = Matrix(5, 5);
  for (int64_t i = 0; i < 4; ++i) e.fd_w.v[size_t(i)] = central(const_cast<Var&>(w).value(), i);
  for (int64_t i = 0; i < 25; ++i) e.fd_x.v[size_t(i)] = central(const_cast<Var&>(x).value(), i);
  e.fd_b = central(const_cast<Var&>(b).value(), 0);
  e.max_diff = std::max({max_abs_diff(e.dw, e.fd_w), max_abs_diff(e.dx, e.fd_x), std::fabs(e.db - e.fd_b)});

  Text& t = e.text;
  heading(t, "explain backprop: L = mean(maxpool(relu(conv(x, w) + b)))");
  t.line();
  t.line("A 5x5 input, one 2x2 filter, ReLU, 2x2 max pooling and the mean: the smallest CNN with every");
  t.line("step of a real one. Forward computes L; backward applies the chain rule one layer at a time,");
  t.line("from L back to every weight and input pixel. The gradients come from the engine's autodiff.");

  section(t, "Forward");
  put(t,
      beside(
          {titled("x (5 x 5)", matrix_block(e.x, Style::value)), titled("w (2 x 2)", matrix_block(e.w, Style::weight)),
           titled("b", {Text().add(format_number(e.b), Style::weight)})},
          "      "),
      "    ");
  t.line();
  auto pooled_winner = [&](int r, int c) { return e.p(r / 2, c / 2) == e.a(r, c) && e.a(r, c) > 0; };
  put(t,
      beside({titled("z = conv(x, w) + b",
                     matrix_block(e.z, [&](int r, int c) { return e.z(r, c) > 0 ? Style::result : Style::dim; })),
              titled("a = relu(z)",
                     matrix_block(
                         e.a, [&](int r, int c) { return pooled_winner(r, c) ? Style::highlight : Style::result; },
                         pooled_winner)),
              titled("p = maxpool2x2(a)", matrix_block(e.p, Style::result))},
             "      "),
      "    ");
  t.line("  z[0][0] = " + product(e.x(0, 0), e.w(0, 0)) + " + " + product(e.x(0, 1), e.w(0, 1)) + " + " +
             product(e.x(1, 0), e.w(1, 0)) + " + " + product(e.x(1, 1), e.w(1, 1)) + " + (" + format_number(e.b) +
             ") = " + format_number(e.z(0, 0)),
         Style::dim);
  t.add("  L = mean(p) = (");
  for (int i = 0; i < 4; ++i) t.add((i ? " + " : "") + format_number(e.p.v[size_t(i)]));
  t.add(") / 4 = ");
  t.line(format_number(e.loss), Style::highlight);

  section(t, "Backward, layer by layer (autodiff)");
  t.line("  dL/dp = 1/4 for each of the 4 pooled values (the mean's slope):");
  put(t, matrix_block(e.dp, Style::result), "    ");
  t.line("  dL/da: max pooling sends each 1/4 to its window's winner ([ ] above), 0 elsewhere:");
  put(t, matrix_block(e.da, [&](int r, int c) { return e.da(r, c) != 0 ? Style::highlight : Style::dim; }), "    ");
  t.line("  dL/dz = dL/da * (z > 0): ReLU passes it where z was positive:");
  put(t, matrix_block(e.dz, [&](int r, int c) { return e.dz(r, c) != 0 ? Style::highlight : Style::dim; }), "    ");
  std::string terms;
  double check = 0.0;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      if (e.dz(i, j) != 0) {
        terms += (terms.empty() ? "" : " + ") + product(e.dz(i, j), e.x(i, j));
        check += e.dz(i, j) * e.x(i, j);
      }
  t.line("  dL/dw[u][v] = sum over i, j of dL/dz[i][j] * x[i+u][j+v]   (the input under each weight):");
  t.line("    dL/dw[0][0] = " + terms + " = " + format_number(check), Style::dim);
  t.line("  dL/db = sum of dL/dz = " + format_number(e.db) + ". Each dL/dz[i][j] also flows back to the inputs under");
  t.line("  its window, weighted by w (a transposed convolution), giving dL/dx:");
  put(t,
      beside({titled("dL/dw", matrix_block(e.dw, Style::weight)),
              titled("dL/dx",
                     matrix_block(e.dx, [&](int r, int c) { return e.dx(r, c) != 0 ? Style::value : Style::dim; }))},
             "      "),
      "    ");

  section(t, "Check: central finite differences (L(theta + h) - L(theta - h)) / 2h, h = " + format_number(e.step));
  t.line("  each of the 4 weights, the bias and the 25 inputs nudged in turn, L recomputed by the engine:");
  char line[200];
  std::snprintf(line, sizeof line, "    %-12s %12s %16s %12s", "parameter", "autodiff", "finite diff.", "|diff|");
  t.line(line, Style::dim);
  auto row = [&](const std::string& name, double ad, double fd) {
    std::snprintf(line, sizeof line, "    %-12s %12.6f %16.6f %12.2g", name.c_str(), ad, fd, std::fabs(ad - fd));
    t.line(line);
  };
  for (int u = 0; u < 2; ++u)
    for (int v = 0; v < 2; ++v)
      row("w[" + std::to_string(u) + "][" + std::to_string(v) + "]", e.dw(u, v), e.fd_w(u, v));
  row("b", e.db, e.fd_b);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      if (e.dx(i, j) != 0 || std::fabs(e.fd_x(i, j)) > 1e-3)
        row("x[" + std::to_string(i) + "][" + std::to_string(j) + "]", e.dx(i, j), e.fd_x(i, j));
  t.line("    (the other x have gradient 0 both ways: they feed only values that lose the pooling or the ReLU)",
         Style::dim);
  const bool ok = e.max_diff < 1e-3;
  t.add("  max |autodiff - finite difference| over all 30 = ");
  t.line(sci(e.max_diff) + (ok ? "  (float32 rounding: they agree)" : "  (they DISAGREE)"),
         ok ? Style::good : Style::bad);
  return e;
}

}  // namespace convis
