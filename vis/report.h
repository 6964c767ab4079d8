#pragma once
// The report: every kind of picture for one model and one image, gathered on one HTML page
// (index.html beside the PNGs, relative links, no scripts, no network).
//
//   Model m = load_model("darknet_tiny_imagenet.h5");
//   ReportPlan plan = plan_report(m, ReportOptions{});          // decides, draws nothing
//   ReportImage img = prepare_report_image(m, plan, "coffee.png", load_image("coffee.png"), names);
//   std::vector<Section> sections;
//   for (ReportSection s : plan.sections) sections.push_back(draw_section(s, m, plan, img, {"out", {}}));
//   std::string html = report_page(PageInfo{...}, sections);    // the page around them
//
// Three steps, each testable alone. plan_report reads only the model: which sections, which
// layers end a block, which conv layer's filters are shown, which layer Grad-CAM looks at, the
// sizes. prepare_report_image runs the one forward pass every section shares (probabilities, the
// top classes, the block outputs and their most active channels). Each section function writes
// its PNGs and returns its HTML and the files it wrote; report_page assembles the page.
//
// The page, top to bottom: the model summary and the classification as HTML tables, the first
// conv layer's filters, the feature maps at the end of each block, what the most active channels
// of each block respond to (activation maximisation), what the network thinks its classes look
// like (maximised class logits), Grad-CAM and occlusion for the top-1 class. A model without class
// scores gets the sections that need none.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/tensor.h"
#include "vis/image.h"
#include "vis/maximize.h"

namespace convis {

// What the caller chooses; everything else follows from the model.
struct ReportOptions {
  int iters = 256;      // activation maximisation steps per batch; 0: no maximisation
  int per_block = 8;    // channels maximised per block, 0..64; 0: no maximisation
  int max_size = 128;   // side of the images maximised for conv channels (at most the model's)
  MaximizeMethod method = MaximizeMethod::lucid;
  uint64_t seed = 0;
};

// The sections in the order the page shows them.
enum class ReportSection {
  model,           // Keras' model.summary() as a table
  classification,  // the image and the top classes (a classifier)
  image,           // the image alone (a model without class scores)
  filters,         // the first Conv2D layer's kernels
  feature_maps,    // every block's output on the image
  channels,        // the most active channels of every block, maximised
  classes,         // the class logits, maximised
  gradcam,         // Grad-CAM for the top-1 class
  occlusion,       // occlusion for the top-1 class
};
const char* report_section_name(ReportSection s);  // "feature_maps", ...

// What the report will show for a model, decided from the model alone (nothing is drawn).
struct ReportPlan {
  ReportOptions options;
  int input_h = 0, input_w = 0;  // the model's built input size: the image is resized to it
  int image_channels = 3;        // the image is read as grey (1) for a one-channel model, else RGB
  Preprocess preprocess = Preprocess::unit;  // default_preprocess: how its pixels become inputs
  bool classifier = false;       // the last layer outputs a vector of class scores
  int num_classes = 0;           // its length (0 without class scores)
  int top_classes = 5;           // rows of the classification table: min(5, num_classes)
  // model; classification (a classifier) or image; filters (a Conv2D layer); feature_maps (a
  // block); channels (a block, and maximisation on); classes (a classifier, maximisation on);
  // gradcam (a classifier with a spatial layer); occlusion (a classifier).
  std::vector<ReportSection> sections;

  int first_conv = -1;                    // the Conv2D layer whose filters are shown, or -1
  int filter_first = 0, filter_last = -1; // its filters shown (default_filter_range)
  // The layers that end each block: the last layer with a spatial output before each pooling
  // (or flatten) layer; a model with no pooling: its last spatial layer.
  std::vector<int> block_ends;
  int feature_channels = 64;              // at most this many channels a feature-map sheet

  // Activation maximisation (when options.iters > 0 and options.per_block > 0).
  int maximize_batch = 16;                // images per forward/backward
  std::vector<int> block_maximize_size;   // per block, the side maximised: min(input side, max_size),
                                          // or 0, the model's own size, behind a Flatten
  int class_maximize_size = 0;            // the same for the class logits (the last layer)
  bool maximize_every_class = false;      // every class (up to 10), else the image's top 5

