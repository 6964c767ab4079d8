// The graph models' activations (kernels/activation.h): values and derivatives worked out by hand
// (or with Python's math module) at a few points each, the kinks included, then central-difference
// gradient checks on random inputs and the guided mode of the ReLU layer.
#include <cmath>
#include <functional>
#include <limits>

#include "tests/util.h"

using namespace convis;
using convis::test::check_gradients;
using convis::test::random_tensor;

namespace {

struct Point {
  float x, y, dydx;  // f(x) and f'(x), the one-sided derivative kernels/activation.h names at a kink
};

void check_points(const char* what, const std::function<Var(const Var&)>& f, const std::vector<Point>& pts,
                  double tol = 1e-6) {
  std::vector<float> xs;
  for (const Point& p : pts) xs.push_back(p.x);
  Var x = Var::param(Tensor::from(Shape{int64_t(xs.size())}, xs));
  Var y = f(x);
  Tape::current().backward(sum(y));
  for (size_t i = 0; i < pts.size(); ++i) {
    CAPTURE(what);
    CAPTURE(pts[i].x);
    CHECK(y.value()[int64_t(i)] == doctest::Approx(pts[i].y).epsilon(tol).scale(1.0));
    CHECK(x.grad()[int64_t(i)] == doctest::Approx(pts[i].dydx).epsilon(tol).scale(1.0));
  }
}

const float kInf = std::numeric_limits<float>::infinity();

}  // namespace

TEST_CASE("ReLU layer: max_value, threshold and negative_slope at and between their kinks") {
  // ReLU(max_value=6): MobileNetV2's ReLU6. f' = 1 on (0, 6) only.
  check_points("relu6", [](const Var& v) { return relu6(v); },
               {{-1.f, 0.f, 0.f}, {0.f, 0.f, 0.f}, {3.f, 3.f, 1.f}, {6.f, 6.f, 0.f}, {7.f, 6.f, 0.f}});
  check_points("relu_layer(6, 0, 0)", [](const Var& v) { return relu_layer(v, 6.f, 0.f, 0.f); },
               {{-1.f, 0.f, 0.f}, {5.5f, 5.5f, 1.f}, {6.5f, 6.f, 0.f}});
  // negative_slope 0.1, no cap: a leaky ReLU.
  check_points("relu_layer(inf, 0, 0.1)", [](const Var& v) { return relu_layer(v, kInf, 0.f, 0.1f); },
               {{-2.f, -0.2f, 0.1f}, {0.f, 0.f, 0.1f}, {2.f, 2.f, 1.f}, {1e6f, 1e6f, 1.f}});
  // All three: below the threshold 1 the slope 0.5 runs from (1, 0); capped at 5. At the
  // threshold itself Keras' backend.relu gives 0 (x * [x > threshold], then the negative part).
  check_points("relu_layer(5, 1, 0.5)", [](const Var& v) { return relu_layer(v, 5.f, 1.f, 0.5f); },
               {{0.f, -0.5f, 0.5f}, {0.5f, -0.25f, 0.5f}, {1.f, 0.f, 0.5f}, {4.f, 4.f, 1.f}, {5.f, 5.f, 0.f},
                {9.f, 5.f, 0.f}});
  // A threshold with no slope: values up to and at it are 0 (Keras: x * [x > threshold]).
  check_points("relu_layer(inf, 2, 0)", [](const Var& v) { return relu_layer(v, kInf, 2.f, 0.f); },
               {{1.f, 0.f, 0.f}, {2.f, 0.f, 0.f}, {3.f, 3.f, 1.f}});
  CHECK(test::contains(test::error_of([] { relu_layer(Var::constant(Tensor::zeros({2})), -1.f, 0.f, 0.f); }),
                       "relu_layer: max_value"));
}

TEST_CASE("swish, hard_sigmoid and hard_swish at hand-computed points") {
  // swish(x) = x sigmoid(x); sigmoid(1) = 0.7310585786, sigmoid(-2) = 0.1192029220
  check_points("swish", [](const Var& v) { return swish(v); },
               {{0.f, 0.f, 0.5f}, {1.f, 0.7310585786f, 0.9276705119f}, {-2.f, -0.2384058440f, -0.0907842488f}});
  // Keras 3: relu6(x + 3) / 6. Flat outside (-3, 3), slope 1/6 inside.
  check_points("hard_sigmoid", [](const Var& v) { return hard_sigmoid(v); },
               {{-4.f, 0.f, 0.f}, {-3.f, 0.f, 0.f}, {-1.5f, 0.25f, 1.f / 6}, {0.f, 0.5f, 1.f / 6}, {3.f, 1.f, 0.f},
                {4.f, 1.f, 0.f}});
  // x relu6(x + 3) / 6: 0 below -3, x above 3, x (x + 3) / 6 between with slope (2x + 3) / 6.
  check_points("hard_swish", [](const Var& v) { return hard_swish(v); },
               {{-4.f, 0.f, 0.f}, {-3.f, 0.f, 0.f}, {-1.f, -1.f / 3, 1.f / 6}, {1.f, 2.f / 3, 5.f / 6},
                {3.f, 3.f, 1.f}, {5.f, 5.f, 1.f}});
}

