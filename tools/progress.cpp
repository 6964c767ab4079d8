#include "tools/progress.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include <unistd.h>

namespace convis {

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Progress::Progress(std::string what, int64_t total)
    : what_(std::move(what)), total_(std::max<int64_t>(1, total)), start_(now_seconds()), tty_(::isatty(2) != 0) {}

void Progress::update(int64_t done, const std::string& extra) {
  if (finished_) return;
  done = std::clamp<int64_t>(done, 0, total_);
  const double elapsed = now_seconds() - start_;
  const double frac = double(done) / double(total_);
  const double eta = done > 0 ? elapsed / frac - elapsed : 0.0;
  if (tty_) {
    const int width = 24, filled = int(frac * width);
    std::string bar(size_t(filled), '#');
    bar += std::string(size_t(width - filled), ' ');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1fs ETA %.1fs %s\033[K", what_.c_str(), bar.c_str(), (long long)done,
                 (long long)total_, elapsed, eta, extra.c_str());
    std::fflush(stderr);
    return;
  }
  const int decile = int(frac * 10.0);
  if (decile > last_decile_ && decile > 0) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s: %lld/%lld (%d%%) %.1fs%s%s\n", what_.c_str(), (long long)done, (long long)total_,
                 decile * 10, elapsed, extra.empty() ? "" : " ", extra.c_str());
  }
}

void Progress::clear() {
  if (!tty_ || finished_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  const double elapsed = now_seconds() - start_;
  std::fprintf(stderr, "%s%s: done in %.1fs%s%s\n", tty_ ? "\r\033[K" : "", what_.c_str(), elapsed,
               extra.empty() ? "" : " ", extra.c_str());
}

}  // namespace convis
