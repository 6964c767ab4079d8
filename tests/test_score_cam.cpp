// Score-CAM (vis/attribution.h, score_cam) against naive loops written here: each channel's mask
// built by hand, each masked copy scored alone, the softmax and the weighted sum; its defining
// property (the weights are the softmax of the score increases over a baseline); the result does
// not depend on the batch size; and vis_tool saliency --method scorecam --npy.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/model_io.h"
#include "engine/npy.h"
#include "tests/attribution_models.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/png.h"

using namespace convis;

namespace {

struct Reference {
  std::vector<double> scores, weights, cam;
};

// Score-CAM at a layer of the input's size (no upsampling: the mask is the channel itself).
Reference score_cam_by_hand(const Model& m, const Tensor& x, int layer, int cls) {
  Tensor A;
  {
    NoGrad no_grad;
    A = m.forward(Var::constant(x), layer).value();
  }
  const int64_t hw = A.dim(1) * A.dim(2), K = A.dim(3), C = x.dim(3);
  REQUIRE(A.dim(1) == x.dim(1));
  REQUIRE(A.dim(2) == x.dim(2));
  Reference r;
  for (int64_t k = 0; k < K; ++k) {
    double lo = 1e300, hi = -1e300;
    for (int64_t p = 0; p < hw; ++p) lo = std::min(lo, double(A[p * K + k])), hi = std::max(hi, double(A[p * K + k]));
    Tensor copy = x.clone();
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t c = 0; c < C; ++c) copy[p * C + c] *= float(hi > lo ? (A[p * K + k] - lo) / (hi - lo) : 0.0);
    r.scores.push_back(test::score(m, copy, cls));
  }
  double top = *std::max_element(r.scores.begin(), r.scores.end()), total = 0.0;
  for (double s : r.scores) total += std::exp(s - top);
  for (double s : r.scores) r.weights.push_back(std::exp(s - top) / total);
  for (int64_t p = 0; p < hw; ++p) {
    double v = 0.0;
    for (int64_t k = 0; k < K; ++k) v += r.weights[size_t(k)] * A[p * K + k];
    r.cam.push_back(std::max(v, 0.0));
  }
  return r;
}

}  // namespace

TEST_CASE("Score-CAM: the masked copies scored one by one, their softmax and the weighted channels") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 31, 0.f, 1.f);
  for (const int layer : {m.layer_index("conv2d_1"), m.layer_index("leaky_re_lu_1")}) {
    for (const int cls : {0, 4}) {
      CAPTURE(layer);
      CAPTURE(cls);
      const Reference ref = score_cam_by_hand(m, x, layer, cls);
      Tensor w, s;
      const Tensor cam = score_cam(m, x, cls, layer, 3, {}, &w, &s);
      REQUIRE(w.numel() == 4);
      for (int k = 0; k < 4; ++k) {
        CHECK(s[k] == doctest::Approx(ref.scores[size_t(k)]).epsilon(1e-5).scale(1e-5));
        CHECK(w[k] == doctest::Approx(ref.weights[size_t(k)]).epsilon(1e-5).scale(1e-6));
      }
      double peak = 0.0;
      for (double v : ref.cam) peak = std::max(peak, v);
      CHECK(peak > 0.0);
      for (int64_t p = 0; p < 80; ++p) CHECK(cam[p] == doctest::Approx(ref.cam[size_t(p)]).epsilon(1e-5).scale(1e-6 * peak));
      // The weights are the softmax of the score increases over the black baseline, too:
      // w_k = exp(s_k - s_0) / sum_j exp(s_j - s_0).
      const double base = test::score(m, Tensor::zeros(x.shape()), cls);
      double total = 0.0;
      for (int k = 0; k < 4; ++k) total += std::exp(double(s[k]) - base);
      for (int k = 0; k < 4; ++k) CHECK(w[k] == doctest::Approx(std::exp(double(s[k]) - base) / total).epsilon(1e-5));
    }
  }
}

TEST_CASE("Score-CAM: the batch size changes nothing, progress counts the channels, upsampled masks") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 32, 0.f, 1.f);
  const int layer = m.layer_index("conv2d_2");  // 4x5x6: masks upsampled to 8x10
  std::vector<int64_t> reports;
  Tensor w1;
  const Tensor one = score_cam(m, x, 2, layer, 1, [&](int64_t done, int64_t total) {
    CHECK(total == 6);
    reports.push_back(done);
  }, &w1);
  CHECK(reports == std::vector<int64_t>({1, 2, 3, 4, 5, 6}));
  for (const int batch : {4, 6, 100}) {
    CAPTURE(batch);
    Tensor w;
    const Tensor cam = score_cam(m, x, 2, layer, batch, {}, &w);
    CHECK(test::max_abs_diff(cam, one) < 1e-6);
    CHECK(test::max_abs_diff(w, w1) < 1e-7);
  }
  // Channel 0's masked copy, built here with the library's upsampling, scores what score_cam says.
  Tensor A, s;
  {
    NoGrad no_grad;
    A = m.forward(Var::constant(x), layer).value();
  }
  score_cam(m, x, 2, layer, 2, {}, nullptr, &s);
  Tensor channel(Shape{4, 5});
  for (int64_t p = 0; p < 20; ++p) channel[p] = A[p * 6];
  const Tensor up = upsample_bilinear(channel, 8, 10);
  const auto [lo, hi] = std::minmax_element(up.data(), up.data() + 80);
  Tensor copy = x.clone();
  for (int64_t p = 0; p < 80; ++p)
    for (int c = 0; c < 3; ++c) copy[p * 3 + c] *= (up[p] - *lo) / (*hi - *lo);
  CHECK(s[0] == doctest::Approx(test::score(m, copy, 2)).epsilon(1e-5));
  CHECK(test::contains(test::error_of([&] { score_cam(m, x, 2, layer, 0); }), "batch is 0, expected >= 1"));
}

TEST_CASE("saliency --method scorecam --npy: the CAM and the softmax weights, any --batch") {
  test::Dir d("score_cam");
  const std::string W = d / "tiny.h5", I = d / "pic.png", out = d / "out";
  const Model m = test::tiny_darknet();
  save_model(m, W, KerasLayout::model);
  Canvas c(10, 8, {30, 160, 90});
  c.fill_rect(2, 2, 5, 4, {220, 40, 30});
  write_png(c, I);
  const test::CliResult r = test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--class", "1", "--method",
                                                "scorecam", "--batch", "3", "--npy", "--out", out});
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  const std::string base = out + "/pic_scorecam_1";
  const Tensor cam = read_npy(base + "_cam.npy"), w = read_npy(base + "_weights.npy");
  REQUIRE(cam.shape() == Shape({8, 10}));  // the default layer, leaky_re_lu_1
  REQUIRE(w.shape() == Shape({4}));
  double sum = 0.0;
  for (int k = 0; k < 4; ++k) sum += w[k];
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
  const test::CliResult bad = test::run_vis_tool({"saliency", "--weights", W, "--image", I, "--method", "scorecam",
                                                  "--eigen-smooth", "--out", out});
  CHECK(bad.rc == 2);
  CHECK(test::contains(bad.err, "--eigen-smooth applies to"));
}
