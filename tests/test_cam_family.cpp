// The CAM family (HiResCAM, XGrad-CAM, LayerCAM, EigenCAM, EigenGrad-CAM) and input x gradient,
// each against naive loops written here on A (the layer's output, by the forward pass) and
// G = d score / d A (by central differences on A itself, through the forward hook), on small
// models: a chain, and a graph whose CAM layer feeds an Add. Plus the defining properties:
// HiResCAM is ReLU of the channel sum of G * A, and equals Grad-CAM where G is constant over
// space; EigenCAM's weights are the first principal direction (a 3x2 example by hand, and
// Eigen's SVD); and the --npy files of vis_tool saliency.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/classifier.h"
#include "engine/model_io.h"
#include "engine/npy.h"
#include "engine/ops.h"
#include "kernels/cam.h"
#include "tests/attribution_models.h"
#include "tests/cam_reference.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/png.h"
#include "vis/preprocess.h"

using namespace convis;
using namespace convis::test::cam;

namespace {

// The CAM of `kind` from A and G by naive loops; weights (where the method has them) into *w.
std::vector<double> reference_cam(const LayerAG& r, CamKind kind, std::vector<double>* w) {
  const int64_t hw = r.hw(), K = r.K;
  std::vector<double> cam(size_t(hw), 0.0);
  auto at = [&](const std::vector<double>& t, int64_t p, int64_t k) { return t[size_t(p * K + k)]; };
  if (kind == CamKind::hirescam || kind == CamKind::layercam) {
    for (int64_t p = 0; p < hw; ++p) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double g = at(r.G, p, k);
        s += (kind == CamKind::layercam ? std::max(g, 0.0) : g) * at(r.A, p, k);
      }
      cam[size_t(p)] = std::max(s, 0.0);
    }
    return cam;
  }
  if (kind == CamKind::eigencam || kind == CamKind::eigengradcam) {
    std::vector<double> X = r.A;
    if (kind == CamKind::eigengradcam)
      for (size_t i = 0; i < X.size(); ++i) X[i] *= r.G[i];
    const Principal pc = principal_by_svd(X, hw, K);
    *w = pc.v;
    return pc.cam;
  }
  w->assign(size_t(K), 0.0);
  for (int64_t k = 0; k < K; ++k) {
    double sum_a = 0.0, mean_g = 0.0, xw = 0.0;
    for (int64_t p = 0; p < hw; ++p) sum_a += at(r.A, p, k), mean_g += at(r.G, p, k) / double(hw);
    for (int64_t p = 0; p < hw; ++p) xw += at(r.A, p, k) / (sum_a + 1e-7) * at(r.G, p, k);
    (*w)[size_t(k)] = kind == CamKind::xgradcam ? xw : mean_g;
  }
  for (int64_t p = 0; p < hw; ++p) {
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += (*w)[size_t(k)] * at(r.A, p, k);
    cam[size_t(p)] = std::max(s, 0.0);
  }
  return cam;
}

struct Kind {
  const char* name;
  CamKind kind;
  bool has_weights;
};
const Kind kKinds[] = {{"hirescam", CamKind::hirescam, false},
                       {"xgradcam", CamKind::xgradcam, true},
                       {"layercam", CamKind::layercam, false},
                       {"eigencam", CamKind::eigencam, true},
                       {"eigengradcam", CamKind::eigengradcam, true}};

