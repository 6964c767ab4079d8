// Training: the IDX reader on hand-made files, Adam against hand-computed updates, the tutorial
// CNN's Keras numbers, a real one-epoch run on Fashion-MNIST, save/reload, the shipped weights,
// and the train / evaluate / predict / samples commands on a tiny hand-made dataset.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <omp.h>
#include <zlib.h>

#include "engine/class_index.h"
#include "engine/idx.h"
#include "engine/model_io.h"
#include "engine/optim.h"
#include "engine/train.h"
#include "tests/cli_util.h"
#include "tests/util.h"

using namespace convis;
namespace fs = std::filesystem;

namespace {

// An IDX file by hand: 0, 0, type, d, big-endian dims, then the bytes.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data, uint8_t type = 0x08) {
  std::string b;
  b += char(0);
  b += char(0);
  b += char(type);
  b += char(dims.size());
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b += char((d >> s) & 0xff);
  b.append(reinterpret_cast<const char*>(data.data()), data.size());
  return b;
}

void write_plain(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

void write_gzip(const fs::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  gzclose(f);
}

using convis::test::error_of;

using convis::test::contains;

// A tiny MNIST-style dataset: n random 28x28 images whose label is written into their brightness
// (label k: pixels around 20 * k), so a model can learn something in a few steps.
struct TinySet {
  std::vector<uint8_t> images, labels;
};
TinySet tiny_set(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  TinySet t;
  for (int i = 0; i < n; ++i) {
    const int label = int(rng() % 10);
    t.labels.push_back(uint8_t(label));
    for (int p = 0; p < 28 * 28; ++p) t.images.push_back(uint8_t(std::min<uint32_t>(255, 20 * label + rng() % 40)));
  }
  return t;
}

void write_tiny_dir(const fs::path& dir, int train_n, int test_n) {
  fs::create_directories(dir);
  const TinySet tr = tiny_set(train_n, 1), te = tiny_set(test_n, 2);
  write_gzip(dir / "train-images-idx3-ubyte.gz", idx_bytes({uint32_t(train_n), 28, 28}, tr.images));
  write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_bytes({uint32_t(train_n)}, tr.labels));
  write_plain(dir / "t10k-images-idx3-ubyte", idx_bytes({uint32_t(test_n), 28, 28}, te.images));
  write_plain(dir / "t10k-labels-idx1-ubyte", idx_bytes({uint32_t(test_n)}, te.labels));
}

MnistSplit split_of(const TinySet& t) {
  MnistSplit s;
  s.count = int64_t(t.labels.size());
  s.rows = s.cols = 28;
  s.images = t.images;
  s.labels = t.labels;
  return s;
}

bool same_weights(const Model& a, const Model& b) {
  if (a.layers.size() != b.layers.size()) return false;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    if (a.layers[i].weights.size() != b.layers[i].weights.size()) return false;
    for (size_t k = 0; k < a.layers[i].weights.size(); ++k) {
      const Tensor& x = a.layers[i].weights[k].value();
      const Tensor& y = b.layers[i].weights[k].value();
      if (x.shape() != y.shape() || std::memcmp(x.data(), y.data(), size_t(x.numel()) * 4) != 0) return false;
    }
  }
  return true;
}

std::string fashion_weights() {
  const std::string p = resolve_weights_path("fashion");
  return fs::exists(p) ? p : std::string();
}

bool have_fashion_mnist() { return fs::exists(std::string(kDefaultMnistDir) + "/t10k-labels-idx1-ubyte.gz"); }

}  // namespace

// ---- IDX ------------------------------------------------------------------------------------

