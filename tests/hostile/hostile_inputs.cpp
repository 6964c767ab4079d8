// Hostile inputs other than HDF5 internals: model_config JSON, degenerate models, npy headers,
// gzip'd IDX trailers, oversized images, special files as inputs, and out-of-range CLI numbers.
// Every case: exit code 2, one line naming the file (or option), nothing written.
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <zlib.h>

#include "engine/errors.h"
#include "engine/idx.h"
#include "engine/npy.h"
#include "tests/hostile/hostile.h"

using namespace convis;
using test::contains;
using test::Dir;
using test::expect_failure;

namespace {

// Writes a model file with `config` and expects `summary` to refuse it saying every part of `says`.
void refuse_config(const Dir& d, const std::string& name, const std::string& config, const std::vector<std::string>& says) {
  CAPTURE(name);
  const std::string f = d / (name + ".h5");
  test::write_model_file(f, config);
  std::vector<std::string> all = {"weights file '" + f + "'"};
  all.insert(all.end(), says.begin(), says.end());
  expect_failure({"summary", "--weights", f}, "", all);
}

std::string conv(const std::string& extra) {
  return R"({"class_name": "Conv2D", "config": {"name": "c1", )" + extra + "}}";
}

std::string functional(const std::string& in, const std::string& out, const std::string& layers) {
  return R"({"class_name": "Functional", "config": {"name": "f", "layers": [)" + layers +
         R"(], "input_layers": )" + in + R"(, "output_layers": )" + out + "}}";
}

const char* kInput = R"({"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 8, 8, 1]}, "inbound_nodes": []})";

}  // namespace

TEST_CASE("hostile model_config: broken structure is one line naming what is wrong") {
  Dir d("hostile_json");
  refuse_config(d, "no_input", functional("[[]]", R"([["in", 0, 0]])", kInput), {"input_layers is [[]]"});
  refuse_config(d, "no_output", functional(R"([["in", 0, 0]])", "[[]]", kInput), {"output_layers is [[]]"});
  refuse_config(d, "keras3_history",
                functional(R"(["in", 0, 0])", R"(["c", 0, 0])",
                           std::string(kInput) + R"(, {"class_name": "Conv2D", "name": "c", "config": {"name": "c", "filters": 2},)"
                                                 R"( "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": []}}]}]})"),
                {"layer 'c' has an input with keras_history [], expected"});
  refuse_config(d, "no_config", test::seq_config("[null, 8, 8, 1]", R"({"class_name": "Conv2D"})"),
                {"model_config: a layer (Conv2D) has no name"});
  refuse_config(d, "model_no_config", R"({"class_name": "Sequential"})", {"model_config: the model has no 'config'"});
  refuse_config(d, "layers_not_list", R"({"class_name": "Sequential", "config": {"layers": 7}})", {"has no 'layers' list"});
  refuse_config(d, "layer_not_object", test::seq_config("[null, 8, 8, 1]", "[1, 2]"),
                {"a layer is [1,2], not an object"});
  refuse_config(d, "filters_string", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": "many")")),
                {"layer 'c1' (Conv2D): 'filters' must be an integer from 1 to 16777216, got \"many\""});
  refuse_config(d, "filters_huge", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": 100000000000000000000)")),
                {"'filters' must be an integer from 1 to 16777216, got 1e+20"});
  refuse_config(d, "kernel_float", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": 2, "kernel_size": [2.5, 3])")),
                {"'kernel_size' must be a positive int or a pair of them, got [2.5,3]"});
  refuse_config(d, "bad_bool", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": 2, "use_bias": "yes")")),
                {"'use_bias' must be true or false"});
  refuse_config(d, "input_shape_text", test::seq_config(R"([null, "8", 8, 1])", ""), {"has a size that is not a positive integer"});
  refuse_config(d, "not_json", "{\"class_name\": ", {"model_config is not valid JSON"});
}

