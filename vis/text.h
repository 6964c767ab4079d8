#pragma once
// Text on a Canvas: DejaVu Sans via stb_truetype, antialiased with subpixel placement; when no
// font is installed, stb_easy_font, scaled and antialiased. CONVIS_FONT=/path/font.ttf chooses
// another font. Strings are UTF-8 (a malformed byte draws as U+FFFD).
//
//   draw_text(c, 10, 4, "block3_conv1 #7", 13);    // 13-pixel line, top-left at (10, 4), black
#include <string>

#include "vis/canvas.h"

namespace convis {

// Pixel height `px` (cap height roughly 0.7 px). Black unless told. (x, y) is the top-left of the
// line box: the text's ascent and descent fill rows y .. y + px - 1.
int text_width(const std::string& text, int px);
void draw_text(Canvas& c, int x, int y, const std::string& text, int px, Rgb colour = {0, 0, 0});
// The text, or its longest prefix with a trailing ".." that is at most max_w pixels wide ("" if
// not even ".." fits).
std::string fit_text(const std::string& text, int px, int max_w);
// True when DejaVu Sans was found (else text is drawn with stb_easy_font).
bool have_truetype_font();

}  // namespace convis
