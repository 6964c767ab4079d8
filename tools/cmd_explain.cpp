// vis_tool explain TOPIC: the teaching mode. Worked examples with every number shown (vis/explain.h),
// coloured on a terminal; `explain conv --png DIR [--frames]` draws the same steps as pictures.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/model_io.h"
#include "tools/cli.h"
#include "vis/canvas.h"
#include "vis/explain.h"
#include "vis/image.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

const char* kTopics = "conv, im2col, channels, pool, relu, softmax, backprop, value";

// ANSI colour on a terminal, unless --no-color or NO_COLOR (https://no-color.org) says otherwise.
bool want_colour(const Args& args) {
  return !args.has("no-color") && std::getenv("NO_COLOR") == nullptr && ::isatty(STDOUT_FILENO);
}

void print(const Text& t, const Args& args) { std::fputs(t.str(want_colour(args)).c_str(), stdout); }

ConvSpec conv_spec(const Args& args, const std::string& topic) {
  ConvSpec s = default_conv_spec();
  if (args.has("input")) s.input = parse_matrix(args.get("input", ""), "--input");
  if (args.has("kernel")) s.kernel = parse_matrix(args.get("kernel", ""), "--kernel");
  s.stride = args.get_int("stride", 1, 1, 64);
  s.pad = args.get_int("pad", 0, 0, 16);
  s.bias = args.get_double("bias", 0.0);
  if (s.stride < 1) throw UsageError(topic + ": --stride must be at least 1, got " + std::to_string(s.stride));
  if (s.pad < 0 || s.pad > 16) throw UsageError(topic + ": --pad must be in 0..16, got " + std::to_string(s.pad));
  return s;
}

// "y,x" -> two integers.
void parse_at(const std::string& text, int& y, int& x) {
  const size_t comma = text.find(',');
  auto to_int = [&](const std::string& s, int& out) {
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < -1000000 || v > 1000000) return false;
    out = int(v);
    return true;
  };
  if (comma == std::string::npos || !to_int(text.substr(0, comma), y) || !to_int(text.substr(comma + 1), x))
    throw UsageError("explain value: --at expects ROW,COLUMN (two integers, e.g. --at 10,20), got '" + text + "'");
}

// The pictures of `explain conv`: conv.png (every cell done, the strongest one's window shown)
// and, with --frames, one picture per output cell. Everything is drawn before anything is written.
void write_conv_pictures(const ConvExplanation& e, const std::string& dir, bool frames) {
  namespace fs = std::filesystem;
  if (!e.possible) {
    std::fprintf(stderr, "explain conv: no output, so no pictures\n");
    return;
  }
  ensure_output_dir(dir);
  int strongest = 0;
  for (size_t i = 0; i < e.cells.size(); ++i)
    if (std::abs(e.cells[i].sum) > std::abs(e.cells[size_t(strongest)].sum)) strongest = int(i);
  std::vector<std::pair<std::string, Canvas>> out;
  out.emplace_back("conv.png", draw_conv_step(e, strongest, true));
  if (frames)
    for (size_t i = 0; i < e.cells.size(); ++i) {
      char name[40];
      std::snprintf(name, sizeof name, "conv_step_%03zu.png", i);
      out.emplace_back(name, draw_conv_step(e, int(i), false));
    }
  for (const auto& [name, canvas] : out) write_png(canvas, (fs::path(dir) / name).string());
  std::printf(
      "\nwrote %s%s\n", (fs::path(dir) / "conv.png").string().c_str(),
      frames ? (" and " + std::to_string(e.cells.size()) + " frames conv_step_000.png ... (a GIF needs an encoder " +
                "convis does not ship; e.g. `convert -delay 80 conv_step_*.png conv.gif` makes one)")
                   .c_str()
             : "");
}

}  // namespace

