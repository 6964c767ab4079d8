// The topics of `vis_tool explain`: one run function per topic (its options to the arguments of
// its vis/explain.h example, the example printed) and the table that lists them.
#include "tools/explain_topics.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/model_io.h"
#include "vis/explain.h"
#include "vis/image.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

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

// ---- one run function per topic ---------------------------------------------------------------

void run_conv(const Args& args, const std::string& cmd) {
  if (args.has("frames") && !args.has("png"))
    throw UsageError("explain conv: --frames needs --png DIR (where to write them)");
  const ConvExplanation e = explain_conv(conv_spec(args, cmd));
  if (args.has("frames") && e.cells.size() > 256)
    throw UsageError("explain conv: --frames would write " + std::to_string(e.cells.size()) +
                     " pictures; at most 256 (use a smaller input or a larger stride)");
  print(e.text, args);
  if (args.has("png")) write_conv_pictures(e, args.get("png", ""), args.has("frames"));
}

void run_im2col(const Args& args, const std::string& cmd) {
  print(explain_im2col(conv_spec(args, cmd), args.get_int("input-size", 224, 0, 4096)).text, args);
}

void run_channels(const Args& args, const std::string&) {
  if (args.has("weights")) {
    const int size = args.get_int("input-size", 0, 0, 4096);
    const Model m = load_model(args.get("weights", ""), size, size);
    print(explain_channels(&m, "'" + m.name + "' (" + args.get("weights", "") + ")").text, args);
  } else {
    print(explain_channels().text, args);
  }
}

void run_pool(const Args& args, const std::string&) { print(explain_pool().text, args); }

void run_relu(const Args& args, const std::string&) { print(explain_relu().text, args); }

void run_softmax(const Args& args, const std::string&) {
  std::vector<double> logits;
  if (args.has("logits")) {
    const Matrix m = parse_matrix(args.get("logits", ""), "--logits");
    if (m.rows != 1) throw UsageError("explain softmax: --logits is one row of numbers, e.g. 2,1,0.1");
    logits = m.v;
  }
  print(explain_softmax(logits).text, args);
}

void run_backprop(const Args& args, const std::string&) { print(explain_backprop().text, args); }

void run_value(const Args& args, const std::string&) {
  const std::string spec = args.require("weights"), layer = args.require("layer"), image = args.require("image");
  int y = 0, x = 0;
  parse_at(args.require("at"), y, x);
  const int filter = args.get_int("filter", 0);
  const Model m = load_model(spec);
  const Preprocess pre = args.has("preprocess") ? parse_preprocess(args.get("preprocess", "")) : default_preprocess(m);
  const Tensor input = load_input(image, m.built_h(), m.built_w(), m.input_c, pre);
  const std::string note = "model '" + m.name + "' (" + std::to_string(m.layers.size()) + " layers), image " + image +
                           " resized to " + std::to_string(m.built_h()) + "x" + std::to_string(m.built_w()) +
                           ", preprocessing '" + preprocess_name(pre) + "'";
  print(explain_value(m, input, layer, y, x, filter, note).text, args);
}

}  // namespace

// ---- the table --------------------------------------------------------------------------------

const std::vector<ExplainTopic>& explain_topics() {
  static const std::vector<ExplainTopic> kTopics = {
      {"conv",
       "the 6x5 edge exercise: output size, every window and sum, the result\n"
       "--input M --kernel M   matrices as text: rows split by ';', values by ','\n"
       "--stride S --pad P --bias B\n"
       "--png DIR              pictures: DIR/conv.png (input with a window, kernel, output)\n"
       "--frames               with --png: one picture per output cell, conv_step_000.png ...",
       {"input", "kernel", "stride", "pad", "bias", "png", "frames"}, run_conv},
      {"im2col",
       "the same convolution as patch matrix x kernel column (same options as conv), then\n"
       "VGG16's conv layers as GEMMs with their FLOPs   --input-size N (default 224)",
       {"input", "kernel", "stride", "pad", "bias", "input-size"}, run_im2col},
      {"channels",
       "a 3-channel input and a 3x3x3 kernel; the parameter count k*k*Cin*Cout + Cout\n"
       "--weights F            check the formula on every conv layer of a model",
       {"weights", "input-size"}, run_channels},
      {"pool", "2x2 max pooling and where its gradient goes", {}, run_pool},
      {"relu", "ReLU and its gradient", {}, run_relu},
      {"softmax", "logits to probabilities, the max-subtraction trick   --logits 2,1,0.1", {"logits"}, run_softmax},
      {"backprop", "conv -> relu -> maxpool -> mean: forward, autodiff backward, finite differences", {}, run_backprop},
      {"value",
       "one output of a real conv layer taken apart:\n"
       "--weights F --layer L --image I --at ROW,COL [--filter K] [--preprocess MODE]\n"
       "(`vis_tool explain --weights F ...` with no topic means value)",
       {"weights", "layer", "image", "at", "filter", "preprocess"}, run_value},
  };
  return kTopics;
}

const ExplainTopic* find_explain_topic(std::string_view name) {
  for (const ExplainTopic& t : explain_topics())
    if (name == t.name) return &t;
  return nullptr;
}

std::string explain_topic_names() {
  std::string names;
  for (const ExplainTopic& t : explain_topics()) names += (names.empty() ? "" : ", ") + std::string(t.name);
  return names;
}

const ExplainTopic& explain_topic(std::string_view name) {
  if (const ExplainTopic* t = find_explain_topic(name)) return *t;
  throw UsageError("explain: unknown topic '" + std::string(name) + "' (topics: " + explain_topic_names() + ")");
}

std::string explain_topics_help() {
  std::string out;
  for (const ExplainTopic& t : explain_topics()) {
    char name[32];
    std::snprintf(name, sizeof name, "  %-10s ", t.name);
    out += name;
    // Lines after the first start under it.
    for (const char* c = t.help; *c; ++c) out += *c == '\n' ? "\n" + std::string(13, ' ') : std::string(1, *c);
    out += "\n";
  }
  return out;
}

}  // namespace convis::cli
