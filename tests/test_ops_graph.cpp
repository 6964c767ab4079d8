// The graph models' compute ops against loops written here from their formulas, and
// central-difference gradient checks on odd shapes: depthwise convolution, broadcasting merges,
// batch normalisation on any axis, Keras' Normalization.
#include <cmath>

#include "kernels/cpu.h"
#include "kernels/depthwise_conv2d.h"
#include "tests/util.h"

using namespace convis;
using convis::test::check_gradients;
using convis::test::distinct_values;
using convis::test::max_abs_diff;
using convis::test::random_tensor;

namespace {

// y[n,oh,ow,c*M+m] = b[c*M+m] + sum_{kh,kw} x[n, oh*SH+kh-pt, ow*SW+kw-pl, c] w[kh,kw,c,m], in double.
Tensor depthwise_ref(const Tensor& x, const Tensor& w, const Tensor* b, int SH, int SW, Padding p) {
  const int N = int(x.dim(0)), H = int(x.dim(1)), W = int(x.dim(2)), C = int(x.dim(3));
  const int KH = int(w.dim(0)), KW = int(w.dim(1)), M = int(w.dim(3));
  const AxisWindow ah = window_along_axis(H, KH, SH, p, "h"), aw = window_along_axis(W, KW, SW, p, "w");
  Tensor y(Shape{N, ah.out, aw.out, int64_t(C) * M});
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < ah.out; ++oh)
      for (int ow = 0; ow < aw.out; ++ow)
        for (int c = 0; c < C; ++c)
          for (int m = 0; m < M; ++m) {
            double acc = b ? (*b)[c * M + m] : 0.0;
            for (int kh = 0; kh < KH; ++kh)
              for (int kw = 0; kw < KW; ++kw) {
                const int ih = oh * SH + kh - ah.pad_before, iw = ow * SW + kw - aw.pad_before;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += double(x.at(n, ih, iw, c)) * w[((int64_t(kh) * KW + kw) * C + c) * M + m];
              }
            y.at(n, oh, ow, int64_t(c) * M + m) = float(acc);
          }
  return y;
}

// The same convolution as a conv2d with a block-diagonal kernel: W[kh,kw,c,c*M+m] = w[kh,kw,c,m].
Tensor as_dense_kernel(const Tensor& w) {
  const int64_t KH = w.dim(0), KW = w.dim(1), C = w.dim(2), M = w.dim(3);
  Tensor d = Tensor::zeros({KH, KW, C, C * M});
  for (int64_t t = 0; t < KH * KW; ++t)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t m = 0; m < M; ++m) d[(t * C + c) * C * M + c * M + m] = w[(t * C + c) * M + m];
  return d;
}

}  // namespace

TEST_CASE("depthwise_conv2d equals the loops of its formula and conv2d with a block-diagonal kernel") {
  struct Case { int N, H, W, C, KH, KW, M, SH, SW; Padding p; bool bias; };
  // C = 19 and 40: the 16-channel register blocks and their remainders; M = 2: Keras' c*M+m order.
  const Case cases[] = {
      {2, 9, 7, 19, 3, 3, 1, 2, 2, Padding::same, true},  {1, 8, 8, 40, 3, 3, 1, 1, 1, Padding::same, false},
      {2, 7, 6, 5, 3, 2, 2, 2, 1, Padding::valid, true},  {1, 11, 9, 16, 5, 5, 1, 2, 2, Padding::same, true},
      {1, 6, 5, 3, 1, 1, 3, 1, 1, Padding::valid, true},  {2, 4, 4, 17, 3, 3, 2, 1, 1, Padding::same, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.C); CAPTURE(c.M); CAPTURE(c.SH); CAPTURE(int(c.p));
    const Tensor x = random_tensor({c.N, c.H, c.W, c.C}, 41);
    const Tensor w = random_tensor({c.KH, c.KW, c.C, c.M}, 42);
    const Tensor b = random_tensor({int64_t(c.C) * c.M}, 43);
    const Var y = depthwise_conv2d(Var::constant(x), Var::constant(w), c.bias ? Var::constant(b) : Var(), c.SH, c.SW, c.p);
    const Tensor ref = depthwise_ref(x, w, c.bias ? &b : nullptr, c.SH, c.SW, c.p);
    CHECK(max_abs_diff(y.value(), ref) < 1e-5);
    const Var viaconv = conv2d(Var::constant(x), Var::constant(as_dense_kernel(w)), c.bias ? Var::constant(b) : Var(),
                               c.SH, c.SW, c.p);
    CHECK(max_abs_diff(y.value(), viaconv.value()) < 1e-5);
  }
}

