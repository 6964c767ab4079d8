#include "vis/layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "vis/text.h"

namespace convis {

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

Canvas scale_tile(const Canvas& c, int tile_size) {
  if (tile_size <= 0 || c.width <= 0 || c.height <= 0) return c;
  const int longer = std::max(c.width, c.height);
  if (tile_size % longer == 0) return upscale_nearest(c, tile_size / longer);
  const int w = std::max(1, int(std::lround(double(c.width) * tile_size / longer)));
  const int h = std::max(1, int(std::lround(double(c.height) * tile_size / longer)));
  return resize_bilinear(c, h, w);
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

std::vector<double> colorbar_ticks(double lo, double hi, int max_ticks, double* step) {
  if (step) *step = 0.0;
  if (!std::isfinite(lo) || !std::isfinite(hi) || max_ticks < 1) return {};
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) return {lo};
  // Steps 1, 2, 5 x 10^k from a tenth of span / max_ticks upwards: the first with few enough
  // multiples in [lo, hi], counted with a slack of 1e-9 steps so that 0.6 / 0.2 counts 3. From
  // there each candidate is at most 2.5x the one before, which had more than max_ticks multiples:
  // span >= max_ticks x that step >= max_ticks / 2.5 x this one, so >= 2 multiples when max_ticks >= 5.
  const double span = hi - lo;
  if (!std::isfinite(span)) return {};  // -1e308 .. 1e308
  int k = int(std::floor(std::log10(span / double(max_ticks)))) - 1;
  for (;; ++k) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double s = m * std::pow(10.0, k);
      const double first = std::ceil(lo / s - 1e-9), last = std::floor(hi / s + 1e-9);
      if (last - first + 1 > double(max_ticks)) continue;
      std::vector<double> t;
      for (int n = 0; n < int(last - first + 1); ++n) {
        const double i = first + n;
        t.push_back(i == 0 ? 0.0 : i * s);
      }
      if (step) *step = s;
      return t;
    }
  }
}

std::string tick_label(double v, double step) {
  char buf[48];
  if (!std::isfinite(v) || !(step > 0.0) || !std::isfinite(step)) {
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  const int step_exp = int(std::floor(std::log10(step) + 1e-9));  // 0.2 -> -1, 50 -> 1
  const double a = std::fabs(v);
  if (a == 0.0) v = 0.0;  // never "-0"
  // The notation follows the step, so that one bar's labels all use the same one.
  if (step < 1e-3 || step >= 1e5) {
    if (a == 0.0) return "0";  // beside 1e-9, 2e-9
    // Scientific: as many mantissa digits as the step has below v's leading digit.
    const int v_exp = int(std::floor(std::log10(a) + 1e-9));
    std::snprintf(buf, sizeof buf, "%.*e", std::max(0, v_exp - step_exp), v);
    std::string s = buf;
    const size_t e = s.find('e');
    std::string mant = s.substr(0, e), ex = s.substr(e + 1);
    if (mant.find('.') != std::string::npos) {  // 1.0e6 -> 1e6
      mant.erase(mant.find_last_not_of('0') + 1);
      if (mant.back() == '.') mant.pop_back();
    }
    const bool neg = ex[0] == '-';
    ex = ex.substr(1);
    ex.erase(0, std::min(ex.find_first_not_of('0'), ex.size() - 1));
    return mant + "e" + (neg ? "-" : "") + ex;
  }
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -step_exp), v);
  return buf;
}

Canvas add_colorbar(const Canvas& c, Colormap cm, float lo, float hi, const std::string& label) {
  const int px = 12, margin = 10, bar_w = 14;
  const int bar_h = std::max(60, std::min(c.height - 2 * margin - (label.empty() ? 0 : px + 6), 320));
  const int label_h = label.empty() ? 0 : px + 6;
  // At most 6 labels, 5 on a short bar (at least 2 either way).
  double step = 0.0;
  const std::vector<double> values = colorbar_ticks(lo, hi, bar_h >= 12 * px ? 6 : 5, &step);
  std::vector<std::string> ticks;
  for (double v : values) ticks.push_back(tick_label(v, step));
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
  for (size_t k = 0; k < values.size(); ++k) {
    // The row whose colour is the value's: hi at the top row, lo at the bottom one.
    const double f = hi > lo ? (double(hi) - values[k]) / (double(hi) - double(lo)) : 0.5;
    const int ty = by + int(std::lround(f * double(bar_h - 1)));
    out.fill_rect(bx + bar_w, ty, 3, 1, {60, 60, 60});
    draw_text(out, bx + bar_w + 5, ty - px / 2, ticks[k], px, {40, 40, 40});
  }
  return out;
}

}  // namespace convis
