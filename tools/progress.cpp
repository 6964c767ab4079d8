#include "tools/progress.h"

#include "tools/threads.h"

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

Progress::Progress(std::string what, int64_t total, std::FILE* to, std::function<double()> clock)
    : what_(std::move(what)),
      total_(std::max<int64_t>(1, total)),
      to_(to),
      clock_(clock ? std::move(clock) : std::function<double()>(now_seconds)),
      tty_(::isatty(::fileno(to)) != 0) {
  start_ = clock_();
  last_line_ = start_;
}

void Progress::update(int64_t done, const std::string& extra) {
  cli::adapt_threads();  // long commands report progress often: the team follows the machine's load
  if (finished_) return;
  done = std::clamp<int64_t>(done, 0, total_);
  const double now = clock_(), elapsed = now - start_;
  const double frac = double(done) / double(total_);
  const double eta = done > 0 ? elapsed / frac - elapsed : 0.0;
  if (tty_) {
    const int width = 24, filled = int(frac * width);
    std::string bar(size_t(filled), '#');
    bar += std::string(size_t(width - filled), ' ');
    std::fprintf(to_, "\r%s [%s] %lld/%lld %.1fs ETA %.1fs %s\033[K", what_.c_str(), bar.c_str(), (long long)done,
                 (long long)total_, elapsed, eta, extra.c_str());
    std::fflush(to_);
    return;
  }
  const int decile = int(frac * 10.0);
  const bool tenth = decile > last_decile_ && decile > 0, due = now - last_line_ >= kLogSeconds && done > 0;
  if (!tenth && !due) return;
  last_decile_ = std::max(last_decile_, decile);
  last_line_ = now;
  std::fprintf(to_, "%s: %lld/%lld (%d%%) %.1fs", what_.c_str(), (long long)done, (long long)total_, int(frac * 100.0),
               elapsed);
  if (done < total_) std::fprintf(to_, ", ETA %.1fs", eta);
  std::fprintf(to_, "%s%s\n", extra.empty() ? "" : " ", extra.c_str());
  std::fflush(to_);
}

void Progress::clear() {
  if (!tty_ || finished_) return;
  std::fprintf(to_, "\r\033[K");
  std::fflush(to_);
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  const double elapsed = clock_() - start_;
  std::fprintf(to_, "%s%s: done in %.1fs%s%s\n", tty_ ? "\r\033[K" : "", what_.c_str(), elapsed,
               extra.empty() ? "" : " ", extra.c_str());
}

}  // namespace convis
