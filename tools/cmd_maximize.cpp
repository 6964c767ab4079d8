// vis_tool maximize: activation maximisation, one picture per filter and a sheet (vis/maximize.h).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "engine/model_io.h"
#include "tools/class_lookup.h"
#include "tools/cli.h"
#include "tools/progress.h"
#include "vis/canvas.h"
#include "vis/colormap.h"
#include "vis/layout.h"
#include "vis/maximize.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

// "7", "0-15", "3,7,9-11" -> filter indices, in order. Range checks are the Maximizer's.
std::vector<int> parse_filter_list(const std::string& what, const std::string& s) {
  std::vector<int> out;
  size_t pos = 0;
  auto bad = [&]() {
    return UsageError("maximize: --" + what + " expects a number, a range a-b or a list like 0-3,7; got '" + s + "'");
  };
  auto number = [&](size_t& i) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) throw bad();
    long v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i++] - '0');
      if (v > 1000000) throw bad();
    }
    return int(v);
  };
  while (true) {
    const int a = number(pos);
    int b = a;
    if (pos < s.size() && s[pos] == '-') b = number(++pos);
    if (b < a) throw UsageError("maximize: --" + what + " range " + std::to_string(a) + "-" + std::to_string(b) +
                                " runs backwards");
    for (int f = a; f <= b; ++f) out.push_back(f);
    if (pos == s.size()) break;
    if (s[pos] != ',') throw bad();
    ++pos;
  }
  return out;
}

Canvas image_canvas(const MaximizeResult& r) {
  const Tensor& im = r.image;
  const int h = int(im.dim(0)), w = int(im.dim(1));
  if (im.dim(2) == 3) return render_rgb(im.data(), h, w, 0.f, 1.f);
  return render_map(im.data(), h, w, 0.f, 1.f, Colormap::grey);
}

// "3", "0-15" for a run of consecutive filters, else "3,7,9" (or the first few and a count).
std::string describe(const std::vector<int>& fs) {
  bool run = true;
  for (size_t k = 1; k < fs.size(); ++k) run = run && fs[k] == fs[k - 1] + 1;
  if (fs.size() > 1 && run) return std::to_string(fs.front()) + "-" + std::to_string(fs.back());
  std::string s;
  for (size_t k = 0; k < fs.size() && k < 6; ++k) s += (k ? "," : "") + std::to_string(fs[k]);
  if (fs.size() > 6) s += ",... (" + std::to_string(fs.size()) + ")";
  return s;
}

std::string fmt_ms(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f ms", seconds * 1000.0);
  return buf;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 ? "%.1f" : std::fabs(v) >= 1 ? "%.3f" : "%.4f", v);
  return buf;
}

}  // namespace

