// The recycling allocator behind every Tensor (see buffer_cache.h): mmap'd large blocks, the
// cache of freed ones and the policies that bound it.
#include "engine/buffer_cache.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace convis {

namespace {
std::atomic<int64_t> g_live_bytes{0};

// Large buffers are recycled. A loop that trains or optimises an image allocates the same shapes
// every step; served fresh, each large block is a new mmap whose pages the kernel faults in and
// zeroes on first touch, which perf showed as a quarter of an activation-maximisation step
// (VGG16 block3_conv1, 96x96). So a freed buffer of at least kCacheMinBytes is kept, keyed by
// its exact size, and the next allocation of that size takes it back. The cache holds at most
// `limit` bytes, and never so much that live + cached bytes would pass a multiple (the headroom,
// below) of the largest live total the process has had (peak_live), so its memory stays
// proportional to what the program itself needs at once. When a block does not fit, or an allocation misses, the
// oldest cached blocks are freed first.
// Large blocks are their own anonymous mappings (mmap, page aligned), not glibc heap blocks:
// a cached block then pins no heap around it, and a freed one goes straight back to the system,
// so the resident size follows live + cached bytes instead of the heap's fragmentation.
constexpr size_t kCacheMinBytes = size_t(256) << 10;

// Blocks of 2 MiB or more start on a 2 MiB boundary and ask for transparent huge pages: a fresh
// block then costs one page fault per 2 MiB instead of one per 4 KiB.
constexpr size_t kHugePage = size_t(2) << 20;
size_t page_size() {
  static const size_t n = [] {
    const long v = ::sysconf(_SC_PAGESIZE);
    return v > 0 ? size_t(v) : size_t(4096);
  }();
  return n;
}

void* map_block(size_t n) {
  if (n < kHugePage) {
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  // munmap needs page-aligned addresses: the block ends at n rounded up to a page, where the
  // unused tail of the over-sized mapping begins (unmap_block's munmap(p, n) rounds up the same way).
  const size_t page = page_size();
  const size_t len = (n + page - 1) / page * page;
  void* raw = ::mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(raw, aligned - start);  // the unaligned head
  const size_t tail = start + len + kHugePage - (aligned + len);
  if (tail) ::munmap(reinterpret_cast<void*>(aligned + len), tail);
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, n, MADV_HUGEPAGE);  // advice only: without THP the block is ordinary pages
  return p;
}
void unmap_block(void* p, size_t n) { ::munmap(p, n); }
std::atomic<int64_t> g_peak_live{0};
// By default live + cached may reach twice the live peak. Measured on 2 threads, before large
// blocks were huge pages: an epoch of the tutorial CNN at batch 1000 took 8.6 s (1 thread, 6,000
// images) with live + cached <= peak and 1.95 s with <= 2 x peak; an activation-maximisation
// step of block5_conv3 (96x96, batch 16), 1,368 ms at 1 x and 780 ms at 2 x. A step frees and
// re-allocates more distinct blocks than are live at its peak (each size needs as many blocks as
// are ever live at once), so holding only the peak evicts blocks it needs a moment later. With
// huge pages (map_block) a miss is cheap: the same step takes 783 ms at 1 x (303 MB resident)
// and 734 ms at 2 x (504 MB), the epoch 16.6 s and 13.7 s; but at 1 x a batch-1 step of the same
// layer re-faults its blocks every time (91 ms against 60 ms at 1.25 x). So activation
// maximisation runs at 1.25 x (366 MB for that batch of 16; a Maximizer holds a BufferCachePolicy)
// and the rest at 2 x.
std::atomic<double> g_headroom{buffer_cache::kDefaultHeadroom};  // the policy in force (Policies below)
int64_t allowed_total() { return int64_t(g_headroom.load() * double(g_peak_live.load())); }

struct BufferCache {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> blocks;  // oldest first
  size_t bytes = 0;
  size_t limit = size_t(buffer_cache::kDefaultLimit);

