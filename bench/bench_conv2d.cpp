// conv2d on the 13 VGG16 convolutions (3x3, stride 1, same), batch 1, at 96x96 and 224x224,
// on 1 and 2 OpenMP threads. Reports FLOP/s:
//   conv2d_fwd        y = conv(x, w) + b                     2*N*OH*OW*OC*KH*KW*C flops
//   conv2d_bwd_data   dx += col2im(dy W^T)                   the same count
//   conv2d_bwd        bwd data + bwd filter (dw, db)         twice that count
// Names: conv2d_fwd/block3_conv1/224/threads:2. Filter with --benchmark_filter=.
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

const int registered = register_vgg16_convs();

}  // namespace
