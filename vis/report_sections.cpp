// The report's sections, one function each: each draws its pictures, writes them into out.dir as
// it finishes them (telling out.wrote), and returns its <section> and the files it wrote.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "vis/activations.h"
#include "vis/attribution.h"
#include "vis/canvas.h"
#include "vis/colormap.h"
#include "vis/filters.h"
#include "vis/layout.h"
#include "vis/maximize.h"
#include "vis/occlusion.h"
#include "vis/png.h"
#include "vis/report.h"

namespace convis {

namespace {

namespace fs = std::filesystem;
using report::figure;
using report::fixed;
using report::para;

// Writes c as out.dir/file, and records and announces it.
void write(const Canvas& c, const std::string& file, const ReportOutput& out, Section& s) {
  write_png(c, (fs::path(out.dir) / file).string());
  s.files.push_back(file);
  if (out.wrote) out.wrote(file);
}

// One long step's progress, sent to out.progress: update() as it goes (done < total), finish()
// once at the end (which sends done == total, whatever the last update was).
class StepProgress {
 public:
  StepProgress(const ReportOutput& out, std::string what, int64_t total)
      : out_(out), what_(std::move(what)), total_(std::max<int64_t>(total, 1)) {}
  void update(int64_t done) {
    if (out_.progress && done < total_) out_.progress(what_, done, total_);
  }
  void finish() {
    if (out_.progress) out_.progress(what_, total_, total_);
  }

