// Hostile HDF5 model files: sizes declared past what the file stores or the model needs, sizes
// that overflow, damaged bytes that crash or hang libhdf5 itself, and the child-process reader
// that turns those into one-line errors. Each case asserts the exact outcome through vis_tool.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "engine/isolate.h"
#include "tests/hostile/hostile.h"

using namespace convis;
using test::contains;
using test::Dir;
using test::expect_failure;

namespace {

using convis::test::error_of;

}  // namespace

TEST_CASE("hostile h5: a bias declaring 2^62 elements is refused against the model's shape, before any read") {
  Dir d("hostile_h5_huge");
  const std::string f = d / "huge_bias.h5";
  test::write_model_file(f, test::small_config());
  test::edit_h5(f, [](hid_t file) { test::declare_unwritten(file, "model_weights/c1/c1/bias:0", {hsize_t(1) << 62}); });
  CHECK(std::filesystem::file_size(f) < 64 * 1024);
  // Past 2^40 elements a shape is refused as such, whatever the model (the n*4 that wrapped).
  expect_failure({"summary", "--weights", f}, "",
                 {"weights file '" + f + "': dataset 'model_weights/c1/c1/bias:0' declares more than 2^40 elements"});
  // Below that, the model's own shape refuses it before a byte is read.
  test::edit_h5(f, [](hid_t file) { test::declare_unwritten(file, "model_weights/c1/c1/bias:0", {hsize_t(1) << 39}); });
  expect_failure({"summary", "--weights", f}, "",
                 {"weights file '" + f + "': layer 'c1' bias is (549755813888,), model expects (4,)"});
  // And read without a model, the file's own storage does.
  CHECK(contains(error_of([&] { read_keras_h5(f); }),
                 "dataset 'model_weights/c1/c1/bias:0' declares shape (549755813888,) (2199023255552 bytes) but the file stores 0 bytes"));
}

TEST_CASE("hostile h5: data the file does not store is refused before allocating it (the 4.2 GB kernel)") {
  Dir d("hostile_h5_unstored");
  // A model that really needs a (1000, 1000, 3, 40) kernel (480 MB): the file declares it, stores none.
  const std::string cfg =
      test::seq_config("[null, 1000, 1000, 3]",
                       R"({"class_name": "Conv2D", "config": {"name": "big", "filters": 40, "kernel_size": 1000, "use_bias": false}})");
  const std::string f = d / "unstored.h5";
  {
    Model m = model_from_config(cfg);
    m.build();
    std::vector<LayerWeights> layers = {LayerWeights{"in", {}}, LayerWeights{"big", {{"big/kernel:0", Tensor::zeros(Shape{1, 1, 1, 1}), Shape{1, 1, 1, 1}}}}};
    write_keras_h5(f, KerasLayout::model, layers, cfg);
  }
  test::edit_h5(f, [](hid_t file) { test::declare_unwritten(file, "model_weights/big/big/kernel:0", {1000, 1000, 3, 40}); });
  CHECK(std::filesystem::file_size(f) < 64 * 1024);
  const auto t0 = std::chrono::steady_clock::now();
  expect_failure({"summary", "--weights", f}, "",
                 {"weights file '" + f + "': dataset 'model_weights/big/big/kernel:0' declares shape (1000, 1000, 3, 40) "
                  "(480000000 bytes) but the file stores 0 bytes of it"});
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 20.0);  // two runs, each well under a second
  // A kernel of (3000, 3000, 3, 40) is no layer convis builds: refused in the config.
  const std::string f2 = d / "k3000.h5";
  test::write_model_file(f2, test::seq_config("[null, 3000, 3000, 3]",
                                              R"({"class_name": "Conv2D", "config": {"name": "big", "filters": 40, "kernel_size": 3000}})"));
  expect_failure({"summary", "--weights", f2}, "", {"weights file '" + f2 + "'", "layer 'big' (Conv2D): kernel height is 3000, expected 1..1024"});
}

TEST_CASE("hostile h5: a dataset shape matching the model but partly stored is refused") {
  Dir d("hostile_h5_partial");
  const std::string f = d / "partial.h5";
  test::write_model_file(f, test::small_config());
  test::edit_h5(f, [](hid_t file) { test::declare_unwritten(file, "model_weights/c1/c1/kernel:0", {3, 3, 1, 4}); });
  expect_failure({"summary", "--weights", f}, "",
                 {"dataset 'model_weights/c1/c1/kernel:0' declares shape (3, 3, 1, 4) (144 bytes) but the file stores 0 bytes of it"});
}

TEST_CASE("hostile h5: the trial reader reports a throw, a crash and a hang of the child as one error") {
  CHECK(error_of([] { trial_run("weights file 'x'", 10, [] { throw std::runtime_error("weights file 'x': bad"); }); }) ==
        "weights file 'x': bad");
  const std::string crash = error_of([] { trial_run("weights file 'x'", 10, [] {
    std::signal(SIGSEGV, SIG_DFL);  // not the test runner's handler: the child dies of it
    std::raise(SIGSEGV);
  }); });
  // Under AddressSanitizer its handler turns the SIGSEGV into an abort: either way a crash.
  CHECK(contains(crash, "weights file 'x': the reader crashed (signal "));
  CHECK(contains(crash, "the file is damaged"));
  const auto t0 = std::chrono::steady_clock::now();
  const std::string hang = error_of([] { trial_run("weights file 'x'", 1, [] { ::sleep(30); }); });
  CHECK(hang == "weights file 'x': reading took longer than 1 s; the file is damaged (or the disk stalled)");
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 5.0);
  CHECK(error_of([] { trial_run("w", 5, [] {}); }).empty());
}

TEST_CASE("hostile h5: single-byte damage anywhere in a valid file ends in a model or a one-line error naming it") {
  Dir d("hostile_h5_flips");
  const std::string good = d / "good.h5";
  test::write_model_file(good, test::small_config());
  std::string bytes = test::slurp(good);
  REQUIRE(bytes.size() > 1000);
  const Model ref = load_model(good);
  ::setenv("CONVIS_READ_TIMEOUT", "5", 1);
  std::mt19937 rng(2024);
  int loaded = 0, refused = 0;
  const std::string bad = d / "bad.h5";
  // Every 16th byte position, set to 0x00, 0xFF or a random value: the header, the B-trees, the
  // heaps, the attribute messages and the data are all hit.
  for (size_t pos = 0; pos < bytes.size(); pos += 16) {
    std::string b = bytes;
    const int kind = int(pos / 16) % 3;
    b[pos] = char(kind == 0 ? 0x00 : kind == 1 ? 0xFF : int(rng() & 0xFF));
    if (b[pos] == bytes[pos]) b[pos] = char(~b[pos]);
    test::write_bytes(bad, b);
    const std::string e = error_of([&] { load_model(bad); });
    CAPTURE(pos);
    if (e.empty()) {
      ++loaded;
    } else {
      ++refused;
      CHECK_MESSAGE(contains(e, bad), e);
      CHECK(e.find('\n') == std::string::npos);
      CHECK(e.size() < 1500);
    }
  }
  ::unsetenv("CONVIS_READ_TIMEOUT");
  MESSAGE("byte flips: " << loaded << " loaded, " << refused << " refused cleanly");
  CHECK(refused > 0);
  CHECK(loaded + refused == int((bytes.size() + 15) / 16));
  CHECK(ref.layers.size() == 4);
}
