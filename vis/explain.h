#pragma once
// Teaching mode: the worked examples of a CNN course, with every number shown.
//
// Each explain_* function computes its example twice, once by the definition in double (the way
// a student does it on paper) and once with the engine (engine/ops.h, the kernels the models
// run on), and returns the numbers together with the text that walks through them. The text is
// a list of styled spans: a terminal colours them (ANSI), a test or a log takes them plain.
//
//   ConvExplanation e = explain_conv(default_conv_spec());   // the 6x5 edge exercise
//   std::fputs(e.text.str(isatty(1)).c_str(), stdout);
//   e.output;        // 4x3: [[0,0,0],[6000,6000,6000],[6000,6000,6000],[0,0,0]]
//   e.engine_max_diff;   // |by hand - engine conv2d|, 0 here
#include <cstdint>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/tensor.h"
#include "vis/canvas.h"

namespace convis {

// ---- styled text ---------------------------------------------------------------------------
// value: numbers from the input; weight: kernel weights; result: computed numbers;
// highlight: what the example is about (the edge, the maximum); good / bad: checks.
enum class Style { plain, heading, dim, value, weight, result, highlight, good, bad };

struct Span {
  std::string text;
  Style style = Style::plain;
};

class Text {
 public:
  Text& add(const std::string& s, Style st = Style::plain);
  Text& line(const std::string& s = "", Style st = Style::plain);  // s and a newline
  Text& append(const Text& other);
  std::string plain() const;
  std::string ansi() const;  // ANSI SGR colours, reset after every span
  std::string str(bool colour) const { return colour ? ansi() : plain(); }
  const std::vector<Span>& spans() const { return spans_; }

 private:
  std::vector<Span> spans_;
};

// ---- small matrices --------------------------------------------------------------------------
struct Matrix {
  int rows = 0, cols = 0;
  std::vector<double> v;  // row-major

