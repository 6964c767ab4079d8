// GEMM with few rows (M <= 4): a dense layer at batch 1 to 4, where C is one to four rows and B,
// the layer's kernel, is read once. Such a product does 2 flops per float of B it loads: it runs at
// the speed memory delivers B, and the blocked GEMM's packing of B (read, write, read again)
// triples the traffic. Two streaming loops instead, both reading B exactly once, in address order:
//
//   C = A B     (B stored K x N): K is cut into fixed chunks of kChunkRows rows; each chunk adds
//               a_k * B[k, :] into its own partial rows of C (M x N floats, in L1/L2); the
//               chunks run in parallel (dynamic: a thread that is descheduled leaves its share to
//               the others); then C = alpha * (the partials summed in chunk order) + beta * C.
//   C = A B^T   (B stored N x K): C[m, n] = dot(A[m, :], B[n, :]), B's rows in parallel.
//
// Neither depends on the thread count: the chunks are fixed and summed in order.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/scratch.h"

namespace convis {

namespace {

constexpr int64_t kChunkRows = 256;
constexpr int kMaxRows = 4;

// part[m][0:N] += sum over k in [k0, k1) of A[m][k] * B[k][0:N], four rows of B at a time.
void accumulate_rows(const GemmArgs& g, int64_t k0, int64_t k1, float* part) {
  const int64_t N = g.N, N8 = N / 8 * 8;
  int64_t k = k0;
  for (; k + 4 <= k1; k += 4) {
    const float* b0 = g.B + k * g.ldb;
    const float* b1 = b0 + g.ldb;
    const float* b2 = b1 + g.ldb;
    const float* b3 = b2 + g.ldb;
    for (int64_t m = 0; m < g.M; ++m) {
      const float* a = g.A + m * g.lda + k;
      const __m256 a0 = _mm256_set1_ps(a[0]), a1 = _mm256_set1_ps(a[1]), a2 = _mm256_set1_ps(a[2]),
                   a3 = _mm256_set1_ps(a[3]);
      float* c = part + m * N;
      for (int64_t j = 0; j < N8; j += 8) {
        __m256 acc = _mm256_loadu_ps(c + j);
        acc = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b0 + j), acc);
        acc = _mm256_fmadd_ps(a1, _mm256_loadu_ps(b1 + j), acc);
        acc = _mm256_fmadd_ps(a2, _mm256_loadu_ps(b2 + j), acc);
        acc = _mm256_fmadd_ps(a3, _mm256_loadu_ps(b3 + j), acc);
        _mm256_storeu_ps(c + j, acc);
      }
      for (int64_t j = N8; j < N; ++j) c[j] += a[0] * b0[j] + a[1] * b1[j] + a[2] * b2[j] + a[3] * b3[j];
    }
  }
  for (; k < k1; ++k) {
    const float* b = g.B + k * g.ldb;
    for (int64_t m = 0; m < g.M; ++m) {
      const float a = g.A[m * g.lda + k];
      const __m256 av = _mm256_set1_ps(a);
      float* c = part + m * N;
      for (int64_t j = 0; j < N8; j += 8)
        _mm256_storeu_ps(c + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(b + j), _mm256_loadu_ps(c + j)));
      for (int64_t j = N8; j < N; ++j) c[j] += a * b[j];
    }
  }
}

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void gemm_a_b(const GemmArgs& g) {
  const int64_t M = g.M, N = g.N, chunks = (g.K + kChunkRows - 1) / kChunkRows;
  float* partial = thread_scratch(ScratchSlot::gemv_partial, chunks * M * N);  // (chunks, M, N)
#pragma omp parallel for schedule(dynamic, 1) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    float* part = partial + c * M * N;
    std::fill(part, part + M * N, 0.f);
    accumulate_rows(g, c * kChunkRows, std::min(g.K, (c + 1) * kChunkRows), part);
  }
  // C = alpha * sum of the chunks (in chunk order) + beta * C, columns in parallel.
  const int64_t blocks = (N + 255) / 256;
#pragma omp parallel for schedule(static) if (blocks > 1 && chunks * M * N >= (1 << 15))
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t j = blk * 256; j < std::min(N, (blk + 1) * 256); ++j) {
        float sum = 0.f;
        for (int64_t c = 0; c < chunks; ++c) sum += partial[(c * M + m) * N + j];
        float& out = g.C[m * g.ldc + j];
        out = g.alpha * sum + (g.beta == 0.f ? 0.f : g.beta * out);
      }
}

void gemm_a_bt(const GemmArgs& g) {
  const int64_t M = g.M, N = g.N, K = g.K, K8 = K / 8 * 8;
#pragma omp parallel for schedule(dynamic, 64) if (N * K >= (1 << 15))
  for (int64_t n = 0; n < N; ++n) {
    const float* b = g.B + n * g.ldb;
    for (int64_t m = 0; m < M; ++m) {
      const float* a = g.A + m * g.lda;
      __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 16 <= K8; k += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), s1);
      }
      for (; k < K8; k += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
      float sum = hsum(_mm256_add_ps(s0, s1));
      for (; k < K; ++k) sum += a[k] * b[k];
      float& out = g.C[m * g.ldc + n];
      out = g.alpha * sum + (g.beta == 0.f ? 0.f : g.beta * out);
    }
  }
}

}  // namespace

bool gemm_few_rows_f32__avx2(const GemmArgs& g) {
  if (g.trans_a || g.M < 1 || g.M > kMaxRows || g.K < 1 || g.N < 1) return false;
  if (g.K * g.N < (int64_t(1) << 16)) return false;  // small: the blocked GEMM is as good
  if (g.trans_b)
    gemm_a_bt(g);
  else
    gemm_a_b(g);
  return true;
}

}  // namespace convis
