// NumPy files, class indices and images: round trips, hand-made files, and every bad input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <stb_image_write.h>

#include "engine/class_index.h"
#include "engine/npy.h"
#include "tests/util.h"
#include "vis/image.h"

using namespace convis;
namespace fs = std::filesystem;

namespace {
std::string tmp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("convis_test_io_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
using convis::test::error_of;
// An .npy file by hand: version `major`, a header dict, then raw data.
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  std::string header = dict;
  const size_t pre = major == 1 ? 10 : 12;
  header += std::string((64 - (pre + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::string b = std::string("\x93NUMPY", 6) + char(major) + char(0);
  const uint32_t n = uint32_t(header.size());
  b += char(n & 0xff);
  b += char((n >> 8) & 0xff);
  if (major != 1) {
    b += char((n >> 16) & 0xff);
    b += char((n >> 24) & 0xff);
  }
  return b + header + data;
}
}  // namespace

TEST_CASE("npy: round trip / hand-made v1 and v2 files / and bad files") {
  const Tensor t = test::random_tensor({2, 3, 4, 5}, 40);
  const std::string p = tmp_path("x.npy");
  write_npy(p, t);
  const Tensor back = read_npy(p);
  CHECK(back.shape() == t.shape());
  CHECK(back.to_vector() == t.to_vector());
  // The header is what NumPy writes: 64-byte aligned data, a v1 dict.
  std::ifstream in(p, std::ios::binary);
  std::string head(128, '\0');
  in.read(head.data(), 128);
  CHECK(head.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2,3,4,5), }") != std::string::npos);
  CHECK(fs::file_size(p) == 128 + 120 * 4);

  const float vals[3] = {1.5f, -2.f, 0.25f};
  const std::string data(reinterpret_cast<const char*>(vals), 12);
  write_bytes(p, npy_bytes(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data));
  CHECK(read_npy(p).to_vector() == std::vector<float>{1.5f, -2.f, 0.25f});
  CHECK(read_npy(p).shape() == Shape{3});

  write_bytes(p, npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data + data));
  CHECK(error_of([&] { read_npy(p); }).find("dtype '<f8' is not supported") != std::string::npos);
  write_bytes(p, npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", data));
  CHECK(error_of([&] { read_npy(p); }).find("Fortran-order") != std::string::npos);
  write_bytes(p, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", data));
  CHECK(error_of([&] { read_npy(p); }).find("truncated data") != std::string::npos);
  write_bytes(p, "hello, not numpy");
  CHECK(error_of([&] { read_npy(p); }) == "npy file '" + p + "': not a NumPy .npy file (bad magic)");
  CHECK(error_of([&] { read_npy(p + ".missing"); }) == "npy file '" + p + ".missing' does not exist");
  // A failed write leaves nothing behind and keeps the old file.
  write_npy(p, t);
  CHECK(error_of([&] { write_npy(tmp_path("no/such/dir/y.npy"), t); }).find("does not exist") != std::string::npos);
  CHECK(read_npy(p).shape() == t.shape());
}

TEST_CASE("class index: Keras format / and bad files") {
  const std::string p = tmp_path("classes.json");
  write_bytes(p, R"({"1": ["n02", "dog"], "0": ["n01", "cat"]})");
  const auto labels = read_class_index(p);
  REQUIRE(labels.size() == 2);
  CHECK(labels[0].id == "n01");
  CHECK(labels[1].name == "dog");
  write_bytes(p, R"({"0": ["n01", "cat"], "5": ["n02", "dog"]})");
  CHECK(error_of([&] { read_class_index(p); }).find("key '5' is not an index 0..1") != std::string::npos);
  write_bytes(p, "{oops");
  CHECK(error_of([&] { read_class_index(p); }).find("is not valid JSON") != std::string::npos);
}

TEST_CASE("images: decode / grey to RGB / bilinear resize / preprocessing modes") {
  const std::string p = tmp_path("img.png");
  // A 2x1 RGB image: left pixel (0, 100, 200), right pixel (255, 50, 0).
  const unsigned char px[6] = {0, 100, 200, 255, 50, 0};
  REQUIRE(stbi_write_png(p.c_str(), 2, 1, 3, px, 6));
  const Image img = load_image(p);
  CHECK(img.width == 2);
  CHECK(img.height == 1);
  CHECK(std::vector<uint8_t>(img.pixels.begin(), img.pixels.end()) == std::vector<uint8_t>(px, px + 6));
  // Enlarging 2 -> 4 columns is bilinear interpolation between pixel centres (half-pixel rule):
  // samples at x = -0.25, 0.25, 0.75, 1.25 -> 0, 63.75, 191.25, 255 for the red channel.
  const Tensor r = resize_bilinear(img, 1, 4);
  CHECK(r[0 * 3] == doctest::Approx(0.f).epsilon(1e-4));
  CHECK(r[1 * 3] == doctest::Approx(63.75f).epsilon(1e-4));
  CHECK(r[2 * 3] == doctest::Approx(191.25f).epsilon(1e-4));
  CHECK(r[3 * 3] == doctest::Approx(255.f).epsilon(1e-4));

  const Tensor hwc = Tensor::from({1, 1, 3}, {10.f, 20.f, 30.f});  // R, G, B
  const Tensor caffe = preprocess(hwc, Preprocess::caffe);
  CHECK(caffe.shape() == Shape{1, 1, 1, 3});
  CHECK(caffe[0] == doctest::Approx(30.f - 103.939f));  // B
  CHECK(caffe[1] == doctest::Approx(20.f - 116.779f));  // G
  CHECK(caffe[2] == doctest::Approx(10.f - 123.68f));   // R
  CHECK(preprocess(hwc, Preprocess::unit)[1] == doctest::Approx(20.f / 255.f));
  CHECK(preprocess(hwc, Preprocess::tf)[2] == doctest::Approx(30.f / 127.5f - 1.f));
  CHECK(preprocess(hwc, Preprocess::torch)[0] == doctest::Approx((10.f / 255.f - 0.485f) / 0.229f));
  CHECK(error_of([] { parse_preprocess("imagenet"); }) == "unknown preprocessing 'imagenet' (caffe, unit, tf, torch)");

  // Grey PNG in, RGB out (grey replicated), and grey out when asked.
  const std::string g = tmp_path("grey.png");
  const unsigned char grey[4] = {0, 64, 128, 255};
  REQUIRE(stbi_write_png(g.c_str(), 2, 2, 1, grey, 2));
  const Image as_rgb = load_image(g);
  CHECK(as_rgb.channels == 3);
  CHECK(int(as_rgb.pixels[3]) == 64);
  CHECK(int(as_rgb.pixels[4]) == 64);
  CHECK(load_image(g, 1).pixels.size() == 4);

  write_bytes(p, "definitely not an image");
  CHECK(error_of([&] { load_image(p); }).find("does not decode") != std::string::npos);
  CHECK(error_of([&] { load_image(p + ".nope"); }) == "image '" + p + ".nope' does not exist");
}

TEST_CASE("preprocessing: one table / each mode is its formula, bit for bit / names round-trip / the mean colour maps to 0") {
  const float bgr_mean[3] = {103.939f, 116.779f, 123.68f};  // as the modes were written before the table
  const float rgb_mean[3] = {0.485f, 0.456f, 0.406f}, rgb_std[3] = {0.229f, 0.224f, 0.225f};
  for (Preprocess mode : {Preprocess::caffe, Preprocess::unit, Preprocess::tf, Preprocess::torch})
    for (int c : {3, 1}) {
      CAPTURE(preprocess_name(mode));
      CAPTURE(c);
      CHECK(parse_preprocess(preprocess_name(mode)) == mode);
      const Tensor hwc = test::random_tensor({5, 7, c}, 31, 0.f, 255.f);
      const Tensor x = preprocess(hwc, mode);
      int64_t differ = 0;
      for (int64_t i = 0; i < 35; ++i)
        for (int k = 0; k < c; ++k) {
          const float* p = hwc.data() + i * c;
          float want = 0.f;
          switch (mode) {
            case Preprocess::caffe: want = c == 3 ? p[2 - k] - bgr_mean[k] : p[k] - bgr_mean[1]; break;
            case Preprocess::unit: want = p[k] / 255.f; break;
            case Preprocess::tf: want = p[k] / 127.5f - 1.f; break;
            case Preprocess::torch: want = c == 3 ? (p[k] / 255.f - rgb_mean[k]) / rgb_std[k] : p[k] / 255.f; break;
          }
          differ += x[i * c + k] != want;
        }
      CHECK(differ == 0);
    }
  const Tensor mean_rgb = Tensor::from({1, 1, 3}, {imagenet_mean_pixel(0, 3), imagenet_mean_pixel(1, 3),
                                                  imagenet_mean_pixel(2, 3)});
  CHECK(mean_rgb[0] == 123.68f);
  const Tensor zero = preprocess(mean_rgb, Preprocess::caffe);
  for (int k = 0; k < 3; ++k) CHECK(zero[k] == 0.f);
  CHECK(imagenet_mean_pixel(0, 1) == 116.779f);
}
