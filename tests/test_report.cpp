// The report: plan_report, its sections and its page (vis/report.h), and vis_tool report and demo.
//   - plan_report on the embedded model and on models built here, against the rules written out
//     by hand: the blocks, the first conv layer, Grad-CAM's layer, the sizes, the sections.
//   - A section function writes the files it returns, and its HTML shows each of them.
//   - On the embedded Fashion-MNIST model: the page has every section, its tables hold Keras'
//     parameter counts and the probabilities classify prints, the channels it maximises are the
//     most active ones (checked against the engine's own forward pass), and every link resolves.
//   - demo picks the embedded model when VGG16 is not fetched and says so.
//   - Bad input: one line, exit 2, no page.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <regex>
#include <set>

#include "engine/errors.h"
#include "engine/model_config.h"
#include "engine/model_io.h"
#include "tests/cli_util.h"
#include "vis/activations.h"
#include "vis/image.h"
#include "vis/report.h"

using namespace convis;
using namespace convis::test;
namespace fs = std::filesystem;

namespace {

const std::string kSneaker = std::string(CONVIS_SOURCE_DIR) + "/weights/samples/0009_sneaker.png";

// The channels of layer `name` with the largest mean over (H, W) on the sneaker, largest first.
std::vector<int> most_active(const Model& m, const std::string& name, int k) {
  const Tensor x = load_input(kSneaker, 28, 28, 1, Preprocess::unit);
  const int li = m.layer_index(name);
  const std::vector<Tensor> outs = layer_outputs(m, x, li);
  const Tensor& o = outs[size_t(li)];
  const int64_t P = o.dim(1) * o.dim(2), C = o.dim(3);
  std::vector<double> mean(static_cast<size_t>(C), 0.0);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t c = 0; c < C; ++c) mean[size_t(c)] += double(o.data()[p * C + c]) / double(P);
  std::vector<int> idx(static_cast<size_t>(C));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return mean[size_t(a)] > mean[size_t(b)]; });
  idx.resize(size_t(k));
  return idx;
}

}  // namespace

namespace {

using S = ReportSection;

// A Sequential model from its layers' JSON, built, He-initialised (the filter range reads weights).
Model sequential(const std::string& layers) {
  Model m = model_from_config(R"({"class_name": "Sequential", "config": {"name": "built_here", "layers": [)" + layers + "]}}");
  m.build();
  init_he_normal(m, 1);
  return m;
}

// 20x16 RGB in, two blocks (c2 before the pool, c3 before the global pool), 12 classes.
const char* kTwelveClasses = R"(
  {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 20, 16, 3]}},
  {"class_name": "Conv2D", "config": {"name": "c1", "filters": 8, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}},
  {"class_name": "Conv2D", "config": {"name": "c2", "filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}},
  {"class_name": "MaxPooling2D", "config": {"name": "p1", "pool_size": [2, 2], "strides": [2, 2]}},
  {"class_name": "Conv2D", "config": {"name": "c3", "filters": 6, "kernel_size": [3, 3], "activation": "relu"}},
  {"class_name": "GlobalAveragePooling2D", "config": {"name": "g"}},
  {"class_name": "Dense", "config": {"name": "d", "units": 12}})";

}  // namespace

TEST_CASE("plan_report: the embedded model gets every section, by the rules") {
  const Model m = load_model("fashion");  // conv2d pool conv2d_1 pool conv2d_2 flatten dense dense_1
  const ReportPlan p = plan_report(m, ReportOptions{});
  CHECK(p.input_h == 28);
  CHECK(p.input_w == 28);
  CHECK(p.image_channels == 1);
  CHECK(p.preprocess == Preprocess::unit);
  CHECK(p.classifier);
  CHECK(p.num_classes == 10);
  CHECK(p.top_classes == 5);
  CHECK(p.first_conv == m.layer_index("conv2d"));
  CHECK(p.filter_first == 0);
  CHECK(p.filter_last == 31);  // one input channel: all 32 kernels
  // Each block ends before a pooling or flatten layer.
  CHECK(p.block_ends == std::vector<int>{m.layer_index("conv2d"), m.layer_index("conv2d_1"), m.layer_index("conv2d_2")});
  CHECK(p.block_maximize_size == std::vector<int>{28, 28, 28});  // min(28, 128): none is behind the Flatten
  CHECK(p.class_maximize_size == 0);  // dense_1 is: the model's own size
  CHECK(p.maximize_every_class);      // 10 classes
  CHECK(p.gradcam_layer == m.layer_index("conv2d_1"));  // the last spatial layer of 7x7 or more: 11x11
  // A 7x7 patch (28 / 4) at stride 3 (28 / 8): corners 0, 3, ..., 21 on each axis.
  CHECK(p.occlusion_patch == 7);
  CHECK(p.occlusion_stride == 3);
  CHECK(p.occlusion_positions == 8 * 8);
  CHECK(p.sections == std::vector<S>{S::model, S::classification, S::filters, S::feature_maps, S::channels,
                                     S::classes, S::gradcam, S::occlusion});

  ReportOptions none;
  none.per_block = 0;  // no maximisation
  CHECK(plan_report(m, none).sections ==
        std::vector<S>{S::model, S::classification, S::filters, S::feature_maps, S::gradcam, S::occlusion});
  none = ReportOptions{};
  none.iters = 0;
  CHECK(!plan_report(m, none).has(S::channels));
  CHECK(!plan_report(m, none).has(S::classes));
}

