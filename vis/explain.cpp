// Teaching mode, part 1: styled text, small matrices, and `explain conv` (one filter sliding
// over one image, every window and sum written out).
#include "engine/errors.h"
#include "vis/explain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "engine/ops.h"
#include "vis/explain_text.h"

namespace convis {

// ---- Text ------------------------------------------------------------------------------------

Text& Text::add(const std::string& s, Style st) {
  if (!s.empty()) spans_.push_back({s, st});
  return *this;
}

Text& Text::line(const std::string& s, Style st) {
  add(s, st);
  spans_.push_back({"\n", Style::plain});
  return *this;
}

Text& Text::append(const Text& other) {
  spans_.insert(spans_.end(), other.spans_.begin(), other.spans_.end());
  return *this;
}

std::string Text::plain() const {
  std::string out;
  for (const Span& s : spans_) out += s.text;
  return out;
}

std::string Text::ansi() const {
  auto code = [](Style st) -> const char* {
    switch (st) {
      case Style::plain: return "";
      case Style::heading: return "\033[1m";
      case Style::dim: return "\033[2m";
      case Style::value: return "\033[36m";
      case Style::weight: return "\033[35m";
      case Style::result: return "\033[1m";
      case Style::highlight: return "\033[1;31m";
      case Style::good: return "\033[32m";
      case Style::bad: return "\033[1;31m";
    }
    return "";
  };
  std::string out;
  for (const Span& s : spans_) {
    const char* c = code(s.style);
    if (*c == '\0' || s.text == "\n") {
      out += s.text;
    } else {
      out += c;
      out += s.text;
      out += "\033[0m";
    }
  }
  return out;
}

// ---- matrices and numbers -------------------------------------------------------------------

Matrix parse_matrix(const std::string& text, const std::string& what) {
  auto trim = [](const std::string& s) {
    const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  };
  const std::string quoted = what + " '" + text + "'";
  std::vector<std::vector<double>> rows;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(';', start);
    const std::string row = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::vector<double> values;
    size_t s = 0;
    while (true) {
      const size_t e = row.find(',', s);
      const std::string cell = trim(row.substr(s, e == std::string::npos ? std::string::npos : e - s));
      char* stop = nullptr;
      const double v = cell.empty() ? 0.0 : std::strtod(cell.c_str(), &stop);
      if (cell.empty() || *stop != '\0' || !std::isfinite(v))
        throw std::invalid_argument(
            quoted + ": row " + std::to_string(rows.size() + 1) + " has '" + cell +
            "', expected a number (rows are separated by ';', values by ',', e.g. \"1,2;3,4\")");
      values.push_back(v);
      if (e == std::string::npos) break;
      s = e + 1;
    }
    if (!rows.empty() && values.size() != rows[0].size())
      throw std::invalid_argument(quoted + ": row " + std::to_string(rows.size() + 1) + " has " +
                                  std::to_string(values.size()) + (values.size() == 1 ? " value" : " values") +
                                  ", row 1 has " + std::to_string(rows[0].size()) +
                                  " (all rows must have the same length)");
    rows.push_back(values);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (rows.size() > 64 || rows[0].size() > 64)
    throw std::invalid_argument(quoted + ": " + std::to_string(rows.size()) + " x " + std::to_string(rows[0].size()) +
                                " is too large for a worked example (at most 64 x 64)");
  Matrix m(int(rows.size()), int(rows[0].size()));
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) m(r, c) = rows[size_t(r)][size_t(c)];
  return m;
}

