// Receptive fields through a graph (engine/receptive_field.h): boxes are carried from the layer
// back to the input in reverse topological order, each input getting the union of what its
// readers need.
#include "engine/receptive_field.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/padding.h"

namespace convis {

namespace {

constexpr int64_t kFar = int64_t(1) << 40;  // beyond any image: "all of it"

PixelBox join(const PixelBox& a, const PixelBox& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return {std::min(a.top, b.top), std::max(a.bottom, b.bottom), std::min(a.left, b.left), std::max(a.right, b.right)};
}

// The input box of one layer for a box of its output; `in` is its (first) input's shape.
PixelBox back_through(const Layer& l, const Shape& in, const PixelBox& o) {
  switch (l.type) {
    case LayerType::conv2d:
    case LayerType::depthwise_conv2d:
    case LayerType::separable_conv2d:
    case LayerType::max_pool2d:
    case LayerType::avg_pool2d: {
      const int py = window_along_axis(int(in[0]), l.kernel_h, l.stride_h, l.padding, "height").pad_before;
      const int px = window_along_axis(int(in[1]), l.kernel_w, l.stride_w, l.padding, "width").pad_before;
      return {o.top * l.stride_h - py, o.bottom * l.stride_h - py + l.kernel_h - 1, o.left * l.stride_w - px,
              o.right * l.stride_w - px + l.kernel_w - 1};
    }
    case LayerType::zero_padding2d:
      return {o.top - l.pad_top, o.bottom - l.pad_top, o.left - l.pad_left, o.right - l.pad_left};
    case LayerType::cropping2d:
      return {o.top + l.pad_top, o.bottom + l.pad_top, o.left + l.pad_left, o.right + l.pad_left};
    case LayerType::upsampling2d: {
      // Nearest reads floor(y / s); bilinear also the neighbours on either side.
      const int64_t e = l.bilinear ? 1 : 0;
      auto fl = [](int64_t v, int64_t s) { return v >= 0 ? v / s : -((-v + s - 1) / s); };
      return {fl(o.top, l.size_h) - e, fl(o.bottom, l.size_h) + e, fl(o.left, l.size_w) - e, fl(o.right, l.size_w) + e};
    }
    default:
      if (in.rank() != 3 || l.output_shape.rank() != 3 || l.type == LayerType::reshape || l.type == LayerType::permute)
        return {-kFar, kFar, -kFar, kFar};
      return o;  // pointwise, merges, normalisation: the same pixels
  }
}

}  // namespace

PixelBox receptive_box(const Model& m, int layer, int64_t y, int64_t x) {
  if (layer < 0 || layer >= int(m.layers.size()))
    throw std::invalid_argument("receptive field: layer index " + std::to_string(layer) + " out of range");
  const Shape& s = m.layers[size_t(layer)].output_shape;
  if (s.rank() != 3)
    throw std::invalid_argument("receptive field: layer '" + m.layers[size_t(layer)].name + "' has no spatial output");
  if (y < 0 || y >= s[0] || x < 0 || x >= s[1])
    throw std::invalid_argument("receptive field: (" + std::to_string(y) + ", " + std::to_string(x) +
                                ") is outside layer '" + m.layers[size_t(layer)].name + "' output " + s.str());
  std::vector<PixelBox> box(size_t(layer) + 1);
  box[size_t(layer)] = {y, y, x, x};
  for (int i = layer; i >= 1; --i) {
    if (box[size_t(i)].empty()) continue;
    const PixelBox b = back_through(m.layers[size_t(i)], m.input_shape(i), box[size_t(i)]);
    for (int j : m.inputs_of(i)) box[size_t(j)] = join(box[size_t(j)], b);
  }
  return box[0];
}

int unit_receptive_field(const Model& m, int layer) {
  const Shape& s = m.layers.at(size_t(layer)).output_shape;
  if (s.rank() != 3) return 1 << 20;
  const PixelBox b = receptive_box(m, layer, s[0] / 2, s[1] / 2);
  return int(std::min<int64_t>(std::max(b.height(), b.width()), 1 << 20));
}

}  // namespace convis
