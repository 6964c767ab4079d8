// vis_tool report and demo: flags in, paths out. What the page shows and how each section is
// drawn lives in vis/report.h (plan_report, the section functions, report_page); this file reads
// the flags, finds the class index, stages the output folder and prints each file as it lands.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "engine/file_util.h"
#include "engine/model_io.h"
#include "tools/class_lookup.h"
#include "tools/progress.h"
#include "vis/report.h"

namespace convis::cli {

namespace {

namespace fs = std::filesystem;

struct ReportSettings {
  std::string weights;  // a path or an alias
  std::string image;
  std::string out_dir = "out/report";
  ReportOptions options;
  std::string note;     // a line for the top of the page (the demo says what it chose)
};

int run_report_with(const ReportSettings& s, const Args& args) {
  const auto t_start = std::chrono::steady_clock::now();
  // Everything that can be checked is checked before anything is written.
  const Model m = load_model(s.weights);  // a free input size (VGG16 without its top) is built at 224
  const std::string weights_path = resolve_weights_path(s.weights);
  const ReportPlan plan = plan_report(m, s.options);
  Image photo = load_image(s.image, plan.image_channels);
  std::vector<std::string> class_names;
  if (plan.classifier)
    for (const ClassLabel& l : load_class_names(args, weights_path, m, plan.num_classes).labels) class_names.push_back(l.name);
  // Built in a staging folder beside --out and moved in only when every file is written: a failed
  // or interrupted run leaves a previous report as it was.
  StagedDir staged(s.out_dir);
  const fs::path final_dir(s.out_dir);
  std::printf("report: model '%s' (%s), image %s (%dx%d, resized to %dx%d, preprocessing '%s') -> %s\n",
              m.name.c_str(), weights_path.c_str(), s.image.c_str(), photo.width, photo.height, plan.input_w,
              plan.input_h, preprocess_name(plan.preprocess), s.out_dir.c_str());
  std::fflush(stdout);

  const ReportImage img = prepare_report_image(m, plan, s.image, std::move(photo), std::move(class_names));
  std::unique_ptr<Progress> bar;  // the long step under way, drawn on stderr
  std::string bar_what;
  ReportOutput out;
  out.dir = staged.path();
  out.wrote = [&](const std::string& file) {
    if (bar) bar->clear();
    std::printf("%s\n", (final_dir / file).string().c_str());
    std::fflush(stdout);
  };
  out.progress = [&](const std::string& what, int64_t done, int64_t total) {
    if (!bar || what != bar_what) {
      bar = std::make_unique<Progress>(what, total);
      bar_what = what;
    }
    bar->update(done);
    if (done < total) return;
    bar->finish();
    bar.reset();
  };
  std::vector<Section> sections;
  for (ReportSection kind : plan.sections) {
    sections.push_back(draw_section(kind, m, plan, img, out));
    if (kind == ReportSection::classification)
      std::printf("top-1: %s (p = %.4f)\n", img.class_name(img.top[0]).c_str(), double(img.probabilities[size_t(img.top[0])]));
  }

  PageInfo page;
  page.model_name = m.name;
  page.weights = weights_path;
  page.image = s.image;
  page.made_by = std::string("vis_tool ") + CONVIS_VERSION;
  page.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  page.note = s.note;
  const std::string html = report_page(page, sections);
  write_file_atomically((fs::path(staged.path()) / "index.html").string(), html.data(), html.size());
  staged.commit();
  std::printf("report: %s (%.0f s)\n", (final_dir / "index.html").string().c_str(), page.seconds);
  return 0;
}

ReportSettings parse_common(const Args& args, const char* command) {
  ReportSettings s;
  s.out_dir = args.get("out", s.out_dir);
  ReportOptions& o = s.options;
  o.iters = args.get_int("iters", o.iters, 0, 1000000);
  o.per_block = args.get_int("per-block", o.per_block, 0, 64);
  o.seed = uint64_t(args.get_int("seed", 0));
  if (o.iters < 0) throw UsageError(std::string(command) + ": --iters must be >= 0, got " + std::to_string(o.iters));
  if (o.per_block < 0 || o.per_block > 64)
    throw UsageError(std::string(command) + ": --per-block must be in 0..64, got " + std::to_string(o.per_block));
  if (args.has("method")) {
    try {
      o.method = parse_maximize_method(args.get("method", ""));
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string(command) + ": " + e.what());
    }
  }
  return s;
}

}  // namespace

