// Fuzzes read_idx on plain and gzip'd IDX bytes (zlib detects gzip by its magic).
#include <stdexcept>

#include "engine/idx.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const convis::IdxArray a = convis::read_idx(convis::fuzz::write_input(data, size, ".idx"));
    int64_t n = 1;
    for (int64_t d : a.dims) n *= d;
    if (size_t(n) != a.data.size()) __builtin_trap();  // the reader's promise: data matches the header
  } catch (const std::exception&) {
  }
  return 0;
}
