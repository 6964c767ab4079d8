// vis_tool's Keras-model commands on bad input: every bad file or option is exit code 2 and one
// line on stderr, and writes nothing (the good paths are test_cli_models.cpp).
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "engine/keras_h5.h"
#include "engine/model_io.h"
#include "engine/npy.h"
#include "tests/cli_util.h"
#include "tests/model_fixtures.h"
#include "tests/util.h"

using namespace convis;
namespace fs = std::filesystem;
using test::Dir;
using test::expect_failure;
using test::kTinyNames;
using test::npy_bytes;
using test::tiny_model;
using test::write_bytes;
using test::write_vgg16_zeros;

// ---- bad input: one line, exit 2, nothing written ---------------------------------------------

namespace {

// What most failure cases share: a tiny model file, an input for it, and a path for --out.
struct BadInputFixture {
  Dir d;
  std::string model, x, out;
  explicit BadInputFixture(const std::string& name) : d(name) {
    model = d / "tiny.h5";
    save_model(tiny_model(3), model);
    x = d / "x.npy";
    write_npy(x, test::random_tensor({1, 10, 12, 3}, 8));
    out = d / "out.npy";
  }
  std::vector<std::string> forward(const std::string& weights, const std::string& input = "") const {
    return {"forward", "--weights", weights, "--input", input.empty() ? x : input, "--layer", "c2", "--out", out};
  }
};

}  // namespace

TEST_CASE("cli bad input: a file that is not HDF5") {
  BadInputFixture f("not_hdf5");
  const std::string text = f.d / "text.h5";
  write_bytes(text, "these are not the weights you are looking for\n");
  expect_failure(f.forward(text), f.out, {"weights file '" + text + "' is not an HDF5 file"});
  expect_failure({"summary", "--weights", text}, "", {"weights file '" + text + "' is not an HDF5 file"});
}

TEST_CASE("cli bad input: a truncated HDF5 file") {
  BadInputFixture f("truncated");
  const std::string bytes = test::slurp(f.model);
  const std::string cut = f.d / "cut.h5";
  write_bytes(cut, bytes.substr(0, bytes.size() / 2));
  expect_failure(f.forward(cut), f.out,
                 {"weights file '" + cut + "': file is truncated or damaged (", "eof = " + std::to_string(bytes.size() / 2)});
}

TEST_CASE("cli bad input: an empty weights file") {
  BadInputFixture f("empty");
  const std::string empty = f.d / "empty.h5";
  write_bytes(empty, "");
  expect_failure(f.forward(empty), f.out, {"weights file '" + empty + "' is empty (0 bytes)"});
}

TEST_CASE("cli bad input: a VGG16 file without block3_conv2") {
  BadInputFixture f("missing_layer");
  const std::string file = f.d / "vgg16_missing.h5";
  write_vgg16_zeros(file, [](std::vector<LayerWeights>& layers) {
    layers.erase(std::find_if(layers.begin(), layers.end(), [](const LayerWeights& l) { return l.layer == "block3_conv2"; }));
  });
  const std::string x = f.d / "x32.npy";
  write_npy(x, Tensor::zeros({1, 32, 32, 3}));
  expect_failure({"forward", "--weights", file, "--input", x, "--layer", "block1_conv1", "--out", f.out}, f.out,
                 {"weights file '" + file + "': no weights for layer 'block3_conv2'"});
}

TEST_CASE("cli bad input: a kernel whose shape does not fit names layer and both shapes") {
  BadInputFixture f("bad_shape");
  const std::string file = f.d / "vgg16_shape.h5";
  write_vgg16_zeros(file, [](std::vector<LayerWeights>& layers) {
    for (LayerWeights& l : layers)
      if (l.layer == "block3_conv2") l.weights[0].value = Tensor::zeros({3, 3, 128, 256});
  });
  const std::string x = f.d / "x32.npy";
  write_npy(x, Tensor::zeros({1, 32, 32, 3}));
  expect_failure({"grad", "--weights", file, "--input", x, "--layer", "block1_conv1", "--filter", "0", "--out", f.out},
                 f.out,
                 {"weights file '" + file +
                  "': layer 'block3_conv2' kernel is (3, 3, 128, 256), model expects (3, 3, 256, 256)"});
}

