#pragma once
// Pictures people can read: an 8-bit RGB canvas, colormaps, text (DejaVu Sans via stb_truetype,
// stb_easy_font when no font is installed), grids of titled tiles, colour bars and atomic PNG
// writes. Every visualisation command draws with these.
//
//   Canvas map = render_map(fmap.data(), 12, 12, lo, hi, Colormap::viridis);   // one feature map
//   std::vector<Tile> tiles = {{upscale_nearest(map, 8), "block3_conv1 #7"}, ...};
//   GridOptions opt; opt.title = "block3_conv1, 256 channels";
//   Canvas sheet = make_grid(tiles, opt);
//   write_png(sheet, "out/block3_conv1.png");   // temporary file, then rename
#include <cstdint>
#include <string>
#include <vector>

#include "vis/image.h"

namespace convis {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// Row-major RGB, 3 bytes per pixel. Drawing outside the canvas is clipped, never an error.
struct Canvas {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;

  Canvas() = default;
  Canvas(int w, int h, Rgb fill = {255, 255, 255});
  Rgb get(int x, int y) const;
  void set(int x, int y, Rgb c);
  void fill_rect(int x, int y, int w, int h, Rgb c);
  void outline_rect(int x, int y, int w, int h, Rgb c, int thickness = 1);
  void blit(const Canvas& src, int x, int y);  // copies src with its top-left corner at (x, y)
};

Canvas canvas_from_image(const Image& img);  // grey images become grey RGB

// ---- colormaps ----------------------------------------------------------------------------
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

Canvas upscale_nearest(const Canvas& c, int factor);  // pixels stay visible
Canvas resize_bilinear(const Canvas& c, int w, int h);
// out = (1 - alpha) * base + alpha * over, per pixel; the sizes must match.
Canvas blend(const Canvas& base, const Canvas& over, float alpha);
// Side by side with a gap, each optionally titled (used for image | map | overlay).
Canvas hstack(const std::vector<Canvas>& parts, const std::vector<std::string>& titles = {}, int gap = 8);

// ---- text -----------------------------------------------------------------------------------
// Pixel height `px` (cap height roughly 0.7 px). Black unless told. (x, y) is the top-left of the
// line box: the text's ascent and descent fill rows y .. y + px - 1.
int text_width(const std::string& text, int px);
void draw_text(Canvas& c, int x, int y, const std::string& text, int px, Rgb colour = {0, 0, 0});
// True when DejaVu Sans was found (else text is drawn with stb_easy_font).
bool have_truetype_font();

// ---- grids ----------------------------------------------------------------------------------
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

// A vertical colour bar for [lo, hi] with tick labels and a label, added right of the canvas.
Canvas add_colorbar(const Canvas& c, Colormap cm, float lo, float hi, const std::string& label = "");

// ---- output ---------------------------------------------------------------------------------
// PNG via stb_image_write, written to a temporary file in the same directory and renamed: a
// failed run leaves no half-written PNG. Throws naming the path.
void write_png(const Canvas& c, const std::string& path);
// Creates `dir` (and parents) if needed; throws a one-line error when it is not a writable directory.
void ensure_output_dir(const std::string& dir);

}  // namespace convis
