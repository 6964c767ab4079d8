#include "engine/errors.h"
#include "vis/image.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>

#include <stb_image.h>

#include "engine/file_util.h"
#include "kernels/resize.h"
#include "kernels/warp.h"

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
  // Always decoded as RGB: stb's own grey conversion is (77 R + 150 G + 29 B) >> 8, not the luma
  // everyone else uses (grey_of); a grey file decodes to R = G = B, whose luma is itself.
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &n, 3);
  if (!data) {
    const char* why = stbi_failure_reason();
    throw std::runtime_error("image '" + path + "' does not decode (" + (why ? why : "unknown reason") +
                             "); PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC and PNM are read");
  }
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.assign(data, data + size_t(w) * size_t(h) * 3);
  stbi_image_free(data);
  return want_channels == 1 ? grey_of(img) : img;
}

Image grey_of(const Image& img) {
  if (img.channels == 1) return img;
  if (img.channels != 3) throw std::invalid_argument("grey_of: " + std::to_string(img.channels) + " channels, expected 1 or 3");
  Image grey;
  grey.width = img.width;
  grey.height = img.height;
  grey.channels = 1;
  grey.pixels.resize(size_t(img.width) * size_t(img.height));
  for (size_t i = 0; i < grey.pixels.size(); ++i) {
    const int r = img.pixels[3 * i], g = img.pixels[3 * i + 1], b = img.pixels[3 * i + 2];
    grey.pixels[i] = uint8_t(std::lround(0.299 * r + 0.587 * g + 0.114 * b));
  }
  return grey;
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

Tensor gaussian_blur(const Tensor& pixels, float sigma) {
  if (pixels.rank() != 3) throw std::invalid_argument("gaussian_blur: pixels have shape " + pixels.shape().str() + ", expected (H, W, C)");
  Tensor out = pixels.clone();
  gaussian_blur_nhwc(out.data(), 1, int(pixels.dim(0)), int(pixels.dim(1)), int(pixels.dim(2)), sigma);
  return out;
}

Tensor load_input(const std::string& path, int h, int w, int c, Preprocess mode) {
  const Image img = load_image(path, c == 1 ? 1 : 3);
  return preprocess(resize_bilinear(img, h, w), mode);
}

}  // namespace convis
