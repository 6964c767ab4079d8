// When convis uses Winograd F(2x2,3x3) (the arithmetic: conv2d_winograd__avx2.cpp, which explains
// the algorithm), and the portable entry points. The arithmetic is built for AVX2+FMA, so on a CPU
// without them the dispatcher keeps im2col and the entry points throw.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/cpu.h"

namespace convis {

namespace {

std::atomic<int> g_winograd_mode{-1};      // -1: not read yet; 0 off; 1 on
std::atomic<int64_t> g_chunk_tiles{0};     // 0: automatic

// Below this many 2x2 output tiles the per-call kernel transform (16 C x OC matrices) and the
// GEMMs' short M cost more than the multiplications saved. Measured with convis_bench
// (conv2d_algo/..., 2 threads): VGG16's block5 at 96x96 (9 tiles) runs at 0.5-0.6x im2col's speed,
// block4 at 96x96 (36 tiles) at 1.25x forward but 0.9-1.0x for the input gradient, block5 at
// 224x224 (49 tiles) at 1.35x both ways.
constexpr int64_t kMinTiles = 48;
// Minimum channels in and out: with fewer the 16 GEMMs are too thin (K = C) to run near the
// GEMM's peak, and im2col's K = 9 C wins. The tutorial CNN's 32-channel layer trains faster
// without Winograd (an epoch at batch 1000: 12.6 s with im2col, 13.7 s with Winograd).
constexpr int kMinChannels = 64;
// Minimum share of the 2x2 tiles' outputs that lie inside the output: a 3x3 output needs 2x2
// tiles, 16 outputs for 9 (56%).
constexpr double kMinTileUse = 0.75;

bool mode_on() {
  int m = g_winograd_mode.load();
  if (m < 0) {
    const char* env = std::getenv("CONVIS_NO_WINOGRAD");
    m = env && *env && std::string(env) != "0" ? 0 : 1;
    g_winograd_mode.store(m);
  }
  return m == 1;
}


void require_avx2(const char* what) {
  if (!cpu_has_avx2_fma())
    throw std::runtime_error(std::string(what) + ": this CPU has no AVX2+FMA, which the Winograd kernels need");
}

}  // namespace

int64_t winograd_chunk_tiles_forced() { return g_chunk_tiles.load(); }


void set_winograd_enabled(bool on) { g_winograd_mode.store(on ? 1 : 0); }
void set_winograd_chunk_tiles(int64_t tiles) { g_chunk_tiles.store(std::max<int64_t>(tiles, 0)); }

bool winograd_possible(const Conv2dShape& s) {
  return s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1;
}

bool winograd_applies(const Conv2dShape& s) {
  if (!mode_on() || !cpu_has_avx2_fma() || !winograd_possible(s) || s.C < kMinChannels || s.OC < kMinChannels) return false;
  const int64_t th = (s.OH + 1) / 2, tw = (s.OW + 1) / 2;
  const double use = double(s.OH) * s.OW / double(4 * th * tw);
  return int64_t(s.N) * th * tw >= kMinTiles && use >= kMinTileUse;
}

void conv2d_nhwc_fwd_winograd(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  require_avx2("conv2d_nhwc_fwd_winograd");
  conv2d_nhwc_fwd_winograd__avx2(x, w, b, y, s);
}

void conv2d_nhwc_bwd_data_winograd(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  require_avx2("conv2d_nhwc_bwd_data_winograd");
  conv2d_nhwc_bwd_data_winograd__avx2(dy, w, dx, s);
}

}  // namespace convis
