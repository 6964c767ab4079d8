#pragma once
// Images in and out of the model: decoding (PNG, JPEG, BMP, ... via stb_image), resizing, and
// loading a model input (the preprocessing modes are in vis/preprocess.h).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "vis/preprocess.h"

namespace convis {

// 8-bit pixels, row-major, `channels` interleaved (3 = RGB, 1 = grey).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Decodes any image stb_image reads; grey, grey+alpha and RGBA become RGB (channels = 3), or
// grey (channels = 1) when want_channels is 1. Throws naming the file and stb's reason.
// The size is read from the file's header first: an image of more than image_pixel_limit()
// pixels (a 389 KB PNG can declare 20000x20000) is refused before anything is decoded.
// want_channels 1: colour images become grey by ITU-R 601 luma, round(0.299 R + 0.587 G +
// 0.114 B) (PIL's convert("L"), grey_of), so that classify and predict see the same pixels.
Image load_image(const std::string& path, int want_channels = 3);
// An RGB image's luma as above; a one-channel image is returned as it is.
Image grey_of(const Image& img);
constexpr int64_t kDefaultMaxPixels = int64_t(100) << 20;  // 100 Mi pixels: 300 MiB as RGB bytes
int64_t image_pixel_limit();
void set_image_pixel_limit(int64_t pixels);  // at least 1

// Bilinear resize to h x w in float, antialiased when shrinking, as PIL's Image.resize(BILINEAR)
// (and tf.image.resize(..., "bilinear", antialias=True)): plain bilinear interpolation with
// half-pixel centres when enlarging, a tent over the whole footprint when shrinking.
// Returns (h, w, channels), values in 0..255. Our own kernel (kernels/resize.h,
// ResizeFilter::triangle) because Debian's stb_image_resize 0.97 aborts with an assertion in
// this very filter on some shrink ratios (e.g. 300 -> 224 pixels, a photo's height going to
// VGG16's input). The height first, as vis/canvas.h's resize_bilinear.
Tensor resize_bilinear(const Image& img, int h, int w);
// pixels (H, W, C) blurred by a Gaussian of sigma pixels (taps to 3 sigma, normalised, edges
// replicated: kernels/warp.h), a copy. Occlusion's blur fill, integrated gradients' blur baseline.
Tensor gaussian_blur(const Tensor& pixels, float sigma);

// Loads, resizes and preprocesses an image into a (1, h, w, c) batch (c = 1 or 3).
Tensor load_input(const std::string& path, int h, int w, int c, Preprocess mode);

}  // namespace convis
