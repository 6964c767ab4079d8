// vis_tool report and demo: the HTML gallery.
//   - On the embedded Fashion-MNIST model: the page has every section, its tables hold Keras'
//     parameter counts and the probabilities classify prints, the channels it maximises are the
//     most active ones (checked against the engine's own forward pass), and every link resolves.
//   - demo picks the embedded model when VGG16 is not fetched and says so.
//   - Bad input: one line, exit 2, no page.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <regex>
#include <set>

#include "engine/model_io.h"
#include "tests/cli_util.h"
#include "vis/activations.h"
#include "vis/image.h"

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
