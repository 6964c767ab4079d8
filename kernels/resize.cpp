#include "kernels/resize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

// The formulas are in resize.h. The taps of one axis are computed once (in double, stored as
// float); the two passes then only multiply and add. The roundings of each filter are those of
// the three resizes this kernel replaced (the canvas's, the photo's and the attribution map's,
// one per filter), so pictures and model inputs stay bit-identical: the order of the double
// operations for a coordinate, the float weights, and the taps of weight 0 that some filters keep.
namespace convis {

namespace {

// Output pixel o of an axis mixes source pixels index[start[o] .. start[o + 1]) with `weight`.
struct Taps {
  std::vector<int> start{0};
  std::vector<int> index;
  std::vector<float> weight;
  void add(int i, float w) {
    index.push_back(i);
    weight.push_back(w);
  }
  void next() { start.push_back(int(index.size())); }
};

// Linear interpolation at source coordinate s (already clamped to [0, in - 1]).
void add_linear(Taps& t, double s, int in) {
  const int i0 = int(std::floor(s));
  const int i1 = std::min(in - 1, i0 + 1);
  const float f = float(s - i0);
  t.add(i0, 1.f - f);
  if (i1 != i0) t.add(i1, f);
}

// `bilinear` at every scale. The coordinate is (o + 0.5) * in / out, multiplied before dividing
// (vis/attribution.cpp's upsample_bilinear), where bilinear_area multiplies by in / out: the two
// differ by a double rounding, which can leave a weight of 2e-16 where the other has 0.
Taps bilinear_taps(int in, int out) {
  Taps t;
  for (int o = 0; o < out; ++o) {
    add_linear(t, std::clamp((o + 0.5) * double(in) / double(out) - 0.5, 0.0, double(in - 1)), in);
    t.next();
  }
  return t;
}

Taps bilinear_area_taps(int in, int out) {
  Taps t;
  const double scale = double(in) / double(out);
  for (int o = 0; o < out; ++o) {
    if (scale <= 1.0) {
      add_linear(t, std::clamp((o + 0.5) * scale - 0.5, 0.0, double(in - 1)), in);
    } else {
      const double a = o * scale, b = (o + 1) * scale;
      for (int i = int(std::floor(a)); i < int(std::ceil(b)) && i < in; ++i) {
        const double cover = std::min(b, double(i + 1)) - std::max(a, double(i));
        if (cover > 0) t.add(i, float(cover / scale));
      }
    }
    t.next();
  }
  return t;
}

// PIL's window: the pixels within `support` of the centre, at most 2 ceil(support) + 1 of them
// (tents of weight 0 at the window's ends included).
Taps triangle_taps(int in, int out) {
  Taps t;
  const double scale = double(in) / double(out);
  const double support = std::max(scale, 1.0);
  const int max_taps = int(std::ceil(support)) * 2 + 1;
  std::vector<double> w;
  for (int o = 0; o < out; ++o) {
    const double centre = (o + 0.5) * scale;
    const int lo = std::max(0, int(std::floor(centre - support)));
    const int hi = std::min(in, int(std::ceil(centre + support)));
    double total = 0.0;
    w.clear();
    for (int i = lo; i < hi && int(w.size()) < max_taps; ++i) {
      w.push_back(std::max(0.0, 1.0 - std::fabs((i + 0.5 - centre) / support)));
      total += w.back();
    }
    for (size_t k = 0; k < w.size(); ++k) t.add(lo + int(k), float(w[k] / total));
    t.next();
  }
  return t;
}

Taps taps_for(ResizeFilter filter, int in, int out) {
  switch (filter) {
    case ResizeFilter::bilinear: return bilinear_taps(in, out);
    case ResizeFilter::bilinear_area: return bilinear_area_taps(in, out);
    case ResizeFilter::triangle: return triangle_taps(in, out);
  }
  throw std::invalid_argument("resize_bilinear_nhwc: unknown filter");
}

void check_shape(const ResizeShape& s) {
  if (s.N <= 0 || s.H <= 0 || s.W <= 0 || s.C <= 0 || s.OH <= 0 || s.OW <= 0)
    throw std::invalid_argument("resize_bilinear_nhwc: cannot resize (" + std::to_string(s.N) + ", " +
                                std::to_string(s.H) + ", " + std::to_string(s.W) + ", " + std::to_string(s.C) +
                                ") to " + std::to_string(s.OH) + "x" + std::to_string(s.OW) +
                                ": every size must be positive");
}

template <typename T>
void resize_passes(const T* x, float* y, const ResizeShape& s, ResizeFilter filter) {
  check_shape(s);
  const Taps tx = taps_for(filter, s.W, s.OW), ty = taps_for(filter, s.H, s.OH);
  const int64_t C = s.C;
  std::vector<float> mid(size_t(s.H) * size_t(s.OW) * size_t(C));  // one image, x resized: (H, OW, C)
  for (int n = 0; n < s.N; ++n) {
    const T* xn = x + int64_t(n) * s.H * s.W * C;
    float* yn = y + int64_t(n) * s.OH * s.OW * C;
    // Along x: mid[r, ox, k] = sum_j wx(ox, j) x[r, j, k], each sum in a register (adding into
    // mid tap by tap, through a pointer that 8-bit input may alias, was 1.7x slower on a
    // 4000x3000 photo going to 224x224).
    for (int r = 0; r < s.H; ++r) {
      const T* in = xn + int64_t(r) * s.W * C;
      for (int ox = 0; ox < s.OW; ++ox) {
        float* out = &mid[(size_t(r) * size_t(s.OW) + size_t(ox)) * size_t(C)];
        const int t0 = tx.start[size_t(ox)], t1 = tx.start[size_t(ox) + 1];
        for (int64_t k = 0; k < C; ++k) {
          float acc = 0.f;
          for (int t = t0; t < t1; ++t) acc += tx.weight[size_t(t)] * float(in[int64_t(tx.index[size_t(t)]) * C + k]);
          out[k] = acc;
        }
      }
    }
    // Along y: y[oy, ox, k] = sum_i wy(oy, i) mid[i, ox, k].
    std::fill(yn, yn + int64_t(s.OH) * s.OW * C, 0.f);
    for (int oy = 0; oy < s.OH; ++oy)
      for (int t = ty.start[size_t(oy)]; t < ty.start[size_t(oy) + 1]; ++t) {
        const float w = ty.weight[size_t(t)];
        const float* in = &mid[size_t(ty.index[size_t(t)]) * size_t(s.OW) * size_t(C)];
        float* out = yn + int64_t(oy) * s.OW * C;
        for (int64_t q = 0; q < int64_t(s.OW) * C; ++q) out[q] += w * in[q];
      }
  }
}

// The weight of source pixel i for output o, from the definitions in resize.h.
double weight_ref(ResizeFilter filter, int in, int out, int o, int i) {
  const double scale = double(in) / double(out);
  auto linear = [&] {
    const double s = std::clamp((o + 0.5) * scale - 0.5, 0.0, double(in - 1));
    return std::max(0.0, 1.0 - std::fabs(s - i));
  };
  switch (filter) {
    case ResizeFilter::bilinear: return linear();
    case ResizeFilter::bilinear_area:
      if (scale <= 1.0) return linear();
      return std::max(0.0, std::min((o + 1) * scale, i + 1.0) - std::max(o * scale, double(i))) / scale;
    case ResizeFilter::triangle: {
      const double c = (o + 0.5) * scale, support = std::max(scale, 1.0);
      auto tent = [&](int j) { return std::max(0.0, 1.0 - std::fabs((j + 0.5 - c) / support)); };
      double total = 0.0;
      for (int j = 0; j < in; ++j) total += tent(j);
      return tent(i) / total;
    }
  }
  return 0.0;
}

}  // namespace

void resize_bilinear_nhwc(const float* x, float* y, const ResizeShape& s, ResizeFilter filter) {
  resize_passes(x, y, s, filter);
}

void resize_bilinear_nhwc(const uint8_t* x, float* y, const ResizeShape& s, ResizeFilter filter) {
  resize_passes(x, y, s, filter);
}

void resize_bilinear_nhwc_ref(const float* x, float* y, const ResizeShape& s, ResizeFilter filter) {
  check_shape(s);
  for (int n = 0; n < s.N; ++n)
    for (int oy = 0; oy < s.OH; ++oy)
      for (int ox = 0; ox < s.OW; ++ox)
        for (int k = 0; k < s.C; ++k) {
          double acc = 0.0;
          for (int i = 0; i < s.H; ++i) {
            const double wy = weight_ref(filter, s.H, s.OH, oy, i);
            if (wy == 0.0) continue;
            for (int j = 0; j < s.W; ++j)
              acc += wy * weight_ref(filter, s.W, s.OW, ox, j) * double(x[((int64_t(n) * s.H + i) * s.W + j) * s.C + k]);
          }
          y[((int64_t(n) * s.OH + oy) * s.OW + ox) * s.C + k] = float(acc);
        }
}

}  // namespace convis
