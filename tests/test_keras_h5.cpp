// Keras HDF5 weight files: round trips in all four layouts, float16/float64 conversion, string
// attributes in every encoding Keras/h5py use, split name lists, the real darknet model, atomic
// writes, and every bad input with its message.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/hdf5.h"
#include "engine/keras_h5.h"
#include "tests/cli_util.h"
#include "tests/util.h"

using namespace convis;
namespace fs = std::filesystem;

namespace {

using convis::test::Dir;
using convis::test::error_of;
using convis::test::same_bits;
using convis::test::slurp;

using convis::test::contains;

// A small model in every Keras weight shape: weightless input and pool layers, a conv with
// bias, batch norm with its four vectors, a dense layer. Names as `layout` would call them.
std::vector<LayerWeights> small_model(KerasLayout layout) {
  struct Spec {
    const char* layer;
    std::vector<std::pair<const char*, Shape>> weights;
  };
  const std::vector<Spec> specs = {
      {"input_1", {}},
      {"conv2d_1", {{"kernel:0", {3, 3, 3, 4}}, {"bias:0", {4}}}},
      {"batch_normalization_1",
       {{"gamma:0", {4}}, {"beta:0", {4}}, {"moving_mean:0", {4}}, {"moving_variance:0", {4}}}},
      {"max_pooling2d_1", {}},
      {"dense_1", {{"kernel:0", {36, 5}}, {"bias:0", {5}}}},
  };
  std::vector<LayerWeights> layers;
  uint32_t seed = 100;
  for (const Spec& s : specs) {
    LayerWeights lw{s.layer, {}};
    for (size_t i = 0; i < s.weights.size(); ++i) {
      std::string name = s.weights[i].first;
      if (layout == KerasLayout::keras1) name = std::string(s.layer) + (i == 0 ? "_W_1:0" : "_" + std::to_string(i) + ":0");
      if (layout == KerasLayout::keras3) name = "vars/" + std::to_string(i);
      lw.weights.push_back({name, test::random_tensor(s.weights[i].second, seed++)});
    }
    layers.push_back(std::move(lw));
  }
  return layers;
}

// The weight names read_keras_h5 reports for what write_keras_h5 was given.
std::string name_in_file(KerasLayout layout, const std::string& layer, const std::string& name) {
  const bool nested = layout == KerasLayout::keras2 || layout == KerasLayout::model;
  return nested && name.compare(0, layer.size() + 1, layer + "/") != 0 ? layer + "/" + name : name;
}

void check_same_layers(KerasLayout layout, const std::vector<LayerWeights>& want, const KerasFile& got) {
  REQUIRE(got.layers.size() == want.size());
  for (size_t l = 0; l < want.size(); ++l) {
    CAPTURE(want[l].layer);
    CHECK(got.layers[l].layer == want[l].layer);
    REQUIRE(got.layers[l].weights.size() == want[l].weights.size());
    for (size_t i = 0; i < want[l].weights.size(); ++i) {
      const NamedTensor& w = want[l].weights[i];
      const NamedTensor& g = got.layers[l].weights[i];
      CHECK(g.name == name_in_file(layout, want[l].layer, w.name));
      CHECK(g.value.shape() == w.value.shape());
      CHECK(same_bits(g.value, w.value));
    }
  }
}

// A hand-made file, layer_names at the root, written with the raw wrapper (no keras_h5 code).
void write_raw_keras1(const std::string& path, const std::vector<std::string>& layer_names,
                      const std::function<void(hid_t file)>& body) {
  h5::Id f = h5::create_file(path);
  h5::write_fixed_strings_attr(f, "layer_names", layer_names);
  body(f);
}

}  // namespace

