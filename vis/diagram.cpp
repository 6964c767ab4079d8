// Architecture diagrams (see diagram.h): boxes from layers, then the layered (3-D) or flat drawing.
#include "vis/diagram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "vis/diagram_detail.h"
#include "vis/text.h"

namespace convis {

DiagramStyle parse_diagram_style(const std::string& name) {
  if (name == "layered") return DiagramStyle::layered;
  if (name == "flat") return DiagramStyle::flat;
  throw std::invalid_argument("unknown diagram style '" + name + "' (layered, flat)");
}

namespace diagram_detail {

bool foldable(const Layer& l) {
  return l.type == LayerType::batch_norm || l.type == LayerType::activation || l.type == LayerType::leaky_relu ||
         l.type == LayerType::relu || l.type == LayerType::dropout;
}

// "Conv2D (relu)" for a layer with a fused activation; "ReLU" / "Activation (tanh)" for activations.
std::string kind(const Layer& l) {
  if (l.type == LayerType::activation && l.class_name == "Activation")
    return std::string("Activation (") + activation_name(l.activation) + ")";
  if ((l.type == LayerType::conv2d || l.type == LayerType::dense || l.type == LayerType::depthwise_conv2d ||
       l.type == LayerType::separable_conv2d) &&
      l.activation != Activation::linear)
    return l.class_name + " (" + activation_name(l.activation) + ")";
  // Keras' ReLU(6.) is MobileNet's ReLU6: say so rather than a plain "ReLU".
  if (l.type == LayerType::relu && l.max_value == 6.f && l.threshold == 0.f && l.negative_slope == 0.f) return "ReLU6";
  return l.class_name;
}

Rgb type_colour(LayerType t) {
  switch (t) {
    case LayerType::input: return {176, 176, 176};
    case LayerType::conv2d: return {86, 140, 210};
    case LayerType::max_pool2d: return {226, 112, 86};
    case LayerType::avg_pool2d: return {236, 164, 72};
    case LayerType::global_avg_pool2d:
    case LayerType::global_max_pool2d: return {150, 108, 196};
    case LayerType::dense: return {84, 172, 104};
    case LayerType::flatten: return {168, 150, 120};
    case LayerType::dropout: return {200, 200, 200};
    case LayerType::batch_norm: return {232, 196, 70};
    case LayerType::activation:
    case LayerType::relu:
    case LayerType::leaky_relu: return {80, 184, 184};
    case LayerType::depthwise_conv2d:
    case LayerType::separable_conv2d: return {112, 164, 226};
    case LayerType::add:
    case LayerType::subtract:
    case LayerType::multiply:
    case LayerType::average:
    case LayerType::maximum:
    case LayerType::concatenate: return {214, 120, 170};
    case LayerType::upsampling2d:
    case LayerType::zero_padding2d:
    case LayerType::cropping2d:
    case LayerType::reshape:
    case LayerType::permute: return {168, 150, 120};
    case LayerType::rescaling:
    case LayerType::normalization: return {232, 196, 70};
  }
  return {128, 128, 128};
}

Rgb mix(Rgb a, Rgb b, float t) {  // (1 - t) a + t b
  auto m = [t](uint8_t x, uint8_t y) { return uint8_t(std::lround(float(x) * (1.f - t) + float(y) * t)); };
  return {m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)};
}
Rgb lighter(Rgb c, float t) { return mix(c, {255, 255, 255}, t); }
Rgb darker(Rgb c, float t) { return mix(c, {0, 0, 0}, t); }

const Rgb kInk{30, 30, 30}, kMuted{110, 110, 110}, kLeader{200, 200, 200};

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

std::string shape_text(const Shape& s, const char* sep) {
  std::string r;
  for (int i = 0; i < s.rank(); ++i) r += (i ? sep : "") + std::to_string(s[i]);
  return r;
}

// Shortens text with ".." until it fits max_w pixels.
std::string fit(const std::string& text, int px, int max_w) {
  if (text_width(text, px) <= max_w) return text;
  std::string s = text;
  while (!s.empty() && text_width(s + "..", px) > max_w) s.pop_back();
  return s + "..";
}

struct Pt {
  float x, y;
};

// A convex polygon, filled by scanlines through pixel centres.
void fill_convex(Canvas& c, const std::vector<Pt>& p, Rgb colour) {
  float y0 = p[0].y, y1 = p[0].y;
  for (const Pt& q : p) y0 = std::min(y0, q.y), y1 = std::max(y1, q.y);
  for (int y = int(std::floor(y0)); y <= int(std::ceil(y1)); ++y) {
    const float yc = float(y) + 0.5f;
    float lo = 1e9f, hi = -1e9f;
    for (size_t i = 0; i < p.size(); ++i) {
      const Pt a = p[i], b = p[(i + 1) % p.size()];
      if ((yc < std::min(a.y, b.y)) || (yc > std::max(a.y, b.y)) || a.y == b.y) continue;
      const float x = a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y);
      lo = std::min(lo, x), hi = std::max(hi, x);
    }
    if (lo > hi) continue;
    const int xa = int(std::lround(lo)), xb = int(std::lround(hi));
    if (xb > xa) c.fill_rect(xa, y, xb - xa, 1, colour);
  }
}

