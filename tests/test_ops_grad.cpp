// Central-difference gradient checks for every differentiable op, with respect to every input
// and parameter, on small odd shapes (stride 2, padding, C=3, N=2).
#include "tests/util.h"

using namespace convis;
using convis::test::away_from_zero;
using convis::test::check_gradients;
using convis::test::distinct_values;
using convis::test::random_tensor;

TEST_CASE("gradcheck conv2d: every kernel size / stride / padding / input / kernel and bias") {
  struct Case { int N, H, W, C, K, OC, S; Padding p; bool bias; };
  const Case cases[] = {
      {2, 7, 5, 3, 3, 4, 1, Padding::same, true},   {2, 7, 5, 3, 3, 4, 2, Padding::same, true},
      {1, 6, 6, 2, 3, 3, 2, Padding::same, false},  {2, 7, 5, 3, 3, 2, 2, Padding::valid, true},
      {1, 5, 7, 3, 1, 4, 1, Padding::valid, true},  {1, 8, 7, 2, 5, 2, 2, Padding::same, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.K); CAPTURE(c.S); CAPTURE(int(c.p)); CAPTURE(c.H); CAPTURE(c.W);
    Var x = Var::param(random_tensor({c.N, c.H, c.W, c.C}, 1));
    Var w = Var::param(random_tensor({c.K, c.K, c.C, c.OC}, 2));
    Var b = c.bias ? Var::param(random_tensor({c.OC}, 3)) : Var();
    std::vector<Var> in{x, w};
    if (c.bias) in.push_back(b);
    check_gradients("conv2d", [&](const std::vector<Var>& v) {
      return conv2d(v[0], v[1], c.bias ? v[2] : Var(), c.S, c.S, c.p);
    }, in);
  }
}

TEST_CASE("conv2d with fused ReLU equals relu(conv2d) / values and gradients") {
  Var x = Var::param(random_tensor({2, 7, 5, 3}, 4));
  Var w = Var::param(random_tensor({3, 3, 3, 5}, 5));
  Var b = Var::param(random_tensor({5}, 6));
  Var y1 = conv2d(x, w, b, 2, 1, Padding::same, true);
  Tape::current().backward(sum(y1));
  const Tensor gx1 = x.grad().clone(), gw1 = w.grad().clone(), gb1 = b.grad().clone();
  x.zero_grad(); w.zero_grad(); b.zero_grad();
  Var y2 = relu(conv2d(x, w, b, 2, 1, Padding::same));
  Tape::current().backward(sum(y2));
  for (int64_t i = 0; i < y1.value().numel(); ++i) REQUIRE(y1.value()[i] == y2.value()[i]);
  for (int64_t i = 0; i < gx1.numel(); ++i) REQUIRE(gx1[i] == doctest::Approx(x.grad()[i]).epsilon(1e-5));
  for (int64_t i = 0; i < gw1.numel(); ++i) REQUIRE(gw1[i] == doctest::Approx(w.grad()[i]).epsilon(1e-5));
  for (int64_t i = 0; i < gb1.numel(); ++i) REQUIRE(gb1[i] == doctest::Approx(b.grad()[i]).epsilon(1e-5));
}

TEST_CASE("gradcheck pooling") {
  Var x = Var::param(distinct_values({2, 7, 5, 3}, 7));
  check_gradients("max_pool2d 2x2/2 valid", [](const std::vector<Var>& v) {
    return max_pool2d(v[0], 2, 2, 2, 2, Padding::valid); }, {x});
  check_gradients("max_pool2d 2x2/2 same", [](const std::vector<Var>& v) {
    return max_pool2d(v[0], 2, 2, 2, 2, Padding::same); }, {x});
  check_gradients("max_pool2d 3x3/2 same (overlapping)", [](const std::vector<Var>& v) {
    return max_pool2d(v[0], 3, 3, 2, 2, Padding::same); }, {x});
  check_gradients("avg_pool2d 2x2/2 same", [](const std::vector<Var>& v) {
    return avg_pool2d(v[0], 2, 2, 2, 2, Padding::same); }, {x});
  check_gradients("avg_pool2d 3x3/1 same", [](const std::vector<Var>& v) {
    return avg_pool2d(v[0], 3, 3, 1, 1, Padding::same); }, {x});
  check_gradients("global_avg_pool2d", [](const std::vector<Var>& v) { return global_avg_pool2d(v[0]); }, {x});
  check_gradients("global_max_pool2d", [](const std::vector<Var>& v) { return global_max_pool2d(v[0]); }, {x});
}