TEST_CASE("keras_h5: round trip in all four layouts / bit-exact / weightless layers kept") {
  Dir tmp("roundtrip");
  const std::string config = R"({"class_name": "Model", "config": {"layers": []}})";
  for (KerasLayout layout : {KerasLayout::keras1, KerasLayout::keras2, KerasLayout::model, KerasLayout::keras3}) {
    CAPTURE(layout_name(layout));
    const std::vector<LayerWeights> layers = small_model(layout);
    const std::string path = tmp / (std::string(layout_name(layout)) + ".h5");
    write_keras_h5(path, layout, layers, config);
    const KerasFile f = read_keras_h5(path);
    CHECK(f.path == path);
    CHECK(f.layout == layout);
    check_same_layers(layout, layers, f);
    REQUIRE(f.find("conv2d_1") != nullptr);
    CHECK(f.find("conv2d_1")->weights.size() == 2);
    CHECK(f.find("input_1")->weights.empty());
    CHECK(f.find("nope") == nullptr);
    CHECK(f.model_config == (layout == KerasLayout::model ? config : ""));
    const bool keras2 = layout == KerasLayout::keras2 || layout == KerasLayout::model;
    CHECK(f.keras_version == (keras2 ? "2.15.0" : ""));
    CHECK(f.backend == (keras2 ? "tensorflow" : ""));

    // What read_keras_h5 returns writes back to the same file contents (names not prefixed twice).
    const std::string again = tmp / (std::string(layout_name(layout)) + "_again.h5");
    write_keras_h5(again, layout, f.layers, f.model_config);
    const KerasFile g = read_keras_h5(again);
    CHECK(g.layout == layout);
    check_same_layers(layout, f.layers, g);
    for (size_t l = 0; l < f.layers.size(); ++l)
      for (size_t i = 0; i < f.layers[l].weights.size(); ++i)
        CHECK(g.layers[l].weights[i].name == f.layers[l].weights[i].name);
  }
}

TEST_CASE("keras_h5: the files have Keras' structure (paths / attributes / string types)") {
  Dir tmp("structure");
  const std::string p2 = tmp / "model.h5";
  write_keras_h5(p2, KerasLayout::model, small_model(KerasLayout::model), "{}");
  {
    h5::Id f = h5::open_file(p2);
    CHECK(h5::read_string_attr(f, "model_config") == "{}");
    CHECK(h5::read_string_attr(f, "keras_version") == "2.15.0");
    h5::Id mw = h5::open_group(f, "model_weights");
    CHECK(h5::read_string_list_attr(mw, "layer_names").size() == 5);
    CHECK(h5::read_string_attr(mw, "backend") == "tensorflow");
    CHECK(h5::dataset_dims(f, "model_weights/conv2d_1/conv2d_1/kernel:0") == std::vector<int64_t>{3, 3, 3, 4});
    h5::Id pool = h5::open_group(f, "model_weights/max_pooling2d_1");
    CHECK(h5::read_string_list_attr(pool, "weight_names").empty());
  }
  const std::string p1 = tmp / "k1.h5";
  write_keras_h5(p1, KerasLayout::keras1, small_model(KerasLayout::keras1));
  {
    h5::Id f = h5::open_file(p1);
    CHECK(h5::dataset_dims(f, "conv2d_1/conv2d_1_W_1:0") == std::vector<int64_t>{3, 3, 3, 4});
    CHECK(h5::dataset_dims(f, "conv2d_1/conv2d_1_1:0") == std::vector<int64_t>{4});
    CHECK_FALSE(h5::has_attr(f, "keras_version"));
  }
  const std::string p3 = tmp / "k3.weights.h5";
  write_keras_h5(p3, KerasLayout::keras3, small_model(KerasLayout::keras3));
  {
    h5::Id f = h5::open_file(p3);
    CHECK(h5::dataset_dims(f, "layers/batch_normalization_1/vars/3") == std::vector<int64_t>{4});
    CHECK(h5::is_group(f, "layers/input_1/vars"));
    CHECK(h5::is_group(f, "vars"));
  }
}

