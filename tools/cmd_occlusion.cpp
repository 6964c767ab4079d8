// vis_tool occlusion: how much a class's probability drops when a patch hides each part of the image.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/model_io.h"
#include "tools/class_lookup.h"
#include "tools/progress.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/occlusion.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

// "250,128,128" -> an RGB colour; UsageError otherwise.
Rgb parse_fill(const std::string& s) {
  int v[3];
  size_t start = 0;
  for (int k = 0; k < 3; ++k) {
    const size_t end = k < 2 ? s.find(',', start) : s.size();
    const std::string part = end == std::string::npos ? "" : s.substr(start, end - start);
    char* stop = nullptr;
    const long x = std::strtol(part.c_str(), &stop, 10);
    if (part.empty() || *stop != '\0' || x < 0 || x > 255)
      throw UsageError("occlusion: --fill expects R,G,B with each in 0..255 (e.g. 250,128,128), got '" + s + "'");
    v[k] = int(x);
    start = end + 1;
  }
  return Rgb{uint8_t(v[0]), uint8_t(v[1]), uint8_t(v[2])};
}

}  // namespace

static int run_occlusion(const std::vector<std::string>& argv) {
  Args args("occlusion", argv, {});
  args.allow_only({"weights", "image", "patch", "stride", "fill", "class", "batch", "out", "preprocess", "classes"});
  const std::string spec = args.require("weights");
  const std::string image = args.require("image");
  const std::string out_dir = args.get("out", "out");
  OcclusionOptions opt;
  opt.patch = args.get_int("patch", 56, 1, 4096);
  opt.stride = args.get_int("stride", 56, 1, 4096);
  opt.batch = args.get_int("batch", 16, 1, 1024);
  if (args.has("fill")) opt.fill = parse_fill(args.get("fill", ""));
  if (opt.batch < 1) throw UsageError("occlusion: --batch must be >= 1, got " + std::to_string(opt.batch));

  // Everything is checked before anything is written.
  const Model m = load_model(spec);
  const Layer& last = m.layers.back();
  if (last.output_shape.rank() != 1)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + last.name + "' with output " +
                                last.output_shape.str() + ", not class scores (for VGG16 use the file with the top)");
  const int K = int(last.output_shape[0]);
  const Preprocess pre = args.has("preprocess") ? parse_preprocess(args.get("preprocess", "")) : default_preprocess(m);
  const ClassNames names = load_class_names(args, resolve_weights_path(spec), m, K);
  const int h = m.built_h(), w = m.built_w();
  std::vector<int> rows, cols;
  try {
    rows = occlusion_positions(h, opt.patch, opt.stride);
    cols = occlusion_positions(w, opt.patch, opt.stride);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("occlusion: --patch/--stride: ") + e.what());
  }
  const int cls = args.has("class") ? names.parse(args.get("class", ""), K, "occlusion") : -1;
  const Image photo = load_image(image, m.input_c == 1 ? 1 : 3);
  const Tensor pixels = resize_bilinear(photo, h, w);
  ensure_output_dir(out_dir);

  std::printf("%s: %dx%d, resized to %dx%d, preprocessing '%s'\n", image.c_str(), photo.width, photo.height, w, h,
              preprocess_name(pre));
  std::printf("patch %d, stride %d, fill %d,%d,%d: %zux%zu positions\n", opt.patch, opt.stride, opt.fill.r, opt.fill.g,
              opt.fill.b, cols.size(), rows.size());
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
  write_png(occlusion_sheet(pixels, o, opt, stem + ": occluded copies, p of " + what_s), base + "_sheet.png");
  write_png(occlusion_heatmap(o, photo, stem + ": drop of p per patch position, " + what_s), base + "_heatmap.png");
  write_png(occlusion_overlay(o, photo, stem + ": drop of p, " + what_s), base + "_overlay.png");
  write_png(occlusion_mask(o, photo, stem + ": image x normalised drop^2"), base + "_mask.png");
  for (const char* s : {"_sheet", "_heatmap", "_overlay", "_mask"}) std::printf("wrote %s%s.png\n", base.c_str(), s);
  return 0;
}

static const Registration reg_occlusion(51, {"occlusion",
       "occlusion sensitivity: the drop of a class's probability as a patch slides over the image",
       "vis_tool occlusion --weights F --image I [--patch 56] [--stride 56] [--fill 250,128,128]\n"
       "                   [--class C] [--batch 16] [--out DIR] [--preprocess M] [--classes J]\n\n"
       "The image is resized to the model's input; a --patch x --patch square filled with the --fill\n"
       "colour (in pixel space, before preprocessing) slides over it with --stride (the last position\n"
       "on each axis is clipped at the border, so every pixel gets covered). Every occluded copy is\n"
       "classified (--batch copies per pass, no gradients) and the heatmap is p(original) - p(occluded)\n"
       "for class C (default: the top-1 class; an index or, with a class index, a name). Writes\n"
       "DIR/<image>_occlusion_<class>_sheet.png (all occluded copies, the largest drop framed in red),\n"
       "_heatmap.png (the drop per position, reds, colour bar), _overlay.png (the drop, bilinear between\n"
       "patch centres, over the photo) and _mask.png (the photo times the min-max normalised drop squared).\n\n"
       "example:\n  vis_tool occlusion --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/coffee.png --patch 56 --stride 28 --out out",
       run_occlusion});

}  // namespace convis::cli
