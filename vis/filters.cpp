#include "vis/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "vis/image.h"
#include "vis/layout.h"
#include "vis/text.h"

namespace convis {

namespace {

std::string fmt(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", double(v));
  return buf;
}

bool has_kernels(const Layer& l) {
  return l.type == LayerType::conv2d || l.type == LayerType::depthwise_conv2d || l.type == LayerType::separable_conv2d;
}

// The convolution layers of m, for error messages.
std::string conv_layer_names(const Model& m) {
  std::string s;
  for (const Layer& l : m.layers)
    if (has_kernels(l)) s += (s.empty() ? "" : ", ") + l.name;
  return s.empty() ? "(none)" : s;
}

// True when the layer's input is the image itself (no weighted layer before it).
bool sees_the_image(const Model& m, const Layer& layer) {
  for (const Layer& l : m.layers) {
    if (&l == &layer) return true;
    if (l.type == LayerType::conv2d || l.type == LayerType::dense) return false;
  }
  return false;
}

}  // namespace

WeightNorm parse_weight_norm(const std::string& name) {
  if (name == "layer") return WeightNorm::layer;
  if (name == "filter") return WeightNorm::filter;
  throw std::invalid_argument("unknown normalisation '" + name + "'; valid: layer, filter");
}

const Layer& conv_layer(const Model& m, const std::string& name) {
  const Layer& l = m.layers[size_t(m.layer_index(name))];
  if (has_kernels(l)) {
    if (l.weights.empty())
      throw std::invalid_argument("layer '" + name + "' (" + l.class_name + ") has no weights loaded");
    return l;
  }
  const std::string what = l.weights.empty() ? "has no weights" : "has no convolution kernels";
  throw std::invalid_argument("layer '" + name + "' (" + l.class_name + ") " + what +
                              "; filters draws convolution layers: " + conv_layer_names(m));
}

Tensor drawn_kernel(const Layer& l) {
  const Tensor& k = l.weights.at(0).value();
  if (l.type == LayerType::conv2d) return k;
  return k.reshape(Shape{k.dim(0), k.dim(1), 1, k.dim(2) * k.dim(3)});
}

void default_filter_range(const Layer& l, int& first, int& last) {
  const Tensor k = drawn_kernel(l);
  const int64_t C = k.dim(2), OC = k.dim(3);
  first = 0;
  // A depthwise layer has hundreds of one-channel kernels: the first 64 by default.
  last = int(C == 3 ? OC : C == 1 ? (l.type == LayerType::conv2d ? OC : std::min<int64_t>(OC, 64)) : std::min<int64_t>(OC, 16)) - 1;
}

float WeightRange::to_unit(float w) const {
  if (symmetric) {
    const float a = std::max(std::fabs(lo), std::fabs(hi));
    return a > 0.f ? 0.5f + 0.5f * w / a : 0.5f;
  }
  return hi > lo ? (w - lo) / (hi - lo) : 0.5f;
}

WeightRange weight_range(const Tensor& kernel, int first, int last, bool symmetric) {
  // kernel: (KH, KW, C, OC); filter o is the elements with index % OC == o.
  const int64_t OC = kernel.dim(3);
  if (first < 0) {
    first = 0;
    last = int(OC) - 1;
  }
  WeightRange r;
  r.symmetric = symmetric;
  bool any = false;
  for (int64_t i = 0; i < kernel.numel(); ++i) {
    const int64_t o = i % OC;
    if (o < first || o > last) continue;
    const float w = kernel[i];
    r.lo = any ? std::min(r.lo, w) : w;
    r.hi = any ? std::max(r.hi, w) : w;
    any = true;
  }
  if (symmetric) {
    const float a = std::max(std::fabs(r.lo), std::fabs(r.hi));
    r.lo = -a;
    r.hi = a;
  }
  return r;
}

Canvas filter_sheet(const Model& m, const std::string& name, const FilterSheetOptions& opt) {
  const Layer& l = conv_layer(m, name);
  const Tensor k = drawn_kernel(l);  // (KH, KW, C, OC)
  const int KH = int(k.dim(0)), KW = int(k.dim(1)), C = int(k.dim(2)), OC = int(k.dim(3));
  int first = opt.first, last = opt.last;
  if (last < 0) {
    int d_first = 0;
    default_filter_range(l, d_first, last);
    last = std::max(first, last);
  }
  if (first < 0 || last < first || last >= OC)
    throw std::invalid_argument("layer '" + name + "' has filters 0-" + std::to_string(OC - 1) + ", asked for " +
                                std::to_string(first) + "-" + std::to_string(last));
  if (opt.max_channels < 1)
    throw std::invalid_argument("max_channels must be at least 1, got " + std::to_string(opt.max_channels));
  const bool rgb = C == 3;
  const bool symmetric = !rgb && opt.cmap == Colormap::blue_red;
  const bool per_filter = opt.norm == WeightNorm::filter;
  const WeightRange layer_range = weight_range(k, -1, -1, symmetric);
  auto range_of = [&](int o) { return per_filter ? weight_range(k, o, o, symmetric) : layer_range; };
  auto w_at = [&](int y, int x, int c, int o) { return k[((int64_t(y) * KW + x) * C + c) * OC + o]; };
  const std::string norm_text =
      per_filter ? std::string(symmetric ? "each filter scaled by its own max |w|" : "min-max per filter")
                 : (symmetric ? "scaled by the layer's max |w| = " + fmt(layer_range.hi)
                              : "min-max over the layer: " + fmt(layer_range.lo) + " .. " + fmt(layer_range.hi));
  std::string title = name + " (" + l.class_name + "), kernel " + l.weights[0].shape().str();
  if (l.type == LayerType::depthwise_conv2d) title += ": one kernel per output channel, each on one input channel";
  if (l.type == LayerType::separable_conv2d)
    title += ", its depthwise part: one kernel per input channel (the pointwise kernel " +
             l.weights.at(1).shape().str() + " then mixes them)";
  title += "\n";
  title += "filters " + std::to_string(first) + "-" + std::to_string(last) + " of " + std::to_string(OC) + ", ";

  const int max_k = std::max(KH, KW);
  if (rgb || C == 1) {
    // One tile per filter: the kernel is a tiny KH x KW image. keras.applications' VGG16 sees
    // BGR (caffe preprocessing), so its channels are reversed to show the colours they respond to.
    const bool bgr = rgb && sees_the_image(m, l) && default_preprocess(m) == Preprocess::caffe;
    const int factor = std::max(2, 64 / max_k);  // about 64 px tiles
    std::vector<Tile> tiles;
    for (int o = first; o <= last; ++o) {
      const WeightRange r = range_of(o);
      Canvas t(KW, KH);
      for (int y = 0; y < KH; ++y)
        for (int x = 0; x < KW; ++x) {
          if (rgb) {
            auto v = [&](int c) { return uint8_t(std::lround(255.f * std::clamp(r.to_unit(w_at(y, x, bgr ? 2 - c : c, o)), 0.f, 1.f))); };
            t.set(x, y, {v(0), v(1), v(2)});
          } else {
            t.set(x, y, colormap(opt.cmap, r.to_unit(w_at(y, x, 0, o))));
          }
        }
      tiles.push_back({upscale_nearest(t, factor), "#" + std::to_string(o)});
    }
    title += rgb ? std::string(bgr ? "input channels B, G, R shown as R, G, B" : "input channels shown as R, G, B")
                 : std::string(colormap_name(opt.cmap));
    title += ", " + norm_text;
    GridOptions g;
    g.title = title;
    g.title_px = 12;
    g.gap = 6;
    g.frame = true;
    if (tiles.size() <= 8) g.columns = int(tiles.size());
    Canvas sheet = make_grid(tiles, g);
    if (!rgb && !per_filter) sheet = add_colorbar(sheet, opt.cmap, layer_range.lo, layer_range.hi, "weight");
    return sheet;
  }

  // Deeper layer: a row per filter, a column per input channel, labels on the left and on top.
  const int nc = std::min(C, opt.max_channels);
  const int factor = std::max(2, (last - first + 1 > 64 ? 18 : 30) / max_k);  // long sheets: smaller squares
  const int tw = KW * factor, th = KH * factor, kgap = 3, rgap = 7, label_px = 12, margin = 8;  // make_grid's margin
  const int label_w = text_width("#" + std::to_string(last), label_px) + 8;
  const int head_h = label_px + 4;
  title += "input channels 0-" + std::to_string(nc - 1) + " of " + std::to_string(C) + " (one per column), " +
           colormap_name(opt.cmap) + ", " + norm_text;
  // Title block drawn by make_grid with no tiles: it measures and lays out the lines for us.
  GridOptions g;
  g.title = title;
  g.gap = 6;
  const Canvas head = make_grid({}, g);
  const int rows = last - first + 1;
  const int grid_w = label_w + nc * tw + (nc - 1) * kgap;
  const int grid_h = head_h + rows * th + (rows - 1) * rgap;
  const int head_used = head.height - margin;  // make_grid's bottom margin overlaps ours
  Canvas sheet(std::max(head.width, grid_w + 2 * margin), head_used + grid_h + margin);
  sheet.blit(head, 0, 0);
  const int x0 = margin, y0 = head_used;
  for (int c = 0; c < nc; ++c) {
    const std::string s = std::to_string(c);
    draw_text(sheet, x0 + label_w + c * (tw + kgap) + (tw - text_width(s, label_px)) / 2, y0, s, label_px, {90, 90, 90});
  }
  for (int r = 0; r < rows; ++r) {
    const int o = first + r;
    const WeightRange range = range_of(o);
    const int y = y0 + head_h + r * (th + rgap);
    draw_text(sheet, x0, y + (th - label_px) / 2, "#" + std::to_string(o), label_px, {40, 40, 40});
    for (int c = 0; c < nc; ++c) {
      Canvas t(KW, KH);
      for (int ky = 0; ky < KH; ++ky)
        for (int kx = 0; kx < KW; ++kx) t.set(kx, ky, colormap(opt.cmap, range.to_unit(w_at(ky, kx, c, o))));
      const int x = x0 + label_w + c * (tw + kgap);
      sheet.outline_rect(x - 1, y - 1, tw + 2, th + 2, {170, 170, 170});
      sheet.blit(upscale_nearest(t, factor), x, y);
    }
  }
  if (!per_filter) sheet = add_colorbar(sheet, opt.cmap, layer_range.lo, layer_range.hi, "weight");
  return sheet;
}

}  // namespace convis