 private:
  const ReportOutput& out_;
  std::string what_;
  int64_t total_;
};

// draw(size) with size shrunk a tenth at a time (at least 1) while the sheet is wider than the
// page's column, down to min_size: a sheet is shown at its natural size, since shrunk by the
// browser its labels blur.
Canvas fit_column(const std::function<Canvas(int)>& draw, int size, int min_size) {
  Canvas c = draw(size);
  while (c.width > report::kColumnPx && size > min_size) {
    size = std::max(min_size, size - std::max(1, size / 10));
    c = draw(size);
  }
  return c;
}

Section finish(Section s, const std::string& title, const std::string& body) {
  s.title = title;
  s.html = report::section(title, body);
  return s;
}

Canvas maximized_canvas(const MaximizeResult& r) {
  const Tensor& im = r.image;
  const int h = int(im.dim(0)), w = int(im.dim(1));
  if (im.dim(2) == 3) return render_rgb(im.data(), h, w, 0.f, 1.f);
  return render_map(im.data(), h, w, 0.f, 1.f, Colormap::grey);
}

// One sheet of maximised filters of `layer` at side `size` (0: the model's own), 8 tiles a row.
void maximize_sheet(const Model& m, const ReportPlan& plan, const std::string& layer, const std::vector<int>& filters,
                    int size, const std::function<std::string(int, float)>& tile_title, const std::string& title,
                    const std::string& file, const ReportOutput& out, Section& s) {
  MaximizeOptions o;
  o.method = plan.options.method;
  o.iters = plan.options.iters;
  o.seed = plan.options.seed;
  o.batch = plan.maximize_batch;
  o.pre_relu = true;  // a channel whose ReLU is 0 on the start image would get no gradient and stay grey
  o.size = size;
  Maximizer mx(m, layer, o);
  const size_t batches = (filters.size() + size_t(o.batch) - 1) / size_t(o.batch);
  StepProgress bar(out, "maximize " + layer, int64_t(mx.iters()) * int64_t(batches));
  int64_t done = 0;
  std::vector<Tile> tiles;
  mx.run(filters, [&](int, const std::vector<int>&, const std::vector<float>&) { bar.update(++done); },
         [&](MaximizeResult&& r) { tiles.push_back({maximized_canvas(r), tile_title(r.filter, r.activation)}); });
  bar.finish();
  GridOptions g;
  g.title = title;
  g.tile_size = 128;
  g.frame = true;
  // 8 tiles a row, fewer when long titles (class names) would make the row wider than the column.
  const Canvas sheet = fit_column(
      [&](int cols) {
        g.columns = cols;
        return make_grid(tiles, g);
      },
      std::min<int>(int(tiles.size()), 8), 1);
  write(sheet, file, out, s);
}

const Layer& layer_at(const Model& m, int i) {
  if (i < 0 || size_t(i) >= m.layers.size())
    throw std::invalid_argument("layer index " + std::to_string(i) + " is outside model '" + m.name + "' (0.." +
                                std::to_string(m.layers.size() - 1) + ")");
  return m.layers[size_t(i)];
}

}  // namespace

Section model_section(const Model& m, const ReportPlan& plan, const ReportImage&, const ReportOutput&) {
  std::string t = "<table>\n<tr><th>layer (type)</th><th>output shape</th><th class=num>params</th></tr>\n";
  for (const Layer& l : m.layers)
    t += "<tr><td>" + report::escape(l.name) + " <span class=dim>(" + report::escape(l.class_name) + ")</span></td><td>" +
         report::shape_text(l.output_shape) + "</td><td class=num>" + report::thousands(l.param_count()) + "</td></tr>\n";
  const int64_t total = m.param_count(), frozen = m.non_trainable_count();
  t += "</table>\n<p>Total params: " + report::thousands(total) + " &middot; trainable: " +
       report::thousands(total - frozen) + " &middot; non-trainable: " + report::thousands(frozen) + "</p>\n";
  return finish({}, "The model: " + m.name,
                para("Keras' model.summary() for a " + std::to_string(plan.input_h) + "x" +
                     std::to_string(plan.input_w) + " input.") + t);
}

Section classification_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out) {
  if (!plan.classifier || img.top.empty())
    throw std::invalid_argument("model '" + m.name + "' has no class scores to classify with");
  const std::vector<float>& p = img.probabilities;
  std::string t = "<table>\n<tr><th>rank</th><th>class</th><th class=num>index</th><th class=num>probability</th><th></th></tr>\n";
  for (size_t r = 0; r < img.top.size(); ++r) {
    const int c = img.top[r];
    t += "<tr><td>" + std::to_string(r + 1) + "</td><td>" + report::escape(img.class_name(c)) + "</td><td class=num>" +
         std::to_string(c) + "</td><td class=num>" + fixed(p[size_t(c)], 4) + "</td><td><div class=bar style=\"width:" +
         fixed(200.0 * p[size_t(c)], 0) + "px\"></div></td></tr>\n";
  }
  t += "</table>\n";
  std::string intro = "The image, resized to the model's " + std::to_string(plan.input_w) + "x" +
                      std::to_string(plan.input_h) + " input, and the top " + std::to_string(plan.top_classes) +
                      " classes";
  intro += m.outputs_probabilities() ? "." : " (softmax over the model's logits).";
  if (img.class_names.empty()) intro += " No class index was found, so classes are numbers.";
  Section s;
  const std::string file = "image.png";
  const bool small = img.photo.width < 112;
  write(upscale_nearest(canvas_from_image(img.photo), small ? 4 : 1), file, out, s);
  return finish(std::move(s), "Classification",
                para(intro) + "<div class=row>" +
                    figure(file, img.path, small ? report::FigureKind::pixels : report::FigureKind::photo) + t +
                    "</div>\n");
}

Section image_section(const Model& m, const ReportPlan&, const ReportImage& img, const ReportOutput& out) {
  Section s;
  const std::string file = "image.png";
  write(canvas_from_image(img.photo), file, out, s);
  const Layer& last = m.layers.back();
  return finish(std::move(s), "The image",
                para("The model ends in layer '" + last.name + "' with output " + report::shape_text(last.output_shape) +
                     ", not class scores: no classification, Grad-CAM or occlusion "
                     "(for VGG16, the file with the top has them).") +
                    figure(file, img.path, report::FigureKind::photo));
}

Section filters_section(const Model& m, const ReportPlan& plan, const ReportImage&, const ReportOutput& out) {
  const Layer& l = layer_at(m, plan.first_conv);
  FilterSheetOptions fo;
  fo.first = plan.filter_first;
  fo.last = plan.filter_last;
  Section s;
  const std::string file = "filters_" + l.name + ".png";
  write(filter_sheet(m, l.name, fo), file, out, s);
  return finish(std::move(s), "First-layer filters",
                para("The " + std::to_string(l.filters) + " kernels of " + l.name +
                     ", the layer that looks at pixels, each drawn as a small picture (weights "
                     "min-max normalised over the layer). Edges, colour blobs and stripes are "
                     "what the rest of the network is built from.") +
                    figure(file, l.name + " kernels"));
}