TEST_CASE("plan_report: a model built here, a model without class scores, a Dense stack") {
  const Model m = sequential(kTwelveClasses);
  ReportOptions o;
  o.max_size = 12;
  const ReportPlan p = plan_report(m, o);
  CHECK(p.input_h == 20);
  CHECK(p.input_w == 16);
  CHECK(p.image_channels == 3);
  CHECK(p.num_classes == 12);
  CHECK(p.top_classes == 5);
  CHECK(!p.maximize_every_class);  // more than 10 classes: the image's top 5
  CHECK(p.first_conv == 1);        // c1
  CHECK(p.filter_last == 7);
  CHECK(p.block_ends == std::vector<int>{2, 4});  // c2 (before p1), c3 (before g)
  CHECK(p.block_maximize_size == std::vector<int>{12, 12});  // min(max(20, 16), 12): no Flatten
  CHECK(p.class_maximize_size == 12);
  CHECK(p.gradcam_layer == 3);  // p1 (10x8): the last spatial layer of at least 7x7 (c3 is 8x6)
  // Patch 4 (the shorter side 16 / 4), stride 2: rows 0, 2, ..., 16 (16 + 4 reaches 20): 9;
  // columns 0, 2, ..., 12 (12 + 4 reaches 16): 7.
  CHECK(p.occlusion_patch == 4);
  CHECK(p.occlusion_stride == 2);
  CHECK(p.occlusion_positions == 9 * 7);
  CHECK(p.sections.size() == 8);

  // Without the top: the sections that need no class scores.
  const Model notop = sequential(R"(
    {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 9, 9, 5]}},
    {"class_name": "Conv2D", "config": {"name": "a", "filters": 20, "kernel_size": [3, 3], "padding": "same"}},
    {"class_name": "Conv2D", "config": {"name": "b", "filters": 2, "kernel_size": [3, 3]}})");
  const ReportPlan q = plan_report(notop, ReportOptions{});
  CHECK(!q.classifier);
  CHECK(q.num_classes == 0);
  CHECK(q.filter_last == 15);          // 5 input channels: the first 16 filters
  CHECK(q.block_ends == std::vector<int>{2});  // no pooling: the last spatial layer
  CHECK(q.gradcam_layer == -1);
  CHECK(q.occlusion_positions == 0);
  CHECK(q.sections == std::vector<S>{S::model, S::image, S::filters, S::feature_maps, S::channels});

  // Pixels straight into Dense: no conv, no block, no Grad-CAM; classification and occlusion stay.
  const Model dense = sequential(R"(
    {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 8, 8, 1]}},
    {"class_name": "Flatten", "config": {"name": "f"}},
    {"class_name": "Dense", "config": {"name": "d", "units": 3, "activation": "softmax"}})");
  const ReportPlan r = plan_report(dense, ReportOptions{});
  CHECK(r.first_conv == -1);
  CHECK(r.block_ends.empty());
  CHECK(r.gradcam_layer == -1);
  CHECK(r.sections == std::vector<S>{S::model, S::classification, S::classes, S::occlusion});
}