TEST_CASE("depthwise_conv2d gradients equal conv2d's with the block-diagonal kernel, on the register-block path") {
  // dx and db of the two convolutions must agree; dw of the depthwise one is dW's block diagonal.
  const Tensor x = random_tensor({2, 9, 8, 19}, 44), w = random_tensor({3, 3, 19, 1}, 45), b = random_tensor({19}, 46);
  Var xd = Var::param(x), wd = Var::param(w), bd = Var::param(b);
  Var xc = Var::param(x), wc = Var::param(as_dense_kernel(w)), bc = Var::param(b);
  const Tensor R = random_tensor({2, 5, 4, 19}, 47);
  Tape::current().backward(depthwise_conv2d(xd, wd, bd, 2, 2, Padding::same), R);
  Tape::current().backward(conv2d(xc, wc, bc, 2, 2, Padding::same), R);
  CHECK(max_abs_diff(xd.grad(), xc.grad()) < 1e-4);
  CHECK(max_abs_diff(bd.grad(), bc.grad()) < 1e-4);
  double worst = 0.0;
  for (int64_t t = 0; t < 9; ++t)
    for (int64_t c = 0; c < 19; ++c)
      worst = std::max(worst, double(std::fabs(wd.grad()[t * 19 + c] - wc.grad()[(t * 19 + c) * 19 + c])));
  CHECK(worst < 1e-4);
}

TEST_CASE("gradcheck depthwise_conv2d: stride 2, same / valid, C=3, N=2, depth_multiplier 2, with and without bias") {
  struct Case { int N, H, W, C, KH, KW, M, SH, SW; Padding p; bool bias; };
  const Case cases[] = {
      {2, 7, 5, 3, 3, 3, 1, 1, 1, Padding::same, true},  {2, 7, 5, 3, 3, 3, 2, 2, 2, Padding::same, true},
      {1, 6, 6, 2, 3, 3, 2, 2, 2, Padding::valid, false}, {2, 8, 7, 3, 3, 2, 1, 2, 1, Padding::same, true},
      {1, 5, 7, 3, 5, 3, 2, 1, 2, Padding::valid, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.M); CAPTURE(c.SH); CAPTURE(c.SW); CAPTURE(int(c.p));
    Var x = Var::param(random_tensor({c.N, c.H, c.W, c.C}, 48));
    Var w = Var::param(random_tensor({c.KH, c.KW, c.C, c.M}, 49));
    Var b = Var::param(random_tensor({int64_t(c.C) * c.M}, 50));
    std::vector<Var> in{x, w};
    if (c.bias) in.push_back(b);
    check_gradients("depthwise_conv2d", [&](const std::vector<Var>& v) {
      return depthwise_conv2d(v[0], v[1], c.bias ? v[2] : Var(), c.SH, c.SW, c.p);
    }, in);
  }
}

TEST_CASE("depthwise filter gradient: the same bits on 1, 2 and 3 threads") {
  const DepthwiseShape s = make_depthwise_shape(3, 21, 13, 24, 3, 3, 2, 2, 2, Padding::same);
  const Tensor x = random_tensor({3, 21, 13, 24}, 51), dy = random_tensor({3, s.OH, s.OW, 48}, 52);
  std::vector<Tensor> dw;
  const int saved = num_threads();
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    Tensor g = Tensor::zeros({3, 3, 24, 2}), gb = Tensor::zeros({48});
    depthwise_conv2d_nhwc_bwd_filter(x.data(), dy.data(), g.data(), gb.data(), s);
    dw.push_back(g);
  }
  set_num_threads(saved);
  CHECK(test::same_bits(dw[0], dw[1]));
  CHECK(test::same_bits(dw[0], dw[2]));
  CHECK(test::contains(test::error_of([] { make_depthwise_shape(1, 2, 2, 3, 3, 3, 1, 1, 1, Padding::valid); }),
                       "does not fit"));
}

