// convis_compare: one workload of the PyTorch comparison (bench/compare/compare.py), run by
// convis alone in its own process, so that the peak resident memory it prints is this
// workload's. It times the workload (warm-up, then the median of repeated runs), prints one line
// of JSON, and writes what it computed to .npy files so compare.py can check the numbers against
// PyTorch's before it trusts the time.
//
//   convis_compare forward --weights F [--size 224] --input x.npy [--layer block5_pool] --out y.npy
//   convis_compare am      --weights F --size 96 --input x.npy --layer block3_conv1 --out-grad g.npy
//                          --out-image x1.npy
//   convis_compare train   --data DIR --batch 1000 --seed S --init-out w0.h5 --out losses.npy
//
// forward  y = the model up to --layer on x:(N,S,S,3), no gradient recorded.
// am       one activation-maximisation step, the `seed` method of vis/maximize.h (its
//          Maximizer::input_gradient, then its update): image b's objective is the mean over (H, W)
//          of channel b (mod C) of the layer's output (after its ReLU), the gradient goes to the
//          input only (weights frozen), and x1 = x + 0.1 * g / |g|_2 per image. Every repetition
//          starts again from x.
// train    writes the tutorial CNN's Glorot-uniform initial weights (keras1 layout) for PyTorch to
//          load; checks on the first `batch` training images in file order: the loss before and
//          after one Adam step on them (written to --out); then times one shuffled epoch from
//          the same initial weights (train_epoch, as `vis_tool train` runs it).
//
// train also takes --images N: an epoch of the first N images only, for profiling.
// Options common to all: --repeats R (timed runs, default 5), --warmup W (default 1), --cache-mb M
// (buffer_cache::set_limit: 0 turns the buffer cache off, for before/after measurements).
// Output line: {"workload": ..., "median_ms": ..., "min_ms": ..., "runs": R, "peak_rss_mb": ...}
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/buffer_cache.h"
#include "engine/idx.h"
#include "engine/model.h"
#include "engine/model_io.h"
#include "engine/npy.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/train.h"
#include "vis/maximize.h"