static int run_maximize(const std::vector<std::string>& argv) {
  Args args("maximize", argv, {"all", "pre-relu", "verbose"});
  args.allow_only({"weights", "layer", "filter", "filters", "all", "method", "objective", "size", "iters", "step", "seed",
                   "pre-relu", "batch", "out", "preprocess", "classes", "verbose"});
  const std::string spec = args.require("weights");
  const std::string layer = args.require("layer");
  const int given = int(args.has("filter")) + int(args.has("filters")) + int(args.has("all"));
  if (given != 1) throw UsageError("maximize: give exactly one of --filter F, --filters a-b or --all");

  MaximizeOptions opt;
  opt.method = parse_maximize_method(args.get("method", "lucid"));
  if (args.has("objective")) {
    try {
      opt.objective = parse_maximize_objective(args.get("objective", ""));
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("maximize: --objective: ") + e.what());
    }
  }
  const bool verbose = args.has("verbose");
  opt.size = args.get_int("size", 0, 0, 2048);
  if (args.has("size") && opt.size < 8) throw UsageError("maximize: --size must be at least 8, got " + args.get("size", ""));
  opt.iters = args.get_int("iters", -1, -1, 1000000);
  if (args.has("iters") && opt.iters < 1) throw UsageError("maximize: --iters must be positive, got " + args.get("iters", ""));
  opt.step = float(args.get_double("step", 0.0));
  if (args.has("step") && !(opt.step > 0.f)) throw UsageError("maximize: --step must be positive, got " + args.get("step", ""));
  opt.batch = args.get_int("batch", 16, 1, 1024);
  if (opt.batch < 1) throw UsageError("maximize: --batch must be positive, got " + std::to_string(opt.batch));
  const bool seeded = args.has("seed");
  const int seed_arg = args.get_int("seed", 0);
  if (seed_arg < 0) throw UsageError("maximize: --seed must be >= 0, got " + std::to_string(seed_arg));
  opt.seed = seeded ? uint64_t(seed_arg) : uint64_t(std::random_device{}() & 0x7fffffff);
  opt.pre_relu = args.has("pre-relu");
  if (args.has("preprocess")) opt.preprocess = parse_preprocess(args.get("preprocess", ""));
  const std::string out_dir = args.get("out", "out");

  // Everything is checked before anything is written: model, layer, size, filters, then the folder.
  const Model m = load_model(spec);
  const Maximizer mx(m, layer, opt);
  // The model's class scores get their names (and --filter accepts a name, e.g. peacock).
  const bool classes = mx.dense() && m.layer_index(layer) == int(m.layers.size()) - 1;
  const bool logits = classes && (mx.pre_activation() || m.layers.back().activation == Activation::linear);
  ClassNames names;
  if (classes) names = load_class_names(args, resolve_weights_path(spec), m, mx.num_filters());
  std::vector<int> filters;
  if (args.has("all")) {
    for (int f = 0; f < mx.num_filters(); ++f) filters.push_back(f);
  } else {
    // Numbers, ranges a-b, and for the model's class scores class names, comma-separated
    // (--filters peacock,flamingo,404); --filter takes one.
    const bool one = args.has("filter");
    const std::string text = args.get(one ? "filter" : "filters", "");
    const bool named = classes && !names.labels.empty();
    size_t start = 0;
    while (named) {
      const size_t end = std::min(text.find(',', start), text.size());
      const std::string token = text.substr(start, end - start);
      const bool numeric = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '-';
      });
      if (numeric) {
        for (int f : parse_filter_list(one ? "filter" : "filters", token)) filters.push_back(f);
      } else {
        try {
          filters.push_back(names.parse(token, mx.num_filters(), "maximize"));
        } catch (const UsageError& e) {  // the shared parser names the option --class; here it is --filter(s)
          std::string msg = e.what();
          const size_t at = msg.find("--class ");
          if (at != std::string::npos) msg.replace(at, 8, one ? "--filter " : "--filters ");
          throw UsageError(msg);
        }
      }
      if (end == text.size()) break;
      start = end + 1;
    }
    if (!named) filters = parse_filter_list(one ? "filter" : "filters", text);
    if (one && filters.size() != 1) throw UsageError("maximize: --filter takes one index; use --filters for several");
  }
  for (int f : filters) mx.check_filter(f);
  // "filter 404" or, for a named class, "filter 404 (peacock)".
  auto label = [&](int f) {
    return "filter " + std::to_string(f) + (classes && !names.labels.empty() ? " (" + names.name(f) + ")" : "");
  };
  ensure_output_dir(out_dir);

  const Layer& L = m.layers[size_t(m.layer_index(layer))];
  // --pre-relu pictures are other pictures: their own file names, not the post-ReLU ones'.
  const char* method = maximize_method_name(opt.method);
  const std::string file_method = std::string(method) + (opt.pre_relu ? "_prerelu" : "");
  std::string how;
  switch (opt.method) {
    case MaximizeMethod::seed: how = "gradient ascent, step " + fmt(mx.step()) + " x normalised gradient, no preprocessing"; break;
    case MaximizeMethod::lucid: how = "Adam lr " + fmt(mx.step()) + ", Fourier + decorrelated colour, jitter/scale/rotate, preprocessing '" +
                                      std::string(preprocess_name(mx.preprocessing())) + "'"; break;
    case MaximizeMethod::yosinski: how = "step " + fmt(mx.step()) + " grey levels (RMS) along the gradient, L2 decay 1e-4, "
                                         "blur every 4 steps, preprocessing '" +
                                         std::string(preprocess_name(mx.preprocessing())) + "'"; break;
  }
  std::printf("maximize: layer '%s' (%s, %d %s%s) of model '%s', %zu filter%s\n", layer.c_str(), L.class_name.c_str(),
              mx.num_filters(), mx.dense() ? "units" : "filters", mx.pre_activation() ? ", pre-activation" : "",
              m.name.c_str(), filters.size(), filters.size() == 1 ? "" : "s");
  std::printf("method %s: %dx%dx%d image, %d steps, %s, batch %d, seed %llu%s\n", method, mx.height(), mx.width(),
              mx.channels(), mx.iters(), how.c_str(), std::min<int>(opt.batch, int(filters.size())),
              static_cast<unsigned long long>(opt.seed), seeded ? "" : " (pass --seed to reproduce)");
  for (const std::string& n : mx.notes()) std::printf("note: %s\n", n.c_str());
  std::fflush(stdout);

  // One filter: the seeds' "Iteration: N, Loss: L" every iters/50 steps. Several: one line per
  // batch every iters/10 steps (the mean, lowest and highest objective of its filters), or with
  // --verbose the seeds' line per filter every iters/50 steps.
  const bool several = filters.size() > 1;
  const int every = std::max(1, mx.iters() / (several && !verbose ? 10 : 50));
  const int64_t chunks = int64_t((filters.size() + size_t(opt.batch) - 1) / size_t(opt.batch));
  Progress bar("maximize " + layer, chunks * mx.iters());
  int64_t done = 0;
  auto observe = [&](int it, const std::vector<int>& fs, const std::vector<float>& losses) {
    if (it % every == 0 || it + 1 == mx.iters()) {
      bar.clear();
      if (!several) {
        std::printf("Iteration: %d, Loss: %s\n", it, fmt(losses[0]).c_str());
      } else if (verbose) {
        for (size_t k = 0; k < fs.size(); ++k)
          std::printf("Iteration: %d, Filter: %d, Loss: %s\n", it, fs[k], fmt(losses[k]).c_str());
      } else {
        double mean = 0;
        for (float l : losses) mean += l;
        const auto [lo, hi] = std::minmax_element(losses.begin(), losses.end());
        std::printf("step %d/%d, filters %s: mean %s, lowest %s, highest %s\n", it, mx.iters(), describe(fs).c_str(),
                    fmt(mean / double(losses.size())).c_str(), fmt(*lo).c_str(), fmt(*hi).c_str());
      }
      std::fflush(stdout);
    }
    bar.update(++done, (fs.size() > 1 ? "filters " : "filter ") + describe(fs));
  };

  const std::string what = logits ? "logit" : mx.neuron() ? "centre unit" : "mean activation";
  // Each picture is written as soon as its batch finishes; the sheet keeps only 8-bit tiles.
  namespace fs = std::filesystem;
  const int side = std::max(mx.height(), mx.width());
  const int upscale = std::max(1, (224 + side - 1) / side);
  std::vector<Tile> tiles;
  // What became of each filter, for the notes at the end: never positive (dead, where the ReLU's
  // gradient was redirected so that any image that could excite it would have been found), or
  // positive at some step but 0 at the end, or lower at the end than at the start.
  std::vector<int> dead, silent, ended_at_zero, fell;
  double sink_seconds = 0.0;  // writing pictures, kept out of the per-step time
  auto sink = [&](MaximizeResult&& r) {
    const auto start = std::chrono::steady_clock::now();
    const Canvas img = image_canvas(r);
    GridOptions one;
    one.title = layer + ", " + label(r.filter) + "\n" + std::string(method) + ", " + what + " " + fmt(r.activation);
    one.frame = true;
    const std::string path = (fs::path(out_dir) / (layer + "_" + std::to_string(r.filter) + "_" + file_method + ".png")).string();
    write_png(make_grid({Tile{upscale_nearest(img, upscale), ""}}, one), path);
    bar.clear();
    std::printf("%s, %s: %s %s (%s at the start) -> %s\n", layer.c_str(), label(r.filter).c_str(), what.c_str(),
                fmt(r.activation).c_str(), r.losses.empty() ? "-" : fmt(r.losses.front()).c_str(), path.c_str());
    const bool never = r.activation == 0.f && std::all_of(r.losses.begin(), r.losses.end(), [](float l) { return l == 0.f; });
    std::string mark;
    if (never && mx.redirected()) {
      dead.push_back(r.filter);
      mark = " (dead)";
    } else if (never) {
      silent.push_back(r.filter);
      mark = " (0)";
    } else if (r.activation == 0.f) {
      ended_at_zero.push_back(r.filter);
      mark = " (ended at 0)";
    } else if (!r.losses.empty() && r.activation < r.losses.front()) {
      fell.push_back(r.filter);
    }
    std::fflush(stdout);
    if (several) {
      const std::string name = filters.size() > 48 ? std::to_string(r.filter) : label(r.filter);
      tiles.push_back({img, name + mark});
    }
    sink_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Every step allocates the same few large tensors; the tensors' buffer cache (engine/tensor.h)
  // hands the previous step's blocks back instead of fresh pages the kernel must fault in.
  const auto t0 = std::chrono::steady_clock::now();
  mx.run(filters, observe, sink);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - sink_seconds;
  bar.finish();
  if (mx.iters() > 0)
    std::printf("%s per step of a batch of up to %d (%lld steps, %.2fs of optimisation)\n",
                fmt_ms(seconds / double(chunks * mx.iters())).c_str(), std::min<int>(opt.batch, int(filters.size())),
                static_cast<long long>(chunks * mx.iters()), seconds);

  auto note = [&](const std::vector<int>& fs, const std::string& what_happened) {
    if (fs.empty()) return;
    std::printf("note: %s %s (%zu of %zu) %s\n", fs.size() == 1 ? "filter" : "filters", describe(fs).c_str(), fs.size(),
                filters.size(), what_happened.c_str());
  };
  note(dead, "stayed 0 everywhere for all " + std::to_string(mx.iters()) +
                 " steps although the ascent pushed their pre-activation up: dead ReLUs (--pre-relu shows what they "
                 "would respond to)");
  note(silent, "were 0 on every image tried, and no gradient reaches them through the layers before (--pre-relu, or "
               "a layer before it, shows more)");
  note(ended_at_zero, "were positive during the ascent but 0 at the end: the regularisers won (a larger --step, or "
                      "another --method)");
  note(fell, "ended lower than they started: the regularisers won (a larger --step, or another --method)");
  if (several) {
    GridOptions g;
    g.title = layer + ", filters " + describe(filters) + "\n" + std::string(method) + " activation maximisation, " +
              std::to_string(mx.height()) + "x" + std::to_string(mx.width()) + " px, " + std::to_string(mx.iters()) +
              " steps" + (mx.neuron() ? ", centre unit" : "") + (mx.pre_activation() ? ", pre-activation" : "");
    g.tile_size = filters.size() > 48 ? 96 : filters.size() <= 6 ? 224 : 128;  // a row of a few: full size
    // One row for a few filters, else about square.
    g.columns = filters.size() <= 6 ? int(filters.size()) : int(std::ceil(std::sqrt(double(filters.size()))));
    g.frame = true;
    const std::string path = (fs::path(out_dir) / (layer + "_" + file_method + "_sheet.png")).string();
    write_png(make_grid(tiles, g), path);
    std::printf("sheet -> %s\n", path.c_str());
  }
  return 0;
}

