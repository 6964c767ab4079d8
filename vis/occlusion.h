#pragma once
// Occlusion sensitivity (Zeiler & Fergus 2014): slide a patch of one colour over the image, classify
// every occluded copy, and map how much the target class's probability drops at each position.
//
//   Tensor pixels = resize_bilinear(load_image("coffee.png"), 224, 224);     // (224, 224, 3), 0..255
//   Occlusion o = occlusion_map(model, pixels, Preprocess::unit, -1, OcclusionOptions{});
//   // o.drop(r, c) = p(original) - p(patch at rows[r], cols[c])
//
// The patch is painted in pixel space, before preprocessing, so "grey" means grey in the picture
// whatever the model's input scaling. Positions along an axis are 0, stride, 2 stride, ... up to the
// first patch that reaches the border (clipped there), so every pixel is covered at least once.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/classifier.h"
#include "engine/model.h"
#include "vis/canvas.h"
#include "vis/image.h"

namespace convis {

struct OcclusionOptions {
  int patch = 56;
  int stride = 56;
  Rgb fill = {250, 128, 128};  // grey models get its luma (0.299 R + 0.587 G + 0.114 B)
  int batch = 16;              // occluded copies per forward pass
  std::function<void(int64_t done, int64_t total)> progress;
};

struct Occlusion {
  int cls = 0;
  float p_original = 0.f;      // p(cls | image)
  int height = 0, width = 0;   // the model-sized image
  int patch = 0;
  std::vector<int> rows, cols; // top-left corners of the patch positions (y and x)
  Tensor prob;                 // (rows, cols): p(cls | occluded copy)
  Tensor drop;                 // (rows, cols): p_original - prob
};

// 0, stride, ... as described above. Throws unless 1 <= patch <= size and stride >= 1.
std::vector<int> occlusion_positions(int size, int patch, int stride);

// A copy of pixels (H, W, C) with the patch at (y, x) (clipped at the border) set to fill.
Tensor occlude(const Tensor& pixels, int y, int x, int patch, Rgb fill);

// pixels: the model-sized image (H, W, C) in 0..255. cls < 0: the top-1 class of the image.
Occlusion occlusion_map(const Model& m, const Tensor& pixels, Preprocess pre, int cls, const OcclusionOptions& opt);

// The drop map resized to H x W: bilinear between the patch centres (clipped patches: the centre of
// their visible part), constant beyond the outermost centres. With stride == patch this is the
// usual half-pixel-centre bilinear resize of the grid.
Tensor occlusion_upsample(const Occlusion& o, int H, int W);

// ---- pictures -------------------------------------------------------------------------------
// Every occluded copy in the layout of the positions, titled with p(class).
Canvas occlusion_sheet(const Tensor& pixels, const Occlusion& o, const OcclusionOptions& opt, const std::string& title);
// The colour scales of the two maps below: drops from 0 to the largest (reds, jet), or, when some
// part hidden made the class more likely by more than 1% of the largest |drop|, blue_red over
// [-m, m] (diverging_scale: 0 white, negative blue).
// The drop per position as blocks (reds, with a colour bar), at the photo's aspect ratio.
Canvas occlusion_heatmap(const Occlusion& o, const Image& photo, const std::string& title);
// The upsampled drop map over the photo (jet, alpha 0.4, as the saliency overlays), with a colour bar.
Canvas occlusion_overlay(const Occlusion& o, const Image& photo, const std::string& title);
// The photo times the upsampled, min-max normalised drop map squared: what the model needs to see.
Canvas occlusion_mask(const Occlusion& o, const Image& photo, const std::string& title);

}  // namespace convis
