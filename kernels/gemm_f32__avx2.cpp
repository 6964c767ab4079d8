// Our GEMM: packed, register- and cache-blocked, AVX2/FMA, OpenMP across cores.
//
//   C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C(M,N)      (row-major, see gemm.h)
//
// The structure is the classic Goto/BLIS one, five loops around a micro-kernel:
//
//   for jc in N step NC                     B panel  (KC x NC)  lives in L3, shared by threads
//     for pc in K step KC                   pack B panel into NR-wide column strips
//       for ic in M step MC   <- threads    pack A block (MC x KC) into MR-tall row slivers, in L2
//         for jr in NC step NR              B sliver (KC x NR) stays in L1 across the ir loop
//           for ir in MC step MR            micro-kernel: C tile (MR x NR) += A sliver * B sliver
//
// Register blocking (MR x NR = 6 x 16): the C tile is 6 rows x 2 ymm = 12 accumulators; per k
// we load 2 ymm of B and broadcast 6 floats of A, then do 12 FMAs. That leaves 16 - 12 - 2 = 2
// ymm for the A broadcast, and the 12 independent FMA chains cover Zen3's 2 FMA pipes x 4 cycles
// latency (8 needed) with room to spare. Loads per FMA: 8/12, well under the 3 loads/cycle.
//
// Cache blocking for Zen3 (32 KiB L1d, 512 KiB L2 per core):
//   KC = 256: B sliver 256*16*4 = 16 KiB + A sliver 256*6*4 = 6 KiB fit in L1 together.
//   MC = 144: A block 144*256*4 = 144 KiB, a third of L2, leaving room for the streamed B strips.
//   NC = 2048: B panel 256*2048*4 = 2 MiB, in L3 (every VGG16 layer has N = OC <= 512 anyway).
// KC is balanced (K split into equal blocks of at most 256) so there is no thin last block.
//
// Transposes are handled only in packing: after packing, the micro-kernel sees the same layout
// whichever of A/B was stored transposed. Edges: packed slivers are zero-padded to MR/NR, and a
// partial C tile is computed into a small temp tile and copied out.
//
// Threads split M (or N when M is too small), never K, and every C element is summed in the
// same order (k ascending inside a KC block, KC blocks in order) whatever the thread count, so
// the result is bitwise the same for 1 and 2 threads.
#include "kernels/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

namespace convis {

namespace {

constexpr int64_t MR = 6, NR = 16;
constexpr int64_t KC = 256, MC = 144, NC = 2048;  // NC a multiple of NR

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// A 64-byte aligned float buffer that only grows; one per thread (thread_local), so a call never
// mallocs once the buffers have reached the size of the largest GEMM seen.
struct PackBuffer {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t count) {
    if (count > n) {
      std::free(p);
      n = round_up(int64_t(count), 16);
      p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
      if (!p) throw std::bad_alloc();
    }
    return p;
  }
  ~PackBuffer() { std::free(p); }
};

// In-register 8x8 transpose: r[i] holds row i on entry and column i on exit.
inline void transpose_8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// ---- packing A: rows [0,mc) x cols [0,kc) of op(A) -> slivers of MR rows, k-major ------------
// dst sliver s, element (r,k) at dst[s*kc*MR + k*MR + r]. Rows past mc are zero.
// a points at op(A)(i0, p0). dst needs MR floats of slack past the end (overlapping stores).

// A stored (M,K): a sliver reads MR rows, each contiguous in k. 8 k at a time: load MR rows of
// 8 floats, transpose 8x8 (2 zero rows), store each k's 8 floats at dst+k*MR; the 2 junk floats
// of each store are overwritten by the next one (and the slack absorbs the last).
void pack_a_n(int64_t mc, int64_t kc, const float* a, int64_t lda, float* dst) {
  for (int64_t i = 0; i < mc; i += MR, dst += kc * MR) {
    const int64_t mr = std::min(MR, mc - i);
    const float* ai = a + i * lda;
    int64_t k = 0;
    if (mr == MR) {
      for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int64_t q = 0; q < MR; ++q) r[q] = _mm256_loadu_ps(ai + q * lda + k);
        r[6] = r[7] = _mm256_setzero_ps();
        transpose_8x8(r);
        for (int64_t t = 0; t < 8; ++t) _mm256_storeu_ps(dst + (k + t) * MR, r[t]);
      }
    }
    for (; k < kc; ++k)
      for (int64_t q = 0; q < MR; ++q) dst[k * MR + q] = q < mr ? ai[q * lda + k] : 0.f;
  }
}