TEST_CASE("idx: hand-made plain and gzip files read the same") {
  const fs::path dir = test::temp_dir("idx_read");
  std::vector<uint8_t> px(3 * 2 * 4);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 7);
  const std::string bytes = idx_bytes({3, 2, 4}, px);
  write_plain(dir / "a", bytes);
  write_gzip(dir / "a.gz", bytes);
  for (const char* name : {"a", "a.gz"}) {
    const IdxArray a = read_idx((dir / name).string());
    CHECK(a.dims == std::vector<int64_t>{3, 2, 4});
    CHECK(a.data == px);
  }
  // A folder with gzip training files and plain test files, found with and without ".gz".
  write_tiny_dir(dir / "set", 12, 5);
  const MnistData d = load_mnist_dir((dir / "set").string());
  const TinySet tr = tiny_set(12, 1);
  CHECK(d.train.count == 12);
  CHECK(d.test.count == 5);
  CHECK(d.train.rows == 28);
  CHECK(d.train.images == tr.images);
  CHECK(d.train.labels == tr.labels);
  // mnist_batch scales to [0, 1] and keeps NHWC order.
  const int64_t idx[2] = {3, 0};
  const Tensor x = mnist_batch(d.train, idx, 2);
  CHECK(x.shape() == Shape{2, 28, 28, 1});
  CHECK(x[0] == doctest::Approx(tr.images[3 * 784] / 255.0));
  CHECK(x[784 + 5 * 28 + 6] == doctest::Approx(tr.images[5 * 28 + 6] / 255.0));
  fs::remove_all(dir);
}

TEST_CASE("idx: bad files give one-line errors naming the file") {
  const fs::path dir = test::temp_dir("idx_bad");
  const std::vector<uint8_t> px(2 * 28 * 28, 9);
  auto err = [&](const std::string& name) { return error_of([&] { read_idx((dir / name).string()); }); };

  CHECK(contains(err("missing"), "does not exist"));
  write_plain(dir / "magic", std::string("\x00\x01\x08\x01\x00\x00\x00\x01\x05", 9));
  CHECK(contains(err("magic"), "not an IDX file"));
  write_plain(dir / "type", idx_bytes({2}, {1, 2}, 0x0D));
  CHECK(contains(err("type"), "0x0D"));
  const std::string full = idx_bytes({2, 28, 28}, px);
  write_plain(dir / "cut", full.substr(0, full.size() - 100));
  CHECK(contains(err("cut"), "is truncated"));
  write_plain(dir / "cut_header", full.substr(0, 9));
  CHECK(contains(err("cut_header"), "truncated inside its header"));
  write_plain(dir / "long", full + "xyz");
  CHECK(contains(err("long"), "data past"));
  // Four dimensions of 2^30: the product of the declared sizes overflows int64 unless each
  // multiplication is checked first (the fuzzer found this one); two of them are already too much.
  const std::string big_dim("\x40\x00\x00\x00", 4);
  write_plain(dir / "huge", std::string("\x00\x00\x08\x04", 4) + big_dim + big_dim + big_dim + big_dim);
  CHECK(contains(err("huge"), "declares more than 16 GiB of data"));
  // A gzip stream cut in the middle, and one whose compressed body is garbage.
  write_gzip(dir / "gz", full);
  const std::string gz = test::slurp(dir / "gz");
  write_plain(dir / "gz_cut", gz.substr(0, gz.size() / 2));
  CHECK(contains(err("gz_cut"), "is truncated"));
  std::string bad = gz;
  for (size_t i = 12; i < bad.size() - 8; ++i) bad[i] = char(0xff);
  write_plain(dir / "gz_bad", bad);
  CHECK(!err("gz_bad").empty());
  for (const char* name : {"magic", "type", "cut", "long", "huge", "gz_cut", "gz_bad"}) {
    const std::string e = err(name);
    CHECK_MESSAGE(contains(e, (dir / name).string()), name << ": " << e);
    CHECK_MESSAGE(e.find('\n') == std::string::npos, name << ": " << e);
  }

  // Folder-level checks: counts that disagree, labels out of range, images given as labels.
  write_tiny_dir(dir / "set", 4, 3);
  write_plain(dir / "set/t10k-labels-idx1-ubyte", idx_bytes({2}, {1, 2}));
  std::string e = error_of([&] { load_mnist_dir((dir / "set").string()); });
  CHECK(contains(e, "3 images but 2 labels"));
  write_plain(dir / "set/t10k-labels-idx1-ubyte", idx_bytes({3}, {1, 10, 2}));
  e = error_of([&] { load_mnist_dir((dir / "set").string()); });
  CHECK(contains(e, "label 10 at index 1"));
  CHECK(contains(e, "t10k-labels-idx1-ubyte"));
  write_plain(dir / "set/t10k-labels-idx1-ubyte", idx_bytes({3, 28, 28}, std::vector<uint8_t>(3 * 784)));
  e = error_of([&] { load_mnist_dir((dir / "set").string()); });
  CHECK(contains(e, "expected 1 (labels)"));
  fs::remove(dir / "set/t10k-labels-idx1-ubyte");
  e = error_of([&] { load_mnist_dir((dir / "set").string()); });
  CHECK(contains(e, "has no t10k-labels-idx1-ubyte"));
  CHECK(contains(error_of([&] { load_mnist_dir((dir / "nowhere").string()); }), "does not exist"));
  fs::remove_all(dir);
}

