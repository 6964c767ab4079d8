// The pictures of an attribution: the sheet (photo | [guided image] | map | overlay, with a colour
// bar and a title) and the map alone.
#include <algorithm>
#include <cmath>

#include "vis/attribution.h"
#include "vis/colormap.h"
#include "vis/layout.h"
#include "vis/text.h"

namespace convis {

Canvas fit_photo(const Image& photo, int longer) {
  const Canvas c = canvas_from_image(photo);
  const double s = double(longer) / double(std::max(photo.width, photo.height));
  return resize_bilinear(c, std::max(1, int(std::lround(photo.height * s))),
                         std::max(1, int(std::lround(photo.width * s))));
}

// Signed per-channel values as an image, centred at 0: a zero gradient is mid grey (128), +-5 root
// mean squares go to 0 and 255, so +v and -v lie equally far from grey (pytorch-grad-cam's
// deprocess_image, 0.5 + 0.1 z, without subtracting the mean: the mean would tint the zeros).
Canvas signed_rgb_canvas(const Tensor& rgb) {
  const int H = int(rgb.dim(0)), W = int(rgb.dim(1)), C = int(rgb.dim(2));
  std::vector<float> v(size_t(H) * size_t(W) * 3);
  for (int64_t p = 0; p < int64_t(H) * W; ++p)
    for (int k = 0; k < 3; ++k) v[size_t(p) * 3 + size_t(k)] = rgb[p * C + (C == 3 ? k : 0)];
  double sq = 0.0;
  for (float f : v) sq += double(f) * double(f);
  const double rms = std::sqrt(sq / double(std::max<size_t>(1, v.size())));
  const float m = rms > 0.0 && std::isfinite(rms) ? float(5.0 * rms) : 1.f;
  return render_rgb(v.data(), H, W, -m, m);
}

Canvas attribution_sheet(const Image& photo, const Attribution& a, const std::string& title, int panel) {
  const Canvas base = fit_photo(photo, std::max(16, panel));
  const int W = base.width, H = base.height;
  const Tensor map = upsample_bilinear(a.map, H, W);
  const Canvas heat = render_map(map.data(), H, W, 0.f, a.display_max, Colormap::jet);
  std::vector<Canvas> parts = {base};
  std::vector<std::string> titles = {"image"};
  if (a.rgb.defined()) {
    parts.push_back(resize_bilinear(signed_rgb_canvas(a.rgb), H, W));
    titles.push_back(a.method->title);
  }
  parts.push_back(heat);
  titles.push_back(a.rgb.defined() ? "max over RGB of |" + std::string(a.method->title) + "|" : a.method->title);
  parts.push_back(blend(base, heat, 0.4f));
  titles.push_back("overlay");
  const Canvas row = add_colorbar(hstack(parts, titles), Colormap::jet, 0.f, a.display_max, a.quantity);
  return add_title(row, title);
}

Canvas add_title(const Canvas& c, const std::string& title, int px) {
  const int margin = 10;
  Canvas out(std::max(c.width, text_width(title, px)) + 2 * margin, c.height + px + 3 * margin);
  draw_text(out, margin, margin, title, px);
  out.blit(c, margin, px + 2 * margin);
  return out;
}

Canvas attribution_map_canvas(const Attribution& a) {
  return render_map(a.map.data(), int(a.map.dim(0)), int(a.map.dim(1)), 0.f, a.display_max, Colormap::grey);
}

}  // namespace convis