TEST_CASE("hostile model_config: 100,000-deep nesting and megabyte values do not overflow or flood") {
  Dir d("hostile_json_deep");
  const std::string deep = R"({"class_name": "Sequential", "config": {"layers": )" + std::string(100000, '[') +
                           std::string(100000, ']') + "}}";
  refuse_config(d, "deep", deep, {"model_config nests arrays/objects more than 64 deep"});
  // A one-megabyte class name: the message quotes at most 60 characters of it.
  const std::string big(1 << 20, 'A');
  const std::string f = d / "long.h5";
  test::write_model_file(f, R"({"class_name": "Sequential", "config": {"layers": [{"class_name": ")" + big +
                                R"(", "config": {"name": "x", "batch_input_shape": [null, 8, 8, 1]}}]}})");
  const test::CliResult r = test::run_vis_tool({"summary", "--weights", f});
  CHECK(r.rc == 2);
  CHECK(r.one_line_error());
  CHECK(r.err.size() < 1200);
  CHECK(contains(r.err, "is not supported"));
}

TEST_CASE("hostile models: degenerate layers are refused at load naming the layer") {
  Dir d("hostile_degenerate");
  refuse_config(d, "units0", test::seq_config("[null, 8, 8, 1]",
                                              R"({"class_name": "Flatten", "config": {"name": "f"}}, {"class_name": "Dense", "config": {"name": "d", "units": 0}})"),
                {"layer 'd' (Dense): 'units' must be an integer from 1 to 16777216, got 0"});
  refuse_config(d, "channels0", test::seq_config("[null, 8, 8, 0]", ""), {"has a channel count that is not a positive integer"});
  refuse_config(d, "filters_neg", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": -3)")),
                {"layer 'c1' (Conv2D): 'filters' must be an integer from 1 to 16777216, got -3"});
  refuse_config(d, "kernel0", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": 2, "kernel_size": 0)")),
                {"layer 'c1' (Conv2D): 'kernel_size' must be a positive int or a pair of them, got 0"});
  refuse_config(d, "strides0", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": 2, "strides": [0, 1])")),
                {"'strides' must be a positive int or a pair of them, got [0,1]"});
  refuse_config(d, "kernel_past_input", test::seq_config("[null, 8, 8, 1]", conv(R"("filters": 2, "kernel_size": 9)")),
                {"layer 'c1' (Conv2D) on input (8, 8, 1)"});
  refuse_config(d, "side_huge", test::seq_config("[null, 100000, 8, 1]", conv(R"("filters": 2)")),
                {"input size 100000x8 is larger than 16384 pixels a side"});
  refuse_config(d, "dropout_rate", test::seq_config("[null, 8, 8, 1]", R"({"class_name": "Dropout", "config": {"name": "dr", "rate": 1.5}})"),
                {"layer 'dr' (Dropout): rate 1.500000 is not in [0, 1)"});
}

TEST_CASE("hostile npy: the header is a Python literal, not a text search") {
  Dir d("hostile_npy");
  const std::string data(24, '\0');  // six float32 zeros
  auto write = [&](const std::string& name, const std::string& dict) {
    const std::string p = d / name;
    test::write_bytes(p, test::npy_bytes(dict, data));
    return p;
  };
  // Keys in another order, double quotes: what Python's literal_eval accepts and NumPy reads.
  const Tensor t = read_npy(write("ok.npy", R"({"shape": (2, 3), "fortran_order": False, "descr": "<f4"})"));
  CHECK(t.shape() == Shape({2, 3}));
  // 'shape' inside another value is not the shape key (the old first-occurrence search took it).
  const std::string tricky = write("tricky.npy", R"x({'descr': "'shape': (6,)", 'fortran_order': False, 'shape': (2, 3), })x");
  CHECK(contains(test::run_vis_tool({"forward", "--weights", "x", "--input", tricky, "--out", d / "t.npy"}).err, "dtype ''shape': (6,)' is not supported"));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1})", "header has an unknown key 'extra'"},
      {R"({'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)})", "header has a bad or repeated 'descr'"},
      {R"({'descr': '<f4', 'fortran_order': False})", "header has no 'shape'"},
      {R"({'descr': '<f4', 'fortran_order': 0, 'shape': (6,)})", "header has a 'fortran_order' that is not True or False"},
      {R"({'descr': '<f4', 'fortran_order': False, 'shape': (6,)} trailing)", "header has text after the closing '}'"},
      {R"(['descr', '<f4'])", "header does not start with '{'"},
  };
  int i = 0;
  for (const auto& [dict, says] : bad) {
    const std::string p = write("bad" + std::to_string(i++) + ".npy", dict);
    expect_failure({"forward", "--weights", "fashion", "--input", p, "--out", d / "o.npy"}, d / "o.npy", {"npy file '" + p + "': " + says});
  }
}

