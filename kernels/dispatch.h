#pragma once
// The dispatch table: the one place that decides which kernel runs each op on which backend.
//
// A backend is one KernelTable, a struct of function pointers filled once (as XNNPACK's configs
// are). Ops call through kernels(); nothing outside kernels/dispatch.cpp tests CPU features or
// uses #ifdef to pick code. A pointer that is null means "this backend has no such kernel" and
// the policy functions below never choose it.
//
// Adding a backend (CUDA, say) means: a value in Backend, its kernel files (kernels/cuda/...), a
// fill function in dispatch.cpp, and its tests against the reference twins; no op changes.
#include <cstdint>

#include "kernels/conv2d.h"
#include "kernels/gemm.h"

namespace convis {

enum class Backend { portable, avx2_fma };

struct KernelTable {
  Backend backend = Backend::portable;
  const char* name = "";  // for `vis_tool version` and benchmarks
  // C(M,N) = op(A) op(B) (+ beta C): gemm.h
  void (*gemm_f32)(const GemmArgs& g) = nullptr;
  // Winograd F(2x2,3x3), 3x3 stride 1 (conv2d.h): y overwritten / dx accumulated. May be null.
  void (*conv2d_fwd_winograd)(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) = nullptr;
  void (*conv2d_bwd_data_winograd)(const float* dy, const float* w, float* dx, const Conv2dShape& s) = nullptr;
  // Winograd F(4x4,3x3), the forward only (y overwritten). May be null.
  void (*conv2d_fwd_winograd4)(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) = nullptr;
};

bool backend_available(Backend b);            // can this machine run it?
const KernelTable& kernel_table(Backend b);   // throws std::runtime_error if it cannot
// The table ops use: the best available backend, chosen on first use (CONVIS_NO_AVX2=1 in the
// environment: portable), or the one set by use_backend.
const KernelTable& kernels();
// Tests and benchmarks: run every op on backend b from now on (throws if unavailable).
// Process-wide; not meant to be changed while an op runs.
void use_backend(Backend b);

// ---- the convolution algorithm: a policy beside the table, testable alone -------------------
enum class ConvAlgo {
  pointwise,  // 1x1, stride 1, no padding: one GEMM on the input as it is
  im2col,     // tiles of im2col rows, then a GEMM per tile
  winograd,   // F(2x2,3x3) through the table's Winograd kernels
  winograd4,  // F(4x4,3x3), forward only
};
struct ConvPolicy {
  bool winograd = true;  // CONVIS_NO_WINOGRAD=1 or set_winograd_enabled(false) turn it off
  // Below this many 2x2 output tiles the per-call kernel transform and the GEMMs' short M cost
  // more than the multiplications saved (convis_bench conv2d_algo/..., 2 threads: VGG16's block5
  // at 96x96, 9 tiles, runs at 0.5-0.6x im2col; block4 at 96x96, 36 tiles, 1.25x forward but
  // 0.9-1.0x backward; block5 at 224x224, 49 tiles, 1.35x both ways).
  int64_t min_tiles = 48;
  // With fewer channels in or out the 16 GEMMs are too thin (K = C) and im2col's K = 9 C wins
  // (the tutorial CNN's 32-channel layer: an epoch at batch 1000, 12.6 s im2col, 13.7 s Winograd).
  int min_channels = 64;
  // Share of the 2x2 tiles' outputs inside the output: a 3x3 output needs 2x2 tiles (56%).
  double min_tile_use = 0.75;
  // F(4x4,3x3) for the forward where F(2x2) would run, the 4x4 tiles fit as well (the same
  // min_tile_use) and there are enough of them: convis_bench conv2d_algo/.../224/b1, 2 threads,
  // VGG16 at 224, kernel transforms cached (conv2d_winograd.h): block3_conv2 (196 tiles) 7.6 ms
  // against F(2x2)'s 14.2, block4_conv2 (49) 10.3 against 13.2, block5_conv2 (16) 5.6 against 4.8.
  // CONVIS_NO_WINOGRAD4=1 turns it off.
  bool winograd4 = true;
  int64_t min_tiles4 = 40;
};
ConvPolicy conv_policy();  // the process policy (winograd switch from the environment / setter)
// For the forward and the input gradient (the filter gradient is always pointwise or im2col).
ConvAlgo choose_conv_algorithm(const Conv2dShape& s, const KernelTable& t, const ConvPolicy& p);
// The forward's: choose_conv_algorithm's, with winograd4 in place of winograd where it fits.
ConvAlgo choose_conv_forward_algorithm(const Conv2dShape& s, const KernelTable& t, const ConvPolicy& p);
const char* conv_algo_name(ConvAlgo a);

}  // namespace convis
