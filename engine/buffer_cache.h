#pragma once
// Where tensor memory comes from: 64-byte aligned blocks, the large ones recycled.
//
// A loop that trains or optimises an image allocates the same shapes every step. Freed blocks of
// 256 KiB or more are kept, keyed by their exact size, and handed back to the next allocation of
// that size; blocks of 2 MiB or more are transparent huge pages. The cache holds at most its
// limit (kDefaultLimit; 0 frees it and turns it off) and never so much that
//
//   live + cached  <=  headroom x peak_live_bytes()
//
// so its memory stays proportional to what the program itself needs at once; the oldest blocks
// go first. The headroom is 2 unless a BufferCachePolicy says otherwise:
//
//   {
//     BufferCachePolicy tight(1.25);   // activation maximisation (vis/maximize.cpp) runs at 1.25
//     ...                              // the cache is trimmed to the new bound at once
//   }                                  // back to the headroom before, also when an exception leaves
//
// Policies may overlap and end in any order (two Maximizers, say): the newest one still alive is
// in force, and with none alive the default. All of this is safe from any thread; the live and
// peak counters are atomics, the cache and the list of policies each have a mutex.
#include <cstdint>
#include <memory>

namespace convis {

// Storage for n floats (a Tensor's buffer) and raw storage of `bytes` for side data that is not a
// float tensor (max pooling's int32 argmax); both counted in buffer_cache::live_bytes().
std::shared_ptr<float> allocate_floats(int64_t n);
std::shared_ptr<void> allocate_buffer(int64_t bytes);

namespace buffer_cache {

constexpr int64_t kDefaultLimit = int64_t(1) << 30;
constexpr double kDefaultHeadroom = 2.0;

// Bytes held by all live blocks (tensors and buffers) in the process, for memory tests and reports;
// cached blocks are not live.
int64_t live_bytes();
// The largest live_bytes() has been in this process.
int64_t peak_live_bytes();
int64_t cached_bytes();
void set_limit(int64_t bytes);  // at least 0; trims the cache at once
// The headroom in force: the newest living BufferCachePolicy's, else kDefaultHeadroom.
double headroom();

}  // namespace buffer_cache

// RAII: while alive, the cache keeps live + cached within `headroom` (at least 1) x the peak.
class BufferCachePolicy {
 public:
  explicit BufferCachePolicy(double headroom);
  ~BufferCachePolicy();
  BufferCachePolicy(const BufferCachePolicy&) = delete;
  BufferCachePolicy& operator=(const BufferCachePolicy&) = delete;

  double headroom() const { return headroom_; }

 private:
  double headroom_;
};

}  // namespace convis