TEST_CASE("hostile IDX: a gzip stream with a wrong CRC or cut before its trailer is refused") {
  Dir d("hostile_idx");
  std::string idx = std::string("\0\0\x08\x01", 4) + std::string("\0\0\0\x0a", 4) + std::string(10, '\x03');
  const std::string plain = d / "labels.gz";
  {
    gzFile g = gzopen(plain.c_str(), "wb");
    REQUIRE(g);
    REQUIRE(gzwrite(g, idx.data(), unsigned(idx.size())) == int(idx.size()));
    gzclose(g);
  }
  const std::string gz = test::slurp(plain);
  REQUIRE(gz.size() > 8);
  CHECK(read_idx(plain).data.size() == 10);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] = char(bad_crc[gz.size() - 8] ^ 0x55);
  test::write_bytes(d / "crc.gz", bad_crc);
  const std::string e1 = [&] { try { read_idx(d / "crc.gz"); } catch (const std::exception& e) { return std::string(e.what()); } return std::string(); }();
  INFO(e1);
  CHECK(contains(e1, "IDX file '" + (d / "crc.gz") + "' is not valid gzip or IDX data (zlib: incorrect data check)"));
  test::write_bytes(d / "cut.gz", gz.substr(0, gz.size() - 8));
  const std::string e2 = [&] { try { read_idx(d / "cut.gz"); } catch (const std::exception& e) { return std::string(e.what()); } return std::string(); }();
  CHECK(e2 == "IDX file '" + (d / "cut.gz") + "' is truncated: the gzip stream ends before its CRC and length trailer");
}

TEST_CASE("hostile images: a header declaring more pixels than the limit is refused before decoding") {
  Dir d("hostile_image");
  // A PNG signature and an IHDR chunk saying 12000x12000 RGB, then nothing: 33 bytes.
  auto be32 = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  std::string ihdr = "IHDR" + be32(12000) + be32(12000) + std::string("\x08\x02\x00\x00\x00", 5);
  const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), uInt(ihdr.size())));
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + ihdr + be32(crc);
  const std::string p = d / "huge.png";
  test::write_bytes(p, png);
  expect_failure({"classify", "--weights", "fashion", "--image", p}, "",
                 {"image '" + p + "' is 12000x12000 (144000000 pixels), more than the limit of 104857600 (set by --max-pixels)"});
  // Raised past it, the decoder is reached (and finds no image data).
  const test::CliResult r = test::run_vis_tool({"classify", "--max-pixels", "500000000", "--weights", "fashion", "--image", p});
  CHECK(r.rc == 2);
  CHECK(contains(r.err, "does not decode"));
  CHECK(contains(test::run_vis_tool({"classify", "--max-pixels", "0", "--image", p}).err, "--max-pixels expects a pixel count"));
}