TEST_CASE("plan_report: bad options name the parameter and the value, never a flag") {
  const Model m = load_model("fashion");
  auto parameter_of = [&](const ReportOptions& o) {
    try {
      plan_report(m, o);
    } catch (const ParameterError& e) {
      CHECK_MESSAGE(!contains(e.what(), "--"), e.what());
      return e.parameter + ": " + e.what();
    }
    return std::string();
  };
  ReportOptions o;
  o.iters = -1;
  CHECK(contains(parameter_of(o), "iters: iters -1"));
  o = ReportOptions{};
  o.per_block = 65;
  CHECK(contains(parameter_of(o), "per_block: per_block 65 must be in 0..64"));
  o = ReportOptions{};
  o.max_size = 0;
  CHECK(contains(parameter_of(o), "max_size: max_size 0"));
  Model unbuilt = vgg16(false);  // a free input size, not built
  CHECK(contains(error_of([&] { plan_report(unbuilt, ReportOptions{}); }), "is not built"));
}

TEST_CASE("report sections: each writes the files it returns and its HTML shows them") {
  const Model m = load_model("fashion");
  ReportOptions o;
  o.iters = 3;
  o.per_block = 2;
  const ReportPlan plan = plan_report(m, o);
  std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  const ReportImage img = prepare_report_image(m, plan, kSneaker, load_image(kSneaker, plan.image_channels), names);
  CHECK(img.class_name(img.top[0]) == "Sneaker");
  REQUIRE(img.strongest.size() == 3);
  CHECK(img.strongest[1] == most_active(m, "conv2d_1", 2));
  CHECK(contains(error_of([&] { prepare_report_image(m, plan, kSneaker, load_image(kSneaker, 1), {"a", "b"}); }),
                 "2 class names"));

  const fs::path dir = temp_dir("report_sections");
  std::vector<std::string> announced;
  const ReportOutput out{dir.string(), [&](const std::string& f) { announced.push_back(f); }};
  std::vector<Section> sections;
  for (ReportSection s : {S::model, S::classification, S::filters, S::feature_maps, S::gradcam}) {
    sections.push_back(draw_section(s, m, plan, img, out));
    const Section& sec = sections.back();
    INFO(report_section_name(s));
    CHECK(contains(sec.html, "<h2>" + report::escape(sec.title) + "</h2>"));
    for (const std::string& f : sec.files) {
      CHECK_MESSAGE(contains(sec.html, "<img src=\"" + f + "\""), f);
      CHECK_MESSAGE(fs::file_size(dir / f) > 100, f);
    }
  }
  CHECK(sections[0].files.empty());
  CHECK(contains(sections[0].html, "Total params: 93,322"));
  CHECK(sections[1].files == std::vector<std::string>{"image.png"});
  CHECK(contains(sections[1].html, "<td>1</td><td>Sneaker</td>"));
  CHECK(sections[2].files == std::vector<std::string>{"filters_conv2d.png"});
  CHECK(sections[3].files == std::vector<std::string>{"activations_conv2d.png", "activations_conv2d_1.png",
                                                      "activations_conv2d_2.png"});
  CHECK(sections[4].files == std::vector<std::string>{"gradcam.png"});
  CHECK(announced.size() == 6);  // every file, as it was written

  // The long steps report their progress: increasing, and one last call with done == total.
  struct Call { std::string what; int64_t done, total; };
  std::vector<Call> calls;
  ReportOutput counted = out;
  counted.progress = [&](const std::string& what, int64_t done, int64_t total) { calls.push_back({what, done, total}); };
  REQUIRE(plan.has(S::channels));
  REQUIRE(plan.has(S::occlusion));
  for (ReportSection s : {S::channels, S::occlusion}) {
    calls.clear();
    draw_section(s, m, plan, img, counted);
    INFO(report_section_name(s));
    REQUIRE(!calls.empty());
    std::map<std::string, int> finished;
    for (size_t i = 0; i < calls.size(); ++i) {
      const Call& c = calls[i];
      CHECK(c.total > 0);
      CHECK(c.done <= c.total);
      if (c.done == c.total) ++finished[c.what];
      if (i > 0 && calls[i - 1].what == c.what) CHECK(c.done >= calls[i - 1].done);
    }
    CHECK(calls.back().done == calls.back().total);
    for (const auto& kv : finished) CHECK_MESSAGE(kv.second == 1, kv.first);
  }
  CHECK(calls.front().what == "occlusion");
  CHECK(calls.back().total == plan.occlusion_positions);

  // The page: every section in order, the note, the made-by line, everything escaped.
  PageInfo info;
  info.model_name = m.name;
  info.weights = "/w/fashion_cnn.h5";
  info.image = kSneaker;
  info.made_by = "a test";
  info.seconds = 1.4;
  info.note = "<b>";
  const std::string html = report_page(info, sections);
  size_t at = 0;
  for (const Section& s : sections) {
    const size_t here = html.find(s.html);
    CHECK(here != std::string::npos);
    CHECK(here >= at);
    at = here;
  }
  CHECK(contains(html, "<h1>How fashion_cnn (model 'sequential') sees 0009_sneaker.png</h1>"));
  CHECK(contains(html, "made by a test in 1 s</p>"));
  CHECK(contains(html, "<p class=note>&lt;b&gt;</p>"));
  fs::remove_all(dir);
}

