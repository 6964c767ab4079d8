#pragma once
// The 8-bit RGB picture every visualisation draws on, and whole-picture operations on it:
// nearest and bilinear scaling, blending. Colours come from vis/colormap.h, text from vis/text.h,
// layouts of several pictures from vis/layout.h, files from vis/png.h.
//
//   Canvas c(64, 32);                              // white, 64 wide, 32 high
//   c.fill_rect(4, 4, 8, 8, {200, 0, 0});
//   Canvas big = upscale_nearest(c, 4);            // 256 x 128, pixels stay visible
#include <cstdint>
#include <vector>

namespace convis {

struct Image;  // vis/image.h

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// Row-major RGB, 3 bytes per pixel. Drawing outside the canvas is clipped, never an error.
struct Canvas {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;

  Canvas() = default;
  Canvas(int w, int h, Rgb fill = {255, 255, 255});
  Rgb get(int x, int y) const;
  void set(int x, int y, Rgb c);
  void fill_rect(int x, int y, int w, int h, Rgb c);
  void outline_rect(int x, int y, int w, int h, Rgb c, int thickness = 1);
  void blit(const Canvas& src, int x, int y);  // copies src with its top-left corner at (x, y)
};

Canvas canvas_from_image(const Image& img);  // grey images become grey RGB

Canvas upscale_nearest(const Canvas& c, int factor);  // pixels stay visible
// To h x w, the height first as everywhere in convis (vis/image.h's resize_bilinear too). Each
// axis on its own: enlarged, bilinear with half-pixel centres; shrunk, the mean of the source
// pixels each output pixel covers (with fractional edges), so thin lines and text do not alias
// away (kernels/resize.h, ResizeFilter::bilinear_area). Rounded to the nearest byte.
Canvas resize_bilinear(const Canvas& c, int h, int w);
// out = (1 - alpha) * base + alpha * over, per pixel; the sizes must match.
Canvas blend(const Canvas& base, const Canvas& over, float alpha);

}  // namespace convis
