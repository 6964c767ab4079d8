#pragma once
// Numbers to colours: the colormaps, and float maps drawn through them onto a Canvas.
//
//   Canvas map = render_map(fmap.data(), 12, 12, lo, hi, Colormap::viridis);   // one feature map
#include <string>

#include "vis/canvas.h"

namespace convis {

// viridis: feature maps (as the Keras tutorial); reds: sequential heatmaps; jet: jet-like heatmaps;
// blue_red: diverging, for signed values (ColorBrewer's RdBu reversed: blue below, red above, pure
// white at 0.5; with diverging_scale 0.5 is the value 0); grey.
enum class Colormap { grey, viridis, reds, jet, blue_red };
Colormap parse_colormap(const std::string& name);  // throws listing the valid names
const char* colormap_name(Colormap c);
Rgb colormap(Colormap c, float t);  // t in [0, 1], clamped

// How a map's values become colours: cm over [lo, hi].
struct ColorScale {
  Colormap cm = Colormap::viridis;
  float lo = 0.f, hi = 1.f;
};
// For signed values from mn to mx: blue_red over the symmetric [-m, m], m = max(|mn|, |mx|) (1 when
// that is 0 or not finite), so that 0 is the map's white centre (t = 0.5) and +v and -v lie equally
// far from it on either side, however lopsided mn and mx are.
ColorScale diverging_scale(float mn, float mx);

// A single-channel map h x w (row-major floats) through a colormap, [lo, hi] mapped to [0, 1].
// lo == hi draws the middle colour everywhere (a constant map is not an error).
Canvas render_map(const float* data, int h, int w, float lo, float hi, Colormap cm);
// Interleaved RGB floats h x w x 3, [lo, hi] mapped to 0..255 (clamped).
Canvas render_rgb(const float* data, int h, int w, float lo, float hi);

}  // namespace convis