  Matrix() = default;
  Matrix(int r, int c, double fill = 0.0) : rows(r), cols(c), v(size_t(r) * size_t(c), fill) {}
  double& operator()(int r, int c) { return v[size_t(r) * size_t(cols) + size_t(c)]; }
  double operator()(int r, int c) const { return v[size_t(r) * size_t(cols) + size_t(c)]; }
};

// "1,2;3,4" -> [[1,2],[3,4]]: rows split by ';', values by ',' (spaces around them are ignored).
// Throws std::invalid_argument naming `what` (e.g. "--input"), the row and the bad value.
Matrix parse_matrix(const std::string& text, const std::string& what);
// Integers as integers (6000, -10), others with up to 4 significant digits (0.25, 1.5e-05).
std::string format_number(double v);
// "[[0, 0, 0], [6000, 6000, 6000]]", as NumPy's tolist() prints.
std::string matrix_literal(const Matrix& m);

// ---- explain conv ----------------------------------------------------------------------------
struct ConvSpec {
  Matrix input, kernel;  // one channel
  int stride = 1, pad = 0;
  double bias = 0.0;
};
// The exercise every CNN course uses: 6x5, top three rows 200, bottom three 0, and the horizontal
// edge filter [[10,10,10],[0,0,0],[-10,-10,-10]], no padding, stride 1.
ConvSpec default_conv_spec();

// One axis of floor((n + 2p - k) / s) + 1.
struct ConvAxis {
  int n = 0, k = 0, s = 1, p = 0;
  int span = 0;     // n + 2p - k; negative: the kernel does not fit
  int out = 0;      // floor(span / s) + 1, or 0 when it does not fit
  int dropped = 0;  // input rows (columns) past the last window when s does not divide span
  bool fits() const { return span >= 0; }
  bool exact() const { return span >= 0 && span % s == 0; }
};

struct ConvCell {
  int row = 0, col = 0;   // output position
  int top = 0, left = 0;  // window's top-left corner in the padded input
  Matrix window;
  double sum = 0.0;  // including the bias
};

struct ConvExplanation {
  ConvSpec spec;
  Matrix padded;  // the input with `pad` zeros around it
  ConvAxis height, width;
  bool possible = false;        // the kernel fits in the padded input
  std::vector<ConvCell> cells;  // row-major over the output
  Matrix output;                // by hand, in double
  Matrix engine_output;         // engine conv2d (valid) on the padded input
  double engine_max_diff = 0.0;
  double edge = 0.0;  // the largest |output|: the cells the example highlights
  Text text;
};
// Throws std::invalid_argument for values that are wrong, not merely impossible together
// (stride < 1, pad < 0, empty matrices); explains kernels larger than the padded input.
ConvExplanation explain_conv(const ConvSpec& spec);

// The picture of one step of explain conv (vis/explain_png.cpp): the (padded) input with numbers
// in the cells and the window of output cell `step` outlined, the kernel, and the output filled in
// up to `step` (every cell when all_done), with the expanded sum written underneath.
Canvas draw_conv_step(const ConvExplanation& e, int step, bool all_done);

// ---- explain im2col --------------------------------------------------------------------------
struct GemmShapeRow {
  std::string layer;
  int64_t H = 0, W = 0, C = 0, OH = 0, OW = 0, OC = 0;
  int64_t M = 0, K = 0, N = 0;  // M = OH*OW, K = KH*KW*C, N = OC
  double flops = 0.0;           // 2*M*K*N
  double col_bytes = 0.0;       // the patch matrix, float32
};

struct Im2colExplanation {
  ConvExplanation conv;  // the direct sums
  Matrix patches;        // (OH*OW, KH*KW), from the engine's im2col_nhwc
  Matrix kernel_column;  // (KH*KW, 1)
  Matrix gemm_output;    // (OH*OW, 1) = patches x kernel_column (+ bias), by gemm_f32
  Matrix result;         // reshaped to (OH, OW)
  double max_diff_vs_direct = 0.0;
  std::vector<GemmShapeRow> vgg16;  // every conv layer of VGG16 at input_size x input_size
  double total_flops = 0.0;
  Text text;
};
Im2colExplanation explain_im2col(const ConvSpec& spec, int input_size = 224);

// ---- explain channels ------------------------------------------------------------------------
struct ParamCountRow {
  std::string layer;
  int kh = 0, kw = 0;
  int64_t cin = 0, cout = 0;
  bool bias = true;
  int64_t formula = 0, actual = 0;  // kh*kw*cin*cout (+ cout), and Layer::param_count()
};

struct ChannelsExplanation {
  std::vector<Matrix> input, kernel;  // one per channel
  double bias = 0.0;
  std::vector<Matrix> partial;  // per-channel partial sums (OH, OW)
  Matrix output;                // sum of the partials + bias
  Matrix engine_output;
  double engine_max_diff = 0.0;
  std::vector<ParamCountRow> params;  // the model's conv layers when one is given
  Text text;
};
// m (optional, built): check the parameter formula on every conv layer of a real model.
ChannelsExplanation explain_channels(const Model* m = nullptr, const std::string& model_label = "");

// ---- explain pool / relu / softmax -----------------------------------------------------------
struct PoolExplanation {
  Matrix input, output;         // 2x2 max pooling, stride 2
  std::vector<int> argmax;      // per output cell, the row-major index into input
  Matrix upstream, grad_input;  // dL/dy given, dL/dx by hand
  Matrix engine_output, engine_grad;
  double engine_max_diff = 0.0;
  Text text;
};
PoolExplanation explain_pool();

struct ReluExplanation {
  std::vector<double> x, y, upstream, grad;  // y = relu(x), grad = upstream * (x > 0)
  std::vector<double> engine_y, engine_grad;
  double engine_max_diff = 0.0;
  Text text;
};
ReluExplanation explain_relu();

struct SoftmaxExplanation {
  std::vector<double> logits, shifted, exps, probs;
  std::vector<double> engine_probs;
  double engine_max_diff = 0.0;
  // The same logits plus 1000: naive exp overflows float, the shifted form does not.
  std::vector<double> big_logits, big_probs;
  bool naive_overflows = false;
  Text text;
};
// Empty logits: the classic [2, 1, 0.1].
SoftmaxExplanation explain_softmax(const std::vector<double>& logits = {});

// ---- explain backprop ------------------------------------------------------------------------
// L = mean(maxpool2x2(relu(conv2d(x, w) + b))), x 5x5, w 2x2: forward values, gradients from the
// engine's autodiff, and central finite differences of L for every input, weight and the bias.
struct BackpropExplanation {
  Matrix x, w;
  double b = 0.0;
  Matrix z, a, p;  // conv + bias, relu, maxpool
  double loss = 0.0;
  Matrix dp, da, dz, dw, dx;  // autodiff
  double db = 0.0;
  Matrix fd_w, fd_x;  // finite differences
  double fd_b = 0.0;
  double max_diff = 0.0;  // max |autodiff - finite difference| over w, b and x
  double step = 0.0;      // the finite-difference step h
  Text text;
};
BackpropExplanation explain_backprop();

// ---- explain value ---------------------------------------------------------------------------
// One output value of a real conv layer taken apart: y[0, at_y, at_x, filter] of layer `layer`.
struct ValueTerm {
  int u = 0, v = 0, c = 0;  // kernel position and input channel
  int row = 0, col = 0;     // input position (may lie in the padding)
  bool padding = false;
  double x = 0.0, w = 0.0, product = 0.0;
};

struct ValueStep {  // a layer after the conv that acts on this one value (BatchNorm, activations)
  std::string layer, class_name;
  double before = 0.0, after = 0.0;
  std::string formula;  // with the numbers filled in
};

struct ValueExplanation {
  std::string layer, input_layer;  // the conv, and the layer whose output it reads
  int layer_index = 0;
  int at_y = 0, at_x = 0, filter = 0;
  int kh = 0, kw = 0, channels = 0, top = 0, left = 0;       // the window in the layer's input
  int rf_top = 0, rf_left = 0, rf_bottom = 0, rf_right = 0;  // receptive field in the image (inclusive, clipped)
  std::vector<ValueTerm> terms;                              // all kh*kw*channels products
  double sum = 0.0, bias = 0.0, conv_value = 0.0;
  float engine_conv = 0.f;  // the engine's conv output (pre-activation)
  std::vector<ValueStep> steps;
  double value = 0.0;        // after all steps, by hand
  float engine_value = 0.f;  // the engine's output of the last step's layer
  std::string last_layer;
  double conv_diff = 0.0, value_diff = 0.0;  // |by hand - engine|
  Text text;
};
// input: (1, H, W, C), already preprocessed, H x W the size m was built for. Throws
// std::invalid_argument for a layer that is not a Conv2D (listing those that are) and for
// out-of-range at_y / at_x / filter (saying the range).
ValueExplanation explain_value(const Model& m, const Tensor& input, const std::string& layer, int at_y, int at_x,
                               int filter, const std::string& input_note = "");

}  // namespace convis
