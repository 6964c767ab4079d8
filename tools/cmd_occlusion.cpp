// vis_tool occlusion: how much a class's probability drops when a patch hides each part of the image.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/model_io.h"
#include "engine/npy.h"
#include "tools/class_lookup.h"
#include "tools/progress.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/occlusion.h"
#include "vis/png.h"

namespace convis::cli {

static int run_occlusion(const std::vector<std::string>& argv) {
  Args args("occlusion", argv, {"npy"});
  args.allow_only({"npy", "weights", "image", "patch", "stride", "fill", "class", "batch", "out", "preprocess", "classes"});
  const std::string spec = args.require("weights");
  const std::string image = args.require("image");
  const std::string out_dir = args.get("out", "out");
  OcclusionOptions opt;
  opt.batch = args.get_int("batch", 16, 1, 1024);
  if (args.has("fill")) {
    try {
      parse_occlusion_fill(args.get("fill", ""), &opt.fill, &opt.colour);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("occlusion: --") + e.what());
    }
  }

  // Everything is checked before anything is written.
  const Model m = load_model(spec);
  const Layer& last = m.layers.back();
  if (last.output_shape.rank() != 1)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + last.name + "' with output " +
                                last.output_shape.str() + ", not class scores (a model without its top has none: use the file with the top)");
  const int K = int(last.output_shape[0]);
  const Preprocess pre = args.has("preprocess") ? parse_preprocess(args.get("preprocess", "")) : default_preprocess(m);
  const ClassNames names = load_class_names(args, resolve_weights_path(spec), m, K);
  const int h = m.built_h(), w = m.built_w();
  // Without --patch / --stride: from the input size (a quarter of the shorter side, stride half
  // of that); one given alone sets the other (stride = patch / 2, patch = 2 * stride).
  int patch = 0, stride = 0;
  default_occlusion_geometry(h, w, &patch, &stride);
  const bool has_patch = args.has("patch"), has_stride = args.has("stride");
  if (has_patch) opt.patch = args.get_int("patch", patch, 1, 4096);
  if (has_stride) opt.stride = args.get_int("stride", stride, 1, 4096);
  if (!has_patch) opt.patch = has_stride ? std::min(std::min(h, w), 2 * opt.stride) : patch;
  if (!has_stride) opt.stride = std::max(1, opt.patch / 2);
  std::vector<int> rows, cols;
  try {
    rows = occlusion_positions(h, opt.patch, opt.stride);
    cols = occlusion_positions(w, opt.patch, opt.stride);
  } catch (const std::invalid_argument& e) {
    throw UsageError("occlusion: --patch " + std::to_string(opt.patch) + " does not fit model '" + m.name + "' whose input is " +
                     std::to_string(w) + "x" + std::to_string(h) + ": give 1 <= --patch <= " + std::to_string(std::min(h, w)) +
                     " (default: a quarter of the shorter side, " + std::to_string(patch) + ")");
  }
  const int cls = args.has("class") ? names.parse(args.get("class", ""), K, "occlusion") : -1;
  const Image photo = load_image(image, m.input_c == 1 ? 1 : 3);
  const Tensor pixels = resize_bilinear(photo, h, w);
  ensure_output_dir(out_dir);

  std::printf("%s: %dx%d, resized to %dx%d, preprocessing '%s'\n", image.c_str(), photo.width, photo.height, w, h,
              preprocess_name(pre));
  std::printf("patch %d, stride %d%s, fill: %s; %zux%zu positions\n", opt.patch, opt.stride,
              has_patch || has_stride ? "" : " (from the input size)", describe_occlusion_fill(pixels, pre, opt).c_str(),
              cols.size(), rows.size());
  std::fflush(stdout);  // the progress bar goes to stderr
  Progress bar("occlusion", int64_t(rows.size() * cols.size()));
  opt.progress = [&](int64_t done, int64_t) { bar.update(done); };
  const Occlusion o = occlusion_map(m, pixels, pre, cls, opt);
  bar.finish();

  const int64_t best = std::max_element(o.drop.data(), o.drop.data() + o.drop.numel()) - o.drop.data();
  const int by = o.rows[size_t(best) / cols.size()], bx = o.cols[size_t(best) % cols.size()];
  const double cy = 0.5 * (by + std::min(by + opt.patch, h)), cx = 0.5 * (bx + std::min(bx + opt.patch, w));
  std::printf("class %d '%s'%s, p %.4f; largest drop %.4f (p %.4f) with the patch at (%d, %d), centre (%d, %d) in the"
              " photo\n",
              o.cls, names.name(o.cls).c_str(), cls < 0 ? " (top-1)" : "", double(o.p_original), double(o.drop[best]),
              double(o.prob[best]), bx, by, int(cx * photo.width / w), int(cy * photo.height / h));

  namespace fs = std::filesystem;
  const std::string stem = fs::path(image).filename().string();
  const std::string base =
      (fs::path(out_dir) / (fs::path(image).stem().string() + "_occlusion_" + std::to_string(o.cls))).string();
  char what[256];
  std::snprintf(what, sizeof what, "class %d '%s' (p %.3f), patch %d stride %d", o.cls, names.name(o.cls).c_str(),
                double(o.p_original), opt.patch, opt.stride);
  const std::string what_s = what;
  write_png(occlusion_sheet(pixels, o, stem + ": occluded copies, p of " + what_s), base + "_sheet.png");
  write_png(occlusion_heatmap(o, photo, stem + ": drop of p per patch position, " + what_s), base + "_heatmap.png");
  write_png(occlusion_overlay(o, photo, stem + ": drop of p, " + what_s), base + "_overlay.png");
  write_png(occlusion_mask(o, photo, stem + ": image x normalised drop^2"), base + "_mask.png");
  for (const char* s : {"_sheet", "_heatmap", "_overlay", "_mask"}) std::printf("wrote %s%s.png\n", base.c_str(), s);
  if (args.has("npy")) {  // rows x cols, row r and column c at the patch corner (o.rows[r], o.cols[c])
    write_npy(base + "_prob.npy", o.prob);
    write_npy(base + "_drop.npy", o.drop);
    std::printf("wrote %s_prob.npy and %s_drop.npy (%s, float32: p of the class and its drop per patch position)\n",
                base.c_str(), base.c_str(), o.prob.shape().str().c_str());
  }
  return 0;
}

