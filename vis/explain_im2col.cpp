// Teaching mode, part 2: `explain im2col` (the convolution as one matrix product, and what that
// costs on VGG16) and `explain channels` (a 3-channel input, per-channel partial sums, and the
// parameter count of a conv layer).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "engine/errors.h"
#include "engine/ops.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "vis/explain.h"
#include "vis/explain_text.h"

namespace convis {

using namespace explain_detail;

namespace {

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return (v < 0 ? "-" : "") + s;
}

std::string printf_string(const char* fmt, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, a);
  return buf;
}

}  // namespace

// ---- explain im2col --------------------------------------------------------------------------

Im2colExplanation explain_im2col(const ConvSpec& spec, int input_size) {
  if (input_size < 32 || input_size > 4096)
    throw ParameterError("input_size", "explain im2col: input size " + std::to_string(input_size) +
                                " must be in 32..4096 (VGG16's five 2x2 poolings need at least 32)");
  Im2colExplanation e;
  e.conv = explain_conv(spec);
  Text& t = e.text;
  heading(t, "explain im2col: the same convolution as one matrix product (GEMM)");
  if (!e.conv.possible) {
    t.line();
    t.line("The kernel does not fit in the padded input, so there is nothing to unroll:", Style::bad);
    t.append(e.conv.text);
    return e;
  }
  const int kh = spec.kernel.rows, kw = spec.kernel.cols, oh = e.conv.height.out, ow = e.conv.width.out;
  const int M = oh * ow, K = kh * kw;

  // The engine's own im2col and GEMM (kernels/), on the explicitly padded one-channel image.
  const Conv2dShape cs = make_conv2d_shape(1, e.conv.padded.rows, e.conv.padded.cols, 1, kh, kw, 1, spec.stride,
                                           spec.stride, Padding::valid);
  const Tensor x = to_tensor_hw(e.conv.padded);
  std::vector<float> col(size_t(M) * size_t(K)), w(size_t(K), 0.f), y(size_t(M), float(spec.bias));
  im2col_nhwc(x.data(), col.data(), cs, 0, oh);
  for (int i = 0; i < K; ++i) w[size_t(i)] = float(spec.kernel.v[size_t(i)]);
  gemm(false, false, M, 1, K, col.data(), w.data(), y.data(), /*accumulate=*/true);  // y = bias + col * w
  e.patches = Matrix(M, K);
  for (size_t i = 0; i < col.size(); ++i) e.patches.v[i] = col[i];
  e.kernel_column = Matrix(K, 1);
  e.kernel_column.v = spec.kernel.v;
  e.gemm_output = Matrix(M, 1);
  e.result = Matrix(oh, ow);
  for (int i = 0; i < M; ++i) e.gemm_output.v[size_t(i)] = e.result.v[size_t(i)] = y[size_t(i)];
  e.max_diff_vs_direct = max_abs_diff(e.result, e.conv.output);

  t.line();
  t.line("The convolution of `explain conv` (input " + dims(spec.input) + ", kernel " + dims(spec.kernel) +
         ", stride " + std::to_string(spec.stride) + ", padding " + std::to_string(spec.pad) + "),");
  t.line("computed the way frameworks do it: copy every window into a row of a matrix, then one matrix");
  t.line("product does all the sums at once.");

  section(t, "1. im2col: each window, flattened row by row, is one row of the patch matrix");
  t.line("   (" + std::to_string(M) + " windows x " + std::to_string(K) + " values: M = OH*OW = " + std::to_string(oh) +
         "*" + std::to_string(ow) + " rows, K = KH*KW*C = " + std::to_string(kh) + "*" + std::to_string(kw) +
         "*1 columns)");
  const int shown_rows = std::min(M, 24);
  {
    Matrix top(shown_rows, K);
    std::copy(e.patches.v.begin(), e.patches.v.begin() + int64_t(shown_rows) * K, top.v.begin());
    Block labels;
    for (int i = 0; i < shown_rows; ++i) {
      Text l;
      l.add("y[" + std::to_string(i / ow) + "][" + std::to_string(i % ow) + "]", Style::dim);
      labels.push_back(l);
    }
    put(t, beside({labels, matrix_block(top, Style::value)}, "  "), "   ");
    if (shown_rows < M) t.line("   ... " + std::to_string(M - shown_rows) + " more rows", Style::dim);
  }

  section(t, "2. The kernel, flattened in the same order, is a K x N = " + std::to_string(K) + " x 1 column");
  {
    Matrix row(1, K);
    row.v = spec.kernel.v;
    t.add("   w^T = ");
    put(t, matrix_block(row, Style::weight), "");
    t.line("   (N = 1 filter here; a layer with OC filters has OC columns, Keras' HWIO kernel read as (K, OC))",
           Style::dim);
  }

  section(t, "3. GEMM: (" + std::to_string(M) + " x " + std::to_string(K) + ") x (" + std::to_string(K) + " x 1) = (" +
                 std::to_string(M) + " x 1)" + (spec.bias != 0 ? ", plus the bias" : ""));
  {
    // One row's dot product written out: the cell with the strongest response.
    int best = 0;
    for (int i = 0; i < M; ++i)
      if (std::fabs(e.gemm_output.v[size_t(i)]) > std::fabs(e.gemm_output.v[size_t(best)])) best = i;
    std::string dot;
    for (int k = 0; k < K; ++k) dot += (k ? " + " : "") + product(e.patches(best, k), spec.kernel.v[size_t(k)]);
    t.line("   row " + std::to_string(best) + " (y[" + std::to_string(best / ow) + "][" + std::to_string(best % ow) +
           "]) times the column:");
    t.line("     " + dot + (spec.bias != 0 ? " + " + format_number(spec.bias) : "") + " = " +
           format_number(e.gemm_output.v[size_t(best)]));
    Matrix row(1, M);
    row.v = e.gemm_output.v;
    t.add("   result^T = ");
    put(t, matrix_block(row, Style::result), "");
  }

  section(t, "4. Reshape the " + std::to_string(M) + " values to OH x OW = " + std::to_string(oh) + " x " +
                 std::to_string(ow));
  put(t, matrix_block(e.result, Style::result), "   ");
  const bool agree = e.max_diff_vs_direct <= 1e-5 * std::max(1.0, e.conv.edge);
  t.add("   Check: ");
  t.line("im2col + GEMM (kernels/ im2col_nhwc, gemm) " + std::string(agree ? "equals" : "DIFFERS FROM") +
             " the direct sums: max difference " + format_number(e.max_diff_vs_direct),
         agree ? Style::good : Style::bad);
  t.line("   Why bother: GEMM is the most optimised routine there is (blocked for caches, vectorised), so");
  t.line("   it beats seven nested loops. The price is memory: each input value is copied into up to");
  t.line("   KH*KW rows of the patch matrix (convis builds it a tile of rows at a time to bound that).");

  // VGG16's convolutions as GEMMs.
  Model vgg = vgg16(false);
  vgg.build(input_size, input_size);
  Shape in{input_size, input_size, 3};
  for (const Layer& l : vgg.layers) {
    if (l.type == LayerType::conv2d) {
      GemmShapeRow r;
      r.layer = l.name;
      r.H = in[0], r.W = in[1], r.C = in[2];
      r.OH = l.output_shape[0], r.OW = l.output_shape[1], r.OC = l.output_shape[2];
      r.M = r.OH * r.OW, r.K = int64_t(l.kernel_h) * l.kernel_w * r.C, r.N = r.OC;
      r.flops = 2.0 * double(r.M) * double(r.K) * double(r.N);
      r.col_bytes = 4.0 * double(r.M) * double(r.K);
      e.total_flops += r.flops;
      e.vgg16.push_back(r);
    }
    in = l.output_shape;
  }
  const std::string size = std::to_string(input_size) + "x" + std::to_string(input_size);
  section(t, "VGG16 at " + size + ": every conv layer is one GEMM  (M = OH*OW, K = 9*C, N = OC; FLOPs = 2*M*K*N)");
  char line[200];
  std::snprintf(line, sizeof line, "   %-13s %-13s %9s %6s %5s %9s %7s %13s", "layer", "input", "M", "K", "N", "GFLOPs",
                "share", "patch matrix");
  t.line(line, Style::dim);
  const GemmShapeRow* top = &e.vgg16[0];
  for (const GemmShapeRow& r : e.vgg16)
    if (r.flops > top->flops) top = &r;
  for (const GemmShapeRow& r : e.vgg16) {
    const std::string shape = std::to_string(r.H) + "x" + std::to_string(r.W) + "x" + std::to_string(r.C);
    std::snprintf(line, sizeof line, "   %-13s %-13s %9lld %6lld %5lld %9.2f %6.1f%% %10.1f MB", r.layer.c_str(),
                  shape.c_str(), static_cast<long long>(r.M), static_cast<long long>(r.K), static_cast<long long>(r.N),
                  r.flops / 1e9, 100.0 * r.flops / e.total_flops, r.col_bytes / 1e6);
    t.line(line, r.flops == top->flops ? Style::highlight : Style::plain);
  }
  t.add("   total: ");
  t.line(printf_string("%.1f GFLOPs", e.total_flops / 1e9) + " for one " + size + " image", Style::result);
  t.line();
  std::string dearest;
  int ties = 0;
  for (const GemmShapeRow& r : e.vgg16)
    if (r.flops >= top->flops * (1 - 1e-9)) dearest += (ties++ ? ", " : "") + r.layer;
  t.line("   Where the time goes: into these GEMMs. Pooling and ReLU touch each value once; a conv output");
  t.line("   costs 2*K flops (up to 9,216 here).");
  t.line("   The dearest " + std::string(ties > 1 ? "layers, " : "layer, ") + printf_string("%.2f", top->flops / 1e9) +
         " GFLOPs (" + printf_string("%.1f", 100.0 * top->flops / e.total_flops) + "%)" + (ties > 1 ? " each" : "") +
         ":");
  t.line("     " + dearest, Style::highlight);
  t.line("   Within blocks 1-4 every conv after the first costs the same: each block halves H and W (M / 4)");
  t.line("   and doubles C and OC (K*N x 4). block1_conv1 is cheap because K = 9*3 = 27; block5 is cheaper");
  t.line("   because its channels stop doubling at 512. The patch matrix is largest early (block1_conv2:");
  t.line("   " + printf_string("%.0f MB", e.vgg16[1].col_bytes / 1e6) +
         "), where the images are big: there memory, not FLOPs, is the problem.");
  return e;
}

