#pragma once
// How much of a picture is high-frequency detail: the measures the activation-maximisation tests
// judge pictures by (test_maximize.cpp's acceptance test, and the table in docs/maximize.md).
// Both are 0 for a constant image; hwc is (H, W, C).
//
// high_frequency_fraction: of the spectral power of the mean-removed channels, the share at
//   radial frequencies above half the Nyquist frequency (|f| > 0.25 cycles/pixel); white noise
//   gives about 0.80 (the area of the frequency square outside that circle), smooth images ~0.
// neighbour_roughness: mean squared difference of horizontally and vertically neighbouring
//   pixels divided by twice the variance: 1 for white noise, ~0 for smooth images.
#include "engine/tensor.h"

namespace convis::test {

double high_frequency_fraction(const Tensor& hwc);
double neighbour_roughness(const Tensor& hwc);

}  // namespace convis::test
