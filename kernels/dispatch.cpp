// The kernel tables and the convolution policy (see dispatch.h). The only file that asks the CPU
// what it can do.
#include "kernels/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "kernels/conv2d_winograd.h"
#include "kernels/cpu.h"

namespace convis {

namespace {

KernelTable make_portable() {
  KernelTable t;
  t.backend = Backend::portable;
  t.name = "portable";
  t.gemm_f32 = gemm_f32_eigen;  // Eigen built for any x86-64; no Winograd (its kernels are AVX2)
  return t;
}

KernelTable make_avx2_fma() {
  KernelTable t;
  t.backend = Backend::avx2_fma;
  t.name = "AVX2+FMA";
  t.gemm_f32 = gemm_f32__avx2;
  t.conv2d_fwd_winograd = conv2d_nhwc_fwd_winograd__avx2;
  t.conv2d_bwd_data_winograd = conv2d_nhwc_bwd_data_winograd__avx2;
  t.conv2d_fwd_winograd4 = conv2d_nhwc_fwd_winograd4__avx2;
  return t;
}

const KernelTable kPortable = make_portable();
const KernelTable kAvx2Fma = make_avx2_fma();

std::atomic<const KernelTable*> g_table{nullptr};
std::atomic<int> g_winograd{-1};  // -1: not read yet; 0 off; 1 on
std::atomic<bool> g_winograd4{true};  // set_winograd4_enabled

bool cpu_avx2_fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

}  // namespace

bool backend_available(Backend b) {
  switch (b) {
    case Backend::portable: return true;
    case Backend::avx2_fma: return cpu_avx2_fma();
  }
  return false;
}

const KernelTable& kernel_table(Backend b) {
  if (!backend_available(b))
    throw std::runtime_error(std::string("kernel backend '") + (b == Backend::avx2_fma ? kAvx2Fma.name : kPortable.name) +
                             "' cannot run on this CPU");
  return b == Backend::avx2_fma ? kAvx2Fma : kPortable;
}

const KernelTable& kernels() {
  const KernelTable* t = g_table.load(std::memory_order_acquire);
  if (!t) {
    t = backend_available(Backend::avx2_fma) && !env_set("CONVIS_NO_AVX2") ? &kAvx2Fma : &kPortable;
    const KernelTable* expected = nullptr;
    if (!g_table.compare_exchange_strong(expected, t)) t = expected;
  }
  return *t;
}

void use_backend(Backend b) { g_table.store(&kernel_table(b), std::memory_order_release); }

// cpu.h's question, answered by the table in use: "do the ops run AVX2+FMA kernels?"
bool cpu_has_avx2_fma() { return kernels().backend == Backend::avx2_fma; }

void set_winograd_enabled(bool on) { g_winograd.store(on ? 1 : 0); }
void set_winograd4_enabled(bool on) { g_winograd4.store(on); }

ConvPolicy conv_policy() {
  int m = g_winograd.load();
  if (m < 0) {
    m = env_set("CONVIS_NO_WINOGRAD") ? 0 : 1;
    g_winograd.store(m);
  }
  ConvPolicy p;
  p.winograd = m == 1;
  static const bool no4 = env_set("CONVIS_NO_WINOGRAD4");
  p.winograd4 = !no4 && g_winograd4.load();
  return p;
}

ConvAlgo choose_conv_algorithm(const Conv2dShape& s, const KernelTable& t, const ConvPolicy& p) {
  if (conv2d_is_pointwise(s)) return ConvAlgo::pointwise;
  if (!p.winograd || !t.conv2d_fwd_winograd || !t.conv2d_bwd_data_winograd || !winograd_possible(s) ||
      s.C < p.min_channels || s.OC < p.min_channels)
    return ConvAlgo::im2col;
  const int64_t th = (s.OH + 1) / 2, tw = (s.OW + 1) / 2;
  const double use = double(s.OH) * s.OW / double(4 * th * tw);
  return int64_t(s.N) * th * tw >= p.min_tiles && use >= p.min_tile_use ? ConvAlgo::winograd : ConvAlgo::im2col;
}

ConvAlgo choose_conv_forward_algorithm(const Conv2dShape& s, const KernelTable& t, const ConvPolicy& p) {
  const ConvAlgo a = choose_conv_algorithm(s, t, p);
  if (a != ConvAlgo::winograd || !p.winograd4 || !t.conv2d_fwd_winograd4) return a;
  const int64_t th = (s.OH + 3) / 4, tw = (s.OW + 3) / 4;
  const double use = double(s.OH) * s.OW / double(16 * th * tw);
  return int64_t(s.N) * th * tw >= p.min_tiles4 && use >= p.min_tile_use ? ConvAlgo::winograd4 : a;
}

const char* conv_algo_name(ConvAlgo a) {
  switch (a) {
    case ConvAlgo::pointwise: return "pointwise";
    case ConvAlgo::im2col: return "im2col";
    case ConvAlgo::winograd: return "winograd";
    case ConvAlgo::winograd4: return "winograd4";
  }
  return "?";
}

}  // namespace convis
