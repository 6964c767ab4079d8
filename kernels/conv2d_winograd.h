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

}  // namespace convis
