// The graph view of a diagram (vis/diagram_detail.h): a model with branches (ResNet's skips,
// Inception's parallel convolutions, DenseNet's concatenations) drawn as its graph.
//
// Layout: a box's row is its longest path from the input, so every arrow points down; within a
// row boxes are ordered by the mean position of the boxes they read (one pass, top to bottom),
// which keeps a branch under its source. An arrow between neighbouring rows is a straight line;
// one that jumps rows (a skip) leaves its source downwards, runs in its own lane to the right of
// every box it passes, and enters its target from above, so it never crosses a box.
#include <algorithm>
#include <numeric>

#include "vis/diagram_detail.h"
#include "vis/text.h"

namespace convis::diagram_detail {

namespace {

// "Conv2D + BatchNormalization + Activation (relu)" -> "Conv2D + BatchNorm + relu": what fits a
// box of the graph view (the legend under it spells the classes out).
std::string short_label(std::string s) {
  auto replace = [&s](const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  };
  replace("BatchNormalization", "BatchNorm");
  replace("Activation (", "(");
  replace("(relu)", "relu");
  return s;
}

}  // namespace

Canvas draw_graph(const Model& m, const std::vector<DiagramBox>& boxes, const std::string& title,
                  const std::string& details) {
  constexpr int kBoxW = 184, kBoxH = 56, kGapX = 22, kGapY = 30, kMargin = 24, kLane = 7;
  const int n = int(boxes.size());
  std::vector<int> depth(static_cast<size_t>(n), 0);
  int rows = 1;
  for (int b = 0; b < n; ++b) {
    for (int a : boxes[size_t(b)].inputs) depth[size_t(b)] = std::max(depth[size_t(b)], depth[size_t(a)] + 1);
    rows = std::max(rows, depth[size_t(b)] + 1);
  }
  std::vector<std::vector<int>> row(static_cast<size_t>(rows));
  for (int b = 0; b < n; ++b) row[size_t(depth[size_t(b)])].push_back(b);
  size_t widest = 1;
  for (const auto& r : row) widest = std::max(widest, r.size());
  const int grid_w = int(widest) * (kBoxW + kGapX) - kGapX;

  // Slots: x of each box's centre, rows ordered by their parents' mean x.
  std::vector<double> cx(static_cast<size_t>(n), 0.0);
  for (auto& r : row) {
    std::vector<double> key(r.size());
    for (size_t k = 0; k < r.size(); ++k) {
      const DiagramBox& b = boxes[size_t(r[k])];
      double s = 0.0;
      for (int a : b.inputs) s += cx[size_t(a)];
      key[k] = b.inputs.empty() ? double(k) : s / double(b.inputs.size());
    }
    std::vector<size_t> order(r.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key[a] < key[b]; });
    std::vector<int> sorted;
    for (size_t k : order) sorted.push_back(r[k]);
    r = sorted;
    const double left = kMargin + (grid_w - (double(r.size()) * (kBoxW + kGapX) - kGapX)) / 2.0;
    for (size_t k = 0; k < r.size(); ++k) cx[size_t(r[k])] = left + double(k) * (kBoxW + kGapX) + kBoxW / 2.0;
  }

  // Lanes for the arrows that jump rows, given greedily: the first lane free over the rows spanned.
  struct Skip {
    int from, to, lane;
  };
  std::vector<Skip> skips;
  std::vector<std::vector<int>> busy;  // per lane: the last row it is used to
  for (int b = 0; b < n; ++b)
    for (int a : boxes[size_t(b)].inputs) {
      if (depth[size_t(b)] - depth[size_t(a)] <= 1) continue;
      int lane = 0;
      while (lane < int(busy.size()) && busy[size_t(lane)].back() > depth[size_t(a)]) ++lane;
      if (lane == int(busy.size())) busy.push_back({-1});
      busy[size_t(lane)].push_back(depth[size_t(b)]);
      skips.push_back({a, b, lane});
    }
  const int lanes_w = int(busy.size()) * kLane + (busy.empty() ? 0 : 10);

  const int width = std::max(grid_w + lanes_w, 640) + 2 * kMargin;
  BoxPage page = start_box_page(m, boxes, title, details, width, rows * (kBoxH + kGapY));
  Canvas& c = page.canvas;
  const int grid_top = page.grid_top;

  auto top_of = [&](int b) { return grid_top + depth[size_t(b)] * (kBoxH + kGapY); };
  const Rgb arrow{150, 150, 150}, skip_colour{196, 120, 160};
  for (int b = 0; b < n; ++b)  // arrows between neighbouring rows
    for (int a : boxes[size_t(b)].inputs) {
      if (depth[size_t(b)] - depth[size_t(a)] > 1) continue;
      const int x0 = int(cx[size_t(a)]), y0 = top_of(a) + kBoxH + 1, x1 = int(cx[size_t(b)]), y1 = top_of(b) - 3;
      line(c, x0, y0, x1, y1, arrow);
      arrow_head_down(c, x1, y1, arrow);
    }
  for (const Skip& s : skips) {
    // Right of every box in the rows it passes, in its own lane.
    int right = 0;
    for (int r = depth[size_t(s.from)]; r <= depth[size_t(s.to)]; ++r)
      for (int b : row[size_t(r)]) right = std::max(right, int(cx[size_t(b)]) + kBoxW / 2);
    const int lx = right + 10 + s.lane * kLane;
    const int x0 = int(cx[size_t(s.from)]) + kBoxW / 4, y0 = top_of(s.from) + kBoxH + 1;
    const int x1 = int(cx[size_t(s.to)]) + kBoxW / 4, y1 = top_of(s.to) - 3;
    const int ya = y0 + 6 + (s.lane % 3) * 3, yb = y1 - 8 - (s.lane % 3) * 3;
    c.fill_rect(x0, y0, 1, ya - y0 + 1, skip_colour);
    c.fill_rect(std::min(x0, lx), ya, std::abs(lx - x0) + 1, 1, skip_colour);
    c.fill_rect(lx, ya, 1, yb - ya + 1, skip_colour);
    c.fill_rect(std::min(x1, lx), yb, std::abs(lx - x1) + 1, 1, skip_colour);
    c.fill_rect(x1, yb, 1, y1 - yb + 1, skip_colour);
    arrow_head_down(c, x1, y1, skip_colour);
  }
  for (int b = 0; b < n; ++b) {
    const DiagramBox& box = boxes[size_t(b)];
    const int x = int(cx[size_t(b)]) - kBoxW / 2, y = top_of(b);
    const Rgb base = type_colour(box.type);
    c.fill_rect(x, y, kBoxW, kBoxH, lighter(base, 0.82f));
    c.fill_rect(x, y, 6, kBoxH, base);
    c.outline_rect(x, y, kBoxW, kBoxH, darker(base, 0.3f));
    const int tx = x + 12, tw = kBoxW - 16;
    draw_text(c, tx, y + 5, fit(box.name, 13, tw), 13, kInk);
    draw_text(c, tx, y + 22, fit(short_label(box.label), 11, tw), 11, darker(base, 0.45f));
    const std::string params = box.params ? ", " + with_commas(box.params) + " params" : "";
    draw_text(c, tx, y + 38, fit(shape_text(box.output, " x ") + params, 11, tw), 11, kMuted);
  }
  finish_box_page(page, boxes);
  return page.canvas;
}

}  // namespace convis::diagram_detail
