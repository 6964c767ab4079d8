#pragma once
// What one image does to every channel of a layer: the feature maps as a grid (Chollet's "Deep
// Learning with Python", 5.4, "visualizing intermediate activations").
//
//   Model m = load_model("darknet_tiny_imagenet.h5");
//   Tensor x = load_input("cat.png", 224, 224, 3, default_preprocess(m));
//   std::vector<Tensor> outs = layer_outputs(m, x, m.layer_index("conv2d_3"));   // one forward
//   Canvas sheet = activation_sheet(m.layers[3], outs[3], ActivationOptions{});
#include <string>
#include <vector>

#include "engine/model.h"
#include "vis/canvas.h"
#include "vis/colormap.h"

namespace convis {

// keras: per channel (x - mean) / std * 64 + 128, clipped to 0..255 (the tutorial's look: mean
// grey-green, +-2 std reaching the ends); minmax: per channel min..max to the colormap's ends.
enum class ActivationNorm { keras, minmax };
ActivationNorm parse_activation_norm(const std::string& name);  // "keras" | "minmax"; throws listing both

// The tutorial's normalisation of one channel of n values, `stride` floats apart (NHWC: C), into
// out[0..n): mean and (population) std over the channel; out = clip((x - mean) / std * 64 + 128,
// 0, 255), truncated to an integer as NumPy's astype('uint8') does. A constant channel (std = 0)
// is 128 everywhere.
void keras_display_values(const float* x, int64_t n, int64_t stride, float* out);

// Outputs of layer last and its ancestors for one input x:(1,H,W,C), computed once under NoGrad
// (layer 0 is the input itself). Entries for other layers, and for layers not in `keep` (when
// given), are left empty to save memory.
std::vector<Tensor> layer_outputs(const Model& m, const Tensor& x, int last, const std::vector<int>& keep = {});

struct ActivationOptions {
  ActivationNorm norm = ActivationNorm::keras;
  Colormap cmap = Colormap::viridis;
  int max_channels = 0;    // 0: every channel
  int max_width = 1400;    // the grid is sized to about this many pixels across
  std::string subtitle;    // second title line (the image and preprocessing, say)
};

// Layers `all` draws: convolutions (Conv2D, DepthwiseConv2D, SeparableConv2D) and pooling layers
// with a spatial output.
std::vector<int> activation_layers(const Model& m);

// The grid of the channels of `out`, the (1, H, W, C) output of layer `l`. Throws naming the layer
// and its shape when it has no spatial output.
Canvas activation_sheet(const Layer& l, const Tensor& out, const ActivationOptions& opt);

// The map a channel is drawn with, h x w values in [0, 1] (the colormap's input).
std::vector<float> channel_display(const Tensor& out, int channel, ActivationNorm norm);

}  // namespace convis
