// Memory bandwidth, and the dense layers that should run at it.
//
//   stream/copy/threads:T    b[i] = a[i] over 2 x 256 MiB (STREAM's copy), bytes read + written
//   stream/triad/threads:T   a[i] = b[i] + s * c[i] over 3 x 128 MiB (STREAM's triad)
//   dense/<impl>/<layer>/batch:B/threads:T   VGG16's fully connected layers as convis runs them,
//                            y(B, N) = x(B, K) W(K, N): fc1 25088 x 4096, fc2 4096 x 4096,
//                            predictions 4096 x 1000. Counter bytes_per_second: the kernel W's bytes
//                            per call, which a batch-1 product must read once; compare it with
//                            stream/copy of the same run.
//   dense_dx/<impl>/...      the input gradient dx(B, K) = dy(B, N) W^T (activation maximisation
//                            of a class logit goes through it)
// impl: ours (gemm_f32__avx2: 1 to 4 rows stream W once, kernels/gemv_f32__avx2.cpp),
// eigen_avx2 (Eigen's GEMM built for AVX2+FMA).
//   ./convis_bench --benchmark_filter='^(stream|dense)/'
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/gemm.h"

namespace {

using convis::GemmArgs;

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct ThreadScope {
  int saved = omp_get_max_threads();
  explicit ThreadScope(int t) { omp_set_num_threads(t); }
  ~ThreadScope() { omp_set_num_threads(saved); }
};

void stream_copy(benchmark::State& state, int threads) {
  const int64_t n = int64_t(64) << 20;  // 64 Mi floats = 256 MiB each
  std::vector<float> a(size_t(n), 1.f), b(size_t(n), 0.f);
  ThreadScope scope(threads);
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) b[size_t(i)] = a[size_t(i)];
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 2 * n * int64_t(sizeof(float)));
}

void stream_triad(benchmark::State& state, int threads) {
  const int64_t n = int64_t(32) << 20;
  std::vector<float> a(size_t(n), 0.f), b(size_t(n), 1.f), c(size_t(n), 2.f);
  const float s = 3.f;
  ThreadScope scope(threads);
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) a[size_t(i)] = b[size_t(i)] + s * c[size_t(i)];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 3 * n * int64_t(sizeof(float)));
}

struct Dense {
  const char* name;
  int64_t in, out;
};
const Dense kVgg16Dense[] = {{"fc1", 25088, 4096}, {"fc2", 4096, 4096}, {"predictions", 4096, 1000}};

void dense(benchmark::State& state, void (*fn)(const GemmArgs&), Dense d, int64_t batch, bool dx, int threads) {
  const auto W = random_vec(size_t(d.in * d.out), 1);
  const auto x = random_vec(size_t(batch * (dx ? d.out : d.in)), 2);
  std::vector<float> y(size_t(batch * (dx ? d.in : d.out)));
  GemmArgs g;
  g.M = batch;
  g.A = x.data();
  g.B = W.data();
  g.C = y.data();
  if (dx) {  // dx(B, in) = dy(B, out) W^T, W stored (in, out) = (N, K)
    g.trans_b = true;
    g.N = d.in;
    g.K = d.out;
    g.lda = d.out;
    g.ldb = d.out;
    g.ldc = d.in;
  } else {
    g.N = d.out;
    g.K = d.in;
    g.lda = d.in;
    g.ldb = d.out;
    g.ldc = d.out;
  }
  ThreadScope scope(threads);
  for (auto _ : state) {
    fn(g);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * d.in * d.out * int64_t(sizeof(float)));
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(batch) * double(d.in) * double(d.out),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

const int kRegistered = [] {
  for (int t : {2, 1}) {
    benchmark::RegisterBenchmark(("stream/copy/threads:" + std::to_string(t)).c_str(), stream_copy, t)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("stream/triad/threads:" + std::to_string(t)).c_str(), stream_triad, t)
        ->UseRealTime()->Unit(benchmark::kMillisecond);
  }
  if (!convis::backend_available(convis::Backend::avx2_fma)) return 0;
  struct Impl { const char* name; void (*fn)(const GemmArgs&); };
  const Impl impls[] = {{"ours", convis::gemm_f32__avx2}, {"eigen_avx2", convis::gemm_f32_eigen__avx2}};
  for (const bool dx : {false, true})
    for (int t : {2, 1})
      for (int64_t batch : {1, 4})
        for (const Dense& d : kVgg16Dense)
          for (const Impl& impl : impls) {
            const std::string name = std::string(dx ? "dense_dx/" : "dense/") + impl.name + "/" + d.name + "/batch:" +
                                     std::to_string(batch) + "/threads:" + std::to_string(t);
            benchmark::RegisterBenchmark(name.c_str(), dense, impl.fn, d, batch, dx, t)
                ->UseRealTime()->Unit(benchmark::kMillisecond);
          }
  return 0;
}();

}  // namespace
