#include "vis/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

// stb_image_write and stb_truetype are compiled into Debian's libstb (linked through pkg-config);
// stb_easy_font is not, but it is all static functions, so including it defines them here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop
#include <stb_image_write.h>
#include <stb_truetype.h>

#include "engine/file_util.h"

namespace convis {

namespace fs = std::filesystem;

// ---- canvas ---------------------------------------------------------------------------------

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

// ---- colormaps ------------------------------------------------------------------------------
// Piecewise-linear in RGB between evenly spaced control points.

namespace {

struct Stops {
  const uint8_t (*rgb)[3];
  int n;
};

// viridis at t = k/15 (matplotlib's map sampled at 16 points): dense enough that linear
// interpolation stays within a couple of levels of the 256-entry table, luminance rising throughout.
constexpr uint8_t kViridis[][3] = {
    {68, 1, 84},    {72, 26, 108},  {71, 47, 125},  {65, 68, 135},  {57, 86, 140},   {49, 104, 142},
    {42, 120, 142}, {35, 136, 142}, {31, 152, 139}, {34, 168, 132}, {53, 183, 121},  {84, 197, 104},
    {122, 209, 81}, {165, 219, 54}, {210, 226, 27}, {253, 231, 37}};
// ColorBrewer's sequential Reds (matplotlib's "Reds"): near-white to dark red.
constexpr uint8_t kReds[][3] = {{255, 245, 240}, {254, 224, 210}, {252, 187, 161}, {252, 146, 114}, {251, 106, 74},
                                {239, 59, 44},   {203, 24, 29},   {165, 15, 21},   {103, 0, 13}};
// ColorBrewer's RdBu reversed (blue for negative), with pure white at the centre so that a zero
// weight is exactly the background-free "nothing" colour.
constexpr uint8_t kBlueRed[][3] = {{5, 48, 97},     {33, 102, 172}, {67, 147, 195}, {146, 197, 222},
                                   {209, 229, 240}, {255, 255, 255}, {253, 219, 199}, {244, 165, 130},
                                   {214, 96, 77},   {178, 24, 43},   {103, 0, 31}};

Rgb interpolate(const Stops& s, float t) {
  const float x = t * float(s.n - 1);
  const int i = std::min(s.n - 2, std::max(0, int(std::floor(x))));
  const float f = x - float(i);
  auto mix = [&](int k) { return uint8_t(std::lround(float(s.rgb[i][k]) * (1.f - f) + float(s.rgb[i + 1][k]) * f)); };
  return {mix(0), mix(1), mix(2)};
}

}  // namespace

Colormap parse_colormap(const std::string& name) {
  for (Colormap c : {Colormap::grey, Colormap::viridis, Colormap::reds, Colormap::jet, Colormap::blue_red})
    if (name == colormap_name(c)) return c;
  if (name == "gray") return Colormap::grey;
  throw std::invalid_argument("unknown colormap '" + name + "'; valid: grey, viridis, reds, jet, blue_red");
}

const char* colormap_name(Colormap c) {
  switch (c) {
    case Colormap::grey: return "grey";
    case Colormap::viridis: return "viridis";
    case Colormap::reds: return "reds";
    case Colormap::jet: return "jet";
    case Colormap::blue_red: return "blue_red";
  }
  return "?";
}

Rgb colormap(Colormap c, float t) {
  if (!(t >= 0.f)) t = 0.f;  // also NaN
  if (t > 1.f) t = 1.f;
  switch (c) {
    case Colormap::grey: {
      const uint8_t v = uint8_t(std::lround(t * 255.f));
      return {v, v, v};
    }
    case Colormap::viridis: return interpolate({kViridis, int(std::size(kViridis))}, t);
    case Colormap::reds: return interpolate({kReds, int(std::size(kReds))}, t);
    case Colormap::blue_red: return interpolate({kBlueRed, int(std::size(kBlueRed))}, t);
    case Colormap::jet: {
      // The classic jet ramps: dark blue, blue, cyan, yellow, red, dark red; each channel a
      // trapezoid 1.5 - |4t - k| clamped to [0, 1].
      auto ramp = [&](float k) { return uint8_t(std::lround(255.f * std::clamp(1.5f - std::fabs(4.f * t - k), 0.f, 1.f))); };
      return {ramp(3.f), ramp(2.f), ramp(1.f)};
    }
  }
  return {};
}

Canvas render_map(const float* data, int h, int w, float lo, float hi, Colormap cm) {
  Canvas c(w, h);
  const float range = hi - lo;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float v = data[size_t(y) * size_t(w) + size_t(x)];
      const float t = range > 0.f ? (v - lo) / range : 0.5f;
      c.set(x, y, colormap(cm, t));
    }
  return c;
}