void line(Canvas& c, int x0, int y0, int x1, int y1, Rgb colour) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  while (true) {
    c.set(x0, y0, colour);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void outline(Canvas& c, const std::vector<Pt>& p, Rgb colour) {
  for (size_t i = 0; i < p.size(); ++i) {
    const Pt a = p[i], b = p[(i + 1) % p.size()];
    line(c, int(std::lround(a.x)), int(std::lround(a.y)), int(std::lround(b.x)), int(std::lround(b.y)), colour);
  }
}

// The legend: a swatch and the label of every kind of box, wrapped to max_w; returns its height.
int draw_legend(Canvas* c, int x0, int y0, int max_w, const std::vector<DiagramBox>& boxes, const std::string& note) {
  const int px = 13, sw = 14, gap = 22;
  // One entry per colour (layer type). Boxes of one type with different folded layers share it:
  // "Conv2D (15 of 16 + BatchNormalization + LeakyReLU)".
  std::vector<std::pair<std::string, Rgb>> items;
  std::vector<LayerType> types;
  for (const DiagramBox& b : boxes)
    if (std::find(types.begin(), types.end(), b.type) == types.end()) types.push_back(b.type);
  for (LayerType t : types) {
    std::vector<std::string> labels;
    std::vector<int> counts;
    int total = 0;
    for (const DiagramBox& b : boxes) {
      if (b.type != t) continue;
      ++total;
      const auto it = std::find(labels.begin(), labels.end(), b.label);
      if (it == labels.end())
        labels.push_back(b.label), counts.push_back(1);
      else
        ++counts[size_t(it - labels.begin())];
    }
    std::string text = labels[0];
    if (labels.size() > 1) {
      std::vector<std::string> kinds;  // "Dense (relu)", "Dense (softmax)": what the boxes are, before folding
      for (const std::string& l : labels) {
        const std::string k = l.substr(0, l.find(" + "));
        if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
      }
      text.clear();
      for (size_t i = 0; i < kinds.size(); ++i) text += (i ? " / " : "") + kinds[i];
      std::string parts;
      for (size_t i = 0; i < labels.size(); ++i) {
        const size_t plus = labels[i].find(" + ");
        if (plus == std::string::npos) continue;
        parts += (parts.empty() ? "" : "; ") + std::to_string(counts[i]) + " of " + std::to_string(total) +
                 labels[i].substr(plus);
      }
      if (!parts.empty()) text += " (" + parts + ")";
    }
    items.emplace_back(text, type_colour(t));
  }
  int x = x0, y = y0;
  for (const auto& [label, colour] : items) {
    const int w = sw + 6 + text_width(label, px);
    if (x > x0 && x + w > x0 + max_w) x = x0, y += px + 10;
    if (c) {
      c->fill_rect(x, y + 1, sw, sw, colour);
      c->outline_rect(x, y + 1, sw, sw, darker(colour, 0.4f));
      draw_text(*c, x + sw + 6, y, label, px, kInk);
    }
    x += w + gap;
  }
  y += px + 10;
  if (!note.empty()) {
    if (c) draw_text(*c, x0, y, fit(note, 12, max_w), 12, kMuted);
    y += 12 + 6;
  }
  return y - y0;
}

std::string fold_note(const Model& m, const std::vector<DiagramBox>& boxes) {
  std::vector<std::string> folded;
  for (const DiagramBox& b : boxes)
    for (size_t i = 1; i < b.layers.size(); ++i) {
      const std::string k = m.layers[size_t(b.layers[i])].class_name;
      if (std::find(folded.begin(), folded.end(), k) == folded.end()) folded.push_back(k);
    }
  if (folded.empty()) return "";
  std::string list;
  for (size_t i = 0; i < folded.size(); ++i) list += (i ? (i + 1 == folded.size() ? " and " : ", ") : "") + folded[i];
  return "Folded: every " + list + " layer is drawn inside the box of the layer before it (" +
         std::to_string(m.layers.size()) + " layers, " + std::to_string(boxes.size()) + " boxes).";
}

void arrow_head_down(Canvas& c, int x, int y, Rgb colour) {
  for (int k = 0; k < 5; ++k) c.fill_rect(x - k, y - k, 2 * k + 1, 1, colour);
}

BoxPage start_box_page(const Model& m, const std::vector<DiagramBox>& boxes, const std::string& title,
                       const std::string& details, int width, int grid_h) {
  constexpr int kMargin = 24, title_px = 20, details_px = 13;
  const int grid_top = kMargin + title_px + 8 + details_px + 22;
  const int legend_top = grid_top + grid_h + 4;
  std::string note = fold_note(m, boxes);
  const int legend_h = draw_legend(nullptr, kMargin, 0, width - 2 * kMargin, boxes, note);
  BoxPage p{Canvas(width, legend_top + legend_h + kMargin - 10), grid_top, legend_top, kMargin, std::move(note)};
  draw_text(p.canvas, kMargin, kMargin, title, title_px, kInk);
  draw_text(p.canvas, kMargin, kMargin + title_px + 8, details, details_px, kMuted);
  return p;
}

void finish_box_page(BoxPage& p, const std::vector<DiagramBox>& boxes) {
  draw_legend(&p.canvas, p.margin, p.legend_top, p.canvas.width - 2 * p.margin, boxes, p.note);
}

}  // namespace diagram_detail

