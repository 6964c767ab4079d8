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
#include <string>

namespace convis {

// On a terminal (stderr is a tty): one line redrawn in place, `what [#####     ] 42/100 3.1s ETA 4.2s extra`.
// Otherwise: a plain line every ~10% (and at the end), so logs stay readable.
class Progress {
 public:
  Progress(std::string what, int64_t total);
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
  bool tty_;
  bool finished_ = false;
};

}  // namespace convis
