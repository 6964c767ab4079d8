// GEMM: every version (ref, Eigen, our AVX2 kernel, the dispatcher, the `gemm` shorthand)
// against gemm_f32_ref on odd sizes, all four transposes, alpha/beta, padded leading dimensions,
// beta == 0 over a NaN-filled C, and 1 vs 2 threads.
#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"

using namespace convis;

namespace {

using GemmFn = void (*)(const GemmArgs&);

struct Version {
  const char* name;
  GemmFn fn;
};

// gemm() has no alpha/beta/ld: route it through an adapter that is only used when the case
// has tight leading dimensions, alpha == 1 and beta in {0, 1}.
void gemm_shorthand(const GemmArgs& g) {
  gemm(g.trans_a, g.trans_b, g.M, g.N, g.K, g.A, g.B, g.C, g.beta == 1.f);
}

std::vector<Version> versions() {
  std::vector<Version> v = {{"ref", gemm_f32_ref}, {"eigen", gemm_f32_eigen}, {"gemm_f32", gemm_f32}};
  if (backend_available(Backend::avx2_fma)) v.push_back({"avx2", gemm_f32__avx2});
  return v;
}

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct Case {
  bool ta = false, tb = false;
  int64_t M = 1, N = 1, K = 1;
  float alpha = 1.f, beta = 0.f;
  int64_t pad = 0;  // added to every leading dimension
};

std::string describe(const Case& c) {
  return "M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
         " ta=" + std::to_string(c.ta) + " tb=" + std::to_string(c.tb) +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta) +
         " pad=" + std::to_string(c.pad);
}

// Runs `fn` and the reference on the same inputs; checks every element within
// 1e-5 * (K+1) * (|alpha| sum_k |a_ik||b_kj| + |beta c_ij|), a bound on float rounding in any
// summation order. beta == 0 fills C with NaN first: a version that reads C fails.
void check(const Version& v, const Case& c) {
  const int64_t lda = (c.ta ? c.M : c.K) + c.pad, ldb = (c.tb ? c.K : c.N) + c.pad;
  const int64_t ldc = c.N + c.pad;
  const int64_t a_rows = c.ta ? c.K : c.M, b_rows = c.tb ? c.N : c.K;
  const auto A = random_vec(size_t(std::max<int64_t>(a_rows * lda, 1)), 1);
  const auto B = random_vec(size_t(std::max<int64_t>(b_rows * ldb, 1)), 2);
  auto C0 = random_vec(size_t(c.M * ldc), 3);
  if (c.beta == 0.f) std::fill(C0.begin(), C0.end(), std::numeric_limits<float>::quiet_NaN());

  GemmArgs g;
  g.trans_a = c.ta; g.trans_b = c.tb;
  g.M = c.M; g.N = c.N; g.K = c.K;
  g.alpha = c.alpha; g.beta = c.beta;
  g.A = A.data(); g.lda = lda;
  g.B = B.data(); g.ldb = ldb;
  g.ldc = ldc;

  std::vector<float> want = C0, got = C0;
  g.C = want.data();
  gemm_f32_ref(g);
  g.C = got.data();
  v.fn(g);

  int bad = 0;
  for (int64_t i = 0; i < c.M && bad < 3; ++i)
    for (int64_t j = 0; j < c.N && bad < 3; ++j) {
      double mag = 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        const float a = c.ta ? A[k * lda + i] : A[i * lda + k];
        const float b = c.tb ? B[j * ldb + k] : B[k * ldb + j];
        mag += std::fabs(double(a) * b);
      }
      mag = std::fabs(c.alpha) * mag + (c.beta == 0.f ? 0.0 : std::fabs(c.beta * C0[i * ldc + j]));
      const double tol = 1e-5 * double(c.K + 1) * mag + 1e-30;
      const float w = want[i * ldc + j], x = got[i * ldc + j];
      if (!(std::fabs(double(w) - x) <= tol)) {
        ++bad;
        FAIL_CHECK(v.name << ": " << describe(c) << " C(" << i << "," << j << ") = " << x
                          << ", ref " << w << ", tol " << tol);
      }
    }
  // Padding columns of C must be untouched.
  for (int64_t i = 0; i < c.M && bad == 0; ++i)
    for (int64_t j = c.N; j < ldc; ++j) {
      const float before = C0[i * ldc + j], after = got[i * ldc + j];
      if (!(before == after || (std::isnan(before) && std::isnan(after)))) {
        ++bad;
        FAIL_CHECK(v.name << ": " << describe(c) << " wrote padding C(" << i << "," << j << ")");
        break;
      }
    }
  CHECK(bad == 0);
}