std::string format_number(double v) {
  char buf[64];
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::fabs(v) < 1e15 && std::fabs(v - std::round(v)) <= 1e-9 * std::max(1.0, std::fabs(v))) {
    const double r = std::round(v);
    std::snprintf(buf, sizeof buf, "%.0f", r == 0.0 ? 0.0 : r);  // no "-0"
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

std::string matrix_literal(const Matrix& m) {
  std::string s = "[";
  for (int r = 0; r < m.rows; ++r) {
    s += r ? ", [" : "[";
    for (int c = 0; c < m.cols; ++c) s += (c ? ", " : "") + format_number(m(r, c));
    s += "]";
  }
  return s + "]";
}

namespace explain_detail {

int width(const Text& t) {
  int n = 0;
  for (const Span& s : t.spans()) n += int(s.text.size());
  return n;
}

Block matrix_block(const Matrix& m, const std::function<Style(int, int)>& style,
                   const std::function<bool(int, int)>& mark, int min_width) {
  std::vector<std::string> cells(m.v.size());
  size_t w = size_t(std::max(1, min_width));
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      std::string s = format_number(m(r, c));
      if (mark && mark(r, c)) s = "[" + s + "]";
      w = std::max(w, s.size());
      cells[size_t(r) * size_t(m.cols) + size_t(c)] = s;
    }
  Block b;
  for (int r = 0; r < m.rows; ++r) {
    Text line;
    for (int c = 0; c < m.cols; ++c) {
      const std::string& s = cells[size_t(r) * size_t(m.cols) + size_t(c)];
      line.add(std::string(w - s.size() + (c ? 2 : 0), ' '));
      line.add(s, style ? style(r, c) : Style::plain);
    }
    b.push_back(line);
  }
  return b;
}

Block matrix_block(const Matrix& m, Style style, int min_width) {
  return matrix_block(
      m, [style](int, int) { return style; }, nullptr, min_width);
}

int cell_width(const Matrix& m) {
  size_t w = 1;
  for (double v : m.v) w = std::max(w, format_number(v).size());
  return int(w);
}

Block titled(const std::string& title, Block b, Style st) {
  Text t;
  t.add(title, st);
  b.insert(b.begin(), t);
  return b;
}

Block middle(int rows, const std::string& s) {
  Block b(size_t(std::max(rows, 1)));
  b[b.size() / 2 - (b.size() % 2 == 0 && b.size() > 1 ? 1 : 0)].add(s);
  if (b[0].spans().empty()) b[0].add(std::string(s.size(), ' '));
  return b;
}

Block beside(const std::vector<Block>& blocks, const std::string& gap) {
  size_t rows = 0;
  for (const Block& b : blocks) rows = std::max(rows, b.size());
  Block out(rows);
  for (size_t i = 0; i < blocks.size(); ++i) {
    int w = 0;
    for (const Text& t : blocks[i]) w = std::max(w, width(t));
    for (size_t r = 0; r < rows; ++r) {
      if (i) out[r].add(gap);
      int used = 0;
      if (r < blocks[i].size()) {
        out[r].append(blocks[i][r]);
        used = width(blocks[i][r]);
      }
      if (i + 1 < blocks.size()) out[r].add(std::string(size_t(w - used), ' '));
    }
  }
  return out;
}

void put(Text& t, const Block& b, const std::string& indent) {
  for (const Text& line : b) {
    t.add(indent);
    t.append(line);
    t.line();
  }
}

std::string product(double a, double b) {
  const std::string sb = format_number(b);
  return format_number(a) + "*" + (b < 0 ? "(" + sb + ")" : sb);
}

void heading(Text& t, const std::string& title) {
  t.line(title, Style::heading);
  t.line(std::string(title.size(), '='), Style::heading);
}

void section(Text& t, const std::string& title) {
  t.line();
  t.line(title, Style::heading);
}

Tensor to_tensor_hw(const Matrix& m) {
  Tensor t(Shape{1, m.rows, m.cols, 1});
  for (size_t i = 0; i < m.v.size(); ++i) t[int64_t(i)] = float(m.v[i]);
  return t;
}

Matrix from_tensor_hw(const Tensor& t) {
  const Shape& s = t.shape();
  const int h = int(s.rank() == 4 ? s[1] : s[0]), w = int(s.rank() == 4 ? s[2] : s[1]);
  Matrix m(h, w);
  for (size_t i = 0; i < m.v.size(); ++i) m.v[i] = double(t[int64_t(i)]);
  return m;
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
  if (a.rows != b.rows || a.cols != b.cols) return INFINITY;
  double d = 0.0;
  for (size_t i = 0; i < a.v.size(); ++i) d = std::max(d, std::fabs(a.v[i] - b.v[i]));
  return d;
}

std::string dims(const Matrix& m) { return std::to_string(m.rows) + " x " + std::to_string(m.cols); }

}  // namespace explain_detail

