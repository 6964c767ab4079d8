// GEMM on the 13 VGG16 conv layers, batch 1: ours (__avx2) vs Eigen vs the naive reference.
//
// A 3x3 'same' conv over an (H,W,C) input is one GEMM after im2col:
//   forward  y(M,OC)   = col(M, 9C) * W(9C, OC)        M = H*W, K = 9C, N = OC   (NN)
//   backward dW(9C,OC) = col^T * dY                    trans_a, inner dim M      (gemm_dW)
//            dcol(M,9C)= dY * W^T                      trans_b, inner dim OC     (gemm_dcol)
// Each is run at 96x96 and 224x224 input, on 1 and 2 threads (omp_set_num_threads; Eigen
// follows OpenMP's default too). Counter FLOP/s = 2*M*N*K per iteration.
//
// The reference (double-accumulating triple loop, ~1 GFLOP/s) runs only the forward 96x96
// shapes, one iteration each, single-threaded: at 224 a layer would take tens of seconds.
//
// Names: gemm/<ours|eigen|ref>/<layer>/<96|224>/threads:<T>, gemm_dW/..., gemm_dcol/...
//   ./convis_bench --benchmark_filter='gemm/.*/224/threads:2'
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"

namespace {

using convis::GemmArgs;

struct ConvLayer {
  const char* name;
  int64_t c_in, c_out, down;  // input spatial size is H/down
};

// VGG16's conv stack: 3x3, stride 1, 'same' padding; each block halves H and W.
const ConvLayer kVgg16[] = {
    {"block1_conv1", 3, 64, 1},     {"block1_conv2", 64, 64, 1},
    {"block2_conv1", 64, 128, 2},   {"block2_conv2", 128, 128, 2},
    {"block3_conv1", 128, 256, 4},  {"block3_conv2", 256, 256, 4},
    {"block3_conv3", 256, 256, 4},  {"block4_conv1", 256, 512, 8},
    {"block4_conv2", 512, 512, 8},  {"block4_conv3", 512, 512, 8},
    {"block5_conv1", 512, 512, 16}, {"block5_conv2", 512, 512, 16},
    {"block5_conv3", 512, 512, 16},
};

enum class Pass { Forward, dW, dcol };

std::vector<float> random_vec(size_t n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void run(benchmark::State& state, void (*fn)(const GemmArgs&), ConvLayer layer, int64_t hw,
         Pass pass, int threads) {
  const int64_t side = hw / layer.down;
  const int64_t m_conv = side * side, k_conv = 9 * layer.c_in, oc = layer.c_out;
  GemmArgs g;
  switch (pass) {
    case Pass::Forward:  // y = col * W
      g.M = m_conv; g.N = oc; g.K = k_conv;
      break;
    case Pass::dW:  // dW = col^T * dY: col stored (m_conv, k_conv)
      g.trans_a = true;
      g.M = k_conv; g.N = oc; g.K = m_conv;
      break;
    case Pass::dcol:  // dcol = dY * W^T: W stored (k_conv, oc)
      g.trans_b = true;
      g.M = m_conv; g.N = k_conv; g.K = oc;
      break;
  }
  g.lda = g.trans_a ? g.M : g.K;
  g.ldb = g.trans_b ? g.K : g.N;
  g.ldc = g.N;
  const auto A = random_vec(size_t(g.M * g.K)), B = random_vec(size_t(g.K * g.N));
  std::vector<float> C(size_t(g.M * g.N));
  g.A = A.data(); g.B = B.data(); g.C = C.data();

  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  for (auto _ : state) {
    fn(g);
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  omp_set_num_threads(saved);
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(g.M) * double(g.N) * double(g.K),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(layer.name) + " M=" + std::to_string(g.M) +
                 " N=" + std::to_string(g.N) + " K=" + std::to_string(g.K));
}

const int kRegistered = [] {
  struct Impl { const char* name; void (*fn)(const GemmArgs&); };
  // eigen: the library's portable (SSE2) build, the fallback on CPUs without AVX2;
  // eigen_avx2: the same code built with -mavx2 -mfma, the fair baseline for ours.
  std::vector<Impl> impls = {{"eigen", convis::gemm_f32_eigen}};
  if (convis::backend_available(convis::Backend::avx2_fma)) {
    impls.insert(impls.begin(), {"eigen_avx2", convis::gemm_f32_eigen__avx2});
    impls.insert(impls.begin(), {"ours", convis::gemm_f32__avx2});
  }
  const std::pair<Pass, const char*> passes[] = {
      {Pass::Forward, "gemm"}, {Pass::dW, "gemm_dW"}, {Pass::dcol, "gemm_dcol"}};
  for (const auto& [pass, prefix] : passes)
    for (int64_t hw : {224, 96})
      for (int threads : {2, 1})
        for (const auto& layer : kVgg16)
          for (const auto& impl : impls) {
            const std::string name = std::string(prefix) + "/" + impl.name + "/" + layer.name +
                                     "/" + std::to_string(hw) + "/threads:" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), run, impl.fn, layer, hw, pass, threads)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
          }
  for (const auto& layer : kVgg16) {
    const std::string name = std::string("gemm/ref/") + layer.name + "/96/threads:1";
    benchmark::RegisterBenchmark(name.c_str(), run, convis::gemm_f32_ref, layer, int64_t(96),
                                 Pass::Forward, 1)
        ->UseRealTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}();

}  // namespace
