#include "vis/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vis/image.h"

namespace convis {

Canvas::Canvas(int w, int h, Rgb fill) : width(std::max(0, w)), height(std::max(0, h)) {
  rgb.resize(size_t(width) * size_t(height) * 3);
  for (size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = fill.r;
    rgb[i + 1] = fill.g;
    rgb[i + 2] = fill.b;
  }
}

Rgb Canvas::get(int x, int y) const {
  if (x < 0 || y < 0 || x >= width || y >= height) return {};
  const uint8_t* p = &rgb[(size_t(y) * size_t(width) + size_t(x)) * 3];
  return {p[0], p[1], p[2]};
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  uint8_t* p = &rgb[(size_t(y) * size_t(width) + size_t(x)) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void Canvas::fill_rect(int x, int y, int w, int h, Rgb c) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(width, x + w), y1 = std::min(height, y + h);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) set(xx, yy, c);
}

void Canvas::outline_rect(int x, int y, int w, int h, Rgb c, int thickness) {
  const int t = std::max(1, thickness);
  fill_rect(x, y, w, t, c);
  fill_rect(x, y + h - t, w, t, c);
  fill_rect(x, y, t, h, c);
  fill_rect(x + w - t, y, t, h, c);
}

void Canvas::blit(const Canvas& src, int x, int y) {
  const int x0 = std::max(0, -x), y0 = std::max(0, -y);
  const int x1 = std::min(src.width, width - x), y1 = std::min(src.height, height - y);
  if (x1 <= x0) return;
  for (int sy = y0; sy < y1; ++sy)
    std::memcpy(&rgb[(size_t(y + sy) * size_t(width) + size_t(x + x0)) * 3],
                &src.rgb[(size_t(sy) * size_t(src.width) + size_t(x0)) * 3], size_t(x1 - x0) * 3);
}

Canvas canvas_from_image(const Image& img) {
  if (img.channels != 1 && img.channels != 3)
    throw std::invalid_argument("canvas_from_image: expected 1 or 3 channels, got " + std::to_string(img.channels));
  Canvas c(img.width, img.height);
  const size_t n = size_t(img.width) * size_t(img.height);
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) c.rgb[i * 3 + size_t(k)] = img.pixels[i * size_t(img.channels) + (img.channels == 3 ? size_t(k) : 0)];
  return c;
}

Canvas upscale_nearest(const Canvas& c, int factor) {
  if (factor < 1) throw std::invalid_argument("upscale_nearest: factor must be >= 1, got " + std::to_string(factor));
  Canvas out(c.width * factor, c.height * factor);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) out.set(x, y, c.get(x / factor, y / factor));
  return out;
}

// Enlarging: bilinear with half-pixel centres. Shrinking: the mean of the source pixels each
// output pixel covers (with fractional edges), so thin lines and text do not alias away.
Canvas resize_bilinear(const Canvas& c, int w, int h) {
  if (w <= 0 || h <= 0 || c.width <= 0 || c.height <= 0)
    throw std::invalid_argument("resize_bilinear: cannot resize " + std::to_string(c.width) + "x" +
                                std::to_string(c.height) + " to " + std::to_string(w) + "x" + std::to_string(h));
  // Per axis: for each output index, source indices and weights.
  auto taps = [](int in, int out) {
    std::vector<std::vector<std::pair<int, float>>> t(static_cast<size_t>(out));
    const double scale = double(in) / double(out);
    for (int o = 0; o < out; ++o) {
      auto& v = t[size_t(o)];
      if (scale <= 1.0) {
        const double s = std::clamp((o + 0.5) * scale - 0.5, 0.0, double(in - 1));
        const int i0 = int(std::floor(s));
        const int i1 = std::min(in - 1, i0 + 1);
        const float f = float(s - i0);
        v.push_back({i0, 1.f - f});
        if (i1 != i0) v.push_back({i1, f});
      } else {
        const double a = o * scale, b = (o + 1) * scale;
        for (int i = int(std::floor(a)); i < int(std::ceil(b)) && i < in; ++i) {
          const double cover = std::min(b, double(i + 1)) - std::max(a, double(i));
          if (cover > 0) v.push_back({i, float(cover / scale)});
        }
      }
    }
    return t;
  };
  const auto tx = taps(c.width, w), ty = taps(c.height, h);
  // Horizontal pass into floats, then vertical.
  std::vector<float> mid(size_t(c.height) * size_t(w) * 3, 0.f);
  for (int y = 0; y < c.height; ++y)
    for (int x = 0; x < w; ++x)
      for (const auto& [i, wt] : tx[size_t(x)])
        for (int k = 0; k < 3; ++k)
          mid[(size_t(y) * size_t(w) + size_t(x)) * 3 + size_t(k)] += wt * float(c.rgb[(size_t(y) * size_t(c.width) + size_t(i)) * 3 + size_t(k)]);
  Canvas out(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < 3; ++k) {
        float v = 0.f;
        for (const auto& [i, wt] : ty[size_t(y)]) v += wt * mid[(size_t(i) * size_t(w) + size_t(x)) * 3 + size_t(k)];
        out.rgb[(size_t(y) * size_t(w) + size_t(x)) * 3 + size_t(k)] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
      }
  return out;
}

Canvas blend(const Canvas& base, const Canvas& over, float alpha) {
  if (base.width != over.width || base.height != over.height)
    throw std::invalid_argument("blend: sizes " + std::to_string(base.width) + "x" + std::to_string(base.height) +
                                " and " + std::to_string(over.width) + "x" + std::to_string(over.height) + " differ");
  const float a = std::clamp(alpha, 0.f, 1.f);
  Canvas out(base.width, base.height);
  for (size_t i = 0; i < out.rgb.size(); ++i)
    out.rgb[i] = uint8_t(std::lround((1.f - a) * float(base.rgb[i]) + a * float(over.rgb[i])));
  return out;
}

}  // namespace convis