TEST_CASE("keras_h5: keras3 keeps group order and sorts vars numerically / other groups ignored") {
  Dir tmp("keras3");
  std::vector<LayerWeights> layers;
  for (const char* name : {"zeta", "conv2d_10", "alpha", "conv2d_2"}) layers.push_back({name, {}});
  for (int i = 0; i < 12; ++i)
    layers[1].weights.push_back({"vars/" + std::to_string(i), test::random_tensor({2, i + 1}, uint32_t(i))});
  const std::string path = tmp / "k3.weights.h5";
  write_keras_h5(path, KerasLayout::keras3, layers);
  KerasFile f = read_keras_h5(path);
  REQUIRE(f.layers.size() == 4);
  CHECK(f.layers[0].layer == "zeta");
  CHECK(f.layers[3].layer == "conv2d_2");
  check_same_layers(KerasLayout::keras3, layers, f);

  // A Keras 3 file as h5py writes it by default: no creation order (groups listed by name), an
  // optimizer group, a non-numeric entry among the vars.
  const std::string plain = tmp / "plain.weights.h5";
  {
    h5::Id file = h5::create_file(plain);
    const float v[3] = {1.f, 2.f, 3.f};
    h5::write_dataset(file, "layers/dense/vars/1", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1}, v + 2);
    h5::write_dataset(file, "layers/dense/vars/0", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {2}, v);
    h5::write_dataset(file, "layers/dense/vars/note", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1}, v);
    h5::create_group(file, "layers/conv2d/vars");
    h5::write_dataset(file, "optimizer/vars/0", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1}, v);
  }
  f = read_keras_h5(plain);
  CHECK(f.layout == KerasLayout::keras3);
  REQUIRE(f.layers.size() == 2);
  CHECK(f.layers[0].layer == "conv2d");
  CHECK(f.layers[0].weights.empty());
  REQUIRE(f.layers[1].weights.size() == 2);
  CHECK(f.layers[1].weights[0].name == "vars/0");
  CHECK(f.layers[1].weights[0].value.to_vector() == std::vector<float>{1.f, 2.f});
  CHECK(f.layers[1].weights[1].value.to_vector() == std::vector<float>{3.f});
}

TEST_CASE("hdf5: float64 / float16 and big-endian float32 datasets are read as float32") {
  Dir tmp("types");
  const std::string path = tmp / "types.h5";
  const double d[4] = {0.1, -2.5, 1e-3, 12345.678};
  // float16 bit patterns: 0.5, -2, 1.5, 65504 (largest), 2^-14 (smallest normal), 2^-24 (smallest
  // subnormal), 0, -0.25; every one exactly representable in float32.
  const uint16_t h[8] = {0x3800, 0xC000, 0x3E00, 0x7BFF, 0x0400, 0x0001, 0x0000, 0xB400};
  const float h_want[8] = {0.5f, -2.f, 1.5f, 65504.f, 6.103515625e-05f, 5.9604644775390625e-08f, 0.f, -0.25f};
  const float f[3] = {1.25f, -3.5f, 7.f};
  write_raw_keras1(path, {"a"}, [&](hid_t file) {
    h5::Id g = h5::create_group(file, "a");
    h5::write_fixed_strings_attr(g, "weight_names", {"w64", "w16", "wbe"});
    h5::write_dataset(g, "w64", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {2, 2}, d);
    h5::Id f16 = h5::float16_type();
    h5::write_dataset(g, "w16", f16, f16, {8}, h);  // the bits as they are: no conversion on write
    h5::write_dataset(g, "wbe", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, {3}, f);
  });
  {
    // The float16 type is the IEEE one numpy/h5py call '<f2': 2 bytes, 5-bit exponent, bias 15.
    h5::Id file = h5::open_file(path);
    h5::Id ds(H5Dopen2(file, "a/w16", H5P_DEFAULT));
    h5::Id type(H5Dget_type(ds));
    CHECK(H5Tget_size(type) == 2);
    CHECK(H5Tget_ebias(type) == 15);
  }
  const KerasFile k = read_keras_h5(path);
  CHECK(k.layout == KerasLayout::keras1);
  REQUIRE(k.layers.size() == 1);
  REQUIRE(k.layers[0].weights.size() == 3);
  const Tensor& w64 = k.layers[0].weights[0].value;
  CHECK(w64.shape() == Shape{2, 2});
  for (int i = 0; i < 4; ++i) CHECK(w64[i] == float(d[i]));
  const Tensor& w16 = k.layers[0].weights[1].value;
  CHECK(w16.shape() == Shape{8});
  for (int i = 0; i < 8; ++i) CHECK(w16[i] == h_want[i]);
  CHECK(std::signbit(w16[7]));
  CHECK(k.layers[0].weights[2].value.to_vector() == std::vector<float>{1.25f, -3.5f, 7.f});
}