TEST_CASE("cli bad input: an unknown layer class in model_config") {
  BadInputFixture f("unknown_class");
  const Model m = tiny_model(3);
  nlohmann::json config = nlohmann::json::parse(model_to_config(m));
  for (auto& l : config["config"]["layers"])
    if (l["config"]["name"] == "c2") l["class_name"] = "WarpConv2D";
  const std::string file = f.d / "made_up.h5";
  write_keras_h5(file, KerasLayout::model, model_weights(m, KerasLayout::model), config.dump());
  expect_failure(f.forward(file), f.out,
                 {"model_config: layer 'c2' (WarpConv2D): class 'WarpConv2D' is not supported (supported: InputLayer, "
                  "Conv2D"});
}

TEST_CASE("cli bad input: Functional graphs convis cannot run") {
  BadInputFixture f("branching");
  auto model = [](const std::string& layers, const std::string& out) {
    return R"({"class_name": "Functional", "config": {"name": "b", "layers": [
    {"name": "i", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 10, 12, 3], "name": "i"}, "inbound_nodes": []},)" +
           layers + R"(], "input_layers": [["i", 0, 0]], "output_layers": [[")" + out + R"(", 0, 0]]}})";
  };
  auto relu = [](const std::string& name, const std::string& nodes) {
    return R"({"name": ")" + name + R"(", "class_name": "ReLU", "config": {"name": ")" + name + R"("}, "inbound_nodes": )" +
           nodes + "}";
  };
  struct Case {
    const char* file;
    std::string config;
    std::vector<std::string> names;
    std::string message;
  };
  const std::vector<Case> cases = {
      // A fork with no join: i feeds p and q, the output is q.
      {"fork.h5", model(relu("p", R"([[["i", 0, 0, {}]]])") + "," + relu("q", R"([[["i", 0, 0, {}]]])"), "q"),
       {"i", "p", "q"}, "model_config: layer 'p' is not on any path to the output layer 'q'"},
      // p reads q, which comes later: a cycle or an unordered list.
      {"later.h5", model(relu("p", R"([[["q", 0, 0, {}]]])") + "," + relu("q", R"([[["p", 0, 0, {}]]])"), "q"),
       {"i", "p", "q"}, "model_config: layer 'p' reads 'q', which is not defined before it"},
      // A shared layer: p called twice.
      {"shared.h5", model(relu("p", R"([[["i", 0, 0, {}]], [["i", 0, 0, {}]]])"), "p"), {"i", "p"},
       "model_config: layer 'p' is called 2 times (a shared layer)"},
      // A second output tensor of a layer.
      {"tensor.h5", model(relu("p", R"([[["i", 0, 1, {}]]])"), "p"), {"i", "p"},
       "model_config: layer 'p' reads output 1 of 'i'; convis supports single-output layers only"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    std::vector<LayerWeights> none;
    for (const std::string& n : c.names) none.push_back({n, {}});
    const std::string file = f.d / c.file;
    write_keras_h5(file, KerasLayout::model, none, c.config);
    expect_failure(f.forward(file), f.out, {c.message});
  }
}

TEST_CASE("cli bad input: an image that does not decode") {
  BadInputFixture f("bad_image");
  const std::string junk = f.d / "junk.png";
  write_bytes(junk, "\x89PNG\r\n\x1a\n but then nothing a decoder wants");
  expect_failure({"classify", "--weights", f.model, "--image", junk}, "", {"image '" + junk + "' does not decode ("});
}

TEST_CASE("cli bad input: paths that do not exist") {
  BadInputFixture f("missing_paths");
  const std::string nope = f.d / "nope";
  expect_failure(f.forward(nope + ".h5"), f.out, {"weights file '" + nope + ".h5' does not exist"});
  expect_failure(f.forward(f.model, nope + ".npy"), f.out, {"npy file '" + nope + ".npy' does not exist"});
  expect_failure({"classify", "--weights", f.model, "--image", nope + ".png"}, "", {"image '" + nope + ".png' does not exist"});
  expect_failure({"summary", "--weights", nope + ".h5"}, "", {"weights file '" + nope + ".h5' does not exist"});
  expect_failure({"forward", "--weights", f.model, "--input", f.x, "--layer", "c2", "--out", nope + "/dir/y.npy"}, "",
                 {"cannot write '" + nope + "/dir/y.npy': directory '" + nope + "/dir' does not exist"});
  CHECK_FALSE(fs::exists(nope));
  // init fails before writing anything, and leaves a file already at --out alone.
  expect_failure({"init", "--arch", "vgg16", "--layout", "keras4", "--out", f.d / "init.h5"}, f.d / "init.h5",
                 {"unknown Keras layout 'keras4' (valid: keras1, keras2, model, keras3)"});
  const auto t0 = std::chrono::steady_clock::now();
  expect_failure({"init", "--arch", "vgg16", "--top", "--out", nope + "/vgg16.h5"}, "",
                 {"cannot write '" + nope + "/vgg16.h5': directory '" + nope + "' does not exist"});
  // Refused up front, not after drawing 138 million random numbers (about 5 s).
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 2.0);
}

