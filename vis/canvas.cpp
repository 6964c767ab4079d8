#include "vis/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/resize.h"
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

Canvas resize_bilinear(const Canvas& c, int h, int w) {
  if (w <= 0 || h <= 0 || c.width <= 0 || c.height <= 0)
    throw std::invalid_argument("resize_bilinear: cannot resize " + std::to_string(c.width) + "x" +
                                std::to_string(c.height) + " to " + std::to_string(w) + "x" + std::to_string(h));
  std::vector<float> y(size_t(h) * size_t(w) * 3);
  resize_bilinear_nhwc(c.rgb.data(), y.data(), {1, c.height, c.width, 3, h, w}, ResizeFilter::bilinear_area);
  Canvas out(w, h);
  for (size_t i = 0; i < y.size(); ++i) out.rgb[i] = uint8_t(std::clamp(std::lround(y[i]), 0L, 255L));
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
