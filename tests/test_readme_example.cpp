// The C++ example of README.md, compiled and checked, so the README cannot drift from the API.
// (Keep the two in sync: the code between the BEGIN/END markers is pasted into the README.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// BEGIN README EXAMPLE
#include "engine/model.h"  // Model, Layer, vgg16(), init_he_normal()
#include "engine/ops.h"    // conv2d, relu, mean, channel, ... (each with its backward pass)

using namespace convis;

// How much does pixel (y, x) of an image change the mean activation of one VGG16 filter?
// This gradient is the first step of activation maximisation.
Tensor filter_gradient(const Tensor& image /* (1, 96, 96, 3) */) {
  Model vgg = vgg16(/*include_top=*/false);       // Keras' layer names: block1_conv1 ... block5_pool
  vgg.build(96, 96);                              // output shapes for a 96x96 input
  init_he_normal(vgg, /*seed=*/1);                // or: load_model("vgg16-notop", 96, 96)
  vgg.set_trainable(false);                       // frozen weights: no weight-gradient work at all

  Var x = Var::param(image);                      // we want d loss / d x
  Var y = vgg.forward(x, vgg.layer_index("block3_conv1"));  // stops at that layer: (1, 24, 24, 256)
  Var loss = mean(channel(y, 7));                 // mean activation of filter 7
  Tape::current().backward(loss);                 // reverse mode; the tape is empty again afterwards
  return x.grad();                                // (1, 96, 96, 3), same layout as the image
}
// END README EXAMPLE

TEST_CASE("readme example: the filter gradient matches a central difference") {
  Tensor img(Shape{1, 96, 96, 3});
  for (int64_t i = 0; i < img.numel(); ++i) img[i] = float((i * 7919) % 255) - 127.f;
  const Tensor g = filter_gradient(img);
  REQUIRE(g.shape() == img.shape());

  Model vgg = vgg16(false);
  vgg.build(96, 96);
  init_he_normal(vgg, 1);
  auto loss_at = [&](const Tensor& x) {
    NoGrad no_grad;
    return double(mean(channel(vgg.forward(Var::constant(x), vgg.layer_index("block3_conv1")), 7)).value().item());
  };
  // The largest-gradient pixel: its numerical derivative must match the analytic one.
  int64_t best = 0;
  for (int64_t i = 1; i < g.numel(); ++i)
    if (std::fabs(g[i]) > std::fabs(g[best])) best = i;
  const float h = 0.5f;
  Tensor xp = img.clone(), xm = img.clone();
  xp[best] += h;
  xm[best] -= h;
  const double numeric = (loss_at(xp) - loss_at(xm)) / (2.0 * h);
  CHECK(g[best] != 0.f);
  CHECK(numeric == doctest::Approx(g[best]).epsilon(0.02));
}

namespace {
std::string read_source_file(const std::string& relative) {
  std::ifstream f(std::string(CONVIS_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("readme: opens with the two commands and shows the example compiled above") {
  const std::string readme = read_source_file("README.md");
  REQUIRE(!readme.empty());
  // The first code block holds exactly the two commands, demo first; .ci/run runs the second.
  const size_t open = readme.find("```\n");
  REQUIRE(open != std::string::npos);
  const size_t close = readme.find("```", open + 4);
  std::istringstream block(readme.substr(open + 4, close - open - 4));
  std::vector<std::string> commands;
  for (std::string line; std::getline(block, line);) {
    line = line.substr(0, line.find('#'));               // the comment
    line.erase(line.find_last_not_of(' ') + 1);          // and the spaces before it
    commands.push_back(line);
  }
  REQUIRE(commands.size() == 2);
  CHECK(commands[0] == "bash tools/demo.sh");
  CHECK(commands[1] == "bash tools/test.sh");
  CHECK(read_source_file(".ci/run").find("exec bash tools/test.sh") != std::string::npos);

  // The code between the markers of this file appears verbatim in README.md.
  const std::string self = read_source_file("tests/test_readme_example.cpp");
  const std::string begin = "// BEGIN README EXAMPLE\n", end = "// END README EXAMPLE";
  const size_t b = self.find(begin), e = self.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  const std::string example = self.substr(b + begin.size(), e - b - begin.size());
  CHECK_MESSAGE(readme.find(example) != std::string::npos, "README.md's C++ example differs from tests/test_readme_example.cpp");
}

namespace {

// GitHub's anchor for a heading: lower case, punctuation other than '-' and '_' dropped,
// spaces as '-'.
std::string heading_anchor(const std::string& heading) {
  std::string a;
  for (const char ch : heading) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_') a += char(std::tolower(c));
    else if (c == ' ') a += '-';
    else if (c >= 0x80) a += ch;  // UTF-8 letters stay
  }
  return a;
}

std::set<std::string> anchors_of(const std::string& markdown) {
  std::set<std::string> out;
  std::istringstream in(markdown);
  bool fence = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) fence = !fence;
    if (fence || line.empty() || line[0] != '#') continue;
    const size_t text = line.find_first_not_of('#');
    if (text != std::string::npos && text <= 6 && line[text] == ' ') out.insert(heading_anchor(line.substr(text + 1)));
  }
  return out;
}

}  // namespace

TEST_CASE("readme: a front page of at most 350 lines, and every link of README and docs/ resolves") {
  namespace fs = std::filesystem;
  const fs::path root = CONVIS_SOURCE_DIR;
  const std::string readme = read_source_file("README.md");
  CHECK(std::count(readme.begin(), readme.end(), '\n') <= 350);
  std::vector<fs::path> pages = {root / "README.md"};
  for (const auto& e : fs::directory_iterator(root / "docs"))
    if (e.path().extension() == ".md") pages.push_back(e.path());
  REQUIRE(pages.size() >= 5);
  const std::string index = read_source_file("docs/README.md");
  const std::regex link(R"(\[([^\]]*)\]\(([^)\s]+)\))");
  int checked = 0;
  for (const fs::path& page : pages) {
    const std::string text = read_source_file(fs::relative(page, root).string());
    // Every page of the manual is in its contents list.
    if (page.parent_path().filename() == "docs" && page.filename() != "README.md")
      CHECK_MESSAGE(index.find("](" + page.filename().string() + ")") != std::string::npos,
                    "docs/README.md does not list " << page.filename());
    for (auto m = std::sregex_iterator(text.begin(), text.end(), link); m != std::sregex_iterator(); ++m) {
      const std::string target = (*m)[2];
      if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) continue;
      const size_t hash = target.find('#');
      const std::string file = target.substr(0, hash), anchor = hash == std::string::npos ? "" : target.substr(hash + 1);
      const fs::path dest = file.empty() ? page : (page.parent_path() / file).lexically_normal();
      CAPTURE(page);
      CAPTURE(target);
      CHECK_MESSAGE(fs::exists(dest), page.filename() << " links to a missing " << target);
      if (!anchor.empty() && fs::exists(dest)) {
        const std::string body = read_source_file(fs::relative(dest, root).string());
        CHECK_MESSAGE(anchors_of(body).count(anchor) == 1, page.filename() << ": no heading for #" << anchor);
      }
      ++checked;
    }
  }
  CHECK(checked > 20);
  CHECK(readme.find("](docs/README.md)") != std::string::npos);
}
