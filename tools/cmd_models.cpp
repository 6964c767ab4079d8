// vis_tool summary and init: look inside a Keras file, or make one with random weights.
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "engine/applications.h"
#include "engine/model_io.h"
#include "tools/cli.h"

namespace convis::cli {

static int run_summary(const std::vector<std::string>& argv) {
  Args args("summary", argv, {});
  args.allow_only({"weights", "input-size"});
  const int size = args.get_int("input-size", 0, 0, 4096);
  if (args.has("input-size") && size <= 0) throw UsageError("summary: --input-size must be positive");
  const Model m = load_model(args.require("weights"), size, size);
  std::printf("%s", m.summary().c_str());
  return 0;
}

static int run_init(const std::vector<std::string>& argv) {
  Args args("init", argv, {"top"});
  args.allow_only({"arch", "top", "layout", "seed", "out"});
  const std::string arch = args.get("arch", "vgg16");
  const ApplicationInfo* info = nullptr;
  try {
    info = &application_info(arch);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("init: --arch: ") + e.what());
  }
  // VGG16 keeps the keras.applications layout; a graph needs its model_config to be read back
  // as a graph (bare weights of the keras.applications models load too: by their layer names).
  const KerasLayout layout = parse_layout(args.get("layout", arch == "vgg16" ? "keras1" : "model"));
  const std::string out = args.require("out");
  const int seed = args.get_int("seed", 0);
  // Fail before seconds of random numbers (138M for --top), with the message the writer would give.
  const std::filesystem::path parent = std::filesystem::path(out).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
    throw std::runtime_error("cannot write '" + out + "': directory '" + parent.string() + "' does not exist");
  Model m = info->build(args.has("top"));
  m.build(m.input_h ? m.input_h : info->input_size, m.input_w ? m.input_w : info->input_size);
  init_he_normal(m, uint32_t(seed));
  save_model(m, out, layout);
  std::printf("%s\n", out.c_str());
  std::fprintf(stderr, "wrote %s%s with He-normal weights (seed %d, %lld parameters) in the %s layout\n",
               info->keras_class, args.has("top") ? "" : " (no top)", seed, static_cast<long long>(m.param_count()),
               layout_name(layout));
  return 0;
}

static const Registration reg_summary(10, {"summary", "the Keras-style table of a model's layers, output shapes and parameters",
       "vis_tool summary --weights F [--input-size N]\n\n"
       "  --weights F       a Keras .h5 file (model.save(), save_weights(), keras.applications, Keras 3\n"
       "                    .weights.h5), or vgg16 / vgg16-notop for the fetched VGG16 files\n"
       "  --input-size N    input height and width for models whose size is free (default 224)\n\n"
       "example:\n  vis_tool summary --weights vgg16-notop --input-size 96",
       run_summary});

static const Registration reg_init(20, {"init", "write a keras.applications model with random (He-normal) weights, in any Keras layout",
       "vis_tool init --arch A [--top] --layout keras1|keras2|model|keras3 --seed S --out F\n\n"
       "  --arch A          vgg16 (default), resnet50, mobilenet_v2, densenet121, inception_v3 or xception,\n"
       "                    with Keras' layer names and configs (summary matches Keras' totals)\n"
       "  --top             include the classifier (224x224 input; 299x299 for inception_v3, xception)\n"
       "  --layout L        keras1: the keras.applications file layout (block1_conv1_W_1:0 ...)\n"
       "                    keras2: Keras 2 save_weights(); model: Keras 2 model.save() with model_config\n"
       "                    keras3: Keras 3 .weights.h5 (layers/<name>/vars/0 ...).\n"
       "                    Default keras1 for vgg16, model for the others\n"
       "  --seed S          random seed (default 0): the same seed gives the same file\n\n"
       "examples:\n  vis_tool init --arch vgg16 --top --layout keras1 --seed 1 --out /tmp/vgg16_random.h5\n"
       "  vis_tool init --arch resnet50 --top --out /tmp/resnet50_random.h5",
       run_init});

}  // namespace convis::cli
