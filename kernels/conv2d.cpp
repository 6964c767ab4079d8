// Convolution as im2col + GEMM, forward and backward side by side (see conv2d.h).
//
//   forward:       Y(P, OC)  = col(P, K) * W(K, OC) + b          P = N*OH*OW, K = KH*KW*C
//   backward data: dcol(P, K) = dY(P, OC) * W^T ;  dx += col2im(dcol)
//   backward filt: dW(K, OC) += col^T * dY ;      db += sum over P of dY
//
// The P rows are cut into tiles of whole output rows (OW pixels each) so the col buffer never
// exceeds the im2col budget; the tile's GEMM is what runs in parallel (OpenMP inside gemm), and
// im2col/col2im parallelise on their own between GEMM calls, so no parallel regions nest.
// A 1x1 stride-1 unpadded convolution is a plain GEMM on x viewed as (N*H*W, C).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/scratch.h"

namespace convis {

namespace {

std::atomic<int64_t> g_im2col_budget{kIm2colBytes};



int64_t patch_size(const Conv2dShape& s) { return int64_t(s.KH) * s.KW * s.C; }

// Preferred col tile size. Each tile's GEMM packs W again, so a tile should be large next to
// W (at least twice its bytes); but a tile far larger than the caches makes im2col's writes and
// the GEMM's reads two trips to DRAM. Measured on Zen3 (1 thread, VGG16 at 224x224): block1_conv2
// runs at 96 GFLOP/s with 8 MiB tiles and 72 GFLOP/s with 32 MiB; block5 layers want ~2x W.
constexpr int64_t kIm2colTargetBytes = 8LL << 20;

// Output rows (of OW pixels) per tile: the preferred size capped by the budget, at least one row.
int64_t tile_rows(const Conv2dShape& s) {
  const int64_t row_bytes = int64_t(s.OW) * patch_size(s) * int64_t(sizeof(float));
  const int64_t w_bytes = patch_size(s) * s.OC * int64_t(sizeof(float));
  const int64_t bytes = std::min(std::max(kIm2colTargetBytes, 2 * w_bytes), im2col_budget_bytes());
  return std::clamp<int64_t>(bytes / row_bytes, 1, int64_t(s.N) * s.OH);
}

// The im2col path's loop: the N*OH output rows in tiles of tile_rows(s), each handed to
// f(col, row0, rows, P) with this thread's col scratch of P = rows*OW patches of patch_size(s).
template <class F>
void for_each_row_tile(const Conv2dShape& s, const F& f) {
  const int64_t rows_total = int64_t(s.N) * s.OH, tile = tile_rows(s);
  float* col = thread_scratch(ScratchSlot::im2col_col, tile * s.OW * patch_size(s));
  for (int64_t row0 = 0; row0 < rows_total; row0 += tile) {
    const int64_t rows = std::min(tile, rows_total - row0);
    f(col, row0, rows, rows * s.OW);
  }
}

// y:(P, OC) += b:(OC) on every row
void add_bias(float* y, const float* b, int64_t P, int64_t OC) {
#pragma omp parallel for schedule(static) if (P * OC >= kParallelFloats)
  for (int64_t p = 0; p < P; ++p) {
    float* yp = y + p * OC;
    for (int64_t oc = 0; oc < OC; ++oc) yp[oc] += b[oc];
  }
}

// db:(OC) += sum over rows of dy:(P, OC), in double. The rows are cut into fixed chunks summed
// in parallel, then the chunk sums are added in chunk order, so db does not depend on the
// thread count.
void add_column_sums(const float* dy, float* db, int64_t P, int64_t OC) {
  constexpr int64_t kChunkRows = 1024;
  const int64_t chunks = (P + kChunkRows - 1) / kChunkRows;
  std::vector<double> partial(size_t(chunks * OC), 0.0);  // (chunks, OC)
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; ++k) {
    double* acc = partial.data() + k * OC;
    for (int64_t p = k * kChunkRows; p < std::min(P, (k + 1) * kChunkRows); ++p) {
      const float* dyp = dy + p * OC;
      for (int64_t oc = 0; oc < OC; ++oc) acc[oc] += dyp[oc];
    }
  }
  for (int64_t oc = 0; oc < OC; ++oc) {
    double sum = 0.0;
    for (int64_t k = 0; k < chunks; ++k) sum += partial[size_t(k * OC + oc)];
    db[oc] += float(sum);
  }
}

}  // namespace

void set_im2col_budget_bytes(int64_t bytes) { g_im2col_budget = bytes > 0 ? bytes : kIm2colBytes; }
int64_t im2col_budget_bytes() { return g_im2col_budget; }

