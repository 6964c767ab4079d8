// vis_tool filters: a Conv2D layer's learned kernels as a picture (vis/filters.h draws it).
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/model_io.h"
#include "tools/cli.h"
#include "vis/canvas.h"
#include "vis/colormap.h"
#include "vis/filters.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

// "a-b", "a" or "all" -> first, last (last -1: all filters).
void parse_filter_range(const std::string& s, int& first, int& last) {
  if (s == "all") {
    first = 0;
    last = -2;
    return;
  }
  char* end = nullptr;
  const long a = std::strtol(s.c_str(), &end, 10);
  long b = a;
  bool ok = end != s.c_str();
  if (ok && *end == '-') {
    const char* rest = end + 1;
    b = std::strtol(rest, &end, 10);
    ok = end != rest;
  }
  if (!ok || *end != '\0' || a < 0 || b < a || b > 1000000)
    throw UsageError("filters: --filters expects a range like 0-15 (or one index, or all), got '" + s + "'");
  first = int(a);
  last = int(b);
}

}  // namespace

static int run_filters(const std::vector<std::string>& argv) {
  Args args("filters", argv, {});
  args.allow_only({"weights", "layer", "out", "filters", "max-channels", "norm", "cmap"});
  const std::string spec = args.require("weights");
  const std::string layer = args.require("layer");
  const std::string out_dir = args.get("out", "out");
  FilterSheetOptions opt;
  opt.max_channels = args.get_int("max-channels", 16, 0, 65536);
  if (opt.max_channels < 1) throw UsageError("filters: --max-channels must be at least 1");
  if (args.has("filters")) parse_filter_range(args.get("filters", ""), opt.first, opt.last);
  try {
    opt.norm = parse_weight_norm(args.get("norm", "layer"));
    const std::string cm = args.get("cmap", "grey");
    opt.cmap = parse_colormap(cm);
    if (opt.cmap != Colormap::grey && opt.cmap != Colormap::blue_red)
      throw std::invalid_argument("colormap '" + cm + "' is not for weights; valid: grey, blue_red");
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("filters: ") + e.what());
  }

  // Everything is checked before anything is written.
  const Model m = load_model(spec);
  const Layer& l = conv_layer(m, layer);
  const Tensor k = drawn_kernel(l);
  const int C = int(k.dim(2)), OC = int(k.dim(3));
  if (C == 3 && args.has("cmap"))
    throw UsageError("filters: layer '" + layer + "' has 3 input channels, drawn as RGB: --cmap applies to grey kernels");
  if ((C == 1 || C == 3) && args.has("max-channels"))
    throw UsageError("filters: layer '" + layer + "' has " + std::to_string(C) +
                     " input channel(s), one tile per filter: --max-channels applies to deeper layers");
  if (opt.last == -2) opt.last = OC - 1;
  if (opt.last >= OC)
    throw UsageError("filters: layer '" + layer + "' has filters 0-" + std::to_string(OC - 1) + ", --filters asks for " +
                     std::to_string(opt.first) + "-" + std::to_string(opt.last));
  const Canvas sheet = filter_sheet(m, layer, opt);
  ensure_output_dir(out_dir);

  std::string name = "filters_" + file_safe(layer);
  if (args.has("filters") && !(opt.first == 0 && opt.last == OC - 1))
    name += "_" + std::to_string(opt.first) + "-" + std::to_string(opt.last);
  const std::string path = (std::filesystem::path(out_dir) / (name + ".png")).string();
  write_png(sheet, path);
  std::printf("%s\n", path.c_str());
  return 0;
}

static const Registration reg_filters(41, {"filters", "a Conv2D layer's kernels as a grid of tiles",
       "vis_tool filters --weights F --layer L [--out DIR] [--filters a-b] [--max-channels N]\n"
       "                 [--norm layer|filter] [--cmap grey|blue_red]\n\n"
       "Draws the kernel (KH, KW, C, OC) of Conv2D layer L, nearest-neighbour enlarged so each weight\n"
       "is a visible square. A DepthwiseConv2D's kernel (KH, KW, C, M), and the depthwise part of a\n"
       "SeparableConv2D (its 1x1 pointwise kernel is not drawn), is one grey tile per output channel:\n"
       "each sees one input channel (the first 64 by default).\n"
       "  A layer that sees the image (C = 3): one RGB tile per filter (keras.applications' VGG16\n"
       "  sees BGR: its channels are swapped back). C = 1: one grey tile per filter. All filters.\n"
       "  A deeper layer: one row per filter, one column per input channel (the first 16, or\n"
       "  --max-channels), filters 0-15 unless --filters a-b (or all).\n"
       "--norm layer (default) maps the layer's smallest..largest weight to black..white (with a\n"
       "colour bar); --norm filter stretches each filter on its own. --cmap blue_red is symmetric\n"
       "about zero: negative blue, zero white, positive red.\n"
       "Writes DIR/filters_<layer>.png (DIR/filters_<layer>_<a>-<b>.png with --filters) and prints\n"
       "the path. DIR defaults to out/.\n\n"
       "example:\n  vis_tool filters --weights ../shared/data/models/darknet_tiny_imagenet.h5 --layer conv2d_1\n"
       "  vis_tool filters --weights ../shared/data/models/darknet_tiny_imagenet.h5 --layer conv2d_5 \\\n"
       "      --filters 0-31 --cmap blue_red",
       run_filters});

}  // namespace convis::cli