TEST_CASE("elu, selu, gelu and softplus at hand-computed points") {
  // elu(-1) = e^-1 - 1, elu'(-1) = e^-1 = 0.3678794412; smooth at 0 with alpha 1
  check_points("elu", [](const Var& v) { return elu(v); },
               {{-1.f, -0.6321205588f, 0.3678794412f}, {0.f, 0.f, 1.f}, {2.f, 2.f, 1.f}});
  check_points("elu alpha 0.5", [](const Var& v) { return elu(v, 0.5f); }, {{-1.f, -0.3160602794f, 0.1839397206f}});
  // selu: scale 1.0507009874, scale * alpha = 1.7580993408; at 0 the right-hand slope (TensorFlow's)
  check_points("selu", [](const Var& v) { return selu(v); },
               {{-1.f, -1.1113307378f, 0.6467686030f}, {0.f, 0.f, 1.0507009874f}, {2.f, 2.1014019747f, 1.0507009874f}});
  // exact gelu: x Phi(x); gelu'(x) = Phi(x) + x phi(x), Phi(1) = 0.8413447461, phi(1) = 0.2419707245
  check_points("gelu", [](const Var& v) { return gelu(v); },
               {{1.f, 0.8413447461f, 1.0833154706f}, {-1.f, -0.1586552539f, -0.0833154706f}, {2.f, 1.9544997361f,
                1.0852318011f}, {0.f, 0.f, 0.5f}}, 2e-6);
  check_points("gelu tanh", [](const Var& v) { return gelu(v, true); },
               {{1.f, 0.8411919906f, 1.0829640838f}, {-1.f, -0.1588080094f, -0.0829640838f},
                {2.f, 1.9545976941f, 1.0860992566f}, {-0.5f, -0.1542859902f, 0.1326300965f}}, 2e-6);
  // softplus = log(1 + e^x), stable for large |x|; its derivative is the sigmoid
  check_points("softplus", [](const Var& v) { return softplus(v); },
               {{0.f, 0.6931471806f, 0.5f}, {1.f, 1.3132616875f, 0.7310585786f}, {-1.f, 0.3132616875f, 0.2689414214f},
                {100.f, 100.f, 1.f}, {-100.f, 0.f, 0.f}});
}

TEST_CASE("gradcheck the graph models' activations on random inputs") {
  Var x = Var::param(random_tensor({2, 3, 5, 3}, 31, -7.f, 7.f));
  Var small = Var::param(random_tensor({2, 3, 5, 3}, 32, -4.f, 4.f));
  check_gradients("relu6", [](const std::vector<Var>& v) { return relu6(v[0]); }, {x});
  check_gradients("relu_layer(5, 1, 0.3)", [](const std::vector<Var>& v) { return relu_layer(v[0], 5.f, 1.f, 0.3f); },
                  {x});
  check_gradients("swish", [](const std::vector<Var>& v) { return swish(v[0]); }, {small});
  check_gradients("hard_sigmoid", [](const std::vector<Var>& v) { return hard_sigmoid(v[0]); }, {small});
  check_gradients("hard_swish", [](const std::vector<Var>& v) { return hard_swish(v[0]); }, {small});
  check_gradients("elu", [](const std::vector<Var>& v) { return elu(v[0], 0.7f); }, {small});
  check_gradients("selu", [](const std::vector<Var>& v) { return selu(v[0]); }, {small});
  check_gradients("gelu", [](const std::vector<Var>& v) { return gelu(v[0]); }, {small});
  check_gradients("gelu tanh", [](const std::vector<Var>& v) { return gelu(v[0], true); }, {small});
  check_gradients("softplus", [](const std::vector<Var>& v) { return softplus(v[0]); }, {x});
}

TEST_CASE("guided backprop through the ReLU layer: positive gradients where the unit was on") {
  Var x = Var::param(Tensor::from(Shape{5}, {-1.f, 2.f, 3.f, 7.f, 4.f}));
  const Tensor g = Tensor::from(Shape{5}, {1.f, 1.f, -1.f, 1.f, 0.5f});
  {
    GuidedRelu guided;
    Tape::current().backward(relu_layer(x, 6.f, 0.f, 0.2f), g);
  }
  // -1: below the threshold (its slope is dropped); 3: negative gradient; 7: capped.
  const float want[5] = {0.f, 1.f, 0.f, 0.f, 0.5f};
  for (int i = 0; i < 5; ++i) CHECK(x.grad()[i] == want[i]);
}
