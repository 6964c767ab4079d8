// The entry points of Winograd F(2x2,3x3) (the arithmetic: conv2d_winograd__avx2.cpp, which
// explains the algorithm; when the dispatcher takes it: choose_conv_algorithm in dispatch.cpp).
// The arithmetic is built for AVX2+FMA, so the portable table has none and these throw there.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/dispatch.h"
#include "kernels/scratch.h"

namespace convis {

namespace {

std::atomic<int64_t> g_chunk_tiles{0};  // 0: automatic

const KernelTable& winograd_table(const char* what) {
  const KernelTable& t = kernels();
  if (!t.conv2d_fwd_winograd || !t.conv2d_bwd_data_winograd)
    throw std::runtime_error(std::string(what) + ": the '" + t.name + "' kernels have no Winograd (it needs AVX2+FMA)");
  return t;
}

}  // namespace

int64_t winograd_chunk_tiles_forced() { return g_chunk_tiles.load(); }

int64_t winograd_chunk(int64_t tiles, int C, int OC, int xi_count) {
  const int64_t forced = winograd_chunk_tiles_forced();
  if (forced > 0) return std::min(forced, tiles);
  return std::min(std::max<int64_t>((int64_t(1) << 20) / (int64_t(xi_count) * std::max(C, OC)), 16), tiles);
}

namespace {

struct CacheEntry {
  int xi_count = 0, C = 0, OC = 0;
  const float* w = nullptr;  // where the kernel was (the key; the values are checked too)
  std::vector<float> kernel, transformed;
  uint64_t last_use = 0;  // the lookup count when it was last used
  int64_t bytes() const { return int64_t(kernel.size() + transformed.size()) * int64_t(sizeof(float)); }
};

struct Cache {
  std::mutex mu;
  std::list<CacheEntry> entries;
  int64_t limit = -1;  // -1: not read from the environment yet
  uint64_t lookups = 0;
  WinogradCacheStats stats;
};

Cache& cache() {
  static Cache c;
  return c;
}

int64_t limit_locked(Cache& c) {
  if (c.limit < 0) {
    c.limit = int64_t(256) << 20;
    if (const char* e = std::getenv("CONVIS_WINOGRAD_CACHE_MB")) {
      char* end = nullptr;
      const long long mb = std::strtoll(e, &end, 10);
      if (end != e && *end == '\0' && mb >= 0 && mb <= (int64_t(1) << 20)) c.limit = int64_t(mb) << 20;
    }
  }
  return c.limit;
}

}  // namespace

int64_t winograd_cache_limit() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return limit_locked(c);
}

void set_winograd_cache_limit(int64_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = std::max<int64_t>(bytes, 0);
  while (!c.entries.empty() && c.stats.bytes > c.limit) {
    c.stats.bytes -= c.entries.back().bytes();
    c.entries.pop_back();
  }
}

WinogradCacheStats winograd_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

const float* winograd_kernel_transform(int xi_count, const float* w, int C, int OC, WinogradTransform transform) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  const int64_t kernel_floats = 9 * int64_t(C) * OC, out_floats = int64_t(xi_count) * C * OC;
  const uint64_t now = ++c.lookups;
  for (auto it = c.entries.begin(); it != c.entries.end(); ++it) {
    if (it->w != w || it->xi_count != xi_count || it->C != C || it->OC != OC) continue;
    if (std::memcmp(it->kernel.data(), w, size_t(kernel_floats) * sizeof(float)) == 0) {
      ++c.stats.hits;
      it->last_use = now;
      c.entries.splice(c.entries.begin(), c.entries, it);  // most recent first
      return c.entries.front().transformed.data();
    }
    c.stats.bytes -= it->bytes();  // the kernel changed in place: drop the stale entry
    c.entries.erase(it);
    break;
  }
  ++c.stats.misses;
  const int64_t bytes = (kernel_floats + out_floats) * int64_t(sizeof(float));
  // Room is made only from entries unused for kIdleLookups: a model whose transforms do not all fit
  // keeps the ones it has (every step uses them) and makes the rest in scratch, rather than
  // pushing its own entries out in a cycle (each miss would then also copy a kernel and fault in
  // fresh pages); the entries of a model no longer run do age out.
  constexpr uint64_t kIdleLookups = 1024;
  for (auto it = c.entries.end(); it != c.entries.begin() && c.stats.bytes + bytes > limit_locked(c);) {
    --it;
    if (now - it->last_use <= kIdleLookups) continue;
    c.stats.bytes -= it->bytes();
    it = c.entries.erase(it);
  }
  if (c.stats.bytes + bytes > c.limit) {  // no room (or the cache is off): a scratch buffer
    float* U = thread_scratch(ScratchSlot::winograd_u, out_floats);
    transform(w, C, OC, U);
    return U;
  }
  CacheEntry e;
  e.xi_count = xi_count;
  e.C = C;
  e.OC = OC;
  e.w = w;
  e.kernel.assign(w, w + kernel_floats);
  e.transformed.resize(size_t(out_floats));
  transform(w, C, OC, e.transformed.data());
  e.last_use = now;
  c.stats.bytes += e.bytes();
  c.entries.push_front(std::move(e));
  return c.entries.front().transformed.data();
}
void set_winograd_chunk_tiles(int64_t tiles) { g_chunk_tiles.store(std::max<int64_t>(tiles, 0)); }

bool winograd_possible(const Conv2dShape& s) {
  return s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1;
}

void conv2d_nhwc_fwd_winograd(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  winograd_table("conv2d_nhwc_fwd_winograd").conv2d_fwd_winograd(x, w, b, y, s);
}

void conv2d_nhwc_fwd_winograd4(const float* x, const float* w, const float* b, float* y, const Conv2dShape& s) {
  const KernelTable& t = winograd_table("conv2d_nhwc_fwd_winograd4");
  if (!t.conv2d_fwd_winograd4) throw std::runtime_error(std::string("conv2d_nhwc_fwd_winograd4: the '") + t.name + "' kernels have no F(4x4)");
  t.conv2d_fwd_winograd4(x, w, b, y, s);
}

void conv2d_nhwc_bwd_data_winograd(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  winograd_table("conv2d_nhwc_bwd_data_winograd").conv2d_bwd_data_winograd(dy, w, dx, s);
}

}  // namespace convis
