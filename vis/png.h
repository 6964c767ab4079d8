#pragma once
// Pictures to files: PNG written atomically, and the output directory they go to.
//
//   ensure_output_dir("out");
//   write_png(sheet, "out/block3_conv1.png");   // temporary file, then rename
#include <string>

#include "vis/canvas.h"

namespace convis {

// PNG via stb_image_write, written to a temporary file in the same directory and renamed: a
// failed run leaves no half-written PNG. Throws naming the path.
void write_png(const Canvas& c, const std::string& path);
// Creates `dir` (and parents) if needed; throws a one-line error when it is not a writable directory.
void ensure_output_dir(const std::string& dir);

}  // namespace convis
