// Teaching mode, pictures: one step of `explain conv` drawn as input * kernel = output, numbers in
// the cells, the current window outlined in the input and its result outlined in the output.
#include <algorithm>
#include <cmath>
#include <functional>

#include "vis/colormap.h"
#include "vis/explain.h"
#include "vis/text.h"

namespace convis {

namespace {

const Rgb kWindow{255, 128, 0};  // the window and the cell it produces
const Rgb kGridLine{190, 190, 190};
const Rgb kInk{30, 30, 30};
const Rgb kMuted{120, 120, 120};

struct CellLook {
  Rgb fill{255, 255, 255};
  Rgb ink = kInk;
  bool show = true;  // draw the number
};

// Diverging colours: 0 white, positive red, negative blue, scaled by the matrix's largest |value|.
CellLook diverging(double v, double max_abs) {
  CellLook k;
  const float t = max_abs > 0 ? float(0.5 + 0.5 * v / max_abs) : 0.5f;
  // Keep to the lighter 60% of the map so dark numbers stay readable on every cell.
  k.fill = colormap(Colormap::blue_red, 0.5f + (t - 0.5f) * 0.6f);
  return k;
}

double max_abs(const Matrix& m) {
  double a = 0.0;
  for (double v : m.v) a = std::max(a, std::fabs(v));
  return a;
}

// One matrix as a grid of cells with row/column indices, a title, and an optional outlined block.
Canvas matrix_panel(const Matrix& m, int cell, const std::string& title, const std::function<CellLook(int, int)>& look,
                    int box_r = -1, int box_c = -1, int box_h = 0, int box_w = 0) {
  const int title_px = 15, index_px = 11, number_px = cell >= 40 ? 15 : std::max(9, cell * 3 / 8);
  const int left = 22, top = title_px + 8 + index_px + 4;
  Canvas c(std::max(left + m.cols * cell + 4, text_width(title, title_px) + 4), top + m.rows * cell + 4);
  draw_text(c, 0, 0, title, title_px, kInk);
  for (int j = 0; j < m.cols; ++j) {
    const std::string s = std::to_string(j);
    draw_text(c, left + j * cell + (cell - text_width(s, index_px)) / 2, title_px + 8, s, index_px, kMuted);
  }
  for (int i = 0; i < m.rows; ++i) {
    const std::string s = std::to_string(i);
    draw_text(c, left - 6 - text_width(s, index_px), top + i * cell + (cell - index_px) / 2, s, index_px, kMuted);
  }
  for (int i = 0; i < m.rows; ++i)
    for (int j = 0; j < m.cols; ++j) {
      const CellLook k = look(i, j);
      const int x = left + j * cell, y = top + i * cell;
      c.fill_rect(x, y, cell, cell, k.fill);
      c.outline_rect(x, y, cell + 1, cell + 1, kGridLine);
      if (!k.show) continue;
      const std::string s = format_number(m(i, j));
      const int w = text_width(s, number_px);
      if (w <= cell - 4) draw_text(c, x + (cell - w) / 2, y + (cell - number_px) / 2, s, number_px, k.ink);
    }
  if (box_h > 0)
    c.outline_rect(left + box_c * cell - 1, top + box_r * cell - 1, box_w * cell + 3, box_h * cell + 3, kWindow, 3);
  return c;
}

// The expanded sum of one cell: one line when it fits in max_w, else one line per kernel row.
std::vector<std::string> sum_lines(const ConvExplanation& e, const ConvCell& cell, int px, int max_w) {
  const Matrix& k = e.spec.kernel;
  std::vector<std::string> rows;
  for (int u = 0; u < k.rows; ++u) {
    std::string r;
    for (int v = 0; v < k.cols; ++v) {
      const std::string w = format_number(k(u, v));
      r += (v ? " + " : "") + format_number(cell.window(u, v)) + "\u00d7" + (k(u, v) < 0 ? "(" + w + ")" : w);
    }
    rows.push_back(r);
  }
  std::string tail = " = ";
  if (e.spec.bias != 0.0)
    tail += format_number(cell.sum - e.spec.bias) + " + " + format_number(e.spec.bias) + " (bias) = ";
  tail += format_number(cell.sum);
  const std::string head = "y[" + std::to_string(cell.row) + "][" + std::to_string(cell.col) + "] = ";
  std::string one = head;
  for (size_t u = 0; u < rows.size(); ++u) one += (u ? " + " : "") + rows[u];
  if (text_width(one + tail, px) <= max_w) return {one + tail};
  std::vector<std::string> lines;
  for (size_t u = 0; u < rows.size(); ++u) lines.push_back((u ? "      + " : head) + rows[u]);
  lines.push_back("      " + tail.substr(1));
  return lines;
}

}  // namespace

Canvas draw_conv_step(const ConvExplanation& e, int step, bool all_done) {
  if (!e.possible || e.cells.empty()) return Canvas(320, 60);
  step = std::clamp(step, 0, int(e.cells.size()) - 1);
  const ConvCell& cur = e.cells[size_t(step)];
  const int p = e.spec.pad, kh = e.spec.kernel.rows, kw = e.spec.kernel.cols;

  // Cells big enough for the widest number, smaller for big matrices so the picture stays < ~1600 px.
  int widest = 0;
  for (const Matrix* m : {&e.padded, &e.spec.kernel, &e.output})
    for (double v : m->v) widest = std::max(widest, text_width(format_number(v), 15));
  const int cols_total = e.padded.cols + kw + e.output.cols;
  const int cell = std::clamp(std::max(48, widest + 16), 14, std::max(14, 1300 / std::max(1, cols_total)));

  const double in_max = max_abs(e.padded), k_max = max_abs(e.spec.kernel), out_max = max_abs(e.output);
  const Canvas input = matrix_panel(
      e.padded, cell, p ? "input x, padded by " + std::to_string(p) : "input x",
      [&](int r, int c) {
        const bool pad_cell = r < p || c < p || r >= p + e.spec.input.rows || c >= p + e.spec.input.cols;
        if (pad_cell) return CellLook{{236, 236, 236}, {150, 150, 150}, true};
        return diverging(e.padded(r, c), in_max);
      },
      cur.top, cur.left, kh, kw);
  const Canvas kernel = matrix_panel(e.spec.kernel, cell, "kernel w",
                                     [&](int r, int c) { return diverging(e.spec.kernel(r, c), k_max); });
  const Canvas output = matrix_panel(
      e.output, cell, "output y",
      [&](int r, int c) {
        const int index = r * e.output.cols + c;
        if (!all_done && index > step) return CellLook{{250, 250, 250}, kInk, false};
        return diverging(e.output(r, c), out_max);
      },
      cur.row, cur.col, 1, 1);

  const int margin = 20, op_w = 44, op_px = 30, title_px = 18, caption_px = 16;
  const int panels_w = input.width + kernel.width + output.width + 2 * op_w;
  const std::vector<std::string> lines = sum_lines(e, cur, caption_px, std::max(panels_w, 700));
  int text_w = 0;
  for (const std::string& l : lines) text_w = std::max(text_w, text_width(l, caption_px));
  const std::string title =
      all_done
          ? "Convolution (cross-correlation): " + std::to_string(e.spec.input.rows) + "x" +
                std::to_string(e.spec.input.cols) + " input, " + std::to_string(kh) + "x" + std::to_string(kw) +
                " kernel, stride " + std::to_string(e.spec.stride) + ", padding " + std::to_string(p)
          : "Step " + std::to_string(step + 1) + " of " + std::to_string(e.cells.size()) +
                ": the window slides to output cell [" + std::to_string(cur.row) + "][" + std::to_string(cur.col) + "]";
  const int panels_h = std::max({input.height, kernel.height, output.height});
  const int width = 2 * margin + std::max({panels_w, text_w, text_width(title, title_px)});
  const int panels_y = margin + title_px + 16;
  const int caption_y = panels_y + panels_h + 18;
  const int legend_px = 12;
  const int height = caption_y + int(lines.size()) * (caption_px + 6) + 10 + legend_px + margin;
  Canvas c(width, height);
  draw_text(c, margin, margin, title, title_px, kInk);
  int x = margin;
  // Panels centred on each other's grids; the grids start 38 px below a panel's top (title, indices).
  const int grid_top = 15 + 8 + 11 + 4;
  const auto place = [&](const Canvas& panel) {
    c.blit(panel, x, panels_y + (panels_h - panel.height) / 2);
    x += panel.width;
  };
  const auto op = [&](const std::string& s) {
    const int y = panels_y + (panels_h + grid_top - op_px) / 2;
    draw_text(c, x + (op_w - text_width(s, op_px)) / 2, y, s, op_px, kMuted);
    x += op_w;
  };
  place(input);
  op("\u2217");
  place(kernel);
  op("=");
  place(output);
  for (size_t i = 0; i < lines.size(); ++i)
    draw_text(c, margin, caption_y + int(i) * (caption_px + 6), lines[i], caption_px,
              i + 1 == lines.size() ? Rgb{170, 60, 0} : kInk);
  draw_text(c, margin, caption_y + int(lines.size()) * (caption_px + 6) + 10,
            "colours: red > 0, blue < 0, white 0 (each grid scaled to its own largest |value|); orange: the window and "
            "its output",
            legend_px, kMuted);
  return c;
}

}  // namespace convis