using namespace diagram_detail;

namespace {

// ---- layered --------------------------------------------------------------------------------

struct Geometry {
  int fw = 0, fh = 0, d = 0;  // front face width and height, depth offset (up and right)
};

Canvas draw_layered(const Model& m, const std::vector<DiagramBox>& boxes, const std::string& title,
                    const std::string& details) {
  constexpr int kMaxFace = 200, kGap = 14, kMargin = 24, kLabelPx = 12;
  int64_t max_hw = 1;
  for (const DiagramBox& b : boxes)
    if (b.output.rank() == 3) max_hw = std::max({max_hw, b.output[0], b.output[1]});
  std::vector<Geometry> g(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Shape& s = boxes[i].output;
    if (s.rank() == 3) {
      // sqrt for the spatial size (224 and 7 both readable), log2 for channels (3 and 1000 both fit).
      auto side = [&](int64_t n) {
        return std::max(12, int(std::lround(kMaxFace * std::sqrt(double(n) / double(max_hw)))));
      };
      g[i].fh = side(s[0]);
      g[i].fw = int(std::lround(6 + 5 * std::log2(double(std::max<int64_t>(s[2], 1)))));
      g[i].d = std::max(4, int(std::lround(0.22 * side(s[1]))));
    } else {
      const double units = double(s.rank() ? s[0] : 1);
      g[i].fh = std::clamp(int(std::lround(kMaxFace * std::log(units + 1) / std::log(4097.0))), 16, kMaxFace);
      g[i].fw = 10;
      g[i].d = 5;
    }
  }
  int max_fh = 0, max_d = 0, content_w = 0;
  for (const Geometry& q : g)
    max_fh = std::max(max_fh, q.fh), max_d = std::max(max_d, q.d), content_w += q.fw + q.d + kGap;
  content_w -= kGap;

  // Inputs that are not the box just before (skips, branches' sources): arcs over the boxes, each
  // in its own lane above the tallest box they pass.
  struct Arc {
    int from, to, lane;
  };
  std::vector<Arc> arcs;
  std::vector<int> lane_end;  // per lane: the last box it is used to
  for (int b = 0; b < int(boxes.size()); ++b)
    for (int a : boxes[size_t(b)].inputs) {
      if (a == b - 1) continue;
      int lane = 0;
      while (lane < int(lane_end.size()) && lane_end[size_t(lane)] >= a) ++lane;  // touching arcs would merge
      if (lane == int(lane_end.size())) lane_end.push_back(-1);
      lane_end[size_t(lane)] = b;
      arcs.push_back({a, b, lane});
    }
  constexpr int kLane = 5;
  const int arcs_h = arcs.empty() ? 0 : 10 + int(lane_end.size()) * kLane;

  const int title_px = 20, details_px = 13;
  const int width = std::max(content_w, 640) + 2 * kMargin;
  const int axis = kMargin + title_px + 8 + details_px + 24 + arcs_h + max_d + max_fh / 2;
  const int label_top = axis + max_fh / 2 + 18;
  // Labels (output shapes) centred under their boxes, moved down a row when they would collide.
  std::vector<int> label_x(boxes.size()), label_row(boxes.size());
  std::vector<std::string> labels(boxes.size());
  std::vector<int> row_end(3, -1000);
  int rows_used = 1, x = kMargin + (width - 2 * kMargin - content_w) / 2;
  std::vector<int> box_x(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    box_x[i] = x;
    labels[i] = shape_text(boxes[i].output, "x");
    const int w = text_width(labels[i], kLabelPx);
    label_x[i] = x + (g[i].fw + g[i].d) / 2 - w / 2;
    int r = 0;
    while (r < 2 && label_x[i] < row_end[size_t(r)] + 8) ++r;
    label_row[i] = r;
    row_end[size_t(r)] = label_x[i] + w;
    rows_used = std::max(rows_used, r + 1);
    x += g[i].fw + g[i].d + kGap;
  }
  const int legend_top = label_top + rows_used * (kLabelPx + 6) + 22;
  const int legend_h = draw_legend(nullptr, kMargin, 0, width - 2 * kMargin, boxes, fold_note(m, boxes));
  Canvas c(width, legend_top + legend_h + kMargin - 10);

  draw_text(c, kMargin, kMargin, title, title_px, kInk);
  draw_text(c, kMargin, kMargin + title_px + 8, details, details_px, kMuted);
  const Rgb arc_colour{196, 120, 160};
  for (const Arc& a : arcs) {
    const int xa = box_x[size_t(a.from)] + (g[size_t(a.from)].fw + g[size_t(a.from)].d) / 2;
    const int xb = box_x[size_t(a.to)] + (g[size_t(a.to)].fw + g[size_t(a.to)].d) / 2;
    const int ya = axis - g[size_t(a.from)].fh / 2 - g[size_t(a.from)].d - 2;
    const int yb = axis - g[size_t(a.to)].fh / 2 - g[size_t(a.to)].d - 2;
    const int top = axis - max_fh / 2 - max_d - 8 - a.lane * kLane;
    c.fill_rect(xa, top, 1, ya - top + 1, arc_colour);
    c.fill_rect(xa, top, xb - xa + 1, 1, arc_colour);
    c.fill_rect(xb, top, 1, yb - top + 1, arc_colour);
    arrow_head_down(c, xb, yb, arc_colour);
  }
  for (size_t i = 0; i < boxes.size(); ++i) {  // leader lines first: labels and boxes cover them
    const int cx = box_x[i] + g[i].fw / 2;
    line(c, cx, axis + g[i].fh / 2 + 2, cx, label_top + label_row[i] * (kLabelPx + 6) - 2, kLeader);
  }
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Geometry& q = g[i];
    const float x0 = float(box_x[i]), top = float(axis - q.fh / 2), fw = float(q.fw), fh = float(q.fh), d = float(q.d);
    const Rgb base = type_colour(boxes[i].type), edge = darker(base, 0.45f);
    const std::vector<Pt> front{{x0, top}, {x0 + fw, top}, {x0 + fw, top + fh}, {x0, top + fh}};
    const std::vector<Pt> upper{{x0, top}, {x0 + d, top - d}, {x0 + fw + d, top - d}, {x0 + fw, top}};
    const std::vector<Pt> side{
        {x0 + fw, top}, {x0 + fw + d, top - d}, {x0 + fw + d, top + fh - d}, {x0 + fw, top + fh}};
    fill_convex(c, upper, lighter(base, 0.45f));
    fill_convex(c, side, darker(base, 0.25f));
    c.fill_rect(int(x0), int(top), q.fw, q.fh, base);
    outline(c, upper, edge);
    outline(c, side, edge);
    outline(c, front, edge);
  }
  for (size_t i = 0; i < boxes.size(); ++i) {
    const int y = label_top + label_row[i] * (kLabelPx + 6);
    const int w = text_width(labels[i], kLabelPx);
    c.fill_rect(label_x[i] - 2, y - 1, w + 4, kLabelPx + 2, {255, 255, 255});
    draw_text(c, label_x[i], y, labels[i], kLabelPx, kInk);
  }
  draw_text(
      c, kMargin, legend_top - 18,
      "output shapes (height x width x channels) under the boxes; box height ~ sqrt(size), width ~ log2(channels)", 11,
      kMuted);
  draw_legend(&c, kMargin, legend_top, width - 2 * kMargin, boxes, fold_note(m, boxes));
  return c;
}

