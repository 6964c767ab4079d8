// The report as a person sees it: index.html opened in headless Chromium.
//   - Every picture is loaded, and none is shrunk: a sheet with text is drawn at the size it is
//     shown (a shrunk sheet, pixelated or not, has unreadable labels). Pixel-art rendering is only
//     on the model's input, the one small picture that is shown enlarged.
//   - At 1280 px the page never scrolls sideways; in a 760 px window a sheet wider than the column
//     scrolls inside its own box, still at its natural size, and the page itself does not.
//   - A screenshot (1280x4000) is written and is not blank. CONVIS_SCREENSHOT_DIR=dir keeps it
//     (and the report) there to look at.
// Chromium (Debian package `chromium`, in tools/setup.sh for these tests only) is run with
// --headless --no-sandbox, a temporary profile and `timeout`; without it the test says so and
// skips. The page has no script of its own: the probe is a copy of index.html with one script
// added that writes what the browser laid out into the DOM, which --dump-dom prints.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli_util.h"
#include "vis/image.h"

using namespace convis;
using namespace convis::test;
namespace fs = std::filesystem;

namespace {

const std::string kSneaker = std::string(CONVIS_SOURCE_DIR) + "/weights/samples/0009_sneaker.png";

// The browser on PATH, or "" when there is none.
std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return "";
}

// Runs chromium headless on `page` with a window of w x h and `mode` ("--dump-dom" or
// "--screenshot=FILE"); returns stdout ("" on failure).
std::string run_chromium(const std::string& browser, const fs::path& page, int w, int h, const std::string& mode,
                         const fs::path& scratch) {
  const fs::path profile = scratch / "profile";
  const fs::path out = scratch / "chromium.out";
  const std::string cmd = "timeout -s KILL 90 " + browser +
                          " --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run"
                          " --allow-file-access-from-files --virtual-time-budget=10000 --user-data-dir=" +
                          shell_quote(profile.string()) + " --window-size=" + std::to_string(w) + "," +
                          std::to_string(h) + " " + shell_quote(mode) + " " +
                          shell_quote("file://" + fs::absolute(page).string()) + " >" + shell_quote(out.string()) +
                          " 2>/dev/null </dev/null";
  const int status = std::system(cmd.c_str());
  std::string text = slurp(out);
  fs::remove(out);
  return status == 0 ? text : "";
}

// What the probe script records for one <img>, and for the page.
struct Shown {
  std::string src, rendering;
  double natural_w = 0, natural_h = 0, shown_w = 0, shown_h = 0;
};
struct Layout {
  double page_scroll_w = 0, page_client_w = 0;
  std::vector<Shown> images;
};

// index.html with a script that, once every picture is loaded, writes one line per <img>
// ("img SRC NATURAL_W NATURAL_H SHOWN_W SHOWN_H RENDERING"; shown: the rendered content box, without
// the border) and one for the page into a <pre>.
void write_probe(const fs::path& index, const fs::path& probe) {
  std::string html = slurp(index);
  const std::string script =
      "<script>window.addEventListener('load',function(){var L=[];"
      "var d=document.documentElement;L.push('page '+d.scrollWidth+' '+d.clientWidth);"
      "for(var i=0;i<document.images.length;i++){var m=document.images[i];"
      "L.push('img '+m.getAttribute('src')+' '+m.naturalWidth+' '+m.naturalHeight+' '+m.width+' '+m.height+' '+"
      "getComputedStyle(m).imageRendering);}"
      "var p=document.createElement('pre');p.id='convis-probe';p.textContent='\\n'+L.join('\\n')+'\\n';"
      "document.body.appendChild(p);});</script>\n";
  const size_t at = html.rfind("</body>");
  REQUIRE(at != std::string::npos);
  html.insert(at, script);
  std::ofstream(probe, std::ios::binary) << html;
}