TEST_CASE("hdf5: string attributes read fixed or variable length / scalar or array") {
  Dir tmp("strings");
  const std::string path = tmp / "strings.h5";
  {
    h5::Id f = h5::create_file(path);
    // layer_names as h5py writes a list of str: a 1-D array of variable-length UTF-8 strings.
    h5::Id vtype(H5Tcopy(H5T_C_S1));
    H5Tset_size(vtype, H5T_VARIABLE);
    H5Tset_cset(vtype, H5T_CSET_UTF8);
    const hsize_t n = 2;
    h5::Id space(H5Screate_simple(1, &n, nullptr));
    h5::Id a(H5Acreate2(f, "layer_names", vtype, space, H5P_DEFAULT, H5P_DEFAULT));
    const char* names[2] = {"input_1", "dense_1"};
    REQUIRE(H5Awrite(a, vtype, names) >= 0);
    // keras_version as a fixed-length scalar, space padded; backend as a variable-length scalar.
    h5::Id ftype(H5Tcopy(H5T_C_S1));
    H5Tset_size(ftype, 8);
    H5Tset_strpad(ftype, H5T_STR_SPACEPAD);
    h5::Id scalar(H5Screate(H5S_SCALAR));
    h5::Id kv(H5Acreate2(f, "keras_version", ftype, scalar, H5P_DEFAULT, H5P_DEFAULT));
    REQUIRE(H5Awrite(kv, ftype, "2.2.4   ") >= 0);
    h5::write_string_attr(f, "backend", "tensorflow");
    h5::Id input = h5::create_group(f, "input_1");
    h5::write_fixed_strings_attr(input, "weight_names", {});
    h5::Id dense = h5::create_group(f, "dense_1");
    h5::write_fixed_strings_attr(dense, "weight_names", {"dense_1/kernel:0"});
    const float x = 1.f;
    h5::write_dataset(dense, "dense_1/kernel:0", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1, 1}, &x);
  }
  const KerasFile k = read_keras_h5(path);
  CHECK(k.layout == KerasLayout::keras2);
  CHECK(k.keras_version == "2.2.4");
  CHECK(k.backend == "tensorflow");
  REQUIRE(k.layers.size() == 2);
  CHECK(k.layers[0].layer == "input_1");
  CHECK(k.layers[1].layer == "dense_1");
  REQUIRE(k.layers[1].weights.size() == 1);
  CHECK(k.layers[1].weights[0].name == "dense_1/kernel:0");
  CHECK(k.layers[1].weights[0].value.shape() == Shape{1, 1});
}