// A stored (K,M): op(A)(i,k) = a[k*lda + i], so each k of a sliver is MR contiguous floats.
void pack_a_t(int64_t mc, int64_t kc, const float* a, int64_t lda, float* dst) {
  for (int64_t i = 0; i < mc; i += MR, dst += kc * MR) {
    const int64_t mr = std::min(MR, mc - i);
    if (mr == MR) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = a + k * lda + i;
        _mm_storeu_ps(dst + k * MR, _mm_loadu_ps(src));
        _mm_storel_pi(reinterpret_cast<__m64*>(dst + k * MR + 4),
                      _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(src + 4))));
      }
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t q = 0; q < MR; ++q) dst[k * MR + q] = q < mr ? a[k * lda + i + q] : 0.f;
    }
  }
}

// ---- packing B: rows [0,kc) x cols [0,nc) of op(B) -> strips of NR columns, k-major ----------
// dst strip s, element (k,j) at dst[s*kc*NR + k*NR + j]. Columns past nc are zero.

// B stored (K,N): each k of a strip is NR contiguous floats.
void pack_b_n(int64_t kc, const float* b, int64_t ldb, float* dst) {
  for (int64_t k = 0; k < kc; ++k) {
    _mm256_store_ps(dst + k * NR, _mm256_loadu_ps(b + k * ldb));
    _mm256_store_ps(dst + k * NR + 8, _mm256_loadu_ps(b + k * ldb + 8));
  }
}

// B stored (N,K): op(B)(k,j) = b[j*ldb + k]; each column j is contiguous in k. Transpose 8x8
// blocks: 8 columns x 8 k in, 8 k-rows of 8 columns out, aligned stores.
void pack_b_t(int64_t kc, const float* b, int64_t ldb, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int64_t h = 0; h < NR; h += 8) {
      __m256 r[8];
      for (int64_t q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(b + (h + q) * ldb + k);
      transpose_8x8(r);
      for (int64_t t = 0; t < 8; ++t) _mm256_store_ps(dst + (k + t) * NR + h, r[t]);
    }
  }
  for (; k < kc; ++k)
    for (int64_t q = 0; q < NR; ++q) dst[k * NR + q] = b[q * ldb + k];
}

// One strip of width nr <= NR (the last, partial one), either layout, zero-padded.
void pack_b_edge(bool trans_b, int64_t kc, int64_t nr, const float* b, int64_t ldb, float* dst) {
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t q = 0; q < NR; ++q)
      dst[k * NR + q] = q < nr ? (trans_b ? b[q * ldb + k] : b[k * ldb + q]) : 0.f;
}

// ---- the micro-kernel -----------------------------------------------------------------------
// C(6,16) = alpha * sum_k a[k*6 + r] * b[k*16 + j] + beta * C, beta == 0 => C not read.
// a: packed A sliver (kc x 6), b: packed B sliver (kc x 16, 64-byte aligned), c: row-major, ldc.
void gemm_f32_6x16__avx2_microkernel(int64_t kc, const float* a, const float* b, float* c,
                                     int64_t ldc, float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t r = 0; r < MR; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 av;
    av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  // out = alpha*acc + beta*c, written as one fma so the scalar edge path (std::fma) matches it.
  auto store_row = [&](float* cr, __m256 x0, __m256 x1) {
    if (beta == 0.f) {
      _mm256_storeu_ps(cr, _mm256_mul_ps(va, x0));
      _mm256_storeu_ps(cr + 8, _mm256_mul_ps(va, x1));
    } else if (beta == 1.f) {
      _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, x0, _mm256_loadu_ps(cr)));
      _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, x1, _mm256_loadu_ps(cr + 8)));
    } else {
      _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, x0, _mm256_mul_ps(vb, _mm256_loadu_ps(cr))));
      _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, x1, _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8))));
    }
  };
  store_row(c + 0 * ldc, c00, c01);
  store_row(c + 1 * ldc, c10, c11);
  store_row(c + 2 * ldc, c20, c21);
  store_row(c + 3 * ldc, c30, c31);
  store_row(c + 4 * ldc, c40, c41);
  store_row(c + 5 * ldc, c50, c51);
}

// A partial tile (mr < 6 or nr < 16): run the full kernel into a temp tile, copy the valid part.
void gemm_f32_6x16__avx2_edge(int64_t mr, int64_t nr, int64_t kc, const float* a, const float* b,
                              float* c, int64_t ldc, float alpha, float beta) {
  alignas(64) float t[MR * NR];
  gemm_f32_6x16__avx2_microkernel(kc, a, b, t, NR, 1.f, 0.f);
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) {
      float& out = c[r * ldc + j];
      out = beta == 0.f ? alpha * t[r * NR + j]
                        : std::fma(alpha, t[r * NR + j], beta == 1.f ? out : beta * out);
    }
}

// ---- the driver ------------------------------------------------------------------------------