Canvas render_rgb(const float* data, int h, int w, float lo, float hi) {
  Canvas c(w, h);
  const float range = hi - lo;
  for (size_t i = 0; i < size_t(h) * size_t(w) * 3; ++i) {
    float t = range > 0.f ? (data[i] - lo) / range : 0.5f;
    if (!(t >= 0.f)) t = 0.f;
    c.rgb[i] = uint8_t(std::lround(std::min(t, 1.f) * 255.f));
  }
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

Canvas hstack(const std::vector<Canvas>& parts, const std::vector<std::string>& titles, int gap) {
  const int title_px = 14;
  bool any_title = false;
  for (const auto& t : titles) any_title = any_title || !t.empty();
  const int title_h = any_title ? title_px + 6 : 0;
  int w = 0, h = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    int pw = parts[i].width;
    if (i < titles.size()) pw = std::max(pw, text_width(titles[i], title_px));
    w += pw + (i ? gap : 0);
    h = std::max(h, parts[i].height);
  }
  Canvas out(w, h + title_h);
  int x = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    int pw = parts[i].width;
    const std::string t = i < titles.size() ? titles[i] : "";
    pw = std::max(pw, text_width(t, title_px));
    if (!t.empty()) draw_text(out, x + (pw - text_width(t, title_px)) / 2, 1, t, title_px);
    out.blit(parts[i], x + (pw - parts[i].width) / 2, title_h);
    x += pw + gap;
  }
  return out;
}

// ---- text -----------------------------------------------------------------------------------
// A string is laid out on a line box of height px starting at y: ascent + descent of the font
// fill it exactly (stbtt_ScaleForPixelHeight), so DejaVu's capitals are about 0.63 px tall.
// Glyphs are rasterised antialiased into a coverage mask and blended onto the canvas.

namespace {

struct FontCache {
  std::mutex mu;
  std::string path;  // what was tried last
  bool ok = false;
  std::vector<unsigned char> ttf;
  stbtt_fontinfo info{};
};

FontCache& font_cache() {
  static FontCache f;
  return f;
}

std::string font_path() {
  const char* env = std::getenv("CONVIS_FONT");
  return env && *env ? env : "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
}

// Loads (or reloads, when CONVIS_FONT changed) the font; call with the mutex held.
bool load_font(FontCache& f) {
  const std::string p = font_path();
  if (p == f.path) return f.ok;
  f.path = p;
  f.ok = false;
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  f.ttf.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (f.ttf.empty()) return false;
  const int offset = stbtt_GetFontOffsetForIndex(f.ttf.data(), 0);
  f.ok = offset >= 0 && stbtt_InitFont(&f.info, f.ttf.data(), offset) != 0;
  return f.ok;
}

// UTF-8 to code points; a malformed byte becomes U+FFFD and decoding resumes at the next byte.
std::vector<int> decode_utf8(const std::string& s) {
  std::vector<int> out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    bool ok = n >= 0 && i + size_t(n) < s.size();
    int cp = n <= 0 ? c : c & (0x3F >> n);
    for (int k = 1; ok && k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + size_t(k)]);
      ok = (d & 0xC0) == 0x80;
      cp = (cp << 6) | (d & 0x3F);
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? size_t(n) + 1 : 1;
  }
  return out;
}