// The sizes: all 7 values along each dimension with the other two fixed, plus mixed triples.
std::vector<Case> shape_cases() {
  const int64_t sizes[] = {1, 3, 17, 63, 64, 65, 257};
  std::vector<Case> cases;
  for (int64_t s : sizes) {
    cases.push_back({false, false, s, 33, 45});
    cases.push_back({false, false, 29, s, 45});
    cases.push_back({false, false, 29, 33, s});
  }
  const int64_t mixed[][3] = {{1, 1, 1},    {3, 17, 1},   {17, 3, 257}, {63, 65, 64},
                              {64, 64, 64}, {65, 63, 17}, {257, 17, 3}, {1, 257, 65},
                              {257, 1, 63}, {65, 257, 100}, {257, 65, 40}, {3, 3, 3}};
  for (const auto& m : mixed) cases.push_back({false, false, m[0], m[1], m[2]});
  return cases;
}

}  // namespace

TEST_CASE("gemm_f32_ref: hand-computed 2x3x2") {
  // A(2,2) = [1 2; 3 4], B(2,3) = [5 6 7; 8 9 10]
  // A*B = [1*5+2*8  1*6+2*9  1*7+2*10 ; 3*5+4*8  3*6+4*9  3*7+4*10] = [21 24 27; 47 54 61]
  // With alpha = 2, beta = -1 and C = [1 1 1; 0 0 0]: [41 47 53; 94 108 122].
  const float A[] = {1, 2, 3, 4};
  const float B[] = {5, 6, 7, 8, 9, 10};
  float C[] = {1, 1, 1, 0, 0, 0};
  GemmArgs g;
  g.M = 2; g.N = 3; g.K = 2;
  g.A = A; g.lda = 2; g.B = B; g.ldb = 3; g.C = C; g.ldc = 3;
  g.alpha = 2.f; g.beta = -1.f;
  gemm_f32_ref(g);
  const float want[] = {41, 47, 53, 94, 108, 122};
  for (int i = 0; i < 6; ++i) CHECK(C[i] == want[i]);

  // The same product with both operands stored transposed: A^T stored (2,2), B^T stored (3,2).
  const float At[] = {1, 3, 2, 4};
  const float Bt[] = {5, 8, 6, 9, 7, 10};
  float C2[6];
  g.trans_a = g.trans_b = true;
  g.A = At; g.lda = 2; g.B = Bt; g.ldb = 2; g.C = C2;
  g.alpha = 1.f; g.beta = 0.f;
  gemm_f32_ref(g);
  const float want2[] = {21, 24, 27, 47, 54, 61};
  for (int i = 0; i < 6; ++i) CHECK(C2[i] == want2[i]);
}

TEST_CASE("gemm: every version matches the reference on odd sizes and all transposes") {
  for (const auto& v : versions()) {
    if (v.fn == gemm_f32_ref) continue;
    for (auto c : shape_cases())
      for (int t = 0; t < 4; ++t) {
        c.ta = t & 1; c.tb = t & 2;
        check(v, c);
      }
  }
}

TEST_CASE("gemm: alpha / beta / padded leading dimensions / beta == 0 over NaN") {
  // K = 300 > 256 makes our kernel accumulate over two K blocks (alpha, beta only on the first);
  // M = 150 > 144 gives two row blocks; the rest are edge tiles in every direction.
  const Case base[] = {{false, false, 13, 35, 300}, {false, false, 17, 64, 3},
                       {false, false, 150, 17, 20}, {false, false, 1, 65, 64},
                       {false, false, 64, 1, 17},   {false, false, 3, 3, 1}};
  const float ab[][2] = {{1.f, 0.f}, {1.f, 1.f}, {-0.5f, 0.f}, {2.f, -1.5f}, {0.25f, 1.f}};
  for (const auto& v : versions()) {
    if (v.fn == gemm_f32_ref) continue;
    for (Case c : base)
      for (const auto& s : ab)
        for (int64_t pad : {0, 5})
          for (int t = 0; t < 4; ++t) {
            c.ta = t & 1; c.tb = t & 2;
            c.alpha = s[0]; c.beta = s[1]; c.pad = pad;
            check(v, c);
          }
  }
}

TEST_CASE("gemm: the gemm() shorthand / overwrite and accumulate") {
  const Version v{"gemm()", gemm_shorthand};
  for (auto c : shape_cases())
    for (int t = 0; t < 8; ++t) {
      c.ta = t & 1; c.tb = t & 2; c.beta = (t & 4) ? 1.f : 0.f;
      check(v, c);
    }
}

TEST_CASE("gemm: K == 0 gives beta * C / M or N == 0 touches nothing") {
  for (const auto& v : versions()) {
    float C[6] = {1, 2, 3, 4, 5, 6};
    GemmArgs g;
    g.M = 2; g.N = 3; g.K = 0; g.C = C; g.ldc = 3; g.lda = 1; g.ldb = 3;
    g.beta = 2.f;
    v.fn(g);
    for (int i = 0; i < 6; ++i) CHECK_MESSAGE(C[i] == 2.f * float(i + 1), v.name);
    std::fill(C, C + 6, std::numeric_limits<float>::quiet_NaN());
    g.beta = 0.f;
    v.fn(g);
    for (int i = 0; i < 6; ++i) CHECK_MESSAGE(C[i] == 0.f, v.name);
    float D[2] = {7, 8};
    g.M = 0; g.N = 2; g.K = 4; g.C = D;
    v.fn(g);
    g.M = 2; g.N = 0;
    v.fn(g);
    CHECK(D[0] == 7.f);
    CHECK(D[1] == 8.f);
  }
}