using namespace explain_detail;

// ---- explain conv ----------------------------------------------------------------------------

ConvSpec default_conv_spec() {
  ConvSpec s;
  s.input = Matrix(6, 5);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) s.input(r, c) = 200;
  s.kernel = Matrix(3, 3);
  for (int c = 0; c < 3; ++c) {
    s.kernel(0, c) = 10;
    s.kernel(2, c) = -10;
  }
  return s;
}

namespace {

ConvAxis conv_axis(int n, int k, int s, int p) {
  ConvAxis a;
  a.n = n, a.k = k, a.s = s, a.p = p;
  a.span = n + 2 * p - k;
  if (a.span >= 0) {
    a.out = a.span / s + 1;
    a.dropped = a.span % s;
  }
  return a;
}

bool same_matrix(const Matrix& a, const Matrix& b) { return a.rows == b.rows && a.cols == b.cols && a.v == b.v; }

void explain_axis(Text& t, const char* name, const ConvAxis& a, const char* rows) {
  const std::string n = std::to_string(a.n), k = std::to_string(a.k), s = std::to_string(a.s), p = std::to_string(a.p);
  t.add(std::string("  ") + name + "floor((" + n + " + 2*" + p + " - " + k + ") / " + s + ") + 1 = ");
  if (!a.fits()) {
    t.line("floor(" + std::to_string(a.span) + " / " + s + ") + 1: no window fits", Style::bad);
    return;
  }
  t.add("floor(" + std::to_string(a.span) + " / " + s + ") + 1 = ");
  t.line(std::to_string(a.out), Style::result);
  if (!a.exact()) {
    char frac[32];
    std::snprintf(frac, sizeof frac, "%g", double(a.span) / a.s);
    t.line(std::string("    ") + std::to_string(a.span) + " / " + s + " = " + frac +
               " is not a whole number: the stride does not divide evenly.",
           Style::highlight);
    t.line(std::string("    Frameworks floor it (PyTorch, Keras), so the last ") + std::to_string(a.dropped) + " " +
               rows + " of the " + (a.p ? "padded " : "") + "input " + (a.dropped == 1 ? "is" : "are") +
               " never covered by a window.",
           Style::highlight);
  }
}

}  // namespace