// ---- Adam -----------------------------------------------------------------------------------

TEST_CASE("adam: first steps match hand-computed Keras updates") {
  // One step from zero moments with gradient g: m = 0.1 g, v = 0.001 g^2,
  // alpha = 0.001 sqrt(0.001) / 0.1, update = alpha m / (sqrt(v) + 1e-7).
  //   g = -2    -> -0.000999998419  (about lr: Adam's first step is ~lr * sign(g))
  //   g = 1e-6  ->  0.000240253073  (epsilon hat dominates; Algorithm 1 would give 0.000909)
  const float grads[3] = {-2.f, 40.f, 1e-6f};
  const double want[3] = {-0.00099999841886367, 0.0009999999209430648, 0.00024025307335204227};
  Var p = Var::param(Tensor::from({3}, {0.5f, -1.f, 2.f}));
  Adam opt({p});
  p.grad_buffer();
  for (int i = 0; i < 3; ++i) p.grad_buffer()[i] = grads[i];
  opt.step();
  CHECK(opt.iterations() == 1);
  CHECK(p.value()[0] == doctest::Approx(0.5 - want[0]).epsilon(1e-6));
  CHECK(p.value()[1] == doctest::Approx(-1.0 - want[1]).epsilon(1e-6));
  CHECK(double(p.value()[2]) - 2.0 == doctest::Approx(-want[2]).epsilon(2e-3));  // float spacing near 2
}

