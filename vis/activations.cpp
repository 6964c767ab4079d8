#include "vis/activations.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "vis/layout.h"

namespace convis {

ActivationNorm parse_activation_norm(const std::string& name) {
  if (name == "keras") return ActivationNorm::keras;
  if (name == "minmax") return ActivationNorm::minmax;
  throw std::invalid_argument("unknown normalisation '" + name + "'; valid: keras, minmax");
}

void keras_display_values(const float* x, int64_t n, int64_t stride, float* out) {
  if (n <= 0) return;
  // Two passes in double: mean, then the population variance (NumPy's std, ddof = 0).
  double mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += double(x[i * stride]);
  mean /= double(n);
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(x[i * stride]) - mean;
    var += d * d;
  }
  const double sd = std::sqrt(var / double(n));
  for (int64_t i = 0; i < n; ++i) {
    const double z = sd > 0.0 ? (double(x[i * stride]) - mean) / sd : 0.0;
    out[i] = float(std::floor(std::clamp(z * 64.0 + 128.0, 0.0, 255.0)));
  }
}

std::vector<Tensor> layer_outputs(const Model& m, const Tensor& x, int last, const std::vector<int>& keep) {
  if (last < 0) last = int(m.layers.size()) - 1;
  if (last >= int(m.layers.size()))
    throw std::invalid_argument("layer_outputs: layer index " + std::to_string(last) + " out of range");
  auto kept = [&](int i) { return keep.empty() || std::find(keep.begin(), keep.end(), i) != keep.end(); };
  std::vector<Tensor> outs(m.layers.size());
  if (kept(0)) outs[0] = x;
  NoGrad no_grad;
  // One forward pass over last's ancestors; the hook keeps the outputs asked for. In a graph a
  // kept layer need not be one of them (another branch of Inception's mixed10): then the pass
  // runs to the model's output instead, whose ancestors are every layer of a loaded model.
  int run_to = last;
  if (!m.is_chain()) {
    std::vector<char> ancestor(size_t(last) + 1, 0);
    ancestor[size_t(last)] = 1;
    for (int i = last; i > 0; --i)
      if (ancestor[size_t(i)])
        for (int j : m.inputs_of(i)) ancestor[size_t(j)] = 1;
    for (int i : keep)
      if (i > 0 && i <= last && !ancestor[size_t(i)]) run_to = int(m.layers.size()) - 1;
  }
  m.forward(Var::constant(x), run_to, false, [&](int i, Var& out) {
    if (i > 0 && i <= last && kept(i)) outs[size_t(i)] = out.value();
  });
  // A layer on no path to the output (possible in a model built in code): its own pass.
  for (int i : keep)
    if (i > 0 && i <= last && !outs[size_t(i)].defined()) outs[size_t(i)] = m.forward(Var::constant(x), i).value();
  return outs;
}

std::vector<int> activation_layers(const Model& m) {
  std::vector<int> idx;
  for (size_t i = 1; i < m.layers.size(); ++i) {
    const Layer& l = m.layers[i];
    const bool kind = l.type == LayerType::conv2d || l.type == LayerType::depthwise_conv2d ||
                      l.type == LayerType::separable_conv2d || l.type == LayerType::max_pool2d ||
                      l.type == LayerType::avg_pool2d;
    if (kind && l.has_spatial_output()) idx.push_back(int(i));
  }
  return idx;
}

std::vector<float> channel_display(const Tensor& out, int channel, ActivationNorm norm) {
  const int64_t H = out.dim(1), W = out.dim(2), C = out.dim(3);
  const float* p = out.data() + channel;
  std::vector<float> v(size_t(H * W));
  if (norm == ActivationNorm::keras) {
    keras_display_values(p, H * W, C, v.data());
    for (float& t : v) t /= 255.f;
    return v;
  }
  float lo = p[0], hi = p[0];
  for (int64_t i = 0; i < H * W; ++i) {
    lo = std::min(lo, p[i * C]);
    hi = std::max(hi, p[i * C]);
  }
  for (int64_t i = 0; i < H * W; ++i) v[size_t(i)] = hi > lo ? (p[i * C] - lo) / (hi - lo) : 0.5f;
  return v;
}

Canvas activation_sheet(const Layer& l, const Tensor& out, const ActivationOptions& opt) {
  if (out.rank() != 4 || out.dim(0) != 1)
    throw std::invalid_argument("layer '" + l.name + "' (" + l.class_name + ") has output " + out.shape().str() +
                                ", no spatial feature maps to draw (need (1, H, W, C))");
  const int H = int(out.dim(1)), W = int(out.dim(2)), C = int(out.dim(3));
  const int n = opt.max_channels > 0 ? std::min(C, opt.max_channels) : C;

  // Tile size: about max_width across a square-ish grid, between 40 and 224 pixels; small maps are
  // enlarged by a whole factor (pixels stay crisp squares), large ones shrunk by area averaging.
  const int cols = std::max(1, int(std::ceil(std::sqrt(double(n)))));
  const int gap = n > 64 ? 4 : 6;
  const int target = std::clamp(opt.max_width / cols - gap, 40, 224);
  const int longer = std::max(H, W);
  const int title_px = target < 64 ? 10 : target < 120 ? 12 : 13;

  // Whole-factor enlargement rounds to the nearest factor (a 14x14 map at a 40 px target is drawn
  // 3x, 42 px), unless that overshoots the target by more than a quarter.
  int factor = 1;
  if (longer <= target) {
    factor = std::max(1, int(std::lround(double(target) / longer)));
    if (factor * longer > target + target / 4) factor = std::max(1, target / longer);
  }
  std::vector<Tile> tiles;
  tiles.reserve(size_t(n));
  for (int c = 0; c < n; ++c) {
    const std::vector<float> v = channel_display(out, c, opt.norm);
    Canvas t = render_map(v.data(), H, W, 0.f, 1.f, opt.cmap);
    if (longer <= target)
      t = upscale_nearest(t, factor);
    else
      t = resize_bilinear(t, std::max(1, H * target / longer), std::max(1, W * target / longer));
    // A constant channel (a ReLU that never fires on this image, say) says so in its title: its
    // uniform mid colour would otherwise read as a real, evenly middling response.
    const float* p = out.data() + c;
    bool flat = true;
    for (int64_t i = 1; i < int64_t(H) * W && flat; ++i) flat = p[i * C] == p[0];
    tiles.push_back({std::move(t), "#" + std::to_string(c) + (flat ? " flat" : "")});
  }
  GridOptions g;
  g.columns = cols;
  g.gap = gap;
  g.title_px = title_px;
  g.frame = true;  // pale maps would melt into the white page
  g.title = l.name + " (" + l.class_name + "), output " + Shape{H, W, C}.str() + ", " +
            (n < C ? "channels 0-" + std::to_string(n - 1) + " of " + std::to_string(C) : std::to_string(C) + " channels");
  const std::string how = opt.norm == ActivationNorm::keras ? "per channel (x - mean) / std * 64 + 128, clipped to 0..255"
                                                            : "per channel min..max";
  const std::string scale = longer <= target ? (factor > 1 ? ", pixels shown " + std::to_string(factor) + "x" : "")
                                             : ", maps shrunk to " + std::to_string(tiles[0].image.width) + " px";
  g.title += "\n" + (opt.subtitle.empty() ? "" : opt.subtitle + "; ") + how + ", " + colormap_name(opt.cmap) + scale;
  return make_grid(tiles, g);
}

}  // namespace convis