TEST_CASE("keras_h5: name lists over 64 KiB are split into layer_names0 / 1 / ... and read back") {
  Dir tmp("split");
  // 300 layers with 250-character names: 75,000 bytes of layer_names, over Keras' 64,512 limit.
  // One layer has 700 weights with 100-character names: 70,000+ bytes of weight_names.
  std::vector<LayerWeights> layers;
  for (int i = 0; i < 300; ++i) {
    std::string name = "layer_" + std::to_string(i) + "_";
    name += std::string(250 - name.size(), 'x');
    layers.push_back({name, {}});
  }
  for (int i = 0; i < 700; ++i) {
    std::string name = "w" + std::to_string(i) + "_";
    name += std::string(100 - name.size(), 'y');
    layers[7].weights.push_back({name, Tensor::full({1}, float(i))});
  }
  for (KerasLayout layout : {KerasLayout::keras2, KerasLayout::model}) {
    CAPTURE(layout_name(layout));
    const std::string path = tmp / (std::string(layout_name(layout)) + ".h5");
    write_keras_h5(path, layout, layers);
    {
      h5::Id f = h5::open_file(path);
      h5::Id root = h5::open_group(f, layout == KerasLayout::model ? "model_weights" : "/");
      CHECK_FALSE(h5::has_attr(root, "layer_names"));
      CHECK(h5::has_attr(root, "layer_names0"));
      CHECK(h5::has_attr(root, "layer_names1"));
      CHECK_FALSE(h5::has_attr(root, "layer_names2"));
      CHECK(h5::read_string_list_attr(root, "layer_names0").size() == 150);
      h5::Id g = h5::open_group(root, layers[7].layer);
      CHECK(h5::has_attr(g, "weight_names0"));
      CHECK(h5::has_attr(g, "weight_names1"));
      CHECK_FALSE(h5::has_attr(g, "weight_names"));
    }
    const KerasFile k = read_keras_h5(path);
    CHECK(k.layout == layout);
    check_same_layers(layout, layers, k);
  }
}

TEST_CASE("keras_h5: the real darknet model.save() file") {
  const std::string dir = CONVIS_SHARED_DATA;
  if (!fs::is_directory(dir)) {
    MESSAGE("skipping: ../shared/data not found");
    return;
  }
  const KerasFile k = read_keras_h5(dir + "/models/darknet_tiny_imagenet.h5");
  CHECK(k.layout == KerasLayout::model);
  CHECK(k.keras_version == "2.1.6");
  CHECK(k.backend == "tensorflow");
  REQUIRE(k.layers.size() == 52);
  const char* first[5] = {"input_1", "conv2d_1", "batch_normalization_1", "leaky_re_lu_1", "max_pooling2d_1"};
  for (int i = 0; i < 5; ++i) CHECK(k.layers[size_t(i)].layer == first[i]);
  CHECK(k.layers.back().layer == "global_average_pooling2d_1");
  int64_t params = 0;
  for (const LayerWeights& lw : k.layers)
    for (const NamedTensor& w : lw.weights) params += w.value.numel();
  CHECK(params == 1046488);

  const LayerWeights* conv1 = k.find("conv2d_1");
  REQUIRE(conv1);
  REQUIRE(conv1->weights.size() == 1);  // use_bias false
  CHECK(conv1->weights[0].name == "conv2d_1/kernel:0");
  CHECK(conv1->weights[0].value.shape().str() == "(3, 3, 3, 16)");
  const LayerWeights* conv16 = k.find("conv2d_16");
  REQUIRE(conv16);
  REQUIRE(conv16->weights.size() == 2);
  CHECK(conv16->weights[0].value.shape() == Shape{1, 1, 128, 1000});
  CHECK(conv16->weights[1].value.shape() == Shape{1000});
  const LayerWeights* bn = k.find("batch_normalization_1");
  REQUIRE(bn);
  REQUIRE(bn->weights.size() == 4);
  const char* bn_names[4] = {"gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"};
  for (int i = 0; i < 4; ++i) CHECK(bn->weights[size_t(i)].name == std::string("batch_normalization_1/") + bn_names[i]);
  // Running variances are positive: the vectors are not swapped or garbage.
  const Tensor& var = bn->weights[3].value;
  for (int64_t i = 0; i < var.numel(); ++i) CHECK(var[i] > 0.f);

  const nlohmann::json config = nlohmann::json::parse(k.model_config);
  CHECK(config["class_name"] == "Model");
  CHECK(config["config"]["layers"].size() == 52);
}

