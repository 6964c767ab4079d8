#pragma once
// Internal to kernels/: Winograd F(2x2,3x3) and F(4x4,3x3) (see conv2d.h for the public API).
#include <cstdint>

#include "kernels/conv2d.h"

namespace convis {

// conv2d_winograd__avx2.cpp (built with -mavx2 -mfma): the AVX2+FMA table's entries (dispatch.cpp)
void conv2d_nhwc_fwd_winograd__avx2(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s);
void conv2d_nhwc_bwd_data_winograd__avx2(const float* dy, const float* w, float* dx, const Conv2dShape& s);
// conv2d_winograd4__avx2.cpp: F(4x4,3x3), the forward only
void conv2d_nhwc_fwd_winograd4__avx2(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s);
// conv2d_winograd.cpp: the tiles per chunk set by set_winograd_chunk_tiles (0: automatic)
int64_t winograd_chunk_tiles_forced();
// Tiles per chunk for xi_count transformed positions: the forced count, else so that V
// (xi x chunk x C) and M (xi x chunk x OC) stay near 4 MiB each; at least 16, at most `tiles`.
int64_t winograd_chunk(int64_t tiles, int C, int OC, int xi_count);

// The Winograd transform of the kernel w:(3,3,C,OC) made by `transform` (xi_count x C x OC
// floats: 16 for F(2x2), 36 for F(4x4)), from a process-wide cache. An entry keeps a copy of the
// kernel it was made from and is used only while w holds exactly those values (compared in full),
// so a kernel changed in place (a training step) is transformed again; inference and activation
// maximisation, which run the same kernel many times, transform it once. The entries take at most
// winograd_cache_limit() bytes; when a new one does not fit, entries unused for the last 1024
// lookups make room, and if that is not enough it is made in a scratch buffer and not kept (so a
// model whose transforms exceed the limit keeps a fixed part of them, instead of cycling). The pointer is valid until the next call. Not thread-safe beyond
// what the ops need: one op at a time.
using WinogradTransform = void (*)(const float* w, int C, int OC, float* U);
const float* winograd_kernel_transform(int xi_count, const float* w, int C, int OC, WinogradTransform transform);
int64_t winograd_cache_limit();          // bytes; CONVIS_WINOGRAD_CACHE_MB, default 256
void set_winograd_cache_limit(int64_t bytes);  // 0 turns the cache off (tests, benchmarks)
struct WinogradCacheStats {
  int64_t hits = 0, misses = 0, bytes = 0;
};
WinogradCacheStats winograd_cache_stats();

}  // namespace convis
