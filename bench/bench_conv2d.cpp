// conv2d on the 13 VGG16 convolutions (3x3, stride 1, same), batch 1, at 96x96 and 224x224,
// on 1 and 2 OpenMP threads. Reports FLOP/s:
//   conv2d_fwd        y = conv(x, w) + b                     2*N*OH*OW*OC*KH*KW*C flops
//   conv2d_bwd_data   dx += col2im(dy W^T)                   the same count
//   conv2d_bwd        bwd data + bwd filter (dw, db)         twice that count
// Names: conv2d_fwd/block3_conv1/224/threads:2 (the dispatcher's choice: Winograd where
// winograd_applies). Filter with --benchmark_filter=.
// im2col against Winograd F(2x2,3x3), forward and input gradient, batch 1 and 16, 2 threads,
// counted in the direct convolution's flops (so Winograd's figure is an effective rate):
//   conv2d_algo/winograd/fwd/block4_conv1/96/b16/threads:2
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/conv2d.h"

namespace {

struct VggConv {
  const char* name;
  int C, OC, downsample;  // input is (H/downsample, W/downsample)
};

// keras.applications.VGG16's convolution layers: each block halves the image (max pooling).
const VggConv kVgg16[] = {
    {"block1_conv1", 3, 64, 1},     {"block1_conv2", 64, 64, 1},
    {"block2_conv1", 64, 128, 2},   {"block2_conv2", 128, 128, 2},
    {"block3_conv1", 128, 256, 4},  {"block3_conv2", 256, 256, 4},  {"block3_conv3", 256, 256, 4},
    {"block4_conv1", 256, 512, 8},  {"block4_conv2", 512, 512, 8},  {"block4_conv3", 512, 512, 8},
    {"block5_conv1", 512, 512, 16}, {"block5_conv2", 512, 512, 16}, {"block5_conv3", 512, 512, 16},
};

enum class Pass { fwd, bwd_data, bwd };

std::vector<float> random_vec(int64_t n) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = u(rng);
  return v;
}

void run_conv(benchmark::State& state, convis::Conv2dShape s, Pass pass, int threads) {
  const int threads_before = omp_get_max_threads();
  omp_set_num_threads(threads);
  const auto x = random_vec(int64_t(s.N) * s.H * s.W * s.C);
  const auto w = random_vec(int64_t(s.KH) * s.KW * s.C * s.OC);
  const auto b = random_vec(s.OC);
  const auto dy = random_vec(int64_t(s.N) * s.OH * s.OW * s.OC);
  std::vector<float> y(dy.size()), dx(x.size()), dw(w.size()), db(b.size());
  for (auto _ : state) {
    switch (pass) {
      case Pass::fwd:
        convis::conv2d_nhwc_fwd(x.data(), w.data(), b.data(), y.data(), s);
        benchmark::DoNotOptimize(y.data());
        break;
      case Pass::bwd_data:
        convis::conv2d_nhwc_bwd_data(dy.data(), w.data(), dx.data(), s);
        benchmark::DoNotOptimize(dx.data());
        break;
      case Pass::bwd:
        convis::conv2d_nhwc_bwd_data(dy.data(), w.data(), dx.data(), s);
        convis::conv2d_nhwc_bwd_filter(x.data(), dy.data(), dw.data(), db.data(), s);
        benchmark::DoNotOptimize(dx.data());
        benchmark::DoNotOptimize(dw.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  const double flops = double(s.flops()) * (pass == Pass::bwd ? 2.0 : 1.0);
  state.counters["FLOP/s"] = benchmark::Counter(flops * double(state.iterations()), benchmark::Counter::kIsRate);
  omp_set_num_threads(threads_before);
}

int register_vgg16_convs() {
  const std::pair<Pass, const char*> passes[] = {
      {Pass::fwd, "conv2d_fwd"}, {Pass::bwd_data, "conv2d_bwd_data"}, {Pass::bwd, "conv2d_bwd"}};
  for (const auto& [pass, pass_name] : passes)
    for (int size : {96, 224})
      for (const VggConv& layer : kVgg16)
        for (int threads : {1, 2}) {
          const int hw = size / layer.downsample;
          const convis::Conv2dShape s =
              convis::make_conv2d_shape(1, hw, hw, layer.C, 3, 3, layer.OC, 1, 1, convis::Padding::same);
          const std::string name = std::string(pass_name) + "/" + layer.name + "/" + std::to_string(size) +
                                   "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), run_conv, s, pass, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond);
        }
  return 0;
}

enum class Algo { im2col, winograd, winograd4 };

void run_algo(benchmark::State& state, convis::Conv2dShape s, Algo algo, bool fwd) {
  const int threads_before = omp_get_max_threads();
  omp_set_num_threads(2);
  convis::set_winograd_enabled(false);  // the im2col functions then never take Winograd
  const auto x = random_vec(int64_t(s.N) * s.H * s.W * s.C);
  const auto w = random_vec(int64_t(s.KH) * s.KW * s.C * s.OC);
  const auto b = random_vec(s.OC);
  const auto dy = random_vec(int64_t(s.N) * s.OH * s.OW * s.OC);
  std::vector<float> y(dy.size()), dx(x.size());
  for (auto _ : state) {
    if (fwd && algo == Algo::im2col) convis::conv2d_nhwc_fwd(x.data(), w.data(), b.data(), y.data(), s);
    if (fwd && algo == Algo::winograd) convis::conv2d_nhwc_fwd_winograd(x.data(), w.data(), b.data(), y.data(), s);
    if (algo == Algo::winograd4) convis::conv2d_nhwc_fwd_winograd4(x.data(), w.data(), b.data(), y.data(), s);
    if (!fwd && algo == Algo::im2col) convis::conv2d_nhwc_bwd_data(dy.data(), w.data(), dx.data(), s);
    if (!fwd && algo == Algo::winograd) convis::conv2d_nhwc_bwd_data_winograd(dy.data(), w.data(), dx.data(), s);
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(double(s.flops()) * double(state.iterations()), benchmark::Counter::kIsRate);
  convis::set_winograd_enabled(true);
  omp_set_num_threads(threads_before);
}

int register_algos() {
  for (const auto& [algo, algo_name] : {std::pair{Algo::im2col, "im2col"}, std::pair{Algo::winograd, "winograd"},
                                        std::pair{Algo::winograd4, "winograd4"}})
    for (const bool fwd : {true, false}) {
      if (algo == Algo::winograd4 && !fwd) continue;  // F(4x4) is the forward's only
      for (const auto& [size, batch] : {std::pair{96, 1}, std::pair{96, 16}, std::pair{224, 1}})
        for (const VggConv& layer : kVgg16) {
          if (layer.C < 64) continue;  // block1_conv1: 3 channels, never Winograd
          const int hw = size / layer.downsample;
          const convis::Conv2dShape s =
              convis::make_conv2d_shape(batch, hw, hw, layer.C, 3, 3, layer.OC, 1, 1, convis::Padding::same);
          const std::string name = std::string("conv2d_algo/") + algo_name + (fwd ? "/fwd/" : "/bwd_data/") +
                                   layer.name + "/" + std::to_string(size) + "/b" + std::to_string(batch) +
                                   "/threads:2";
          benchmark::RegisterBenchmark(name.c_str(), run_algo, s, algo, fwd)->UseRealTime()->Unit(benchmark::kMillisecond);
        }
    }
  return 0;
}

const int registered = register_vgg16_convs() + register_algos();

}  // namespace
