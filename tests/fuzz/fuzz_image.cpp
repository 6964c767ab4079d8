// Fuzzes load_image (stb_image behind the pixel limit), as RGB and as grey (the luma of
// grey_of), and the resize that follows it.
#include <stdexcept>
#include <string>

#include "tests/fuzz/fuzz_input.h"
#include "vis/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  convis::set_image_pixel_limit(int64_t(1) << 22);  // 4 Mi pixels: keeps each run fast
  try {
    const std::string path = convis::fuzz::write_input(data, size, ".img");
    const convis::Image img = convis::load_image(path, 3);
    if (img.pixels.size() != size_t(img.width) * size_t(img.height) * 3) __builtin_trap();
    (void)convis::resize_bilinear(img, 7, 5);
    const convis::Image grey = convis::load_image(path, 1);
    if (grey.channels != 1 || grey.width != img.width || grey.pixels.size() != size_t(grey.width) * size_t(grey.height))
      __builtin_trap();
  } catch (const std::exception&) {
  }
  return 0;
}
