#include "engine/errors.h"
#include "vis/image.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include <stb_image.h>

#include "engine/file_util.h"
#include "kernels/resize.h"

namespace convis {

namespace {
std::atomic<int64_t> g_max_pixels{kDefaultMaxPixels};
}

int64_t image_pixel_limit() { return g_max_pixels.load(); }
void set_image_pixel_limit(int64_t pixels) { g_max_pixels.store(std::max<int64_t>(pixels, 1)); }

Image load_image(const std::string& path, int want_channels) {
  require_regular_file(path, "image");
  int w = 0, h = 0, n = 0;
  if (want_channels != 1 && want_channels != 3)
    throw std::invalid_argument("load_image: want_channels must be 1 or 3, got " + std::to_string(want_channels));
  if (stbi_info(path.c_str(), &w, &h, &n) && int64_t(w) * int64_t(h) > image_pixel_limit())
    throw ParameterError("max_pixels", "image '" + path + "' is " + std::to_string(w) + "x" + std::to_string(h) + " (" +
                             std::to_string(int64_t(w) * int64_t(h)) + " pixels), more than the limit of " +
                             std::to_string(image_pixel_limit()));
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &n, want_channels);
  if (!data) {
    const char* why = stbi_failure_reason();
    throw std::runtime_error("image '" + path + "' does not decode (" + (why ? why : "unknown reason") +
                             "); PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC and PNM are read");
  }
  Image img;
  img.width = w;
  img.height = h;
  img.channels = want_channels;
  img.pixels.assign(data, data + size_t(w) * size_t(h) * size_t(want_channels));
  stbi_image_free(data);
  return img;
}

// PIL's Image.resize(BILINEAR): kernels/resize.h, ResizeFilter::triangle, on the bytes as they are.
Tensor resize_bilinear(const Image& img, int h, int w) {
  if (h <= 0 || w <= 0) throw std::invalid_argument("resize: target size must be positive");
  if (img.width <= 0 || img.height <= 0) throw std::invalid_argument("resize: empty image");
  Tensor out(Shape{h, w, img.channels});
  resize_bilinear_nhwc(img.pixels.data(), out.data(), {1, img.height, img.width, img.channels, h, w},
                       ResizeFilter::triangle);
  return out;
}

Preprocess parse_preprocess(const std::string& name) {
  if (name == "caffe") return Preprocess::caffe;
  if (name == "unit") return Preprocess::unit;
  if (name == "tf") return Preprocess::tf;
  if (name == "torch") return Preprocess::torch;
  throw std::invalid_argument("unknown preprocessing '" + name + "' (caffe, unit, tf, torch)");
}

Preprocess default_preprocess(const Model& m) { return m.name == "vgg16" ? Preprocess::caffe : Preprocess::unit; }

const char* preprocess_name(Preprocess p) {
  switch (p) {
    case Preprocess::caffe: return "caffe";
    case Preprocess::unit: return "unit";
    case Preprocess::tf: return "tf";
    case Preprocess::torch: return "torch";
  }
  return "unit";
}

Tensor preprocess(const Tensor& hwc, Preprocess mode) {
  const int64_t h = hwc.dim(0), w = hwc.dim(1), c = hwc.dim(2);
  Tensor x(Shape{1, h, w, c});
  const float* p = hwc.data();
  float* q = x.data();
  const float bgr_mean[3] = {103.939f, 116.779f, 123.68f};
  const float rgb_mean[3] = {0.485f, 0.456f, 0.406f}, rgb_std[3] = {0.229f, 0.224f, 0.225f};
  for (int64_t i = 0; i < h * w; ++i) {
    for (int64_t k = 0; k < c; ++k) {
      switch (mode) {
        case Preprocess::caffe:
          // Output channel k (B, G, R) takes input channel 2 - k.
          q[i * c + k] = c == 3 ? p[i * c + (2 - k)] - bgr_mean[k] : p[i * c + k] - bgr_mean[1];
          break;
        case Preprocess::unit: q[i * c + k] = p[i * c + k] / 255.f; break;
        case Preprocess::tf: q[i * c + k] = p[i * c + k] / 127.5f - 1.f; break;
        case Preprocess::torch:
          q[i * c + k] = c == 3 ? (p[i * c + k] / 255.f - rgb_mean[k]) / rgb_std[k] : p[i * c + k] / 255.f;
          break;
      }
    }
  }
  return x;
}

Tensor load_input(const std::string& path, int h, int w, int c, Preprocess mode) {
  const Image img = load_image(path, c == 1 ? 1 : 3);
  return preprocess(resize_bilinear(img, h, w), mode);
}

}  // namespace convis
