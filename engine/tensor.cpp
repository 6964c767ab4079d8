#include "engine/tensor.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>
#include <new>
#include <stdexcept>

namespace convis {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  if (dims.size() > size_t(kMaxRank))
    throw std::invalid_argument("shape of rank " + std::to_string(dims.size()) + ": at most 4 axes are supported");
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) throw std::invalid_argument("shape with a negative dimension " + std::to_string(d));
    // Checked: every byte count (numel * 4, rounded up) must be representable, so that no
    // allocation computed from a file's declared shape can wrap to a small block.
    if (d != 0 && n > kMaxNumel / d) {
      std::string s;
      for (int64_t x : dims) s += (s.empty() ? "" : ", ") + std::to_string(x);
      throw std::length_error("shape (" + s + ") has more than 2^40 elements");
    }
    n *= d;
  }
  rank_ = int(dims.size());
  std::copy(dims.begin(), dims.end(), dims_.begin());
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  if (rank_ == 1) s += ",";
  return s + ")";
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

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
// maximisation runs at 1.25 x (366 MB for that batch of 16; Maximizer sets it) and the rest at 2 x.
std::atomic<double> g_headroom{Tensor::kDefaultCacheHeadroom};
int64_t allowed_total() { return int64_t(g_headroom.load() * double(g_peak_live.load())); }

struct BufferCache {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> blocks;  // oldest first
  size_t bytes = 0;
  size_t limit = Tensor::kDefaultCacheLimit;

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

// 64-byte alignment: one cache line, and what AVX2 (32) and AVX-512 (64) loads like best.
std::shared_ptr<float> allocate(int64_t n) {
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
}  // namespace

std::shared_ptr<void> allocate_buffer(int64_t bytes) {
  return allocate((std::max<int64_t>(bytes, 1) + int64_t(sizeof(float)) - 1) / int64_t(sizeof(float)));
}

int64_t Tensor::peak_live_bytes() { return g_peak_live.load(); }

int64_t Tensor::cached_bytes() {
  std::lock_guard<std::mutex> lock(cache().mu);
  return int64_t(cache().bytes);
}

double Tensor::cache_headroom() { return g_headroom.load(); }
void Tensor::set_cache_headroom(double factor) {
  g_headroom.store(std::max(factor, 1.0));
  cache().trim(allowed_total() - g_live_bytes.load());
}
void Tensor::set_cache_limit(int64_t bytes) { cache().set_limit(size_t(std::max<int64_t>(bytes, 0))); }

int64_t Tensor::live_bytes() { return g_live_bytes.load(); }

Tensor::Tensor(const Shape& shape) : shape_(shape), data_(allocate(shape.numel())) {}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  if (int64_t(values.size()) != shape.numel())
    throw std::invalid_argument("Tensor::from: " + std::to_string(values.size()) + " values for shape " +
                                shape.str() + " (" + std::to_string(shape.numel()) + " elements)");
  Tensor t(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

float& Tensor::at(int64_t n, int64_t h, int64_t w, int64_t c) {
  return data_.get()[((n * shape_[1] + h) * shape_[2] + w) * shape_[3] + c];
}

float Tensor::at(int64_t n, int64_t h, int64_t w, int64_t c) const {
  return data_.get()[((n * shape_[1] + h) * shape_[2] + w) * shape_[3] + c];
}

float Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("item(): tensor of shape " + shape_.str() + " has " + std::to_string(numel()) +
                                " elements, expected 1");
  return data_.get()[0];
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (shape.numel() != numel())
    throw std::invalid_argument("reshape: cannot view shape " + shape_.str() + " as " + shape.str() +
                                " (element counts differ)");
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  std::copy(data(), data() + numel(), t.data());
  return t;
}

// Large fills (a batch's gradient buffers run to tens of MB) are split across the threads.
void Tensor::fill(float value) {
  float* p = data();
  const int64_t n = numel();
  constexpr int64_t kChunk = int64_t(1) << 18;  // 1 MiB of floats per piece
  if (n < 2 * kChunk) {
    std::fill(p, p + n, value);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < (n + kChunk - 1) / kChunk; ++c)
    std::fill(p + c * kChunk, p + std::min(n, (c + 1) * kChunk), value);
}

std::vector<float> Tensor::to_vector() const { return {data(), data() + numel()}; }

void check_same_shape(const char* what, const Shape& a, const Shape& b) {
  if (a != b)
    throw std::invalid_argument(std::string(what) + ": shapes " + a.str() + " and " + b.str() + " do not match");
}

}  // namespace convis
