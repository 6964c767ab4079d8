// Our GEMM: packed, register- and cache-blocked, AVX2/FMA, OpenMP across cores.
//
//   C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C(M,N)      (row-major, see gemm.h)
//
// The structure is the classic Goto/BLIS one, five loops around a micro-kernel:
//
//   for jc in N step NC                     B panel (KC x NC) packed into NR-wide column strips
//     for pc in K step KC                   (one KC slice at a time; in L2/L3)
//       for ic in M step MC                 A block (MC x KC) packed into MR-tall row slivers, L2
//         for jr in NC step NR              B strip (KC x NR) stays in L1 across the ir loop
//           for ir in MC step MR            micro-kernel: C tile (MR x NR) += A sliver * B strip
//
// Register blocking (MR x NR = 6 x 16): the C tile is 6 rows x 2 ymm = 12 accumulators; per k
// we load 2 ymm of B and broadcast 6 floats of A, then do 12 FMAs. That uses 12 + 2 + 1 of the
// 16 ymm registers, and the 12 independent FMA chains cover Zen3's 2 FMA pipes x 4 cycles
// latency (8 needed). Loads per k: 8 for 12 FMAs (6 cycles), well under 3 loads/cycle.
//
// Cache blocking for Zen3 (32 KiB L1d, 512 KiB L2 per core, L3 shared):
//   KC = 256: B strip 256*16*4 = 16 KiB + A sliver 256*6*4 = 6 KiB fit in L1 together.
//   MC = 144: A block 144*256*4 = 144 KiB, under a third of L2, beside the B strips streaming in.
//   NC = 2048: B slice 256*2048*4 = 2 MiB, in L3 (every VGG16 layer has N = OC <= 512 anyway).
// KC is balanced (K cut into equal blocks of at most 256) so there is no thin last block.
// Measured on Zen3: 96..288 for KC and 96..192 for MC are all within noise of each other.
// While an A block is multiplied, the source of the next one is prefetched into L2 a few lines
// per micro-kernel call; that is +5-10% where A streams from DRAM (VGG16 block1, 224x224).
//
// Transposes are handled only in packing: after packing, the micro-kernel sees the same layout
// whichever of A/B was stored transposed. Edges: packed slivers are zero-padded to MR/NR, and a
// partial C tile is computed into a small temp tile and copied out.
//
// Threads each take a rectangle of C (split along M, or N when that balances better), never
// a share of K, and every C element is summed in the same order (k ascending inside a KC block,
// KC blocks in order) whatever the thread count, so 1 and 2 threads give bitwise equal results.
#include "kernels/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/scratch.h"

namespace convis {

namespace {

constexpr int64_t MR = 6, NR = 16;
constexpr int64_t KC = 256, MC = 144, NC = 2048;  // see the blocking math above

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }


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
        _mm_storeu_ps(dst + k * MR, _mm_loadu_ps(src));  // 4 + 2 floats, no over-read of A
        dst[k * MR + 4] = src[4];
        dst[k * MR + 5] = src[5];
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

// Prefetches (into L2) the source of the next A block while the current one is being multiplied,
// a few lines per micro-kernel call, so that packing it finds it in cache instead of DRAM.
// The source is `rows` runs of `run` floats, `stride` floats apart.
struct APrefetch {
  const float* p = nullptr;
  int64_t rows = 0, stride = 0, run = 0, r = 0, off = 0, per_call = 0;
  void step() {
    for (int64_t n = 0; n < per_call && r < rows; ++n) {
      _mm_prefetch(reinterpret_cast<const char*>(p + r * stride + off), _MM_HINT_T1);
      off += 16;
      if (off >= run) { off = 0; ++r; }
    }
  }
};

// The five loops on one thread, for the whole of g (the parallel driver hands each thread a
// rectangle of C as its own smaller GEMM). Pack buffers are per thread and only grow (kernels/scratch.h).
void gemm_f32_blocked(const GemmArgs& g, int64_t kc_blk) {
  const int64_t M = g.M, N = g.N, K = g.K;
  const int64_t mc_blk = std::min(MC, round_up(M, MR));
  const int64_t nc_blk = std::min(NC, round_up(N, NR));
  float* apack = thread_scratch(ScratchSlot::gemm_pack_a, mc_blk * kc_blk + 2 * MR);  // + slack for pack_a_n's stores
  float* bpack = thread_scratch(ScratchSlot::gemm_pack_b, kc_blk * nc_blk);

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += kc_blk) {
      const int64_t kc = std::min(kc_blk, K - pc);
      const float beta = pc == 0 ? g.beta : 1.f;  // later K blocks accumulate onto C

      for (int64_t j = 0; j < nc; j += NR) {
        const int64_t nr = std::min(NR, nc - j);
        float* dst = bpack + j * kc;
        const float* src = g.trans_b ? g.B + (jc + j) * g.ldb + pc : g.B + pc * g.ldb + jc + j;
        if (nr < NR) pack_b_edge(g.trans_b, kc, nr, src, g.ldb, dst);
        else if (g.trans_b) pack_b_t(kc, src, g.ldb, dst);
        else pack_b_n(kc, src, g.ldb, dst);
      }

      for (int64_t ic = 0; ic < M; ic += mc_blk) {
        const int64_t mc = std::min(mc_blk, M - ic);
        if (g.trans_a) pack_a_t(mc, kc, g.A + pc * g.lda + ic, g.lda, apack);
        else pack_a_n(mc, kc, g.A + ic * g.lda + pc, g.lda, apack);
        APrefetch pf;
        {
          int64_t ni = ic + mc_blk, np = pc;
          if (ni >= M) { ni = 0; np = pc + kc_blk; }
          if (np < K) {
            const int64_t nmc = std::min(mc_blk, M - ni), nkc = std::min(kc_blk, K - np);
            pf.stride = g.lda;
            if (g.trans_a) { pf.p = g.A + np * g.lda + ni; pf.rows = nkc; pf.run = nmc; }
            else { pf.p = g.A + ni * g.lda + np; pf.rows = nmc; pf.run = nkc; }
            const int64_t lines = pf.rows * ceil_div(pf.run, 16);
            pf.per_call = ceil_div(lines, ceil_div(mc, MR) * ceil_div(nc, NR));
          }
        }
        for (int64_t j = 0; j < nc; j += NR) {
          const int64_t nr = std::min(NR, nc - j);
          const float* bs = bpack + j * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min(MR, mc - ir);
            float* c = g.C + (ic + ir) * g.ldc + jc + j;
            const float* as = apack + ir * kc;
            pf.step();
            if (mr == MR && nr == NR)
              gemm_f32_6x16__avx2_microkernel(kc, as, bs, c, g.ldc, g.alpha, beta);
            else
              gemm_f32_6x16__avx2_edge(mr, nr, kc, as, bs, c, g.ldc, g.alpha, beta);
          }
        }
      }
    }
  }
}