// ---- flat -----------------------------------------------------------------------------------

Canvas draw_flat(const Model& m, const std::vector<DiagramBox>& boxes, const std::string& title,
                 const std::string& details) {
  constexpr int kBoxW = 196, kBoxH = 78, kGapX = 28, kGapY = 34, kMargin = 24, kMaxWidth = 1400;
  const int cols = std::max(1, std::min(int(boxes.size()), (kMaxWidth - 2 * kMargin + kGapX) / (kBoxW + kGapX)));
  const int rows = (int(boxes.size()) + cols - 1) / cols;
  const int width = std::max(cols * (kBoxW + kGapX) - kGapX, 640) + 2 * kMargin;
  BoxPage page = start_box_page(m, boxes, title, details, width, rows * (kBoxH + kGapY));
  Canvas& c = page.canvas;
  const int grid_top = page.grid_top;

  auto pos = [&](size_t i, int& x, int& y) {
    x = kMargin + int(i % size_t(cols)) * (kBoxW + kGapX);
    y = grid_top + int(i / size_t(cols)) * (kBoxH + kGapY);
  };
  const Rgb arrow{150, 150, 150};
  auto head_right = [&](int x, int y) {
    for (int k = 0; k < 5; ++k) c.fill_rect(x - k, y - k, 1, 2 * k + 1, arrow);
  };
  for (size_t i = 0; i + 1 < boxes.size(); ++i) {  // arrows: along a row, or back to the next row's start
    int x, y, nx, ny;
    pos(i, x, y);
    pos(i + 1, nx, ny);
    if (ny == y) {
      c.fill_rect(x + kBoxW + 3, y + kBoxH / 2, kGapX - 6, 1, arrow);
      head_right(x + kBoxW + kGapX - 3, y + kBoxH / 2);
    } else {
      const int mid = y + kBoxH + kGapY / 2;
      c.fill_rect(x + kBoxW / 2, y + kBoxH + 2, 1, mid - y - kBoxH - 2, arrow);
      c.fill_rect(nx + kBoxW / 2, mid, x - nx + 1, 1, arrow);
      c.fill_rect(nx + kBoxW / 2, mid, 1, ny - mid - 3, arrow);
      arrow_head_down(c, nx + kBoxW / 2, ny - 3, arrow);
    }
  }
  for (size_t i = 0; i < boxes.size(); ++i) {
    const DiagramBox& b = boxes[i];
    int x, y;
    pos(i, x, y);
    const Rgb base = type_colour(b.type);
    c.fill_rect(x, y, kBoxW, kBoxH, lighter(base, 0.82f));
    c.fill_rect(x, y, 7, kBoxH, base);
    c.outline_rect(x, y, kBoxW, kBoxH, darker(base, 0.3f));
    const int tx = x + 14, tw = kBoxW - 20;
    draw_text(c, tx, y + 6, fit(b.name, 14, tw), 14, kInk);
    draw_text(c, tx, y + 25, fit(b.label, 12, tw), 12, darker(base, 0.45f));
    draw_text(c, tx, y + 42, fit("output " + shape_text(b.output, " x "), 12, tw), 12, kInk);
    draw_text(c, tx, y + 58, b.params ? with_commas(b.params) + " parameters" : "no parameters", 12, kMuted);
  }
  finish_box_page(page, boxes);
  return page.canvas;
}

}  // namespace

