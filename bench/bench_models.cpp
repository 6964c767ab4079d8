// One forward pass of whole models, as classify runs it (batch 1, no gradient), and one forward +
// backward to the input, as saliency and maximisation run it.
//
//   model/<arch>/<size>/threads:T            forward of keras.applications' <arch> with its top
//                                            (random He-normal weights) at size x size
//   model_grad/<arch>/<size>/threads:T       forward + backward of a class logit to the image (weights frozen:
//                                            the backward is the input gradient only, about the forward again)
// Counter GFLOP/s: the model's multiply-adds x 2 (convolutions, depthwise, dense) per second.
//   ./convis_bench --benchmark_filter='^model'
#include <benchmark/benchmark.h>

#include <omp.h>

#include <string>

#include "engine/applications.h"
#include "engine/ops.h"

namespace {

using namespace convis;

// Multiply-adds x 2 of the layers that do arithmetic worth counting.
double model_flops(const Model& m) {
  double f = 0.0;
  for (size_t i = 1; i < m.layers.size(); ++i) {
    const Layer& l = m.layers[i];
    const Shape& in = m.input_shape(int(i));
    const Shape& out = l.output_shape;
    const double pixels = out.rank() == 3 ? double(out[0] * out[1]) : 1.0;
    const double k = double(l.kernel_h) * l.kernel_w;
    switch (l.type) {
      case LayerType::conv2d: f += 2.0 * pixels * k * double(in[2]) * double(out[2]); break;
      case LayerType::depthwise_conv2d: f += 2.0 * pixels * k * double(out[2]); break;
      case LayerType::separable_conv2d:
        f += 2.0 * pixels * (k * double(in[2]) * l.depth_multiplier + double(in[2]) * l.depth_multiplier * double(out[2]));
        break;
      case LayerType::dense: f += 2.0 * double(in.numel()) * double(l.units); break;
      default: break;
    }
  }
  return f;
}

void run(benchmark::State& state, const std::string& arch, int size, bool grad) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(int(state.range(0)));
  Model m = application(arch, true);
  m.input_h = m.input_w = 0;  // any size: the top's Flatten-free GAP head takes it
  m.build(size, size);
  init_he_normal(m, 1);
  m.set_trainable(false);
  Tensor x(Shape{1, size, size, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = float((i * 7919) % 255) / 255.f;
  for (auto _ : state) {
    if (grad) {
      Var v = Var::param(x);
      Var y = m.forward(v, int(m.layers.size()) - 1, /*pre_activation=*/true);
      Tape::current().backward(sum(channel(y, 1)));
      benchmark::DoNotOptimize(v.grad().data());
    } else {
      NoGrad no_grad;
      Var y = m.forward(Var::constant(x));
      benchmark::DoNotOptimize(y.value().data());
    }
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(model_flops(m) * 1e-9 * (grad ? 2.0 : 1.0), benchmark::Counter::kIsIterationInvariantRate);
  omp_set_num_threads(saved);
}

void register_all() {
  for (const char* arch : {"resnet50", "mobilenet_v2", "densenet121", "inception_v3", "xception"})
    for (int size : {224}) {
      for (bool grad : {false, true}) {
        const std::string name = std::string(grad ? "model_grad/" : "model/") + arch + "/" + std::to_string(size);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { run(s, arch, size, grad); })
            ->ArgName("threads")
            ->Arg(1)
            ->Arg(2)
            ->Unit(benchmark::kMillisecond)
            ->MinTime(1.0);
      }
    }
}

const int registered = (register_all(), 0);

}  // namespace
