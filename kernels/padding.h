#pragma once
// Keras' padding rules for convolution and pooling windows, along one spatial axis.
//   valid: out = floor((in - k) / s) + 1, no padding; the window must fit (k <= in).
//   same:  out = ceil(in / s); total padding max((out - 1) * s + k - in, 0), of which the smaller
//          half goes before (top/left) and the extra one after, as TensorFlow does.
#include <algorithm>
#include <stdexcept>
#include <string>

namespace convis {

enum class Padding { valid, same };

struct AxisWindow {
  int out = 0;
  int pad_before = 0;
};

inline AxisWindow window_along_axis(int in, int k, int s, Padding p, const char* axis) {
  if (in <= 0 || k <= 0 || s <= 0)
    throw std::invalid_argument(std::string(axis) + ": size " + std::to_string(in) + ", window " +
                                std::to_string(k) + ", stride " + std::to_string(s) +
                                " (all must be positive)");
  AxisWindow a;
  if (p == Padding::valid) {
    if (k > in)
      throw std::invalid_argument(std::string(axis) + ": window " + std::to_string(k) +
                                  " does not fit in size " + std::to_string(in) + " with 'valid' padding");
    a.out = (in - k) / s + 1;
  } else {
    a.out = (in + s - 1) / s;
    const int total = std::max((a.out - 1) * s + k - in, 0);
    a.pad_before = total / 2;
  }
  return a;
}

inline const char* padding_name(Padding p) { return p == Padding::valid ? "valid" : "same"; }

}  // namespace convis