static const Registration reg_occlusion(51, {"occlusion",
       "occlusion sensitivity: the drop of a class's probability as a patch slides over the image",
       "vis_tool occlusion --weights F --image I [--patch P] [--stride S] [--fill zero|mean|blur|R,G,B]\n"
       "                   [--class C] [--batch 16] [--out DIR] [--preprocess M] [--classes J] [--npy]\n\n"
       "The image is resized to the model's input; a --patch x --patch square slides over it with\n"
       "--stride (the last position on each axis is clipped at the border, so every pixel gets covered).\n"
       "Default patch: a quarter of the input's shorter side (224 -> 56, 28 -> 7), stride half of it.\n"
       "The patch shows --fill, in pixel space before preprocessing: zero (default) is the pixel the\n"
       "model's preprocessing maps to 0, \"no information\" for the model (black for x/255, ImageNet's\n"
       "mean colour for caffe, mid-grey for tf); mean is the image's mean colour; blur is the image\n"
       "blurred (Gaussian, sigma patch/4): detail hidden, colour kept; R,G,B one colour (grey models\n"
       "take its luma). The command prints the fill it used. Every occluded copy is\n"
       "classified (--batch copies per pass, no gradients) and the heatmap is p(original) - p(occluded)\n"
       "for class C (default: the top-1 class; an index or, with a class index, a name). Writes\n"
       "DIR/<image>_occlusion_<class>_sheet.png (all occluded copies, the largest drop framed in red),\n"
       "_heatmap.png (the drop per position, reds, colour bar), _overlay.png (the drop, bilinear between\n"
       "patch centres, over the photo, jet) and _mask.png (the photo times the min-max normalised drop\n"
       "squared). --npy also writes _prob.npy and _drop.npy, float32, one value per patch position\n"
       "(rows x columns). When hiding some part made the class more likely (a drop below 0), the heatmap and\n"
       "the overlay use a diverging blue-white-red scale centred at 0 instead.\n\n"
       "example:\n  vis_tool occlusion --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/coffee.png --fill blur --out out",
       run_occlusion});

}  // namespace convis::cli