Layout parse_probe(const std::string& dom) {
  Layout l;
  const size_t start = dom.find("<pre id=\"convis-probe\">");
  if (start == std::string::npos) return l;
  std::istringstream in(dom.substr(start, dom.find("</pre>", start) - start));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string kind;
    f >> kind;
    if (kind == "page") f >> l.page_scroll_w >> l.page_client_w;
    if (kind != "img") continue;
    Shown s;
    f >> s.src >> s.natural_w >> s.natural_h >> s.shown_w >> s.shown_h >> s.rendering;
    l.images.push_back(s);
  }
  return l;
}

// The picture rules, for a page laid out in a window `w` wide.
void check_pictures(const Layout& l, int w) {
  INFO("window width " << w);
  CHECK(l.images.size() == 13);  // image, filters, 3 feature-map sheets, 3 + 1 maximised, Grad-CAM, 3 occlusion
  // The page itself never scrolls sideways; a wide sheet scrolls in its own box.
  CHECK(l.page_scroll_w <= l.page_client_w);
  for (const Shown& s : l.images) {
    INFO(s.src << ": natural " << s.natural_w << "x" << s.natural_h << ", shown " << s.shown_w << "x" << s.shown_h
               << ", image-rendering " << s.rendering);
    CHECK(s.natural_w > 0);  // loaded
    // Not shrunk: the labels stay readable (half a CSS pixel of rounding allowed).
    CHECK(s.shown_w >= s.natural_w - 0.5);
    CHECK(s.shown_h >= s.natural_h - 0.5);
    // Pixel art only for the input, which is small and shown enlarged; sheets are smooth.
    if (s.src == "image.png") {
      CHECK(s.rendering == "pixelated");
    } else {
      CHECK(s.rendering != "pixelated");
      CHECK(s.shown_w <= s.natural_w + 0.5);  // sheets at their natural size
    }
  }
}

}  // namespace

TEST_CASE("report in chromium: no picture is shrunk, pixel art only for the input, a real screenshot") {
  const std::string browser = find_chromium();
  if (browser.empty()) {
    MESSAGE("chromium is not installed: skipping the screenshot test (tools/setup.sh installs it; "
            "or apt-get install chromium)");
    return;
  }
  const fs::path dir = temp_dir("report_browser");
  const fs::path report = dir / "report";
  const CliResult r = run_vis_tool({"report", "--weights", "fashion", "--image", kSneaker, "--out", report.string(),
                                    "--iters", "4", "--per-block", "3"},
                                   {"OMP_NUM_THREADS=2"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const fs::path probe = report / "probe.html";
  write_probe(report / "index.html", probe);

  for (int w : {1280, 760}) {
    const std::string dom = run_chromium(browser, probe, w, 4000, "--dump-dom", dir);
    REQUIRE_MESSAGE(!dom.empty(), "chromium --dump-dom failed or timed out");
    const Layout l = parse_probe(dom);
    REQUIRE_MESSAGE(!l.images.empty(), "the probe script wrote nothing: " << dom.substr(0, 300));
    check_pictures(l, w);
  }

  // The screenshot of the page as it is (not the probe).
  const fs::path shot = dir / "screenshot.png";
  run_chromium(browser, report / "index.html", 1280, 4000, "--screenshot=" + shot.string(), dir);
  REQUIRE(fs::exists(shot));
  const Image im = load_image(shot.string());
  CHECK(im.width == 1280);
  CHECK(im.height == 4000);
  // Not blank: the pictures' pixels are there, far from the white page.
  int64_t dark = 0;
  for (size_t i = 0; i + 2 < im.pixels.size(); i += 3) dark += im.pixels[i] + im.pixels[i + 1] + im.pixels[i + 2] < 300;
  CHECK(dark > 10000);

  if (const char* keep = std::getenv("CONVIS_SCREENSHOT_DIR")) {
    fs::create_directories(keep);
    fs::copy(report, fs::path(keep) / "report", fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    fs::copy_file(shot, fs::path(keep) / "screenshot.png", fs::copy_options::overwrite_existing);
    MESSAGE("screenshot and report kept in " << keep);
  }
  fs::remove_all(dir);
}
