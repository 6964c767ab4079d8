// The report's plan (what the model calls for), its shared forward pass, and the page around the
// sections. The sections themselves are in vis/report_sections.cpp.
#include "vis/report.h"

#include "engine/classifier.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <stdexcept>

#include "engine/errors.h"
#include "vis/activations.h"
#include "vis/attribution.h"
#include "vis/filters.h"
#include "vis/occlusion.h"

namespace convis {

namespace {

namespace fs = std::filesystem;

bool is_pooling(LayerType t) {
  return t == LayerType::max_pool2d || t == LayerType::avg_pool2d || t == LayerType::global_avg_pool2d ||
         t == LayerType::global_max_pool2d || t == LayerType::flatten;
}

// VGG16: block1_conv2 ... block5_conv3; the tutorial CNN: conv2d, conv2d_1, conv2d_2; darknet: the
// LeakyReLU before each pool.
std::vector<int> block_ends(const Model& m) {
  std::vector<int> ends;
  if (!m.is_chain()) {
    // A graph (ResNet, Inception): the last layer of each spatial size, padding aside, e.g.
    // conv2_block3_out, conv3_block4_out, ... for ResNet50, mixed2, mixed7, mixed10 for InceptionV3.
    for (size_t i = 1; i < m.layers.size(); ++i) {
      const Layer& l = m.layers[i];
      if (!l.has_spatial_output() || l.type == LayerType::zero_padding2d || l.type == LayerType::cropping2d) continue;
      const auto same_size = [&](int j) {
        const Shape& s = m.layers[size_t(j)].output_shape;
        return s.rank() == 3 && s[0] == l.output_shape[0] && s[1] == l.output_shape[1];
      };
      if (!ends.empty() && same_size(ends.back())) ends.back() = int(i);
      else ends.push_back(int(i));
    }
    return ends;
  }
  for (size_t i = 2; i < m.layers.size(); ++i) {
    const int p = m.inputs_of(int(i)).at(0);
    const Layer& prev = m.layers[size_t(p)];
    if (is_pooling(m.layers[i].type) && prev.has_spatial_output() && !is_pooling(prev.type) &&
        prev.type != LayerType::input && std::find(ends.begin(), ends.end(), p) == ends.end())
      ends.push_back(p);
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

// The side activation maximisation uses for layer `li`. A pattern needs no more than 128x128
// pixels to show (the seeds use 96), and time grows with the pixels; only a layer behind a
// Flatten needs the model's own size (0).
int maximize_size(const Model& m, int li, int max_size) {
  for (int i = 1; i <= li; ++i)
    if (m.layers[size_t(i)].type == LayerType::flatten) return 0;
  return std::min(std::max(m.built_h(), m.built_w()), max_size);
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

}  // namespace

const char* report_section_name(ReportSection s) {
  switch (s) {
    case ReportSection::model: return "model";
    case ReportSection::classification: return "classification";
    case ReportSection::image: return "image";
    case ReportSection::filters: return "filters";
    case ReportSection::feature_maps: return "feature_maps";
    case ReportSection::channels: return "channels";
    case ReportSection::classes: return "classes";
    case ReportSection::gradcam: return "gradcam";
    case ReportSection::occlusion: return "occlusion";
  }
  return "?";
}

bool ReportPlan::has(ReportSection s) const { return std::find(sections.begin(), sections.end(), s) != sections.end(); }

// ---- the plan ------------------------------------------------------------------------------------

ReportPlan plan_report(const Model& m, const ReportOptions& options) {
  if (options.iters < 0)
    throw ParameterError("iters", "iters " + std::to_string(options.iters) + " is negative: it must be >= 0");
  if (options.per_block < 0 || options.per_block > 64)
    throw ParameterError("per_block", "per_block " + std::to_string(options.per_block) + " must be in 0..64");
  if (options.max_size < 1)
    throw ParameterError("max_size", "max_size " + std::to_string(options.max_size) + " must be >= 1");
  if (m.built_h() <= 0 || m.built_w() <= 0 || m.layers.empty())
    throw std::invalid_argument("model '" + m.name + "' is not built for an input size: a report needs one");

  ReportPlan p;
  p.options = options;
  p.input_h = m.built_h();
  p.input_w = m.built_w();
  p.image_channels = m.input_c == 1 ? 1 : 3;
  p.preprocess = default_preprocess(m);
  p.classifier = m.layers.back().output_shape.rank() == 1;
  p.num_classes = p.classifier ? int(m.layers.back().output_shape[0]) : 0;
  p.top_classes = std::min(5, p.num_classes);

  p.first_conv = first_conv(m);
  if (p.first_conv >= 0) default_filter_range(m.layers[size_t(p.first_conv)], p.filter_first, p.filter_last);
  p.block_ends = block_ends(m);

  const bool maximize = options.per_block > 0 && options.iters > 0;
  for (int b : p.block_ends) p.block_maximize_size.push_back(maximize_size(m, b, options.max_size));
  p.class_maximize_size = maximize_size(m, int(m.layers.size()) - 1, options.max_size);
  p.maximize_every_class = p.num_classes <= 10;

  if (p.classifier) {
    // A classifier without any spatial layer (a Dense stack on flattened pixels) has no Grad-CAM.
    bool spatial = false;
    for (size_t i = 1; i < m.layers.size(); ++i) spatial = spatial || m.layers[i].has_spatial_output();
    if (spatial) p.gradcam_layer = default_cam_layer(m);
    default_occlusion_geometry(p.input_h, p.input_w, &p.occlusion_patch, &p.occlusion_stride);
    p.occlusion_positions = int64_t(occlusion_positions(p.input_h, p.occlusion_patch, p.occlusion_stride).size() *
                                    occlusion_positions(p.input_w, p.occlusion_patch, p.occlusion_stride).size());
  }

  using S = ReportSection;
  p.sections = {S::model, p.classifier ? S::classification : S::image};
  if (p.first_conv >= 0) p.sections.push_back(S::filters);
  // A model whose only spatial layer is its input (a Dense stack on the pixels) has no blocks.
  if (!p.block_ends.empty()) p.sections.push_back(S::feature_maps);
  if (maximize && !p.block_ends.empty()) p.sections.push_back(S::channels);
  if (maximize && p.classifier) p.sections.push_back(S::classes);
  if (p.classifier && p.gradcam_layer >= 0) p.sections.push_back(S::gradcam);
  if (p.classifier) p.sections.push_back(S::occlusion);
  return p;
}

// ---- the shared forward pass ---------------------------------------------------------------------

std::string ReportImage::class_name(int c) const {
  if (c >= 0 && size_t(c) < class_names.size()) return class_names[size_t(c)];
  return "class " + std::to_string(c);
}

ReportImage prepare_report_image(const Model& m, const ReportPlan& plan, const std::string& path, Image photo,
                                 std::vector<std::string> class_names) {
  if (!class_names.empty() && int64_t(class_names.size()) != plan.num_classes)
    throw std::invalid_argument(std::to_string(class_names.size()) + " class names for model '" + m.name +
                                "', which outputs " + std::to_string(plan.num_classes) + " classes");
  ReportImage r;
  r.path = path;
  r.photo = std::move(photo);
  r.pixels = resize_bilinear(r.photo, plan.input_h, plan.input_w);
  r.x = preprocess(r.pixels, plan.preprocess);
  r.class_names = std::move(class_names);

  std::vector<Tensor> outs = layer_outputs(m, r.x, int(m.layers.size()) - 1, plan.block_ends);
  for (int b : plan.block_ends) {
    r.block_outputs.push_back(std::move(outs[size_t(b)]));
    const std::vector<float> means = channel_means(r.block_outputs.back());
    r.strongest.push_back(top_k(means.data(), int64_t(means.size()), plan.options.per_block));
  }
  if (plan.classifier) {
    const Tensor probs = class_probabilities(m, r.x);
    r.probabilities.assign(probs.data(), probs.data() + plan.num_classes);
    r.top = top_k(r.probabilities.data(), int64_t(r.probabilities.size()), plan.top_classes);
  }
  return r;
}

// ---- the page ------------------------------------------------------------------------------------

std::string report_page(const PageInfo& info, const std::vector<Section>& sections) {
  // Keras names most models "sequential" or "model_1": the file says more.
  const std::string stem = fs::path(info.weights).stem().string();
  const std::string model_title = stem == info.model_name ? info.model_name : stem + " (model '" + info.model_name + "')";
  std::string body;
  for (const Section& s : sections) body += s.html;
  return "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
         "<meta name=viewport content=\"width=device-width, initial-scale=1\">\n<title>convis report: " +
         report::escape(model_title) + "</title>\n<style>\n"
         "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:" + std::to_string(report::kColumnPx) +
         "px;margin:0 auto;padding:1em 1.5em;"
         "color:#222;line-height:1.45}\n"
         "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;"
         "margin-top:1.8em}\n"
         "table{border-collapse:collapse;margin:.6em 0;font-size:.92em}td,th{border-bottom:1px solid #e4e4e4;"
         "padding:.25em .8em;text-align:left}th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:"
         "tabular-nums}\n.dim{color:#888}.bar{height:.8em;background:#c0392b}.note{background:#fff8e0;padding:.5em .8em;"
         "border-left:4px solid #e0b000}\n"
         // Sheets at their natural size (a wider one scrolls in its box); photos may shrink, smoothly;
         // only small enlarged pictures are pixel art.
         "figure{margin:.8em 0;display:inline-block;vertical-align:top;max-width:100%}"
         "figure img{display:block;border:1px solid #ddd}\n"
         "figure.sheet{overflow-x:auto}figure.sheet img{max-width:none}\n"
         "figure.photo img{max-width:100%;height:auto}figure.pixels img{image-rendering:pixelated}\n"
         "figcaption{font-size:.85em;color:#555}.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}\n"
         "</style>\n</head>\n<body>\n<h1>How " + report::escape(model_title) + " sees " +
         report::escape(fs::path(info.image).filename().string()) + "</h1>\n<p class=dim>Weights " +
         report::escape(info.weights) + " &middot; image " + report::escape(info.image) + " &middot; made by " +
         report::escape(info.made_by) + " in " + report::fixed(info.seconds, 0) + " s</p>\n" +
         (info.note.empty() ? std::string() : "<p class=note>" + report::escape(info.note) + "</p>\n") + body +
         "</body>\n</html>\n";
}

// ---- building blocks -----------------------------------------------------------------------------

namespace report {

std::string escape(const std::string& s) {
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

std::string para(const std::string& text) { return "<p>" + escape(text) + "</p>\n"; }

std::string figure(const std::string& file, const std::string& caption, FigureKind kind) {
  const char* cls = kind == FigureKind::sheet ? "sheet" : kind == FigureKind::pixels ? "pixels" : "photo";
  return std::string("<figure class=") + cls + "><a href=\"" + escape(file) + "\"><img src=\"" + escape(file) +
         "\" alt=\"" + escape(caption) + "\"></a><figcaption>" + escape(caption) + "</figcaption></figure>\n";
}

std::string section(const std::string& title, const std::string& body) {
  return "<section>\n<h2>" + escape(title) + "</h2>\n" + body + "</section>\n";
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

}  // namespace report

}  // namespace convis