static int run_report(const std::vector<std::string>& argv) {
  Args args("report", argv, {});
  args.allow_only({"weights", "image", "out", "iters", "per-block", "method", "seed", "classes"});
  ReportSettings s = parse_common(args, "report");
  s.weights = args.require("weights");
  s.image = args.require("image");
  return run_report_with(s, args);
}

static int run_demo(const std::vector<std::string>& argv) {
  Args args("demo", argv, {});
  args.allow_only({"out", "image", "iters", "per-block", "method", "seed"});
  ReportSettings s = parse_common(args, "demo");
  if (!args.has("out")) s.out_dir = "out/demo";
  const std::string vgg = resolve_weights_path("vgg16");
  const std::string samples = std::string(CONVIS_SOURCE_DIR) + "/weights/samples";
  if (fs::exists(vgg)) {
    s.weights = "vgg16";
    s.image = args.get("image", samples + "/0009_sneaker.png");
    s.note = "VGG16 with the official ImageNet weights (" + vgg + ").";
    if (!args.has("image"))
      s.note += " No --image was given, so it looks at a 28x28 Fashion-MNIST sneaker, enlarged: pass --image "
                "PHOTO for a real photo.";
    std::printf("demo: VGG16 with the fetched ImageNet weights (%s)\n", vgg.c_str());
  } else {
    s.weights = "fashion";
    s.image = args.get("image", samples + "/0009_sneaker.png");
    s.note = "The embedded model: the Keras tutorial CNN that vis_tool train made on Fashion-MNIST "
             "(weights/fashion_cnn.h5). For VGG16, run weights/fetch_vgg16.sh full (needs a network) and "
             "run the demo again.";
    std::printf("demo: the embedded Fashion-MNIST model (weights/fashion_cnn.h5); for VGG16 run "
                "weights/fetch_vgg16.sh full (needs a network) and run the demo again\n");
  }
  std::fflush(stdout);
  return run_report_with(s, args);
}

static const Registration reg_report(90, {"report", "an HTML gallery of every picture for a model and an image",
       "vis_tool report --weights F --image I [--out DIR] [--iters 256] [--per-block 8]\n"
       "                [--method lucid|seed|yosinski] [--seed S] [--classes J]\n\n"
       "Runs the whole gallery for one model and one image and writes DIR/index.html (default\n"
       "out/report/) beside the PNGs: one page, relative links, tables as HTML tables.\n"
       "  the model summary (layers, output shapes, parameters) and the top-5 classes;\n"
       "  the first conv layer's filters;\n"
       "  the feature maps at the end of each block (the layer before each pooling layer; in a\n"
       "    graph model, the last layer of each spatial size;\n"
       "    at most 64 channels a sheet);\n"
       "  activation maximisation of the --per-block channels each block's output finds most\n"
       "    active on the image (--iters steps of --method), and of the class logits (every class\n"
       "    of a model with up to 10, else the image's top 5);\n"
       "  Grad-CAM and occlusion (patch a quarter of the input, stride an eighth) for the top-1 class.\n"
       "A model without class scores (VGG16 without its top) gets the pictures that need none.\n"
       "Prints each file as it is written, and the page's path last.\n\n"
       "example:\n  vis_tool report --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/coffee.png --out out/coffee",
       run_report});

static const Registration reg_demo(91, {"demo", "the main job: the report gallery on VGG16 or the embedded model",
       "vis_tool demo [--out DIR] [--image I] [--iters 256] [--per-block 8] [--method M] [--seed S]\n\n"
       "Writes the report gallery (see vis_tool report --help) into DIR (default out/demo/): for VGG16\n"
       "when weights/fetch_vgg16.sh has fetched its weights, otherwise for the embedded model,\n"
       "weights/fashion_cnn.h5 (the Keras tutorial CNN trained on Fashion-MNIST by vis_tool train).\n"
       "The image defaults to the Fashion-MNIST sneaker in weights/samples/. Says which model it used.\n\n"
       "example:\n  vis_tool demo --out out/demo",
       run_demo});

}  // namespace convis::cli
