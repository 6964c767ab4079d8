#pragma once
// Several pictures on one sheet: grids of titled tiles, titled pictures side by side, and a colour
// bar beside a picture. Every sheet convis writes is one of these.
//
//   std::vector<Tile> tiles = {{upscale_nearest(map, 8), "block3_conv1 #7"}, ...};
//   GridOptions opt; opt.title = "block3_conv1, 256 channels";
//   Canvas sheet = make_grid(tiles, opt);
#include <string>
#include <vector>

#include "vis/canvas.h"
#include "vis/colormap.h"

namespace convis {

struct Tile {
  Canvas image;
  std::string title;  // drawn above the tile; empty: no title row
};

struct GridOptions {
  std::string title;   // sheet title, drawn on top; empty: none
  int columns = 0;     // 0: about square
  int tile_size = 0;   // 0: tiles as given; else each tile is scaled (nearest when enlarging by an
                       // integer factor, bilinear otherwise) so its longer side is tile_size
  int gap = 6;
  int title_px = 13;   // tile titles
  int sheet_title_px = 18;   // first line of `title`; further lines ('\n') are details, 3/4 size
  Rgb background = {255, 255, 255};
  bool frame = false;  // a 1-pixel grey frame just outside each tile (tiles that may be white at the edge)
};
Canvas make_grid(const std::vector<Tile>& tiles, const GridOptions& opt);

// Side by side with a gap, each optionally titled (used for image | map | overlay).
Canvas hstack(const std::vector<Canvas>& parts, const std::vector<std::string>& titles = {}, int gap = 8);

// A vertical colour bar for [lo, hi] with tick labels and a label, added right of the canvas.
// The ticks are colorbar_ticks(lo, hi), at their values' heights; NaN or infinite ends: no ticks.
Canvas add_colorbar(const Canvas& c, Colormap cm, float lo, float hi, const std::string& label = "");

// Round tick values inside [lo, hi] (ends included, either order): the multiples of one step
// s = 1, 2 or 5 x 10^k, the smallest s that gives at most max_ticks of them (then there are at
// least 2 when max_ticks >= 5). [0, 0.87] -> 0, 0.2, 0.4, 0.6, 0.8; [-3.7, 3.7] -> -2, 0, 2.
// lo == hi: {lo}; a NaN or infinite end, or max_ticks < 1: none. *step (may be null) gets s (0 without ticks).
std::vector<double> colorbar_ticks(double lo, double hi, int max_ticks = 6, double* step = nullptr);
// A tick value written with the digits its step needs and no more: 0.2 (not 0.200 or
// 0.20000000000000001), -3, 1.5e-09 -> "1.5e-9", 2e6 -> "2e6". Scientific when the step is below
// 1e-3 or from 1e5 (trailing zeros of the mantissa dropped, 0 is "0"); otherwise fixed with the
// step's decimals (0.0, 0.5, 1.0, 1.5).
std::string tick_label(double v, double step);

}  // namespace convis