  void* take(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = blocks.size(); i-- > 0;) {  // the most recently freed block of that size
      if (blocks[i].first != n) continue;
      void* p = blocks[i].second;
      blocks.erase(blocks.begin() + long(i));
      bytes -= n;
      return p;
    }
    return nullptr;
  }
  // Called after the block's bytes have left the live count.
  void put(size_t n, void* p) {
    std::lock_guard<std::mutex> lock(mu);
    const int64_t headroom = allowed_total() - g_live_bytes.load();  // live + cached <= allowed_total()
    const size_t cap = std::min(limit, size_t(std::max<int64_t>(headroom, 0)));
    if (n > cap) {
      unmap_block(p, n);
      return;
    }
    evict_to(cap - n);
    try {  // called from a deleter: a failure to grow the list frees the block instead
      blocks.emplace_back(n, p);
    } catch (...) {
      unmap_block(p, n);
      return;
    }
    bytes += n;
  }
  // Frees the oldest blocks until at most `allowed` bytes are cached.
  void trim(int64_t allowed) {
    std::lock_guard<std::mutex> lock(mu);
    evict_to(size_t(std::max<int64_t>(allowed, 0)));
  }
  void set_limit(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    limit = n;
    evict_to(limit);
  }

 private:
  // With mu held: frees the oldest blocks until at most `cap` bytes are cached.
  void evict_to(size_t cap) {
    size_t drop = 0;
    while (bytes > cap && drop < blocks.size()) bytes -= blocks[drop++].first;
    for (size_t i = 0; i < drop; ++i) unmap_block(blocks[i].second, blocks[i].first);
    blocks.erase(blocks.begin(), blocks.begin() + long(drop));
  }
};

BufferCache& cache() {
  static BufferCache* c = new BufferCache;  // never destroyed: tensors may die after main returns
  return *c;
}

// The living policies, oldest first; the newest is in force (g_headroom mirrors it).
struct Policies {
  std::mutex mu;
  std::vector<const BufferCachePolicy*> alive;

  // With mu held: the headroom of the newest living policy takes effect, and the cache is
  // trimmed to it at once.
  void apply() {
    g_headroom.store(alive.empty() ? buffer_cache::kDefaultHeadroom : alive.back()->headroom());
    cache().trim(allowed_total() - g_live_bytes.load());
  }
};

Policies& policies() {
  static Policies* p = new Policies;  // never destroyed, like the cache
  return *p;
}

// 64-byte alignment: one cache line, and what AVX2 (32) and AVX-512 (64) loads like best.
}  // namespace

std::shared_ptr<float> allocate_floats(int64_t n) {
  const size_t bytes = (size_t(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
  const bool large = bytes >= kCacheMinBytes;
  void* p = large ? cache().take(bytes) : nullptr;
  const bool fresh = p == nullptr;
  const int64_t live = g_live_bytes += int64_t(bytes);
  int64_t old_peak = g_peak_live.load();
  while (live > old_peak && !g_peak_live.compare_exchange_weak(old_peak, live)) {
  }
  // A block the cache could not supply: make room first, so that live + cached stays within bounds.
  if (fresh && large) cache().trim(allowed_total() - live);
  if (fresh) p = large ? map_block(bytes) : std::aligned_alloc(64, bytes);
  if (!p) {
    g_live_bytes -= int64_t(bytes);
    if (live > old_peak) {  // a failed request must not raise the peak (unless another did since)
      int64_t mine = live;
      g_peak_live.compare_exchange_strong(mine, old_peak);
    }
    throw std::bad_alloc();
  }
  return std::shared_ptr<float>(static_cast<float*>(p), [bytes](float* q) {
    g_live_bytes -= int64_t(bytes);
    if (bytes >= kCacheMinBytes) cache().put(bytes, q);
    else std::free(q);
  });
}
std::shared_ptr<void> allocate_buffer(int64_t bytes) {
  return allocate_floats((std::max<int64_t>(bytes, 1) + int64_t(sizeof(float)) - 1) / int64_t(sizeof(float)));
}

namespace buffer_cache {

int64_t live_bytes() { return g_live_bytes.load(); }
int64_t peak_live_bytes() { return g_peak_live.load(); }

int64_t cached_bytes() {
  std::lock_guard<std::mutex> lock(cache().mu);
  return int64_t(cache().bytes);
}

void set_limit(int64_t bytes) { cache().set_limit(size_t(std::max<int64_t>(bytes, 0))); }

double headroom() { return g_headroom.load(); }

}  // namespace buffer_cache

BufferCachePolicy::BufferCachePolicy(double headroom) : headroom_(std::max(headroom, 1.0)) {
  Policies& p = policies();
  const std::lock_guard<std::mutex> lock(p.mu);
  p.alive.push_back(this);
  p.apply();
}

// Wherever it stands in the list: policies that overlap may end in any order.
BufferCachePolicy::~BufferCachePolicy() {
  Policies& p = policies();
  const std::lock_guard<std::mutex> lock(p.mu);
  p.alive.erase(std::find(p.alive.begin(), p.alive.end(), this));
  p.apply();
}

}  // namespace convis