namespace {

using namespace convis;

struct Options {
  std::string workload;
  std::map<std::string, std::string> kv;
  std::string get(const std::string& k, const std::string& fallback = "") const {
    auto it = kv.find(k);
    if (it != kv.end()) return it->second;
    if (fallback.empty()) throw std::invalid_argument("convis_compare " + workload + ": --" + k + " is required");
    return fallback;
  }
  int get_int(const std::string& k, int fallback) const { return std::stoi(get(k, std::to_string(fallback))); }
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux keeps that across
// execve, so a child of a large process (compare.py with PyTorch loaded) would report its parent's.
double peak_rss_mb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1.0;
  char line[256];
  double kb = -1.0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::atof(line + 6);
  std::fclose(f);
  return kb / 1024.0;
}

// Runs f warmup times untimed, then `repeats` times timed; returns the sorted times (ms).
template <class F>
std::vector<double> time_runs(F&& f, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = now_ms();
    f();
    ms.push_back(now_ms() - t0);
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

double median(const std::vector<double>& v) {
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void report(const std::string& name, const std::vector<double>& ms, const std::string& extra = "") {
  std::printf("{\"workload\": \"%s\", \"median_ms\": %.3f, \"min_ms\": %.3f, \"runs\": %zu, \"peak_rss_mb\": %.1f, "
              "\"peak_tensor_mb\": %.1f%s}\n",
              name.c_str(), median(ms), ms.front(), ms.size(), peak_rss_mb(),
              double(buffer_cache::peak_live_bytes()) / (1 << 20), extra.c_str());
}

int run_forward(const Options& o) {
  const Tensor x = read_npy(o.get("input"));
  const int size = int(x.dim(1));
  const Model m = load_model(o.get("weights"), size, size);
  const int last = m.layer_index(o.get("layer", "block5_pool"));
  Tensor y;
  auto step = [&] {
    NoGrad no_grad;
    y = m.forward(Var::constant(x), last).value();
  };
  const std::vector<double> ms = time_runs(step, o.get_int("warmup", 1), o.get_int("repeats", 5));
  write_npy(o.get("out"), y);
  report("forward", ms);
  return 0;
}

int run_am(const Options& o) {
  const Tensor x0 = read_npy(o.get("input"));
  const int64_t B = x0.dim(0);
  const Model m = load_model(o.get("weights"), int(x0.dim(1)), int(x0.dim(2)));
  MaximizeOptions opt;
  opt.method = MaximizeMethod::seed;
  opt.size = int(x0.dim(1));
  opt.batch = int(B);
  const Maximizer mx(m, o.get("layer"), opt);  // the model up to the layer, weights frozen
  std::vector<int> filters;
  for (int64_t b = 0; b < B; ++b) filters.push_back(int(b % mx.num_filters()));
  Tensor g, x1;
  auto step = [&] {
    mx.input_gradient(x0, filters, &g);
    x1 = x0.clone();
    seed_update(&x1, g, mx.step());  // the seed method's update, as vis_tool maximize runs it
  };
  const std::vector<double> ms = time_runs(step, o.get_int("warmup", 1), o.get_int("repeats", 5));
  write_npy(o.get("out-grad"), g);
  write_npy(o.get("out-image"), x1);
  report("am", ms);
  return 0;
}

int run_train(const Options& o) {
  const MnistData data = load_mnist_dir(o.get("data", kDefaultMnistDir));
  const int batch = o.get_int("batch", 1000);
  const uint32_t seed = uint32_t(o.get_int("seed", 1));
  auto fresh_model = [&] {
    Model m = keras_tutorial_cnn();
    init_glorot_uniform(m, seed);  // parameters: require gradients
    return m;
  };
  save_model(fresh_model(), o.get("init-out"), KerasLayout::keras1);

  // The check: loss on the first `batch` images before and after one Adam step on them.
  {
    const Model m = fresh_model();
    Adam opt(model_params(m));
    std::vector<int64_t> idx{};
    idx.resize(size_t(batch));
    std::vector<int> labels{};
    labels.resize(size_t(batch));
    for (int i = 0; i < batch; ++i) {
      idx[size_t(i)] = i;
      labels[size_t(i)] = data.train.labels[size_t(i)];
    }
    const Tensor x = mnist_batch(data.train, idx.data(), batch);
    opt.zero_grad();
    const Var loss0 = sparse_categorical_crossentropy(m.forward(Var::constant(x), -1, true), labels);
    Tape::current().backward(loss0);
    opt.step();
    NoGrad no_grad;
    const Var loss1 = sparse_categorical_crossentropy(m.forward(Var::constant(x), -1, true), labels);
    write_npy(o.get("out"), Tensor::from(Shape{2}, {loss0.value().item(), loss1.value().item()}));
  }

  // The timed epochs, each from the initial weights with a fresh optimiser (--images: fewer, for profiling).
  const int64_t images = std::min<int64_t>(data.train.count, o.get_int("images", int(data.train.count)));
  double last_loss = 0.0;
  auto epoch = [&] {
    const Model m = fresh_model();
    Adam opt(model_params(m));
    std::mt19937 order(batch_order_seed(seed));
    last_loss = train_epoch(m, opt, data.train, images, batch, order).loss;
  };
  const std::vector<double> ms = time_runs(epoch, o.get_int("warmup", 0), o.get_int("repeats", 1));
  char extra[64];
  std::snprintf(extra, sizeof extra, ", \"epoch_loss\": %.5f", last_loss);
  report("train", ms, extra);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw std::invalid_argument("usage: convis_compare forward|am|train --key value ...");
    Options o;
    o.workload = argv[1];
    for (int i = 2; i < argc; i += 2) {
      const std::string k = argv[i];
      if (k.rfind("--", 0) != 0 || i + 1 >= argc)
        throw std::invalid_argument("convis_compare: expected --key value, got '" + k + "'");
      o.kv[k.substr(2)] = argv[i + 1];
    }
    if (o.kv.count("cache-mb")) buffer_cache::set_limit(int64_t(std::stoi(o.kv["cache-mb"])) << 20);
    if (o.workload == "forward") return run_forward(o);
    if (o.workload == "am") return run_am(o);
    if (o.workload == "train") return run_train(o);
    throw std::invalid_argument("convis_compare: unknown workload '" + o.workload + "' (forward, am, train)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convis_compare: %s\n", e.what());
    return 1;
  }
}
