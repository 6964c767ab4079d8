// Teaching mode, part 4: `explain value`, one output value of a real conv layer of a real model
// taken apart: the receptive-field patch of the layer's input, the kernel slice, the products,
// the bias, the layers that follow (BatchNormalization, LeakyReLU, ...), and the engine's value.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "engine/errors.h"
#include "engine/ops.h"
#include "engine/receptive_field.h"
#include "vis/explain.h"
#include "vis/explain_text.h"

namespace convis {

using namespace explain_detail;

namespace {

std::string num(double v, int digits = 7) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string paren(double v, int digits = 5) { return v < 0 ? "(" + num(v, digits) + ")" : num(v, digits); }

// Layers that act on each value on its own, so one value can be followed through them.
bool is_pointwise(const Layer& l) {
  switch (l.type) {
    case LayerType::batch_norm:
    case LayerType::leaky_relu:
    case LayerType::relu:
    case LayerType::dropout: return true;
    case LayerType::activation: return l.activation != Activation::softmax;
    default: return false;
  }
}

// Applies a conv's own activation (or an Activation layer's) to one value.
bool activate_one(Activation a, double x, double& y, std::string& formula) {
  switch (a) {
    case Activation::linear:
      y = x;
      formula = "linear: unchanged";
      return true;
    case Activation::relu:
      y = std::max(0.0, x);
      formula = "max(0, " + num(x, 6) + ") = " + num(y, 6);
      return true;
    case Activation::sigmoid:
      y = 1.0 / (1.0 + std::exp(-x));
      formula = "1 / (1 + exp(-" + paren(x, 6) + ")) = " + num(y, 6);
      return true;
    case Activation::tanh:
      y = std::tanh(x);
      formula = "tanh(" + num(x, 6) + ") = " + num(y, 6);
      return true;
    case Activation::softmax: return false;  // needs every channel, not one value
    default: return false;                   // the explain tutorial covers the four above
  }
  return false;
}

std::string conv_layer_list(const Model& m) {
  std::string s;
  for (const Layer& l : m.layers)
    if (l.type == LayerType::conv2d) s += (s.empty() ? "" : ", ") + l.name;
  return s.empty() ? "none" : s;
}

}  // namespace

ValueExplanation explain_value(const Model& m, const Tensor& input, const std::string& layer, int at_y, int at_x,
                               int filter, const std::string& input_note) {
  if (!m.built_h()) throw std::invalid_argument("explain value: model '" + m.name + "' is not built");
  const Shape want{1, m.built_h(), m.built_w(), m.input_c};
  if (input.shape() != want)
    throw std::invalid_argument("explain value: input is " + input.shape().str() + ", model '" + m.name + "' expects " +
                                want.str());
  ValueExplanation e;
  e.layer = layer;
  e.layer_index = m.layer_index(layer);
  const Layer& L = m.layers[size_t(e.layer_index)];
  if (L.type != LayerType::conv2d)
    throw std::invalid_argument("explain value: layer '" + layer + "' (" + L.class_name +
                                ") is not a Conv2D; conv layers of '" + m.name + "': " + conv_layer_list(m));
  const int input_index = m.inputs_of(e.layer_index).at(0);
  const Shape& in_shape = m.input_shape(e.layer_index);  // (H, W, C)
  const Shape& out_shape = L.output_shape;
  auto range = [](int64_t n) { return "0.." + std::to_string(n - 1); };
  const std::string at = std::to_string(at_y) + "," + std::to_string(at_x);
  if (at_y < 0 || at_y >= out_shape[0] || at_x < 0 || at_x >= out_shape[1])
    throw ParameterError("at", "position " + at + " is outside layer '" + layer + "' output of " +
                                std::to_string(out_shape[0]) + " x " + std::to_string(out_shape[1]) +
                                ": row must be in " + range(out_shape[0]) + " and column in " + range(out_shape[1]));
  if (filter < 0 || filter >= out_shape[2])
    throw ParameterError("filter", "filter " + std::to_string(filter) + " is outside layer '" + layer + "', which has " +
                                std::to_string(out_shape[2]) + " filters: it must be in " + range(out_shape[2]));
  e.at_y = at_y, e.at_x = at_x, e.filter = filter;
  e.input_layer = m.layers[size_t(input_index)].name;
  e.kh = L.kernel_h, e.kw = L.kernel_w, e.channels = int(in_shape[2]);
  const AxisWindow wy = window_along_axis(int(in_shape[0]), L.kernel_h, L.stride_h, L.padding, "height");
  const AxisWindow wx = window_along_axis(int(in_shape[1]), L.kernel_w, L.stride_w, L.padding, "width");
  e.top = at_y * L.stride_h - wy.pad_before;
  e.left = at_x * L.stride_w - wx.pad_before;

  // The receptive field in the image: walk the window back through every conv and pooling layer.
  int rf_full_h = 0, rf_full_w = 0;
  {
    const PixelBox b = receptive_box(m, e.layer_index, at_y, at_x);
    rf_full_h = int(b.height()), rf_full_w = int(b.width());
    e.rf_top = int(std::max<int64_t>(b.top, 0)), e.rf_bottom = int(std::min<int64_t>(b.bottom, m.built_h() - 1));
    e.rf_left = int(std::max<int64_t>(b.left, 0)), e.rf_right = int(std::min<int64_t>(b.right, m.built_w() - 1));
  }

  // The conv's input, computed by the engine; then a sub-model from the conv to the last
  // pointwise layer after it, run by the engine's own Model::forward on the real weights.
  // In a graph the layer after the conv in Keras' order need not read it: follow the conv's
  // output through its one reader, while that reader is pointwise and reads nothing else.
  std::vector<int> chain{e.layer_index};
  if (L.activation != Activation::softmax) {
    while (true) {
      int reader = -1, readers = 0;
      for (size_t i = size_t(chain.back()) + 1; i < m.layers.size(); ++i)
        for (int j : m.inputs_of(int(i)))
          if (j == chain.back()) reader = int(i), ++readers;
      if (readers != 1 || !is_pointwise(m.layers[size_t(reader)]) || m.inputs_of(reader).size() != 1) break;
      chain.push_back(reader);
    }
  }
  const int last = chain.back();
  Tensor conv_in;
  Model sub;
  {
    NoGrad no_grad;
    conv_in = input_index == 0 ? input : m.forward(Var::constant(input), input_index).value();
    sub.name = m.name + "/" + layer;
    sub.layers.push_back(m.layers[0]);
    for (int i : chain) {
      sub.layers.push_back(m.layers[size_t(i)]);
      sub.layers.back().inputs.clear();  // a chain of its own
    }
    sub.input_c = e.channels;
    const Var x = Var::constant(conv_in);
    const int64_t at_index = ((int64_t(at_y) * out_shape[1]) + at_x) * out_shape[2] + filter;
    e.engine_conv = sub.forward(x, 1, /*pre_activation=*/true).value()[at_index];
    e.engine_value = sub.forward(x).value()[at_index];
  }
  e.last_layer = m.layers[size_t(last)].name;

  // By hand, in double: every product of the window with the kernel slice of this filter.
  const Tensor& W = L.weights.at(0).value();  // (KH, KW, C, OC)
  const int64_t H = in_shape[0], Wd = in_shape[1], C = in_shape[2], OC = out_shape[2];
  double sum_abs = 0.0;
  for (int u = 0; u < e.kh; ++u)
    for (int v = 0; v < e.kw; ++v)
      for (int c = 0; c < C; ++c) {
        ValueTerm t;
        t.u = u, t.v = v, t.c = c, t.row = e.top + u, t.col = e.left + v;
        t.padding = t.row < 0 || t.row >= H || t.col < 0 || t.col >= Wd;
        t.x = t.padding ? 0.0 : double(conv_in[((int64_t(t.row) * Wd) + t.col) * C + c]);
        t.w = double(W[((int64_t(u) * e.kw + v) * C + c) * OC + filter]);
        t.product = t.x * t.w;
        e.sum += t.product;
        sum_abs += std::fabs(t.product);
        e.terms.push_back(t);
      }
  e.bias = L.use_bias && L.weights.size() > 1 ? double(L.weights[1].value()[filter]) : 0.0;
  e.conv_value = e.sum + e.bias;
  e.conv_diff = std::fabs(e.conv_value - double(e.engine_conv));

  Text& t = e.text;
  heading(t, "explain value: one output of " + layer + ", taken apart");
  if (!input_note.empty()) t.line(input_note, Style::dim);
  t.line();
  t.add("The value: ");
  t.add(layer + "[" + std::to_string(at_y) + ", " + std::to_string(at_x) + ", " + std::to_string(filter) + "]",
        Style::heading);
  t.line(" (row, column, filter) of its " + std::to_string(out_shape[0]) + " x " + std::to_string(out_shape[1]) +
         " x " + std::to_string(OC) + " output.");
  t.line("It reads " + (e.layer_index == 1 ? std::string("the preprocessed image") : "the output of " + e.input_layer) +
         " (" + std::to_string(H) + " x " + std::to_string(Wd) + " x " + std::to_string(C) + ") through a " +
         std::to_string(e.kh) + "x" + std::to_string(e.kw) + " window");
  t.line("over all " + std::to_string(C) + " channels: " + std::to_string(e.terms.size()) + " products." +
         (e.kh * e.kw == 1 ? " (A 1x1 conv mixes channels at one pixel; it looks at no neighbours.)" : ""));
  t.line("In the " + std::to_string(m.built_h()) + "x" + std::to_string(m.built_w()) + " image it depends on rows " +
         std::to_string(e.rf_top) + "-" + std::to_string(e.rf_bottom) + ", columns " + std::to_string(e.rf_left) + "-" +
         std::to_string(e.rf_right) + ":");
  t.line("its receptive field, " + std::to_string(rf_full_h) + " x " + std::to_string(rf_full_w) + " pixels" +
         (rf_full_h != e.rf_bottom - e.rf_top + 1 || rf_full_w != e.rf_right - e.rf_left + 1
              ? ", cut by the border to " + std::to_string(e.rf_bottom - e.rf_top + 1) + " x " +
                    std::to_string(e.rf_right - e.rf_left + 1)
              : std::string()) +
         ".");

  section(t, "1. The window of the input and the kernel slice of filter " + std::to_string(filter));
  t.line("   rows " + std::to_string(e.top) + ".." + std::to_string(e.top + e.kh - 1) + ", columns " +
         std::to_string(e.left) + ".." + std::to_string(e.left + e.kw - 1) + " of the input (stride " +
         std::to_string(L.stride_h) + ", padding '" + padding_name(L.padding) + "'" + ")");
  if (e.top < 0 || e.left < 0 || e.top + e.kh > H || e.left + e.kw > Wd)
    t.line("   the window hangs over the border: cells outside the input are padding zeros");
  // Per channel: its share of the sum. All channels for an RGB input, else the three largest.
  std::vector<double> per_channel(size_t(C), 0.0);
  for (const ValueTerm& term : e.terms) per_channel[size_t(term.c)] += term.product;
  std::vector<int> order(static_cast<size_t>(C));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return std::fabs(per_channel[size_t(a)]) > std::fabs(per_channel[size_t(b)]); });
  const int show = e.kh * e.kw == 1 ? 0 : C <= 4 ? int(C) : 3;
  if (show == 0)
    t.line("   one pixel, " + std::to_string(C) + " channels: the products are listed in 2.");
  else if (C > 4)
    t.line("   " + std::to_string(C) +
           " channels; the 3 whose window contributes most (the others are in the sums below):");
  for (int k = 0; k < show; ++k) {
    const int c = C <= 4 ? k : order[size_t(k)];
    Matrix px(e.kh, e.kw), pw(e.kh, e.kw);
    for (const ValueTerm& term : e.terms)
      if (term.c == c) px(term.u, term.v) = term.x, pw(term.u, term.v) = term.w;
    auto rounded = [](Matrix m) {
      for (double& v : m.v) v = std::round(v * 1e4) / 1e4;
      return m;
    };
    t.line("   channel " + std::to_string(c) + ": window x, kernel w[:, :, " + std::to_string(c) + ", " +
           std::to_string(filter) + "], sum of x*w = " + num(per_channel[size_t(c)], 6));
    put(t,
        beside(
            {matrix_block(rounded(px), Style::value), middle(e.kh, "  *  "), matrix_block(rounded(pw), Style::weight)},
            ""),
        "      ");
  }
  if (show > 0)
    t.line("   (window and kernel rounded to 4 decimals for display; the sums use the exact float values)", Style::dim);

  section(t, "2. The " + std::to_string(e.terms.size()) + " products x * w, summed");
  int npos = 0, nneg = 0, nzero = 0, npad = 0;
  double spos = 0.0, sneg = 0.0;
  for (const ValueTerm& term : e.terms) {
    if (term.padding) ++npad;
    if (term.product > 0)
      ++npos, spos += term.product;
    else if (term.product < 0)
      ++nneg, sneg += term.product;
    else
      ++nzero;
  }
  t.line("   positive: " + std::to_string(npos) + " terms, summing to " + num(spos, 6));
  t.line("   negative: " + std::to_string(nneg) + " terms, summing to " + num(sneg, 6));
  t.line("   zero:     " + std::to_string(nzero) + " terms" +
         (npad ? " (" + std::to_string(npad) + " from padding)" : std::string()) +
         (nzero > npad ? " (an input of 0, e.g. a ReLU that was off)" : ""));
  std::vector<size_t> top(e.terms.size());
  std::iota(top.begin(), top.end(), size_t(0));
  const size_t ntop = std::min<size_t>(10, top.size());
  std::partial_sort(top.begin(), top.begin() + int64_t(ntop), top.end(),
                    [&](size_t a, size_t b) { return std::fabs(e.terms[a].product) > std::fabs(e.terms[b].product); });
  t.line("   the " + std::to_string(ntop) + " largest by |x * w|:");
  char line[220];
  std::snprintf(line, sizeof line, "   %3s  %-22s %11s   %-18s %11s %12s", "#", "input [row, col, ch]", "x",
                "w [u, v, ch]", "w", "x * w");
  t.line(line, Style::dim);
  for (size_t k = 0; k < ntop; ++k) {
    const ValueTerm& term = e.terms[top[k]];
    const std::string where = "[" + std::to_string(term.row) + ", " + std::to_string(term.col) + ", " +
                              std::to_string(term.c) + "]" + (term.padding ? " pad" : "");
    const std::string wpos =
        "[" + std::to_string(term.u) + ", " + std::to_string(term.v) + ", " + std::to_string(term.c) + "]";
    std::snprintf(line, sizeof line, "   %3zu  %-22s ", k + 1, where.c_str());
    t.add(line);
    std::snprintf(line, sizeof line, "%11.5g", term.x);
    t.add(line, Style::value);
    std::snprintf(line, sizeof line, "   %-18s ", wpos.c_str());
    t.add(line);
    std::snprintf(line, sizeof line, "%11.5g", term.w);
    t.add(line, Style::weight);
    std::snprintf(line, sizeof line, " %12.6g", term.product);
    t.line(line, term.product > 0 ? Style::good : Style::bad);
  }
  t.add("   sum = " + num(spos, 6) + " + " + paren(sneg, 6) + " = ");
  t.line(num(e.sum), Style::result);
  if (L.use_bias) {
    t.add("   conv output = sum + bias[" + std::to_string(filter) + "] = " + num(e.sum) + " + " + paren(e.bias, 6) +
          " = ");
  } else {
    t.line("   no bias (use_bias=False: the BatchNormalization after it supplies the shift)");
    t.add("   conv output = sum = ");
  }
  t.line(num(e.conv_value), Style::highlight);
  const double tol = 1e-5 * (sum_abs + std::fabs(e.bias)) + 1e-6;
  t.add("   the engine's " + layer + " (float32 GEMM" +
        (L.activation != Activation::linear ? ", before its activation" : "") + "): " + num(e.engine_conv) +
        ", difference " + num(e.conv_diff, 2) + " ");
  t.line(e.conv_diff <= tol ? "(agrees to float precision)" : "(DISAGREES)",
         e.conv_diff <= tol ? Style::good : Style::bad);

  // What follows: the conv's own activation, then BatchNormalization / LeakyReLU / Activation.
  double v = e.conv_value;
  double gain = 1.0;  // how much the steps below amplify the conv's rounding error (BatchNorm's scale)
  bool stopped = false;
  if (L.activation != Activation::linear) {
    ValueStep s;
    s.layer = layer, s.class_name = std::string("activation '") + activation_name(L.activation) + "'";
    s.before = v;
    if (activate_one(L.activation, v, s.after, s.formula)) {
      v = s.after;
      e.steps.push_back(s);
    } else {
      stopped = true;
    }
  }
  for (size_t ci = 1; ci < chain.size(); ++ci) {
    const int i = chain[ci];
    const Layer& l = m.layers[size_t(i)];
    ValueStep s;
    s.layer = l.name, s.class_name = l.class_name, s.before = v;
    if (l.type == LayerType::batch_norm) {
      size_t k = 0;
      const double gamma = l.bn_scale ? double(l.weights.at(k++).value()[filter]) : 1.0;
      const double beta = l.bn_center ? double(l.weights.at(k++).value()[filter]) : 0.0;
      const double mean = double(l.weights.at(k).value()[filter]), var = double(l.weights.at(k + 1).value()[filter]);
      s.after = (v - mean) / std::sqrt(var + double(l.epsilon)) * gamma + beta;
      gain *= std::fabs(gamma) / std::sqrt(var + double(l.epsilon));
      s.formula = "(x - mean) / sqrt(var + eps) * gamma + beta\n     = (" + num(v, 6) + " - " + paren(mean) +
                  ") / sqrt(" + num(var, 5) + " + " + num(l.epsilon, 3) + ") * " + paren(gamma) + " + " + paren(beta) +
                  " = " + num(s.after, 6);
    } else if (l.type == LayerType::leaky_relu) {
      s.after = v > 0 ? v : double(l.alpha) * v;
      s.formula = v > 0 ? "x > 0, kept: " + num(s.after, 6)
                        : "x <= 0, scaled by alpha: " + num(l.alpha, 3) + " * " + paren(v, 6) + " = " + num(s.after, 6);
    } else if (l.type == LayerType::relu) {
      // Keras' ReLU layer (ReLU6 is max_value 6): min(x, max) above the threshold, else its slope.
      const double t = l.threshold, mx = l.max_value, a = l.negative_slope;
      s.after = v > t ? std::min(v, mx) : a * (v - t) + 0.0;  // + 0.0: no "-0" printed
      s.formula = v > t ? (v >= mx ? "x >= max_value, capped: " + num(mx, 6) : "x > threshold, kept: " + num(v, 6))
                        : "x <= threshold " + num(t, 3) + ": " + num(a, 3) + " * (" + num(v, 6) + " - " + num(t, 3) +
                              ") = " + num(s.after, 6);
    } else if (l.type == LayerType::dropout) {
      s.after = v;
      s.formula = "identity at inference";
    } else {
      activate_one(l.activation, v, s.after, s.formula);
    }
    v = s.after;
    e.steps.push_back(s);
  }
  e.value = v;
  e.value_diff = std::fabs(e.value - double(e.engine_value));
  if (!e.steps.empty()) {
    section(t, "3. What follows, on this one value");
    for (const ValueStep& s : e.steps) {
      t.add("   " + s.layer + " (" + s.class_name + ", channel " + std::to_string(filter) + "): ");
      t.line(s.formula);
    }
  }
  if (stopped) t.line("   (the conv's softmax mixes all channels; the walk-through stops before it)", Style::dim);
  section(t, std::string(e.steps.empty() ? "3" : "4") + ". By hand vs the engine");
  t.add("   by hand (double):   ");
  t.line(num(e.value, 9), Style::highlight);
  t.add("   engine (float32):   ");
  t.line(num(double(e.engine_value), 9) + "   (" + e.last_layer + "[" + std::to_string(at_y) + ", " +
         std::to_string(at_x) + ", " + std::to_string(filter) + "])");
  const double vtol = tol * gain + 2e-6 * std::fabs(e.value) + 1e-6;
  t.add("   difference " + num(e.value_diff, 2) + " ");
  t.line(e.value_diff <= vtol ? "(the same value to float precision)" : "(they DISAGREE)",
         e.value_diff <= vtol ? Style::good : Style::bad);
  return e;
}

}  // namespace convis
