// Fuzzes read_npy: the magic, the header literal, the shape and the data size.
#include <stdexcept>

#include "engine/npy.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const convis::Tensor t = convis::read_npy(convis::fuzz::write_input(data, size, ".npy"));
    if (t.numel() > 0 && !t.data()) __builtin_trap();
  } catch (const std::exception&) {
  }
  return 0;
}
