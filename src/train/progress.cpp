#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "core/log.h"

namespace balcap::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string progress_bar(double fraction, int width) {
  const int full = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width);
  return "[" + std::string(full, '#') + std::string(width - full, '-') + "]";
}

Progress::Progress(int64_t total_steps, int64_t start_step, const std::string& mode, double log_every_s,
                   ProgressLabel label)
    : total_(total_steps),
      start_(start_step),
      bar_(mode == "always" || (mode == "auto" && ::isatty(STDERR_FILENO) == 1)),
      log_every_s_(log_every_s),
      label_(std::move(label)),
      t0_(Clock::now()),
      last_log_(t0_) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t step, const std::string& summary) {
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  const int64_t done_here = step - start_;  // steps run by this process (the rate ignores resumed ones)
  const double per_step = done_here > 0 ? elapsed / static_cast<double>(done_here) : NAN;
  const double eta = per_step * static_cast<double>(total_ - step);
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(step) / static_cast<double>(total_) : 100.0;
  if (bar_) {
    std::fprintf(stderr, "\r%s %s %lld/%lld %3.0f%% %.2f s/%s ETA %s  %s\033[K", label_.name.c_str(),
                 progress_bar(pct / 100.0, 24).c_str(), static_cast<long long>(step), static_cast<long long>(total_),
                 pct, per_step, label_.unit.c_str(), format_duration(eta).c_str(), summary.c_str());
    std::fflush(stderr);
    drawn_ = true;
    return;
  }
  const bool due = std::chrono::duration<double>(now - last_log_).count() >= log_every_s_;
  if (due || done_here == 1 || step >= total_) {
    spdlog::info("{} {}/{} ({:.0f}%) {:.2f} s/{}, ETA {}{}{}", label_.name, step, total_, pct, per_step, label_.unit,
                 format_duration(eta), summary.empty() ? "" : " | ", summary);
    last_log_ = now;
  }
}

void Progress::finish() {
  if (bar_ && drawn_) {
    std::fputc('\n', stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace balcap::train
