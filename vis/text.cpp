#include "vis/text.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

// stb_truetype is compiled into Debian's libstb (linked through pkg-config); stb_easy_font is
// not, but it is all static functions, so including it defines them here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop
#include <stb_truetype.h>

namespace convis {

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

}  // namespace convis