// class_activation_map of every kind at `layer` against the reference on FD gradients.
void check_family(const Model& m, const Tensor& x, int layer, int cls, Grad how) {
  const LayerAG r = activations_and_gradient(m, x, layer, cls, how);
  if (how == Grad::tape) {  // the tape's G is the central differences' wherever no kink is within the step
    const LayerAG fd = activations_and_gradient(m, x, layer, cls, Grad::central_differences, 1e-3f);
    double top = 0.0;
    int differ = 0;
    for (double g : r.G) top = std::max(top, std::fabs(g));
    for (size_t i = 0; i < r.G.size(); ++i) differ += std::fabs(r.G[i] - fd.G[i]) > 1e-2 * top;
    CHECK(differ * 20 < int(r.G.size()));  // under 5% (the chain model's max-pool: 11 of 320)
  }
  for (const Kind& k : kKinds) {
    CAPTURE(std::string(k.name));
    Tensor weights;
    const Tensor cam = class_activation_map(m, x, cls, layer, k.kind, &weights);
    std::vector<double> ref_w;
    const std::vector<double> ref = reference_cam(r, k.kind, &ref_w);
    REQUIRE(cam.shape() == Shape({r.h, r.w}));
    double peak = 0.0;
    for (double v : ref) peak = std::max(peak, v);
    CHECK(peak > 0.0);  // a map that is 0 everywhere would check nothing
    for (int64_t p = 0; p < r.hw(); ++p) CHECK(cam[p] == doctest::Approx(ref[size_t(p)]).epsilon(2e-3).scale(1e-3 * peak));
    CHECK(weights.defined() == k.has_weights);
    if (!k.has_weights) continue;
    REQUIRE(weights.numel() == r.K);
    for (int64_t i = 0; i < r.K; ++i) CHECK(weights[i] == doctest::Approx(ref_w[size_t(i)]).epsilon(2e-3).scale(1e-4));
  }
}

}  // namespace

TEST_CASE("CAM family: each map against naive loops on A and G, chain model") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 21, 0.f, 1.f);
  // leaky_re_lu_1 (8x10x4): a pool, a ReLU conv and GAP after it, so G varies over space.
  for (const int cls : {0, 3}) {
    CAPTURE(cls);
    check_family(m, x, m.layer_index("leaky_re_lu_1"), cls, Grad::tape);
    check_family(m, x, m.layer_index("conv2d_2"), cls, Grad::central_differences);  // GAP, Dense after: linear
  }
}

TEST_CASE("CAM family: at a layer inside a graph, whose output also feeds an Add") {
  // x -> c (relu) -> r1 (linear) -> add(r1, c) -> maxpool -> conv (relu) -> gap -> dense; CAMs at
  // r1, which is not a cut (the skip reads c).
  Model m;
  m.name = "residual";
  Layer add = test::simple_layer("add", "Add", LayerType::add);
  add.inputs = {2, 1};
  m.layers = {test::input_layer(),
              test::conv_layer("c", 3, 3, Activation::relu),
              test::conv_layer("r1", 3, 3, Activation::linear),
              add,
              test::simple_layer("pool", "MaxPooling2D", LayerType::max_pool2d),
              test::conv_layer("c2", 5, 3, Activation::relu),
              test::simple_layer("gap", "GlobalAveragePooling2D", LayerType::global_avg_pool2d),
              test::dense_layer("fc", 4, Activation::linear)};
  m = test::finish(m, 6, 8, 41);
  const Tensor x = test::random_tensor({1, 6, 8, 3}, 9, 0.f, 1.f);
  check_family(m, x, 2, 2, Grad::tape);
  check_family(m, x, 3, 1, Grad::tape);  // the Add itself
}

