// vis_tool train and evaluate: the Keras tutorial CNN on Fashion-MNIST (or any MNIST-style folder),
// trained with Adam and saved as a Keras 2 model.save() file; then loss, accuracy and confusion.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include <unistd.h>

#include "engine/idx.h"
#include "engine/model_io.h"
#include "engine/optim.h"
#include "engine/train.h"
#include "kernels/cpu.h"
#include "tools/cli.h"
#include "tools/dataset_classes.h"
#include "tools/progress.h"

namespace convis::cli {

namespace {

namespace fs = std::filesystem;

// The output file must be creatable before hours of training go into it.
void check_output_path(const std::string& out) {
  const fs::path p(out);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw UsageError("train: --out '" + out + "': directory '" + dir.string() + "' does not exist");
  if (fs::is_directory(p, ec)) throw UsageError("train: --out '" + out + "' is a directory, expected a file name");
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError("train: --out '" + out + "': directory '" + dir.string() + "' is not writable");
}

int positive(const Args& args, const char* name, int fallback, const char* command) {
  const int v = args.get_int(name, fallback);
  if (v <= 0 || v > (1 << 24))
    throw UsageError(std::string(command) + ": --" + name + " must be in 1.." + std::to_string(1 << 24) + ", got " + std::to_string(v));
  return v;
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

// Every weight of `a` equals the same weight of `b` bit for bit; returns how many floats were compared.
int64_t compare_bit_exact(const Model& a, const Model& b, const std::string& path) {
  int64_t n = 0;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const Layer& la = a.layers[i];
    const Layer& lb = b.layers.at(i);
    if (la.name != lb.name || la.weights.size() != lb.weights.size())
      throw std::runtime_error("reloading '" + path + "': layer " + std::to_string(i) + " is '" + lb.name +
                               "', expected '" + la.name + "' with " + std::to_string(la.weights.size()) + " weights");
    for (size_t k = 0; k < la.weights.size(); ++k) {
      const Tensor& x = la.weights[k].value();
      const Tensor& y = lb.weights[k].value();
      if (x.shape() != y.shape() || std::memcmp(x.data(), y.data(), size_t(x.numel()) * sizeof(float)) != 0)
        throw std::runtime_error("reloading '" + path + "': layer '" + la.name + "' " + la.weight_names[k] +
                                 " differs from the trained weights");
      n += x.numel();
    }
  }
  return n;
}

int run_train(const std::vector<std::string>& argv) {
  Args args("train", argv, {});
  args.allow_only({"data", "epochs", "batch", "seed", "limit", "out"});
  const std::string dir = args.get("data", kDefaultMnistDir);
  const int epochs = positive(args, "epochs", 10, "train");
  const int batch = positive(args, "batch", 64, "train");
  const int seed = args.get_int("seed", 0);
  if (seed < 0) throw UsageError("train: --seed must be >= 0, got " + std::to_string(seed));
  const std::string out = args.require("out");
  check_output_path(out);

  const MnistData data = load_mnist_dir(dir);
  int64_t count = data.train.count;
  if (args.has("limit")) {
    count = positive(args, "limit", 0, "train");
    if (count > data.train.count)
      throw UsageError("train: --limit " + std::to_string(count) + " is more than the " +
                       std::to_string(data.train.count) + " training images in '" + dir + "'");
  }
  Model m = keras_tutorial_cnn();
  if (data.train.rows != m.input_h || data.train.cols != m.input_w)
    throw std::invalid_argument("dataset folder '" + dir + "' has " + std::to_string(data.train.rows) + "x" +
                                std::to_string(data.train.cols) + " images; the tutorial CNN takes 28x28");
  init_glorot_uniform(m, uint32_t(seed));
  Adam opt(model_params(m));
  std::mt19937 order(batch_order_seed(uint32_t(seed)));
  const int64_t steps = (count + batch - 1) / batch;
  std::fprintf(stderr,
               "training %s (%s parameters) on %lld images of %s, testing on %lld: %d epoch%s, batch %d "
               "(%lld steps), seed %d, Adam lr 0.001, %d thread%s\n",
               m.name.c_str(), with_commas(m.param_count()).c_str(), (long long)count, dir.c_str(),
               (long long)data.test.count, epochs, epochs == 1 ? "" : "s", batch, (long long)steps, seed, num_threads(),
               num_threads() == 1 ? "" : "s");

  EvalResult test;
  double train_seconds = 0;
  for (int e = 1; e <= epochs; ++e) {
    Progress bar("epoch " + std::to_string(e) + "/" + std::to_string(epochs), steps);
    char extra[128];
    const auto start = std::chrono::steady_clock::now();
    const EpochResult r = train_epoch(m, opt, data.train, count, batch, order, [&](const BatchReport& b) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::snprintf(extra, sizeof extra, "loss %.4f accuracy %.4f %.0f images/s", b.loss, b.accuracy,
                    t > 0 ? double(b.seen) / t : 0.0);
      bar.update(b.step, extra);
    });
    train_seconds += r.seconds;
    test = evaluate(m, data.test);
    std::snprintf(extra, sizeof extra, "(%.0f images/s)", double(r.images) / r.seconds);
    bar.finish(extra);
    std::printf("epoch %2d/%d: loss %.4f accuracy %.4f - test loss %.4f accuracy %.4f - %.1fs, %.0f images/s\n", e,
                epochs, r.loss, r.accuracy, test.loss, test.accuracy, r.seconds, double(r.images) / r.seconds);
    std::fflush(stdout);
  }
  std::printf("test loss %.4f accuracy %.4f (%lld images); training took %.1fs (%.1fs per epoch)\n", test.loss,
              test.accuracy, (long long)test.count, train_seconds, train_seconds / epochs);