Conv2dShape make_conv2d_shape(int N, int H, int W, int C, int KH, int KW, int OC,
                              int SH, int SW, Padding padding) {
  const std::string where = "conv2d on input (N,H,W,C)=(" + std::to_string(N) + "," +
                            std::to_string(H) + "," + std::to_string(W) + "," + std::to_string(C) +
                            ") with kernel (" + std::to_string(KH) + "," + std::to_string(KW) +
                            "," + std::to_string(C) + "," + std::to_string(OC) + "), strides (" +
                            std::to_string(SH) + "," + std::to_string(SW) + "), padding '" +
                            padding_name(padding) + "'";
  if (N <= 0 || C <= 0 || OC <= 0)
    throw std::invalid_argument(where + ": batch, channels and filters must be positive");
  const AxisWindow h = window_along_axis(H, KH, SH, padding, (where + ": height").c_str());
  const AxisWindow w = window_along_axis(W, KW, SW, padding, (where + ": width").c_str());
  Conv2dShape s;
  s.N = N; s.H = H; s.W = W; s.C = C;
  s.KH = KH; s.KW = KW; s.OC = OC;
  s.SH = SH; s.SW = SW;
  s.pad_top = h.pad_before; s.pad_left = w.pad_before;
  s.OH = h.out; s.OW = w.out;
  return s;
}

// x itself is the col matrix: one pixel, one channel vector, nothing to gather.
bool conv2d_is_pointwise(const Conv2dShape& s) {
  return s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.pad_top == 0 && s.pad_left == 0;
}

// x:(N,H,W,C) w:(KH,KW,C,OC) b:(OC) or null  y:(N,OH,OW,OC)
void conv2d_nhwc_fwd(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  const int64_t K = patch_size(s), OC = s.OC;
  const KernelTable& t = kernels();
  const ConvAlgo algo = choose_conv_forward_algorithm(s, t, conv_policy());
  if (algo == ConvAlgo::winograd4) {
    t.conv2d_fwd_winograd4(x, w, b, y, s);
    return;
  }
  if (algo == ConvAlgo::winograd) {
    t.conv2d_fwd_winograd(x, w, b, y, s);
    return;
  }
  if (algo == ConvAlgo::pointwise) {  // Y(N*H*W, OC) = X(N*H*W, C) * W(C, OC)
    const int64_t P = int64_t(s.N) * s.H * s.W;
    gemm(false, false, P, OC, K, x, w, y);
    if (b) add_bias(y, b, P, OC);
    return;
  }
  for_each_row_tile(s, [&](float* col, int64_t row0, int64_t rows, int64_t P) {
    float* y_tile = y + row0 * s.OW * OC;
    im2col_nhwc(x, col, s, row0, rows);
    gemm(false, false, P, OC, K, col, w, y_tile);  // y_tile(P, OC) = col(P, K) * W(K, OC)
    if (b) add_bias(y_tile, b, P, OC);  // while the tile is still in cache
  });
}

// dy:(N,OH,OW,OC) w:(KH,KW,C,OC)  dx:(N,H,W,C) accumulated
void conv2d_nhwc_bwd_data(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  const int64_t K = patch_size(s), OC = s.OC;
  const KernelTable& t = kernels();
  const ConvAlgo algo = choose_conv_algorithm(s, t, conv_policy());
  if (algo == ConvAlgo::winograd) {
    t.conv2d_bwd_data_winograd(dy, w, dx, s);
    return;
  }
  if (algo == ConvAlgo::pointwise) {  // dX(N*H*W, C) += dY(N*H*W, OC) * W(C, OC)^T
    gemm(false, true, int64_t(s.N) * s.H * s.W, K, OC, dy, w, dx, /*accumulate=*/true);
    return;
  }
  for_each_row_tile(s, [&](float* dcol, int64_t row0, int64_t rows, int64_t P) {
    gemm(false, true, P, K, OC, dy + row0 * s.OW * OC, w, dcol);  // dcol(P, K) = dY(P, OC) * W^T
    col2im_nhwc(dcol, dx, s, row0, rows);
  });
}

// x:(N,H,W,C) dy:(N,OH,OW,OC)  dw:(KH,KW,C,OC) accumulated  db:(OC) accumulated, or null
void conv2d_nhwc_bwd_filter(const float* x, const float* dy, float* dw, float* db, const Conv2dShape& s) {
  const int64_t K = patch_size(s), OC = s.OC;
  if (db) add_column_sums(dy, db, int64_t(s.N) * s.OH * s.OW, OC);
  if (conv2d_is_pointwise(s)) {  // dW(C, OC) += X(N*H*W, C)^T * dY(N*H*W, OC)
    gemm(true, false, K, OC, int64_t(s.N) * s.H * s.W, x, dy, dw, /*accumulate=*/true);
    return;
  }
  for_each_row_tile(s, [&](float* col, int64_t row0, int64_t rows, int64_t P) {
    im2col_nhwc(x, col, s, row0, rows);
    // dW(K, OC) += col(P, K)^T * dY(P, OC), summed over the tiles
    gemm(true, false, K, OC, P, col, dy + row0 * s.OW * OC, dw, /*accumulate=*/true);
  });
}

}  // namespace convis
