// The kernels behind the loss, normalisation, reduction, global pooling, layout and CAM ops, each
// against its slow twin, a hand-computed example or a defining property. (The ops' gradients are
// checked by central differences in test_ops_grad.cpp.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <omp.h>

#include "kernels/batch_norm.h"
#include "kernels/cam.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/layout.h"
#include "kernels/pool2d.h"
#include "kernels/reduce.h"
#include "kernels/scratch.h"
#include "kernels/softmax.h"
#include "tests/util.h"

using namespace convis;
using convis::test::random_tensor;

namespace {

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<float> random_vector(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  const Tensor t = random_tensor(Shape{n}, seed, lo, hi);
  return std::vector<float>(t.data(), t.data() + n);
}

}  // namespace

TEST_CASE("softmax kernels: forward and backward match the definition and the full Jacobian") {
  const int64_t rows = 5, K = 7;
  const std::vector<float> x = random_vector(rows * K, 1, -3.f, 3.f), dy = random_vector(rows * K, 2);
  std::vector<float> y(size_t(rows * K)), yref(y.size());
  softmax_rows_fwd(x.data(), y.data(), rows, K);
  softmax_rows_ref(x.data(), yref.data(), rows, K);
  CHECK(max_abs_diff(y, yref) < 1e-6f);
  for (int64_t r = 0; r < rows; ++r) {  // a distribution per row
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += y[size_t(r * K + k)];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
  }
  std::vector<float> dx(y.size(), 0.5f), dxref(y.size(), 0.5f);  // backward accumulates
  softmax_rows_bwd(y.data(), dy.data(), dx.data(), rows, K);
  softmax_rows_bwd_ref(y.data(), dy.data(), dxref.data(), rows, K);
  CHECK(max_abs_diff(dx, dxref) < 1e-6f);

  SUBCASE("log softmax is the log of softmax, and its backward is softmax's through the log") {
    std::vector<float> ly(y.size()), ldx(y.size(), 0.f), chain(y.size(), 0.f), dsoft(y.size());
    log_softmax_rows_fwd(x.data(), ly.data(), rows, K);
    for (size_t i = 0; i < y.size(); ++i) CHECK(ly[i] == doctest::Approx(std::log(yref[i])).epsilon(1e-5));
    log_softmax_rows_bwd(ly.data(), dy.data(), ldx.data(), rows, K);
    for (size_t i = 0; i < y.size(); ++i) dsoft[i] = dy[i] / yref[i];  // d log y / d y = 1 / y
    softmax_rows_bwd_ref(yref.data(), dsoft.data(), chain.data(), rows, K);
    CHECK(max_abs_diff(ldx, chain) < 1e-5f);
  }
  SUBCASE("the max shift keeps huge logits finite") {
    const float big[3] = {1000.f, 1001.f, 999.f};
    float p[3];
    softmax_rows_fwd(big, p, 1, 3);
    const double e = std::exp(1.0), sum = 1.0 + e + 1.0 / e;  // shifted by 1000
    CHECK(p[0] == doctest::Approx(1.0 / sum));
    CHECK(p[1] == doctest::Approx(e / sum));
    CHECK(p[2] == doctest::Approx(1.0 / e / sum));
  }
}

TEST_CASE("cross-entropy kernel: a hand-computed loss and its gradient softmax - onehot") {
  // Two rows of three logits; labels 2 and 0.
  const float logits[6] = {0.f, 0.f, 0.f, 2.f, 0.f, 0.f};
  const int labels[2] = {2, 0};
  float logp[6], dx[6] = {0, 0, 0, 0, 0, 0};
  const float loss = sparse_xent_fwd(logits, labels, logp, 2, 3);
  const double l0 = std::log(3.0), l1 = -(2.0 - std::log(std::exp(2.0) + 2.0));  // -log p(label)
  CHECK(loss == doctest::Approx((l0 + l1) / 2));
  sparse_xent_bwd(logp, labels, 2.f, dx, 2, 3);  // incoming gradient 2: 2/N = 1
  const double z = std::exp(2.0) + 2.0;
  const double want[6] = {1 / 3.0, 1 / 3.0, 1 / 3.0 - 1, std::exp(2.0) / z - 1, 1 / z, 1 / z};
  for (int i = 0; i < 6; ++i) CHECK(dx[i] == doctest::Approx(want[i]).epsilon(1e-6));
  CHECK(sparse_xent_fwd(logits, labels, logp, 0, 3) == 0.f);  // an empty batch
}

