// Fuzzes load_image (stb_image behind the pixel limit) and the resize that follows it.
#include <stdexcept>

#include "tests/fuzz/fuzz_input.h"
#include "vis/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  convis::set_image_pixel_limit(int64_t(1) << 22);  // 4 Mi pixels: keeps each run fast
  try {
    const convis::Image img = convis::load_image(convis::fuzz::write_input(data, size, ".img"), 3);
    if (img.pixels.size() != size_t(img.width) * size_t(img.height) * 3) __builtin_trap();
    (void)convis::resize_bilinear(img, 7, 5);
  } catch (const std::exception&) {
  }
  return 0;
}
