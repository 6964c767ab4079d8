// The method tables: attribution methods (vis/attribution.h) and explain topics
// (tools/explain_topics.h). Each has every entry once under a unique name, finds entries by name
// and lists the names when one is wrong, is documented, and runs what its function computes.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "engine/model_io.h"
#include "tests/cli_util.h"
#include "tests/util.h"
#include "tools/explain_topics.h"
#include "vis/attribution.h"
#include "vis/explain.h"
#include "vis/image.h"

using namespace convis;
using test::contains;
using test::error_of;

namespace {

std::string source_file(const std::string& relative) {
  return test::slurp(std::filesystem::path(CONVIS_SOURCE_DIR) / relative);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

const std::string kSneaker = std::string(CONVIS_SOURCE_DIR) + "/weights/samples/0009_sneaker.png";

}  // namespace

// ---- attribution methods ------------------------------------------------------------------------

TEST_CASE("attribution methods: every method once, found by name, a wrong name lists them all") {
  const std::vector<std::string> expected = {"vanilla", "smoothgrad", "smoothgrad_sq", "vargrad", "integrated",
                                             "guided",  "gradcam",    "gradcampp",     "guided-gradcam",
                                             "hirescam", "xgradcam",  "layercam",      "eigencam",
                                             "eigengradcam", "scorecam", "inputxgrad"};
  std::vector<std::string> names;
  for (const AttributionMethod& m : attribution_methods()) {
    CAPTURE(m.name);
    names.push_back(m.name);
    CHECK(find_attribution_method(m.name) == &m);
    CHECK(&attribution_method(m.name) == &m);
    CHECK(std::string(m.title).size() > 0);
    CHECK(std::string(m.summary).size() > 0);
    CHECK(bool(m.compute));
    // vis_tool's progress bar counts samples, steps or (scorecam) the layer's channels: a batched
    // method reads one of them.
    if (m.uses(AttributionMethod::reads_batch))
      CHECK((m.uses(AttributionMethod::reads_samples) || m.uses(AttributionMethod::reads_steps) ||
             m.uses(AttributionMethod::reads_layer)));
  }
  CHECK(names == expected);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK(find_attribution_method("gradcam+") == nullptr);
  CHECK(find_attribution_method("") == nullptr);
  const std::string err = error_of([] { attribution_method("gradcam+"); });
  CHECK(contains(err, "'gradcam+'"));
  for (const std::string& n : names) CHECK(contains(err, n));
  CHECK(attribution_method_names() ==
        "vanilla, smoothgrad, smoothgrad_sq, vargrad, integrated, guided, gradcam, gradcampp, guided-gradcam, "
        "hirescam, xgradcam, layercam, eigencam, eigengradcam, scorecam, inputxgrad");
  AttributionOptions opt;
  opt.method = "nope";
  const Tensor x = test::random_tensor({1, 28, 28, 1}, 3, 0.f, 1.f);
  CHECK(contains(error_of([&] { compute_attribution(load_model("fashion"), x, 0, opt); }), "(valid: vanilla, "));
}

TEST_CASE("attribution methods: every row computes what its building blocks compute") {
  const Model m = load_model("fashion");
  const Tensor x = test::random_tensor({1, 28, 28, 1}, 11, 0.f, 1.f);
  const int cls = 3, H = 28, W = 28;
  AttributionOptions opt;
  opt.samples = 3;
  opt.noise = 0.1f;
  opt.seed = 5;
  opt.steps = 6;
  opt.batch = 2;
  opt.baseline = test::random_tensor({1, 28, 28, 1}, 12, 0.f, 0.2f);
  const int layer = default_cam_layer(m);
  auto cam_up = [&](bool plus_plus) { return upsample_bilinear(grad_cam(m, x, cls, layer, plus_plus), H, W); };
  auto family = [&](CamKind kind) { return upsample_bilinear(class_activation_map(m, x, cls, layer, kind), H, W); };
  // The map of each method from the blocks of vis/attribution.h. A new row needs its line here.
  const std::map<std::string, std::function<Tensor()>> direct = {
      {"vanilla", [&] { return channel_max_abs(input_gradient(m, x, cls)); }},
      {"smoothgrad",
       [&] { return channel_max_abs(smoothgrad(m, x, cls, opt.samples, opt.noise, opt.seed, opt.batch)); }},
      {"smoothgrad_sq",
       [&] { return channel_max_abs(noise_tunnel(m, x, cls, opt.samples, opt.noise, opt.seed, opt.batch).mean_sq); }},
      {"vargrad",
       [&] { return channel_max_abs(noise_tunnel(m, x, cls, opt.samples, opt.noise, opt.seed, opt.batch).variance); }},
      {"integrated",
       [&] {
         const Tensor a = integrated_gradients(m, x, opt.baseline, cls, opt.steps, opt.batch).attributions;
         Tensor map(Shape{H, W});
         for (int64_t p = 0; p < H * W; ++p) map[p] = std::fabs(a[p]);  // one channel: |sum over channels|
         return map;
       }},
      {"guided", [&] { return channel_max_abs(input_gradient(m, x, cls, nullptr, true)); }},
      {"gradcam", [&] { return cam_up(false); }},
      {"gradcampp", [&] { return cam_up(true); }},
      {"guided-gradcam",
       [&] {
         Tensor g = input_gradient(m, x, cls, nullptr, true);
         const Tensor up = cam_up(false);
         for (int64_t p = 0; p < H * W; ++p) g[p] *= up[p];
         return channel_max_abs(g);
       }},
      {"hirescam", [&] { return family(CamKind::hirescam); }},
      {"xgradcam", [&] { return family(CamKind::xgradcam); }},
      {"layercam", [&] { return family(CamKind::layercam); }},
      {"eigencam", [&] { return family(CamKind::eigencam); }},
      {"eigengradcam", [&] { return family(CamKind::eigengradcam); }},
      {"scorecam", [&] { return upsample_bilinear(score_cam(m, x, cls, layer, opt.batch), H, W); }},
      {"inputxgrad",
       [&] {
         const Tensor g = input_gradient(m, x, cls);
         Tensor map(Shape{H, W});
         for (int64_t p = 0; p < H * W; ++p) map[p] = std::fabs(x[p] * g[p]);  // one channel
         return map;
       }},
  };
  CHECK(direct.size() == attribution_methods().size());
  for (const AttributionMethod& method : attribution_methods()) {
    CAPTURE(method.name);
    REQUIRE_MESSAGE(direct.count(method.name) == 1, "no direct computation for the row");
    AttributionOptions o = opt;
    o.method = method.name;
    const Attribution a = compute_attribution(m, x, cls, o);
    CHECK(a.method == &method);
    CHECK(a.cls == cls);
    const Tensor expect = direct.at(method.name)();
    REQUIRE(a.map.shape() == expect.shape());
    float worst = 0.f;
    for (int64_t i = 0; i < expect.numel(); ++i) worst = std::max(worst, std::fabs(a.map[i] - expect[i]));
    CHECK(worst == 0.f);
    // The row is what compute_attribution runs.
    const Tensor again = method.compute(m, x, cls, o).map;
    CHECK(again.to_vector() == a.map.to_vector());
    CHECK(a.layer.empty() != method.uses(AttributionMethod::reads_layer));
  }
}

TEST_CASE("attribution methods: docs/attribution.md and saliency --help describe every row, and no other") {
  std::set<std::string> names;
  for (const AttributionMethod& m : attribution_methods()) names.insert(m.name);
  // docs: one row each of the table headed "| `--method` |", "| `name` ...".
  std::set<std::string> documented;
  bool in_table = false;
  for (const std::string& line : lines_of(source_file("docs/attribution.md"))) {
    if (line.rfind("| `--method` |", 0) == 0) in_table = true;
    else if (line.rfind("|", 0) != 0) in_table = false;
    else if (in_table && line.rfind("| `", 0) == 0) documented.insert(line.substr(3, line.find('`', 3) - 3));
  }
  CHECK(documented == names);
  // --help: the lines between "Methods" and "Writes", "  name  what it is".
  const test::CliResult r = test::run_vis_tool({"saliency", "--help"});
  REQUIRE(r.rc == 0);
  std::set<std::string> listed;
  bool in_list = false;
  for (const std::string& line : lines_of(r.out)) {
    if (contains(line, "Methods (default gradcam):")) in_list = true;
    else if (line.rfind("Writes", 0) == 0) in_list = false;
    else if (in_list && line.size() > 2 && line[2] != ' ') listed.insert(line.substr(2, line.find(' ', 2) - 2));
  }
  CHECK(listed == names);
}

// ---- explain topics -----------------------------------------------------------------------------

TEST_CASE("explain topics: every topic once, found by name, a wrong name lists them all") {
  using namespace convis::cli;
  const std::vector<std::string> expected = {"conv", "im2col", "channels", "pool", "relu", "softmax", "backprop", "value"};
  std::vector<std::string> names;
  for (const ExplainTopic& t : explain_topics()) {
    CAPTURE(t.name);
    names.push_back(t.name);
    CHECK(find_explain_topic(t.name) == &t);
    CHECK(&explain_topic(t.name) == &t);
    CHECK(bool(t.run));
    CHECK(std::string(t.help).size() > 0);
    CHECK(std::set<std::string>(t.options.begin(), t.options.end()).size() == t.options.size());
    CHECK(std::count(t.options.begin(), t.options.end(), "no-color") == 0);
  }
  CHECK(names == expected);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK(find_explain_topic("convv") == nullptr);
  CHECK(explain_topic_names() == "conv, im2col, channels, pool, relu, softmax, backprop, value");
  CHECK(error_of([] { explain_topic("convv"); }) ==
        "explain: unknown topic 'convv' (topics: conv, im2col, channels, pool, relu, softmax, backprop, value)");
  // vis_tool says the same, and lists them when no topic is given.
  const test::CliResult bad = test::run_vis_tool({"explain", "convv"});
  CHECK(bad.rc == 2);
  CHECK(contains(bad.err, "(topics: " + explain_topic_names() + ")"));
  CHECK(contains(test::run_vis_tool({"explain"}).err, "one of " + explain_topic_names()));
  const test::CliResult help = test::run_vis_tool({"explain", "--help"});
  CHECK(contains(help.out, explain_topics_help()));
}

TEST_CASE("explain topics: vis_tool explain NAME prints what the topic's vis function returns") {
  using namespace convis::cli;
  // Per topic: its command line after "explain NAME", and the page computed in-process.
  const Model fashion = load_model("fashion");
  const std::map<std::string, std::pair<std::vector<std::string>, std::function<std::string()>>> direct = {
      {"conv", {{}, [] { return explain_conv(default_conv_spec()).text.plain(); }}},
      {"im2col", {{}, [] { return explain_im2col(default_conv_spec()).text.plain(); }}},
      {"channels", {{}, [] { return explain_channels().text.plain(); }}},
      {"pool", {{}, [] { return explain_pool().text.plain(); }}},
      {"relu", {{}, [] { return explain_relu().text.plain(); }}},
      {"softmax", {{"--logits", "3,1,-2"}, [] { return explain_softmax({3, 1, -2}).text.plain(); }}},
      {"backprop", {{}, [] { return explain_backprop().text.plain(); }}},
      {"value",
       {{"--weights", "fashion", "--layer", "conv2d_1", "--image", kSneaker, "--at", "3,4", "--filter", "2"},
        [&] {
          const Tensor input = load_input(kSneaker, 28, 28, 1, default_preprocess(fashion));
          const std::string note = "model '" + fashion.name + "' (" + std::to_string(fashion.layers.size()) +
                                   " layers), image " + kSneaker + " resized to 28x28, preprocessing 'unit'";
          return explain_value(fashion, input, "conv2d_1", 3, 4, 2, note).text.plain();
        }}},
  };
  CHECK(direct.size() == explain_topics().size());
  for (const ExplainTopic& t : explain_topics()) {
    CAPTURE(t.name);
    REQUIRE_MESSAGE(direct.count(t.name) == 1, "no direct computation for the topic");
    const auto& [options, page] = direct.at(t.name);
    std::vector<std::string> argv = {"explain", t.name, "--no-color"};
    argv.insert(argv.end(), options.begin(), options.end());
    const test::CliResult r = test::run_vis_tool(argv);
    CHECK(r.rc == 0);
    CHECK(r.err.empty());
    CHECK(r.out == page());
  }
}

TEST_CASE("explain topics: docs/teaching.md has a section for every topic") {
  // A heading naming the topic in backticks: "## `explain conv`" or "## `explain channels`, `pool`".
  std::vector<std::string> headings;
  for (const std::string& line : lines_of(source_file("docs/teaching.md")))
    if (line.rfind("## ", 0) == 0) headings.push_back(line);
  for (const convis::cli::ExplainTopic& t : convis::cli::explain_topics()) {
    CAPTURE(t.name);
    const std::string name = t.name;
    CHECK(std::any_of(headings.begin(), headings.end(), [&](const std::string& h) {
      return contains(h, "`explain " + name + "`") || contains(h, "`" + name + "`");
    }));
  }
}