TEST_CASE("batch norm kernels: the folded forward equals the formula, and the backward is the hand derivation") {
  const int64_t rows = 6, C = 4;
  const std::vector<float> x = random_vector(rows * C, 3), dy = random_vector(rows * C, 4);
  const std::vector<float> gamma = random_vector(C, 5), beta = random_vector(C, 6), mean = random_vector(C, 7);
  const std::vector<float> var = random_vector(C, 8, 0.1f, 2.f);
  const float eps = 1e-3f;
  std::vector<float> scale(C), shift(C), inv_std(C), y(size_t(rows * C)), yref(y.size());
  batch_norm_fold(gamma.data(), beta.data(), mean.data(), var.data(), eps, scale.data(), shift.data(),
                  inv_std.data(), C);
  batch_norm_fwd(x.data(), scale.data(), shift.data(), y.data(), rows, C);
  batch_norm_ref(x.data(), gamma.data(), beta.data(), mean.data(), var.data(), eps, yref.data(), rows, C);
  CHECK(max_abs_diff(y, yref) < 1e-5f);

  std::vector<float> dx(y.size(), 0.f), dg(C, 1.f), db(C, 1.f), dm(C, 1.f), dv(C, 1.f);  // accumulate onto 1
  batch_norm_bwd_data(dy.data(), scale.data(), dx.data(), rows, C);
  batch_norm_bwd_params(x.data(), dy.data(), gamma.data(), mean.data(), inv_std.data(), dg.data(), db.data(),
                        dm.data(), dv.data(), rows, C);
  for (int64_t c = 0; c < C; ++c) {
    const double is = 1.0 / std::sqrt(double(var[size_t(c)]) + eps);
    double sg = 0, sb = 0, sv = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double d = dy[size_t(r * C + c)], xc = double(x[size_t(r * C + c)]) - mean[size_t(c)];
      CHECK(dx[size_t(r * C + c)] == doctest::Approx(d * gamma[size_t(c)] * is).epsilon(1e-5));
      sg += d * xc * is;
      sb += d;
      sv += d * gamma[size_t(c)] * xc * -0.5 * std::pow(var[size_t(c)] + double(eps), -1.5);  // d/dvar (var+eps)^-1/2
    }
    CHECK(dg[size_t(c)] == doctest::Approx(1 + sg).epsilon(1e-5));
    CHECK(db[size_t(c)] == doctest::Approx(1 + sb).epsilon(1e-5));
    CHECK(dm[size_t(c)] == doctest::Approx(1 - sb * gamma[size_t(c)] * is).epsilon(1e-5));
    CHECK(dv[size_t(c)] == doctest::Approx(1 + sv).epsilon(1e-5));
  }
  // Frozen parameters: null pointers, nothing written.
  batch_norm_bwd_params(x.data(), dy.data(), gamma.data(), mean.data(), inv_std.data(), nullptr, db.data(), nullptr,
                        nullptr, rows, C);
}

TEST_CASE("reduce kernel: sums over every set of axes match the unravelling twin, and backward spreads dy") {
  const int64_t d[4] = {2, 3, 4, 5};
  const std::vector<float> x = random_vector(120, 9);
  for (int mask = 0; mask < 16; ++mask) {  // bit k set: axis k is reduced
    ReduceShape s;
    int64_t stride = 1;
    for (int k = 3; k >= 0; --k) {
      s.dims[k] = d[k];
      if (!(mask >> k & 1)) {
        s.ostride[k] = stride;
        stride *= d[k];
      }
    }
    s.out_numel = stride;
    std::vector<float> y(static_cast<size_t>(stride)), yref(y.size());
    reduce_sum_fwd(x.data(), y.data(), 0.5f, s);
    reduce_sum_ref(x.data(), yref.data(), 0.5f, s);
    CAPTURE(mask);
    CHECK(max_abs_diff(y, yref) < 1e-6f);
    // backward: dx[i] = scale * dy[o(i)], so <dx, x> = scale * <dy, sum x> = <dy, y>
    const std::vector<float> dy = random_vector(stride, 10);
    std::vector<float> dx(x.size(), 0.f);
    reduce_sum_bwd(dy.data(), dx.data(), 0.5f, s);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < x.size(); ++i) lhs += double(dx[i]) * x[i];
    for (size_t o = 0; o < y.size(); ++o) rhs += double(dy[o]) * y[o];
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-5));
  }
}

