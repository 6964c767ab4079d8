#pragma once
// Per-thread scratch memory for kernels: one buffer per (thread, slot), 64-byte aligned, that only
// ever grows, so a training loop or a long maximisation stops allocating once every buffer has
// reached the size of the largest call seen. Contents are undefined on return (callers write before
// they read). A slot is owned by one kernel, so two kernels on one thread never share a buffer.
#include <cstdint>

namespace convis {

enum class ScratchSlot : int {
  im2col_col,      // conv2d: one tile of im2col rows (or of their gradient)
  winograd_v,      // Winograd: input tiles, transformed
  winograd_m,      // Winograd: products, before the output transform
  winograd_zeros,  // Winograd: one pixel of zeros, read for taps in the padding
  winograd_u,      // Winograd: the transformed kernel
  gemm_pack_a,     // GEMM: packed slivers of A
  gemm_pack_b,     // GEMM: packed panels of B
  gemv_partial,    // GEMM with few rows of A (dense layers at batch 1): per-chunk partial rows of C
  count
};

// A buffer of at least `floats` floats for this thread and slot. Throws std::bad_alloc when the
// memory cannot be had (the slot is then empty, not stale).
float* thread_scratch(ScratchSlot slot, int64_t floats);

}  // namespace convis