// Adds coverage `a` (0..1) of `colour` at (x, y).
void blend_pixel(Canvas& c, int x, int y, Rgb colour, float a) {
  if (a <= 0.f || x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  a = std::min(a, 1.f);
  uint8_t* p = &c.rgb[(size_t(y) * size_t(c.width) + size_t(x)) * 3];
  p[0] = uint8_t(std::lround(float(p[0]) * (1.f - a) + float(colour.r) * a));
  p[1] = uint8_t(std::lround(float(p[1]) * (1.f - a) + float(colour.g) * a));
  p[2] = uint8_t(std::lround(float(p[2]) * (1.f - a) + float(colour.b) * a));
}

// stb_easy_font draws on a 12-unit line (capitals 7 units, from y = 0); scaled so a line is px.
constexpr float kEasyLine = 12.f;

std::string easy_ascii(const std::string& s) {
  std::string a;
  for (int cp : decode_utf8(s)) a += cp >= 32 && cp < 127 ? char(cp) : cp == 0xD7 ? 'x' : '?';
  return a;
}

// Quads of stb_easy_font, scaled, rasterised with exact area coverage (antialiased edges).
void draw_easy(Canvas& c, int x, int y, const std::string& text, int px, Rgb colour) {
  std::string s = easy_ascii(text);
  if (s.empty()) return;
  const float scale = float(px) / kEasyLine;
  std::vector<char> buf(s.size() * 300 + 64);
  const int quads = stb_easy_font_print(0.f, 1.5f, &s[0], nullptr, buf.data(), int(buf.size()));
  // Coverage mask over the text's box, accumulated then blended once.
  const int w = int(std::ceil(float(stb_easy_font_width(&s[0])) * scale)) + 2, h = px + 2;
  std::vector<float> cov(size_t(w) * size_t(h), 0.f);
  for (int q = 0; q < quads; ++q) {
    const float* v0 = reinterpret_cast<const float*>(buf.data() + size_t(q) * 64);
    const float* v2 = reinterpret_cast<const float*>(buf.data() + size_t(q) * 64 + 32);
    const float x0 = v0[0] * scale, y0 = v0[1] * scale, x1 = v2[0] * scale, y1 = v2[1] * scale;
    for (int yy = std::max(0, int(std::floor(y0))); yy < std::min(h, int(std::ceil(y1))); ++yy) {
      const float fy = std::min(y1, float(yy + 1)) - std::max(y0, float(yy));
      for (int xx = std::max(0, int(std::floor(x0))); xx < std::min(w, int(std::ceil(x1))); ++xx) {
        const float fx = std::min(x1, float(xx + 1)) - std::max(x0, float(xx));
        if (fx > 0.f && fy > 0.f) cov[size_t(yy) * size_t(w) + size_t(xx)] += fx * fy;
      }
    }
  }
  for (int yy = 0; yy < h; ++yy)
    for (int xx = 0; xx < w; ++xx) blend_pixel(c, x + xx, y + yy, colour, cov[size_t(yy) * size_t(w) + size_t(xx)]);
}

}  // namespace

bool have_truetype_font() {
  FontCache& f = font_cache();
  std::lock_guard<std::mutex> lock(f.mu);
  return load_font(f);
}

int text_width(const std::string& text, int px) {
  if (text.empty() || px <= 0) return 0;
  FontCache& f = font_cache();
  std::lock_guard<std::mutex> lock(f.mu);
  if (!load_font(f)) {
    std::string s = easy_ascii(text);
    return int(std::ceil(float(stb_easy_font_width(&s[0])) * float(px) / kEasyLine));
  }
  const float scale = stbtt_ScaleForPixelHeight(&f.info, float(px));
  const std::vector<int> cps = decode_utf8(text);
  float x = 0.f;
  for (size_t i = 0; i < cps.size(); ++i) {
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&f.info, cps[i], &advance, &lsb);
    x += float(advance) * scale;
    if (i + 1 < cps.size()) x += float(stbtt_GetCodepointKernAdvance(&f.info, cps[i], cps[i + 1])) * scale;
  }
  return int(std::ceil(x));
}

void draw_text(Canvas& c, int x, int y, const std::string& text, int px, Rgb colour) {
  if (text.empty() || px <= 0) return;
  FontCache& f = font_cache();
  std::lock_guard<std::mutex> lock(f.mu);
  if (!load_font(f)) {
    draw_easy(c, x, y, text, px, colour);
    return;
  }
  const float scale = stbtt_ScaleForPixelHeight(&f.info, float(px));
  int ascent = 0, descent = 0, gap = 0;
  stbtt_GetFontVMetrics(&f.info, &ascent, &descent, &gap);
  const float baseline = float(y) + float(ascent) * scale;
  const std::vector<int> cps = decode_utf8(text);
  float pen = float(x);
  std::vector<unsigned char> mask;
  for (size_t i = 0; i < cps.size(); ++i) {
    const int cp = cps[i];
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&f.info, cp, &advance, &lsb);
    // Subpixel placement: the glyph is rasterised with its fractional x and baseline offsets.
    const float sx = pen - std::floor(pen), sy = baseline - std::floor(baseline);
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    stbtt_GetCodepointBitmapBoxSubpixel(&f.info, cp, scale, scale, sx, sy, &x0, &y0, &x1, &y1);
    const int gw = x1 - x0, gh = y1 - y0;
    if (gw > 0 && gh > 0) {
      mask.assign(size_t(gw) * size_t(gh), 0);
      stbtt_MakeCodepointBitmapSubpixel(&f.info, mask.data(), gw, gh, gw, scale, scale, sx, sy, cp);
      const int ox = int(std::floor(pen)) + x0, oy = int(std::floor(baseline)) + y0;
      for (int gy = 0; gy < gh; ++gy)
        for (int gx = 0; gx < gw; ++gx)
          blend_pixel(c, ox + gx, oy + gy, colour, float(mask[size_t(gy) * size_t(gw) + size_t(gx)]) / 255.f);
    }
    pen += float(advance) * scale;
    if (i + 1 < cps.size()) pen += float(stbtt_GetCodepointKernAdvance(&f.info, cp, cps[i + 1])) * scale;
  }
}

