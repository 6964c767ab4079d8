// vis_tool report and demo: every kind of picture for one model and one image, gathered on one
// HTML page (index.html beside the PNGs, relative links, no scripts, no network).
//
// The page, top to bottom: the model summary and the classification as HTML tables, the first
// conv layer's filters, the feature maps at the end of each block, what the most active channels
// of each block respond to (activation maximisation), what the network thinks its classes look
// like (maximised class logits), Grad-CAM and occlusion for the top-1 class.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>

#include "engine/file_util.h"
#include "engine/model_io.h"
#include "engine/ops.h"
#include "tools/class_lookup.h"
#include "tools/progress.h"
#include "vis/activations.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/colormap.h"
#include "vis/filters.h"
#include "vis/image.h"
#include "vis/layout.h"
#include "vis/maximize.h"
#include "vis/occlusion.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

namespace fs = std::filesystem;

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string thousands(int64_t v) {
  std::string s = std::to_string(v), o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) o += ',';
    o += s[i];
  }
  return o;
}

std::string shape_text(const Shape& s) {
  std::string o = "(None";
  for (int i = 0; i < s.rank(); ++i) o += ", " + std::to_string(s[i]);
  return o + ")";
}

std::string fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool is_pooling(LayerType t) {
  return t == LayerType::max_pool2d || t == LayerType::avg_pool2d || t == LayerType::global_avg_pool2d ||
         t == LayerType::global_max_pool2d || t == LayerType::flatten;
}

// The layer that ends each block: the last layer with a spatial output before each pooling (or
// flatten) layer. VGG16: block1_conv2 ... block5_conv3; the tutorial CNN: conv2d, conv2d_1, conv2d_2;
// darknet: the LeakyReLU before each pool. A model with no pooling at all: its last spatial layer.
std::vector<int> block_ends(const Model& m) {
  std::vector<int> ends;
  for (size_t i = 2; i < m.layers.size(); ++i) {
    const Layer& prev = m.layers[i - 1];
    if (is_pooling(m.layers[i].type) && prev.has_spatial_output() && !is_pooling(prev.type) &&
        prev.type != LayerType::input)
      ends.push_back(int(i - 1));
  }
  if (ends.empty())
    for (int i = int(m.layers.size()) - 1; i > 0; --i)
      if (m.layers[size_t(i)].has_spatial_output()) {
        ends.push_back(i);
        break;
      }
  return ends;
}

// The first Conv2D layer (the one whose kernels look at pixels), or -1.
int first_conv(const Model& m) {
  for (size_t i = 1; i < m.layers.size(); ++i)
    if (m.layers[i].type == LayerType::conv2d) return int(i);
  return -1;
}

// Indices of the `k` largest values, largest first.
std::vector<int> top_k(const std::vector<float>& v, int k) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min<int>(k, int(v.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) { return v[size_t(a)] > v[size_t(b)]; });
  idx.resize(size_t(k));
  return idx;
}

// Mean over (H, W) of every channel of a (1, H, W, C) output.
std::vector<float> channel_means(const Tensor& out) {
  const int64_t C = out.dim(3), P = out.dim(1) * out.dim(2);
  std::vector<double> acc(size_t(C), 0.0);
  const float* p = out.data();
  for (int64_t i = 0; i < P; ++i)
    for (int64_t c = 0; c < C; ++c) acc[size_t(c)] += p[i * C + c];
  std::vector<float> mean(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) mean[size_t(c)] = float(acc[size_t(c)] / double(P));
  return mean;
}

Canvas maximized_canvas(const MaximizeResult& r) {
  const Tensor& im = r.image;
  const int h = int(im.dim(0)), w = int(im.dim(1));
  if (im.dim(2) == 3) return render_rgb(im.data(), h, w, 0.f, 1.f);
  return render_map(im.data(), h, w, 0.f, 1.f, Colormap::grey);
}

struct ReportSettings {
  std::string weights;     // a path or an alias
  std::string image;
  std::string out_dir = "out/report";
  int iters = 256;         // activation maximisation steps per batch
  int per_block = 8;       // channels maximised per block
  int max_size = 128;      // side of the images maximised for conv channels (at most the model's)
  MaximizeMethod method = MaximizeMethod::lucid;
  uint64_t seed = 0;
  std::string note;        // a line for the top of the page (the demo says what it chose)
};