Section feature_maps_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out) {
  if (img.block_outputs.size() != plan.block_ends.size())
    throw std::invalid_argument("the report image holds " + std::to_string(img.block_outputs.size()) +
                                " block outputs, the plan has " + std::to_string(plan.block_ends.size()) + " blocks");
  Section s;
  std::string body = para("What the image does to every channel at the end of each block (the Keras "
                          "tutorial's normalisation: per channel (x - mean) / std * 64 + 128, viridis). "
                          "Early blocks keep the picture; later ones are coarse maps of parts.");
  for (size_t b = 0; b < plan.block_ends.size(); ++b) {
    const Layer& l = layer_at(m, plan.block_ends[b]);
    const Tensor& o = img.block_outputs[b];
    ActivationOptions ao;
    ao.max_channels = plan.feature_channels;
    ao.subtitle = fs::path(img.path).filename().string();
    const std::string file = "activations_" + l.name + ".png";
    // Tiles sized for the column (activation_sheet's width is about max_width, rounding tiles to
    // whole enlargements may overshoot it).
    write(fit_column(
              [&](int w) {
                ao.max_width = w;
                return activation_sheet(l, o, ao);
              },
              report::kColumnPx, 300),
          file, out, s);
    body += figure(file, l.name + ", output " + report::shape_text(l.output_shape) +
                             (o.dim(3) > plan.feature_channels
                                  ? ", the first " + std::to_string(plan.feature_channels) + " channels"
                                  : ""));
  }
  return finish(std::move(s), "Feature maps, block by block", body);
}

Section channels_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out) {
  if (img.strongest.size() != plan.block_ends.size() || plan.block_maximize_size.size() != plan.block_ends.size())
    throw std::invalid_argument("the report image's most active channels do not match the plan's " +
                                std::to_string(plan.block_ends.size()) + " blocks");
  const ReportOptions& opt = plan.options;
  const char* method = maximize_method_name(opt.method);
  Section s;
  std::string body = para(
      "For the " + std::to_string(opt.per_block) + " channels of each block that this image excites most, an image "
      "found by gradient ascent that excites that channel as much as possible (method " + std::string(method) + ", " +
      std::to_string(opt.iters) + " steps; the channel's value before its ReLU is maximised, so that no picture is "
      "stuck at a dead ReLU). Titles: channel, and its mean pre-activation on the image found.");
  for (size_t b = 0; b < plan.block_ends.size(); ++b) {
    const std::string& layer = layer_at(m, plan.block_ends[b]).name;
    const std::string file = "maximize_" + layer + ".png";
    maximize_sheet(m, plan, layer, img.strongest[b], plan.block_maximize_size[b],
                   [](int f, float a) { return "#" + std::to_string(f) + "  " + fixed(a, a < 10 ? 2 : 1); },
                   layer + ": what its most active channels respond to\n" + method + ", " + std::to_string(opt.iters) +
                       " steps",
                   file, out, s);
    std::string list;
    for (int f : img.strongest[b]) list += (list.empty() ? "" : ", ") + std::to_string(f);
    body += figure(file, layer + ": channels " + list);
  }
  return finish(std::move(s), "What the channels respond to", body);
}

Section classes_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out) {
  if (!plan.classifier) throw std::invalid_argument("model '" + m.name + "' has no class scores to maximise");
  // Every class of a small model; the image's top 5 of a large one.
  std::vector<int> classes = img.top;
  if (plan.maximize_every_class) {
    classes.resize(size_t(plan.num_classes));
    std::iota(classes.begin(), classes.end(), 0);
  }
  const char* method = maximize_method_name(plan.options.method);
  Section s;
  const std::string file = "maximize_classes.png";
  maximize_sheet(m, plan, m.layers.back().name, classes, plan.class_maximize_size,
                 [&](int c, float) { return img.class_name(c); },
                 "What the network thinks each class looks like\nmaximised class logits, " + std::string(method) + ", " +
                     std::to_string(plan.options.iters) + " steps",
                 file, out, s);
  return finish(std::move(s), "What the network thinks the classes look like",
                para((plan.maximize_every_class ? std::string("Every class")
                                                : "The image's top " + std::to_string(plan.top_classes) + " classes") +
                     ": an image that maximises the class's logit (the score before the softmax).") +
                    figure(file, "maximised class logits"));
}