TEST_CASE("cli bad input: an unknown --layer lists the valid names") {
  BadInputFixture f("bad_layer");
  std::vector<std::string> args = f.forward(f.model);
  args[6] = "c9";
  expect_failure(args, f.out, {"no layer named 'c9' in model 'tiny'; valid names: " + std::string(kTinyNames)});
  expect_failure({"grad", "--weights", f.model, "--input", f.x, "--layer", "conv2d", "--filter", "0", "--out", f.out},
                 f.out, {"valid names: " + std::string(kTinyNames)});
}

TEST_CASE("cli bad input: a filter index out of range says the range") {
  BadInputFixture f("bad_filter");
  for (const char* k : {"5", "-1"})
    expect_failure({"grad", "--weights", f.model, "--input", f.x, "--layer", "c2", "--filter", k, "--out", f.out}, f.out,
                   {"filter " + std::string(k) + " is out of range: layer 'c2' has 5 channels (0..4)"});
  expect_failure({"grad", "--weights", f.model, "--input", f.x, "--layer", "out", "--filter", "3", "--out", f.out}, f.out,
                 {"layer 'out' has 3 channels (0..2)"});
}

TEST_CASE("cli bad input: a float64 npy") {
  BadInputFixture f("npy_f8");
  const std::string p = f.d / "f8.npy";
  write_bytes(p, npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 10, 12, 3), }", std::string(8 * 360, '\0')));
  expect_failure(f.forward(f.model, p), f.out,
                 {"npy file '" + p + "': dtype '<f8' is not supported; convis reads little-endian float32 ('<f4') only"});
}

TEST_CASE("cli bad input: a big-endian npy") {
  BadInputFixture f("npy_be");
  const std::string p = f.d / "be.npy";
  write_bytes(p, npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 10, 12, 3), }", std::string(4 * 360, '\0')));
  expect_failure(f.forward(f.model, p), f.out, {"npy file '" + p + "': dtype '>f4' is not supported"});
}

TEST_CASE("cli bad input: a Fortran-order npy") {
  BadInputFixture f("npy_fortran");
  const std::string p = f.d / "fortran.npy";
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 10, 12, 3), }", std::string(4 * 360, '\0')));
  expect_failure(f.forward(f.model, p), f.out, {"npy file '" + p + "': Fortran-order arrays are not supported"});
}

TEST_CASE("cli bad input: npy shapes that are damaged or empty or do not fit the model") {
  BadInputFixture f("npy_shapes");
  const std::string p = f.d / "bad.npy";
  const std::string data(4 * 360, '\0');
  // A header promising terabytes is refused before any allocation.
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000, 3), }", data));
  expect_failure(f.forward(f.model, p), f.out,
                 {"npy file '" + p + "': truncated data: shape (100000, 100000, 100000, 3) needs 12000000000000000 bytes, found 1440"});
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999, 3), }", data));
  expect_failure(f.forward(f.model, p), f.out, {"needs more than 2^64 bytes"});
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -10, 12, 3), }", data));
  expect_failure(f.forward(f.model, p), f.out, {"npy file '" + p + "': shape (1, -10, 12, 3) is not a tuple of non-negative sizes"});
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 0, 12, 3), }", ""));
  expect_failure(f.forward(f.model, p), f.out, {"input '" + p + "' has shape (1, 0, 12, 3): N, H and W must be at least 1"});
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 12, 3), }", data));
  expect_failure(f.forward(f.model, p), f.out, {"input '" + p + "' has shape (10, 12, 3), expected (N, H, W, C)"});
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 10, 12, 1), }", data));
  expect_failure(f.forward(f.model, p), f.out, {"input '" + p + "' has 1 channels, model 'tiny' expects 3"});
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 12, 10, 3), }", data));
  expect_failure(f.forward(f.model, p), f.out, {"model 'tiny' takes 10x12 inputs, not 12x10"});
}