TEST_CASE("report: a Dense stack on the pixels gets the sections it can have") {
  // No spatial layer but the input: no filters, feature maps or Grad-CAM (which has no layer to
  // look at), but classification, the maximised classes and occlusion.
  const fs::path dir = temp_dir("report_dense");
  Model m = sequential(R"(
    {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 28, 28, 1]}},
    {"class_name": "Flatten", "config": {"name": "f"}},
    {"class_name": "Dense", "config": {"name": "d", "units": 10, "activation": "softmax"}})");
  save_model(m, (dir / "dense_only.h5").string());
  const CliResult r = run_vis_tool({"report", "--weights", (dir / "dense_only.h5").string(), "--image", kSneaker,
                                    "--out", (dir / "out").string(), "--iters", "2", "--per-block", "2"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  const std::string html = slurp(dir / "out" / "index.html");
  CHECK(contains(html, "<h2>Classification</h2>"));
  CHECK(contains(html, "<h2>What the network thinks the classes look like</h2>"));
  CHECK(contains(html, "<h2>Where the network looks: occlusion</h2>"));
  CHECK(!contains(html, "Grad-CAM"));
  CHECK(!contains(html, "Feature maps"));
  fs::remove_all(dir);
}

TEST_CASE("report: the fashion model's page has every section with the right numbers") {
  const fs::path dir = temp_dir("report_fashion");
  const CliResult r = run_vis_tool({"report", "--weights", "fashion", "--image", kSneaker, "--out", dir.string(),
                                    "--iters", "6", "--per-block", "3"},
                                   {"OMP_NUM_THREADS=2"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  REQUIRE(fs::exists(dir / "index.html"));
  const std::string html = slurp(dir / "index.html");
  CHECK(r.out.find((dir / "index.html").string()) != std::string::npos);

  // Keras' model.summary() numbers for the tutorial CNN.
  for (const char* row : {"conv2d <span class=dim>(Conv2D)</span></td><td>(None, 26, 26, 32)</td><td class=num>320<",
                          "conv2d_1 <span class=dim>(Conv2D)</span></td><td>(None, 11, 11, 64)</td><td class=num>18,496<",
                          "conv2d_2 <span class=dim>(Conv2D)</span></td><td>(None, 3, 3, 64)</td><td class=num>36,928<",
                          "dense <span class=dim>(Dense)</span></td><td>(None, 64)</td><td class=num>36,928<",
                          "dense_1 <span class=dim>(Dense)</span></td><td>(None, 10)</td><td class=num>650<",
                          "Total params: 93,322"})
    CHECK_MESSAGE(html.find(row) != std::string::npos, row);

  // The top-5 table: the same classes and probabilities as classify --json.
  const CliResult c = run_vis_tool({"classify", "--weights", "fashion", "--image", kSneaker, "--json"});
  REQUIRE(c.rc == 0);
  const std::regex pred("\"name\": \"([^\"]+)\",\\s*\"probability\": ([0-9.e-]+)");
  int found = 0;
  for (auto it = std::sregex_iterator(c.out.begin(), c.out.end(), pred); it != std::sregex_iterator(); ++it) {
    char prob[32];
    std::snprintf(prob, sizeof prob, "%.4f", std::stod((*it)[2]));
    const std::string cell = "<td>" + (*it)[1].str() + "</td><td class=num>";
    const size_t at = html.find(cell);
    CHECK_MESSAGE(at != std::string::npos, cell);
    if (at != std::string::npos) CHECK(html.find(std::string("<td class=num>") + prob + "</td>", at) != std::string::npos);
    ++found;
  }
  CHECK(found == 5);
  CHECK(html.find("<td>1</td><td>Sneaker</td>") != std::string::npos);

  // Blocks end before each pooling / flatten layer; their most active channels are maximised.
  const Model m = load_model("fashion");
  for (const char* layer : {"conv2d", "conv2d_1", "conv2d_2"}) {
    const std::vector<int> top = most_active(m, layer, 3);
    const std::string caption = std::string(layer) + ": channels " + std::to_string(top[0]) + ", " +
                                std::to_string(top[1]) + ", " + std::to_string(top[2]);
    CHECK_MESSAGE(html.find(caption) != std::string::npos, caption);
  }

  // Every section, and every image the page shows is there.
  for (const char* h : {"The model: ", "Classification", "First-layer filters", "Feature maps, block by block",
                        "What the channels respond to", "What the network thinks the classes look like",
                        "Grad-CAM", "occlusion"})
    CHECK_MESSAGE(html.find(h) != std::string::npos, h);
  const std::regex img("<img src=\"([^\"]+)\"");
  std::set<std::string> files;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), img); it != std::sregex_iterator(); ++it)
    files.insert((*it)[1].str());
  CHECK(files.size() == 13);  // image, filters, 3 feature-map sheets, 3 + 1 maximised, Grad-CAM, 3 occlusion
  for (const std::string& f : files) {
    CHECK_MESSAGE(f.find('/') == std::string::npos, f);  // relative, beside index.html
    CHECK_MESSAGE(fs::file_size(dir / f) > 100, f);
  }
  fs::remove_all(dir);
}

