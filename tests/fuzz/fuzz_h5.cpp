// Fuzzes the HDF5 model loader end to end: read_keras_h5 (whose trial child absorbs libhdf5's own
// crashes and hangs), the model from its config or VGG16 names, the shape checks, the weights.
#include <cstdlib>
#include <stdexcept>

#include "engine/model_io.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("CONVIS_READ_TIMEOUT", "5", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const convis::Model m = convis::load_model(convis::fuzz::write_input(data, size, ".h5"), 0, 0);
    if (m.layers.empty()) __builtin_trap();
  } catch (const std::exception&) {
  }
  return 0;
}