// The page as it grows: one <section> per part.
class Page {
 public:
  void section(const std::string& title, const std::string& body) {
    html_ += "<section>\n<h2>" + html_escape(title) + "</h2>\n" + body + "</section>\n";
  }
  static std::string para(const std::string& text) { return "<p>" + html_escape(text) + "</p>\n"; }
  static std::string figure(const std::string& file, const std::string& caption) {
    return "<figure><a href=\"" + html_escape(file) + "\"><img src=\"" + html_escape(file) + "\" alt=\"" +
           html_escape(caption) + "\"></a><figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
  }
  const std::string& body() const { return html_; }

 private:
  std::string html_;
};

int run_report_with(const ReportSettings& s, const Args& args) {
  const auto t_start = std::chrono::steady_clock::now();
  // Everything that can be checked is checked before anything is written.
  const Model m = load_model(s.weights);  // a free input size (VGG16 without its top) is built at 224
  const std::string weights_path = resolve_weights_path(s.weights);
  const Preprocess pre = default_preprocess(m);
  const Image photo = load_image(s.image, m.input_c == 1 ? 1 : 3);
  const int h = m.built_h(), w = m.built_w();
  const Tensor pixels = resize_bilinear(photo, h, w);
  const Tensor x = preprocess(pixels, pre);
  const bool has_classes = m.layers.back().output_shape.rank() == 1;
  const int K = has_classes ? int(m.layers.back().output_shape[0]) : 0;
  const ClassNames names = has_classes ? load_class_names(args, weights_path, m, K) : ClassNames{};
  const std::vector<int> blocks = block_ends(m);
  const int conv1 = first_conv(m);
  // Built in a staging folder beside --out and moved in only when every file is written: a failed
  // or interrupted run leaves a previous report as it was.
  StagedDir staged(s.out_dir);
  const fs::path dir(staged.path()), final_dir(s.out_dir);
  auto out = [&](const std::string& file) { return (dir / file).string(); };
  auto wrote = [&](const std::string& file) { std::printf("%s\n", (final_dir / file).string().c_str()); std::fflush(stdout); };

  std::printf("report: model '%s' (%s), image %s (%dx%d, resized to %dx%d, preprocessing '%s') -> %s\n",
              m.name.c_str(), weights_path.c_str(), s.image.c_str(), photo.width, photo.height, w, h,
              preprocess_name(pre), s.out_dir.c_str());
  std::fflush(stdout);
  Page page;

  // ---- the model ------------------------------------------------------------------------------
  {
    std::string t = "<table>\n<tr><th>layer (type)</th><th>output shape</th><th class=num>params</th></tr>\n";
    for (size_t i = 0; i < m.layers.size(); ++i) {
      const Layer& l = m.layers[i];
      t += "<tr><td>" + html_escape(l.name) + " <span class=dim>(" + html_escape(l.class_name) + ")</span></td><td>" +
           shape_text(l.output_shape) + "</td><td class=num>" + thousands(l.param_count()) + "</td></tr>\n";
    }
    const int64_t total = m.param_count(), frozen = m.non_trainable_count();
    t += "</table>\n<p>Total params: " + thousands(total) + " &middot; trainable: " + thousands(total - frozen) +
         " &middot; non-trainable: " + thousands(frozen) + "</p>\n";
    page.section("The model: " + m.name, Page::para("Keras' model.summary() for a " + std::to_string(h) + "x" +
                                                    std::to_string(w) + " input.") + t);
  }

  // ---- one forward pass: the class probabilities and every block's output -----------------------
  std::vector<int> keep = blocks;
  std::vector<Tensor> outs = layer_outputs(m, x, int(m.layers.size()) - 1, keep);
  int top1 = -1;
  if (has_classes) {
    Tensor probs = class_probabilities(m, x);
    std::vector<float> p(probs.data(), probs.data() + K);
    const std::vector<int> best = top_k(p, 5);
    top1 = best[0];
    std::string t = "<table>\n<tr><th>rank</th><th>class</th><th class=num>index</th><th class=num>probability</th><th></th></tr>\n";
    for (size_t r = 0; r < best.size(); ++r) {
      const int c = best[r];
      t += "<tr><td>" + std::to_string(r + 1) + "</td><td>" + html_escape(names.name(c)) + "</td><td class=num>" +
           std::to_string(c) + "</td><td class=num>" + fixed(p[size_t(c)], 4) + "</td><td><div class=bar style=\"width:" +
           fixed(200.0 * p[size_t(c)], 0) + "px\"></div></td></tr>\n";
    }
    t += "</table>\n";
    std::string intro = "The image, resized to the model's " + std::to_string(w) + "x" + std::to_string(h) +
                        " input, and the top 5 classes";
    intro += m.outputs_probabilities() ? "." : " (softmax over the model's logits).";
    if (names.labels.empty()) intro += " No class index was found, so classes are numbers.";
    const std::string file = "image.png";
    write_png(upscale_nearest(canvas_from_image(photo), photo.width < 112 ? 4 : 1), out(file));
    wrote(file);
    page.section("Classification", Page::para(intro) + "<div class=row>" + Page::figure(file, s.image) + t + "</div>\n");
    std::printf("top-1: %s (p = %.4f)\n", names.name(top1).c_str(), double(p[size_t(top1)]));
  } else {
    const std::string file = "image.png";
    write_png(canvas_from_image(photo), out(file));
    wrote(file);
    page.section("The image", Page::para("The model ends in layer '" + m.layers.back().name + "' with output " +
                                         shape_text(m.layers.back().output_shape) +
                                         ", not class scores: no classification, Grad-CAM or occlusion "
                                         "(for VGG16, the file with the top has them).") +
                                  Page::figure(file, s.image));
  }

  // ---- first-layer filters ----------------------------------------------------------------------
  if (conv1 >= 0) {
    const Layer& l = m.layers[size_t(conv1)];
    FilterSheetOptions fo;
    default_filter_range(l, fo.first, fo.last);
    const std::string file = "filters_" + l.name + ".png";
    write_png(filter_sheet(m, l.name, fo), out(file));
    wrote(file);
    page.section("First-layer filters",
                 Page::para("The " + std::to_string(l.filters) + " kernels of " + l.name +
                            ", the layer that looks at pixels, each drawn as a small picture (weights "
                            "min-max normalised over the layer). Edges, colour blobs and stripes are "
                            "what the rest of the network is built from.") +
                     Page::figure(file, l.name + " kernels"));
  }

  // ---- feature maps at the end of each block --------------------------------------------------------
  std::vector<std::vector<int>> strongest(blocks.size());  // per block, the most active channels
  {
    std::string body = Page::para("What the image does to every channel at the end of each block (the Keras "
                                  "tutorial's normalisation: per channel (x - mean) / std * 64 + 128, viridis). "
                                  "Early blocks keep the picture; later ones are coarse maps of parts.");
    for (size_t b = 0; b < blocks.size(); ++b) {
      const Layer& l = m.layers[size_t(blocks[b])];
      const Tensor& o = outs[size_t(blocks[b])];
      ActivationOptions ao;
      ao.max_channels = 64;
      ao.subtitle = fs::path(s.image).filename().string();
      const std::string file = "activations_" + l.name + ".png";
      write_png(activation_sheet(l, o, ao), out(file));
      wrote(file);
      body += Page::figure(file, l.name + ", output " + shape_text(l.output_shape) +
                                     (o.dim(3) > 64 ? ", the first 64 channels" : ""));
      strongest[b] = top_k(channel_means(o), s.per_block);
    }
    page.section("Feature maps, block by block", body);
  }
  outs.clear();

  // ---- activation maximisation --------------------------------------------------------------------
  MaximizeOptions mo;
  mo.method = s.method;
  mo.iters = s.iters;
  mo.seed = s.seed;
  mo.batch = 16;
  mo.pre_relu = true;  // a channel whose ReLU is 0 on the start image would get no gradient and stay grey
  auto maximize_sheet = [&](const std::string& layer, const std::vector<int>& filters,
                            const std::function<std::string(int, float)>& tile_title, const std::string& title,
                            const std::string& file) {
    MaximizeOptions o = mo;
    // A pattern needs no more than 128x128 pixels to show (the seeds use 96), and time grows with
    // the pixels; only a layer behind a Flatten needs the model's own size.
    bool flattens = false;
    for (int i = 1; i <= m.layer_index(layer); ++i) flattens = flattens || m.layers[size_t(i)].type == LayerType::flatten;
    if (!flattens) o.size = std::min(std::max(h, w), s.max_size);
    Maximizer mx(m, layer, o);
    Progress bar("maximize " + layer, int64_t(mx.iters()) * int64_t((filters.size() + size_t(mo.batch) - 1) / size_t(mo.batch)));
    int64_t done = 0;
    std::vector<Tile> tiles;
    mx.run(filters, [&](int, const std::vector<int>&, const std::vector<float>&) { bar.update(++done); },
           [&](MaximizeResult&& r) { tiles.push_back({maximized_canvas(r), tile_title(r.filter, r.activation)}); });
    bar.finish();
    GridOptions g;
    g.title = title;
    g.tile_size = 128;
    g.columns = std::min<int>(int(tiles.size()), 8);
    g.frame = true;
    write_png(make_grid(tiles, g), out(file));
    wrote(file);
  };
  const char* method = maximize_method_name(s.method);
  if (s.per_block > 0 && s.iters > 0) {
    std::string body = Page::para(
        "For the " + std::to_string(s.per_block) + " channels of each block that this image excites most, an image "
        "found by gradient ascent that excites that channel as much as possible (method " + std::string(method) + ", " +
        std::to_string(s.iters) + " steps; the channel's value before its ReLU is maximised, so that no picture is "
        "stuck at a dead ReLU). Titles: channel, and its mean pre-activation on the image found.");
    for (size_t b = 0; b < blocks.size(); ++b) {
      const std::string& layer = m.layers[size_t(blocks[b])].name;
      const std::string file = "maximize_" + layer + ".png";
      maximize_sheet(layer, strongest[b],
                     [](int f, float a) { return "#" + std::to_string(f) + "  " + fixed(a, a < 10 ? 2 : 1); },
                     layer + ": what its most active channels respond to\n" + method + ", " + std::to_string(s.iters) +
                         " steps",
                     file);
      std::string list;
      for (int f : strongest[b]) list += (list.empty() ? "" : ", ") + std::to_string(f);
      body += Page::figure(file, layer + ": channels " + list);
    }
    page.section("What the channels respond to", body);

    if (has_classes) {
      // Every class of a small model; the image's top 5 of a large one.
      std::vector<int> classes(size_t(std::min(K, 10)));
      if (K <= 10) {
        std::iota(classes.begin(), classes.end(), 0);
      } else {
        Tensor probs = class_probabilities(m, x);
        classes = top_k(std::vector<float>(probs.data(), probs.data() + K), 5);
      }
      const std::string& layer = m.layers.back().name;
      const std::string file = "maximize_classes.png";
      maximize_sheet(layer, classes, [&](int c, float) { return names.name(c); },
                     "What the network thinks each class looks like\nmaximised class logits, " + std::string(method) +
                         ", " + std::to_string(s.iters) + " steps",
                     file);
      page.section("What the network thinks the classes look like",
                   Page::para(std::string(K <= 10 ? "Every class" : "The image's top 5 classes") +
                              ": an image that maximises the class's logit (the score before the softmax).") +
                       Page::figure(file, "maximised class logits"));
    }
  }

  // ---- Grad-CAM and occlusion for the top-1 class -----------------------------------------------------
  if (has_classes) {
    AttributionOptions ao;
    ao.method = AttributionMethod::gradcam;
    const Attribution a = compute_attribution(m, x, top1, ao);
    const std::string cam_file = "gradcam.png";
    write_png(attribution_sheet(photo, a, "Grad-CAM at " + a.layer + " for '" + names.name(top1) + "'"), out(cam_file));
    wrote(cam_file);

    OcclusionOptions oo;
    oo.patch = std::max(1, h / 4);
    oo.stride = std::max(1, h / 8);
    const int64_t positions = int64_t(occlusion_positions(h, oo.patch, oo.stride).size() *
                                      occlusion_positions(w, oo.patch, oo.stride).size());
    Progress bar("occlusion", positions);
    oo.progress = [&](int64_t done, int64_t) { bar.update(done); };
    const Occlusion o = occlusion_map(m, pixels, pre, top1, oo);
    bar.finish();
    const std::string what = "p('" + names.name(top1) + "')";
    write_png(occlusion_overlay(o, photo, "drop of " + what + " when a patch hides each part"), out("occlusion_overlay.png"));
    wrote("occlusion_overlay.png");
    write_png(occlusion_heatmap(o, photo, "drop of " + what + " per patch position"), out("occlusion_heatmap.png"));
    wrote("occlusion_heatmap.png");
    write_png(occlusion_mask(o, photo, "image x normalised drop^2"), out("occlusion_mask.png"));
    wrote("occlusion_mask.png");
    page.section("Where the network looks: Grad-CAM",
                 Page::para("Grad-CAM (Selvaraju et al. 2017) at " + a.layer + ": the layer's channels weighted by "
                            "the mean gradient of the class logit, summed, ReLU, upsampled and overlaid.") +
                     Page::figure(cam_file, "Grad-CAM for " + names.name(top1)));
    page.section("Where the network looks: occlusion",
                 Page::para("A " + std::to_string(oo.patch) + "x" + std::to_string(oo.patch) + " patch of colour (250, "
                            "128, 128) slides over the image with stride " + std::to_string(oo.stride) + " (" +
                            std::to_string(positions) + " positions); the maps show how much " + what + " (" +
                            fixed(o.p_original, 3) + " on the whole image) drops with each part hidden.") +
                     "<div class=row>" + Page::figure("occlusion_overlay.png", "drop over the image") +
                     Page::figure("occlusion_heatmap.png", "drop per position") +
                     Page::figure("occlusion_mask.png", "what the model needs to see") + "</div>\n");
  }

  // ---- the page ------------------------------------------------------------------------------
  const double seconds = seconds_since(t_start);
  // Keras names most models "sequential" or "model_1": the file says more.
  const std::string stem = fs::path(weights_path).stem().string();
  const std::string model_title = stem == m.name ? m.name : stem + " (model '" + m.name + "')";
  std::string html =
      "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
      "<meta name=viewport content=\"width=device-width, initial-scale=1\">\n<title>convis report: " +
      html_escape(model_title) + "</title>\n<style>\n"
      "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1100px;margin:0 auto;padding:1em 1.5em;"
      "color:#222;line-height:1.45}\n"
      "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;"
      "margin-top:1.8em}\n"
      "table{border-collapse:collapse;margin:.6em 0;font-size:.92em}td,th{border-bottom:1px solid #e4e4e4;"
      "padding:.25em .8em;text-align:left}th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:"
      "tabular-nums}\n.dim{color:#888}.bar{height:.8em;background:#c0392b}.note{background:#fff8e0;padding:.5em .8em;"
      "border-left:4px solid #e0b000}\n"
      "figure{margin:.8em 0;display:inline-block;vertical-align:top;max-width:100%}figure img{max-width:100%;"
      "height:auto;border:1px solid #ddd;image-rendering:pixelated}\n"
      "figcaption{font-size:.85em;color:#555}.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}\n"
      "</style>\n</head>\n<body>\n<h1>How " + html_escape(model_title) + " sees " +
      html_escape(fs::path(s.image).filename().string()) + "</h1>\n<p class=dim>Weights " + html_escape(weights_path) +
      " &middot; image " + html_escape(s.image) + " &middot; made by vis_tool " + CONVIS_VERSION + " in " +
      fixed(seconds, 0) + " s</p>\n" +
      (s.note.empty() ? std::string() : "<p class=note>" + html_escape(s.note) + "</p>\n") + page.body() +
      "</body>\n</html>\n";
  write_file_atomically(out("index.html"), html.data(), html.size());
  staged.commit();
  std::printf("report: %s (%.0f s)\n", (final_dir / "index.html").string().c_str(), seconds);
  return 0;
}

ReportSettings parse_common(const Args& args, const char* command) {
  ReportSettings s;
  s.out_dir = args.get("out", s.out_dir);
  s.iters = args.get_int("iters", s.iters, 0, 1000000);
  s.per_block = args.get_int("per-block", s.per_block, 0, 64);
  s.seed = uint64_t(args.get_int("seed", 0));
  if (s.iters < 0) throw UsageError(std::string(command) + ": --iters must be >= 0, got " + std::to_string(s.iters));
  if (s.per_block < 0 || s.per_block > 64)
    throw UsageError(std::string(command) + ": --per-block must be in 0..64, got " + std::to_string(s.per_block));
  if (args.has("method")) {
    try {
      s.method = parse_maximize_method(args.get("method", ""));
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
       "  the feature maps at the end of each block (the layer before each pooling layer;\n"
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
