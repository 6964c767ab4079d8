// vis_tool's progress lines in a log (stderr not a terminal): one at each tenth of the work and
// at least every Progress::kLogSeconds, each with the time and an ETA, and a last one.
#include <algorithm>
#include <cstdio>
#include <string>

#include <doctest/doctest.h>

#include "tests/util.h"
#include "tools/progress.h"

using convis::Progress;
using convis::test::contains;

namespace {

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
  return s;
}

int lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("progress in a log: a line per tenth, and every 10 s on a long step, with the ETA") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  double t = 100.0;
  {
    Progress bar("maximize conv2d", 1000, f, [&] { return t; });
    // 1000 updates 0.1 s apart (100 s): the tenths give 10 lines; the 10-s rule adds none
    // because a tenth comes every 10 s anyway.
    for (int i = 1; i <= 1000; ++i) {
      t += 0.1;
      bar.update(i);
    }
    bar.finish();
  }
  std::string log = read_all(f);
  std::fclose(f);
  CHECK(lines(log) == 11);
  CHECK(contains(log, "maximize conv2d: 100/1000 (10%) 10.0s, ETA 90.0s\n"));
  CHECK(contains(log, "maximize conv2d: 1000/1000 (100%) 100.0s\n"));
  CHECK(contains(log, "maximize conv2d: done in 100.0s\n"));

  // A slow start: 30 s before the first tenth. Lines at 10, 20 and 30 s (due), then the tenth.
  f = std::tmpfile();
  REQUIRE(f);
  t = 0.0;
  {
    Progress bar("occlusion", 100, f, [&] { return t; });
    for (int i = 1; i <= 10; ++i) {
      t += 3.5;  // 35 s for the first 10 positions: 9 at 31.5 s, 10 at 35 s
      bar.update(i);
    }
  }
  log = read_all(f);
  std::fclose(f);
  CHECK(contains(log, "occlusion: 3/100 (3%) 10.5s, ETA 339.5s\n"));  // 10.5 s / 3 per position x 97 left
  CHECK(contains(log, "occlusion: 6/100 (6%) 21.0s, ETA 329.0s\n"));
  CHECK(contains(log, "occlusion: 9/100 (9%) 31.5s, ETA 318.5s\n"));
  CHECK(contains(log, "occlusion: 10/100 (10%) 35.0s, ETA 315.0s\n"));
  CHECK(lines(log) == 4);
}
