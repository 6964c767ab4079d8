// vis_tool diagram: a picture of a model's architecture (vis/diagram.h), layered 3-D boxes or a
// flat list, written as DIR/<weights name>_<style>.png.
#include <cstdio>
#include <filesystem>

#include "engine/model_io.h"
#include "tools/cli.h"
#include "vis/canvas.h"
#include "vis/diagram.h"
#include "vis/png.h"

namespace convis::cli {

static int run_diagram(const std::vector<std::string>& argv) {
  Args args("diagram", argv, {});
  args.allow_only({"weights", "out", "style", "input-size", "fold", "title"});
  const std::string spec = args.require("weights");
  const std::string dir = args.get("out", ".");
  DiagramOptions opt;
  try {
    opt.style = parse_diagram_style(args.get("style", "layered"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("diagram: --style: ") + e.what());
  }
  if (args.has("fold")) {
    const std::string f = args.get("fold", "");
    if (f != "yes" && f != "no") throw UsageError("diagram: --fold expects yes or no, got '" + f + "'");
    opt.fold = f == "yes";
  }
  const int size = args.get_int("input-size", 0, 0, 4096);
  if (args.has("input-size") && (size < 1 || size > 4096))
    throw UsageError("diagram: --input-size must be in 1..4096, got " + std::to_string(size));

  const Model m = load_model(spec, size, size);
  const std::string stem = std::filesystem::path(resolve_weights_path(spec)).stem().string();
  opt.title =
      args.has("title") ? args.get("title", "") : (stem == m.name ? stem : stem + "  (Keras model '" + m.name + "')");
  const Canvas c = draw_diagram(m, opt);  // drawn before the directory or file is touched
  ensure_output_dir(dir);
  const std::string path =
      (std::filesystem::path(dir) / (stem + (opt.style == DiagramStyle::layered ? "_layered" : "_flat") + ".png"))
          .string();
  write_png(c, path);
  std::printf("%s\n", path.c_str());
  std::fprintf(stderr, "diagram of '%s': %zu layers, %d x %d pixels\n", m.name.c_str(), m.layers.size(), c.width,
               c.height);
  return 0;
}

static const Registration reg_diagram(
    81, {"diagram", "a picture of a model's architecture: layered 3-D boxes or a flat list",
         "vis_tool diagram --weights F [--out DIR] [--style layered|flat] [--input-size N] [--fold yes|no]\n"
         "                 [--title T]\n\n"
         "  --weights F       a Keras .h5 file (or vgg16 / vgg16-notop)\n"
         "  --out DIR         where DIR/<weights name>_<style>.png goes (default: the current directory)\n"
         "  --style S         layered (default): one 3-D box per layer, as visualkeras draws them: height\n"
         "                    ~ sqrt(spatial size), width ~ log2(channels), colours per layer type, output\n"
         "                    shapes underneath, in Keras' layer order (inputs other than the box before\n"
         "                    drawn as arcs over the boxes). flat: a wrapping list of boxes with\n"
         "                    name, type, output shape and parameter count; for a model with branches\n"
         "                    (ResNet, Inception, DenseNet) its graph: a row per depth, branches side by\n"
         "                    side, skip connections in lanes on the right\n"
         "  --input-size N    input height and width for models whose size is free (default 224)\n"
         "  --fold yes|no     draw BatchNormalization / activation / LeakyReLU / Dropout layers inside the\n"
         "                    box of the layer before them (default: yes for layered and for a graph's flat view,\n"
         "                    no for a chain's flat view)\n\n"
         "example:\n  vis_tool diagram --weights ../shared/data/models/darknet_tiny_imagenet.h5 --out out/",
         run_diagram});

}  // namespace convis::cli
