#pragma once
// The learned convolution kernels of one Conv2D layer as a picture.
//
//   A layer that sees the image (3 or 1 input channels): one tile per filter, the KHxKW kernel as an
//   RGB (or grey) picture, weights min-max normalised over the whole layer (or per filter).
//   A deeper layer (C input channels): one row per filter, holding its KHxKW kernel for each of the
//   first max_channels input channels, through a colormap (grey, or blue_red centred on zero).
//
//   Model m = load_model("darknet_tiny_imagenet.h5");
//   FilterSheetOptions opt;                        // layer normalisation, grey
//   Canvas sheet = filter_sheet(m, "conv2d_1", opt);
//   write_png(sheet, "out/filters_conv2d_1.png");
#include <string>

#include "engine/model.h"
#include "vis/canvas.h"
#include "vis/colormap.h"

namespace convis {

enum class WeightNorm { layer, filter };
WeightNorm parse_weight_norm(const std::string& name);  // "layer" | "filter"; throws listing both

struct FilterSheetOptions {
  int first = 0;          // filters first..last (inclusive)
  int last = -1;          // -1: the default range (see default_filter_range)
  int max_channels = 16;  // deeper layers: input channels 0..max_channels-1 per row
  WeightNorm norm = WeightNorm::layer;
  Colormap cmap = Colormap::grey;  // grey (min-max) or blue_red (symmetric about 0); not for RGB tiles
};

// Filters shown when none are asked for: all of them for a layer with 1 or 3 input channels (one
// tile each; the first 64 of a depthwise layer), the first 16 for deeper layers (one row of kernels each).
void default_filter_range(const Layer& l, int& first, int& last);
// The kernel as a sheet draws it, (KH, KW, C, OC): a Conv2D's own; a DepthwiseConv2D's or
// SeparableConv2D's depthwise kernel (KH, KW, C, M) as (KH, KW, 1, C*M), the same memory: output
// channel c*M + m sees input channel c alone, so each is one small grey kernel.
Tensor drawn_kernel(const Layer& l);

// The convolution layer `name` of m (Conv2D, DepthwiseConv2D, SeparableConv2D), or an error naming
// the layer and its class (Dense, pooling, ...).
const Layer& conv_layer(const Model& m, const std::string& name);

// Normalisation of weights to [0, 1] for display. Grey / RGB: (w - lo) / (hi - lo). blue_red:
// w / (2 * max|w|) + 0.5, so zero is white. lo/hi (or max|w|) over the layer's kernel, or over one
// filter's kernel for WeightNorm::filter. A constant set maps to 0.5.
struct WeightRange {
  float lo = 0.f, hi = 0.f;
  bool symmetric = false;
  float to_unit(float w) const;
};
// Range over filters [first, last] of kernel (KH, KW, C, OC), all of them when first < 0.
WeightRange weight_range(const Tensor& kernel, int first, int last, bool symmetric);

// The sheet for one layer. Throws for layers that are not Conv2D, and for a bad filter range.
Canvas filter_sheet(const Model& m, const std::string& layer, const FilterSheetOptions& opt);

}  // namespace convis
