// Keras 2.13's model.save() layout: the weight_names of a layer without weights is an empty
// float64 array (h5py's np.asarray([])), not an empty string array. convis writes it that way and
// reads both; a non-empty name list that is not strings stays an error naming file, layer and type.
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <unistd.h>

#include "engine/hdf5.h"
#include "engine/keras_h5.h"
#include "engine/model.h"
#include "engine/model_io.h"
#include "tests/util.h"

using namespace convis;
namespace fs = std::filesystem;

namespace {

using convis::test::error_of;

fs::path fresh_dir(const std::string& tag) {
  const fs::path d = fs::temp_directory_path() / ("convis_test_k213_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The type class and element count of an attribute, read with the raw C API.
std::pair<H5T_class_t, hssize_t> attr_kind(hid_t loc, const char* name) {
  h5::Id a(H5Aopen(loc, name, H5P_DEFAULT));
  REQUIRE(a.valid());
  h5::Id t(H5Aget_type(a)), s(H5Aget_space(a));
  return {H5Tget_class(t), H5Sget_simple_extent_npoints(s)};
}

// Rewrites every empty weight_names under /model_weights as `write(group)` does.
void rewrite_empty_weight_names(const std::string& path, const std::function<void(hid_t)>& write) {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::quiet_errors();
  h5::Id f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  REQUIRE(f.valid());
  h5::Id mw = h5::open_group(f, "model_weights");
  for (const std::string& layer : h5::children(mw)) {
    h5::Id g = h5::open_group(mw, layer);
    if (!h5::read_string_list_attr(g, "weight_names").empty()) continue;
    REQUIRE(H5Adelete(g, "weight_names") >= 0);
    write(g);
  }
  h5::close_file(f);
}

}  // namespace

TEST_CASE("keras 2.13: weightless layers get an empty float64 weight_names, and both forms load alike") {
  const fs::path dir = fresh_dir("forward");
  Model m = keras_tutorial_cnn();
  init_glorot_uniform(m, 7);
  const std::string k213 = (dir / "k213.h5").string(), strings = (dir / "strings.h5").string();
  save_model(m, k213, KerasLayout::model);
  fs::copy_file(k213, strings);

  {  // What Keras 2.13 writes: float64, shape (0,), for the input, pooling and flatten layers.
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::Id f = h5::open_file(k213);
    for (const char* layer : {"model_weights/max_pooling2d", "model_weights/flatten"}) {
      CAPTURE(layer);
      h5::Id g = h5::open_group(f, layer);
      const auto [cls, n] = attr_kind(g, "weight_names");
      CHECK(cls == H5T_FLOAT);
      CHECK(n == 0);
      h5::Id a(H5Aopen(g, "weight_names", H5P_DEFAULT));
      h5::Id t(H5Aget_type(a));
      CHECK(H5Tget_size(t) == 8);
    }
    h5::Id conv = h5::open_group(f, "model_weights/conv2d");
    CHECK(attr_kind(conv, "weight_names").first == H5T_STRING);
  }
  // The twin: the same file with the empty lists as empty |S1 string arrays (older Keras).
  rewrite_empty_weight_names(strings, [](hid_t g) { h5::write_fixed_strings_attr(g, "weight_names", {}); });
  {
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::Id f = h5::open_file(strings);
    h5::Id g = h5::open_group(f, "model_weights/flatten");
    CHECK(attr_kind(g, "weight_names").first == H5T_STRING);
  }

  const Model a = load_model(k213), b = load_model(strings);
  REQUIRE(a.layers.size() == m.layers.size());
  const Tensor x = test::random_tensor(Shape{3, 28, 28, 1}, 11, 0.f, 1.f);
  NoGrad no_grad;
  const Tensor ya = a.forward(Var::constant(x)).value(), yb = b.forward(Var::constant(x)).value();
  const Tensor ym = m.forward(Var::constant(x)).value();
  REQUIRE(ya.shape() == Shape({3, 10}));
  CHECK(std::memcmp(ya.data(), yb.data(), size_t(ya.numel()) * 4) == 0);
  CHECK(std::memcmp(ya.data(), ym.data(), size_t(ya.numel()) * 4) == 0);
  fs::remove_all(dir);
}

TEST_CASE("keras 2.13: empty integer lists load, and a non-empty numeric weight_names names file, layer and type") {
  const fs::path dir = fresh_dir("bad");
  Model m = keras_tutorial_cnn();
  init_glorot_uniform(m, 3);
  const std::string ints = (dir / "ints.h5").string(), bad = (dir / "bad.h5").string();
  save_model(m, ints, KerasLayout::model);
  fs::copy_file(ints, bad);
  rewrite_empty_weight_names(ints, [](hid_t g) {
    const hsize_t n = 0;
    h5::Id s(H5Screate_simple(1, &n, nullptr));
    h5::Id a(H5Acreate2(g, "weight_names", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT));
    REQUIRE(a.valid());
  });
  CHECK(load_model(ints).layers.size() == m.layers.size());

  {  // flatten's weight_names becomes [1.5, 2.5]: not names.
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::quiet_errors();
    h5::Id f(H5Fopen(bad.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    h5::Id g = h5::open_group(f, "model_weights/flatten");
    REQUIRE(H5Adelete(g, "weight_names") >= 0);
    const hsize_t n = 2;
    const double v[2] = {1.5, 2.5};
    h5::Id s(H5Screate_simple(1, &n, nullptr));
    h5::Id a(H5Acreate2(g, "weight_names", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT));
    REQUIRE(H5Awrite(a, H5T_NATIVE_DOUBLE, v) >= 0);
    a.close();
    g.close();
    h5::close_file(f);
  }
  CHECK(error_of([&] { load_model(bad); }) ==
        "weights file '" + bad + "': layer 'flatten': attribute 'weight_names' holds 2 float value(s), expected strings");
  fs::remove_all(dir);
}