std::vector<DiagramBox> diagram_boxes(const Model& m, bool fold) {
  if (!m.built_h()) throw std::invalid_argument("diagram: model '" + m.name + "' is not built (call Model::build)");
  std::vector<DiagramBox> boxes;
  std::vector<int> readers(m.layers.size(), 0), box_of(m.layers.size(), -1);
  for (size_t i = 1; i < m.layers.size(); ++i)
    for (int j : m.inputs_of(int(i))) ++readers[size_t(j)];
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const Layer& l = m.layers[i];
    // A pointwise layer joins the box of the layer it reads when that layer ends its box and has no
    // other reader (in a graph that box need not be the latest: Keras' order interleaves branches).
    const std::vector<int> from = m.inputs_of(int(i));
    const int into = from.size() == 1 ? box_of[size_t(from[0])] : -1;
    if (fold && into >= 0 && foldable(l) && boxes[size_t(into)].layers.back() == from[0] &&
        readers[size_t(from[0])] == 1) {
      DiagramBox& b = boxes[size_t(into)];
      box_of[i] = into;
      b.layers.push_back(int(i));
      b.label += " + " + kind(l);
      b.params += l.param_count();
      b.output = l.output_shape;
      continue;
    }
    box_of[i] = int(boxes.size());
    DiagramBox b;
    for (int j : from) b.inputs.push_back(box_of[size_t(j)]);
    b.layers = {int(i)};
    b.name = l.name;
    b.label = kind(l);
    b.type = l.type;
    b.output = l.output_shape;
    b.params = l.param_count();
    boxes.push_back(b);
  }
  return boxes;
}

Canvas draw_diagram(const Model& m, const DiagramOptions& opt) {
  // Folded by default in the layered view and in the graph view of a model with branches.
  const bool fold = opt.fold < 0 ? opt.style == DiagramStyle::layered || !m.is_chain() : opt.fold != 0;
  const std::vector<DiagramBox> boxes = diagram_boxes(m, fold);
  const std::string title = opt.title.empty() ? m.name : opt.title;
  const std::string details =
      std::to_string(m.layers.size()) + " layers" +
      (boxes.size() != m.layers.size() ? " in " + std::to_string(boxes.size()) + " boxes" : "") + ", " +
      with_commas(m.param_count()) + " parameters, input " + std::to_string(m.built_h()) + "x" +
      std::to_string(m.built_w()) + "x" + std::to_string(m.input_c);
  if (opt.style == DiagramStyle::layered)
    return draw_layered(m, boxes, title,
                        m.is_chain() ? details : details + "; in Keras' order, other inputs as arcs over the boxes");
  // A model with branches is drawn as its graph; a chain as the wrapping list.
  return m.is_chain() ? draw_flat(m, boxes, title, details) : draw_graph(m, boxes, title, details);
}

}  // namespace convis