TEST_CASE("demo: without fetched VGG16 weights it shows the embedded model and says how to fetch VGG16") {
  const fs::path dir = temp_dir("demo");
  const fs::path empty = temp_dir("demo_weights");  // CONVIS_WEIGHTS_DIR with no VGG16 in it
  fs::copy_file(fs::path(CONVIS_SOURCE_DIR) / "weights" / "fashion_cnn.h5", empty / "fashion_cnn.h5");
  fs::copy_file(fs::path(CONVIS_SOURCE_DIR) / "weights" / "fashion_cnn_class_index.json",
                empty / "fashion_cnn_class_index.json");
  const CliResult r = run_vis_tool({"demo", "--out", dir.string(), "--iters", "4", "--per-block", "2"},
                                   {"CONVIS_WEIGHTS_DIR=" + empty.string()});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("embedded Fashion-MNIST model") != std::string::npos);
  CHECK(r.out.find("fetch_vgg16.sh full") != std::string::npos);
  const std::string html = slurp(dir / "index.html");
  CHECK(html.find("Total params: 93,322") != std::string::npos);
  CHECK(html.find("fetch_vgg16.sh full") != std::string::npos);
  fs::remove_all(dir);
  fs::remove_all(empty);
}

TEST_CASE("report: bad input exits 2 with one line and writes no page") {
  const fs::path dir = temp_dir("report_bad");
  const fs::path bad_png = dir / "not_an_image.png";
  { std::ofstream(bad_png) << "not a png"; }
  const fs::path out = dir / "out";
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{"report", "--weights", "fashion", "--image", bad_png.string(), "--out", out.string()}, "not_an_image.png"},
      {{"report", "--weights", "fashion", "--image", (dir / "missing.png").string(), "--out", out.string()}, "missing.png"},
      {{"report", "--weights", (dir / "nope.h5").string(), "--image", kSneaker, "--out", out.string()}, "nope.h5"},
      {{"report", "--weights", "fashion", "--image", kSneaker, "--out", bad_png.string()}, "not_an_image.png"},
      {{"report", "--weights", "fashion", "--image", kSneaker, "--out", out.string(), "--iters", "-1"}, "--iters"},
      {{"report", "--weights", "fashion", "--out", out.string()}, "missing --image"},
      {{"demo", "--out", out.string(), "--per-block", "100"}, "--per-block"},
  };
  for (const Case& c : cases) {
    const CliResult r = run_vis_tool(c.args);
    INFO(c.args[4] << " " << r.err);
    CHECK(r.rc == 2);
    CHECK(r.one_line_error());
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(!fs::exists(out));
  }
  CHECK(slurp(bad_png) == "not a png");  // an --out that is a file is not overwritten
  fs::remove_all(dir);
}