// The sub-GEMM for rows [i0,i1) and columns [j0,j1) of C.
GemmArgs sub_gemm(const GemmArgs& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  GemmArgs s = g;
  s.M = i1 - i0;
  s.N = j1 - j0;
  s.A = g.trans_a ? g.A + i0 : g.A + i0 * g.lda;
  s.B = g.trans_b ? g.B + j0 * g.ldb : g.B + j0;
  s.C = g.C + i0 * g.ldc + j0;
  return s;
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
  if (gemm_few_rows_f32__avx2(g)) return;  // 1..4 rows: stream B once (dense layers at batch 1)

  // Threads: OpenMP's default team, unless we are already inside a parallel region (the caller
  // parallelises over a batch) or the problem is too small to pay for waking a team.
  int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (double(g.M) * double(g.N) * double(g.K) < 64.0 * 64.0 * 64.0) nt = 1;
  if (nt <= 1) {
    gemm_f32_blocked(g, kc_blk);
    return;
  }

  // Threads split C into a tm x tn grid of rectangles (tm * tn = nt), cut on MR/NR tile edges,
  // and each runs the whole blocked GEMM on its rectangle: no barriers, no shared buffers, so
  // a thread that is descheduled (other jobs on the machine) never stalls the others mid-call.
  // The price is that each thread packs its own operands: split rows and every thread packs
  // all of B, split columns and every thread packs all of A. The grid minimises the slowest
  // thread's cost, rows*cols*K multiply-adds + (rows+cols)*K packed floats, counting a packed
  // float as 16 multiply-adds (the micro-kernel does 16 per cycle, packing moves about one float
  // per cycle). For VGG16 shapes that means: split the longer side, evenly in whole tiles.
  const int64_t slivers = ceil_div(g.M, MR), strips = ceil_div(g.N, NR);
  int tm = nt, tn = 1;
  double best = 1e300;
  for (int m = 1; m <= nt; ++m) {
    if (nt % m) continue;
    const int n = nt / m;
    const double rows = double(ceil_div(slivers, m) * MR), cols = double(ceil_div(strips, n) * NR);
    const double cost = rows * cols + (rows + cols) * 16.0;
    if (cost < best) { best = cost; tm = m; tn = n; }
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), nthr = omp_get_num_threads();
    if (nthr == nt) {
      const int64_t tr = t / tn, tc = t % tn;
      const int64_t i0 = std::min(g.M, slivers * tr / tm * MR), i1 = std::min(g.M, slivers * (tr + 1) / tm * MR);
      const int64_t j0 = std::min(g.N, strips * tc / tn * NR), j1 = std::min(g.N, strips * (tc + 1) / tn * NR);
      if (i0 < i1 && j0 < j1) gemm_f32_blocked(sub_gemm(g, i0, i1, j0, j1), kc_blk);
    } else if (t == 0) {
      gemm_f32_blocked(g, kc_blk);  // got a smaller team than asked for: do it all here
    }
  }
}

}  // namespace convis
