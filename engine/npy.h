#pragma once
// NumPy .npy files, for people who check convis' numbers against their own:
// little-endian float32 ('<f4'), C order, format versions 1.0, 2.0 and 3.0, rank 0 to 4.
// Anything else is a clear error naming the file and what was found.
#include <string>

#include "engine/tensor.h"

namespace convis {

Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& t);  // version 1.0; atomic

}  // namespace convis
