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

Tensor load_input(const std::string& path, int h, int w, int c, Preprocess mode) {
  const Image img = load_image(path, c == 1 ? 1 : 3);
  return preprocess(resize_bilinear(img, h, w), mode);
}

}  // namespace convis
