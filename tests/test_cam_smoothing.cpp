// The CAMs' two smoothings, pytorch-grad-cam's eigen_smooth and aug_smooth: eigen smoothing
// against the first principal component (Eigen's SVD) of the weighted channels written here by
// naive loops; augmentation smoothing against the six copies run one by one here, and its
// symmetry (smoothing a flipped image gives the flipped smoothing); and vis_tool saliency's flags.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/model_io.h"
#include "engine/npy.h"
#include "tests/attribution_models.h"
#include "tests/cam_reference.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/png.h"

using namespace convis;
using namespace convis::test::cam;

namespace {

Tensor flipped(const Tensor& x) {  // (1,H,W,C) or (H,W) left-right
  const bool map = x.rank() == 2;
  const int64_t H = map ? x.dim(0) : x.dim(1), W = map ? x.dim(1) : x.dim(2), C = map ? 1 : x.dim(3);
  Tensor out(x.shape());
  for (int64_t y = 0; y < H; ++y)
    for (int64_t i = 0; i < W; ++i)
      for (int64_t c = 0; c < C; ++c) out[(y * W + (W - 1 - i)) * C + c] = x[(y * W + i) * C + c];
  return out;
}

}  // namespace

TEST_CASE("eigen smoothing: the first principal component of the weighted channels, as Eigen's SVD finds it") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 17, 0.f, 1.f);
  const int layer = m.layer_index("leaky_re_lu_1"), cls = 3;
  const LayerAG r = activations_and_gradient(m, x, layer, cls, Grad::tape);
  const int64_t hw = r.hw(), K = r.K;
  for (const CamKind kind : {CamKind::gradcam, CamKind::gradcampp, CamKind::hirescam, CamKind::xgradcam, CamKind::layercam}) {
    CAPTURE(int(kind));
    // The weighted activations: w_k A_k (Grad-CAM's mean gradient, XGrad-CAM's weights by hand,
    // Grad-CAM++'s from grad_cam), G * A, relu(G) * A.
    std::vector<double> w(size_t(K), 0.0);
    if (kind == CamKind::gradcampp) {
      Tensor pp;
      grad_cam(m, x, cls, layer, true, &pp);
      for (int64_t k = 0; k < K; ++k) w[size_t(k)] = pp[k];
    }
    for (int64_t k = 0; k < K && (kind == CamKind::gradcam || kind == CamKind::xgradcam); ++k) {
      double sum_a = 0.0;
      for (int64_t p = 0; p < hw; ++p) sum_a += r.A[size_t(p * K + k)];
      for (int64_t p = 0; p < hw; ++p) {
        const double a = r.A[size_t(p * K + k)], g = r.G[size_t(p * K + k)];
        w[size_t(k)] += kind == CamKind::gradcam ? g / double(hw) : a / (sum_a + 1e-7) * g;
      }
    }
    std::vector<double> X(size_t(hw * K));
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < K; ++k) {
        const size_t i = size_t(p * K + k);
        const double g = r.G[i];
        X[i] = kind == CamKind::hirescam ? g * r.A[i]
               : kind == CamKind::layercam ? std::max(g, 0.0) * r.A[i]
                                           : w[size_t(k)] * r.A[i];
      }
    const Principal ref = principal_by_svd(X, hw, K);
    Tensor v;
    const Tensor cam = class_activation_map(m, x, cls, layer, kind, &v, true);
    REQUIRE(v.numel() == K);
    double peak = 0.0;
    for (double c : ref.cam) peak = std::max(peak, c);
    CHECK(peak > 0.0);
    for (int64_t p = 0; p < hw; ++p) CHECK(cam[p] == doctest::Approx(ref.cam[size_t(p)]).epsilon(1e-3).scale(1e-4 * peak));
    for (int64_t k = 0; k < K; ++k) CHECK(v[k] == doctest::Approx(ref.v[size_t(k)]).epsilon(1e-3).scale(1e-4));
  }
  // eigencam and eigengradcam are principal components already.
  for (const CamKind kind : {CamKind::eigencam, CamKind::eigengradcam})
    CHECK(test::contains(test::error_of([&] { class_activation_map(m, x, cls, layer, kind, nullptr, true); }),
                         "is a first principal component already"));
}