TEST_CASE("hostile inputs: FIFOs and directories are refused, never opened for reading") {
  Dir d("hostile_fifo");
  const std::string fifo = d / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  expect_failure({"classify", "--weights", "fashion", "--image", fifo}, "", {"image '" + fifo + "' is a FIFO, not a regular file"});
  expect_failure({"summary", "--weights", fifo}, "", {"weights file '" + fifo + "' is a FIFO, not a regular file"});
  expect_failure({"forward", "--weights", "fashion", "--input", fifo, "--out", d / "o.npy"}, d / "o.npy", {"npy file '" + fifo + "' is a FIFO, not a regular file"});
  for (const char* n : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    REQUIRE(::mkfifo((d / n).c_str(), 0600) == 0);
  expect_failure({"train", "--data", d.dir.string(), "--epochs", "1", "--out", d / "m.h5"}, d / "m.h5",
                 {"IDX file '" + (d / "train-images-idx3-ubyte") + "' is a FIFO, not a regular file"});
  expect_failure({"classify", "--weights", "fashion", "--image", d.dir.string()}, "", {"is a directory"});
}

TEST_CASE("hostile command lines: sizes, counts and strides out of range are refused naming the option") {
  Dir d("hostile_cli");
  const std::string out = d / "o.png";
  expect_failure({"maximize", "--weights", "fashion", "--layer", "conv2d", "--filter", "0", "--size", "100000"}, "",
                 {"--size must be in 0..2048, got 100000"});
  expect_failure({"maximize", "--weights", "fashion", "--layer", "conv2d", "--filter", "0", "--iters", "99999999"}, "",
                 {"--iters must be in -1..1000000, got 99999999"});
  expect_failure({"occlusion", "--weights", "fashion", "--image", "x.png", "--patch", "0"}, "", {"--patch must be in 1..4096, got 0"});
  expect_failure({"occlusion", "--weights", "fashion", "--image", "x.png", "--stride", "-5"}, "", {"--stride must be in 1..4096, got -5"});
  expect_failure({"saliency", "--weights", "fashion", "--image", "x.png", "--method", "smoothgrad", "--batch", "100000"}, "", {"--batch must be in 1..1024"});
  expect_failure({"summary", "--weights", "fashion", "--input-size", "99999999999"}, "", {"--input-size expects an integer, got '99999999999'"});
  expect_failure({"saliency", "--weights", "fashion", "--image", "x.png", "--method", "smoothgrad", "--noise", "nan"}, "", {"--noise expects a finite number, got 'nan'"});
}

TEST_CASE("the library knows no command line: it names parameters, vis_tool names the flags") {
  // Through vis_tool: the library's message with the flag that set the value.
  const std::string sneaker = std::string(CONVIS_SOURCE_DIR) + "/weights/samples/0009_sneaker.png";
  expect_failure({"explain", "value", "--weights", "fashion", "--image", sneaker, "--layer", "conv2d", "--at", "99,0",
                  "--filter", "0"},
                 "", {"position 99,0 is outside layer 'conv2d' output of 26 x 26", "(set by --at)"});
  expect_failure({"explain", "value", "--weights", "fashion", "--image", sneaker, "--layer", "conv2d", "--at", "0,0",
                  "--filter", "500"},
                 "", {"filter 500 is outside layer 'conv2d', which has 32 filters", "(set by --filter)"});
  expect_failure({"explain", "im2col", "--input-size", "20"}, "", {"input size 20 must be in 32..4096", "(set by --input-size)"});
  expect_failure({"classify", "--weights", "fashion", "--max-pixels", "10", "--image", sneaker}, "",
                 {"(784 pixels), more than the limit of 10 (set by --max-pixels)"});
  // From C++: the parameter's name, and no flag in the message.
  Model m = load_model("fashion");
  m.input_h = m.input_w = 0;
  try {
    m.build();
    FAIL("a free input size must be refused");
  } catch (const ParameterError& e) {
    CHECK(e.parameter == "input_size");
    CHECK(std::string(e.what()).find("--") == std::string::npos);
  }
  // And in the sources: no string literal in engine/ or vis/ names a flag or vis_tool.
  const std::regex flag_in_literal(R"re("[^"\n]*(--[a-z]|vis_tool )[^"\n]*")re");
  for (const char* folder : {"engine", "vis"})
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(CONVIS_SOURCE_DIR) / folder)) {
      std::ifstream f(e.path());
      int line_no = 0;
      for (std::string line; std::getline(f, line);) {
        ++line_no;
        const std::string code = line.substr(0, line.find("//"));
        CHECK_MESSAGE(!std::regex_search(code, flag_in_literal), e.path().string() << ":" << line_no << ": " << line);
      }
    }
}
