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
Canvas add_colorbar(const Canvas& c, Colormap cm, float lo, float hi, const std::string& label = "");

}  // namespace convis