TEST_CASE("adam: several steps on a two-parameter problem match a double-precision reference") {
  // loss = (x - 1)^2 + 10 (y + 2)^2 through the engine's ops; gradient (2 (x - 1), 20 (y + 2)).
  Var theta = Var::param(Tensor::from({2}, {0.f, 0.f}));
  const Var target = Var::constant(Tensor::from({2}, {1.f, -2.f}));
  const Var scale = Var::constant(Tensor::from({2}, {1.f, 10.f}));
  Adam::Options o;
  o.learning_rate = 0.1f;  // large enough that the path bends within a few steps
  Adam opt({theta}, o);
  double x[2] = {0, 0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double tgt[2] = {1, -2}, sc[2] = {1, 10};
  for (int t = 1; t <= 8; ++t) {
    opt.zero_grad();
    const Var d = sub(theta, target);
    Tape::current().backward(sum(mul(mul(d, d), scale)));
    opt.step();
    const double alpha = 0.1 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    for (int i = 0; i < 2; ++i) {
      const double g = 2 * sc[i] * (x[i] - tgt[i]);
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      x[i] -= alpha * m[i] / (std::sqrt(v[i]) + 1e-7);
      CHECK_MESSAGE(theta.value()[i] == doctest::Approx(x[i]).epsilon(1e-5), "step " << t << " parameter " << i);
      // v += (g^2 - v) * 0.001 in float drifts from double by ~1e-5 relative over 8 steps.
      CHECK(opt.m(0)[i] == doctest::Approx(m[i]).epsilon(1e-4));
      CHECK(opt.v(0)[i] == doctest::Approx(v[i]).epsilon(1e-4));
    }
  }
  // After 8 steps of size ~0.1 both coordinates moved by about 0.8 towards (1, -2).
  CHECK(x[0] > 0.5);
  CHECK(x[1] < -0.5);
}

TEST_CASE("adam: maximize on f takes exactly the steps of minimising -f (keras and textbook arithmetic)") {
  // f = sum(c * theta^2) + sum(theta): a non-trivial gradient 2 c theta + 1, negated exactly by
  // mul_scalar(f, -1) in backward.
  const Var c = Var::constant(Tensor::from({5}, {0.5f, -1.5f, 3.f, 1e-3f, -0.25f}));
  const std::vector<float> start = {0.3f, -2.f, 1.f, 1e-6f, 7.f};
  for (Adam::Arithmetic a : {Adam::Arithmetic::keras, Adam::Arithmetic::textbook}) {
    CAPTURE(int(a));
    Var up = Var::param(Tensor::from({5}, start)), down = Var::param(Tensor::from({5}, start));
    Adam::Options o;
    o.learning_rate = 0.05f;
    o.arithmetic = a;
    Adam descend({down}, o);
    o.maximize = true;
    Adam ascend({up}, o);
    auto f = [&](const Var& x) { return add(sum(mul(c, mul(x, x))), sum(x)); };
    for (int t = 0; t < 12; ++t) {
      ascend.zero_grad();
      Tape::current().backward(f(up));
      ascend.step();
      descend.zero_grad();
      Tape::current().backward(mul_scalar(f(down), -1.f));
      descend.step();
      for (int64_t i = 0; i < 5; ++i) {
        CHECK(up.value()[i] == down.value()[i]);  // exactly, not approximately
        CHECK(ascend.m(0)[i] == descend.m(0)[i]);
        CHECK(ascend.v(0)[i] == descend.v(0)[i]);
      }
    }
    // Ascent really went up: f grew.
    const float f0 = f(Var::constant(Tensor::from({5}, start))).value().item();
    CHECK(f(up).value().item() > f0);
    Tape::current().clear();
  }
}

TEST_CASE("adam: each arithmetic is its loop, bit for bit (keras: training; textbook: activation maximisation)") {
  const int64_t n = 257;
  const Tensor g0 = convis::test::random_tensor({n}, 21, -3.f, 3.f);
  for (bool maximize : {false, true})
    for (Adam::Arithmetic a : {Adam::Arithmetic::keras, Adam::Arithmetic::textbook}) {
      CAPTURE(maximize);
      CAPTURE(int(a));
      const bool keras = a == Adam::Arithmetic::keras;
      Adam::Options o;
      o.learning_rate = keras ? 0.001f : 0.05f;
      o.epsilon = keras ? 1e-7f : 1e-8f;
      o.maximize = maximize;
      o.arithmetic = a;
      Var p = Var::param(convis::test::random_tensor({n}, 22));
      Tensor x = p.value().clone(), m = Tensor::zeros({n}), v = Tensor::zeros({n});
      Adam opt({p}, o);
      for (int it = 0; it < 6; ++it) {
        Tensor& g = p.grad_buffer();
        for (int64_t i = 0; i < n; ++i) g[i] = g0[i] * float(it + 1) * (i % 3 ? 1.f : 1e-4f);
        opt.step();
        if (keras) {  // engine/optim.cpp before the options, float betas as Keras holds them
          const float b1 = 0.9f, b2 = 0.999f;
          const float lr_t = float(double(o.learning_rate) * std::sqrt(1.0 - std::pow(double(b2), it + 1.0)) /
                                   (1.0 - std::pow(double(b1), it + 1.0)));
          for (int64_t i = 0; i < n; ++i) {
            const float gi = maximize ? -g[i] : g[i];
            m[i] += (gi - m[i]) * (1.f - b1);
            v[i] += (gi * gi - v[i]) * (1.f - b2);
            x[i] -= lr_t * m[i] / (std::sqrt(v[i]) + o.epsilon);
          }
        } else {  // vis/maximize.cpp's lucid step before it used this Adam (always ascending there)
          const double b1 = 0.9, b2 = 0.999, eps = 1e-8, t = it + 1;
          const float lr_t = float(o.learning_rate * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
          for (int64_t i = 0; i < n; ++i) {
            const float gi = maximize ? g[i] : -g[i];  // that loop's ascent gradient
            m[i] = float(b1) * m[i] + float(1.0 - b1) * gi;
            v[i] = float(b2) * v[i] + float(1.0 - b2) * gi * gi;
            x[i] += lr_t * m[i] / (std::sqrt(v[i]) + float(eps));
          }
        }
        int64_t differ = 0;
        for (int64_t i = 0; i < n; ++i) differ += p.value()[i] != x[i];
        CHECK(differ == 0);
      }
    }
}

TEST_CASE("adam: bad options are refused naming them") {
  Var p = Var::param(Tensor::zeros({2}));
  Adam::Options o;
  o.beta_2 = 0.999999999;  // 1.0f in float: 1 - beta_2^t would be 0
  CHECK(contains(error_of([&] { Adam({p}, o); }), "beta_2 1.000000"));
  o.beta_2 = 0.999;
  o.learning_rate = 0.f;
  CHECK(contains(error_of([&] { Adam({p}, o); }), "expected lr > 0"));
}

// ---- the model and the training loop ----------------------------------------------------------

TEST_CASE("tutorial cnn: Keras names and parameter counts and Glorot init") {
  Model m = keras_tutorial_cnn();
  CHECK(m.layer_names() == std::vector<std::string>{"conv2d_input", "conv2d", "max_pooling2d", "conv2d_1",
                                                    "max_pooling2d_1", "conv2d_2", "flatten", "dense", "dense_1"});
  init_glorot_uniform(m, 3);
  const int64_t want[] = {0, 320, 0, 18496, 0, 36928, 0, 36928, 650};
  for (size_t i = 0; i < m.layers.size(); ++i) CHECK_MESSAGE(m.layers[i].param_count() == want[i], m.layers[i].name);
  CHECK(m.param_count() == 93322);
  CHECK(m.layers[6].output_shape == Shape{576});
  CHECK(contains(m.summary(), "Total params: 93,322"));
  // conv2d_1: fan_in 3*3*32, fan_out 3*3*64 -> limit sqrt(6 / 864); biases zero.
  const Tensor& k = m.layers[3].weights[0].value();
  const float limit = std::sqrt(6.f / 864.f);
  float lo = 1, hi = -1;
  for (int64_t i = 0; i < k.numel(); ++i) lo = std::min(lo, k[i]), hi = std::max(hi, k[i]);
  CHECK(lo >= -limit);
  CHECK(hi <= limit);
  CHECK(hi > 0.95f * limit);  // uniform over the whole range, not a narrower one
  for (int64_t i = 0; i < 64; ++i) CHECK(m.layers[3].weights[1].value()[i] == 0.f);
}

TEST_CASE("train: shuffles are permutations and the last partial batch is kept") {
  std::mt19937 rng(5);
  std::vector<int64_t> p = shuffled_indices(1000, rng);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) CHECK(sorted[size_t(i)] == i);
  CHECK(p != sorted);

  const MnistSplit s = split_of(tiny_set(100, 4));
  std::vector<int64_t> seen;
  Model m = keras_tutorial_cnn();
  init_glorot_uniform(m, 0);
  Adam opt(model_params(m));
  std::mt19937 order(batch_order_seed(0));
  const EpochResult r = train_epoch(m, opt, s, 100, 64, order, [&](const BatchReport& b) {
    CHECK(b.steps == 2);
    seen.push_back(b.seen);
  });
  CHECK(seen == std::vector<int64_t>{64, 100});
  CHECK(opt.iterations() == 2);
  CHECK(r.images == 100);
  CHECK(std::isfinite(r.loss));

  // The same seed gives the same weights, bit for bit; another seed does not.
  auto run = [&](uint32_t seed) {
    Model k = keras_tutorial_cnn();
    init_glorot_uniform(k, seed);
    Adam o(model_params(k));
    std::mt19937 ord(batch_order_seed(seed));
    train_epoch(k, o, s, 100, 32, ord);
    return k;
  };
  const Model a = run(7), b = run(7), c = run(8);
  CHECK(same_weights(a, b));
  CHECK(!same_weights(a, c));
}

TEST_CASE("train: the saved file reloads bit-exactly and predicts the same") {
  const fs::path dir = test::temp_dir("train_save");
  const MnistSplit s = split_of(tiny_set(96, 6));
  Model m = keras_tutorial_cnn();
  init_glorot_uniform(m, 2);
  Adam opt(model_params(m));
  std::mt19937 order(batch_order_seed(2));
  train_epoch(m, opt, s, 96, 32, order);
  const std::string path = (dir / "tiny.h5").string();
  save_model(m, path);
  const Model back = load_model(path);
  CHECK(back.name == "sequential");
  CHECK(back.layer_names() == m.layer_names());
  CHECK(back.param_count() == 93322);
  CHECK(same_weights(m, back));
  const EvalResult e1 = evaluate(m, s), e2 = evaluate(back, s);
  CHECK(e1.predicted == e2.predicted);
  CHECK(e1.loss == e2.loss);
  // Evaluation's loss and accuracy against a naive recomputation from the model's probabilities.
  NoGrad ng;
  std::vector<int64_t> idx(96);
  for (int i = 0; i < 96; ++i) idx[size_t(i)] = i;
  const Tensor probs = m.forward(Var::constant(mnist_batch(s, idx.data(), 96))).value();
  double loss = 0;
  int correct = 0;
  for (int i = 0; i < 96; ++i) {
    loss -= std::log(double(probs[i * 10 + s.labels[size_t(i)]]));
    int best = 0;
    for (int k = 1; k < 10; ++k)
      if (probs[i * 10 + k] > probs[i * 10 + best]) best = k;
    correct += best == s.labels[size_t(i)];
  }
  CHECK(e1.loss == doctest::Approx(loss / 96).epsilon(1e-4));
  CHECK(e1.accuracy == doctest::Approx(correct / 96.0));
  fs::remove_all(dir);
}

TEST_CASE("train: one epoch on 10000 Fashion-MNIST images reaches 80 percent") {
  if (!have_fashion_mnist()) {
    MESSAGE("skipped: Fashion-MNIST is not in " << kDefaultMnistDir);
    return;
  }
  // One pass over 10,000 images is ~160 steps at Keras' batch 64 and reaches only ~73-76% (a
  // full 60,000-image epoch gives ~85%); batch 16 and lr 0.003 get more out of the same images
  // (seeds 0-5: 79.7, 82.7, 80.1, 79.0, 81.2, 80.2%). Seed 1 is fixed, and the run gave the
  // same bits with 1, 2 and 3 threads, so its 82.7% is reproducible.
  // One thread: the same bits as two, and no OpenMP threads left waiting for a partner that
  // another test process (ctest -j) has descheduled, which made this run up to 10x slower.
  struct OneThread {
    int before = omp_get_max_threads();
    OneThread() { omp_set_num_threads(1); }
    ~OneThread() { omp_set_num_threads(before); }
  } one_thread;
  const MnistData d = load_mnist_dir(kDefaultMnistDir);
  Model m = keras_tutorial_cnn();
  init_glorot_uniform(m, 1);
  Adam::Options o;
  o.learning_rate = 0.003f;
  Adam opt(model_params(m), o);
  std::mt19937 order(batch_order_seed(1));
  const EpochResult r = train_epoch(m, opt, d.train, 10000, 16, order);
  const EvalResult e = evaluate(m, d.test);
  MESSAGE("one epoch on 10000 images: train loss " << r.loss << " accuracy " << r.accuracy << ", test accuracy "
                                                   << e.accuracy << " (" << r.seconds << " s)");
  CHECK(e.accuracy >= 0.80);
  CHECK(e.count == 10000);
}

TEST_CASE("train: the shipped weights reach 90.5 percent on the test set") {
  const std::string w = fashion_weights();
  if (w.empty() || !have_fashion_mnist()) {
    MESSAGE("skipped: weights/fashion_cnn.h5 or Fashion-MNIST is missing");
    return;
  }
  const Model m = load_model("fashion");
  const EvalResult e = evaluate(m, load_mnist_split(kDefaultMnistDir, "t10k"));
  MESSAGE("weights/fashion_cnn.h5: test accuracy " << e.accuracy << ", loss " << e.loss);
  CHECK(e.accuracy >= 0.905);
  // Its class index names Fashion-MNIST's classes in order.
  const std::vector<ClassLabel> labels =
      read_class_index((fs::path(w).parent_path() / "fashion_cnn_class_index.json").string());
  REQUIRE(labels.size() == 10);
  for (size_t i = 0; i < 10; ++i) {
    CHECK(labels[i].name == fashion_mnist_names()[i]);
    CHECK(labels[i].id == fashion_mnist_ids()[i]);
  }
}

// ---- the commands -----------------------------------------------------------------------------

TEST_CASE("cli: summary of the fashion weights prints Keras' total") {
  if (fashion_weights().empty()) {
    MESSAGE("skipped: weights/fashion_cnn.h5 is missing");
    return;
  }
  const test::CliResult r = test::run_vis_tool({"summary", "--weights", "fashion"});
  CHECK(r.rc == 0);
  CHECK(contains(r.out, "Total params: 93,322"));
  CHECK(contains(r.out, "conv2d_2 (Conv2D)"));
  CHECK(contains(r.out, "36928"));
}

TEST_CASE("cli: train then evaluate and predict on a tiny hand-made dataset") {
  const fs::path dir = test::temp_dir("train_cli");
  write_tiny_dir(dir / "data", 160, 40);
  const std::string data = (dir / "data").string(), out = (dir / "m.h5").string();

  // Bad input is refused before any training, and nothing is written.
  test::CliResult r = test::run_vis_tool({"train", "--data", data, "--out", (dir / "no/such/m.h5").string()});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(contains(r.err, "does not exist"));
  r = test::run_vis_tool({"train", "--data", (dir / "nodata").string(), "--out", out});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(contains(r.err, "nodata"));
  r = test::run_vis_tool({"train", "--data", data, "--out", out, "--limit", "1000"});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "more than the 160"));
  r = test::run_vis_tool({"train", "--data", data, "--out", out, "--batch", "0"});
  CHECK(r.rc == 2);
  CHECK(!fs::exists(out));

  r = test::run_vis_tool({"train", "--data", data, "--epochs", "2", "--batch", "32", "--seed", "3", "--out", out});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(contains(r.out, "epoch  1/2: loss"));
  CHECK(contains(r.out, "epoch  2/2: loss"));
  CHECK(contains(r.out, "reloaded: 93,322 weights bit-exact"));
  CHECK(contains(r.err, "epoch 2/2"));  // the progress lines (plain, stderr is not a terminal)
  CHECK(contains(r.err, "images/s"));
  REQUIRE(fs::exists(out));
  // The same seed gives the same file contents (the model's weights, bit for bit).
  const std::string out2 = (dir / "m2.h5").string();
  r = test::run_vis_tool({"train", "--data", data, "--epochs", "2", "--batch", "32", "--seed", "3", "--out", out2});
  REQUIRE(r.rc == 0);
  CHECK(same_weights(load_model(out), load_model(out2)));

  // evaluate: the numbers agree with the library's, and the matrix sums to the test count.
  r = test::run_vis_tool({"evaluate", "--weights", out, "--data", data});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const EvalResult e = evaluate(load_model(out), load_mnist_split(data, "t10k"));
  char line[64];
  std::snprintf(line, sizeof line, "accuracy %.4f (%lld/40)", e.accuracy, (long long)std::llround(e.accuracy * 40));
  CHECK_MESSAGE(contains(r.out, line), r.out);
  CHECK(contains(r.out, "9 Ankle boot"));
  CHECK(contains(r.out, "recall"));

  // samples, then predict on a written PNG gives what predict on the same test index gives.
  r = test::run_vis_tool({"samples", "--data", data, "--out", (dir / "samples").string()});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  std::vector<fs::path> pngs;
  for (const auto& f : fs::directory_iterator(dir / "samples")) pngs.push_back(f.path());
  std::sort(pngs.begin(), pngs.end());
  const TinySet te = tiny_set(40, 2);
  int classes_present = 0;
  for (int k = 0; k < 10; ++k) classes_present += std::count(te.labels.begin(), te.labels.end(), k) > 0;
  CHECK(int(pngs.size()) == classes_present);
  const std::string first = pngs.at(0).filename().string();  // e.g. 0000_bag.png
  const int index = std::stoi(first.substr(0, 4));
  CHECK(contains(first, std::string("_") + fashion_mnist_ids()[te.labels[size_t(index)]] + ".png"));
  const test::CliResult by_image = test::run_vis_tool({"predict", "--weights", out, "--image", pngs[0].string()});
  const test::CliResult by_index =
      test::run_vis_tool({"predict", "--weights", out, "--data", data, "--index", std::to_string(index)});
  REQUIRE_MESSAGE(by_image.rc == 0, by_image.err);
  REQUIRE_MESSAGE(by_index.rc == 0, by_index.err);
  auto ranked = [](std::string s) {  // the ranked lines, without the true-class mark
    s = s.substr(s.find('\n') + 1);
    for (size_t p; (p = s.find("  (true class)")) != std::string::npos;) s.erase(p, 14);
    return s;
  };
  CHECK(ranked(by_image.out) == ranked(by_index.out));
  CHECK(contains(by_image.out, "28x28"));
  CHECK(!contains(by_image.out, "resized"));

  r = test::run_vis_tool({"predict", "--weights", out, "--data", data, "--index", "40"});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(contains(r.err, "out of range 0..39"));
  r = test::run_vis_tool({"predict", "--weights", out});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "either --image"));
  fs::remove_all(dir);
}