TEST_CASE("channel and sum-of-squares kernels on hand-computed values") {
  const float x[6] = {1, 2, 3, 4, 5, 6};  // (rows 2, C 3)
  float y[2], dx[6] = {0, 0, 0, 0, 0, 0};
  take_channel_fwd(x, y, 2, 3, 1);
  CHECK(y[0] == 2.f);
  CHECK(y[1] == 5.f);
  const float dy[2] = {7, 8};
  take_channel_bwd(dy, dx, 2, 3, 1);
  const float want[6] = {0, 7, 0, 0, 8, 0};
  for (int i = 0; i < 6; ++i) CHECK(dx[i] == want[i]);
  CHECK(sum_squares(x, 6) == 91.0);
}

TEST_CASE("global max pool kernel equals max pooling with one window the size of the image") {
  const int N = 2, H = 3, W = 5, C = 4;
  const Tensor x = convis::test::distinct_values(Shape{N, H, W, C}, 11);
  std::vector<float> y(size_t(N * C)), yref(y.size());
  std::vector<int64_t> at(y.size());
  std::vector<int32_t> at_ref(y.size());
  global_maxpool_nhwc_fwd(x.data(), y.data(), at.data(), N, H * W, C);
  const Pool2dShape s = make_pool2d_shape(N, H, W, C, H, W, 1, 1, Padding::valid);
  maxpool2d_nhwc_fwd(x.data(), yref.data(), at_ref.data(), s);
  for (size_t i = 0; i < y.size(); ++i) {
    CHECK(y[i] == yref[i]);
    CHECK(at[i] == at_ref[i]);
    CHECK(x[at[i]] == y[i]);
  }
  std::vector<float> dx(size_t(x.numel()), 0.f), dy = random_vector(N * C, 12);
  global_maxpool_nhwc_bwd(dy.data(), at.data(), dx.data(), N, C);
  double moved = 0;
  for (float v : dx) moved += v;
  double given = 0;
  for (float v : dy) given += v;
  CHECK(moved == doctest::Approx(given));
  for (size_t i = 0; i < at.size(); ++i) CHECK(dx[size_t(at[i])] == dy[i]);
}

TEST_CASE("layout kernels: planes <-> NHWC on a hand-written example, each the other's inverse") {
  // N 1, C 2, HW 3: planes [[1 2 3] [4 5 6]] -> pixels (1,4) (2,5) (3,6)
  const float planes[6] = {1, 2, 3, 4, 5, 6};
  float nhwc[6], back[6];
  planes_to_nhwc(planes, nhwc, 1, 2, 3);
  const float want[6] = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; ++i) CHECK(nhwc[i] == want[i]);
  nhwc_to_planes(nhwc, back, 1, 2, 3);
  for (int i = 0; i < 6; ++i) CHECK(back[i] == planes[i]);
}

TEST_CASE("thread scratch: aligned, reused while big enough, one buffer per slot and per thread") {
  float* a = thread_scratch(ScratchSlot::im2col_col, 100);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  a[99] = 42.f;
  CHECK(thread_scratch(ScratchSlot::im2col_col, 50) == a);  // smaller: the same buffer
  CHECK(thread_scratch(ScratchSlot::im2col_col, 100)[99] == 42.f);
  float* b = thread_scratch(ScratchSlot::gemm_pack_a, 100);
  CHECK(b != a);
  float* other = nullptr;
  std::thread([&] { other = thread_scratch(ScratchSlot::im2col_col, 100); }).join();
  CHECK(other != a);
  // A request no allocator can meet throws, and leaves the slot empty but usable.
  CHECK_THROWS_AS(thread_scratch(ScratchSlot::winograd_u, int64_t(1) << 62), std::bad_alloc);
  float* c = thread_scratch(ScratchSlot::winograd_u, 16);
  REQUIRE(c != nullptr);
  c[15] = 1.f;
}