// Everything one thread does; tid/nthr from the team (or 0/1 on the calling thread). `barrier`
// is the team barrier (a no-op when single-threaded: an `omp barrier` there would bind to an
// enclosing team the caller may be running in).
template <class Barrier>
void gemm_f32_thread(const GemmArgs& g, int64_t kc_blk, float* bpack, int tid, int nthr,
                     Barrier barrier) {
  static thread_local PackBuffer abuf;
  const int64_t M = g.M, N = g.N, K = g.K;

  // Work split. Along M: the rows are cut into nchunks (a multiple of nthr) chunks of <= MC rows,
  // rounded to MR, dealt round-robin. When M is too short for that to balance (fewer than 4 slivers
  // per thread), each thread instead takes a contiguous range of the NR strips and all rows.
  const int64_t slivers = ceil_div(M, MR);
  const bool split_m = nthr == 1 || slivers >= 4 * nthr;
  int64_t mc_blk = MC;
  if (split_m && nthr > 1) {
    const int64_t nchunks = round_up(ceil_div(M, MC), nthr);
    mc_blk = round_up(ceil_div(M, nchunks), MR);
  }
  float* apack = abuf.get(size_t(mc_blk * kc_blk + 2 * MR));

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t strips = ceil_div(nc, NR);
    for (int64_t pc = 0; pc < K; pc += kc_blk) {
      const int64_t kc = std::min(kc_blk, K - pc);
      const float beta = pc == 0 ? g.beta : 1.f;

      // Pack the B panel together: strips dealt round-robin.
      for (int64_t s = tid; s < strips; s += nthr) {
        const int64_t j = jc + s * NR, nr = std::min(NR, N - j);
        float* dst = bpack + s * kc * NR;
        const float* src = g.trans_b ? g.B + j * g.ldb + pc : g.B + pc * g.ldb + j;
        if (nr < NR) pack_b_edge(g.trans_b, kc, nr, src, g.ldb, dst);
        else if (g.trans_b) pack_b_t(kc, src, g.ldb, dst);
        else pack_b_n(kc, src, g.ldb, dst);
      }
      barrier();

      int64_t s0 = 0, s1 = strips, i_begin = 0, i_step = mc_blk;
      if (split_m) {
        i_begin = tid * mc_blk;
        i_step = mc_blk * nthr;
      } else {
        s0 = strips * tid / nthr;
        s1 = strips * (tid + 1) / nthr;
      }
      if (s0 < s1) {
        for (int64_t ic = i_begin; ic < M; ic += i_step) {
          const int64_t mc = std::min(mc_blk, M - ic);
          if (g.trans_a) pack_a_t(mc, kc, g.A + pc * g.lda + ic, g.lda, apack);
          else pack_a_n(mc, kc, g.A + ic * g.lda + pc, g.lda, apack);
          for (int64_t s = s0; s < s1; ++s) {
            const int64_t j = jc + s * NR, nr = std::min(NR, N - j);
            const float* bs = bpack + s * kc * NR;
            for (int64_t ir = 0; ir < mc; ir += MR) {
              const int64_t mr = std::min(MR, mc - ir);
              float* c = g.C + (ic + ir) * g.ldc + j;
              const float* as = apack + ir * kc;
              if (mr == MR && nr == NR)
                gemm_f32_6x16__avx2_microkernel(kc, as, bs, c, g.ldc, g.alpha, beta);
              else
                gemm_f32_6x16__avx2_edge(mr, nr, kc, as, bs, c, g.ldc, g.alpha, beta);
            }
          }
        }
      }
      barrier();  // the next pc overwrites the shared B panel
    }
  }
}

}  // namespace

void gemm_f32__avx2(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0) {  // C = beta * C (an empty sum), beta == 0 => not read
    for (int64_t i = 0; i < g.M; ++i)
      for (int64_t j = 0; j < g.N; ++j) {
        float& c = g.C[i * g.ldc + j];
        c = g.beta == 0.f ? 0.f : g.beta * c;
      }
    return;
  }
  // Balanced KC: K cut into ceil(K/KC) near-equal blocks (rounded up to 8 for the packing
  // transposes), e.g. K = 576 -> 3 x 192, K = 1152 -> 5 x 232 (last 224), not 256,256,64.
  // It depends only on K, never on the thread count, so the summation order is fixed.
  const int64_t kc_blk = round_up(ceil_div(g.K, ceil_div(g.K, KC)), 8);
  const int64_t nc_max = std::min(NC, round_up(g.N, NR));

  // The B panel is shared by the team; it lives in the calling thread's buffer.
  static thread_local PackBuffer bbuf;
  float* bpack = bbuf.get(size_t(kc_blk * nc_max));

  // Threads: OpenMP's default team, unless we are already inside a parallel region (the caller
  // parallelises over a batch) or the problem is too small to pay for waking a team.
  int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (double(g.M) * double(g.N) * double(g.K) < 64.0 * 64.0 * 64.0) nt = 1;
  if (nt <= 1) {
    gemm_f32_thread(g, kc_blk, bpack, 0, 1, [] {});
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    gemm_f32_thread(g, kc_blk, bpack, omp_get_thread_num(), omp_get_num_threads(),
                    [] {
#pragma omp barrier
                    });
  }
}

}  // namespace convis