TEST_CASE("keras_h5: bad inputs are errors naming the file and the problem") {
  Dir tmp("bad");
  const std::string missing = tmp / "missing.h5";
  CHECK(error_of([&] { read_keras_h5(missing); }) == "weights file '" + missing + "' does not exist");

  const std::string empty = tmp / "empty.h5";
  std::ofstream(empty).close();
  CHECK(error_of([&] { read_keras_h5(empty); }) == "weights file '" + empty + "' is empty (0 bytes)");

  const std::string text = tmp / "text.h5";
  std::ofstream(text) << "these are not the weights you are looking for\n";
  CHECK(error_of([&] { read_keras_h5(text); }) == "weights file '" + text + "' is not an HDF5 file");

  const std::string good = tmp / "good.h5";
  write_keras_h5(good, KerasLayout::keras2, small_model(KerasLayout::keras2));
  const std::string bytes = slurp(good);
  const std::string truncated = tmp / "truncated.h5";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string e_trunc = error_of([&] { read_keras_h5(truncated); });
  CHECK(contains(e_trunc, "weights file '" + truncated + "': file is truncated or damaged ("));
  CHECK(contains(e_trunc, "truncated file"));  // HDF5's own words, kept in the parenthesis

  const std::string other = tmp / "other.h5";
  {
    h5::Id f = h5::create_file(other);
    h5::create_group(f, "images");
  }
  CHECK(error_of([&] { read_keras_h5(other); }) ==
        "weights file '" + other +
            "' is HDF5 but not a Keras weights file: no layer_names attribute, model_weights group or layers group");

  const std::string no_group = tmp / "no_group.h5";
  write_raw_keras1(no_group, {"block1_conv1", "ghost"}, [](hid_t f) {
    h5::Id g = h5::create_group(f, "block1_conv1");
    h5::write_fixed_strings_attr(g, "weight_names", {});
  });
  CHECK(error_of([&] { read_keras_h5(no_group); }) ==
        "weights file '" + no_group + "': layer 'ghost' is listed in layer_names but group 'ghost' is missing");

  const std::string no_dataset = tmp / "no_dataset.h5";
  write_raw_keras1(no_dataset, {"block1_conv1"}, [](hid_t f) {
    h5::Id g = h5::create_group(f, "block1_conv1");
    h5::write_fixed_strings_attr(g, "weight_names", {"block1_conv1_W_1:0", "block1_conv1_b_1:0"});
    const float b[2] = {1.f, 2.f};
    h5::write_dataset(g, "block1_conv1_b_1:0", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {2}, b);
  });
  CHECK(error_of([&] { read_keras_h5(no_dataset); }) ==
        "weights file '" + no_dataset +
            "': cannot open dataset 'block1_conv1/block1_conv1_W_1:0': layer 'block1_conv1' lists it in "
            "weight_names but it does not exist");

  // A model.save() file whose weight is nested one level too shallow (keras1 style under keras2 names).
  const std::string wrong_nesting = tmp / "wrong_nesting.h5";
  {
    h5::Id f = h5::create_file(wrong_nesting);
    h5::Id mw = h5::create_group(f, "model_weights");
    h5::write_fixed_strings_attr(mw, "layer_names", {"dense_1"});
    h5::Id g = h5::create_group(mw, "dense_1");
    h5::write_fixed_strings_attr(g, "weight_names", {"dense_1/kernel:0"});
    const float x = 1.f;
    h5::write_dataset(g, "kernel:0", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1}, &x);
  }
  const std::string e_nest = error_of([&] { read_keras_h5(wrong_nesting); });
  CHECK(contains(e_nest, "weights file '" + wrong_nesting + "': cannot open dataset 'model_weights/dense_1/dense_1/kernel:0'"));

  const std::string no_weight_names = tmp / "no_weight_names.h5";
  write_raw_keras1(no_weight_names, {"fc1"}, [](hid_t f) { h5::create_group(f, "fc1"); });
  CHECK(error_of([&] { read_keras_h5(no_weight_names); }) ==
        "weights file '" + no_weight_names + "': group 'fc1' has no weight_names attribute");

  const std::string rank5 = tmp / "rank5.h5";
  write_raw_keras1(rank5, {"fc1"}, [](hid_t f) {
    h5::Id g = h5::create_group(f, "fc1");
    h5::write_fixed_strings_attr(g, "weight_names", {"w"});
    const float x[1] = {0.f};
    h5::write_dataset(g, "w", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1, 1, 1, 1, 1}, x);
  });
  CHECK(error_of([&] { read_keras_h5(rank5); }) ==
        "weights file '" + rank5 + "': dataset 'fc1/w' has rank 5, at most 4 is supported");

  CHECK(error_of([&] { read_keras_h5(tmp.dir.string()); }) == "weights file '" + tmp.dir.string() + "' is a directory");
}