  save_model(m, out);
  const Model back = load_model(out);
  const int64_t n = compare_bit_exact(m, back, out);
  std::printf("saved %s (Keras 2 model.save() layout); reloaded: %s weights bit-exact\n", out.c_str(),
              with_commas(n).c_str());
  return 0;
}

int run_evaluate(const std::vector<std::string>& argv) {
  Args args("evaluate", argv, {});
  args.allow_only({"weights", "data", "limit", "classes"});
  const std::string spec = args.require("weights");
  const std::string dir = args.get("data", kDefaultMnistDir);
  const Model m = load_model(spec);
  const MnistSplit test = load_mnist_split(dir, "t10k");
  int64_t count = test.count;
  if (args.has("limit")) count = std::min<int64_t>(positive(args, "limit", 0, "evaluate"), test.count);
  const EvalResult r = evaluate(m, test, count);
  const ClassNames names = dataset_class_names(args, resolve_weights_path(spec), m, r.classes);

  std::printf("%s on %lld test images of %s\n", resolve_weights_path(spec).c_str(), (long long)r.count, dir.c_str());
  int64_t correct = 0;
  for (int k = 0; k < r.classes; ++k) correct += r.confusion[size_t(k * r.classes + k)];
  std::printf("loss %.4f  accuracy %.4f (%lld/%lld)\n\n", r.loss, r.accuracy, (long long)correct, (long long)r.count);
  std::printf("confusion matrix (rows: true class, columns: predicted class; names: %s)\n",
              names.labels.empty() ? "none" : names.path.c_str());
  std::printf("%-16s", "");
  for (int k = 0; k < r.classes; ++k) std::printf(" %5d", k);
  std::printf("  recall\n");
  for (int t = 0; t < r.classes; ++t) {
    std::string label = std::to_string(t) + " " + names.name(t);
    if (label.size() > 15) label.resize(15);
    std::printf("%-16s", label.c_str());
    int64_t row = 0;
    for (int p = 0; p < r.classes; ++p) {
      std::printf(" %5lld", (long long)r.confusion[size_t(t * r.classes + p)]);
      row += r.confusion[size_t(t * r.classes + p)];
    }
    std::printf("  %.3f\n", row ? double(r.confusion[size_t(t * r.classes + t)]) / double(row) : 0.0);
  }
  return 0;
}

}  // namespace

static const Registration reg_train(70, {"train", "train the Keras tutorial CNN on Fashion-MNIST (Adam) and save it",
       "vis_tool train [--data DIR] [--epochs 10] [--batch 64] [--seed 0] [--limit N] --out F.h5\n\n"
       "Trains the CNN of the Keras tutorial (conv2d 32 - pool - conv2d_1 64 - pool - conv2d_2 64 -\n"
       "flatten - dense 64 - dense_1 10 softmax, 93,322 parameters; Glorot-uniform kernels, zero\n"
       "biases) with Adam (Keras' defaults: lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7) on the\n"
       "sparse categorical cross-entropy of the logits. Pixels are scaled to [0, 1]; each epoch visits\n"
       "the training images in a new random order, `--batch` at a time, the last batch keeping the\n"
       "remainder (as Keras). After each epoch the test set is evaluated (Keras' validation_data).\n"
       "The same seed and thread count (--threads, OMP_NUM_THREADS) give the same file.\n\n"
       "  --data DIR   a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
       "               t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may end in .gz);\n"
       "               default /usr/share/datasets/fashion-mnist\n"
       "  --limit N    train on the first N training images only (the test set stays whole)\n"
       "  --out F.h5   a Keras 2 model.save() file, written atomically; reloaded and checked\n\n"
       "example:\n  vis_tool train --epochs 10 --batch 64 --seed 1 --out weights/fashion_cnn.h5",
       run_train});

static const Registration reg_evaluate(71, {"evaluate", "test loss, accuracy and confusion matrix of a Fashion-MNIST model",
       "vis_tool evaluate --weights F [--data DIR] [--limit N] [--classes J]\n\n"
       "Runs the t10k test images of DIR (default /usr/share/datasets/fashion-mnist) through the\n"
       "model and prints the mean cross-entropy, the accuracy and the confusion matrix (rows: true\n"
       "class, columns: predicted) with each class's recall. Class names come from the class index\n"
       "beside the weights (or --classes), else Fashion-MNIST's. --weights fashion is\n"
       "weights/fashion_cnn.h5. --limit N uses the first N test images.\n\n"
       "example:\n  vis_tool evaluate --weights fashion",
       run_evaluate});

}  // namespace convis::cli