TEST_CASE("HiResCAM: ReLU of the channel sum of G * A, and Grad-CAM where G is constant over space") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 5, 0.f, 1.f);
  const int cls = 2;
  // conv2d_2 is followed by GAP and a linear Dense: G = W[:, cls] / hw at every position.
  const int layer = m.layer_index("conv2d_2");
  const LayerAG r = activations_and_gradient(m, x, layer, cls, Grad::central_differences);
  for (int64_t k = 0; k < r.K; ++k)
    for (int64_t p = 1; p < r.hw(); ++p) CHECK(r.G[size_t(p * r.K + k)] == doctest::Approx(r.G[size_t(k)]).epsilon(1e-3));
  const Tensor hires = class_activation_map(m, x, cls, layer, CamKind::hirescam);
  const Tensor grad = grad_cam(m, x, cls, layer);
  // Before the ReLU the channel sum of G * A adds up, over the positions, to f(x) minus the
  // Dense bias: sum_p sum_k (W_k / hw) A_pk = sum_k W_k mean_p A_k.
  double total = 0.0;
  for (int64_t p = 0; p < r.hw(); ++p) {
    double s = 0.0;
    for (int64_t k = 0; k < r.K; ++k) s += r.G[size_t(p * r.K + k)] * r.A[size_t(p * r.K + k)];
    total += s;
    CHECK(hires[p] == doctest::Approx(std::max(s, 0.0)).epsilon(1e-3).scale(1e-5));
    CHECK(hires[p] == doctest::Approx(grad[p]).epsilon(1e-5).scale(1e-6));
  }
  const Layer& fc = m.layers.back();
  const double bias = fc.weights.at(1).value()[cls];
  CHECK(total == doctest::Approx(double(test::score(m, x, cls)) - bias).epsilon(1e-3));
  // Where G varies over space (leaky_re_lu_1) the two differ.
  const int early = m.layer_index("leaky_re_lu_1");
  CHECK(test::max_abs_diff(class_activation_map(m, x, cls, early, CamKind::hirescam), grad_cam(m, x, cls, early)) > 1e-3);
}

TEST_CASE("EigenCAM: the weights are the first principal direction, a 3x2 and a 2x3 example by hand") {
  // X rows (1,1), (2,3), (3,2): mean (2,2), Xc = (-1,-1), (0,1), (1,0), Xc^T Xc = [[2,1],[1,2]],
  // eigenvalues 3 and 1, v = (1,1)/sqrt(2); Xc v = (-sqrt 2, 1/sqrt 2, 1/sqrt 2), which agrees
  // with the channel sums (2, 5, 5), so that sign is kept.
  const float X[] = {1, 1, 2, 3, 3, 2};
  float v[2], proj[3];
  const double lambda = first_principal_direction(X, v, proj, 3, 2);
  CHECK(lambda == doctest::Approx(3.0).epsilon(1e-9));
  const double r2 = std::sqrt(0.5);
  CHECK(v[0] == doctest::Approx(r2).epsilon(1e-6));
  CHECK(v[1] == doctest::Approx(r2).epsilon(1e-6));
  // A^T A v = lambda v with the hand matrix.
  CHECK(2.0 * v[0] + 1.0 * v[1] == doctest::Approx(3.0 * v[0]).epsilon(1e-6));
  CHECK(1.0 * v[0] + 2.0 * v[1] == doctest::Approx(3.0 * v[1]).epsilon(1e-6));
  CHECK(proj[0] == doctest::Approx(-std::sqrt(2.0)).epsilon(1e-6));
  CHECK(proj[1] == doctest::Approx(r2).epsilon(1e-6));
  CHECK(proj[2] == doctest::Approx(r2).epsilon(1e-6));
  float cam[3];
  eigen_cam(X, cam, nullptr, 3, 2);
  CHECK(cam[0] == 0.f);
  CHECK(cam[1] == doctest::Approx(r2).epsilon(1e-6));
  // Fewer positions than channels (the hw-side Gram matrix): rows (1,2,0), (3,0,1); Xc = +-(1,-1,.5),
  // rank 1, lambda = 2 * 2.25 = 4.5, v = (2,-2,1)/3; projection (-1.5, 1.5) agrees with sums (3, 4).
  const float Y[] = {1, 2, 0, 3, 0, 1};
  float w[3], q[2];
  CHECK(first_principal_direction(Y, w, q, 2, 3) == doctest::Approx(4.5).epsilon(1e-9));
  CHECK(w[0] == doctest::Approx(2.0 / 3).epsilon(1e-6));
  CHECK(w[1] == doctest::Approx(-2.0 / 3).epsilon(1e-6));
  CHECK(w[2] == doctest::Approx(1.0 / 3).epsilon(1e-6));
  CHECK(q[0] == doctest::Approx(-1.5).epsilon(1e-6));
  CHECK(q[1] == doctest::Approx(1.5).epsilon(1e-6));
  // Constant over the positions: no direction, a zero map, no NaN.
  const float Z[] = {1, 2, 1, 2, 1, 2};
  float zv[2], zp[3];
  CHECK(first_principal_direction(Z, zv, zp, 3, 2) == 0.0);
  for (float e : zp) CHECK(e == 0.f);
}