Section gradcam_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out) {
  if (img.top.empty() || plan.gradcam_layer < 0)
    throw std::invalid_argument("model '" + m.name + "' has no class scores or no spatial layer for Grad-CAM");
  const int top1 = img.top[0];
  AttributionOptions ao;
  ao.method = "gradcam";
  ao.layer = plan.gradcam_layer;
  const Attribution a = compute_attribution(m, img.x, top1, ao);
  Section s;
  const std::string file = "gradcam.png";
  const std::string sheet_title = "Grad-CAM at " + a.layer + " for '" + img.class_name(top1) + "'";
  write(fit_column([&](int panel) { return attribution_sheet(img.photo, a, sheet_title, panel); }, 360, 120), file,
        out, s);
  return finish(std::move(s), "Where the network looks: Grad-CAM",
                para("Grad-CAM (Selvaraju et al. 2017) at " + a.layer + ": the layer's channels weighted by "
                     "the mean gradient of the class logit, summed, ReLU, upsampled and overlaid.") +
                    figure(file, "Grad-CAM for " + img.class_name(top1)));
}

Section occlusion_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out) {
  if (img.top.empty()) throw std::invalid_argument("model '" + m.name + "' has no class scores for occlusion");
  const int top1 = img.top[0];
  OcclusionOptions oo;
  oo.patch = plan.occlusion_patch;
  oo.stride = plan.occlusion_stride;
  StepProgress bar(out, "occlusion", plan.occlusion_positions);
  oo.progress = [&](int64_t done, int64_t) { bar.update(done); };
  const Occlusion o = occlusion_map(m, img.pixels, plan.preprocess, top1, oo);
  bar.finish();
  const std::string what = "p('" + img.class_name(top1) + "')";
  Section s;
  write(occlusion_overlay(o, img.photo, "drop of " + what + " when a patch hides each part"), "occlusion_overlay.png", out, s);
  write(occlusion_heatmap(o, img.photo, "drop of " + what + " per patch position"), "occlusion_heatmap.png", out, s);
  write(occlusion_mask(o, img.photo, "image x normalised drop^2"), "occlusion_mask.png", out, s);
  return finish(std::move(s), "Where the network looks: occlusion",
                para("A " + std::to_string(oo.patch) + "x" + std::to_string(oo.patch) + " patch showing " +
                     describe_occlusion_fill(img.pixels, plan.preprocess, oo) + " slides over the image with stride " + std::to_string(oo.stride) + " (" +
                     std::to_string(plan.occlusion_positions) + " positions); the maps show how much " + what + " (" +
                     fixed(o.p_original, 3) + " on the whole image) drops with each part hidden.") +
                    "<div class=row>" + figure("occlusion_overlay.png", "drop over the image") +
                    figure("occlusion_heatmap.png", "drop per position") +
                    figure("occlusion_mask.png", "what the model needs to see") + "</div>\n");
}

Section draw_section(ReportSection kind, const Model& m, const ReportPlan& plan, const ReportImage& img,
                     const ReportOutput& out) {
  using Fn = Section (*)(const Model&, const ReportPlan&, const ReportImage&, const ReportOutput&);
  static const std::pair<ReportSection, Fn> kSections[] = {
      {ReportSection::model, model_section},
      {ReportSection::classification, classification_section},
      {ReportSection::image, image_section},
      {ReportSection::filters, filters_section},
      {ReportSection::feature_maps, feature_maps_section},
      {ReportSection::channels, channels_section},
      {ReportSection::classes, classes_section},
      {ReportSection::gradcam, gradcam_section},
      {ReportSection::occlusion, occlusion_section},
  };
  for (const auto& [k, fn] : kSections)
    if (k == kind) return fn(m, plan, img, out);
  throw std::invalid_argument("unknown report section " + std::to_string(int(kind)));
}

}  // namespace convis