TEST_CASE("augmentation smoothing: the mean of six copies' CAMs scaled to 0..1, and flip-symmetric") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 23, 0.f, 1.f);
  const int layer = m.layer_index("leaky_re_lu_1"), cls = 1;
  for (const CamKind kind : {CamKind::gradcam, CamKind::hirescam, CamKind::eigencam}) {
    CAPTURE(int(kind));
    // The six copies by hand: {x, flip(x)} x {0.9, 1, 1.1}, each CAM at 8x10 (the layer is at the
    // input's size), (c - min) / (max - min + 1e-7), flipped back.
    std::vector<double> mean(80, 0.0);
    for (const bool flip : {false, true})
      for (const float f : {0.9f, 1.f, 1.1f}) {
        Tensor xt = x.clone();
        for (int64_t i = 0; i < xt.numel(); ++i) xt[i] *= f;
        if (flip) xt = flipped(xt);
        Tensor c = class_activation_map(m, xt, cls, layer, kind);
        if (flip) c = flipped(c);
        const auto [lo, hi] = std::minmax_element(c.data(), c.data() + 80);
        for (int64_t p = 0; p < 80; ++p) mean[size_t(p)] += (double(c[p]) - *lo) / (double(*hi) - *lo + 1e-7) / 6.0;
      }
    const Tensor smooth = aug_smooth_cam(m, x, cls, layer, kind);
    REQUIRE(smooth.shape() == Shape({8, 10}));
    for (int64_t p = 0; p < 80; ++p) {
      CHECK(smooth[p] == doctest::Approx(mean[size_t(p)]).epsilon(1e-5).scale(1e-6));
      CHECK(smooth[p] >= 0.f);
      CHECK(smooth[p] <= 1.f);
    }
    // The copies of flip(x) are those of x: its smoothing is x's, flipped.
    const Tensor of_flipped = aug_smooth_cam(m, flipped(x), cls, layer, kind);
    CHECK(test::max_abs_diff(of_flipped, flipped(smooth)) < 1e-5);
    // compute_attribution with aug_smooth runs it; no single CAM or weights then.
    AttributionOptions opt;
    opt.method = kind == CamKind::gradcam ? "gradcam" : kind == CamKind::hirescam ? "hirescam" : "eigencam";
    opt.layer = layer;
    opt.aug_smooth = true;
    const Attribution a = compute_attribution(m, x, cls, opt);
    CHECK(test::max_abs_diff(a.map, smooth) == 0.0);
    CHECK(!a.cam.defined());
    CHECK(!a.channel_weights.defined());
    CHECK(a.layer == "leaky_re_lu_1");
  }
}

TEST_CASE("saliency --aug-smooth and --eigen-smooth: the files they write, the methods they refuse") {
  test::Dir d("cam_smoothing");
  const std::string W = d / "tiny.h5", I = d / "pic.png", out = d / "out";
  save_model(test::tiny_darknet(), W, KerasLayout::model);
  Canvas c(10, 8, {30, 160, 90});
  c.fill_rect(2, 2, 5, 4, {220, 40, 30});
  write_png(c, I);
  auto run = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"saliency", "--weights", W, "--image", I, "--class", "2", "--npy", "--out", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return test::run_vis_tool(a);
  };
  const test::CliResult aug = run({"--method", "layercam", "--aug-smooth"});
  CAPTURE(aug.err);
  REQUIRE(aug.rc == 0);
  CHECK(test::contains(aug.out, "the mean of 6 copies' CAMs"));
  const std::string base = out + "/pic_layercam_2_augsmooth";
  const Tensor map = read_npy(base + "_map.npy");
  CHECK(map.shape() == Shape({8, 10}));
  CHECK(!std::filesystem::exists(base + "_cam.npy"));
  CHECK(!std::filesystem::exists(base + "_weights.npy"));
  const test::CliResult eig = run({"--method", "hirescam", "--eigen-smooth"});
  CAPTURE(eig.err);
  REQUIRE(eig.rc == 0);
  CHECK(test::contains(eig.out, "eigen-smoothed"));
  // hirescam has no channel weights, but its eigen-smoothed map has a principal direction.
  CHECK(read_npy(out + "/pic_hirescam_2_eigensmooth_weights.npy").shape() == Shape({4}));  // the default layer, leaky_re_lu_1
  const test::CliResult bad1 = run({"--method", "vanilla", "--aug-smooth"});
  CHECK(bad1.rc == 2);
  CHECK(test::contains(bad1.err, "--aug-smooth applies to --method gradcam, gradcampp, hirescam"));
  const test::CliResult bad2 = run({"--method", "eigencam", "--eigen-smooth"});
  CHECK(bad2.rc == 2);
  CHECK(test::contains(bad2.err, "--eigen-smooth applies to --method gradcam, gradcampp, hirescam, xgradcam or layercam, not eigencam"));
}