TEST_CASE("broadcasting merges: add, sub, mul, maximum and average against loops with clamped indices") {
  // (2,3,4,5) with (2,1,1,5) (a squeeze-and-excite scale) and (1,3,1,5) with (2,1,4,1).
  struct Pair { Shape a, b; };
  const Pair pairs[] = {{{2, 3, 4, 5}, {2, 1, 1, 5}}, {{1, 3, 1, 5}, {2, 1, 4, 1}}, {{2, 1, 4}, {2, 3, 4}},
                        {{3, 4}, {3, 4}}};
  for (const Pair& p : pairs) {
    CAPTURE(p.a.str()); CAPTURE(p.b.str());
    const Tensor a = random_tensor(p.a, 53), b = random_tensor(p.b, 54);
    const int r = p.a.rank();
    std::vector<int64_t> od;
    for (int k = 0; k < r; ++k) od.push_back(std::max(p.a[k], p.b[k]));
    const Shape out(od);
    auto at = [&](const Tensor& t, const Shape& s, int64_t flat) {  // t at the output index, size-1 axes held at 0
      int64_t idx = 0, rest = flat, stride = 1;
      for (int k = r - 1; k >= 0; --k) {
        const int64_t i = rest % out[k];
        rest /= out[k];
        idx += (s[k] == 1 ? 0 : i) * stride;
        stride *= s[k];
      }
      return t[idx];
    };
    const Var va = Var::constant(a), vb = Var::constant(b);
    const Tensor ys[5] = {add(va, vb).value(), sub(va, vb).value(), mul(va, vb).value(), maximum(va, vb).value(),
                          average({va, vb, va}).value()};
    for (const Tensor& y : ys) REQUIRE(y.shape() == out);
    for (int64_t i = 0; i < out.numel(); ++i) {
      const float x = at(a, p.a, i), z = at(b, p.b, i);
      CHECK(ys[0][i] == doctest::Approx(x + z));
      CHECK(ys[1][i] == doctest::Approx(x - z));
      CHECK(ys[2][i] == doctest::Approx(x * z));
      CHECK(ys[3][i] == std::max(x, z));
      CHECK(ys[4][i] == doctest::Approx((2 * x + z) / 3).epsilon(1e-5));
    }
  }
  CHECK(test::error_of([] { add(Var::constant(Tensor::zeros({2, 3})), Var::constant(Tensor::zeros({2, 2}))); }) ==
        "add: shapes (2, 3) and (2, 2) do not match");
}

TEST_CASE("gradcheck broadcasting merges on both sides") {
  Var a = Var::param(distinct_values({2, 3, 4, 5}, 55, 0.05f));
  Var s = Var::param(random_tensor({2, 1, 1, 5}, 56, 0.2f, 1.2f));
  Var r = Var::param(random_tensor({1, 3, 1, 5}, 57));
  Var q = Var::param(random_tensor({2, 1, 4, 1}, 58));
  check_gradients("add (2,3,4,5) + (2,1,1,5)", [](const std::vector<Var>& v) { return add(v[0], v[1]); }, {a, s});
  check_gradients("sub (2,1,1,5) - (2,3,4,5)", [](const std::vector<Var>& v) { return sub(v[1], v[0]); }, {a, s});
  check_gradients("mul (2,3,4,5) * (2,1,1,5)", [](const std::vector<Var>& v) { return mul(v[0], v[1]); }, {a, s});
  check_gradients("mul (1,3,1,5) * (2,1,4,1)", [](const std::vector<Var>& v) { return mul(v[0], v[1]); }, {r, q});
  check_gradients("average of three", [](const std::vector<Var>& v) { return average({v[0], v[1], v[0]}); }, {r, q});
  // maximum: distinct values, so no step crosses a tie
  Var m1 = Var::param(distinct_values({2, 3, 5}, 59, 0.1f)), m2 = Var::param(distinct_values({2, 3, 5}, 60, 0.1f));
  for (int64_t i = 0; i < m2.value().numel(); ++i) m2.value()[i] += 0.05f;
  check_gradients("maximum", [](const std::vector<Var>& v) { return maximum(v[0], v[1]); }, {m1, m2});
  Var m3 = Var::param(distinct_values({2, 1, 5}, 61, 0.1f));
  for (int64_t i = 0; i < m3.value().numel(); ++i) m3.value()[i] += 0.025f;
  check_gradients("maximum broadcast", [](const std::vector<Var>& v) { return maximum(v[0], v[1]); }, {m1, m3});
}

TEST_CASE("maximum: a tie's gradient goes to the first input") {
  Var a = Var::param(Tensor::from(Shape{3}, {1.f, 2.f, 5.f})), b = Var::param(Tensor::from(Shape{3}, {1.f, 3.f, 4.f}));
  Tape::current().backward(sum(maximum(a, b)));
  CHECK(a.grad().to_vector() == std::vector<float>{1.f, 0.f, 1.f});
  CHECK(b.grad().to_vector() == std::vector<float>{0.f, 1.f, 0.f});
}