TEST_CASE("EigenCAM: power iteration agrees with Eigen's SVD on both sides of the Gram matrix") {
  for (const auto& size : std::vector<std::pair<int64_t, int64_t>>{{49, 16}, {12, 40}, {196, 200}}) {
    const int64_t hw = size.first, K = size.second;  // named, not bound: clang refuses bindings in CAPTURE
    CAPTURE(hw);
    CAPTURE(K);
    const Tensor X = test::random_tensor({hw, K}, uint32_t(hw + K), 0.f, 1.f);
    std::vector<double> xd(X.data(), X.data() + X.numel());
    const Principal ref = principal_by_svd(xd, hw, K);
    std::vector<float> v(static_cast<size_t>(K)), cam(static_cast<size_t>(hw));
    eigen_cam(X.data(), cam.data(), v.data(), hw, K);
    for (int64_t k = 0; k < K; ++k) CHECK(v[size_t(k)] == doctest::Approx(ref.v[size_t(k)]).scale(1e-5));
    for (int64_t p = 0; p < hw; ++p) CHECK(cam[size_t(p)] == doctest::Approx(ref.cam[size_t(p)]).scale(1e-5));
  }
}

TEST_CASE("EigenCAM needs no gradient: the same map for every class, EigenGrad-CAM differs") {
  const Model m = test::tiny_darknet();
  const Tensor x = test::random_tensor({1, 8, 10, 3}, 6, 0.f, 1.f);
  const int layer = m.layer_index("leaky_re_lu_1");
  CHECK(test::max_abs_diff(class_activation_map(m, x, 0, layer, CamKind::eigencam),
                           class_activation_map(m, x, 4, layer, CamKind::eigencam)) == 0.0);
  CHECK(test::max_abs_diff(class_activation_map(m, x, 0, layer, CamKind::eigengradcam),
                           class_activation_map(m, x, 4, layer, CamKind::eigengradcam)) > 1e-4);
  CHECK(Tape::current().size() == 0);  // nothing left recorded
  CHECK(test::contains(test::error_of([&] { class_activation_map(m, x, 0, 6, CamKind::eigencam); }),
                       "layer index 6 has no spatial output"));
}

