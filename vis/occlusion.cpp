// Occlusion sensitivity: the probability drop per patch position, and its pictures.
#include "vis/occlusion.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "engine/classifier.h"
#include "engine/ops.h"
#include "vis/attribution.h"
#include "vis/colormap.h"
#include "vis/layout.h"
#include "vis/text.h"

namespace convis {

std::vector<int> occlusion_positions(int size, int patch, int stride) {
  if (patch < 1 || patch > size || stride < 1)
    throw std::invalid_argument("occlusion: patch " + std::to_string(patch) + " and stride " + std::to_string(stride) +
                                " must satisfy 1 <= patch <= " + std::to_string(size) + " (the input size) and stride >= 1");
  std::vector<int> p;
  for (int y = 0;; y += stride) {
    p.push_back(y);
    if (y + patch >= size) break;  // this patch reaches the border: every pixel is covered
  }
  return p;
}

void default_occlusion_geometry(int h, int w, int* patch, int* stride) {
  *patch = std::max(1, std::min(h, w) / 4);
  *stride = std::max(1, *patch / 2);
}

void parse_occlusion_fill(const std::string& s, OcclusionFill* fill, Rgb* colour) {
  if (s == "zero" || s == "mean" || s == "blur") {
    *fill = s == "zero" ? OcclusionFill::zero : s == "mean" ? OcclusionFill::mean : OcclusionFill::blur;
    return;
  }
  int v[3];
  size_t start = 0;
  for (int k = 0; k < 3; ++k) {
    const size_t end = k < 2 ? s.find(',', start) : s.size();
    const std::string part = end == std::string::npos ? "" : s.substr(start, end - start);
    const bool digits = !part.empty() && part.size() <= 3 &&
                        std::all_of(part.begin(), part.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    const long x = digits ? std::strtol(part.c_str(), nullptr, 10) : -1;
    if (x < 0 || x > 255)
      throw std::invalid_argument("fill expects zero, mean, blur or R,G,B with each in 0..255 (e.g. 128,128,128), got '" +
                                  s.substr(0, 60) + "'");
    v[k] = int(x);
    start = end + 1;
  }
  *fill = OcclusionFill::colour;
  *colour = Rgb{uint8_t(v[0]), uint8_t(v[1]), uint8_t(v[2])};
}

namespace {

float blur_sigma(int patch) { return std::max(1.f, float(patch) / 4.f); }

std::string pixel_text(const Tensor& fill) {  // the colour of a constant fill image, as "r,g,b"
  std::string t;
  for (int64_t c = 0; c < fill.dim(2); ++c) {
    char b[16];
    std::snprintf(b, sizeof b, "%s%.4g", c ? "," : "", double(fill[c]));
    t += b;
  }
  return t;
}

}  // namespace

Tensor occlusion_fill_image(const Tensor& pixels, Preprocess pre, const OcclusionOptions& opt) {
  if (pixels.rank() != 3) throw std::invalid_argument("occlusion: pixels have shape " + pixels.shape().str() + ", expected (H, W, C)");
  const int64_t H = pixels.dim(0), W = pixels.dim(1), C = pixels.dim(2);
  if (opt.fill == OcclusionFill::blur) return gaussian_blur(pixels, blur_sigma(opt.patch));
  std::vector<float> value(size_t(C), 0.f);
  for (int64_t c = 0; c < C; ++c) {
    if (opt.fill == OcclusionFill::zero) {
      value[size_t(c)] = pixel_of_zero_input(pre, int(c), int(C));
    } else if (opt.fill == OcclusionFill::mean) {
      double sum = 0;
      for (int64_t i = 0; i < H * W; ++i) sum += pixels[i * C + c];
      value[size_t(c)] = float(sum / double(H * W));
    } else {
      const float rgb[3] = {float(opt.colour.r), float(opt.colour.g), float(opt.colour.b)};
      value[size_t(c)] = C == 3 ? rgb[c] : 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
    }
  }
  Tensor out(pixels.shape());
  for (int64_t i = 0; i < H * W; ++i)
    for (int64_t c = 0; c < C; ++c) out[i * C + c] = value[size_t(c)];
  return out;
}

std::string describe_occlusion_fill(const Tensor& pixels, Preprocess pre, const OcclusionOptions& opt) {
  switch (opt.fill) {
    case OcclusionFill::blur: {
      char b[64];
      std::snprintf(b, sizeof b, "a blur of the image (Gaussian, sigma %.3g pixels)", double(blur_sigma(opt.patch)));
      return b;
    }
    case OcclusionFill::zero:
      return std::string("zero after preprocessing '") + preprocess_name(pre) + "' (pixel " +
             pixel_text(occlusion_fill_image(pixels, pre, opt)) + ")";
    case OcclusionFill::mean:
      return "the image's mean colour (pixel " + pixel_text(occlusion_fill_image(pixels, pre, opt)) + ")";
    case OcclusionFill::colour:
      break;
  }
  return "colour " + pixel_text(occlusion_fill_image(pixels, pre, opt));
}

Tensor occlude(const Tensor& pixels, int y, int x, int patch, const Tensor& fill) {
  if (pixels.rank() != 3) throw std::invalid_argument("occlude: pixels have shape " + pixels.shape().str() + ", expected (H, W, C)");
  if (fill.shape() != pixels.shape())
    throw std::invalid_argument("occlude: fill has shape " + fill.shape().str() + ", expected " + pixels.shape().str());
  Tensor out = pixels.clone();
  const int64_t H = pixels.dim(0), W = pixels.dim(1), C = pixels.dim(2);
  for (int64_t i = std::max<int64_t>(y, 0); i < std::min<int64_t>(int64_t(y) + patch, H); ++i)
    for (int64_t j = std::max<int64_t>(x, 0); j < std::min<int64_t>(int64_t(x) + patch, W); ++j)
      for (int64_t c = 0; c < C; ++c) out[(i * W + j) * C + c] = fill[(i * W + j) * C + c];
  return out;
}

Occlusion occlusion_map(const Model& m, const Tensor& pixels, Preprocess pre, int cls, const OcclusionOptions& opt) {
  if (pixels.rank() != 3) throw std::invalid_argument("occlusion: pixels have shape " + pixels.shape().str() + ", expected (H, W, C)");
  if (opt.batch < 1) throw std::invalid_argument("occlusion: batch must be >= 1, got " + std::to_string(opt.batch));
  Occlusion o;
  o.height = int(pixels.dim(0));
  o.width = int(pixels.dim(1));
  o.patch = opt.patch;
  o.rows = occlusion_positions(o.height, opt.patch, opt.stride);
  o.cols = occlusion_positions(o.width, opt.patch, opt.stride);

  const Tensor p0 = class_probabilities(m, preprocess(pixels, pre));
  const int64_t K = p0.dim(1);
  if (cls >= K) throw std::invalid_argument("class " + std::to_string(cls) + " is out of range: model '" + m.name +
                                            "' has " + std::to_string(K) + " classes (0.." + std::to_string(K - 1) + ")");
  o.cls = cls >= 0 ? cls : int(std::max_element(p0.data(), p0.data() + K) - p0.data());
  o.p_original = p0[o.cls];

  o.fill = occlusion_fill_image(pixels, pre, opt);
  const Tensor& fill = o.fill;
  const int64_t R = int64_t(o.rows.size()), Cn = int64_t(o.cols.size()), total = R * Cn;
  const int64_t n = pixels.numel();
  o.prob = Tensor(Shape{R, Cn});
  o.drop = Tensor(Shape{R, Cn});
  for (int64_t done = 0; done < total;) {
    const int64_t b = std::min<int64_t>(opt.batch, total - done);
    Tensor batch(Shape{b, pixels.dim(0), pixels.dim(1), pixels.dim(2)});
    for (int64_t k = 0; k < b; ++k) {
      const int64_t pos = done + k;
      const Tensor x = preprocess(occlude(pixels, o.rows[size_t(pos / Cn)], o.cols[size_t(pos % Cn)], opt.patch, fill), pre);
      std::copy(x.data(), x.data() + n, batch.data() + k * n);
    }
    const Tensor p = class_probabilities(m, batch);
    for (int64_t k = 0; k < b; ++k) {
      o.prob[done + k] = p[k * K + o.cls];
      o.drop[done + k] = o.p_original - o.prob[done + k];
    }
    done += b;
    if (opt.progress) opt.progress(done, total);
  }
  return o;
}

namespace {

// Centres of the visible part of each patch along one axis, in pixel-edge coordinates.
std::vector<double> centres(const std::vector<int>& starts, int patch, int size) {
  std::vector<double> c;
  for (int s : starts) c.push_back(0.5 * (double(s) + double(std::min(s + patch, size))));
  return c;
}

// For an output axis of `out` pixels over a model axis of `size`: the lower centre index and the
// weight of the upper one (0 beyond the outermost centres: the value is held constant there).
void interp_taps(const std::vector<double>& c, int size, int out, std::vector<int>& i0, std::vector<float>& f) {
  i0.assign(size_t(out), 0);
  f.assign(size_t(out), 0.f);
  for (int o = 0; o < out; ++o) {
    const double u = (o + 0.5) * double(size) / double(out);
    size_t k = 0;
    while (k + 1 < c.size() && c[k + 1] <= u) ++k;
    i0[size_t(o)] = int(k);
    if (k + 1 < c.size() && u > c[k]) f[size_t(o)] = float((u - c[k]) / (c[k + 1] - c[k]));
  }
}

// Index of the nearest centre for each output pixel (the heatmap's blocks).
std::vector<int> nearest(const std::vector<double>& c, int size, int out) {
  std::vector<int> idx(static_cast<size_t>(out));
  for (int o = 0; o < out; ++o) {
    const double u = (o + 0.5) * double(size) / double(out);
    size_t best = 0;
    for (size_t k = 1; k < c.size(); ++k)
      if (std::fabs(c[k] - u) < std::fabs(c[best] - u)) best = k;
    idx[size_t(o)] = int(best);
  }
  return idx;
}

// The colour scale of the drop. Signed (some part, hidden, made the class more likely, by more
// than 1% of the largest |drop|: less would not change a colour on a symmetric scale): blue_red
// centred at 0 over [-m, m]. Otherwise the map meant for drops, `unsigned_cm`, from 0 to the
// largest (at least 0.01; the tiny negatives are drawn as 0).
ColorScale drop_scale(const Occlusion& o, Colormap unsigned_cm) {
  const float* d = o.drop.data();
  const auto [mn, mx] = std::minmax_element(d, d + o.drop.numel());
  if (*mn < 0.f && -*mn > 0.01f * std::max(-*mn, std::fabs(*mx))) return diverging_scale(*mn, *mx);
  return {unsigned_cm, 0.f, std::max(*mx, 0.01f)};
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

Tensor occlusion_upsample(const Occlusion& o, int H, int W) {
  const std::vector<double> cy = centres(o.rows, o.patch, o.height), cx = centres(o.cols, o.patch, o.width);
  std::vector<int> y0, x0;
  std::vector<float> fy, fx;
  interp_taps(cy, o.height, H, y0, fy);
  interp_taps(cx, o.width, W, x0, fx);
  const int Cn = int(o.cols.size()), R = int(o.rows.size());
  Tensor out(Shape{H, W});
  for (int y = 0; y < H; ++y) {
    const int ya = y0[size_t(y)], yb = std::min(ya + 1, R - 1);
    for (int x = 0; x < W; ++x) {
      const int xa = x0[size_t(x)], xb = std::min(xa + 1, Cn - 1);
      const float top = o.drop[ya * Cn + xa] * (1.f - fx[size_t(x)]) + o.drop[ya * Cn + xb] * fx[size_t(x)];
      const float bot = o.drop[yb * Cn + xa] * (1.f - fx[size_t(x)]) + o.drop[yb * Cn + xb] * fx[size_t(x)];
      out[int64_t(y) * W + x] = top * (1.f - fy[size_t(y)]) + bot * fy[size_t(y)];
    }
  }
  return out;
}

// ---- pictures -------------------------------------------------------------------------------

Canvas occlusion_sheet(const Tensor& pixels, const Occlusion& o, const std::string& title) {
  const int64_t H = pixels.dim(0), W = pixels.dim(1), C = pixels.dim(2);
  const int Cn = int(o.cols.size());
  const int64_t best = std::max_element(o.drop.data(), o.drop.data() + o.drop.numel()) - o.drop.data();
  std::vector<Tile> tiles;
  std::vector<float> rgb(size_t(H * W * 3));
  for (int64_t pos = 0; pos < o.drop.numel(); ++pos) {
    const Tensor occ = occlude(pixels, o.rows[size_t(pos / Cn)], o.cols[size_t(pos % Cn)], o.patch, o.fill);
    for (int64_t p = 0; p < H * W; ++p)
      for (int k = 0; k < 3; ++k) rgb[size_t(p * 3 + k)] = occ[p * C + (C == 3 ? k : 0)];
    Canvas t = render_rgb(rgb.data(), int(H), int(W), 0.f, 255.f);
    if (pos == best) t.outline_rect(0, 0, t.width, t.height, {200, 0, 0}, std::max(2, int(W) / 56));
    tiles.push_back({t, "p=" + format("%.3f", double(o.prob[pos]))});
  }
  GridOptions g;
  g.title = title;
  g.columns = Cn;
  g.tile_size = std::clamp(1400 / std::max(1, Cn), 56, int(std::max(H, W)));
  g.title_px = g.tile_size >= 90 ? 13 : 10;
  return make_grid(tiles, g);
}

Canvas occlusion_heatmap(const Occlusion& o, const Image& photo, const std::string& title) {
  const Canvas base = fit_photo(photo, 480);
  const int W = base.width, H = base.height;
  const std::vector<int> iy = nearest(centres(o.rows, o.patch, o.height), o.height, H);
  const std::vector<int> ix = nearest(centres(o.cols, o.patch, o.width), o.width, W);
  const int Cn = int(o.cols.size());
  const ColorScale sc = drop_scale(o, Colormap::reds);
  const float lo = sc.lo, hi = sc.hi;
  std::vector<float> blocks(size_t(W) * size_t(H));
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) blocks[size_t(y) * size_t(W) + size_t(x)] = o.drop[iy[size_t(y)] * Cn + ix[size_t(x)]];
  Canvas c = render_map(blocks.data(), H, W, lo, hi, sc.cm);
  // Each block's value in its middle when the blocks are large enough to hold it.
  const int px = 12;
  for (size_t r = 0; r < o.rows.size(); ++r)
    for (size_t k = 0; k < o.cols.size(); ++k) {
      int x0 = W, x1 = -1, y0 = H, y1 = -1;
      for (int x = 0; x < W; ++x)
        if (ix[size_t(x)] == int(k)) x0 = std::min(x0, x), x1 = std::max(x1, x);
      for (int y = 0; y < H; ++y)
        if (iy[size_t(y)] == int(r)) y0 = std::min(y0, y), y1 = std::max(y1, y);
      const float v = o.drop[int64_t(r) * Cn + int64_t(k)];
      const std::string s = format("%.2f", std::fabs(v) < 0.005f ? 0.0 : double(v));  // no "-0.00"
      if (x1 - x0 + 1 < text_width(s, px) + 6 || y1 - y0 + 1 < px + 6) continue;
      const Rgb bg = colormap(sc.cm, (v - lo) / (hi - lo));  // white text on dark blocks (both ends of blue_red)
      const bool dark = 0.299f * bg.r + 0.587f * bg.g + 0.114f * bg.b < 128.f;
      draw_text(c, (x0 + x1 + 1 - text_width(s, px)) / 2, (y0 + y1 + 1 - px) / 2, s, px,
                dark ? Rgb{255, 255, 255} : Rgb{30, 30, 30});
    }
  return add_title(add_colorbar(c, sc.cm, lo, hi, "p drop"), title);
}

Canvas occlusion_overlay(const Occlusion& o, const Image& photo, const std::string& title) {
  const Canvas base = fit_photo(photo, 480);
  const Tensor up = occlusion_upsample(o, base.height, base.width);
  // jet for drops, as the saliency overlays (a red colour scale vanishes on red and brown photos);
  // blue_red when some are negative, so that 0 is neutral.
  const ColorScale sc = drop_scale(o, Colormap::jet);
  const Canvas heat = render_map(up.data(), base.height, base.width, sc.lo, sc.hi, sc.cm);
  return add_title(add_colorbar(blend(base, heat, 0.4f), sc.cm, sc.lo, sc.hi, "p drop"), title);
}

Canvas occlusion_mask(const Occlusion& o, const Image& photo, const std::string& title) {
  Canvas c = fit_photo(photo, 480);
  const Tensor up = occlusion_upsample(o, c.height, c.width);
  const auto [mn, mx] = std::minmax_element(up.data(), up.data() + up.numel());
  const float range = *mx - *mn;
  for (int64_t p = 0; p < up.numel(); ++p) {
    const float t = range > 0.f ? (up[p] - *mn) / range : 1.f;
    for (int k = 0; k < 3; ++k) c.rgb[size_t(p * 3 + k)] = uint8_t(std::lround(float(c.rgb[size_t(p * 3 + k)]) * t * t));
  }
  return add_title(c, title);
}

}  // namespace convis