TEST_CASE("keras_h5: writes are atomic") {
  Dir tmp("atomic");
  const std::vector<LayerWeights> layers = small_model(KerasLayout::keras2);

  const std::string nowhere = tmp / "no/such/dir/w.h5";
  const std::string e_dir = error_of([&] { write_keras_h5(nowhere, KerasLayout::keras2, layers); });
  CHECK(contains(e_dir, nowhere));
  CHECK(contains(e_dir, "does not exist"));
  CHECK_FALSE(fs::exists(tmp / "no"));

  const std::string path = tmp / "w.h5";
  write_keras_h5(path, KerasLayout::keras2, layers);
  const std::string before = slurp(path);

  // Two weights with one name: HDF5 refuses the second dataset after the file is half written.
  std::vector<LayerWeights> clash = small_model(KerasLayout::keras2);
  clash[1].weights[1].name = clash[1].weights[0].name;
  const std::string e_clash = error_of([&] { write_keras_h5(path, KerasLayout::model, clash, "{}"); });
  CHECK(contains(e_clash, "weights file '" + path + "': cannot create dataset 'conv2d_1/kernel:0'"));
  CHECK(slurp(path) == before);

  // Bad arguments are refused before any file is made.
  std::vector<LayerWeights> hollow = small_model(KerasLayout::keras2);
  hollow[1].weights[0].value = Tensor();
  CHECK(error_of([&] { write_keras_h5(path, KerasLayout::keras2, hollow); }) ==
        "weights file '" + path + "': layer 'conv2d_1' weight 'kernel:0' has no data");
  std::vector<LayerWeights> twice = small_model(KerasLayout::keras2);
  twice[3].layer = "conv2d_1";
  CHECK(contains(error_of([&] { write_keras_h5(path, KerasLayout::keras3, twice); }), "layer 'conv2d_1' is listed twice"));
  CHECK(slurp(path) == before);

  // Nothing but the one good file is left in the directory (no temporaries).
  int files = 0;
  for (const auto& entry : fs::directory_iterator(tmp.dir)) {
    CAPTURE(entry.path().string());
    ++files;
  }
  CHECK(files == 1);
  CHECK(read_keras_h5(path).layers.size() == layers.size());
}

TEST_CASE("keras_h5: layout names") {
  for (KerasLayout l : {KerasLayout::keras1, KerasLayout::keras2, KerasLayout::model, KerasLayout::keras3})
    CHECK(parse_layout(layout_name(l)) == l);
  CHECK(std::string(layout_name(KerasLayout::model)) == "model");
  CHECK(error_of([] { parse_layout("keras4"); }) == "unknown Keras layout 'keras4' (valid: keras1, keras2, model, keras3)");
  CHECK_THROWS_AS(parse_layout(""), std::invalid_argument);
}
