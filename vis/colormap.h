#pragma once
// Numbers to colours: the colormaps, and float maps drawn through them onto a Canvas.
//
//   Canvas map = render_map(fmap.data(), 12, 12, lo, hi, Colormap::viridis);   // one feature map
#include <string>

#include "vis/canvas.h"

namespace convis {

// viridis: feature maps (as the Keras tutorial); reds: sequential heatmaps; jet: jet-like heatmaps;
// blue_red: diverging, for signed weights (0.5 is white); grey.
enum class Colormap { grey, viridis, reds, jet, blue_red };
Colormap parse_colormap(const std::string& name);  // throws listing the valid names
const char* colormap_name(Colormap c);
Rgb colormap(Colormap c, float t);  // t in [0, 1], clamped

// A single-channel map h x w (row-major floats) through a colormap, [lo, hi] mapped to [0, 1].
// lo == hi draws the middle colour everywhere (a constant map is not an error).
Canvas render_map(const float* data, int h, int w, float lo, float hi, Colormap cm);
// Interleaved RGB floats h x w x 3, [lo, hi] mapped to 0..255 (clamped).
Canvas render_rgb(const float* data, int h, int w, float lo, float hi);

}  // namespace convis