static const Registration reg_maximize(40, {"maximize", "activation maximisation: images a filter responds to most",
       "vis_tool maximize --weights F --layer L (--filter F | --filters a-b | --all)\n"
       "                  [--method lucid|seed|yosinski] [--objective channel|neuron] [--size 96]\n"
       "                  [--iters N] [--step S] [--seed S] [--pre-relu] [--batch 16]\n"
       "                  [--preprocess M] [--classes J] [--verbose] [--out DIR]\n\n"
       "Finds, by gradient ascent on the image, a picture that makes the mean of channel F of layer\n"
       "L as large as possible (for a dense layer, unit F; for a softmax layer, its logit). For the\n"
       "model's class scores, --filter and --filters also take class names from the class index (as\n"
       "classify finds it, or --classes J), e.g. --filter peacock, --filters peacock,flamingo,130.\n"
       "  lucid     (default) Fourier-space image with 1/f scaling, decorrelated colours, sigmoid,\n"
       "            the model's preprocessing, random jitter/scale/rotation each step; Adam lr 0.05,\n"
       "            512 steps. The most recognisable pictures.\n"
       "  seed      the Keras seeds: uniform random start in [0,1), fed as is, image += 0.1 x the\n"
       "            L2-normalised gradient, 500 steps; shown min-max normalised. Noisy.\n"
       "  yosinski  Yosinski et al.'s regularised ascent in pixels (0..255): each step moves the image\n"
       "            --step (4) grey levels RMS along the gradient, L2 decay 1e-4 towards the pixel the\n"
       "            preprocessing maps to 0 (caffe: the mean colour; x/255: black), blur sigma 1 every\n"
       "            4 steps, clipped; 500 steps. The step does not depend on the model's gradient scale.\n"
       "--objective: channel, the mean of channel F over the layer's map; neuron, the one unit at its\n"
       "centre. By default a layer whose units see at most a quarter of the image (the first conv\n"
       "layers) gets neuron on a small image of 4x that field (at least 16 px): the mean of an early,\n"
       "nearly linear filter is maximised by flat saturated colour, one unit shows its pattern.\n"
       "A target with its own ReLU gets Lucid's redirected gradient while its channel is 0\n"
       "everywhere, so \"(dead)\" means no image the ascent found made it positive.\n"
       "--size is the image side (default: the model's own input size, else 96); a model with a\n"
       "fixed size accepts another when no Flatten comes before L. Filters are optimised --batch at a\n"
       "time in one forward/backward; each filter's picture depends only on --seed and the filter.\n"
       "--pre-relu maximises L's output before its own activation. Writes DIR/L_F_METHOD.png per\n"
       "filter and, for several filters, DIR/L_METHOD_sheet.png (METHOD_prerelu with --pre-relu).\n"
       "Several filters print one line per batch every tenth of the steps (--verbose: the loss of\n"
       "every filter).\n\n"
       "example:\n  vis_tool maximize --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --layer leaky_re_lu_14 --filters 0-7 --seed 1 --out out",
       run_maximize});

}  // namespace convis::cli