TEST_CASE("gemm: our kernel gives the same result on 1 and 2 threads") {
  if (!backend_available(Backend::avx2_fma)) return;
  const int saved = omp_get_max_threads();
  const int64_t shapes[][3] = {{257, 65, 300}, {37, 129, 513}, {9, 40, 700}, {200, 16, 64}};
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t) {
      const int64_t M = s[0], N = s[1], K = s[2];
      const bool ta = t & 1, tb = t & 2;
      const auto A = random_vec(size_t(M * K), 4), B = random_vec(size_t(K * N), 5);
      std::vector<float> C1(size_t(M * N)), C2(size_t(M * N));
      GemmArgs g;
      g.trans_a = ta; g.trans_b = tb;
      g.M = M; g.N = N; g.K = K;
      g.A = A.data(); g.lda = ta ? M : K;
      g.B = B.data(); g.ldb = tb ? K : N;
      g.ldc = N;
      omp_set_num_threads(1);
      g.C = C1.data();
      gemm_f32__avx2(g);
      omp_set_num_threads(2);
      g.C = C2.data();
      gemm_f32__avx2(g);
      // Threads split M or N, never K, so every element is summed in the same order.
      int mismatches = 0;
      for (size_t i = 0; i < C1.size(); ++i) mismatches += C1[i] != C2[i];
      CHECK_MESSAGE(mismatches == 0, "M=" << M << " N=" << N << " K=" << K << " ta=" << ta
                                          << " tb=" << tb);
    }
  omp_set_num_threads(saved);
}

TEST_CASE("gemm: our kernel runs single-threaded inside a parallel region") {
  if (!backend_available(Backend::avx2_fma)) return;
  const int64_t M = 70, N = 50, K = 90, batch = 4;
  const auto A = random_vec(size_t(batch * M * K), 6), B = random_vec(size_t(K * N), 7);
  std::vector<float> want(size_t(batch * M * N)), got(size_t(batch * M * N));
  for (int64_t b = 0; b < batch; ++b)
    gemm(false, false, M, N, K, A.data() + b * M * K, B.data(), want.data() + b * M * N);
#pragma omp parallel for num_threads(2)
  for (int64_t b = 0; b < batch; ++b)
    gemm(false, false, M, N, K, A.data() + b * M * K, B.data(), got.data() + b * M * N);
  int mismatches = 0;
  for (size_t i = 0; i < want.size(); ++i) mismatches += want[i] != got[i];
  CHECK(mismatches == 0);
}

TEST_CASE("gemm with 1 to 4 rows: the streaming path against the reference, and its bits on 1 and 2 threads") {
  if (!backend_available(Backend::avx2_fma)) {
    MESSAGE("skipped: no AVX2+FMA here, the few-rows path is part of the AVX2 kernel");
    return;
  }
  const Version ours{"avx2", gemm_f32__avx2};
  // K x N >= 65536 takes the path; K not a multiple of its 256-row chunks or of 4, N not of 8.
  for (const int64_t M : {1, 2, 3, 4})
    for (const bool tb : {false, true})
      for (const float beta : {0.f, 1.f, -0.5f}) {
        Case c;
        c.M = M;
        c.tb = tb;
        c.N = 333;
        c.K = 1027;
        c.alpha = beta == 0.f ? 1.f : 0.75f;
        c.beta = beta;
        c.pad = M == 3 ? 5 : 0;
        CAPTURE(describe(c));
        REQUIRE(gemm_few_rows_f32__avx2(GemmArgs{}) == false);  // an empty shape is not taken
        check(ours, c);
      }
  // The shapes it declines go to the blocked kernel, still right.
  for (const int64_t M : {5, 1}) {
    Case c;
    c.M = M;
    c.N = M == 1 ? 30 : 300;  // M = 1 with K x N < 65536
    c.K = 700;
    check(ours, c);
  }
  // VGG16's fc1 at a fifth of its size, on 1 and 2 threads: the same bits.
  const int64_t K = 5017, N = 819;
  const auto A = random_vec(size_t(K), 4), B = random_vec(size_t(K * N), 5);
  std::vector<float> c1(static_cast<size_t>(N)), c2(static_cast<size_t>(N));
  GemmArgs g;
  g.M = 1; g.N = N; g.K = K;
  g.A = A.data(); g.lda = K;
  g.B = B.data(); g.ldb = N;
  g.ldc = N;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  g.C = c1.data();
  REQUIRE(gemm_few_rows_f32__avx2(g));
  omp_set_num_threads(2);
  g.C = c2.data();
  REQUIRE(gemm_few_rows_f32__avx2(g));
  omp_set_num_threads(saved);
  CHECK(c1 == c2);
}