namespace {

// tiny_darknet saved to a file, and a noise picture at its input size (8x10): the command's
// model input is then the picture / 255 (no resize).
struct CliFiles {
  test::Dir d{"cam_family"};
  std::string weights = d / "tiny.h5", image = d / "pic.png", out = d / "out";
  Model m = test::tiny_darknet();
  Tensor x;
  CliFiles() {
    save_model(m, weights, KerasLayout::model);
    Canvas c(10, 8, {0, 0, 0});
    uint32_t state = 777;
    auto next = [&] { return uint8_t((state = state * 1664525u + 1013904223u) >> 24); };
    for (int y = 0; y < 8; ++y)
      for (int i = 0; i < 10; ++i) c.set(i, y, {next(), next(), next()});
    write_png(c, image);
    x = preprocess(resize_bilinear(load_image(image, 3), m.built_h(), m.built_w()), Preprocess::unit);
  }
  test::CliResult run(const std::vector<std::string>& extra) const {
    std::vector<std::string> a = {"saliency", "--weights", weights, "--image", image, "--class", "1", "--npy", "--out", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return test::run_vis_tool(a);
  }
};

}  // namespace

TEST_CASE("saliency --npy: each CAM of the family writes its map, CAM and weights, as its definition says") {
  CliFiles f;
  const int layer = f.m.layer_index("leaky_re_lu_1");  // 8x10: the input's size, no upsampling
  const LayerAG r = activations_and_gradient(f.m, f.x, layer, 1, Grad::tape);
  for (const Kind& k : kKinds) {
    CAPTURE(std::string(k.name));
    const test::CliResult res = f.run({"--method", k.name, "--layer", "leaky_re_lu_1"});
    CAPTURE(res.err);
    REQUIRE(res.rc == 0);
    const std::string base = f.out + "/pic_" + k.name + "_1_leaky_re_lu_1";
    const Tensor cam = read_npy(base + "_cam.npy"), up = read_npy(base + "_map.npy");
    REQUIRE(cam.shape() == Shape({8, 10}));
    REQUIRE(up.shape() == Shape({8, 10}));
    CHECK(std::filesystem::exists(base + ".png"));
    std::vector<double> ref_w;
    const std::vector<double> ref = reference_cam(r, k.kind, &ref_w);
    double peak = 0.0;
    for (double v : ref) peak = std::max(peak, v);
    for (int64_t p = 0; p < 80; ++p) {
      CHECK(cam[p] == doctest::Approx(ref[size_t(p)]).epsilon(2e-3).scale(1e-3 * peak));
      CHECK(up[p] == doctest::Approx(cam[p]).epsilon(1e-5).scale(1e-6));
    }
    CHECK(std::filesystem::exists(base + "_weights.npy") == k.has_weights);
    if (k.has_weights) {
      const Tensor w = read_npy(base + "_weights.npy");
      REQUIRE(w.shape() == Shape({4}));
      for (int i = 0; i < 4; ++i) CHECK(w[i] == doctest::Approx(ref_w[size_t(i)]).epsilon(2e-3).scale(1e-4));
    }
  }
  // The family reads --layer and refuses what it does not read.
  const test::CliResult bad = f.run({"--method", "eigencam", "--samples", "3"});
  CHECK(bad.rc == 2);
  CHECK(test::contains(bad.err, "--samples applies to --method"));
}

TEST_CASE("saliency --npy: inputxgrad is x times the central-difference gradient, per pixel and channel") {
  CliFiles f;
  const test::CliResult res = f.run({"--method", "inputxgrad"});
  CAPTURE(res.err);
  REQUIRE(res.rc == 0);
  const Tensor a = read_npy(f.out + "/pic_inputxgrad_1_map.npy");
  REQUIRE(a.shape() == Shape({8, 10, 3}));
  CHECK(!std::filesystem::exists(f.out + "/pic_inputxgrad_1_cam.npy"));  // not a CAM method
  for (int64_t i = 0; i < a.numel(); ++i) {
    Tensor xp = f.x.clone(), xm = f.x.clone();
    xp[i] += 1e-3f;
    xm[i] -= 1e-3f;
    const double fd = (double(test::score(f.m, xp, 1)) - double(test::score(f.m, xm, 1))) / 2e-3;
    CHECK(a[i] == doctest::Approx(double(f.x[i]) * fd).epsilon(2e-2).scale(1e-3));
  }
  // The picture's map is |the sum over the channels|.
  AttributionOptions opt;
  opt.method = "inputxgrad";
  const Attribution at = compute_attribution(f.m, f.x, 1, opt);
  REQUIRE(at.map.shape() == Shape({8, 10}));
  for (int64_t p = 0; p < 80; ++p)
    CHECK(at.map[p] == doctest::Approx(std::fabs(double(a[p * 3]) + a[p * 3 + 1] + a[p * 3 + 2])).epsilon(1e-5).scale(1e-6));
}