  int gradcam_layer = -1;                 // default_cam_layer; -1: no layer with a spatial output
  int occlusion_patch = 0, occlusion_stride = 0;  // default_occlusion_geometry of the input
  int64_t occlusion_positions = 0;        // patch positions over the image

  bool has(ReportSection s) const;
};

// Throws ParameterError naming the option (iters, per_block, max_size) and the value when one is
// out of range, and std::invalid_argument when the model has not been built.
ReportPlan plan_report(const Model& m, const ReportOptions& options);

// The image and what one forward pass says about it: what the sections share. Writes nothing.
struct ReportImage {
  std::string path;          // as given: captions and the page's headline
  Image photo;               // as read
  Tensor pixels;             // (H, W, C) resized to the plan's input size, 0..255
  Tensor x;                  // (1, H, W, C) preprocessed: what the model takes
  std::vector<std::string> class_names;     // num_classes names, or empty: classes are numbers
  std::vector<float> probabilities;         // num_classes; empty without class scores
  std::vector<int> top;                     // the plan's top_classes classes, best first
  std::vector<Tensor> block_outputs;        // (1, H', W', C') per plan.block_ends
  std::vector<std::vector<int>> strongest;  // per block, the per_block channels of largest mean
                                            // over (H', W'), largest first
  // "espresso", or "class 967" without names.
  std::string class_name(int c) const;
};

// class_names: empty, or one per class (throws std::invalid_argument naming the counts otherwise).
ReportImage prepare_report_image(const Model& m, const ReportPlan& plan, const std::string& path, Image photo,
                                 std::vector<std::string> class_names = {});

// Where a section writes its PNGs, and who hears of each (the caller prints its path, say) and of
// the long steps' progress (the caller draws a bar, say; the library knows no terminal).
struct ReportOutput {
  std::string dir;
  std::function<void(const std::string& file)> wrote;  // the file's name in dir; may be empty
  // `what` ("maximize block1_conv1", "occlusion") has done of total steps; each step's last call
  // has done == total, and comes exactly once. May be empty.
  std::function<void(const std::string& what, int64_t done, int64_t total)> progress;
};

// One part of the page: its <section> element, and the files (names relative to the page) it
// wrote and shows.
struct Section {
  std::string title;
  std::string html;
  std::vector<std::string> files;
};

// One function per section (vis/report_sections.cpp), each writing its PNGs into out.dir.
Section model_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section classification_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section image_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section filters_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section feature_maps_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section channels_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section classes_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section gradcam_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
Section occlusion_section(const Model& m, const ReportPlan& plan, const ReportImage& img, const ReportOutput& out);
// The function for s.
Section draw_section(ReportSection s, const Model& m, const ReportPlan& plan, const ReportImage& img,
                     const ReportOutput& out);

// The page around the sections.
struct PageInfo {
  std::string model_name;   // Model::name
  std::string weights;      // the weights file's path
  std::string image;        // the image's path as given
  std::string made_by;      // the program and its version, for the line under the headline
  double seconds = 0.0;     // how long it took, for the same line
  std::string note;         // a line for the top of the page; may be empty
};
std::string report_page(const PageInfo& info, const std::vector<Section>& sections);

// ---- building blocks (exposed for the sections and tests) -------------------------------------
namespace report {
// The page's text column in CSS pixels. Sheets are drawn no wider than this and shown at their
// natural size: a sheet the browser shrinks has unreadable labels.
constexpr int kColumnPx = 1100;
// How a picture is shown. sheet: titled grids, attribution sheets, colour bars, at their natural
// size (one wider than the column scrolls sideways in its own box, never shrunk); pixels: a small
// picture enlarged by whole factors, kept crisp (image-rendering: pixelated) when the browser
// enlarges it further; photo: may be shrunk to the column, smoothly.
enum class FigureKind { sheet, pixels, photo };
std::string escape(const std::string& s);                                 // & < > " for HTML
std::string para(const std::string& text);                                // <p>text</p>
std::string figure(const std::string& file, const std::string& caption,   // a linked <img>
                   FigureKind kind = FigureKind::sheet);
std::string section(const std::string& title, const std::string& body);   // <section><h2>title</h2>
std::string thousands(int64_t v);        // 93322 -> "93,322"
std::string shape_text(const Shape& s);  // "(None, 26, 26, 32)", as Keras' summary
std::string fixed(double v, int digits); // printf's %.*f
}  // namespace report

}  // namespace convis
