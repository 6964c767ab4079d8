#pragma once
// Which input pixels one output of a layer sees, through every path of the graph (a ResNet's skip
// sees less than its conv branch; the union is what the unit can see).
//
//   const PixelBox b = receptive_box(m, m.layer_index("conv2d_5"), 3, 4);   // rows b.top..b.bottom
#include <cstdint>

#include "engine/model.h"

namespace convis {

// Inclusive bounds in input pixels, not clipped to the image (padding reaches outside it).
struct PixelBox {
  int64_t top = 0, bottom = -1, left = 0, right = -1;
  bool empty() const { return bottom < top || right < left; }
  int64_t height() const { return bottom - top + 1; }
  int64_t width() const { return right - left + 1; }
};

// The box of input pixels that output (y, x) of layer `layer` (spatial output, built model)
// depends on: each convolution, depthwise or separable convolution and pooling maps an output
// window back through its kernel, stride and padding; ZeroPadding2D, Cropping2D and UpSampling2D
// shift or scale it; a layer without a spatial output (global pooling, Dense) sees everything.
// Throws if the layer is out of range or (y, x) is outside its output.
PixelBox receptive_box(const Model& m, int layer, int64_t y, int64_t x);

// The side of the square one unit near the centre of layer `layer` sees, capped at 1 << 20.
int unit_receptive_field(const Model& m, int layer);

}  // namespace convis
