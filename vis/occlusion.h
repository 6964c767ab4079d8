#pragma once
// Occlusion sensitivity (Zeiler & Fergus 2014): slide a patch of one colour over the image, classify
// every occluded copy, and map how much the target class's probability drops at each position.
//
//   Tensor pixels = resize_bilinear(load_image("coffee.png"), 224, 224);     // (224, 224, 3), 0..255
//   Occlusion o = occlusion_map(model, pixels, Preprocess::unit, -1, OcclusionOptions{});
//   // o.drop(r, c) = p(original) - p(patch at rows[r], cols[c])
//
// The patch is painted in pixel space, before preprocessing, with what the fill says: by default
// the pixel that preprocessing maps to 0 ("no information" for the model: black for x/255, the
// ImageNet mean colour for caffe), or the image's mean colour, a blur of the image (the patch
// loses its detail, not its colour), or one colour. Positions along an axis are 0, stride, 2 stride, ... up to the
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

enum class OcclusionFill {
  zero,    // the pixel preprocessing maps to 0 (pixel_of_zero_input)
  mean,    // the image's mean colour
  blur,    // the image blurred with a Gaussian of sigma patch / 4 (at least 1 pixel)
  colour,  // OcclusionOptions::colour (grey models: its luma 0.299 R + 0.587 G + 0.114 B)
};

struct OcclusionOptions {
  int patch = 56;
  int stride = 28;
  OcclusionFill fill = OcclusionFill::zero;
  Rgb colour = {128, 128, 128};  // with OcclusionFill::colour
  int batch = 16;                // occluded copies per forward pass
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
  Tensor fill;                 // (H, W, C) pixels: what the patch showed (occlusion_fill_image)
};

// 0, stride, ... as described above. Throws unless 1 <= patch <= size and stride >= 1.
std::vector<int> occlusion_positions(int size, int patch, int stride);

// The patch and stride for an input of h x w when the user gives none: a quarter of the shorter
// side and half of that (224 -> 56 and 28, 7 x 7 positions; 28 -> 7 and 3, 8 x 8 positions).
void default_occlusion_geometry(int h, int w, int* patch, int* stride);

// "zero", "mean", "blur", or a colour "R,G,B" (each 0..255) -> the fill; throws naming the text.
void parse_occlusion_fill(const std::string& s, OcclusionFill* fill, Rgb* colour);
// How the report and the command line name it: "zero after preprocessing 'unit' (pixel 0,0,0)",
// "the image's mean colour (34,34,34)", "a blur of the image (sigma 14)", "colour 250,128,128".
std::string describe_occlusion_fill(const Tensor& pixels, Preprocess pre, const OcclusionOptions& opt);

// What a patch shows, for every pixel of pixels (H, W, C): constant for zero / mean / colour,
// the blurred image for blur. occlude() copies the patch from it.
Tensor occlusion_fill_image(const Tensor& pixels, Preprocess pre, const OcclusionOptions& opt);

// A copy of pixels (H, W, C) with the patch at (y, x) (clipped at the border) taken from fill,
// an image of the same shape.
Tensor occlude(const Tensor& pixels, int y, int x, int patch, const Tensor& fill);

// pixels: the model-sized image (H, W, C) in 0..255. cls < 0: the top-1 class of the image.
Occlusion occlusion_map(const Model& m, const Tensor& pixels, Preprocess pre, int cls, const OcclusionOptions& opt);

// The drop map resized to H x W: bilinear between the patch centres (clipped patches: the centre of
// their visible part), constant beyond the outermost centres. With stride == patch this is the
// usual half-pixel-centre bilinear resize of the grid.
Tensor occlusion_upsample(const Occlusion& o, int H, int W);

// ---- pictures -------------------------------------------------------------------------------
// Every occluded copy in the layout of the positions, titled with p(class).
Canvas occlusion_sheet(const Tensor& pixels, const Occlusion& o, const std::string& title);
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
