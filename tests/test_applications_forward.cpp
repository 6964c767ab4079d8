// The keras.applications architectures (engine/applications.h) run forward, layer by layer,
// against an independent evaluator (tests/graph_reference.h: naive loops in double, none of the
// engine's kernels), on random weights and random BatchNormalization statistics.
#include <algorithm>
#include <cmath>

#include "engine/applications.h"
#include "tests/graph_reference.h"
#include "tests/util.h"

using namespace convis;
using convis::test::random_tensor;

namespace {

// He-normal kernels (init_he_normal), then random biases and BatchNormalization statistics, so
// that no term of any layer is trivially zero or one.
void randomize(Model& m, uint32_t seed) {
  init_he_normal(m, seed);
  uint32_t k = seed * 7919u;
  for (Layer& l : m.layers)
    for (size_t i = 0; i < l.weights.size(); ++i) {
      const std::string& n = l.weight_names[i];
      if (n == "kernel:0" || n == "depthwise_kernel:0" || n == "pointwise_kernel:0") continue;
      const bool positive = n == "gamma:0" || n == "moving_variance:0";
      Tensor& t = l.weights[i].value();
      t = random_tensor(t.shape(), ++k, positive ? 0.5f : -0.3f, positive ? 1.5f : 0.3f);
    }
  m.set_trainable(false);
}

}  // namespace

TEST_CASE("applications: every layer of the five architectures agrees with a naive evaluator") {
  struct Case {
    const char* arch;
    int size;  // the smallest inputs keras.applications accepts, or near: the test stays fast
  };
  for (const Case c : {Case{"resnet50", 64}, Case{"mobilenet_v2", 96}, Case{"densenet121", 64},
                       Case{"inception_v3", 75}, Case{"xception", 71}}) {
    const std::string arch = c.arch;
    CAPTURE(arch);
    Model m = application(c.arch, false);
    m.build(c.size, c.size);
    randomize(m, 3);
    const Tensor x = random_tensor({1, c.size, c.size, 3}, 5);
    std::vector<Tensor> outs(m.layers.size());
    {
      NoGrad no_grad;
      m.forward(Var::constant(x), -1, false, [&](int i, Var& out) { outs[size_t(i)] = out.value(); });
    }
    int checked = 0;
    double worst = 0.0;
    std::string worst_layer;
    for (size_t i = 1; i < m.layers.size(); ++i) {
      std::vector<Tensor> in;
      for (int j : m.inputs_of(int(i))) in.push_back(outs[size_t(j)]);
      const Tensor want = test::reference_layer(m, int(i), in);
      const Tensor& got = outs[i];
      REQUIRE(got.shape() == want.shape());
      double scale = 0.0, diff = 0.0;
      for (int64_t k = 0; k < want.numel(); ++k) {
        scale = std::max(scale, double(std::fabs(want[k])));
        diff = std::max(diff, double(std::fabs(want[k] - got[k])));
      }
      const double rel = diff / std::max(scale, 1e-30);
      if (rel > worst) worst = rel, worst_layer = m.layers[i].name;
      CHECK_MESSAGE(rel <= 1e-5, m.layers[i].name << " (" << m.layers[i].class_name << "): max |diff| " << diff
                                                   << " against max |value| " << scale);
      ++checked;
    }
    MESSAGE(std::string(c.arch) << ": " << checked << " layers, worst relative difference " << worst << " at " << worst_layer);
  }
}

TEST_CASE("applications: with the top each architecture gives 1000 probabilities at its own size") {
  for (const std::string arch : {"resnet50", "mobilenet_v2", "densenet121", "inception_v3", "xception"}) {
    CAPTURE(arch);
    Model m = application(arch, true);
    m.build();
    randomize(m, 4);
    const int s = application_info(arch).input_size;
    NoGrad no_grad;
    const Tensor p = m.forward(Var::constant(random_tensor({1, s, s, 3}, 6))).value();
    REQUIRE(p.shape() == Shape{1, 1000});
    double sum = 0.0;
    for (int64_t k = 0; k < p.numel(); ++k) {
      CHECK(p[k] >= 0.f);
      sum += p[k];
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
}