TEST_CASE("gradcheck dense and batch norm") {
  Var x = Var::param(random_tensor({3, 7}, 8));
  Var w = Var::param(random_tensor({7, 5}, 9));
  Var b = Var::param(random_tensor({5}, 10));
  check_gradients("dense", [](const std::vector<Var>& v) { return dense(v[0], v[1], v[2]); }, {x, w, b});
  check_gradients("dense no bias", [](const std::vector<Var>& v) { return dense(v[0], v[1], Var()); }, {x, w});

  Var xi = Var::param(random_tensor({2, 3, 5, 4}, 11));
  Var gamma = Var::param(random_tensor({4}, 12, 0.5f, 1.5f));
  Var beta = Var::param(random_tensor({4}, 13));
  Var mu = Var::param(random_tensor({4}, 14));
  Var var = Var::param(random_tensor({4}, 15, 0.5f, 1.5f));
  check_gradients("batch_norm_inference", [](const std::vector<Var>& v) {
    return batch_norm_inference(v[0], v[1], v[2], v[3], v[4], 1e-3f);
  }, {xi, gamma, beta, mu, var}, 1e-3, 2e-3, 2e-2);
}

TEST_CASE("gradcheck element-wise ops") {
  Var x = Var::param(away_from_zero({2, 3, 5, 3}, 16));
  Var y = Var::param(random_tensor({2, 3, 5, 3}, 17));
  check_gradients("relu", [](const std::vector<Var>& v) { return relu(v[0]); }, {x});
  check_gradients("leaky_relu", [](const std::vector<Var>& v) { return leaky_relu(v[0], 0.1f); }, {x});
  check_gradients("sigmoid", [](const std::vector<Var>& v) { return sigmoid(v[0]); }, {y});
  check_gradients("tanh", [](const std::vector<Var>& v) { return convis::tanh(v[0]); }, {y});
  check_gradients("add", [](const std::vector<Var>& v) { return add(v[0], v[1]); }, {x, y});
  check_gradients("sub", [](const std::vector<Var>& v) { return sub(v[0], v[1]); }, {x, y});
  check_gradients("mul", [](const std::vector<Var>& v) { return mul(v[0], v[1]); }, {x, y});
  check_gradients("mul(x, x)", [](const std::vector<Var>& v) { return mul(v[0], v[0]); }, {y});
  check_gradients("add_scalar", [](const std::vector<Var>& v) { return add_scalar(v[0], 2.5f); }, {y});
  check_gradients("mul_scalar", [](const std::vector<Var>& v) { return mul_scalar(v[0], -1.5f); }, {y});
}

TEST_CASE("gradcheck shapes and reductions") {
  Var x = Var::param(random_tensor({2, 3, 5, 3}, 18));
  check_gradients("flatten", [](const std::vector<Var>& v) { return flatten(v[0]); }, {x});
  check_gradients("reshape", [](const std::vector<Var>& v) { return reshape(v[0], Shape{6, 15}); }, {x});
  check_gradients("sum", [](const std::vector<Var>& v) { return sum(v[0]); }, {x});
  check_gradients("mean", [](const std::vector<Var>& v) { return mean(v[0]); }, {x});
  check_gradients("sum over (1,2)", [](const std::vector<Var>& v) { return sum(v[0], {1, 2}); }, {x});
  check_gradients("mean over (0,-1) keepdims", [](const std::vector<Var>& v) {
    return mean(v[0], {0, -1}, true); }, {x});
  check_gradients("channel 2", [](const std::vector<Var>& v) { return channel(v[0], 2); }, {x});
  check_gradients("l2_norm", [](const std::vector<Var>& v) { return l2_norm(v[0]); }, {x});
}

TEST_CASE("gradcheck softmax / log-softmax and cross-entropy") {
  Var z = Var::param(random_tensor({3, 5}, 19, -2.f, 2.f));
  check_gradients("softmax", [](const std::vector<Var>& v) { return softmax(v[0]); }, {z}, 1e-2, 1e-3, 1e-2);
  check_gradients("log_softmax", [](const std::vector<Var>& v) { return log_softmax(v[0]); }, {z});
  check_gradients("sparse_categorical_crossentropy", [](const std::vector<Var>& v) {
    return sparse_categorical_crossentropy(v[0], {4, 0, 2}); }, {z});
}

TEST_CASE("gradcheck a small CNN end to end: conv-relu-pool-conv-flatten-dense-CE") {
  Var x = Var::param(random_tensor({2, 9, 7, 3}, 20));
  Var w1 = Var::param(random_tensor({3, 3, 3, 4}, 21, -0.5f, 0.5f));
  Var b1 = Var::param(random_tensor({4}, 22, 0.1f, 0.3f));
  Var w2 = Var::param(random_tensor({3, 3, 4, 3}, 23, -0.5f, 0.5f));
  Var wd = Var::param(random_tensor({1 * 1 * 3, 4}, 24));
  check_gradients("small cnn", [](const std::vector<Var>& v) {
    Var h = max_pool2d(conv2d(v[0], v[1], v[2], 1, 1, Padding::same, true), 2, 2, 2, 2, Padding::valid);
    Var g = conv2d(h, v[3], Var(), 2, 2, Padding::valid);
    return sparse_categorical_crossentropy(dense(flatten(g), v[4], Var()), {1, 3});
  }, {x, w1, b1, w2, wd}, 1e-3, 2e-3, 2e-2, 0.15);  // a kernel weight moves every pooling window
}