TEST_CASE("batch_norm_inference on axes 1, 2 and -1 equals its formula, and gradchecks on axis 1") {
  const Tensor x = random_tensor({2, 3, 5, 4}, 62);
  for (int axis : {1, 2, 3, -1, -3}) {
    CAPTURE(axis);
    const int a = axis < 0 ? axis + 4 : axis;
    const int64_t C = x.dim(a);
    const Tensor g = random_tensor({C}, 63, 0.5f, 1.5f), be = random_tensor({C}, 64), mu = random_tensor({C}, 65),
                 var = random_tensor({C}, 66, 0.5f, 1.5f);
    const Var y = batch_norm_inference(Var::constant(x), Var::constant(g), Var::constant(be), Var::constant(mu),
                                       Var::constant(var), 1e-3f, axis);
    double worst = 0.0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t rest = i;
      for (int k = 3; k > a; --k) rest /= x.dim(k);
      const int64_t c = rest % C;
      const double want = (double(x[i]) - mu[c]) / std::sqrt(double(var[c]) + 1e-3) * g[c] + be[c];
      worst = std::max(worst, std::fabs(want - y.value()[i]));
    }
    CHECK(worst < 1e-5);
  }
  Var xi = Var::param(x);
  Var gamma = Var::param(random_tensor({3}, 67, 0.5f, 1.5f)), beta = Var::param(random_tensor({3}, 68));
  Var mu = Var::param(random_tensor({3}, 69)), var = Var::param(random_tensor({3}, 70, 0.5f, 1.5f));
  check_gradients("batch_norm_inference axis 1", [](const std::vector<Var>& v) {
    return batch_norm_inference(v[0], v[1], v[2], v[3], v[4], 1e-3f, 1);
  }, {xi, gamma, beta, mu, var}, 1e-3, 2e-3, 2e-2);
  CHECK(test::contains(test::error_of([&] {
    batch_norm_inference(Var::constant(x), gamma, beta, mu, var, 1e-3f, 2);
  }), "batch_norm: gamma has shape (3,), input (2, 3, 5, 4) on axis 2 expects (5,)"));
  CHECK(test::contains(test::error_of([&] {
    batch_norm_inference(Var::constant(x), gamma, beta, mu, var, 1e-3f, 4);
  }), "axis 4 is out of range"));
}

TEST_CASE("normalize_inference: Keras' Normalization, (x - mean) / max(sqrt(var), 1e-7), per channel or one for all") {
  const Tensor x = random_tensor({2, 3, 4}, 71);
  const Tensor mean = Tensor::from(Shape{4}, {0.5f, -1.f, 0.f, 2.f}), var = Tensor::from(Shape{4}, {4.f, 0.25f, 0.f, 1e-16f});
  const Var y = normalize_inference(Var::constant(x), Var::constant(mean), Var::constant(var));
  // channel 2: var 0, channel 3: sqrt(1e-16) = 1e-8: both floored at 1e-7
  const double sd[4] = {2.0, 0.5, 1e-7, 1e-7};
  for (int64_t i = 0; i < x.numel(); ++i)
    CHECK(y.value()[i] == doctest::Approx((x[i] - mean[i % 4]) / sd[i % 4]).epsilon(1e-5));
  const Var one = normalize_inference(Var::constant(x), Var::constant(Tensor::from(Shape{1}, {1.f})),
                                      Var::constant(Tensor::from(Shape{1}, {9.f})));
  for (int64_t i = 0; i < x.numel(); ++i) CHECK(one.value()[i] == doctest::Approx((x[i] - 1.f) / 3.f));
  Var xv = Var::param(x), m = Var::param(random_tensor({4}, 72)), v = Var::param(random_tensor({4}, 73, 0.5f, 2.f));
  check_gradients("normalize_inference", [](const std::vector<Var>& in) { return normalize_inference(in[0], in[1], in[2]); },
                  {xv, m, v}, 1e-3, 2e-3, 2e-2);
  Var m1 = Var::param(Tensor::from(Shape{1}, {0.3f})), v1 = Var::param(Tensor::from(Shape{1}, {1.7f}));
  check_gradients("normalize_inference (1)", [](const std::vector<Var>& in) { return normalize_inference(in[0], in[1], in[2]); },
                  {xv, m1, v1}, 1e-3, 2e-3, 2e-2);
  CHECK(test::contains(test::error_of([&] { normalize_inference(xv, Var::constant(Tensor::zeros({3})), v); }),
                       "do not fit input (2, 3, 4)"));
}