ConvExplanation explain_conv(const ConvSpec& spec) {
  if (spec.input.rows < 1 || spec.input.cols < 1)
    throw std::invalid_argument("explain conv: the input matrix is empty");
  if (spec.kernel.rows < 1 || spec.kernel.cols < 1)
    throw std::invalid_argument("explain conv: the kernel matrix is empty");
  if (spec.stride < 1)
    throw ParameterError("stride", "explain conv: stride " + std::to_string(spec.stride) + " must be at least 1");
  if (spec.pad < 0 || spec.pad > 16)
    throw ParameterError("pad", "explain conv: padding " + std::to_string(spec.pad) + " must be in 0..16");

  ConvExplanation e;
  e.spec = spec;
  const int p = spec.pad, s = spec.stride, kh = spec.kernel.rows, kw = spec.kernel.cols;
  e.padded = Matrix(spec.input.rows + 2 * p, spec.input.cols + 2 * p);
  for (int r = 0; r < spec.input.rows; ++r)
    for (int c = 0; c < spec.input.cols; ++c) e.padded(r + p, c + p) = spec.input(r, c);
  e.height = conv_axis(spec.input.rows, kh, s, p);
  e.width = conv_axis(spec.input.cols, kw, s, p);
  e.possible = e.height.fits() && e.width.fits();
  const bool is_default = same_matrix(spec.input, default_conv_spec().input) &&
                          same_matrix(spec.kernel, default_conv_spec().kernel) && s == 1 && p == 0;

  Text& t = e.text;
  heading(t, "explain conv: one " + std::to_string(kh) + "x" + std::to_string(kw) + " filter sliding over one image");
  section(t, "Input x (" + dims(spec.input) + ", rows x columns):");
  put(t, matrix_block(spec.input, Style::value));
  section(t, "Kernel w (" + dims(spec.kernel) + "):");
  put(t, matrix_block(spec.kernel, Style::weight));
  if (is_default)
    t.line("  a horizontal edge detector: +10 above, -10 below, so it answers where bright is above dark.", Style::dim);
  t.line("  stride " + std::to_string(s) + ", padding " + std::to_string(p) + ", bias " + format_number(spec.bias));

  section(t, "What is computed");
  t.line("  y[i][j] = sum over u, v of  x[i*s + u][j*s + v] * w[u][v]  + bias");
  t.line("  This is cross-correlation: the kernel is laid on the image as it is, not flipped. PyTorch,");
  t.line("  Keras/TensorFlow and every other framework call it convolution; the textbook convolution");
  t.line("  would flip w first (rotate it 180 degrees). Learned kernels do not care which.");

  if (p > 0) {
    section(t, "Padded input (" + std::to_string(p) + " ring" + (p > 1 ? "s" : "") + " of zeros, dimmed):");
    put(t, matrix_block(e.padded, [&](int r, int c) {
          const bool inside = r >= p && r < p + spec.input.rows && c >= p && c < p + spec.input.cols;
          return inside ? Style::value : Style::dim;
        }));
  }

  section(t, "Output size: floor((n + 2p - k) / s) + 1");
  explain_axis(t, "height: ", e.height, e.height.dropped == 1 ? "row" : "rows");
  explain_axis(t, "width:  ", e.width, e.width.dropped == 1 ? "column" : "columns");
  if (!e.possible) {
    const int need_h = std::max(0, (kh - spec.input.rows + 1) / 2),
              need_w = std::max(0, (kw - spec.input.cols + 1) / 2);
    t.line();
    t.line("  The " + std::to_string(kh) + "x" + std::to_string(kw) + " kernel is larger than the " +
               std::to_string(e.padded.rows) + "x" + std::to_string(e.padded.cols) + (p ? " padded" : "") +
               " input: there is no position to put it, so the output is empty.",
           Style::bad);
    t.line("  Use a kernel that fits, or pad by at least " + std::to_string(std::max(need_h, need_w)) +
           ". Frameworks reject this as an error.");
    return e;
  }

  // Every output cell, by the definition, in double.
  const int oh = e.height.out, ow = e.width.out;
  e.output = Matrix(oh, ow);
  for (int i = 0; i < oh; ++i)
    for (int j = 0; j < ow; ++j) {
      ConvCell cell;
      cell.row = i, cell.col = j, cell.top = i * s, cell.left = j * s;
      cell.window = Matrix(kh, kw);
      double sum = 0.0;
      for (int u = 0; u < kh; ++u)
        for (int v = 0; v < kw; ++v) {
          cell.window(u, v) = e.padded(cell.top + u, cell.left + v);
          sum += cell.window(u, v) * spec.kernel(u, v);
        }
      cell.sum = sum + spec.bias;
      e.output(i, j) = cell.sum;
      e.cells.push_back(cell);
    }
  for (double v : e.output.v) e.edge = std::max(e.edge, std::fabs(v));
  auto strong = [&](int r, int c) { return e.edge > 0 && std::fabs(e.output(r, c)) >= e.edge * (1 - 1e-12); };

  section(t, "Every output cell: the window under the kernel, times the kernel, summed");
  t.line("  (indices start at 0; window rows and columns are in the " + std::string(p ? "padded " : "") + "input)",
         Style::dim);
  const size_t shown = e.cells.size() <= 48 ? e.cells.size() : 12;
  const int window_width = cell_width(e.padded);
  for (size_t n = 0; n < shown; ++n) {
    const ConvCell& c = e.cells[n];
    t.line();
    t.add("  y[" + std::to_string(c.row) + "][" + std::to_string(c.col) + "]", Style::heading);
    t.line("  window: rows " + std::to_string(c.top) + "-" + std::to_string(c.top + kh - 1) + ", columns " +
               std::to_string(c.left) + "-" + std::to_string(c.left + kw - 1),
           Style::dim);
    Block products;
    for (int u = 0; u < kh; ++u) {
      Text line;
      line.add(u ? "+ " : "  ");
      for (int v = 0; v < kw; ++v) {
        if (v) line.add(" + ");
        line.add(format_number(c.window(u, v)), Style::value);
        line.add("*");
        const double w = spec.kernel(u, v);
        line.add(w < 0 ? "(" + format_number(w) + ")" : format_number(w), Style::weight);
      }
      products.push_back(line);
    }
    Text total;
    total.add("= ");
    if (spec.bias != 0.0) total.add(format_number(c.sum - spec.bias) + " + " + format_number(spec.bias) + " (bias) = ");
    total.add(format_number(c.sum), strong(c.row, c.col) ? Style::highlight : Style::result);
    products.push_back(total);
    put(t, beside({matrix_block(c.window, Style::value, window_width), middle(kh, "  ->  "), products}, ""), "    ");
  }
  if (shown < e.cells.size())
    t.line("\n  ... and " + std::to_string(e.cells.size() - shown) + " more cells, computed the same way.", Style::dim);

  section(t, "Result y (" + dims(e.output) + "):");
  put(t, matrix_block(
             e.output, [&](int r, int c) { return strong(r, c) ? Style::highlight : Style::result; }, strong));
  t.add("  y = ");
  t.line(matrix_literal(e.output), Style::result);
  if (e.edge > 0) {
    t.line("  [ ] marks the strongest responses (|y| = " + format_number(e.edge) + ").");
    if (is_default) {
      t.line("  They sit where the window straddles the change from 200 to 0: the kernel's +10 row lies on");
      t.line("  the bright rows and its -10 row on the dark ones. Where the image is flat (all 200 or all 0)");
      t.line("  the +10 and -10 rows cancel and the output is 0. The filter has found the horizontal edge.");
    } else {
      t.line("  They are where the input looks most like the kernel (or its negative).");
    }
  }

  // The engine's conv2d on the same (explicitly padded) input: it must give the same matrix.
  {
    NoGrad no_grad;
    const Var y =
        conv2d(Var::constant(to_tensor_hw(e.padded)), Var::constant(to_tensor_hw(spec.kernel).reshape({kh, kw, 1, 1})),
               Var::constant(Tensor::full({1}, float(spec.bias))), s, s, Padding::valid);
    e.engine_output = from_tensor_hw(y.value());
  }
  e.engine_max_diff = max_abs_diff(e.output, e.engine_output);
  const bool agree = e.engine_max_diff <= 1e-5 * std::max(1.0, e.edge);
  t.line();
  t.add("  Check: ");
  t.add("the engine's conv2d (float32, im2col + GEMM) gives " +
            std::string(agree ? "the same matrix" : "a different matrix") + ", max difference " +
            format_number(e.engine_max_diff) + ".",
        agree ? Style::good : Style::bad);
  t.line();
  return e;
}

}  // namespace convis