TEST_CASE("CAM kernels: Grad-CAM and Grad-CAM++ weights on a hand-computed example, the map is relu(A w)") {
  // Two positions, two channels. A = [[1,2],[3,4]], G = [[0.5,-1],[1.5,1]] (rows are positions).
  const float A[] = {1.f, 2.f, 3.f, 4.f};
  const float G[] = {0.5f, -1.f, 1.5f, 1.f};
  float w[2];
  grad_cam_weights(G, w, 2, 2);  // the mean of G over positions
  CHECK(w[0] == doctest::Approx(1.0));
  CHECK(w[1] == doctest::Approx(0.0));
  // sum_p A = (4, 6). Channel 0: alpha = .25/(.5 + 4*.125) = .25 and 2.25/(4.5 + 4*3.375) = .125,
  // w0 = .25*.5 + .125*1.5 = .3125. Channel 1: relu(-1) = 0, then alpha = 1/(2 + 6) = .125, w1 = .125.
  grad_cam_pp_weights(A, G, w, 2, 2);
  CHECK(w[0] == doctest::Approx(0.3125));
  CHECK(w[1] == doctest::Approx(0.125));
  const float Z[] = {0.f, 0.f, 0.f, 0.f};  // zero gradient: alpha is 0, not NaN
  grad_cam_pp_weights(A, Z, w, 2, 2);
  CHECK(w[0] == 0.f);
  CHECK(w[1] == 0.f);
  const float mixed[] = {2.f, -0.5f};
  float cam[2];
  cam_combine(A, mixed, cam, 2, 2);  // 2 - 1 = 1, 6 - 2 = 4
  CHECK(cam[0] == doctest::Approx(1.0));
  CHECK(cam[1] == doctest::Approx(4.0));
  const float negative[] = {-1.f, 0.f};
  cam_combine(A, negative, cam, 2, 2);  // clipped at 0
  CHECK(cam[0] == 0.f);
  CHECK(cam[1] == 0.f);

  // A random layer: the map is the matrix product A w, clipped at zero, and the Grad-CAM weights are
  // 1/HW times G^T 1.
  const int64_t HW = 49, K = 37;
  const std::vector<float> a = random_vector(HW * K, 11), g = random_vector(HW * K, 12);
  std::vector<float> weights(static_cast<size_t>(K)), ones(static_cast<size_t>(HW), 1.f / float(HW)), ref_w(static_cast<size_t>(K));
  grad_cam_weights(g.data(), weights.data(), HW, K);
  GemmArgs gw;
  gw.trans_a = true; gw.M = K; gw.N = 1; gw.K = HW;
  gw.A = g.data(); gw.lda = K; gw.B = ones.data(); gw.ldb = 1; gw.C = ref_w.data(); gw.ldc = 1;
  gemm_f32_ref(gw);
  CHECK(max_abs_diff(weights, ref_w) < 1e-6f);
  std::vector<float> map(static_cast<size_t>(HW)), ref(static_cast<size_t>(HW));
  cam_combine(a.data(), weights.data(), map.data(), HW, K);
  GemmArgs gm;
  gm.M = HW; gm.N = 1; gm.K = K;
  gm.A = a.data(); gm.lda = K; gm.B = weights.data(); gm.ldb = 1; gm.C = ref.data(); gm.ldc = 1;
  gemm_f32_ref(gm);
  for (float& v : ref) v = std::max(v, 0.f);
  CHECK(max_abs_diff(map, ref) < 1e-6f);
}

TEST_CASE("channel_max_abs kernel: the largest |g| over the channels of each pixel") {
  const float g[] = {0.5f, -3.f, 2.f,   -0.f, 0.f, 0.f,   1.f, -1.f, 0.25f};
  float out[3];
  channel_max_abs(g, out, 3, 3);
  CHECK(out[0] == 3.f);
  CHECK(out[1] == 0.f);
  CHECK(out[2] == 1.f);
}

TEST_CASE("sum_rows: the column sums in double, the same bits on 1, 2 and 3 threads") {
  const int64_t rows = 5000, C = 7;  // 5 chunks of rows, enough to run in parallel
  const Tensor dy = random_tensor({rows, C}, 21, -1.f, 1.f);
  std::vector<double> want(C, 0.5);  // db starts at 0.5: sum_rows adds
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) want[size_t(c)] += dy[r * C + c];
  const int saved = omp_get_max_threads();
  std::vector<float> first;
  for (const int t : {1, 2, 3}) {
    omp_set_num_threads(t);
    std::vector<float> db(C, 0.5f);
    sum_rows(dy.data(), db.data(), rows, C);
    for (int64_t c = 0; c < C; ++c) CHECK(db[size_t(c)] == doctest::Approx(want[size_t(c)]).epsilon(1e-6));
    if (first.empty()) first = db;
    CHECK(db == first);
  }
  omp_set_num_threads(saved);
}
