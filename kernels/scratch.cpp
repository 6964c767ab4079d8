#include "kernels/scratch.h"

#include <cstdlib>
#include <limits>
#include <new>

namespace convis {

namespace {

struct Buffer {
  float* p = nullptr;
  int64_t capacity = 0;  // floats
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(p); }
};

}  // namespace

float* thread_scratch(ScratchSlot slot, int64_t floats) {
  thread_local Buffer buffers[int(ScratchSlot::count)];
  Buffer& b = buffers[int(slot)];
  if (floats <= b.capacity) return b.p;
  // Free first (the old contents are not needed), so the peak is the new buffer, not both.
  std::free(b.p);
  b.p = nullptr;
  b.capacity = 0;
  constexpr int64_t kMaxFloats = std::numeric_limits<int64_t>::max() / int64_t(sizeof(float)) - 16;
  if (floats < 0 || floats > kMaxFloats) throw std::bad_alloc();
  const int64_t rounded = (floats + 15) / 16 * 16;  // aligned_alloc wants a multiple of the alignment
  void* p = std::aligned_alloc(64, size_t(rounded) * sizeof(float));
  if (!p) throw std::bad_alloc();
  b.p = static_cast<float*>(p);
  b.capacity = rounded;
  return b.p;
}

}  // namespace convis