// ---- explain channels ------------------------------------------------------------------------

ChannelsExplanation explain_channels(const Model* m, const std::string& model_label) {
  ChannelsExplanation e;
  const char* names[3] = {"R", "G", "B"};
  const double xs[3][16] = {{1, 2, 0, 1, 0, 1, 3, 1, 2, 1, 0, 2, 1, 0, 1, 3},
                            {0, 1, 1, 0, 2, 0, 1, 1, 1, 3, 0, 1, 0, 1, 2, 0},
                            {3, 0, 1, 2, 1, 1, 0, 0, 0, 2, 1, 1, 2, 1, 0, 1}};
  // R: a vertical-edge kernel; G: a centre-surround (Laplacian); B: a horizontal-edge kernel.
  const double ws[3][9] = {
      {1, 0, -1, 1, 0, -1, 1, 0, -1}, {0, 1, 0, 1, -4, 1, 0, 1, 0}, {1, 1, 1, 0, 0, 0, -1, -1, -1}};
  e.bias = 1;
  for (int c = 0; c < 3; ++c) {
    Matrix x(4, 4), w(3, 3);
    x.v.assign(xs[c], xs[c] + 16);
    w.v.assign(ws[c], ws[c] + 9);
    e.input.push_back(x);
    e.kernel.push_back(w);
    Matrix p(2, 2);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        for (int u = 0; u < 3; ++u)
          for (int v = 0; v < 3; ++v) p(i, j) += x(i + u, j + v) * w(u, v);
    e.partial.push_back(p);
  }
  e.output = Matrix(2, 2, e.bias);
  for (const Matrix& p : e.partial)
    for (size_t i = 0; i < 4; ++i) e.output.v[i] += p.v[i];
  {
    // The engine on the (1, 4, 4, 3) image with the (3, 3, 3, 1) kernel.
    Tensor x(Shape{1, 4, 4, 3}), w(Shape{3, 3, 3, 1});
    for (int i = 0; i < 16; ++i)
      for (int c = 0; c < 3; ++c) x[i * 3 + c] = float(xs[c][i]);
    for (int i = 0; i < 9; ++i)
      for (int c = 0; c < 3; ++c) w[i * 3 + c] = float(ws[c][i]);
    NoGrad no_grad;
    const Var y = conv2d(Var::constant(x), Var::constant(w), Var::constant(Tensor::full({1}, float(e.bias))), 1, 1,
                         Padding::valid);
    e.engine_output = from_tensor_hw(y.value());
    e.engine_max_diff = max_abs_diff(e.output, e.engine_output);
  }

  Text& t = e.text;
  heading(t, "explain channels: a 3-channel input and one 3x3x3 filter");
  t.line();
  t.line("A colour image has 3 channels (R, G, B). A filter for it is not 3x3 but 3x3x3: one 3x3 slice per");
  t.line("input channel. Each slice slides over its own channel; the three results are added, plus one bias.");
  t.line("The output of one filter is a single channel, however many channels went in.");
  for (int c = 0; c < 3; ++c) {
    section(t, std::string("Channel ") + names[c] + ": input x_" + names[c] + " (4 x 4), kernel slice w_" + names[c] +
                   " (3 x 3), partial sum (2 x 2)");
    put(t,
        beside({matrix_block(e.input[size_t(c)], Style::value), middle(4, "  *  "),
                matrix_block(e.kernel[size_t(c)], Style::weight), middle(4, "  =  "),
                matrix_block(e.partial[size_t(c)], Style::result)},
               ""),
        "    ");
    std::string dot;
    for (int u = 0; u < 3; ++u)
      for (int v = 0; v < 3; ++v) {
        if (e.kernel[size_t(c)](u, v) == 0) continue;  // zero weights add nothing; left out to keep it short
        dot += (dot.empty() ? "" : " + ") + product(e.input[size_t(c)](u, v), e.kernel[size_t(c)](u, v));
      }
    t.line("    partial_" + std::string(names[c]) + "[0][0] = " + dot + " = " +
               format_number(e.partial[size_t(c)](0, 0)) + "   (zero weights left out)",
           Style::dim);
  }
  section(t, "Sum over channels, plus the bias " + format_number(e.bias));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      const std::string at = "[" + std::to_string(i) + "][" + std::to_string(j) + "]";
      t.add("    y" + at + " = ");
      for (int c = 0; c < 3; ++c) {
        const double v = e.partial[size_t(c)](i, j);
        t.add((c ? " + " : "") + (v < 0 ? "(" + format_number(v) + ")" : format_number(v)), Style::result);
      }
      t.add(" + " + format_number(e.bias) + " = ");
      t.line(format_number(e.output(i, j)), Style::highlight);
    }
  t.line("    y = " + matrix_literal(e.output));
  const bool agree = e.engine_max_diff <= 1e-5;
  t.add("    Check: ");
  t.line("the engine's conv2d, (1, 4, 4, 3) image and (3, 3, 3, 1) kernel, gives " +
             std::string(agree ? "the same" : "a DIFFERENT") + " y (max difference " +
             format_number(e.engine_max_diff) + ").",
         agree ? Style::good : Style::bad);

  section(t, "Parameters of a conv layer: k*k*Cin*Cout + Cout");
  t.line("    One filter: k*k*Cin weights (here 3*3*3 = 27) and 1 bias. A layer has Cout filters, so");
  t.line("    k*k*Cin*Cout weights and Cout biases. The image size does not appear: the same weights slide");
  t.line("    everywhere (weight sharing). VGG16's block1_conv1: 3*3*3*64 + 64 = 1,792; block5_conv3:");
  t.line("    3*3*512*512 + 512 = 2,359,808.");
  if (m) {
    for (size_t li = 0; li < m->layers.size(); ++li) {
      const Layer& l = m->layers[li];
      const Shape& in = m->input_shape(int(li));
      if (l.type == LayerType::conv2d) {
        ParamCountRow r;
        r.layer = l.name, r.kh = l.kernel_h, r.kw = l.kernel_w, r.cin = in[2], r.cout = l.filters, r.bias = l.use_bias;
        r.formula = int64_t(r.kh) * r.kw * r.cin * r.cout + (r.bias ? r.cout : 0);
        r.actual = l.param_count();
        e.params.push_back(r);
      }
    }
    t.line();
    t.line("    Checked on every conv layer of " + model_label + ":");
    t.line("    the formula vs the size of the weights in the file", Style::dim);
    int bad = 0;
    char line[240];
    for (const ParamCountRow& r : e.params) {
      const std::string f = std::to_string(r.kh) + "*" + std::to_string(r.kw) + "*" + std::to_string(r.cin) + "*" +
                            std::to_string(r.cout) + (r.bias ? " + " + std::to_string(r.cout) : " + 0 (no bias)");
      std::snprintf(line, sizeof line, "    %-16s %-28s = %11s   file: %11s   ", r.layer.c_str(), f.c_str(),
                    with_commas(r.formula).c_str(), with_commas(r.actual).c_str());
      t.add(line);
      t.line(r.formula == r.actual ? "ok" : "MISMATCH", r.formula == r.actual ? Style::good : Style::bad);
      bad += r.formula != r.actual;
    }
    if (e.params.empty())
      t.line("    (the model has no Conv2D layers)");
    else
      t.line(bad ? "    " + std::to_string(bad) + " layers disagree."
                 : "    All " + std::to_string(e.params.size()) + " conv layers match the formula.",
             bad ? Style::bad : Style::good);
  }
  return e;
}

}  // namespace convis