// ---- grids ----------------------------------------------------------------------------------

namespace {

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t nl = s.find('\n', start);
    lines.push_back(s.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

// Shortens text with a trailing ".." until it fits max_w pixels.
std::string fit_text(const std::string& text, int px, int max_w) {
  if (text_width(text, px) <= max_w) return text;
  std::vector<int> cps = decode_utf8(text);
  std::string s;
  while (!cps.empty()) {
    cps.pop_back();
    s.clear();
    for (int cp : cps) {
      if (cp < 0x80) s += char(cp);
      else if (cp < 0x800) s += {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
      else if (cp < 0x10000) s += {char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
      else s += {char(0xF0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3F)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))};
    }
    if (text_width(s + "..", px) <= max_w) return s + "..";
  }
  return "";
}

Canvas scale_tile(const Canvas& c, int tile_size) {
  if (tile_size <= 0 || c.width <= 0 || c.height <= 0) return c;
  const int longer = std::max(c.width, c.height);
  if (tile_size % longer == 0) return upscale_nearest(c, tile_size / longer);
  const int w = std::max(1, int(std::lround(double(c.width) * tile_size / longer)));
  const int h = std::max(1, int(std::lround(double(c.height) * tile_size / longer)));
  return resize_bilinear(c, w, h);
}

}  // namespace

Canvas make_grid(const std::vector<Tile>& tiles, const GridOptions& opt) {
  const int gap = std::max(0, opt.gap);
  const int margin = std::max(gap, 8);
  std::vector<Canvas> images;
  images.reserve(tiles.size());
  int cell_w = 0, cell_h = 0;
  bool any_title = false;
  for (const Tile& t : tiles) {
    images.push_back(scale_tile(t.image, opt.tile_size));
    cell_w = std::max(cell_w, images.back().width);
    cell_h = std::max(cell_h, images.back().height);
    any_title = any_title || !t.title.empty();
  }
  // Titles may widen a cell up to twice the tile (beyond that they are shortened with "..").
  if (any_title) {
    int tw = 0;
    for (const Tile& t : tiles) tw = std::max(tw, text_width(t.title, opt.title_px));
    cell_w = std::max(cell_w, std::min(tw, std::max(2 * cell_w, 3 * opt.title_px)));
  }
  const int title_h = any_title ? opt.title_px + 3 : 0;
  const int n = int(tiles.size());
  int cols = opt.columns;
  if (cols <= 0 && n > 0) {
    // About square: cols / rows close to the cells' aspect so the sheet's sides are similar.
    const double aspect = double(cell_h + title_h + gap) / double(std::max(1, cell_w + gap));
    cols = std::max(1, int(std::lround(std::sqrt(double(n) * aspect))));
    // A neighbouring count that divides n fills the last row (64 tiles: 8 x 8 rather than 9 x 8).
    if (n % cols != 0) {
      if (cols > 1 && n % (cols - 1) == 0) --cols;
      else if (n % (cols + 1) == 0) ++cols;
    }
  }
  cols = std::max(1, std::min(cols, std::max(1, n)));
  const int rows = n > 0 ? (n + cols - 1) / cols : 0;
  const int grid_w = n > 0 ? cols * cell_w + (cols - 1) * gap : 0;
  const int grid_h = n > 0 ? rows * (cell_h + title_h) + (rows - 1) * gap : 0;

  const std::vector<std::string> head = opt.title.empty() ? std::vector<std::string>{} : split_lines(opt.title);
  int head_w = 0;
  // The first line is the sheet title; further lines are details in a smaller size.
  const int detail_px = std::max(9, opt.sheet_title_px * 3 / 4);
  int head_h = 0;
  for (size_t i = 0; i < head.size(); ++i) {
    const int px = i == 0 ? opt.sheet_title_px : detail_px;
    head_w = std::max(head_w, text_width(head[i], px));
    head_h += px + 3;
  }
  if (!head.empty()) head_h += gap;

  const int W = std::max(grid_w, head_w) + 2 * margin;
  const int H = grid_h + head_h + 2 * margin;
  Canvas out(W, H, opt.background);
  int y = margin;
  for (size_t i = 0; i < head.size(); ++i) {
    const int px = i == 0 ? opt.sheet_title_px : detail_px;
    draw_text(out, margin, y, head[i], px, i == 0 ? Rgb{0, 0, 0} : Rgb{70, 70, 70});
    y += px + 3;
  }
  const int gx = margin, gy = margin + head_h;  // left-aligned under the left-aligned title
  for (int i = 0; i < n; ++i) {
    const int cx = gx + (i % cols) * (cell_w + gap), cy = gy + (i / cols) * (cell_h + title_h + gap);
    const Canvas& im = images[size_t(i)];
    if (!tiles[size_t(i)].title.empty()) {
      const std::string t = fit_text(tiles[size_t(i)].title, opt.title_px, cell_w);
      draw_text(out, cx + (cell_w - text_width(t, opt.title_px)) / 2, cy, t, opt.title_px, {40, 40, 40});
    }
    const int ix = cx + (cell_w - im.width) / 2, iy = cy + title_h + (cell_h - im.height) / 2;
    if (opt.frame) out.outline_rect(ix - 1, iy - 1, im.width + 2, im.height + 2, {170, 170, 170});
    out.blit(im, ix, iy);
  }
  return out;
}

namespace {
std::string tick_label(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", double(v));
  return buf;
}
}  // namespace

Canvas add_colorbar(const Canvas& c, Colormap cm, float lo, float hi, const std::string& label) {
  const int px = 12, margin = 10, bar_w = 14;
  const int bar_h = std::max(60, std::min(c.height - 2 * margin - (label.empty() ? 0 : px + 6), 320));
  const int label_h = label.empty() ? 0 : px + 6;
  std::vector<std::string> ticks;
  for (int k = 0; k < 5; ++k) ticks.push_back(tick_label(hi - (hi - lo) * float(k) / 4.f));
  int tick_w = 0;
  for (const auto& t : ticks) tick_w = std::max(tick_w, text_width(t, px));
  const int panel_w = margin + std::max(bar_w + 4 + tick_w, text_width(label, px)) + margin;
  const int H = std::max(c.height, bar_h + label_h + 2 * margin);
  Canvas out(c.width + panel_w, H);
  out.blit(c, 0, 0);
  const int bx = c.width + margin;
  const int by = (H - bar_h - label_h) / 2 + label_h;
  if (!label.empty()) draw_text(out, bx, by - label_h, label, px, {40, 40, 40});
  for (int yy = 0; yy < bar_h; ++yy) {
    const Rgb col = colormap(cm, 1.f - float(yy) / float(std::max(1, bar_h - 1)));
    out.fill_rect(bx, by + yy, bar_w, 1, col);
  }
  out.outline_rect(bx - 1, by - 1, bar_w + 2, bar_h + 2, {120, 120, 120});
  for (int k = 0; k < 5; ++k) {
    const int ty = by + (bar_h - 1) * k / 4;
    out.fill_rect(bx + bar_w, ty, 3, 1, {60, 60, 60});
    draw_text(out, bx + bar_w + 5, ty - px / 2, ticks[size_t(k)], px, {40, 40, 40});
  }
  return out;
}

// ---- output ---------------------------------------------------------------------------------

void write_png(const Canvas& c, const std::string& path) {
  if (c.width <= 0 || c.height <= 0 || c.rgb.size() != size_t(c.width) * size_t(c.height) * 3)
    throw std::invalid_argument("write_png '" + path + "': canvas is " + std::to_string(c.width) + "x" +
                                std::to_string(c.height) + " with " + std::to_string(c.rgb.size()) + " bytes");
  // Encoded in memory, then written with every write, fsync and close checked (stbi_write_png
  // itself ignores write errors: on a full disk it would leave a truncated file and succeed).
  std::string png;
  auto append = [](void* to, void* data, int size) { static_cast<std::string*>(to)->append(static_cast<char*>(data), size_t(size)); };
  if (!stbi_write_png_to_func(append, &png, c.width, c.height, 3, c.rgb.data(), c.width * 3) || png.empty())
    throw std::runtime_error("cannot write PNG '" + path + "': encoding failed (out of memory?)");
  write_file_atomically(path, png.data(), png.size());
}

void ensure_output_dir(const std::string& dir) {
  if (dir.empty()) throw std::invalid_argument("output directory: empty path");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw std::runtime_error("output directory '" + dir + "' exists and is not a directory");
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error("output directory '" + dir + "' cannot be created" + (ec ? " (" + ec.message() + ")" : ""));
  // access(W_OK) says yes to root on a read-only mount; a real probe file does not lie.
  const std::string probe = (fs::path(dir) / (".convis_probe_" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("output directory '" + dir + "' is not writable");
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace convis
