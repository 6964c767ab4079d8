// vis_tool activations: every channel of a layer's output for one image (vis/activations.h draws it).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "engine/model_io.h"
#include "tools/cli.h"
#include "tools/progress.h"
#include "vis/activations.h"
#include "vis/canvas.h"
#include "vis/colormap.h"
#include "vis/image.h"
#include "vis/png.h"

namespace convis::cli {

static int run_activations(const std::vector<std::string>& argv) {
  Args args("activations", argv, {});
  args.allow_only({"weights", "image", "layer", "out", "norm", "cmap", "preprocess", "max-channels", "input-size"});
  const std::string spec = args.require("weights");
  const std::string image = args.require("image");
  const std::string layer = args.require("layer");
  const std::string out_dir = args.get("out", "out");
  ActivationOptions opt;
  opt.max_channels = args.get_int("max-channels", 0, 0, 65536);
  if (opt.max_channels < 0) throw UsageError("activations: --max-channels must be positive (0: all channels)");
  const int input_size = args.get_int("input-size", 0, 0, 4096);
  if (input_size < 0 || input_size > 4096) throw UsageError("activations: --input-size must be 1..4096");
  Preprocess pre = Preprocess::unit;
  try {
    opt.norm = parse_activation_norm(args.get("norm", "keras"));
    const std::string cm = args.get("cmap", "viridis");
    opt.cmap = parse_colormap(cm);
    if (opt.cmap != Colormap::viridis && opt.cmap != Colormap::grey)
      throw std::invalid_argument("colormap '" + cm + "' is not offered here; valid: viridis, grey");
    if (args.has("preprocess")) pre = parse_preprocess(args.get("preprocess", ""));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("activations: ") + e.what());
  }

  // Everything is checked before anything is written: model, layers, image, output directory.
  const Model m = load_model(spec, input_size, input_size);
  if (!args.has("preprocess")) pre = default_preprocess(m);
  std::vector<int> which;
  if (layer == "all") {
    which = activation_layers(m);
    if (which.empty())
      throw std::invalid_argument("model '" + m.name + "' has no Conv2D or pooling layer with a spatial output");
  } else {
    const int i = m.layer_index(layer);
    const Layer& l = m.layers[size_t(i)];
    if (!l.has_spatial_output())
      throw std::invalid_argument("layer '" + layer + "' (" + l.class_name + ") has output " + l.output_shape.str() +
                                  ", no spatial feature maps to draw; pick a layer with an (H, W, C) output");
    which = {i};
  }
  const Image photo = load_image(image, m.input_c == 1 ? 1 : 3);
  const int h = m.built_h(), w = m.built_w();
  const Tensor x = preprocess(resize_bilinear(photo, h, w), pre);
  ensure_output_dir(out_dir);

  // One forward pass, keeping only the outputs that are drawn.
  const std::vector<Tensor> outs = layer_outputs(m, x, *std::max_element(which.begin(), which.end()), which);
  char sub[512];
  std::snprintf(sub, sizeof sub, "%s %dx%d -> %dx%d, preprocessing '%s'",
                std::filesystem::path(image).filename().string().c_str(), photo.width, photo.height, w, h,
                preprocess_name(pre));
  opt.subtitle = sub;
  std::fflush(stdout);
  Progress bar("activations", int64_t(which.size()));
  for (size_t k = 0; k < which.size(); ++k) {
    const Layer& l = m.layers[size_t(which[k])];
    const Canvas sheet = activation_sheet(l, outs[size_t(which[k])], opt);
    const std::string path = (std::filesystem::path(out_dir) / ("activations_" + file_safe(l.name) + ".png")).string();
    write_png(sheet, path);
    bar.clear();
    std::printf("%s\n", path.c_str());
    std::fflush(stdout);
    if (which.size() > 1) bar.update(int64_t(k + 1), l.name);
  }
  if (which.size() > 1) bar.finish();
  return 0;
}

static const Registration reg_activations(42, {"activations", "every channel of a layer's output for one image, as a grid",
       "vis_tool activations --weights F --image I --layer L|all [--out DIR] [--norm keras|minmax]\n"
       "                     [--cmap viridis|grey] [--preprocess caffe|unit|tf|torch]\n"
       "                     [--max-channels N] [--input-size N]\n\n"
       "Runs the image through the model once and draws each channel of layer L's output as a tile\n"
       "(--layer all: one sheet per Conv2D / pooling layer with a spatial output). The image is\n"
       "resized (bilinear) to the model's input; a model with a free input size (VGG16 without its\n"
       "top) gets its architecture's size (224; 299 for InceptionV3, Xception) unless --input-size.\n"
       "Preprocessing: the model's own (keras.applications' mode for its models: caffe for VGG16 and\n"
       "ResNet50, tf for MobileNetV2, InceptionV3, Xception, torch for DenseNet121; x/255 otherwise)\n"
       "unless --preprocess.\n"
       "--norm keras (default, as the Keras tutorial): per channel (x - mean) / std * 64 + 128,\n"
       "clipped to 0..255, through viridis; a constant channel is mid-colour. --norm minmax stretches\n"
       "each channel's min..max over the colormap. --max-channels N draws channels 0..N-1 only.\n"
       "Writes DIR/activations_<layer>.png per layer and prints each path. DIR defaults to out/.\n\n"
       "example:\n  vis_tool activations --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/cat_chelsea.png --layer conv2d_3\n"
       "  vis_tool activations --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/cat_chelsea.png --layer all --out out/cat",
       run_activations});

}  // namespace convis::cli
