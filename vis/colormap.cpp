#include "vis/colormap.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace convis {

// Piecewise-linear in RGB between evenly spaced control points.

namespace {

struct Stops {
  const uint8_t (*rgb)[3];
  int n;
};

// viridis at t = k/15 (matplotlib's map sampled at 16 points): dense enough that linear
// interpolation stays within a couple of levels of the 256-entry table, luminance rising throughout.
constexpr uint8_t kViridis[][3] = {
    {68, 1, 84},    {72, 26, 108},  {71, 47, 125},  {65, 68, 135},  {57, 86, 140},   {49, 104, 142},
    {42, 120, 142}, {35, 136, 142}, {31, 152, 139}, {34, 168, 132}, {53, 183, 121},  {84, 197, 104},
    {122, 209, 81}, {165, 219, 54}, {210, 226, 27}, {253, 231, 37}};
// ColorBrewer's sequential Reds (matplotlib's "Reds"): near-white to dark red.
constexpr uint8_t kReds[][3] = {{255, 245, 240}, {254, 224, 210}, {252, 187, 161}, {252, 146, 114}, {251, 106, 74},
                                {239, 59, 44},   {203, 24, 29},   {165, 15, 21},   {103, 0, 13}};
// ColorBrewer's RdBu reversed (blue for negative), with pure white at the centre so that a zero
// weight is exactly the background-free "nothing" colour.
constexpr uint8_t kBlueRed[][3] = {{5, 48, 97},     {33, 102, 172}, {67, 147, 195}, {146, 197, 222},
                                   {209, 229, 240}, {255, 255, 255}, {253, 219, 199}, {244, 165, 130},
                                   {214, 96, 77},   {178, 24, 43},   {103, 0, 31}};

Rgb interpolate(const Stops& s, float t) {
  const float x = t * float(s.n - 1);
  const int i = std::min(s.n - 2, std::max(0, int(std::floor(x))));
  const float f = x - float(i);
  auto mix = [&](int k) { return uint8_t(std::lround(float(s.rgb[i][k]) * (1.f - f) + float(s.rgb[i + 1][k]) * f)); };
  return {mix(0), mix(1), mix(2)};
}

}  // namespace

Colormap parse_colormap(const std::string& name) {
  for (Colormap c : {Colormap::grey, Colormap::viridis, Colormap::reds, Colormap::jet, Colormap::blue_red})
    if (name == colormap_name(c)) return c;
  if (name == "gray") return Colormap::grey;
  throw std::invalid_argument("unknown colormap '" + name + "'; valid: grey, viridis, reds, jet, blue_red");
}

const char* colormap_name(Colormap c) {
  switch (c) {
    case Colormap::grey: return "grey";
    case Colormap::viridis: return "viridis";
    case Colormap::reds: return "reds";
    case Colormap::jet: return "jet";
    case Colormap::blue_red: return "blue_red";
  }
  return "?";
}

Rgb colormap(Colormap c, float t) {
  if (!(t >= 0.f)) t = 0.f;  // also NaN
  if (t > 1.f) t = 1.f;
  switch (c) {
    case Colormap::grey: {
      const uint8_t v = uint8_t(std::lround(t * 255.f));
      return {v, v, v};
    }
    case Colormap::viridis: return interpolate({kViridis, int(std::size(kViridis))}, t);
    case Colormap::reds: return interpolate({kReds, int(std::size(kReds))}, t);
    case Colormap::blue_red: return interpolate({kBlueRed, int(std::size(kBlueRed))}, t);
    case Colormap::jet: {
      // The classic jet ramps: dark blue, blue, cyan, yellow, red, dark red; each channel a
      // trapezoid 1.5 - |4t - k| clamped to [0, 1].
      auto ramp = [&](float k) { return uint8_t(std::lround(255.f * std::clamp(1.5f - std::fabs(4.f * t - k), 0.f, 1.f))); };
      return {ramp(3.f), ramp(2.f), ramp(1.f)};
    }
  }
  return {};
}

ColorScale diverging_scale(float mn, float mx) {
  float m = std::max(std::fabs(mn), std::fabs(mx));
  if (!(m > 0.f) || !std::isfinite(m)) m = 1.f;
  return {Colormap::blue_red, -m, m};
}

Canvas render_map(const float* data, int h, int w, float lo, float hi, Colormap cm) {
  Canvas c(w, h);
  const float range = hi - lo;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float v = data[size_t(y) * size_t(w) + size_t(x)];
      const float t = range > 0.f ? (v - lo) / range : 0.5f;
      c.set(x, y, colormap(cm, t));
    }
  return c;
}

Canvas render_rgb(const float* data, int h, int w, float lo, float hi) {
  Canvas c(w, h);
  const float range = hi - lo;
  for (size_t i = 0; i < size_t(h) * size_t(w) * 3; ++i) {
    float t = range > 0.f ? (data[i] - lo) / range : 0.5f;
    if (!(t >= 0.f)) t = 0.f;
    c.rgb[i] = uint8_t(std::lround(std::min(t, 1.f) * 255.f));
  }
  return c;
}

}  // namespace convis