static int run_explain(const std::vector<std::string>& argv) {
  if (argv.empty())
    throw UsageError(std::string("explain: which topic? one of ") + kTopics + " (e.g. vis_tool explain conv)");
  // `explain --weights F --layer L ...` (options, no topic) is `explain value`.
  const bool implicit_value = argv[0].rfind("--", 0) == 0;
  if (implicit_value && std::find(argv.begin(), argv.end(), "--weights") == argv.end())
    throw UsageError(std::string("explain: which topic? one of ") + kTopics + " (e.g. vis_tool explain conv)");
  const std::string topic = implicit_value ? "value" : argv[0];
  const std::string cmd = "explain " + topic;
  Args args(cmd, std::vector<std::string>(argv.begin() + (implicit_value ? 0 : 1), argv.end()), {"no-color", "frames"});

  if (topic == "conv") {
    args.allow_only({"input", "kernel", "stride", "pad", "bias", "png", "frames", "no-color"});
    if (args.has("frames") && !args.has("png"))
      throw UsageError("explain conv: --frames needs --png DIR (where to write them)");
    const ConvExplanation e = explain_conv(conv_spec(args, cmd));
    if (args.has("frames") && e.cells.size() > 256)
      throw UsageError("explain conv: --frames would write " + std::to_string(e.cells.size()) +
                       " pictures; at most 256 (use a smaller input or a larger stride)");
    print(e.text, args);
    if (args.has("png")) write_conv_pictures(e, args.get("png", ""), args.has("frames"));
  } else if (topic == "im2col") {
    args.allow_only({"input", "kernel", "stride", "pad", "bias", "input-size", "no-color"});
    print(explain_im2col(conv_spec(args, cmd), args.get_int("input-size", 224, 0, 4096)).text, args);
  } else if (topic == "channels") {
    args.allow_only({"weights", "input-size", "no-color"});
    if (args.has("weights")) {
      const int size = args.get_int("input-size", 0, 0, 4096);
      const Model m = load_model(args.get("weights", ""), size, size);
      print(explain_channels(&m, "'" + m.name + "' (" + args.get("weights", "") + ")").text, args);
    } else {
      print(explain_channels().text, args);
    }
  } else if (topic == "pool") {
    args.allow_only({"no-color"});
    print(explain_pool().text, args);
  } else if (topic == "relu") {
    args.allow_only({"no-color"});
    print(explain_relu().text, args);
  } else if (topic == "softmax") {
    args.allow_only({"logits", "no-color"});
    std::vector<double> logits;
    if (args.has("logits")) {
      const Matrix m = parse_matrix(args.get("logits", ""), "--logits");
      if (m.rows != 1) throw UsageError("explain softmax: --logits is one row of numbers, e.g. 2,1,0.1");
      logits = m.v;
    }
    print(explain_softmax(logits).text, args);
  } else if (topic == "backprop") {
    args.allow_only({"no-color"});
    print(explain_backprop().text, args);
  } else if (topic == "value") {
    args.allow_only({"weights", "layer", "image", "at", "filter", "preprocess", "no-color"});
    const std::string spec = args.require("weights"), layer = args.require("layer"), image = args.require("image");
    int y = 0, x = 0;
    parse_at(args.require("at"), y, x);
    const int filter = args.get_int("filter", 0);
    const Model m = load_model(spec);
    const Preprocess pre =
        args.has("preprocess") ? parse_preprocess(args.get("preprocess", "")) : default_preprocess(m);
    const Tensor input = load_input(image, m.built_h(), m.built_w(), m.input_c, pre);
    const std::string note = "model '" + m.name + "' (" + std::to_string(m.layers.size()) + " layers), image " + image +
                             " resized to " + std::to_string(m.built_h()) + "x" + std::to_string(m.built_w()) +
                             ", preprocessing '" + preprocess_name(pre) + "'";
    print(explain_value(m, input, layer, y, x, filter, note).text, args);
  } else {
    throw UsageError("explain: unknown topic '" + topic + "' (topics: " + kTopics + ")");
  }
  return 0;
}

static const Registration reg_explain(
    80, {"explain", "teaching mode: conv, im2col, channels, pool, relu, softmax, backprop, value worked by hand",
         "vis_tool explain TOPIC [options]\n\n"
         "Worked examples with every number shown, each checked against the engine.\n"
         "  conv       the 6x5 edge exercise: output size, every window and sum, the result\n"
         "             --input M --kernel M   matrices as text: rows split by ';', values by ','\n"
         "             --stride S --pad P --bias B\n"
         "             --png DIR              pictures: DIR/conv.png (input with a window, kernel, output)\n"
         "             --frames               with --png: one picture per output cell, conv_step_000.png ...\n"
         "  im2col     the same convolution as patch matrix x kernel column (same options as conv), then\n"
         "             VGG16's conv layers as GEMMs with their FLOPs   --input-size N (default 224)\n"
         "  channels   a 3-channel input and a 3x3x3 kernel; the parameter count k*k*Cin*Cout + Cout\n"
         "             --weights F            check the formula on every conv layer of a model\n"
         "  pool       2x2 max pooling and where its gradient goes\n"
         "  relu       ReLU and its gradient\n"
         "  softmax    logits to probabilities, the max-subtraction trick   --logits 2,1,0.1\n"
         "  backprop   conv -> relu -> maxpool -> mean: forward, autodiff backward, finite differences\n"
         "  value      one output of a real conv layer taken apart:\n"
         "             --weights F --layer L --image I --at ROW,COL [--filter K] [--preprocess MODE]\n"
         "             (`vis_tool explain --weights F ...` with no topic means value)\n"
         "  --no-color plain text (colour is on only when stdout is a terminal; NO_COLOR also turns it off)\n\n"
         "examples:\n"
         "  vis_tool explain conv\n"
         "  vis_tool explain conv --input \"1,2,3;4,5,6;7,8,9\" --kernel \"1,0;0,-1\" --pad 1 --stride 2\n"
         "  vis_tool explain value --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
         "      --layer conv2d_5 --image ../shared/data/images/cat_chelsea.png --at 10,12 --filter 7",
         run_explain});

}  // namespace convis::cli
