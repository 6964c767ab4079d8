#pragma once
// The terminal progress bar of vis_tool's long commands. The library knows no terminal: vis/
// reports progress through a callback (ProgressFn in vis/attribution.h, OcclusionOptions), and the
// command forwards it here.
//
//   Progress bar("occlusion", positions);
//   opt.progress = [&](int64_t done, int64_t) { bar.update(done); };
//   ...
//   bar.finish();
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace convis {

// On a terminal (stderr is a tty): one line redrawn in place, `what [#####     ] 42/100 3.1s ETA 4.2s extra`.
// Otherwise (a log): a plain line at each tenth of the work and at least every kLogSeconds while
// it runs, `what: 42/100 (42%) 31.0s, ETA 42.8s extra`, and one at the end.
class Progress {
 public:
  static constexpr double kLogSeconds = 10.0;
  // to: where lines go (stderr; a file in tests, never a tty then); clock: seconds, monotonic
  // (steady_clock by default; tests pass their own).
  Progress(std::string what, int64_t total, std::FILE* to = stderr, std::function<double()> clock = {});
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");  // final line with the total time
  // On a terminal, erases the bar so that a line printed to stdout does not land on it; the next
  // update() draws it again. Does nothing otherwise.
  void clear();

 private:
  std::string what_;
  int64_t total_;
  double start_;
  int last_decile_ = -1;
  double last_line_ = 0;
  std::FILE* to_;
  std::function<double()> clock_;
  bool tty_;
  bool finished_ = false;
};

}  // namespace convis
