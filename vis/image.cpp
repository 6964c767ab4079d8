#include "engine/errors.h"
#include "vis/image.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <stb_image.h>

#include "engine/file_util.h"

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

// Separable bilinear (triangle) filter with antialiasing, as PIL's Image.resize(BILINEAR):
// output pixel o covers source coordinates around centre (o + 0.5) * scale, scale = in / out.
// Each source pixel x (centre x + 0.5) gets weight tent((x + 0.5 - centre) / support_scale),
// tent(t) = max(0, 1 - |t|), where support_scale = max(scale, 1): enlarging interpolates between
// the two nearest pixels; shrinking averages every pixel under a tent as wide as the footprint,
// so no detail aliases. Weights are normalised to sum to 1; edges clamp by renormalising.
// (stb_image_resize 0.97 has this filter but aborts on some shrink ratios, see vis/image.h.)
namespace {

struct Taps {
  std::vector<int> first;      // first source index of each output pixel
  std::vector<int> count;      // how many source pixels it mixes
  std::vector<float> weights;  // count weights per output pixel, `stride` apart
  int stride = 0;
};

Taps triangle_taps(int in, int out) {
  const double scale = double(in) / double(out);
  const double support = std::max(scale, 1.0);
  Taps t;
  t.stride = int(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out));
  t.count.resize(size_t(out));
  t.weights.assign(size_t(out) * size_t(t.stride), 0.f);
  for (int o = 0; o < out; ++o) {
    const double centre = (o + 0.5) * scale;
    const int lo = std::max(0, int(std::floor(centre - support)));
    const int hi = std::min(in, int(std::ceil(centre + support)));
    double total = 0.0;
    int n = 0;
    std::vector<double> w;
    for (int x = lo; x < hi && n < t.stride; ++x, ++n) {
      w.push_back(std::max(0.0, 1.0 - std::fabs((x + 0.5 - centre) / support)));
      total += w.back();
    }
    t.first[size_t(o)] = lo;
    t.count[size_t(o)] = n;
    for (int k = 0; k < n; ++k) t.weights[size_t(o) * size_t(t.stride) + size_t(k)] = float(w[size_t(k)] / total);
  }
  return t;
}

}  // namespace

Tensor resize_bilinear(const Image& img, int h, int w) {
  if (h <= 0 || w <= 0) throw std::invalid_argument("resize: target size must be positive");
  if (img.width <= 0 || img.height <= 0) throw std::invalid_argument("resize: empty image");
  const int c = img.channels, iw = img.width, ih = img.height;
  // Pass 1: along x, every source row -> (ih, w, c). Pass 2: along y -> (h, w, c).
  const Taps tx = triangle_taps(iw, w), ty = triangle_taps(ih, h);
  std::vector<float> rows(static_cast<size_t>(ih) * size_t(w) * size_t(c));
  for (int y = 0; y < ih; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) {
        float acc = 0.f;
        for (int j = 0; j < tx.count[size_t(x)]; ++j)
          acc += tx.weights[size_t(x) * size_t(tx.stride) + size_t(j)] *
                 float(img.pixels[(size_t(y) * size_t(iw) + size_t(tx.first[size_t(x)] + j)) * size_t(c) + size_t(k)]);
        rows[(size_t(y) * size_t(w) + size_t(x)) * size_t(c) + size_t(k)] = acc;
      }
  Tensor out(Shape{h, w, c});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) {
        float acc = 0.f;
        for (int j = 0; j < ty.count[size_t(y)]; ++j)
          acc += ty.weights[size_t(y) * size_t(ty.stride) + size_t(j)] *
                 rows[(size_t(ty.first[size_t(y)] + j) * size_t(w) + size_t(x)) * size_t(c) + size_t(k)];
        out[(int64_t(y) * w + x) * c + k] = acc;
      }
  return out;
}

Tensor load_input(const std::string& path, int h, int w, int c, Preprocess mode) {
  const Image img = load_image(path, c == 1 ? 1 : 3);
  return preprocess(resize_bilinear(img, h, w), mode);
}

}  // namespace convis
