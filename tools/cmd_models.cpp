// vis_tool summary and init: look inside a Keras file, or make one with random weights.
#include <cstdio>

#include "engine/model_io.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace convis::cli {

int run_summary(const std::vector<std::string>& argv) {
  Args args("summary", argv, {});
  args.allow_only({"weights", "input-size"});
  const int size = args.get_int("input-size", 0);
  if (args.has("input-size") && size <= 0) throw UsageError("summary: --input-size must be positive");
  const Model m = load_model(args.require("weights"), size, size);
  std::printf("%s", m.summary().c_str());
  return 0;
}

int run_init(const std::vector<std::string>& argv) {
  Args args("init", argv, {"top"});
  args.allow_only({"arch", "top", "layout", "seed", "out"});
  const std::string arch = args.get("arch", "vgg16");
  if (arch != "vgg16") throw UsageError("init: unknown --arch '" + arch + "' (vgg16)");
  const KerasLayout layout = parse_layout(args.get("layout", "keras1"));
  const std::string out = args.require("out");
  const int seed = args.get_int("seed", 0);
  Model m = vgg16(args.has("top"));
  m.build(m.input_h ? m.input_h : 224, m.input_w ? m.input_w : 224);
  init_he_normal(m, uint32_t(seed));
  save_model(m, out, layout);
  std::printf("%s\n", out.c_str());
  std::fprintf(stderr, "wrote VGG16%s with He-normal weights (seed %d, %lld parameters) in the %s layout\n",
               args.has("top") ? "" : " (no top)", seed, static_cast<long long>(m.param_count()), layout_name(layout));
  return 0;
}

}  // namespace convis::cli
